/* The migration runner behind `aigw-admin migrate`. schema_migrations is
 * created here rather than by a migration file: the runner has to read it
 * before it can know which migrations to apply. Migration texts are DDL with
 * several statements, run as one multi-statement query; DDL commits
 * implicitly, so a migration cut short is not rolled back, and the files are
 * written to be rerun (CREATE TABLE IF NOT EXISTS, INSERT IGNORE). A database
 * that is up to date needs no DDL: then the runtime account (SELECT, INSERT,
 * UPDATE, DELETE) can run it too. */
#include "config.h"
#include "migrate.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mysqld_error.h>

#include "alloc.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "stmt.h"

#define MIGRATE_LOCK_TIMEOUT_S 30
#define MIGRATE_LEASE_S 600
#define APPLIED_MAX 100000

static const char SQL_SCHEMA_MIGRATIONS[] =
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INT NOT NULL COMMENT 'NNN of the applied sql/NNN_name.sql',"
        " name VARCHAR(128) NOT NULL COMMENT 'Migration file name without .sql',"
        " applied_at DATETIME(6) NOT NULL COMMENT 'UTC time the migration finished',"
        " PRIMARY KEY (version)"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
        " COMMENT='Schema migrations applied by aigw-admin migrate, one row each'";
/* CREATE TABLE IF NOT EXISTS needs the CREATE right even when the table is
 * there, so its existence is asked first. */
static const char SQL_HAS_SCHEMA_MIGRATIONS[] =
        "SELECT COUNT(*) FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'schema_migrations'";
/* The lock that serializes migrate runs: a row, not GET_LOCK, whose lock
 * lives on one server only (on a Galera cluster two runs on two nodes would
 * both get it). Taking it is one autocommitted UPDATE, which a cluster
 * certifies like any write: of two runs racing for it one wins, the other
 * matches nothing (or gets a conflict) and waits. It is a lease, so a run
 * that died holding it blocks the next ones for MIGRATE_LEASE_S at most. */
static const char SQL_HAS_LOCK_TABLE[] =
        "SELECT COUNT(*) FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'schema_migrate_lock'";
static const char SQL_LOCK_TABLE[] =
        "CREATE TABLE IF NOT EXISTS schema_migrate_lock ("
        " id TINYINT UNSIGNED NOT NULL COMMENT 'Always 1: the one lock',"
        " holder VARCHAR(96) NULL COMMENT 'The aigw-admin migrate run holding it (host, pid, "
        "time); NULL: free',"
        " expires_at DATETIME(6) NULL COMMENT 'UTC end of the lease: after it another run may take "
        "the lock',"
        " PRIMARY KEY (id)"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
        " COMMENT='Serializes aigw-admin migrate runs across every server of a cluster'";
static const char SQL_LOCK_ROW[] =
        "INSERT IGNORE INTO schema_migrate_lock (id, holder, expires_at) VALUES (1, NULL, NULL)";
static const char SQL_LOCK[] =
        "UPDATE schema_migrate_lock SET holder = ?, expires_at = UTC_TIMESTAMP(6) + INTERVAL ? "
        "SECOND WHERE id = 1 AND (holder IS NULL OR holder = ? OR expires_at < UTC_TIMESTAMP(6))";
static const char SQL_UNLOCK[] = "UPDATE schema_migrate_lock SET holder = NULL, expires_at = NULL "
                                 "WHERE id = 1 AND holder = ?";
static const char SQL_APPLIED[] = "SELECT version FROM schema_migrations ORDER BY version";
static const char SQL_RECORD[] = "INSERT INTO schema_migrations (version, name, applied_at) "
                                 "VALUES (?, ?, UTC_TIMESTAMP(6))";

static bool denied(unsigned e)
{
	return e == ER_DBACCESS_DENIED_ERROR || e == ER_TABLEACCESS_DENIED_ERROR ||
	       e == ER_COLUMNACCESS_DENIED_ERROR || e == ER_SPECIFIC_ACCESS_DENIED_ERROR;
}

/* Runs text (one or more statements) and drains every result. */
static aigw_rc run_sql(MYSQL *m, const char *what, const char *text, char *err)
{
	MYSQL_RES *res;
	const char *hint;
	int status, n = 1;

	if (mysql_real_query(m, text, strlen(text)) != 0)
		goto fail;
	for (;;) {
		res = mysql_store_result(m);
		if (res)
			mysql_free_result(res);
		else if (mysql_field_count(m) != 0)
			goto fail;
		status = mysql_next_result(m);
		if (status < 0)
			return AIGW_OK;
		n++;
		if (status > 0)
			goto fail;
	}
fail:
	hint = denied(mysql_errno(m))
	               ? " (migrations need DDL rights: CREATE, ALTER, DROP, INDEX, TRIGGER)"
	               : "";
	return aigw_fail(err, AIGW_EDB, "%s: statement %d failed (%u): %s%s", what, n,
	                 mysql_errno(m), mysql_error(m), hint);
}

/* SELECT of one integer (the lock functions); *v is -1 for SQL NULL. */
static aigw_rc select_int(struct db *db, const char *sql, long long *v, char *err)
{
	bool is_null = false;
	struct q q;
	aigw_rc rc;

	q_init(&q, db, sql);
	q_out_int(&q, v, &is_null);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc == AIGW_OK && is_null)
		*v = -1;
	return rc;
}

/* The applied versions, ascending; caller frees *out. */
static aigw_rc applied_versions(struct db *db, long long **out, size_t *n_out, char *err)
{
	long long v = 0, *vs = NULL;
	size_t n = 0, cap = 0;
	struct q q;
	aigw_rc rc;

	q_init(&q, db, SQL_APPLIED);
	q_out_int(&q, &v, NULL);
	rc = q_exec(&q, err);
	while (rc == AIGW_OK) {
		rc = q_fetch(&q, err);
		if (rc != AIGW_OK)
			break;
		if (n == APPLIED_MAX) {
			rc = aigw_fail(err, AIGW_ETOOBIG, "more than %d rows in schema_migrations",
			               APPLIED_MAX);
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			vs = xrealloc(vs, cap * sizeof *vs);
		}
		vs[n++] = v;
	}
	q_end(&q);
	if (rc == AIGW_ENOTFOUND)
		rc = AIGW_OK;
	*out = vs;
	*n_out = n;
	return rc;
}

static bool applied(const long long *vs, size_t n, int version)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (vs[i] == version)
			return true;
	}
	return false;
}

static aigw_rc record(struct db *db, const struct migration *mg, char *err)
{
	struct q q;
	aigw_rc rc;

	q_init(&q, db, SQL_RECORD);
	q_in_int(&q, mg->version);
	q_in_str(&q, mg->name);
	rc = q_exec(&q, err);
	q_end(&q);
	return rc;
}

/* Warns about versions the database has but this build does not know. */
static void warn_unknown(const long long *vs, size_t n, const struct migration *list, size_t n_list)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < n_list && list[j].version != vs[i]; j++)
			;
		if (j == n_list)
			log_warn("migrate: the database has migration %lld, unknown to this build",
			         vs[i]);
	}
}

/* Runs sql with the holder's name (and the lease) bound; *taken: a row matched. */
static aigw_rc lock_stmt(struct db *db, const char *sql, const char *holder, bool *taken, char *err)
{
	struct q q;
	aigw_rc rc;

	q_init(&q, db, sql);
	q_in_str(&q, holder);
	if (sql == SQL_LOCK) {
		q_in_int(&q, MIGRATE_LEASE_S);
		q_in_str(&q, holder);
	}
	rc = q_exec(&q, err);
	*taken = rc == AIGW_OK && q_affected(&q) > 0;
	q_end(&q);
	return rc;
}

/* Takes the lock row (made first if missing, which needs DDL: a run with
 * something to apply has it), waiting up to MIGRATE_LOCK_TIMEOUT_S. */
static aigw_rc migrate_lock(struct db *db, MYSQL *m, const char *holder, char *err)
{
	long long has = 0, deadline = clock_us() + MIGRATE_LOCK_TIMEOUT_S * 1000000LL;
	struct timespec pause = {0, 200 * 1000000L};
	bool taken = false;
	aigw_rc rc;
	struct q q;

	rc = select_int(db, SQL_HAS_LOCK_TABLE, &has, err);
	if (rc == AIGW_OK && has < 1)
		rc = run_sql(m, "creating schema_migrate_lock", SQL_LOCK_TABLE, err);
	if (rc != AIGW_OK)
		return rc;
	q_init(&q, db, SQL_LOCK_ROW);
	rc = q_exec(&q, err);
	q_end(&q);
	for (;;) {
		if (rc == AIGW_OK || rc == AIGW_ERETRY)
			rc = lock_stmt(db, SQL_LOCK, holder, &taken, err);
		if (rc == AIGW_OK && taken)
			return AIGW_OK;
		if ((rc != AIGW_OK && rc != AIGW_ERETRY) || clock_us() > deadline)
			break;
		nanosleep(&pause, NULL);
	}
	if (rc == AIGW_OK || rc == AIGW_ERETRY)
		rc = aigw_fail(err, AIGW_EDB,
		               "another migrate held the lock (schema_migrate_lock) for %d s; try "
		               "again later",
		               MIGRATE_LOCK_TIMEOUT_S);
	return rc;
}

aigw_rc db_migrate_list(const struct aigw_conf *conf, const struct migration *list, size_t n,
                        FILE *out, char *err)
{
	struct db *db = db_new_multi(conf);
	long long *done = NULL, has_table = 0;
	char holder[96] = "", host[64] = "?";
	size_t n_done = 0, i, n_applied = 0;
	bool locked = false;
	char what[160];
	aigw_rc rc;
	MYSQL *m;

	for (i = 1; i < n; i++) {
		if (list[i].version <= list[i - 1].version) {
			rc = aigw_fail(err, AIGW_EINVAL, "migrations out of order at %s",
			               list[i].name);
			goto out;
		}
	}
	rc = db_conn(db, &m, err);
	if (rc != AIGW_OK)
		goto out;
	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "?");
	host[sizeof host - 1] = '\0';
	/* Without a lock first: an up-to-date database needs none (and no
	 * DDL right, so the runtime account can run it). */
	rc = select_int(db, SQL_HAS_SCHEMA_MIGRATIONS, &has_table, err);
	if (rc == AIGW_OK && has_table > 0)
		rc = applied_versions(db, &done, &n_done, err);
	if (rc != AIGW_OK)
		goto out;
	for (i = 0; i < n && applied(done, n_done, list[i].version); i++)
		;
	if (i < n) {
		snprintf(holder, sizeof holder, "%.60s pid %ld at %lld", host, (long)getpid(),
		         clock_us() / 1000000);
		rc = migrate_lock(db, m, holder, err);
		if (rc != AIGW_OK)
			goto out;
		locked = true;
		/* Again under the lock: another run may have applied them. */
		free(done);
		done = NULL;
		n_done = 0;
		rc = select_int(db, SQL_HAS_SCHEMA_MIGRATIONS, &has_table, err);
		if (rc == AIGW_OK && has_table < 1)
			rc = run_sql(m, "creating schema_migrations", SQL_SCHEMA_MIGRATIONS, err);
		if (rc == AIGW_OK)
			rc = applied_versions(db, &done, &n_done, err);
		if (rc != AIGW_OK)
			goto out;
	}
	warn_unknown(done, n_done, list, n);

	for (i = 0; i < n; i++) {
		if (applied(done, n_done, list[i].version))
			continue;
		snprintf(what, sizeof what, "migration %s", list[i].name);
		rc = run_sql(m, what, list[i].text, err);
		if (rc == AIGW_OK)
			rc = record(db, &list[i], err);
		if (rc != AIGW_OK)
			goto out;
		fprintf(out, "applied %s\n", list[i].name);
		fflush(out);
		n_applied++;
	}
	if (n_applied == 0)
		fprintf(out, "up to date\n");
out:
	if (locked) {
		char unlock_err[AIGW_ERRLEN] = "";
		bool freed = false;

		/* Best effort: left held, the lease ends by itself. */
		if (lock_stmt(db, SQL_UNLOCK, holder, &freed, unlock_err) != AIGW_OK || !freed)
			log_warn("migrate: could not free schema_migrate_lock (its lease ends in "
			         "%d s): %s",
			         MIGRATE_LEASE_S, unlock_err[0] ? unlock_err : "not held any more");
	}
	free(done);
	db_free(db);
	return rc;
}

aigw_rc db_migrate(const struct aigw_conf *conf, FILE *out, char *err)
{
	return db_migrate_list(conf, migrations, migrations_count, out, err);
}
