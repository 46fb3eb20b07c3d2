/* Schema migrations: the numbered sql/NNN_name.sql files, embedded into the
 * binary at build time (sql/embed.sh), applied in order, once each, by
 * `aigw-admin migrate`. */
#ifndef AIGW_DB_MIGRATE_H
#define AIGW_DB_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"

struct aigw_conf;

struct migration {
	int version;      /* NNN of the file name */
	const char *name; /* file name without .sql, e.g. "001_plans" */
	const char *text; /* the SQL, several statements separated by ';' */
};

/* Generated: every migration, by increasing version. */
extern const struct migration migrations[];
extern const size_t migrations_count;

/* Applies every migration of list not yet recorded in schema_migrations, on
 * a connection of its own (conf is borrowed), under the lock row of
 * schema_migrate_lock (a lease, taken by an UPDATE, so runs on different
 * nodes of a Galera cluster take turns too; waited for up to 30 s). Writes one line
 * per applied migration ("applied 001_plans") to out, or "up to date" when
 * there was nothing to do. Stops at the first failure (AIGW_EDB, err names
 * the migration); what was applied before it stays recorded. Applying needs
 * DDL rights; with nothing to apply, the SELECT right suffices. */
aigw_rc db_migrate_list(const struct aigw_conf *conf, const struct migration *list, size_t n,
                        FILE *out, char *err);
/* The same with the embedded migrations. */
aigw_rc db_migrate(const struct aigw_conf *conf, FILE *out, char *err);

#endif
