/* The apps table (tenants and their plan) and app_plan_changes, the history
 * of which plan an app was on when: written with every plan assignment, in
 * the same transaction, so billing can always tell the plan of a period. A
 * plan change also ends the app's billing period and restarts its billing
 * anchor at the same instant, so the new plan applies at once (credits.c). */
#include "config.h"
#include "apps.h"

#include <string.h>

#include "db.h"
#include "stmt.h"
#include "tx.h"

static const char SQL_APP_INSERT[] =
        "INSERT INTO apps (id, name, plan_id, billing_anchor, created_at, updated_at) "
        "VALUES (?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))";
/* The creation itself is the first plan change (old_plan NULL), stamped with
 * the app's own created_at. */
static const char SQL_APP_FIRST_PLAN[] =
        "INSERT INTO app_plan_changes (app_id, old_plan, new_plan, changed_at) "
        "SELECT id, NULL, plan_id, created_at FROM apps WHERE id = ?";
static const char SQL_APP_GET[] = "SELECT id, name, plan_id, created_at FROM apps WHERE id = ?";
static const char SQL_APP_LIST[] = "SELECT id, name, plan_id, created_at FROM apps ORDER BY id";
static const char SQL_APP_PLAN_LOCK[] = "SELECT plan_id FROM apps WHERE id = ? FOR UPDATE";
static const char SQL_PLAN_EXISTS[] = "SELECT id FROM plans WHERE id = ?";
/* One instant for the whole change: the end of the old period, the new
 * anchor and the history row agree to the microsecond. */
static const char SQL_NOW[] = "SELECT UTC_TIMESTAMP(6)";
static const char SQL_APP_SET_PLAN[] =
        "UPDATE apps SET plan_id = ?, billing_anchor = CAST(? AS DATETIME(6)), "
        "updated_at = CAST(? AS DATETIME(6)) WHERE id = ?";
static const char SQL_APP_PLAN_CHANGE[] =
        "INSERT INTO app_plan_changes (app_id, old_plan, new_plan, changed_at) "
        "VALUES (?, ?, ?, CAST(? AS DATETIME(6)))";
/* Ends every period of the app still open at the change (the current one;
 * one made ahead of time ends where it starts). */
static const char SQL_PERIODS_CLOSE[] =
        "UPDATE billing_periods SET period_end = GREATEST(period_start, CAST(? AS DATETIME(6))), "
        "updated_at = CAST(? AS DATETIME(6)) "
        "WHERE app_id = ? AND (period_end IS NULL OR period_end > CAST(? AS DATETIME(6)))";
/* Back on a lifetime plan: its lifetime period (if the app had one) is the
 * app's period again, with what was used in it. */
static const char SQL_LIFETIME_REOPEN[] =
        "UPDATE billing_periods AS b JOIN plans AS p ON p.id = b.plan_id "
        "SET b.period_end = NULL, b.updated_at = CAST(? AS DATETIME(6)) "
        "WHERE b.app_id = ? AND b.plan_id = ? AND b.period_kind = 'lifetime' AND "
        "p.period = 'lifetime'";

bool app_id_valid(const char *id)
{
	size_t n;

	if (!id)
		return false;
	n = strlen(id);
	if (n < 1 || n > APP_ID_MAX)
		return false;
	return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static aigw_rc plan_check(struct db *db, const char *plan, char *err)
{
	char id[17];
	struct q q;
	aigw_rc rc;

	q_init(&q, db, SQL_PLAN_EXISTS);
	q_in_str(&q, plan);
	q_out_str(&q, id, sizeof id, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc == AIGW_ENOTFOUND)
		return aigw_fail(err, AIGW_EINVAL, "unknown plan '%.16s'", plan);
	return rc;
}

struct app_new {
	const char *id;
	const char *name;
	const char *plan;
};

static aigw_rc app_create_body(struct db *db, void *arg, char *err)
{
	const struct app_new *a = arg;
	struct q q;
	aigw_rc rc;

	rc = plan_check(db, a->plan, err);
	if (rc != AIGW_OK)
		return rc;
	q_init(&q, db, SQL_APP_INSERT);
	q_in_str(&q, a->id);
	q_in_str(&q, a->name);
	q_in_str(&q, a->plan);
	rc = q_exec(&q, err);
	q_end(&q);
	if (rc == AIGW_EEXIST)
		aigw_fail(err, rc, "app '%s' already exists", a->id);
	if (rc != AIGW_OK)
		return rc;

	q_init(&q, db, SQL_APP_FIRST_PLAN);
	q_in_str(&q, a->id);
	rc = q_exec(&q, err);
	q_end(&q);
	return rc;
}

aigw_rc db_app_create(struct db *db, const char *id, const char *name, const char *plan, char *err)
{
	struct app_new a = {id, name, plan};

	if (!app_id_valid(id))
		return aigw_fail(err, AIGW_EINVAL, "app id must match [A-Za-z0-9_-]{1,64}");
	return db_tx_run(db, "creating app", id, app_create_body, &a, err);
}

static void app_bind_out(struct q *q, struct app *a)
{
	q_out_str(q, a->id, sizeof a->id, NULL);
	q_out_str(q, a->name, sizeof a->name, NULL);
	q_out_str(q, a->plan, sizeof a->plan, NULL);
	q_out_time(q, a->created_at, NULL);
}

aigw_rc db_app_get(struct db *db, const char *id, struct app *out, char *err)
{
	struct q q;
	aigw_rc rc;

	memset(out, 0, sizeof *out);
	q_init(&q, db, SQL_APP_GET);
	q_in_str(&q, id);
	app_bind_out(&q, out);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc == AIGW_ENOTFOUND)
		aigw_fail(err, rc, "no app '%.64s'", id);
	return rc;
}

aigw_rc db_app_list(struct db *db, int (*fn)(const struct app *a, void *arg), void *arg, char *err)
{
	struct app a;
	struct q q;
	aigw_rc rc;

	memset(&a, 0, sizeof a);
	q_init(&q, db, SQL_APP_LIST);
	app_bind_out(&q, &a);
	rc = q_exec(&q, err);
	while (rc == AIGW_OK) {
		rc = q_fetch(&q, err);
		if (rc == AIGW_OK && fn(&a, arg) != 0)
			break;
	}
	q_end(&q);
	return rc == AIGW_ENOTFOUND ? AIGW_OK : rc;
}

/* Runs sql, which takes the given strings as parameters, in order. */
static aigw_rc exec_strs(struct db *db, const char *sql, const char *const *args, size_t n,
                         char *err)
{
	struct q q;
	aigw_rc rc;
	size_t i;

	q_init(&q, db, sql);
	for (i = 0; i < n; i++)
		q_in_str(&q, args[i]);
	rc = q_exec(&q, err);
	q_end(&q);
	return rc;
}

/* The change itself, at the instant now, inside the caller's transaction:
 * close the open periods, reopen a lifetime period of the new plan, move the
 * plan and the anchor, record the history row. */
static aigw_rc plan_switch(struct db *db, const char *id, const char *old, const char *plan,
                           const char *now, char *err)
{
	const char *close[] = {now, now, id, now};
	const char *reopen[] = {now, id, plan};
	const char *set[] = {plan, now, now, id};
	const char *change[] = {id, old, plan, now};
	aigw_rc rc;

	rc = exec_strs(db, SQL_PERIODS_CLOSE, close, 4, err);
	if (rc == AIGW_OK)
		rc = exec_strs(db, SQL_LIFETIME_REOPEN, reopen, 3, err);
	if (rc == AIGW_OK)
		rc = exec_strs(db, SQL_APP_SET_PLAN, set, 4, err);
	if (rc == AIGW_OK)
		rc = exec_strs(db, SQL_APP_PLAN_CHANGE, change, 4, err);
	return rc;
}

struct plan_change {
	const char *id;
	const char *plan;
};

static aigw_rc set_plan_body(struct db *db, void *arg, char *err)
{
	const struct plan_change *c = arg;
	char old[17], now[DB_TIME_LEN];
	struct q q;
	aigw_rc rc;

	/* Locks the app row so concurrent plan changes queue up and the
	 * history records each transition exactly once. */
	q_init(&q, db, SQL_APP_PLAN_LOCK);
	q_in_str(&q, c->id);
	q_out_str(&q, old, sizeof old, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc == AIGW_ENOTFOUND)
		aigw_fail(err, rc, "no app '%.64s'", c->id);
	if (rc != AIGW_OK)
		return rc;
	rc = plan_check(db, c->plan, err);
	if (rc != AIGW_OK || strcmp(old, c->plan) == 0)
		return rc; /* no change, no history row */

	q_init(&q, db, SQL_NOW);
	q_out_time(&q, now, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc == AIGW_OK)
		rc = plan_switch(db, c->id, old, c->plan, now, err);
	return rc;
}

aigw_rc db_app_set_plan(struct db *db, const char *id, const char *plan, char *err)
{
	struct plan_change c = {id, plan};

	return db_tx_run(db, "plan change of", id, set_plan_body, &c, err);
}
