/* db_app_changes_since (app_changes.h): one statement that reads the
 * database clock and the stamps since a time. DATETIME(6) values are turned
 * into epoch microseconds by TIMESTAMPDIFF from the epoch, which is plain
 * calendar arithmetic: unlike UNIX_TIMESTAMP() it does not depend on the
 * session's time zone (db.c sets UTC anyway), and it keeps every digit. */
#include "config.h"
#include "app_changes.h"

#include "db.h"
#include "stmt.h"

/* The first row (k = 0) carries only the clock, so an empty feed still
 * answers it; the stamps follow oldest first. The bound is a constant
 * expression, so the range is read from app_changes_time. */
static const char SQL_CHANGES_SINCE[] =
        "SELECT 0 AS k, NULL AS app_id, "
        "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) AS us "
        "UNION ALL "
        "SELECT 1, c.app_id, TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', c.changed_at) "
        "FROM app_changes AS c "
        "WHERE c.changed_at >= CAST('1970-01-01 00:00:00' AS DATETIME(6)) + INTERVAL ? MICROSECOND "
        "ORDER BY k, us";

aigw_rc db_app_changes_since(struct db *db, long long since_us,
                             void (*fn)(const char *app_id, long long changed_us, void *arg),
                             void *arg, long long *server_now_us, char *err)
{
	char app_id[65];
	long long k = 0, us = 0;
	bool first = true;
	struct q q;
	aigw_rc rc;

	*server_now_us = 0;
	q_init(&q, db, SQL_CHANGES_SINCE);
	q_in_int(&q, since_us > 0 ? since_us : 0);
	q_out_int(&q, &k, NULL);
	q_out_str(&q, app_id, sizeof app_id, NULL);
	q_out_int(&q, &us, NULL);
	rc = q_exec(&q, err);
	while (rc == AIGW_OK) {
		rc = q_fetch(&q, err);
		if (rc != AIGW_OK)
			break;
		if (first != (k == 0)) {
			rc = aigw_fail(err, AIGW_EDB, "app changes: rows out of order");
			break;
		}
		if (first)
			*server_now_us = us;
		else
			fn(app_id, us, arg);
		first = false;
	}
	q_end(&q);
	if (rc == AIGW_ENOTFOUND)
		rc = first ? aigw_fail(err, AIGW_EDB, "app changes: no clock row") : AIGW_OK;
	return rc;
}
