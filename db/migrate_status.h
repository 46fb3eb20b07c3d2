/* The migrations a database has applied, for `aigw-admin migrate status`
 * (migrate.h applies them). */
#ifndef AIGW_DB_MIGRATE_STATUS_H
#define AIGW_DB_MIGRATE_STATUS_H

#include "error.h"

struct db;

/* Calls fn for each row of schema_migrations by version (name and
 * applied_at, "YYYY-MM-DD HH:MM:SS.ffffff" UTC, valid during the call; fn
 * must not use db); none when the table does not exist yet (a database
 * never migrated). Stops early if fn returns non-zero. */
aigw_rc db_migrations_applied(struct db *db,
                              int (*fn)(int version, const char *name, const char *applied_at,
                                        void *arg),
                              void *arg, char *err);

#endif
