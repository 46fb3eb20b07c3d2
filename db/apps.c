/* The apps table (tenants and their plan) and app_plan_changes, the history
 * of which plan an app was on when: written with every plan assignment, in
 * the same transaction, so billing can always tell the plan of a period. */
#include "config.h"
#include "apps.h"

#include <string.h>

#include "db.h"
#include "stmt.h"

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
static const char SQL_APP_SET_PLAN[] =
        "UPDATE apps SET plan_id = ?, updated_at = UTC_TIMESTAMP(6) WHERE id = ?";
static const char SQL_APP_PLAN_CHANGE[] =
        "INSERT INTO app_plan_changes (app_id, old_plan, new_plan, changed_at) "
        "VALUES (?, ?, ?, UTC_TIMESTAMP(6))";

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

aigw_rc db_app_create(struct db *db, const char *id, const char *name, const char *plan, char *err)
{
	struct q q;
	aigw_rc rc;

	if (!app_id_valid(id))
		return aigw_fail(err, AIGW_EINVAL, "app id must match [A-Za-z0-9_-]{1,64}");
	rc = db_begin(db, err);
	if (rc != AIGW_OK)
		return rc;
	rc = plan_check(db, plan, err);
	if (rc != AIGW_OK)
		goto out;

	q_init(&q, db, SQL_APP_INSERT);
	q_in_str(&q, id);
	q_in_str(&q, name);
	q_in_str(&q, plan);
	rc = q_exec(&q, err);
	q_end(&q);
	if (rc == AIGW_EEXIST)
		aigw_fail(err, rc, "app '%s' already exists", id);
	if (rc != AIGW_OK)
		goto out;

	q_init(&q, db, SQL_APP_FIRST_PLAN);
	q_in_str(&q, id);
	rc = q_exec(&q, err);
	q_end(&q);
	if (rc != AIGW_OK)
		goto out;
	rc = db_commit(db, err);
	return rc;
out:
	db_rollback(db);
	return rc;
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

aigw_rc db_app_set_plan(struct db *db, const char *id, const char *plan, char *err)
{
	char old[17];
	struct q q;
	aigw_rc rc;

	rc = db_begin(db, err);
	if (rc != AIGW_OK)
		return rc;
	/* Locks the app row so concurrent plan changes queue up and the
	 * history records each transition exactly once. */
	q_init(&q, db, SQL_APP_PLAN_LOCK);
	q_in_str(&q, id);
	q_out_str(&q, old, sizeof old, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc == AIGW_ENOTFOUND)
		aigw_fail(err, rc, "no app '%.64s'", id);
	if (rc != AIGW_OK)
		goto out;
	rc = plan_check(db, plan, err);
	if (rc != AIGW_OK)
		goto out;
	if (strcmp(old, plan) == 0)
		return db_commit(db, err); /* no change, no history row */

	q_init(&q, db, SQL_APP_SET_PLAN);
	q_in_str(&q, plan);
	q_in_str(&q, id);
	rc = q_exec(&q, err);
	q_end(&q);
	if (rc != AIGW_OK)
		goto out;

	q_init(&q, db, SQL_APP_PLAN_CHANGE);
	q_in_str(&q, id);
	q_in_str(&q, old);
	q_in_str(&q, plan);
	rc = q_exec(&q, err);
	q_end(&q);
	if (rc != AIGW_OK)
		goto out;
	return db_commit(db, err);
out:
	db_rollback(db);
	return rc;
}
