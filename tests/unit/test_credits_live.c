/* db/credits.c, the settlement in db/usage.c, plan changes in db/apps.c,
 * db/usage_report.c and the DBA views against a real MariaDB: reservations
 * never let a free app pass its allowance, however many threads race; pro
 * runs into overage; enterprise is unlimited; BYOK never counts; periods
 * roll over with the clock; a plan change closes the period. Runs only when
 * $AIGW_TEST_CONFIG names an aigw.conf of a scratch database (it migrates it
 * and adds apps named t_<random>); otherwise it exits 77 (skipped). */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "apps.h"
#include "check.h"
#include "live.h"
#include "conffile.h"
#include "credits.h"
#include "db.h"
#include "migrate.h"
#include "money.h"
#include "period.h"
#include "stmt.h"
#include "usage.h"
#include "usage_report.h"

#define CENT (MONEY_UNITS_PER_USD / 100)
#define MILLI (MONEY_UNITS_PER_USD / 1000)
#define USD MONEY_UNITS_PER_USD
#define TTL 300
#define THREADS 50
#define TRIES_PER_THREAD 2

static struct aigw_conf conf;
static struct db *db;
static unsigned long long req_counter;

static const char SQL_RES_OF_PERIOD[] =
        "SELECT COUNT(*) FROM credit_reservations WHERE period_id = ?";
static const char SQL_RES_EXISTS[] = "SELECT COUNT(*) FROM credit_reservations WHERE id = ?";
static const char SQL_USAGE_PERIOD[] =
        "SELECT COALESCE(period_id, 0) FROM usage_requests WHERE request_id = ?";
static const char SQL_ANCHOR[] = "SELECT billing_anchor FROM apps WHERE id = ?";
static const char SQL_LAST_CHANGE[] =
        "SELECT changed_at, new_plan FROM app_plan_changes WHERE app_id = ? ORDER BY id DESC "
        "LIMIT 1";
static const char SQL_VIEW_PERIOD[] =
        "SELECT first_day, last_day, is_current, requests, prompt_tokens, completion_tokens, "
        "total_tokens, CAST(cost_usd AS CHAR), CAST(metered_cost_usd AS CHAR), byok_requests, "
        "CAST(byok_cost_usd AS CHAR), CAST(used_usd AS CHAR), CAST(overage_usd AS CHAR), "
        "COALESCE(CAST(remaining_usd AS CHAR), 'null'), plan "
        "FROM v_spend_per_app_period WHERE period_id = ?";
static const char SQL_VIEW_MODEL_DAY[] =
        "SELECT requests, total_tokens, CAST(cost_usd AS CHAR), CAST(byok_cost_usd AS CHAR) "
        "FROM v_spend_per_model_day WHERE app_id = ? AND day = UTC_DATE() AND model = ?";
static const char SQL_VIEW_TOP[] = "SELECT requests, total_tokens, CAST(cost_usd AS CHAR) "
                                   "FROM v_top_apps WHERE app_id = ?";
static const char SQL_TODAY[] = "SELECT CAST(UTC_DATE() AS CHAR)";
/* Periods of the app whose reserved_usd is not the sum of their
 * reservations, or whose used_usd is not the cost of the requests charged
 * to them: the ledger must balance exactly. */
static const char SQL_UNBALANCED[] =
        "SELECT COUNT(*) FROM billing_periods AS b WHERE b.app_id = ? AND ("
        "b.reserved_usd <> (SELECT COALESCE(SUM(IF(r.held, r.amount_usd, 0)), 0) FROM "
        "credit_reservations "
        "AS r WHERE r.period_id = b.id) OR "
        "b.used_usd <> (SELECT COALESCE(SUM(u.cost), 0) FROM usage_requests AS u "
        "WHERE u.period_id = b.id))";

static void new_app(const char *plan, char id[APP_ID_MAX + 1])
{
	char err[AIGW_ERRLEN];
	unsigned char rnd[6];

	randombytes_buf(rnd, sizeof rnd);
	memcpy(id, "t_", 2);
	sodium_bin2hex(id + 2, APP_ID_MAX - 1, rnd, sizeof rnd);
	if (db_app_create(db, id, "credits test", plan, err) != AIGW_OK) {
		fprintf(stderr, "  app create: %s\n", err);
		check_case_failed = 1;
	}
}

static void new_request_id(char out[40])
{
	snprintf(out, 40, "req_c%011llx%08x", __atomic_add_fetch(&req_counter, 1, __ATOMIC_SEQ_CST),
	         randombytes_random());
}

static long long int_of(struct db *d, const char *sql, long long arg)
{
	char err[AIGW_ERRLEN];
	long long v = -1;
	struct q q;

	q_init(&q, d, sql);
	q_in_int(&q, arg);
	q_out_int(&q, &v, NULL);
	if (q_one(&q, err) != AIGW_OK)
		v = -1;
	q_end(&q);
	return v;
}

static enum reserve_result reserve_at(const char *app, int64_t amount, int ttl, const char *now,
                                      struct reservation *r, struct billing_period *p)
{
	char err[AIGW_ERRLEN], req[40];
	enum reserve_result res = RESERVE_EXHAUSTED;
	aigw_rc rc;

	new_request_id(req);
	rc = db_credits_reserve(db, app, req, amount, ttl, now, r, p, &res, err);
	if (rc != AIGW_OK) {
		fprintf(stderr, "  reserve: %s\n", err);
		check_case_failed = 1;
		return (enum reserve_result) - 1;
	}
	return res;
}

static enum reserve_result reserve(const char *app, int64_t amount, struct reservation *r,
                                   struct billing_period *p)
{
	return reserve_at(app, amount, TTL, NULL, r, p);
}

static void period_now(const char *app, const char *now, struct billing_period *p)
{
	char err[AIGW_ERRLEN];

	if (db_period_current(db, app, now, p, err) != AIGW_OK) {
		fprintf(stderr, "  period: %s\n", err);
		check_case_failed = 1;
	}
}

/* Records a finished request: settles reservation r (may be NULL) and
 * charges period_id. The request id goes to req_out when given. */
static void settle(const char *app, const struct reservation *r, long long period_id, int64_t cost,
                   bool byok, const char *model, char *req_out)
{
	char err[AIGW_ERRLEN];
	struct usage_record u;

	memset(&u, 0, sizeof u);
	new_request_id(u.request_id);
	snprintf(u.app_id, sizeof u.app_id, "%s", app);
	u.endpoint = "chat";
	snprintf(u.model_requested, sizeof u.model_requested, "%s", model);
	u.prompt_tokens = 10;
	u.completion_tokens = 20;
	u.cost = cost;
	u.cost_source = COST_UPSTREAM;
	u.is_byok = byok;
	u.status = 200;
	u.reservation_id = r ? r->id : 0;
	u.period_id = period_id;
	if (db_usage_record(db, &u, err) != AIGW_OK) {
		fprintf(stderr, "  usage: %s\n", err);
		check_case_failed = 1;
	}
	if (req_out)
		memcpy(req_out, u.request_id, sizeof u.request_id);
}

static void test_reserve_within_allowance(void)
{
	struct billing_period p, again;
	struct reservation r;
	char app[APP_ID_MAX + 1];

	new_app("free", app);
	CHECK_INT(reserve(app, CENT, &r, &p), RESERVE_OK);
	CHECK(r.id > 0);
	CHECK(r.period_id == p.id && p.id > 0);
	CHECK_INT(r.amount, CENT);
	CHECK_STR(p.plan, "free");
	CHECK_STR(p.period_end, "");
	CHECK(!p.unlimited && !p.overage_allowed);
	CHECK_INT(p.allowance, 10 * CENT);
	CHECK_INT(p.used, 0);
	CHECK_INT(p.reserved, CENT);
	CHECK_INT(int_of(db, SQL_RES_EXISTS, r.id), 1);
	period_now(app, NULL, &again);
	CHECK_INT(again.id, p.id);
	CHECK_INT(again.reserved, CENT);
	CHECK_STR(again.period_start, p.period_start);
}

static void test_eleventh_cent_exhausted(void)
{
	struct billing_period p;
	struct reservation r;
	char app[APP_ID_MAX + 1];
	int i;

	new_app("free", app);
	for (i = 0; i < 10; i++)
		CHECK_INT(reserve(app, CENT, &r, &p), RESERVE_OK);
	CHECK_INT(p.reserved, 10 * CENT);
	CHECK_INT(reserve(app, CENT, &r, &p), RESERVE_EXHAUSTED);
	CHECK_INT(r.id, 0);
	CHECK_STR(p.plan, "free");
	CHECK_INT(p.allowance, 10 * CENT);
	CHECK_INT(p.reserved, 10 * CENT);
	CHECK_INT(int_of(db, SQL_RES_OF_PERIOD, p.id), 10);
	/* a request that reserves nothing still fits exactly */
	CHECK_INT(reserve(app, 0, &r, &p), RESERVE_OK);
}

struct racer {
	const char *app;
	int64_t amount;
	int ok, exhausted, errors;
};

static void *race(void *arg)
{
	struct racer *rc = arg;
	struct db *mine = db_new(&conf);
	char err[AIGW_ERRLEN], req[40];
	enum reserve_result res;
	struct billing_period p;
	struct reservation r;
	int i;

	for (i = 0; i < TRIES_PER_THREAD; i++) {
		new_request_id(req);
		if (db_credits_reserve(mine, rc->app, req, rc->amount, TTL, NULL, &r, &p, &res,
		                       err) != AIGW_OK) {
			fprintf(stderr, "  racer: %s\n", err);
			rc->errors++;
		} else if (res == RESERVE_OK) {
			rc->ok++;
			if (p.used + p.reserved > p.allowance)
				rc->errors++;
		} else {
			rc->exhausted++;
		}
	}
	db_free(mine);
	return NULL;
}

/* 50 threads, each with its own connection, race on a fresh free app (the
 * period row does not exist yet): exactly floor(allowance / amount) win. */
static void test_concurrent_never_past_allowance(void)
{
	static struct racer racers[THREADS];
	pthread_t th[THREADS];
	struct billing_period p;
	char app[APP_ID_MAX + 1];
	int i, ok = 0, exhausted = 0, errors = 0;
	const int64_t amount = 3 * MILLI; /* 0.003: floor(0.10 / 0.003) = 33 */

	new_app("free", app);
	for (i = 0; i < THREADS; i++) {
		racers[i] = (struct racer){.app = app, .amount = amount};
		pthread_create(&th[i], NULL, race, &racers[i]);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		ok += racers[i].ok;
		exhausted += racers[i].exhausted;
		errors += racers[i].errors;
	}
	CHECK_INT(errors, 0);
	CHECK_INT(ok, 33);
	CHECK_INT(exhausted, THREADS * TRIES_PER_THREAD - 33);
	period_now(app, NULL, &p);
	CHECK_INT(p.reserved, 33 * amount);
	CHECK(p.used + p.reserved <= p.allowance);
	CHECK_INT(int_of(db, SQL_RES_OF_PERIOD, p.id), 33);
	CHECK_INT(live_int(db, SQL_UNBALANCED, app), 0);
}

struct spender {
	const char *app;
	int ok, errors;
};

/* Reserve 0.004, settle 0.003, until refused. */
static void *spend(void *arg)
{
	struct spender *s = arg;
	struct db *mine = db_new(&conf);
	char err[AIGW_ERRLEN];
	enum reserve_result res;
	struct billing_period p;
	struct reservation r;
	struct usage_record u;

	for (;;) {
		memset(&u, 0, sizeof u);
		new_request_id(u.request_id);
		if (db_credits_reserve(mine, s->app, u.request_id, 4 * MILLI, TTL, NULL, &r, &p,
		                       &res, err) != AIGW_OK) {
			fprintf(stderr, "  spender: %s\n", err);
			s->errors++;
			break;
		}
		if (res != RESERVE_OK)
			break;
		snprintf(u.app_id, sizeof u.app_id, "%s", s->app);
		u.endpoint = "chat";
		snprintf(u.model_requested, sizeof u.model_requested, "race/model");
		u.cost = 3 * MILLI;
		u.cost_source = COST_UPSTREAM;
		u.status = 200;
		u.reservation_id = r.id;
		u.period_id = r.period_id;
		if (db_usage_record(mine, &u, err) != AIGW_OK) {
			fprintf(stderr, "  spender: %s\n", err);
			s->errors++;
			break;
		}
		s->ok++;
	}
	db_free(mine);
	return NULL;
}

/* Reservations and settlements racing: the settled total stays within the
 * allowance and nothing stays reserved. */
static void test_concurrent_reserve_and_settle(void)
{
	static struct spender sp[THREADS];
	pthread_t th[THREADS];
	struct billing_period p;
	char app[APP_ID_MAX + 1];
	int i, ok = 0, errors = 0;

	new_app("free", app);
	for (i = 0; i < THREADS; i++) {
		sp[i] = (struct spender){.app = app};
		pthread_create(&th[i], NULL, spend, &sp[i]);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		ok += sp[i].ok;
		errors += sp[i].errors;
	}
	CHECK_INT(errors, 0);
	period_now(app, NULL, &p);
	CHECK_INT(p.reserved, 0);
	CHECK_INT(p.used, ok * 3 * MILLI);
	CHECK(p.used <= p.allowance);
	CHECK(ok >= 25); /* 0.10 / 0.004 at the very least */
	CHECK_INT(live_int(db, SQL_UNBALANCED, app), 0);
}

#define MIXERS 20
#define MIX_ROUNDS 30

struct mixer {
	const char *app;
	int n, errors;
};

/* Reserve, then settle (2 in 3) or release (1 in 3); now and then the
 * reservation expires first and another thread's reservation releases it. */
static void *mix(void *arg)
{
	struct mixer *m = arg;
	struct db *mine = db_new(&conf);
	char err[AIGW_ERRLEN];
	enum reserve_result res;
	struct billing_period p;
	struct reservation r;
	struct usage_record u;
	aigw_rc rc;
	int i;

	for (i = 0; i < MIX_ROUNDS; i++) {
		bool expire = i == 5 || i == 20;

		memset(&u, 0, sizeof u);
		new_request_id(u.request_id);
		rc = db_credits_reserve(mine, m->app, u.request_id, 7 * MILLI + i, expire ? 1 : TTL,
		                        NULL, &r, &p, &res, err);
		if (rc == AIGW_OK && res != RESERVE_OK)
			rc = aigw_fail(err, AIGW_EINVAL, "refused");
		if (rc == AIGW_OK && expire)
			usleep(1100 * 1000);
		if (rc == AIGW_OK && (i + m->n) % 3 == 0) {
			rc = db_credits_release(mine, &r, err);
		} else if (rc == AIGW_OK) {
			snprintf(u.app_id, sizeof u.app_id, "%s", m->app);
			u.endpoint = "chat";
			snprintf(u.model_requested, sizeof u.model_requested, "mix/%d", i % 3);
			u.cost = 5 * MILLI + m->n;
			u.cost_source = COST_UPSTREAM;
			u.is_byok = i % 7 == 0;
			u.status = 200;
			u.reservation_id = r.id;
			u.period_id = r.period_id;
			rc = db_usage_record(mine, &u, err);
		}
		if (rc != AIGW_OK) {
			fprintf(stderr, "  mixer %d: %s\n", m->n, err);
			m->errors++;
		}
	}
	db_free(mine);
	return NULL;
}

static void *switch_plans(void *arg)
{
	struct mixer *m = arg;
	struct db *mine = db_new(&conf);
	char err[AIGW_ERRLEN];
	int i;

	for (i = 0; i < 6; i++) {
		usleep(300 * 1000);
		if (db_app_set_plan(mine, m->app, i % 2 ? "pro" : "enterprise", err) != AIGW_OK) {
			fprintf(stderr, "  set-plan: %s\n", err);
			m->errors++;
		}
	}
	db_free(mine);
	return NULL;
}

/* Everything at once on a pro app whose plan keeps changing: no error (no
 * deadlock left unretried), and every period's ledger balances. */
static void test_concurrent_mixed_with_plan_changes(void)
{
	static struct mixer mx[MIXERS + 1];
	pthread_t th[MIXERS + 1];
	char app[APP_ID_MAX + 1];
	int i, errors = 0;

	new_app("pro", app);
	for (i = 0; i <= MIXERS; i++) {
		mx[i] = (struct mixer){.app = app, .n = i};
		pthread_create(&th[i], NULL, i < MIXERS ? mix : switch_plans, &mx[i]);
	}
	for (i = 0; i <= MIXERS; i++) {
		pthread_join(th[i], NULL);
		errors += mx[i].errors;
	}
	CHECK_INT(errors, 0);
	CHECK_INT(live_int(db, SQL_UNBALANCED, app), 0);
}

static void test_settle_moves_cost(void)
{
	struct billing_period p;
	struct reservation r;
	char app[APP_ID_MAX + 1], req[40];

	new_app("free", app);
	CHECK_INT(reserve(app, CENT, &r, &p), RESERVE_OK);
	settle(app, &r, r.period_id, 42 * (MONEY_UNITS_PER_USD / 10000), false, "m/settle", req);
	period_now(app, NULL, &p);
	CHECK_INT(p.used, 42 * (MONEY_UNITS_PER_USD / 10000)); /* 0.0042 */
	CHECK_INT(p.reserved, 0);
	CHECK_INT(int_of(db, SQL_RES_EXISTS, r.id), 0);
	CHECK_INT(live_int(db, SQL_USAGE_PERIOD, req), p.id);
	CHECK_INT(billing_period_remaining(&p), 10 * CENT - 42 * (MONEY_UNITS_PER_USD / 10000));
	CHECK_INT(billing_period_overage(&p), 0);
}

static void test_expired_released_by_next_reserve(void)
{
	struct billing_period p;
	struct reservation r1, r2;
	char app[APP_ID_MAX + 1];

	new_app("free", app);
	CHECK_INT(reserve_at(app, 5 * CENT, 1, "2030-01-01 00:00:00", &r1, &p), RESERVE_OK);
	CHECK_INT(reserve_at(app, 4 * CENT, 1, "2030-01-01 00:00:00.5", &r2, &p), RESERVE_OK);
	/* 0.09 reserved; 0.06 more fits only once both expired */
	CHECK_INT(reserve_at(app, 6 * CENT, TTL, "2030-01-01 00:00:00.9", &r1, &p),
	          RESERVE_EXHAUSTED);
	CHECK_INT(reserve_at(app, 6 * CENT, TTL, "2030-01-01 00:00:02", &r1, &p), RESERVE_OK);
	CHECK_INT(p.reserved, 6 * CENT);
	CHECK_INT(int_of(db, SQL_RES_OF_PERIOD, p.id), 1);
}

static void test_release_of_expired_no_double_subtract(void)
{
	char err[AIGW_ERRLEN];
	struct billing_period p;
	struct reservation r1, r2, r3;
	char app[APP_ID_MAX + 1];

	new_app("free", app);
	CHECK_INT(reserve_at(app, 5 * CENT, 1, "2030-01-01 00:00:00", &r1, &p), RESERVE_OK);
	CHECK_INT(reserve_at(app, 3 * CENT, 1, "2030-01-01 00:00:00", &r3, &p), RESERVE_OK);
	/* five seconds later: 0.03 does not fit beside them, so this one
	 * releases r1 and r3 (expired) and then fits */
	CHECK_INT(reserve_at(app, 3 * CENT, TTL, "2030-01-01 00:00:05", &r2, &p), RESERVE_OK);
	CHECK_INT(p.reserved, 3 * CENT);
	CHECK_INT(db_credits_release(db, &r1, err), AIGW_OK);
	period_now(app, NULL, &p);
	CHECK_INT(p.reserved, 3 * CENT);
	/* the request of r3 did run: its cost counts, its reservation is gone */
	settle(app, &r3, r3.period_id, CENT, false, "m/late", NULL);
	period_now(app, NULL, &p);
	CHECK_INT(p.reserved, 3 * CENT);
	CHECK_INT(p.used, CENT);
	CHECK_INT(db_credits_release(db, &r2, err), AIGW_OK);
	period_now(app, NULL, &p);
	CHECK_INT(p.reserved, 0);
	CHECK_INT(db_credits_release(db, &r2, err), AIGW_OK);
	period_now(app, NULL, &p);
	CHECK_INT(p.reserved, 0);
}

/* A reservation that fits is one conditional update: expired ones stay
 * until db_credits_release_expired (each process's poller) removes them. */
static void test_expired_released_by_cleanup(void)
{
	char err[AIGW_ERRLEN];
	struct billing_period p;
	struct reservation r1, r2;
	char app[APP_ID_MAX + 1];
	int released = -1;

	new_app("free", app);
	/* expired long ago by the database clock */
	CHECK_INT(reserve_at(app, 5 * CENT, 1, "2020-01-01 00:00:00", &r1, &p), RESERVE_OK);
	CHECK_INT(reserve(app, 2 * CENT, &r2, &p), RESERVE_OK);
	CHECK_INT(p.reserved, 7 * CENT);
	CHECK_INT(int_of(db, SQL_RES_OF_PERIOD, p.id), 2);
	CHECK_INT(db_credits_release_expired(db, 100000, &released, err), AIGW_OK);
	CHECK(released >= 1);
	period_now(app, NULL, &p);
	CHECK_INT(p.reserved, 2 * CENT);
	CHECK_INT(int_of(db, SQL_RES_OF_PERIOD, p.id), 1);
	CHECK_INT(db_credits_release(db, &r2, err), AIGW_OK);
	period_now(app, NULL, &p);
	CHECK_INT(p.reserved, 0);
	CHECK_INT(db_credits_release_expired(db, 0, &released, err), AIGW_EINVAL);
}

static void test_pro_overage(void)
{
	struct billing_period p;
	struct reservation r;
	char app[APP_ID_MAX + 1];

	new_app("pro", app);
	CHECK_INT(reserve(app, 999 * CENT, &r, &p), RESERVE_OK);
	CHECK_STR(p.plan, "pro");
	CHECK(p.period_end[0] != '\0');
	CHECK(p.overage_allowed && !p.unlimited);
	CHECK_INT(p.allowance, 10 * USD);
	settle(app, &r, r.period_id, 999 * CENT, false, "m/pro", NULL);
	/* beyond $10: still reserved, recorded as overage */
	CHECK_INT(reserve(app, 50 * CENT, &r, &p), RESERVE_OK);
	CHECK(r.id > 0);
	settle(app, &r, r.period_id, 50 * CENT, false, "m/pro", NULL);
	period_now(app, NULL, &p);
	CHECK_INT(p.used, 1049 * CENT);
	CHECK_INT(p.reserved, 0);
	CHECK_INT(billing_period_overage(&p), 49 * CENT);
	CHECK_INT(billing_period_remaining(&p), 0);
}

static void test_enterprise_unlimited(void)
{
	struct billing_period p;
	struct reservation r;
	char app[APP_ID_MAX + 1];

	new_app("enterprise", app);
	CHECK_INT(reserve(app, 100000 * USD, &r, &p), RESERVE_OK);
	CHECK_INT(r.id, 0);
	CHECK(r.period_id > 0 && r.period_id == p.id);
	CHECK(p.unlimited);
	CHECK_INT(p.reserved, 0);
	settle(app, &r, r.period_id, 123 * USD, false, "m/ent", NULL);
	period_now(app, NULL, &p);
	CHECK_INT(p.used, 123 * USD);
	CHECK_INT(billing_period_overage(&p), 0);
	CHECK_INT(billing_period_remaining(&p), 0);
}

static void test_byok_leaves_used(void)
{
	struct billing_period p;
	struct reservation r;
	char app[APP_ID_MAX + 1], req[40];

	new_app("free", app);
	period_now(app, NULL, &p);
	settle(app, NULL, p.id, 5 * CENT, true, "m/byok", req);
	CHECK_INT(live_int(db, SQL_USAGE_PERIOD, req), 0);
	/* even with a reservation: it is released, used untouched */
	CHECK_INT(reserve(app, CENT, &r, &p), RESERVE_OK);
	settle(app, &r, r.period_id, 9 * CENT, true, "m/byok", NULL);
	period_now(app, NULL, &p);
	CHECK_INT(p.used, 0);
	CHECK_INT(p.reserved, 0);
}

static void test_period_rollover(void)
{
	struct billing_period p1, p2, p3, f1, f2;
	struct reservation r;
	struct utc_time t;
	char app[APP_ID_MAX + 1], free_app[APP_ID_MAX + 1], later[UTC_TIME_LEN];

	new_app("pro", app);
	CHECK_INT(reserve(app, 2 * USD, &r, &p1), RESERVE_OK);
	settle(app, &r, r.period_id, 2 * USD, false, "m/roll", NULL);
	/* exactly at the end: the next period */
	period_now(app, p1.period_end, &p2);
	CHECK(p2.id != p1.id);
	CHECK_STR(p2.period_start, p1.period_end);
	CHECK_INT(p2.used, 0);
	CHECK_STR(p2.plan, "pro");
	/* a month later, mid-period: reserving there uses the new period */
	CHECK(utc_time_parse(p1.period_end, &t));
	t.day = 1;
	t.month = t.month % 12 + 1;
	t.year += t.month == 1;
	utc_time_format(&t, later);
	CHECK_INT(reserve_at(app, USD, TTL, later, &r, &p3), RESERVE_OK);
	CHECK(p3.id != p1.id);
	CHECK_INT(p3.used, 0);
	period_now(app, NULL, &p1);
	CHECK_INT(p1.used, 2 * USD);

	/* free: one lifetime period whatever the clock says */
	new_app("free", free_app);
	period_now(free_app, NULL, &f1);
	period_now(free_app, later, &f2);
	CHECK_INT(f2.id, f1.id);
	period_now(free_app, "2099-06-01 00:00:00", &f2);
	CHECK_INT(f2.id, f1.id);
}

static const char SQL_PERIOD_END[] = "SELECT period_end FROM billing_periods WHERE id = ?";

static void period_end_of(long long id, char out[DB_TIME_LEN])
{
	char err[AIGW_ERRLEN];
	struct q q;

	out[0] = '\0';
	q_init(&q, db, SQL_PERIOD_END);
	q_in_int(&q, id);
	q_out_time(&q, out, NULL);
	CHECK_INT(q_one(&q, err), AIGW_OK);
	q_end(&q);
}

static void test_set_plan_closes_period(void)
{
	char err[AIGW_ERRLEN], anchor[DB_TIME_LEN], changed[DB_TIME_LEN], end[DB_TIME_LEN];
	char plan[17];
	struct billing_period p1, p2, closed;
	char app[APP_ID_MAX + 1];
	struct q q;

	new_app("pro", app);
	period_now(app, NULL, &p1);
	CHECK(p1.period_end[0] != '\0');
	CHECK_INT(db_app_set_plan(db, app, "enterprise", err), AIGW_OK);
	period_now(app, NULL, &p2);
	CHECK(p2.id != p1.id);
	CHECK_STR(p2.plan, "enterprise");
	CHECK(p2.unlimited);
	/* the old period ends where the new one starts: the change */
	q_init(&q, db, SQL_ANCHOR);
	q_in_str(&q, app);
	q_out_time(&q, anchor, NULL);
	CHECK_INT(q_one(&q, err), AIGW_OK);
	q_end(&q);
	q_init(&q, db, SQL_LAST_CHANGE);
	q_in_str(&q, app);
	q_out_time(&q, changed, NULL);
	q_out_str(&q, plan, sizeof plan, NULL);
	CHECK_INT(q_one(&q, err), AIGW_OK);
	q_end(&q);
	CHECK_STR(plan, "enterprise");
	CHECK_STR(p2.period_start, anchor);
	CHECK_STR(changed, anchor);
	period_end_of(p1.id, end);
	CHECK_STR(end, anchor);
	CHECK(strcmp(anchor, p1.period_start) >= 0);
	CHECK(strcmp(anchor, p1.period_end) < 0);
	/* setting the same plan again changes nothing */
	CHECK_INT(db_app_set_plan(db, app, "enterprise", err), AIGW_OK);
	period_now(app, NULL, &closed);
	CHECK_INT(closed.id, p2.id);
}

static void test_free_lifetime_comes_back(void)
{
	char err[AIGW_ERRLEN], end[DB_TIME_LEN];
	struct billing_period f1, pro, f2;
	struct reservation r;
	char app[APP_ID_MAX + 1];

	new_app("free", app);
	CHECK_INT(reserve(app, 3 * CENT, &r, &f1), RESERVE_OK);
	settle(app, &r, r.period_id, 2 * CENT, false, "m/back", NULL);
	CHECK_INT(db_app_set_plan(db, app, "pro", err), AIGW_OK);
	period_end_of(f1.id, end);
	CHECK(end[0] != '\0'); /* closed by the change */
	period_now(app, NULL, &pro);
	CHECK(pro.id != f1.id);
	CHECK_STR(pro.plan, "pro");
	CHECK_INT(pro.used, 0);
	CHECK_INT(db_app_set_plan(db, app, "free", err), AIGW_OK);
	period_end_of(f1.id, end);
	CHECK_STR(end, ""); /* reopened by the change */
	period_end_of(pro.id, end);
	CHECK(end[0] != '\0');
	period_now(app, NULL, &f2);
	CHECK_INT(f2.id, f1.id);
	CHECK_STR(f2.period_end, "");
	CHECK_INT(f2.used, 2 * CENT);
	CHECK_INT(reserve(app, 9 * CENT, &r, &f2), RESERVE_EXHAUSTED);
	CHECK_INT(reserve(app, 8 * CENT, &r, &f2), RESERVE_OK);
}

static void test_unknown_app_and_bad_input(void)
{
	char err[AIGW_ERRLEN], req[40];
	enum reserve_result res;
	struct billing_period p;
	struct reservation r;
	char app[APP_ID_MAX + 1];

	CHECK_INT(db_period_current(db, "t_no_such_app", NULL, &p, err), AIGW_ENOTFOUND);
	CHECK_INT(db_credits_reserve(db, "t_no_such_app", "req_x1", CENT, TTL, NULL, &r, &p, &res,
	                             err),
	          AIGW_ENOTFOUND);
	new_app("free", app);
	CHECK_INT(db_credits_reserve(db, app, "req_x2", -1, TTL, NULL, &r, &p, &res, err),
	          AIGW_EINVAL);
	CHECK_INT(db_credits_reserve(db, app, "req_x3", CENT, 0, NULL, &r, &p, &res, err),
	          AIGW_EINVAL);
	CHECK_INT(db_credits_reserve(db, app, "req_x4", CENT, TTL, "yesterday", &r, &p, &res, err),
	          AIGW_EINVAL);
	/* one reservation per request id; a second one leaves no trace */
	new_request_id(req);
	CHECK_INT(db_credits_reserve(db, app, req, CENT, TTL, NULL, &r, &p, &res, err), AIGW_OK);
	CHECK_INT(db_credits_reserve(db, app, req, CENT, TTL, NULL, &r, &p, &res, err),
	          AIGW_EEXIST);
	period_now(app, NULL, &p);
	CHECK_INT(p.reserved, CENT);
}

static void today(char out[16])
{
	char err[AIGW_ERRLEN];
	struct q q;

	q_init(&q, db, SQL_TODAY);
	q_out_str(&q, out, 16, NULL);
	CHECK_INT(q_one(&q, err), AIGW_OK);
	q_end(&q);
}

/* Usage sums, exact, and the DBA views agreeing with them. */
static void test_report_and_views(void)
{
	char err[AIGW_ERRLEN], day[16], first[16], last[16], cost[48], metered[48], byok_cost[48];
	char used[48], overage[48], remaining[48], plan[17], want[MONEY_TEXT_LEN];
	long long cur, requests, prompt, completion, total, byok_requests;
	struct usage_report rep;
	struct billing_period p;
	struct reservation r;
	char app[APP_ID_MAX + 1];
	struct q q;
	int i;

	new_app("pro", app);
	today(day);
	for (i = 0; i < 3; i++) {
		CHECK_INT(reserve(app, CENT, &r, &p), RESERVE_OK);
		settle(app, &r, r.period_id, 1234567 + i, false, "openai/gpt-4o", NULL);
	}
	CHECK_INT(reserve(app, CENT, &r, &p), RESERVE_OK);
	settle(app, &r, r.period_id, 3 * CENT, false, "anthropic/claude", NULL);
	settle(app, NULL, p.id, 7, true, "openai/gpt-4o", NULL);
	settle(app, NULL, p.id, 0, false, "z/free-model", NULL);

	CHECK_INT(db_usage_report(db, app, day, day, &rep, err), AIGW_OK);
	CHECK_INT(rep.total.requests, 6);
	CHECK_INT(rep.total.prompt_tokens, 60);
	CHECK_INT(rep.total.completion_tokens, 120);
	CHECK_INT(rep.total.cost, 3 * 1234567 + 3 + 3 * CENT + 7);
	CHECK_INT(rep.byok.requests, 1);
	CHECK_INT(rep.byok.cost, 7);
	CHECK_INT(rep.n_models, 3);
	if (rep.n_models == 3) {
		CHECK_STR(rep.models[0].model, "anthropic/claude");
		CHECK_STR(rep.models[1].model, "openai/gpt-4o");
		CHECK_INT(rep.models[1].sums.requests, 4);
		CHECK_INT(rep.models[1].sums.cost, 3 * 1234567 + 3 + 7);
		CHECK_STR(rep.models[2].model, "z/free-model");
		CHECK_INT(rep.models[2].sums.cost, 0);
	}
	period_now(app, NULL, &p);
	CHECK_INT(p.used, 3 * 1234567 + 3 + 3 * CENT);

	/* the period view: the endpoint's default range and figures */
	q_init(&q, db, SQL_VIEW_PERIOD);
	q_in_int(&q, p.id);
	q_out_str(&q, first, sizeof first, NULL);
	q_out_str(&q, last, sizeof last, NULL);
	q_out_int(&q, &cur, NULL);
	q_out_int(&q, &requests, NULL);
	q_out_int(&q, &prompt, NULL);
	q_out_int(&q, &completion, NULL);
	q_out_int(&q, &total, NULL);
	q_out_str(&q, cost, sizeof cost, NULL);
	q_out_str(&q, metered, sizeof metered, NULL);
	q_out_int(&q, &byok_requests, NULL);
	q_out_str(&q, byok_cost, sizeof byok_cost, NULL);
	q_out_str(&q, used, sizeof used, NULL);
	q_out_str(&q, overage, sizeof overage, NULL);
	q_out_str(&q, remaining, sizeof remaining, NULL);
	q_out_str(&q, plan, sizeof plan, NULL);
	CHECK_INT(q_one(&q, err), AIGW_OK);
	q_end(&q);
	CHECK_INT(cur, 1);
	CHECK(strncmp(first, p.period_start, 10) == 0);
	CHECK_STR(last, day);
	usage_report_free(&rep);
	CHECK_INT(db_usage_report(db, app, first, last, &rep, err), AIGW_OK);
	CHECK_INT(requests, rep.total.requests);
	CHECK_INT(prompt, rep.total.prompt_tokens);
	CHECK_INT(completion, rep.total.completion_tokens);
	CHECK_INT(total, rep.total.prompt_tokens + rep.total.completion_tokens);
	money_to_decimal(rep.total.cost, want);
	CHECK_STR(cost, want);
	money_to_decimal(rep.total.cost - rep.byok.cost, want);
	CHECK_STR(metered, want);
	CHECK_INT(byok_requests, rep.byok.requests);
	money_to_decimal(rep.byok.cost, want);
	CHECK_STR(byok_cost, want);
	money_to_decimal(p.used, want);
	CHECK_STR(used, want);
	money_to_decimal(billing_period_overage(&p), want);
	CHECK_STR(overage, want);
	money_to_decimal(billing_period_remaining(&p), want);
	CHECK_STR(remaining, want);
	CHECK_STR(plan, "pro");

	/* per model and day */
	q_init(&q, db, SQL_VIEW_MODEL_DAY);
	q_in_str(&q, app);
	q_in_str(&q, "openai/gpt-4o");
	q_out_int(&q, &requests, NULL);
	q_out_int(&q, &total, NULL);
	q_out_str(&q, cost, sizeof cost, NULL);
	q_out_str(&q, byok_cost, sizeof byok_cost, NULL);
	CHECK_INT(q_one(&q, err), AIGW_OK);
	q_end(&q);
	CHECK_INT(requests, 4);
	CHECK_INT(total, 120);
	CHECK_STR(cost, "0.0003703711");
	CHECK_STR(byok_cost, "0.0000000007");

	/* top apps */
	q_init(&q, db, SQL_VIEW_TOP);
	q_in_str(&q, app);
	q_out_int(&q, &requests, NULL);
	q_out_int(&q, &total, NULL);
	q_out_str(&q, cost, sizeof cost, NULL);
	CHECK_INT(q_one(&q, err), AIGW_OK);
	q_end(&q);
	CHECK_INT(requests, 6);
	CHECK_INT(total, 180);
	money_to_decimal(rep.total.cost, want);
	CHECK_STR(cost, want);
	usage_report_free(&rep);

	/* nothing in range; bad dates */
	CHECK_INT(db_usage_report(db, app, "2001-01-01", "2001-12-31", &rep, err), AIGW_OK);
	CHECK_INT(rep.total.requests, 0);
	CHECK_INT(rep.n_models, 0);
	usage_report_free(&rep);
	CHECK_INT(db_usage_report(db, app, "2001-02-30", "2001-12-31", &rep, err), AIGW_EINVAL);
	CHECK_INT(db_usage_report(db, app, "2001-01-01", "x", &rep, err), AIGW_EINVAL);
}

int main(void)
{
	int setup;

	check_program = "test_credits_live";
	setup = live_open(&conf, true);
	if (setup != 0)
		return setup;
	db = db_new(&conf);

	RUN(test_reserve_within_allowance);
	RUN(test_eleventh_cent_exhausted);
	RUN(test_concurrent_never_past_allowance);
	RUN(test_concurrent_reserve_and_settle);
	RUN(test_concurrent_mixed_with_plan_changes);
	RUN(test_settle_moves_cost);
	RUN(test_expired_released_by_next_reserve);
	RUN(test_release_of_expired_no_double_subtract);
	RUN(test_expired_released_by_cleanup);
	RUN(test_pro_overage);
	RUN(test_enterprise_unlimited);
	RUN(test_byok_leaves_used);
	RUN(test_period_rollover);
	RUN(test_set_plan_closes_period);
	RUN(test_free_lifetime_comes_back);
	RUN(test_unknown_app_and_bad_input);
	RUN(test_report_and_views);

	db_free(db);
	conf_free(&conf);
	CHECK_DONE();
}
