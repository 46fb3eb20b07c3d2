/* The change feed (sql/011_app_changes.sql): one row per app with the time
 * of its latest change to apps, api_keys or ai_config, written by triggers.
 * The per-process caches read it once a second. */
#ifndef AIGW_DB_APP_CHANGES_H
#define AIGW_DB_APP_CHANGES_H

#include "error.h"

struct db;

/* Calls fn for every app changed at or after since_us (microseconds since
 * the epoch, UTC, in the database's clock), with its change time, and sets
 * *server_now_us to the database's clock at the read, the cursor to keep.
 * A change is visible only once committed, so a caller polling with
 * since = previous *server_now_us - a margin sees changes whose
 * transactions took up to that margin to commit. */
aigw_rc db_app_changes_since(struct db *db, long long since_us,
                             void (*fn)(const char *app_id, long long changed_us, void *arg),
                             void *arg, long long *server_now_us, char *err);

#endif
