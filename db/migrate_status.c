/* Reading schema_migrations (migrate_status.h) with the connection of the
 * caller; only SELECT rights are needed. */
#include "config.h"
#include "migrate_status.h"

#include "db.h"
#include "stmt.h"

static const char SQL_HAS_TABLE[] =
        "SELECT COUNT(*) FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'schema_migrations'";
static const char SQL_APPLIED[] =
        "SELECT version, name, applied_at FROM schema_migrations ORDER BY version";

aigw_rc db_migrations_applied(struct db *db,
                              int (*fn)(int version, const char *name, const char *applied_at,
                                        void *arg),
                              void *arg, char *err)
{
	char name[129], applied_at[DB_TIME_LEN];
	long long version = 0, tables = 0;
	struct q q;
	aigw_rc rc;

	q_init(&q, db, SQL_HAS_TABLE);
	q_out_int(&q, &tables, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc != AIGW_OK || tables == 0)
		return rc;
	q_init(&q, db, SQL_APPLIED);
	q_out_int(&q, &version, NULL);
	q_out_str(&q, name, sizeof name, NULL);
	q_out_time(&q, applied_at, NULL);
	rc = q_exec(&q, err);
	while (rc == AIGW_OK) {
		rc = q_fetch(&q, err);
		if (rc == AIGW_OK && fn((int)version, name, applied_at, arg) != 0)
			break;
	}
	q_end(&q);
	return rc == AIGW_ENOTFOUND ? AIGW_OK : rc;
}
