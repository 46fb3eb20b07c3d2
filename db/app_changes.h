/* The per-app change feed (sql/011_app_changes.sql): triggers stamp an app
 * whenever its apps, api_keys or ai_config rows (or its plan's row) change,
 * whoever changed them; a process that keeps apps' settings in memory polls
 * it to drop what changed. Times are microseconds since the Unix epoch, UTC,
 * on the database's clock. */
#ifndef AIGW_DB_APP_CHANGES_H
#define AIGW_DB_APP_CHANGES_H

#include "error.h"

struct db;

/* Calls fn(app_id, changed_us, arg) for every app stamped at or after
 * since_us (0 or less: every app ever stamped), oldest first; app_id is
 * valid during the call only and fn must not use db. *server_now_us gets the
 * database's clock, read by the same statement, so the caller keeps its
 * cursor in database time: a stamp is the start of the changing statement,
 * not its commit, so the next poll should ask from a few seconds before
 * this now to catch transactions that committed late. Not in a transaction:
 * a lost connection is replaced and the poll run once more. AIGW_EDB. */
aigw_rc db_app_changes_since(struct db *db, long long since_us,
                             void (*fn)(const char *app_id, long long changed_us, void *arg),
                             void *arg, long long *server_now_us, char *err);

#endif
