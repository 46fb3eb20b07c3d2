/* db_usage_record_batch against a real MariaDB: a mixed batch (free-plan rows
 * settling reservations, pro and enterprise rows charging their period, BYOK
 * rows, an unknown app, bad values, a reservation released already, a
 * request id twice) leaves rows, rollups and periods exactly right; the same
 * batch again changes nothing; two threads applying overlapping batches at
 * once count each request once and never fail. Prints the statements and
 * commits per request for batches of 1, 8 and 64. Runs only when
 * $AIGW_TEST_CONFIG names an aigw.conf of a scratch database; otherwise it
 * exits 77 (skipped). */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "apps.h"
#include "check.h"
#include "live.h"
#include "conffile.h"
#include "credits.h"
#include "db.h"
#include "migrate.h"
#include "stmt.h"
#include "usage.h"

#define TTL 300
#define MIXED 49
#define CONC_BATCHES 8
#define CONC_PER 24

static struct aigw_conf conf;
static struct db *db;
static char app_free[APP_ID_MAX + 1], app_pro[APP_ID_MAX + 1], app_ent[APP_ID_MAX + 1];
static unsigned long long req_counter;

/* The rollup equals the sums of the rows, for the day and the month tables. */
#define SQL_IN_STEP(table, key, expr)                                                              \
	"SELECT COUNT(*) FROM (SELECT app_id, " expr " AS k, model, is_byok, COUNT(*) AS n, "      \
	"SUM(prompt_tokens) AS p, SUM(completion_tokens) AS c, SUM(cached_tokens) AS ca, "         \
	"SUM(reasoning_tokens) AS r, SUM(cost) AS cost FROM usage_requests WHERE app_id = ? "      \
	"GROUP BY app_id, k, model, is_byok) AS s "                                                \
	"LEFT JOIN " table " AS d ON d.app_id = s.app_id AND d." key " = s.k AND "                 \
	"d.model = s.model AND d.is_byok = s.is_byok "                                             \
	"WHERE d.requests IS NULL OR d.requests <> s.n OR d.prompt_tokens <> s.p OR "              \
	"d.completion_tokens <> s.c OR d.cached_tokens <> s.ca OR d.reasoning_tokens <> s.r "      \
	"OR d.cost <> s.cost"
static const char SQL_DAILY_IN_STEP[] = SQL_IN_STEP("usage_daily", "day", "DATE(created_at)");
static const char SQL_MONTHLY_IN_STEP[] =
        SQL_IN_STEP("usage_monthly", "month", "DATE_FORMAT(created_at, '%Y-%m-01')");
/* Rollup rows without any request row behind them. */
static const char SQL_DAILY_EXTRA[] =
        "SELECT COUNT(*) FROM usage_daily AS d WHERE d.app_id = ? AND d.requests <> "
        "(SELECT COUNT(*) FROM usage_requests AS r WHERE r.app_id = d.app_id AND "
        "DATE(r.created_at) = d.day AND r.model = d.model AND r.is_byok = d.is_byok)";
static const char SQL_ROWS[] = "SELECT COUNT(*) FROM usage_requests WHERE app_id = ?";
static const char SQL_PERIOD_MONEY[] =
        "SELECT CAST(used_usd AS CHAR), CAST(reserved_usd AS CHAR), reserved_usd = "
        "(SELECT COALESCE(SUM(c.amount_usd), 0) FROM credit_reservations AS c "
        "WHERE c.period_id = b.id) FROM billing_periods AS b WHERE id = ?";
static const char SQL_STATUS[] =
        "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = ?";

struct period_money {
	char used[48], reserved[48];
	long long reserved_is_sum;
};

static void request_id(char out[40])
{
	snprintf(out, 40, "req_b%012llx%08x", __atomic_add_fetch(&req_counter, 1, __ATOMIC_SEQ_CST),
	         randombytes_random());
}

static void rec_init(struct usage_record *u, const char *app, long long period, int64_t cost)
{
	memset(u, 0, sizeof *u);
	request_id(u->request_id);
	snprintf(u->app_id, sizeof u->app_id, "%s", app);
	u->key_id = 3;
	u->endpoint = "chat";
	snprintf(u->model_requested, sizeof u->model_requested, "openai/gpt-4o-mini");
	snprintf(u->model_billed, sizeof u->model_billed, "openai/gpt-4o-mini");
	u->prompt_tokens = 10;
	u->completion_tokens = 20;
	u->cached_tokens = 1;
	u->reasoning_tokens = 2;
	u->cost = cost;
	u->cost_source = COST_UPSTREAM;
	u->status = 200;
	u->duration_us = 500;
	u->period_id = period;
}

/* A record whose request first reserved amount (in its own db). */
static bool rec_reserved(struct db *on, struct usage_record *u, const char *app, int64_t amount,
                         int64_t cost)
{
	char err[AIGW_ERRLEN];
	enum reserve_result res = RESERVE_EXHAUSTED;
	struct reservation r;
	struct billing_period p;

	rec_init(u, app, 0, cost);
	if (db_credits_reserve(on, app, u->request_id, amount, TTL, NULL, &r, &p, &res, err) !=
	            AIGW_OK ||
	    res != RESERVE_OK || r.id <= 0) {
		fprintf(stderr, "  reserve: %s\n", err);
		return false;
	}
	u->reservation_id = r.id;
	u->period_id = r.period_id;
	return true;
}

static long long period_of(const char *app)
{
	char err[AIGW_ERRLEN];
	struct billing_period p;

	if (db_period_current(db, app, NULL, &p, err) != AIGW_OK) {
		fprintf(stderr, "  period: %s\n", err);
		return -1;
	}
	return p.id;
}

static void period_money(long long id, struct period_money *m)
{
	char err[AIGW_ERRLEN];
	struct q q;

	memset(m, 0, sizeof *m);
	q_init(&q, db, SQL_PERIOD_MONEY);
	q_in_int(&q, id);
	q_out_str(&q, m->used, sizeof m->used, NULL);
	q_out_str(&q, m->reserved, sizeof m->reserved, NULL);
	q_out_int(&q, &m->reserved_is_sum, NULL);
	CHECK_INT(q_one(&q, err), AIGW_OK);
	q_end(&q);
}

static void check_money(long long period, int64_t used, int64_t reserved)
{
	char want_used[MONEY_TEXT_LEN], want_reserved[MONEY_TEXT_LEN];
	struct period_money m;

	money_to_decimal(used, want_used);
	money_to_decimal(reserved, want_reserved);
	period_money(period, &m);
	CHECK_STR(m.used, want_used);
	CHECK_STR(m.reserved, want_reserved);
	CHECK_INT(m.reserved_is_sum, 1);
}

static void check_in_step(const char *app)
{
	CHECK_INT(live_int(db, SQL_DAILY_IN_STEP, app), 0);
	CHECK_INT(live_int(db, SQL_MONTHLY_IN_STEP, app), 0);
	CHECK_INT(live_int(db, SQL_DAILY_EXTRA, app), 0);
}

/* --- the mixed batch ------------------------------------------------------ */

static struct usage_record mixed[MIXED];
static enum usage_outcome mixed_want[MIXED];
static long long p_free, p_pro, p_ent;
static int64_t want_used_free, want_used_pro, want_used_ent, want_reserved_free;
static long long want_rows_free, want_rows_pro, want_rows_ent;

static bool mixed_build(void)
{
	char err[AIGW_ERRLEN];
	struct usage_record spare;
	struct reservation gone;
	size_t n = 0;
	int k;

	/* 14 free-plan rows settling their reservation. */
	for (k = 0; k < 14; k++, n++) {
		if (!rec_reserved(db, &mixed[n], app_free, 2000000, 1000000 + k * 1000))
			return false;
		want_used_free += mixed[n].cost;
		want_rows_free++;
	}
	p_free = mixed[0].period_id;
	/* One whose reservation was released already: nothing to give back. */
	if (!rec_reserved(db, &mixed[n], app_free, 2000000, 5000000))
		return false;
	gone = (struct reservation){mixed[n].reservation_id, mixed[n].period_id, 2000000};
	if (db_credits_release(db, &gone, err) != AIGW_OK)
		return false;
	want_used_free += mixed[n].cost;
	want_rows_free++;
	n++;
	/* A BYOK row of the free app with a reservation: settled, not charged. */
	if (!rec_reserved(db, &mixed[n], app_free, 2000000, 777))
		return false;
	mixed[n].is_byok = true;
	snprintf(mixed[n].model_billed, sizeof mixed[n].model_billed, "x/own-key");
	want_rows_free++;
	n++;
	/* Two reservations of requests still in flight stay outstanding. */
	for (k = 0; k < 2; k++) {
		if (!rec_reserved(db, &spare, app_free, 3000000, 0))
			return false;
		want_reserved_free += 3000000;
	}
	/* 14 pro rows charged to their period, no reservation; a cost 0 one. */
	for (k = 0; k < 14; k++, n++) {
		rec_init(&mixed[n], app_pro, p_pro, k == 13 ? 0 : 700000 + k);
		mixed[n].endpoint = k % 2 ? "embeddings" : "chat";
		mixed[n].cost_source = k == 13 ? COST_NONE : COST_ESTIMATE;
		want_used_pro += mixed[n].cost;
		want_rows_pro++;
	}
	/* 5 BYOK rows of the pro app: a period named but never charged. */
	for (k = 0; k < 5; k++, n++) {
		rec_init(&mixed[n], app_pro, p_pro, 999);
		mixed[n].is_byok = true;
		want_rows_pro++;
	}
	/* 10 enterprise rows (unlimited), two models, one with no model at all. */
	for (k = 0; k < 10; k++, n++) {
		rec_init(&mixed[n], app_ent, p_ent, 1234567890123LL + k);
		if (k % 3 == 0)
			snprintf(mixed[n].model_billed, sizeof mixed[n].model_billed,
			         "anthropic/claude-3.5-sonnet");
		if (k == 9) {
			mixed[n].model_requested[0] = '\0';
			mixed[n].model_billed[0] = '\0';
		}
		want_used_ent += mixed[n].cost;
		want_rows_ent++;
	}
	/* Refused ones, none of which may hold the others back. */
	rec_init(&mixed[n], "t_no_such_app", 0, 100);
	mixed_want[n++] = USAGE_UNKNOWN_APP;
	rec_init(&mixed[n], app_pro, p_pro, 100);
	mixed[n].status = 0;
	mixed_want[n++] = USAGE_INVALID;
	rec_init(&mixed[n], app_pro, 0x7fffffffffffLL, 100);
	mixed_want[n++] = USAGE_INVALID;
	/* The first request once more, in the same batch. */
	mixed[n] = mixed[0];
	mixed_want[n++] = USAGE_DUPLICATE;
	if (n != MIXED) {
		fprintf(stderr, "  built %zu records, not %d\n", n, MIXED);
		return false;
	}
	return true;
}

static void check_mixed_totals(void)
{
	CHECK_INT(live_int(db, SQL_ROWS, app_free), want_rows_free);
	CHECK_INT(live_int(db, SQL_ROWS, app_pro), want_rows_pro);
	CHECK_INT(live_int(db, SQL_ROWS, app_ent), want_rows_ent);
	check_in_step(app_free);
	check_in_step(app_pro);
	check_in_step(app_ent);
	check_money(p_free, want_used_free, want_reserved_free);
	check_money(p_pro, want_used_pro, 0);
	check_money(p_ent, want_used_ent, 0);
}

static void test_mixed_batch(void)
{
	enum usage_outcome out[MIXED];
	char err[AIGW_ERRLEN];
	int i;

	if (!mixed_build()) {
		CHECK(!"the batch could be built");
		return;
	}
	CHECK_INT(db_usage_record_batch(db, mixed, MIXED, out, err), AIGW_OK);
	for (i = 0; i < MIXED; i++) {
		if (out[i] != mixed_want[i])
			fprintf(stderr, "  record %d (%s): outcome %d, expected %d\n", i,
			        mixed[i].request_id, (int)out[i], (int)mixed_want[i]);
		CHECK_INT(out[i], mixed_want[i]);
	}
	check_mixed_totals();
}

static void test_same_batch_twice_changes_nothing(void)
{
	enum usage_outcome out[MIXED];
	char err[AIGW_ERRLEN];
	int i;

	CHECK_INT(db_usage_record_batch(db, mixed, MIXED, out, err), AIGW_OK);
	for (i = 0; i < MIXED; i++) {
		enum usage_outcome want =
		        mixed_want[i] == USAGE_RECORDED ? USAGE_DUPLICATE : mixed_want[i];

		CHECK_INT(out[i], want);
	}
	check_mixed_totals();
}

static void test_single_record_contract(void)
{
	char err[AIGW_ERRLEN];
	struct usage_record u;

	CHECK_INT(db_usage_record(db, &mixed[0], err), AIGW_EEXIST);
	CHECK(strstr(err, "already recorded") != NULL);
	CHECK_INT(db_usage_record(db, &mixed[MIXED - 4], err), AIGW_ENOTFOUND);
	CHECK_INT(db_usage_record(db, &mixed[MIXED - 3], err), AIGW_EINVAL);
	CHECK_INT(db_usage_record(db, &mixed[MIXED - 2], err), AIGW_EINVAL);
	CHECK(strstr(err, "billing period") != NULL);
	rec_init(&u, app_ent, p_ent, 5);
	u.model_billed[0] = '\xff'; /* not UTF-8 */
	CHECK_INT(db_usage_record(db, &u, err), AIGW_EINVAL);
	check_mixed_totals();
}

static void test_batch_bounds(void)
{
	enum usage_outcome out[1];
	char err[AIGW_ERRLEN];

	CHECK_INT(db_usage_record_batch(db, mixed, 0, out, err), AIGW_EINVAL);
	CHECK_INT(db_usage_record_batch(db, mixed, DB_USAGE_BATCH_MAX + 1, out, err), AIGW_EINVAL);
}

/* --- two writers at once -------------------------------------------------- */

static struct usage_record conc[CONC_BATCHES][CONC_PER];

struct writer {
	int dir; /* 1: batches first to last; -1: last to first */
	int failures;
};

static void *writer(void *arg)
{
	struct writer *w = arg;
	struct db *mine = db_new(&conf);
	enum usage_outcome out[CONC_PER];
	char err[AIGW_ERRLEN];
	int i, b;

	for (i = 0; i < CONC_BATCHES; i++) {
		b = w->dir > 0 ? i : CONC_BATCHES - 1 - i;
		if (db_usage_record_batch(mine, conc[b], CONC_PER, out, err) != AIGW_OK) {
			fprintf(stderr, "  writer %d, batch %d: %s\n", w->dir, b, err);
			w->failures++;
		}
	}
	db_free(mine);
	return NULL;
}

static void test_concurrent_overlapping_batches(void)
{
	struct writer w[2] = {{1, 0}, {-1, 0}};
	pthread_t th[2];
	int b, k, i;

	for (b = 0; b < CONC_BATCHES; b++) {
		for (k = 0; k < CONC_PER; k++) {
			struct usage_record *u = &conc[b][k];

			if (k % 2 == 0) {
				if (!rec_reserved(db, u, app_free, 1000000, 300000 + k)) {
					CHECK(!"reserved");
					return;
				}
				want_used_free += u->cost;
				want_rows_free++;
			} else {
				rec_init(u, app_pro, p_pro, 400000 + b * 100 + k);
				snprintf(u->model_billed, sizeof u->model_billed, "m/%d", k % 3);
				want_used_pro += u->cost;
				want_rows_pro++;
			}
		}
	}
	for (i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, writer, &w[i]);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK_INT(w[0].failures + w[1].failures, 0);
	check_mixed_totals();
}

/* --- statements and commits per request ----------------------------------- */

static long long status_of(const char *name)
{
	char err[AIGW_ERRLEN], text[32] = "";
	struct q q;

	q_init(&q, db, SQL_STATUS);
	q_in_str(&q, name);
	q_out_str(&q, text, sizeof text, NULL);
	if (q_one(&q, err) != AIGW_OK)
		text[0] = '\0';
	q_end(&q);
	return text[0] ? atoll(text) : -1;
}

/* n records, half of the free app settling reservations, half of the pro
 * app charging its period, as one batch; returns false on a failure. */
static bool measure(size_t n, double *stmts, double *commits)
{
	struct usage_record *recs = calloc(n, sizeof *recs);
	enum usage_outcome *out = calloc(n, sizeof *out);
	long long q0, q1, c0, c1, probe;
	char err[AIGW_ERRLEN];
	bool ok = recs && out;
	size_t i;
	aigw_rc rc;

	for (i = 0; ok && i < n; i++) {
		if (i % 2 == 0) {
			ok = rec_reserved(db, &recs[i], app_free, 100000, 50000);
			want_used_free += recs[i].cost;
			want_rows_free++;
		} else {
			rec_init(&recs[i], app_pro, p_pro, 60000);
			want_used_pro += recs[i].cost;
			want_rows_pro++;
		}
	}
	/* What reading the counters itself costs: two reads apart. */
	q0 = status_of("QUESTIONS");
	q1 = status_of("QUESTIONS");
	probe = q1 - q0; /* each read counts itself */
	q0 = status_of("QUESTIONS");
	c0 = status_of("COM_COMMIT");
	rc = ok ? db_usage_record_batch(db, recs, n, out, err) : AIGW_EINVAL;
	c1 = status_of("COM_COMMIT");
	q1 = status_of("QUESTIONS");
	/* q1 - q0 counts the batch and three reads: c0, c1 and q1 itself */
	*stmts = (double)(q1 - q0 - 3 * probe) / (double)n;
	*commits = (double)(c1 - c0) / (double)n;
	for (i = 0; rc == AIGW_OK && i < n; i++) {
		if (out[i] != USAGE_RECORDED)
			rc = AIGW_EDB;
	}
	free(recs);
	free(out);
	return rc == AIGW_OK;
}

static void test_statements_per_request(void)
{
	static const size_t sizes[] = {1, 8, 64};
	double stmts, commits;
	size_t i;

	/* Once each first, so that preparing the statements is not counted. */
	CHECK(measure(2, &stmts, &commits));
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		CHECK(measure(sizes[i], &stmts, &commits));
		printf("  batch of %2zu: %.2f statements and %.3f commits per request "
		       "(START and COMMIT included)\n",
		       sizes[i], stmts, commits);
	}
	check_mixed_totals();
}

int main(void)
{
	char err[AIGW_ERRLEN];
	int setup;

	check_program = "test_usage_batch_live";
	setup = live_open(&conf, true);
	if (setup != 0)
		return setup;
	live_app_id(app_free, sizeof app_free);
	live_app_id(app_pro, sizeof app_pro);
	live_app_id(app_ent, sizeof app_ent);
	db = db_new(&conf);
	if (db_app_create(db, app_free, "batch free", "free", err) != AIGW_OK ||
	    db_app_create(db, app_pro, "batch pro", "pro", err) != AIGW_OK ||
	    db_app_create(db, app_ent, "batch enterprise", "enterprise", err) != AIGW_OK) {
		fprintf(stderr, "test_usage_batch_live: %s\n", err);
		return 1;
	}
	p_pro = period_of(app_pro);
	p_ent = period_of(app_ent);

	RUN(test_mixed_batch);
	RUN(test_same_batch_twice_changes_nothing);
	RUN(test_single_record_contract);
	RUN(test_batch_bounds);
	RUN(test_concurrent_overlapping_batches);
	RUN(test_statements_per_request);

	db_free(db);
	conf_free(&conf);
	CHECK_DONE();
}
