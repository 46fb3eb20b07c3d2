/* db/usage.c against a real MariaDB: a request row and its daily rollup are
 * written together, exactly (DECIMAL money), once per request id, and stay in
 * step under concurrent writers. Runs only when $AIGW_TEST_CONFIG names an
 * aigw.conf of a scratch database (it migrates it and adds apps named
 * t_<random>); otherwise it exits 77 (skipped). */
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
#include "db.h"
#include "migrate.h"
#include "stmt.h"
#include "usage.h"

#define THREADS 4
#define PER_THREAD 25

static struct aigw_conf conf;
static struct db *db;
static char app_id[APP_ID_MAX + 1];
static unsigned long long req_counter;

static const char SQL_DAILY[] =
        "SELECT requests, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, "
        "CAST(cost AS CHAR), day = UTC_DATE() FROM usage_daily "
        "WHERE app_id = ? AND model = ? AND is_byok = ?";
static const char SQL_ROW[] =
        "SELECT key_id, endpoint, model_requested, model_billed, model, generation_id, "
        "CAST(cost AS CHAR), cost_source, is_byok, status, streamed, aborted, ttft_us, "
        "duration_us, TIMESTAMPDIFF(SECOND, created_at, UTC_TIMESTAMP(6)) "
        "FROM usage_requests WHERE request_id = ?";
/* The rollup equals the sums of the rows, whatever the grouping. */
static const char SQL_IN_STEP[] =
        "SELECT COUNT(*) FROM (SELECT app_id, DATE(created_at) AS day, model, is_byok, "
        "COUNT(*) AS n, SUM(prompt_tokens) AS p, SUM(completion_tokens) AS c, "
        "SUM(cached_tokens) AS ca, SUM(reasoning_tokens) AS r, SUM(cost) AS cost "
        "FROM usage_requests WHERE app_id = ? GROUP BY app_id, day, model, is_byok) AS s "
        "LEFT JOIN usage_daily AS d ON d.app_id = s.app_id AND d.day = s.day AND "
        "d.model = s.model AND d.is_byok = s.is_byok "
        "WHERE d.requests IS NULL OR d.requests <> s.n OR d.prompt_tokens <> s.p OR "
        "d.completion_tokens <> s.c OR d.cached_tokens <> s.ca OR d.reasoning_tokens <> s.r "
        "OR d.cost <> s.cost";
static const char SQL_DAILY_ROWS[] = "SELECT COUNT(*) FROM usage_daily WHERE app_id = ?";
static const char SQL_CONN_ID[] = "SELECT CONNECTION_ID()";
static const char SQL_KILL[] = "KILL CONNECTION ?";

struct daily {
	long long requests, prompt, completion, cached, reasoning, today;
	char cost[40];
};

static void record_init(struct usage_record *u, const char *model)
{
	memset(u, 0, sizeof *u);
	snprintf(u->request_id, sizeof u->request_id, "req_t%012llx%08x",
	         __atomic_add_fetch(&req_counter, 1, __ATOMIC_SEQ_CST), randombytes_random());
	snprintf(u->app_id, sizeof u->app_id, "%s", app_id);
	u->key_id = 7;
	u->endpoint = "chat";
	snprintf(u->model_requested, sizeof u->model_requested, "%s", model);
	snprintf(u->model_billed, sizeof u->model_billed, "%s", model);
	snprintf(u->generation_id, sizeof u->generation_id, "gen-%s", u->request_id);
	u->prompt_tokens = 6;
	u->completion_tokens = 8;
	u->cost = 57000; /* 0.0000057 USD */
	u->cost_source = COST_UPSTREAM;
	u->status = 200;
	u->duration_us = 1234;
}

static bool daily_get(const char *model, bool byok, struct daily *d)
{
	char err[AIGW_ERRLEN];
	struct q q;
	aigw_rc rc;

	memset(d, 0, sizeof *d);
	q_init(&q, db, SQL_DAILY);
	q_in_str(&q, app_id);
	q_in_str(&q, model);
	q_in_int(&q, byok);
	q_out_int(&q, &d->requests, NULL);
	q_out_int(&q, &d->prompt, NULL);
	q_out_int(&q, &d->completion, NULL);
	q_out_int(&q, &d->cached, NULL);
	q_out_int(&q, &d->reasoning, NULL);
	q_out_str(&q, d->cost, sizeof d->cost, NULL);
	q_out_int(&q, &d->today, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	return rc == AIGW_OK;
}

static void test_cost_source_names(void)
{
	CHECK_STR(cost_source_name(COST_NONE), "none");
	CHECK_STR(cost_source_name(COST_UPSTREAM), "upstream");
	CHECK_STR(cost_source_name(COST_GENERATION), "generation");
	CHECK_STR(cost_source_name(COST_ESTIMATE), "estimate");
}

static void test_row_and_rollup(void)
{
	char err[AIGW_ERRLEN];
	struct usage_record u;
	struct daily d;

	record_init(&u, "openai/gpt-4o-mini");
	u.cached_tokens = 2;
	u.reasoning_tokens = 3;
	CHECK_INT(db_usage_record(db, &u, err), AIGW_OK);
	CHECK(daily_get("openai/gpt-4o-mini", false, &d));
	CHECK_INT(d.requests, 1);
	CHECK_INT(d.prompt, 6);
	CHECK_INT(d.completion, 8);
	CHECK_INT(d.cached, 2);
	CHECK_INT(d.reasoning, 3);
	CHECK_STR(d.cost, "0.0000057000");
	CHECK_INT(d.today, 1);

	record_init(&u, "openai/gpt-4o-mini");
	u.cost = 1234567890123LL; /* 123.4567890123 USD */
	CHECK_INT(db_usage_record(db, &u, err), AIGW_OK);
	CHECK(daily_get("openai/gpt-4o-mini", false, &d));
	CHECK_INT(d.requests, 2);
	CHECK_INT(d.prompt, 12);
	CHECK_STR(d.cost, "123.4567947123");
}

static void test_row_columns(void)
{
	char err[AIGW_ERRLEN], endpoint[16], req[300], billed[300], model[300], gen[200];
	char cost[40], source[16];
	bool null_key, null_billed, null_gen, null_ttft;
	long long key_id, byok, status, streamed, aborted, ttft, duration, age;
	struct usage_record u;
	struct q q;

	record_init(&u, "openai/gpt-4o");
	u.key_id = 0;
	u.endpoint = "embeddings";
	u.model_billed[0] = '\0';
	u.generation_id[0] = '\0';
	u.cost = 0;
	u.cost_source = COST_NONE;
	u.status = 502;
	u.streamed = true;
	u.aborted = true;
	u.ttft_us = 0;
	u.duration_us = 99;
	CHECK_INT(db_usage_record(db, &u, err), AIGW_OK);

	q_init(&q, db, SQL_ROW);
	q_in_str(&q, u.request_id);
	q_out_int(&q, &key_id, &null_key);
	q_out_str(&q, endpoint, sizeof endpoint, NULL);
	q_out_str(&q, req, sizeof req, NULL);
	q_out_str(&q, billed, sizeof billed, &null_billed);
	q_out_str(&q, model, sizeof model, NULL);
	q_out_str(&q, gen, sizeof gen, &null_gen);
	q_out_str(&q, cost, sizeof cost, NULL);
	q_out_str(&q, source, sizeof source, NULL);
	q_out_int(&q, &byok, NULL);
	q_out_int(&q, &status, NULL);
	q_out_int(&q, &streamed, NULL);
	q_out_int(&q, &aborted, NULL);
	q_out_int(&q, &ttft, &null_ttft);
	q_out_int(&q, &duration, NULL);
	q_out_int(&q, &age, NULL);
	CHECK_INT(q_one(&q, err), AIGW_OK);
	q_end(&q);
	CHECK(null_key && null_billed && null_gen && null_ttft);
	CHECK_STR(endpoint, "embeddings");
	CHECK_STR(req, "openai/gpt-4o");
	CHECK_STR(model, "openai/gpt-4o"); /* the requested model when none was billed */
	CHECK_STR(cost, "0.0000000000");
	CHECK_STR(source, "none");
	CHECK_INT(byok, 0);
	CHECK_INT(status, 502);
	CHECK_INT(streamed, 1);
	CHECK_INT(aborted, 1);
	CHECK_INT(duration, 99);
	CHECK(age >= 0 && age < 60); /* created_at is UTC */
}

static void test_billed_model_wins(void)
{
	char err[AIGW_ERRLEN];
	struct usage_record u;
	struct daily d;

	record_init(&u, "openai/gpt-4o");
	snprintf(u.model_billed, sizeof u.model_billed, "anthropic/claude-3.5-sonnet");
	u.cost_source = COST_ESTIMATE;
	CHECK_INT(db_usage_record(db, &u, err), AIGW_OK);
	CHECK(daily_get("anthropic/claude-3.5-sonnet", false, &d));
	CHECK_INT(d.requests, 1);
}

static void test_byok_separate_rollup(void)
{
	char err[AIGW_ERRLEN];
	struct usage_record u;
	struct daily d;

	record_init(&u, "openai/gpt-4o-mini");
	u.is_byok = true;
	u.cost_source = COST_GENERATION;
	CHECK_INT(db_usage_record(db, &u, err), AIGW_OK);
	CHECK(daily_get("openai/gpt-4o-mini", true, &d));
	CHECK_INT(d.requests, 1);
	CHECK_STR(d.cost, "0.0000057000");
	CHECK(daily_get("openai/gpt-4o-mini", false, &d));
	CHECK_INT(d.requests, 2);
}

static void test_no_model_at_all(void)
{
	char err[AIGW_ERRLEN];
	struct usage_record u;
	struct daily d;

	record_init(&u, "");
	u.status = 400;
	u.cost = 0;
	u.cost_source = COST_NONE;
	CHECK_INT(db_usage_record(db, &u, err), AIGW_OK);
	CHECK(daily_get("", false, &d));
	CHECK_INT(d.requests, 1);
}

static void test_same_request_once(void)
{
	char err[AIGW_ERRLEN];
	struct usage_record u;
	struct daily before, after;

	record_init(&u, "openai/gpt-4o-mini");
	CHECK(daily_get("openai/gpt-4o-mini", false, &before));
	CHECK_INT(db_usage_record(db, &u, err), AIGW_OK);
	CHECK_INT(db_usage_record(db, &u, err), AIGW_EEXIST);
	CHECK(daily_get("openai/gpt-4o-mini", false, &after));
	CHECK_INT(after.requests, before.requests + 1);
}

static void test_bad_values_rejected(void)
{
	char err[AIGW_ERRLEN];
	struct usage_record u;
	long long rows = live_int(db, SQL_DAILY_ROWS, app_id);

	record_init(&u, "m/bad");
	u.endpoint = "images";
	CHECK_INT(db_usage_record(db, &u, err), AIGW_EINVAL);
	record_init(&u, "m/bad");
	u.prompt_tokens = -1;
	CHECK_INT(db_usage_record(db, &u, err), AIGW_EINVAL);
	record_init(&u, "m/bad");
	u.cost = -5;
	CHECK_INT(db_usage_record(db, &u, err), AIGW_EINVAL);
	record_init(&u, "m/bad");
	u.status = 0;
	CHECK_INT(db_usage_record(db, &u, err), AIGW_EINVAL); /* CHECK constraint */
	record_init(&u, "m/bad");
	snprintf(u.app_id, sizeof u.app_id, "t_no_such_app");
	CHECK_INT(db_usage_record(db, &u, err), AIGW_ENOTFOUND);
	CHECK_INT(live_int(db, SQL_DAILY_ROWS, app_id), rows); /* nothing half-written */
}

static void *writer(void *arg)
{
	struct db *mine = db_new(&conf);
	char err[AIGW_ERRLEN];
	struct usage_record u;
	int i, *failures = arg;

	for (i = 0; i < PER_THREAD; i++) {
		/* every thread hits the same new rollup row first */
		record_init(&u, "meta-llama/concurrent");
		u.cost = 1 + i;
		if (db_usage_record(mine, &u, err) != AIGW_OK) {
			fprintf(stderr, "  writer: %s\n", err);
			++*failures;
		}
	}
	db_free(mine);
	return NULL;
}

static void test_concurrent_writers_in_step(void)
{
	pthread_t th[THREADS];
	int failures[THREADS] = {0};
	struct daily d;
	int i, total = 0;

	for (i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, writer, &failures[i]);
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		total += failures[i];
	}
	CHECK_INT(total, 0);
	CHECK(daily_get("meta-llama/concurrent", false, &d));
	CHECK_INT(d.requests, THREADS * PER_THREAD);
	/* THREADS x (1 + 2 + ... + PER_THREAD) units */
	CHECK_STR(d.cost, "0.0000001300");
}

/* A server restart or wait_timeout between requests must not lose the next
 * request's usage: the transaction starts on a fresh connection. */
static void test_records_after_connection_killed(void)
{
	char err[AIGW_ERRLEN];
	struct db *other = db_new(&conf);
	long long id = -1;
	struct usage_record u;
	struct q q;

	q_init(&q, db, SQL_CONN_ID);
	q_out_int(&q, &id, NULL);
	CHECK_INT(q_one(&q, err), AIGW_OK);
	q_end(&q);
	q_init(&q, other, SQL_KILL);
	q_in_int(&q, id);
	CHECK_INT(q_exec(&q, err), AIGW_OK);
	q_end(&q);
	db_free(other);
	record_init(&u, "openai/gpt-4o-mini");
	CHECK_INT(db_usage_record(db, &u, err), AIGW_OK);
}

static void test_rollup_equals_rows(void)
{
	CHECK_INT(live_int(db, SQL_IN_STEP, app_id), 0);
}

int main(void)
{
	char err[AIGW_ERRLEN];
	int setup;

	check_program = "test_usage_live";
	setup = live_open(&conf, true);
	if (setup != 0)
		return setup;
	live_app_id(app_id, sizeof app_id);
	db = db_new(&conf);
	if (db_app_create(db, app_id, "usage test", "free", err) != AIGW_OK) {
		fprintf(stderr, "test_usage_live: %s\n", err);
		return 1;
	}

	RUN(test_cost_source_names);
	RUN(test_row_and_rollup);
	RUN(test_row_columns);
	RUN(test_billed_model_wins);
	RUN(test_byok_separate_rollup);
	RUN(test_no_model_at_all);
	RUN(test_same_request_once);
	RUN(test_bad_values_rejected);
	RUN(test_concurrent_writers_in_step);
	RUN(test_records_after_connection_killed);
	RUN(test_rollup_equals_rows);

	db_free(db);
	conf_free(&conf);
	CHECK_DONE();
}
