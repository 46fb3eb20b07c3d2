/* aigw-admin's view of deleted apps and the deletion (app_delete.h). A
 * deleted app with usage keeps its apps row, since usage_requests,
 * usage_daily, usage_monthly, billing_periods and app_plan_changes refer to
 * it; it is marked deleted_at and can do nothing: its keys are revoked. */
#include "config.h"
#include "app_delete.h"

#include <string.h>

#include "db.h"
#include "stmt.h"
#include "tx.h"

static const char SQL_DELETED_AT[] = "SELECT deleted_at FROM apps WHERE id = ?";
static const char SQL_LIST_MARKED[] =
        "SELECT id, name, plan_id, created_at, deleted_at FROM apps ORDER BY id";
/* The lock first: plan changes and reservations take the apps row too
 * (credits.c), so none runs half before and half after the deletion. */
static const char SQL_LOCK[] = "SELECT deleted_at FROM apps WHERE id = ? FOR UPDATE";
static const char SQL_USAGE[] =
        "SELECT EXISTS (SELECT 1 FROM usage_requests WHERE app_id = ?), "
        "(SELECT COALESCE(SUM(requests), 0) FROM usage_daily WHERE app_id = ?), "
        "(SELECT COUNT(*) FROM credit_reservations WHERE app_id = ?)";
/* Soft: the keys and settings go, the rows that record usage stay. */
static const char SQL_REVOKE_KEYS[] = "UPDATE api_keys SET revoked_at = UTC_TIMESTAMP(6) "
                                      "WHERE app_id = ? AND revoked_at IS NULL";
static const char SQL_DROP_CONFIG[] = "DELETE FROM ai_config WHERE app_id = ?";
static const char SQL_MARK[] =
        "UPDATE apps SET deleted_at = UTC_TIMESTAMP(6), updated_at = UTC_TIMESTAMP(6) "
        "WHERE id = ?";
/* Whole: children first, in the order of their foreign keys. */
static const char SQL_DROP_PERIODS[] = "DELETE FROM billing_periods WHERE app_id = ?";
static const char SQL_DROP_KEYS[] = "DELETE FROM api_keys WHERE app_id = ?";
static const char SQL_DROP_PLANS[] = "DELETE FROM app_plan_changes WHERE app_id = ?";
static const char SQL_DROP_APP[] = "DELETE FROM apps WHERE id = ?";

aigw_rc db_app_deleted_at(struct db *db, const char *id, char deleted_at[APP_TIME_LEN], char *err)
{
	struct q q;
	aigw_rc rc;

	deleted_at[0] = '\0';
	q_init(&q, db, SQL_DELETED_AT);
	q_in_str(&q, id);
	q_out_time(&q, deleted_at, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc == AIGW_ENOTFOUND)
		aigw_fail(err, rc, "no app '%.64s'", id);
	return rc;
}

aigw_rc db_app_list_marked(struct db *db,
                           int (*fn)(const struct app *a, const char *deleted_at, void *arg),
                           void *arg, char *err)
{
	char deleted_at[DB_TIME_LEN];
	bool deleted_null = true;
	struct app a;
	struct q q;
	aigw_rc rc;

	memset(&a, 0, sizeof a);
	q_init(&q, db, SQL_LIST_MARKED);
	q_out_str(&q, a.id, sizeof a.id, NULL);
	q_out_str(&q, a.name, sizeof a.name, NULL);
	q_out_str(&q, a.plan, sizeof a.plan, NULL);
	q_out_time(&q, a.created_at, NULL);
	q_out_time(&q, deleted_at, &deleted_null);
	rc = q_exec(&q, err);
	while (rc == AIGW_OK) {
		rc = q_fetch(&q, err);
		if (rc == AIGW_OK && fn(&a, deleted_null ? "" : deleted_at, arg) != 0)
			break;
	}
	q_end(&q);
	return rc == AIGW_ENOTFOUND ? AIGW_OK : rc;
}

/* Runs sql with id as its every parameter (n of them). */
static aigw_rc exec_id(struct db *db, const char *sql, const char *id, int n, char *err)
{
	struct q q;
	aigw_rc rc;
	int i;

	q_init(&q, db, sql);
	for (i = 0; i < n; i++)
		q_in_str(&q, id);
	rc = q_exec(&q, err);
	q_end(&q);
	return rc;
}

struct deletion {
	const char *id;
	bool force;
	struct app_usage *use;
	bool *kept;
};

static aigw_rc usage_of(struct db *db, const char *id, struct app_usage *use, char *err)
{
	long long rows = 0;
	struct q q;
	aigw_rc rc;

	q_init(&q, db, SQL_USAGE);
	q_in_str(&q, id);
	q_in_str(&q, id);
	q_in_str(&q, id);
	q_out_int(&q, &rows, NULL);
	q_out_int(&q, &use->requests, NULL);
	q_out_int(&q, &use->reservations, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	use->rows = rows != 0;
	return rc;
}

static aigw_rc delete_body(struct db *db, void *arg, char *err)
{
	static const char *const soft[] = {SQL_REVOKE_KEYS, SQL_DROP_CONFIG, SQL_MARK};
	static const char *const whole[] = {SQL_DROP_PERIODS, SQL_DROP_KEYS, SQL_DROP_CONFIG,
	                                    SQL_DROP_PLANS, SQL_DROP_APP};
	const struct deletion *d = arg;
	char deleted_at[DB_TIME_LEN];
	bool deleted_null = true, has_usage;
	const char *const *steps;
	size_t i, n;
	struct q q;
	aigw_rc rc;

	q_init(&q, db, SQL_LOCK);
	q_in_str(&q, d->id);
	q_out_time(&q, deleted_at, &deleted_null);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc == AIGW_ENOTFOUND)
		return aigw_fail(err, rc, "no app '%.64s'", d->id);
	if (rc != AIGW_OK)
		return rc;
	if (!deleted_null)
		return aigw_fail(err, AIGW_ENOTFOUND, "app '%.64s' is already deleted", d->id);
	memset(d->use, 0, sizeof *d->use);
	rc = usage_of(db, d->id, d->use, err);
	if (rc != AIGW_OK)
		return rc;
	has_usage = d->use->rows || d->use->requests > 0 || d->use->reservations > 0;
	if (has_usage && !d->force)
		return aigw_fail(err, AIGW_EEXIST, "app '%.64s' has usage", d->id);
	*d->kept = has_usage;
	steps = has_usage ? soft : whole;
	n = has_usage ? sizeof soft / sizeof soft[0] : sizeof whole / sizeof whole[0];
	for (i = 0; i < n && rc == AIGW_OK; i++)
		rc = exec_id(db, steps[i], d->id, 1, err);
	return rc;
}

aigw_rc db_app_delete(struct db *db, const char *id, bool force, struct app_usage *use, bool *kept,
                      char *err)
{
	struct deletion d = {id, force, use, kept};

	*kept = false;
	return db_tx_run(db, "deleting app", id, delete_body, &d, err);
}
