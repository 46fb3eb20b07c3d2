/* db/consistency.c against a real MariaDB: clean after reservations,
 * settlements and BYOK usage made by the store's own functions; each
 * invariant broken by one statement is reported with its key and both
 * values, and only for its app; the listing is bounded while the count is
 * not. Runs only when $AIGW_TEST_CONFIG names an aigw.conf of a scratch
 * database (it migrates it and adds apps named t_<random>); otherwise it
 * exits 77 (skipped). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "apps.h"
#include "check.h"
#include "live.h"
#include "conffile.h"
#include "consistency.h"
#include "credits.h"
#include "db.h"
#include "money.h"
#include "stmt.h"
#include "usage.h"

#define LIST 100

static struct aigw_conf conf;
static struct db *db;
static char app[APP_ID_MAX + 1];   /* pro: one period, traffic of one model */
static char other[APP_ID_MAX + 1]; /* a second app, clean throughout */
static long long period_id;

static const char SQL_RESERVED_ADD[] = "UPDATE billing_periods SET reserved_usd = reserved_usd + ? "
                                       "* 0.0000000001 WHERE app_id = ?";
static const char SQL_USED_ADD[] =
        "UPDATE billing_periods SET used_usd = used_usd + ? * 0.0000000001 WHERE app_id = ?";
static const char SQL_DAILY_CT_ADD[] =
        "UPDATE usage_daily SET completion_tokens = completion_tokens + ? WHERE app_id = ?";
static const char SQL_MONTHLY_DELETE[] = "DELETE FROM usage_monthly WHERE app_id = ?";
static const char SQL_MONTHLY_REBUILD[] =
        "INSERT INTO usage_monthly (app_id, month, model, is_byok, requests, prompt_tokens, "
        "completion_tokens, cached_tokens, reasoning_tokens, cost, updated_at) "
        "SELECT app_id, DATE_FORMAT(day, '%Y-%m-01'), model, is_byok, SUM(requests), "
        "SUM(prompt_tokens), SUM(completion_tokens), SUM(cached_tokens), "
        "SUM(reasoning_tokens), SUM(cost), MAX(updated_at) FROM usage_daily WHERE app_id = ? "
        "GROUP BY app_id, DATE_FORMAT(day, '%Y-%m-01'), model, is_byok";
static const char SQL_TODAY[] = "SELECT CAST(UTC_DATE() AS CHAR)";

/* Runs sql with an optional integer then the app id. */
static void exec(const char *sql, long long n, bool with_n, const char *app_id)
{
	char err[AIGW_ERRLEN];
	struct q q;

	q_init(&q, db, sql);
	if (with_n)
		q_in_int(&q, n);
	q_in_str(&q, app_id);
	if (q_exec(&q, err) != AIGW_OK) {
		fprintf(stderr, "  %s: %s\n", sql, err);
		check_case_failed = 1;
	}
	q_end(&q);
}

static void new_app(const char *plan, char id[APP_ID_MAX + 1])
{
	char err[AIGW_ERRLEN];

	live_app_id(id, APP_ID_MAX + 1);
	if (db_app_create(db, id, "consistency test", plan, err) != AIGW_OK) {
		fprintf(stderr, "  app create: %s\n", err);
		check_case_failed = 1;
	}
}

/* Reserves amount for a new request of app_id; the reservation in *r. */
static void reserve(const char *app_id, int64_t amount, struct reservation *r)
{
	struct billing_period p;
	enum reserve_result res;
	char err[AIGW_ERRLEN], req[40];

	snprintf(req, sizeof req, "req_k%08x%08x", randombytes_random(), randombytes_random());
	if (db_credits_reserve(db, app_id, req, amount, 300, NULL, r, &p, &res, err) != AIGW_OK ||
	    res != RESERVE_OK) {
		fprintf(stderr, "  reserve: %s\n", err);
		check_case_failed = 1;
	}
}

/* Records a request of app_id settling r (NULL: none), charged to its
 * period unless BYOK. */
static void settle(const char *app_id, const struct reservation *r, int64_t cost, bool byok)
{
	char err[AIGW_ERRLEN];
	struct usage_record u;

	memset(&u, 0, sizeof u);
	snprintf(u.request_id, sizeof u.request_id, "req_k%08x%08x", randombytes_random(),
	         randombytes_random());
	snprintf(u.app_id, sizeof u.app_id, "%s", app_id);
	u.endpoint = "chat";
	snprintf(u.model_requested, sizeof u.model_requested, "m/consistency");
	u.prompt_tokens = 10;
	u.completion_tokens = 20;
	u.cost = cost;
	u.cost_source = COST_UPSTREAM;
	u.is_byok = byok;
	u.status = 200;
	u.reservation_id = r ? r->id : 0;
	u.period_id = r && !byok ? r->period_id : 0;
	if (db_usage_record(db, &u, err) != AIGW_OK) {
		fprintf(stderr, "  usage: %s\n", err);
		check_case_failed = 1;
	}
}

/* The check of app_id (NULL: every app) with list_max; fails the case on
 * an error. */
static void run_check(const char *app_id, size_t list_max, struct consistency_report *r)
{
	char err[AIGW_ERRLEN];

	if (db_consistency_check(db, app_id, list_max, r, err) != AIGW_OK) {
		fprintf(stderr, "  check: %s\n", err);
		check_case_failed = 1;
		memset(r, 0, sizeof *r);
	}
}

static void check_clean(const char *app_id)
{
	struct consistency_report r;

	run_check(app_id, LIST, &r);
	CHECK_INT(r.drifts, 0);
	CHECK_INT(r.n_listed, 0);
	consistency_report_free(&r);
}

static void test_clean_after_store_traffic(void)
{
	struct consistency_report r;
	struct reservation r1, r2, r3;

	new_app("pro", app);
	new_app("pro", other);
	reserve(app, MONEY_UNITS_PER_USD / 100, &r1);
	reserve(app, MONEY_UNITS_PER_USD / 100, &r2);
	reserve(app, MONEY_UNITS_PER_USD / 100, &r3);
	period_id = r1.period_id;
	settle(app, &r1, 12345, false);
	settle(app, &r2, 0, false);
	settle(app, NULL, 999, true); /* BYOK: no period, counts nowhere */
	/* r3 stays open: reserved_usd holds it */
	run_check(app, LIST, &r);
	CHECK_INT(r.drifts, 0);
	CHECK_INT(r.periods, 1);
	CHECK_INT(r.daily_rows, 2); /* metered and BYOK */
	CHECK_INT(r.monthly_rows, 2);
	consistency_report_free(&r);
	reserve(other, 1, &r1);
	settle(other, &r1, 1, false);
	check_clean(other);
}

static void test_reserved_drift_named(void)
{
	struct consistency_report r;
	const struct drift *d;

	exec(SQL_RESERVED_ADD, 1, true, app);
	run_check(app, LIST, &r);
	CHECK_INT(r.drifts, 1);
	CHECK_INT(r.n_listed, 1);
	d = r.listed;
	if (d) {
		CHECK_INT(d->kind, DRIFT_RESERVED);
		CHECK_INT(d->period_id, period_id);
		CHECK_STR(d->app_id, app);
		CHECK_STR(d->expected, "0.0100000000");
		CHECK_STR(d->actual, "0.0100000001");
		CHECK_INT(d->items, 1);
	}
	consistency_report_free(&r);
	check_clean(other);
	exec(SQL_RESERVED_ADD, -1, true, app);
	check_clean(app);
}

static void test_daily_drift_named(void)
{
	struct consistency_report r;
	const struct drift *d;
	char today[11] = "";
	char err[AIGW_ERRLEN];
	struct q q;

	q_init(&q, db, SQL_TODAY);
	q_out_str(&q, today, sizeof today, NULL);
	CHECK_INT(q_one(&q, err), AIGW_OK);
	q_end(&q);
	exec(SQL_DAILY_CT_ADD, 1, true, app);
	run_check(app, LIST, &r);
	CHECK_INT(r.drifts, 2); /* the metered and the BYOK daily rows */
	d = r.n_listed == 2 ? &r.listed[0] : NULL;
	CHECK(d != NULL);
	if (d) {
		CHECK_INT(d->kind, DRIFT_DAILY);
		CHECK_STR(d->app_id, app);
		CHECK_STR(d->day, today);
		CHECK_STR(d->model, "m/consistency");
		CHECK(!d->is_byok && r.listed[1].is_byok);
		CHECK(d->has_rows && d->has_rollup);
		CHECK_INT(d->want.requests, 2);
		CHECK_INT(d->got.requests, 2);
		CHECK_INT(d->want.completion_tokens, 40);
		CHECK_INT(d->got.completion_tokens, 41);
		CHECK_STR(d->want.cost, "0.0000012345");
		CHECK_STR(d->got.cost, "0.0000012345");
	}
	consistency_report_free(&r);
	exec(SQL_DAILY_CT_ADD, -1, true, app);
	check_clean(app);
}

static void test_monthly_missing_named(void)
{
	struct consistency_report r;
	const struct drift *d;

	exec(SQL_MONTHLY_DELETE, 0, false, app);
	run_check(app, LIST, &r);
	CHECK_INT(r.drifts, 2);
	CHECK_INT(r.monthly_rows, 0);
	d = r.n_listed > 0 ? &r.listed[0] : NULL;
	CHECK(d != NULL);
	if (d) {
		CHECK_INT(d->kind, DRIFT_MONTHLY);
		CHECK(d->has_rows && !d->has_rollup);
		CHECK(strlen(d->day) == 10 && strcmp(d->day + 7, "-01") == 0);
		CHECK_INT(d->want.requests, 2);
		CHECK_INT(d->want.prompt_tokens, 20);
	}
	consistency_report_free(&r);
	exec(SQL_MONTHLY_REBUILD, 0, false, app);
	check_clean(app);
}

static void test_listing_bounded_count_not(void)
{
	struct consistency_report r;

	exec(SQL_RESERVED_ADD, 3, true, app);
	exec(SQL_USED_ADD, 5, true, app);
	run_check(app, 1, &r);
	CHECK_INT(r.drifts, 2);
	CHECK_INT(r.n_listed, 1);
	if (r.n_listed == 1)
		CHECK_INT(r.listed[0].kind, DRIFT_RESERVED);
	consistency_report_free(&r);
	run_check(app, 0, &r);
	CHECK_INT(r.drifts, 2);
	CHECK_INT(r.n_listed, 0);
	consistency_report_free(&r);
	/* every app: at least these two, the other app named nowhere */
	run_check(NULL, 10000, &r);
	CHECK(r.drifts >= 2);
	for (size_t i = 0; i < r.n_listed; i++)
		CHECK(strcmp(r.listed[i].app_id, other) != 0);
	consistency_report_free(&r);
	exec(SQL_RESERVED_ADD, -3, true, app);
	exec(SQL_USED_ADD, -5, true, app);
	check_clean(app);
}

int main(void)
{
	int setup;

	check_program = "test_consistency_live";
	setup = live_open(&conf, true);
	if (setup != 0)
		return setup;
	db = db_new(&conf);

	RUN(test_clean_after_store_traffic);
	RUN(test_reserved_drift_named);
	RUN(test_daily_drift_named);
	RUN(test_monthly_missing_named);
	RUN(test_listing_bounded_count_not);

	db_free(db);
	conf_free(&conf);
	CHECK_DONE();
}
