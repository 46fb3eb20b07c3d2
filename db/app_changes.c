/* Reading the change feed (app_changes.h). Times travel as integers of
 * microseconds: the session's time zone is UTC (db.c), so
 * TIMESTAMPDIFF from the epoch is exact for DATETIME(6). */
#include "config.h"

#include "app_changes.h"

#include "db.h"
#include "stmt.h"

static const char SQL_NOW[] =
        "SELECT TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6))";
static const char SQL_SINCE[] =
        "SELECT app_id, TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', changed_at) "
        "FROM app_changes WHERE changed_at >= "
        "TIMESTAMPADD(MICROSECOND, ?, '1970-01-01 00:00:00') ORDER BY changed_at";

aigw_rc db_app_changes_since(struct db *db, long long since_us,
                             void (*fn)(const char *app_id, long long changed_us, void *arg),
                             void *arg, long long *server_now_us, char *err)
{
	char app_id[65];
	long long changed = 0;
	struct q q;
	aigw_rc rc;

	/* The clock first: a change committed between the two reads is read
	 * now and again next time, never missed. */
	q_init(&q, db, SQL_NOW);
	q_out_int(&q, server_now_us, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc != AIGW_OK)
		return rc;
	q_init(&q, db, SQL_SINCE);
	q_in_int(&q, since_us > 0 ? since_us : 0);
	q_out_str(&q, app_id, sizeof(app_id), NULL);
	q_out_int(&q, &changed, NULL);
	rc = q_exec(&q, err);
	while (rc == AIGW_OK) {
		rc = q_fetch(&q, err);
		if (rc == AIGW_OK)
			fn(app_id, changed, arg);
	}
	q_end(&q);
	return rc == AIGW_ENOTFOUND ? AIGW_OK : rc;
}
