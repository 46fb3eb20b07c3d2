/* db/ against a real MariaDB: migrations, apps, keys, ai_config, transactions
 * and their retry policy (tx.h), and reconnecting after the connection is killed. Runs only when
 * $AIGW_TEST_CONFIG names an aigw.conf of a scratch database (it migrates it
 * and adds apps named t_<random>); otherwise it exits 77 (skipped) silently. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ai_config.h"
#include "alloc.h"
#include "api_keys.h"
#include "apps.h"
#include "check.h"
#include "live.h"
#include "conffile.h"
#include "db.h"
#include "migrate.h"
#include "stmt.h"
#include "tx.h"

static struct aigw_conf conf;
static struct db *db;
static char app_id[APP_ID_MAX + 1];

static const char SQL_CONN_ID[] = "SELECT CONNECTION_ID()";
static const char SQL_KILL[] = "KILL CONNECTION ?";
static const char SQL_PLAN_CHANGES[] = "SELECT COUNT(*) FROM app_plan_changes WHERE app_id = ?";

/* Kills d's current connection from another one, as a server restart would. */
static void kill_connection(struct db *d)
{
	char err[AIGW_ERRLEN];
	struct db *other = db_new(&conf);
	long long id = live_int(d, SQL_CONN_ID, NULL);
	struct q q;

	CHECK(id > 0);
	q_init(&q, other, SQL_KILL);
	q_in_int(&q, id);
	CHECK_INT(q_exec(&q, err), AIGW_OK);
	q_end(&q);
	db_free(other);
}

static void test_migrate_twice_is_up_to_date(void)
{
	char err[AIGW_ERRLEN], *text = NULL;
	size_t len = 0;
	FILE *out;

	out = open_memstream(&text, &len); /* "applied ..." or already up to date */
	CHECK_INT(db_migrate(&conf, out, err), AIGW_OK);
	fclose(out);
	free(text);
	text = NULL;
	out = open_memstream(&text, &len);
	CHECK_INT(db_migrate(&conf, out, err), AIGW_OK);
	fclose(out);
	CHECK_STR(text, "up to date\n");
	free(text);
}

static void test_app_lifecycle(void)
{
	char err[AIGW_ERRLEN];
	struct app a;

	CHECK_INT(db_app_create(db, app_id, "Test app", "free", err), AIGW_OK);
	CHECK_INT(db_app_create(db, app_id, "again", "free", err), AIGW_EEXIST);
	CHECK_INT(db_app_create(db, "t_badplan", "x", "gold", err), AIGW_EINVAL);
	CHECK_INT(db_app_create(db, "bad id!", "x", "free", err), AIGW_EINVAL);
	CHECK_INT(db_app_get(db, app_id, &a, err), AIGW_OK);
	CHECK_STR(a.name, "Test app");
	CHECK_STR(a.plan, "free");
	CHECK_INT(strlen(a.created_at), 26);
	CHECK_INT(db_app_get(db, "t_no_such_app", &a, err), AIGW_ENOTFOUND);
	CHECK_INT(db_app_set_plan(db, app_id, "pro", err), AIGW_OK);
	CHECK_INT(db_app_set_plan(db, app_id, "pro", err), AIGW_OK);
	CHECK_INT(db_app_set_plan(db, app_id, "gold", err), AIGW_EINVAL);
	CHECK_INT(db_app_set_plan(db, "t_no_such_app", "pro", err), AIGW_ENOTFOUND);
	CHECK_INT(db_app_get(db, app_id, &a, err), AIGW_OK);
	CHECK_STR(a.plan, "pro");
	/* creation + free->pro; the repeated pro->pro adds nothing */
	CHECK_INT(live_int(db, SQL_PLAN_CHANGES, app_id), 2);
}

static int count_keys(const struct api_key *k, void *arg)
{
	(void)k;
	++*(int *)arg;
	return 0;
}

static void test_key_lifecycle(void)
{
	unsigned char hash[API_KEY_HASH_LEN], other[API_KEY_HASH_LEN];
	char err[AIGW_ERRLEN];
	struct api_key k;
	long long id = 0;
	int n = 0;

	randombytes_buf(hash, sizeof hash);
	randombytes_buf(other, sizeof other);
	CHECK_INT(db_key_insert(db, app_id, KEY_ROLE_ADMIN, "ops", "aigw_abcdefg", hash, 1, 0, &id,
	                        err),
	          AIGW_OK);
	CHECK(id > 0);
	CHECK_INT(db_key_insert(db, app_id, KEY_ROLE_CLIENT, "dup", "aigw_abcdefg", hash, 1, 0,
	                        NULL, err),
	          AIGW_EEXIST);
	CHECK_INT(db_key_insert(db, "t_no_such_app", KEY_ROLE_CLIENT, "x", "aigw_x", other, 1, 0,
	                        NULL, err),
	          AIGW_ENOTFOUND);
	CHECK_INT(db_key_find_active(db, hash, &k, err), AIGW_OK);
	CHECK_INT(k.id, id);
	CHECK_INT(k.role, KEY_ROLE_ADMIN);
	CHECK_STR(k.app_id, app_id);
	CHECK_STR(k.prefix, "aigw_abcdefg");
	CHECK_STR(k.revoked_at, "");
	CHECK_INT(db_key_revoke(db, id, err), AIGW_OK);
	CHECK_INT(db_key_revoke(db, id, err), AIGW_OK);
	CHECK_INT(db_key_revoke(db, 0x7fffffffffffLL, err), AIGW_ENOTFOUND);
	CHECK_INT(db_key_find_active(db, hash, &k, err), AIGW_ENOTFOUND);
	CHECK_INT(db_key_list(db, app_id, count_keys, &n, err), AIGW_OK);
	CHECK_INT(n, 1);
}

/* A key's requests per minute: set at creation, changed, cleared, and
 * returned with the key by the auth lookup. */
static void test_key_rpm(void)
{
	unsigned char hash[API_KEY_HASH_LEN];
	char err[AIGW_ERRLEN];
	struct api_key k;
	long long id = 0;

	randombytes_buf(hash, sizeof hash);
	CHECK_INT(db_key_insert(db, app_id, KEY_ROLE_CLIENT, "rpm", "aigw_rpm", hash, 1, 30, &id,
	                        err),
	          AIGW_OK);
	CHECK_INT(db_key_find_active(db, hash, &k, err), AIGW_OK);
	CHECK_INT(k.rpm, 30);
	CHECK_INT(db_key_set_rpm(db, id, API_KEY_RPM_MAX, err), AIGW_OK);
	CHECK_INT(db_key_set_rpm(db, id, API_KEY_RPM_MAX, err), AIGW_OK); /* unchanged: found */
	CHECK_INT(db_key_find_active(db, hash, &k, err), AIGW_OK);
	CHECK_INT(k.rpm, API_KEY_RPM_MAX);
	CHECK_INT(db_key_set_rpm(db, id, 0, err), AIGW_OK);
	CHECK_INT(db_key_find_active(db, hash, &k, err), AIGW_OK);
	CHECK_INT(k.rpm, 0);
	CHECK_INT(db_key_set_rpm(db, id, API_KEY_RPM_MAX + 1, err), AIGW_EINVAL);
	CHECK_INT(db_key_set_rpm(db, 0x7fffffffffffLL, 5, err), AIGW_ENOTFOUND);
	CHECK_INT(db_key_revoke(db, id, err), AIGW_OK);
}

static void test_ai_config_round_trip(void)
{
	char err[AIGW_ERRLEN], first_byok_at[32];
	unsigned char sealed[40], sealed2[40];
	char *models[] = {"openai/gpt-4o", "anthropic/claude-3.5-sonnet"};
	struct ai_config c, got;

	CHECK_INT(db_ai_config_get(db, app_id, false, &got, err), AIGW_OK);
	CHECK(got.default_model == NULL && got.n_allowed == 0 && got.updated_at[0] == '\0');
	ai_config_free(&got);

	randombytes_buf(sealed, sizeof sealed);
	memset(&c, 0, sizeof c);
	c.default_model = models[0];
	c.max_tokens_per_request = 4096;
	c.allowed_models = models;
	c.n_allowed = 2;
	c.byok_sealed = sealed;
	c.byok_sealed_len = sizeof sealed;
	c.byok_key_id = 1;
	memcpy(c.byok_last4, "ab12", 5);
	CHECK_INT(db_ai_config_put(db, app_id, &c, err), AIGW_OK);
	CHECK_INT(db_ai_config_get(db, app_id, false, &got, err), AIGW_OK);
	CHECK_STR(got.default_model, "openai/gpt-4o");
	CHECK_INT(got.max_tokens_per_request, 4096);
	CHECK_INT(got.n_allowed, 2);
	if (got.n_allowed == 2)
		CHECK_STR(got.allowed_models[1], "anthropic/claude-3.5-sonnet");
	CHECK_INT(got.byok_sealed_len, sizeof sealed);
	CHECK(got.byok_sealed && memcmp(got.byok_sealed, sealed, sizeof sealed) == 0);
	CHECK_STR(got.byok_last4, "ab12");
	CHECK_INT(strlen(got.byok_updated_at), 26);
	snprintf(first_byok_at, sizeof first_byok_at, "%s", got.byok_updated_at);
	ai_config_free(&got);

	/* same sealed bytes: byok_updated_at kept */
	c.max_tokens_per_request = 0;
	CHECK_INT(db_ai_config_put(db, app_id, &c, err), AIGW_OK);
	CHECK_INT(db_ai_config_get(db, app_id, false, &got, err), AIGW_OK);
	CHECK_INT(got.max_tokens_per_request, 0);
	CHECK_STR(got.byok_updated_at, first_byok_at);
	ai_config_free(&got);

	/* new bytes: a new time; rotation's reseal keeps it */
	memcpy(sealed2, sealed, sizeof sealed2);
	sealed2[0] ^= 1;
	c.byok_sealed = sealed2;
	CHECK_INT(db_ai_config_put(db, app_id, &c, err), AIGW_OK);
	CHECK_INT(db_ai_config_get(db, app_id, false, &got, err), AIGW_OK);
	CHECK(strcmp(got.byok_updated_at, first_byok_at) > 0);
	snprintf(first_byok_at, sizeof first_byok_at, "%s", got.byok_updated_at);
	ai_config_free(&got);
	CHECK_INT(db_ai_config_reseal_byok(db, app_id, 1, sealed, sizeof sealed, 2, err), AIGW_OK);
	CHECK_INT(db_ai_config_reseal_byok(db, app_id, 1, sealed, sizeof sealed, 2, err),
	          AIGW_ENOTFOUND);
	CHECK_INT(db_ai_config_get(db, app_id, false, &got, err), AIGW_OK);
	CHECK_INT(got.byok_key_id, 2);
	CHECK_STR(got.byok_updated_at, first_byok_at);
	ai_config_free(&got);

	/* cleared */
	c.byok_sealed = NULL;
	c.byok_sealed_len = 0;
	c.n_allowed = 0;
	c.default_model = NULL;
	CHECK_INT(db_ai_config_put(db, app_id, &c, err), AIGW_OK);
	CHECK_INT(db_ai_config_get(db, app_id, false, &got, err), AIGW_OK);
	CHECK(got.byok_sealed == NULL && got.byok_updated_at[0] == '\0');
	CHECK(got.byok_last4[0] == '\0' && got.n_allowed == 0 && got.default_model == NULL);
	ai_config_free(&got);

	c.max_tokens_per_request = 100001;
	CHECK_INT(db_ai_config_put(db, app_id, &c, err), AIGW_EINVAL);
	c.max_tokens_per_request = 0;
	CHECK_INT(db_ai_config_put(db, "t_no_such_app", &c, err), AIGW_ENOTFOUND);

	/* the request limits: stored, read back, cleared, checked by the table */
	c.max_concurrent_requests = 100000;
	c.requests_per_minute = 10000000;
	CHECK_INT(db_ai_config_put(db, app_id, &c, err), AIGW_OK);
	CHECK_INT(db_ai_config_get(db, app_id, false, &got, err), AIGW_OK);
	CHECK_INT(got.max_concurrent_requests, 100000);
	CHECK_INT(got.requests_per_minute, 10000000);
	ai_config_free(&got);
	c.requests_per_minute = 10000001;
	CHECK_INT(db_ai_config_put(db, app_id, &c, err), AIGW_EINVAL);
	c.max_concurrent_requests = 0;
	c.requests_per_minute = 0;
	CHECK_INT(db_ai_config_put(db, app_id, &c, err), AIGW_OK);
	CHECK_INT(db_ai_config_get(db, app_id, false, &got, err), AIGW_OK);
	CHECK_INT(got.max_concurrent_requests, 0);
	CHECK_INT(got.requests_per_minute, 0);
	ai_config_free(&got);
}

static void test_rollback_discards(void)
{
	char err[AIGW_ERRLEN];
	struct ai_config c;

	CHECK_INT(db_begin(db, err), AIGW_OK);
	CHECK_INT(db_ai_config_get(db, app_id, true, &c, err), AIGW_OK);
	c.max_tokens_per_request = 77;
	CHECK_INT(db_ai_config_put(db, app_id, &c, err), AIGW_OK);
	ai_config_free(&c);
	db_rollback(db);
	CHECK_INT(db_ai_config_get(db, app_id, false, &c, err), AIGW_OK);
	CHECK_INT(c.max_tokens_per_request, 0);
	ai_config_free(&c);
	CHECK_INT(db_begin(db, err), AIGW_OK);
	CHECK_INT(db_ai_config_get(db, "t_no_such_app", true, &c, err), AIGW_ENOTFOUND);
	db_rollback(db);
}

static void test_reconnects_after_kill(void)
{
	char err[AIGW_ERRLEN];
	struct app a;

	CHECK_INT(db_ping(db, err), AIGW_OK);
	kill_connection(db);
	CHECK_INT(db_app_get(db, app_id, &a, err), AIGW_OK);
	kill_connection(db);
	CHECK_INT(db_ping(db, err), AIGW_OK);
}

static void test_no_retry_inside_transaction(void)
{
	char err[AIGW_ERRLEN];
	struct app a;

	CHECK_INT(db_begin(db, err), AIGW_OK);
	kill_connection(db);
	CHECK_INT(db_app_get(db, app_id, &a, err), AIGW_EDB);
	CHECK_INT(db_app_get(db, app_id, &a, err), AIGW_EDB);
	CHECK_INT(db_commit(db, err), AIGW_EDB);
	db_rollback(db);
	CHECK_INT(db_app_get(db, app_id, &a, err), AIGW_OK);
}

/* A transaction body that stores `value` as the app's token cap, then fails
 * as told: with fail_rc on its first fail_times runs, or by losing its
 * connection (killed from outside) on the first kill_times runs. */
struct tx_probe {
	int calls;
	int fail_times;
	aigw_rc fail_rc;
	int kill_times;
	int value;
};

static aigw_rc probe_body(struct db *d, void *arg, char *err)
{
	struct tx_probe *p = arg;
	struct ai_config c;
	aigw_rc rc;

	p->calls++;
	rc = db_ai_config_get(d, app_id, true, &c, err);
	if (rc == AIGW_OK) {
		c.max_tokens_per_request = p->value;
		rc = db_ai_config_put(d, app_id, &c, err);
	}
	ai_config_free(&c);
	if (rc != AIGW_OK)
		return rc;
	if (p->calls <= p->kill_times) {
		kill_connection(d);
		rc = db_ai_config_get(d, app_id, false, &c, err);
		ai_config_free(&c);
		return rc;
	}
	if (p->calls <= p->fail_times)
		return aigw_fail(err, p->fail_rc, "simulated failure %d", p->calls);
	return AIGW_OK;
}

/* The token cap stored now, read on a fresh connection. */
static int stored_cap(void)
{
	char err[AIGW_ERRLEN];
	struct db *other = db_new(&conf);
	struct ai_config c;
	int v = -1;

	if (db_ai_config_get(other, app_id, false, &c, err) == AIGW_OK)
		v = c.max_tokens_per_request;
	ai_config_free(&c);
	db_free(other);
	return v;
}

static void tx_retries_lock_conflicts(void)
{
	char err[AIGW_ERRLEN];
	struct tx_probe p = {.fail_times = 2, .fail_rc = AIGW_ERETRY, .value = 11};

	CHECK_INT(db_tx_run(db, "probe", NULL, probe_body, &p, err), AIGW_OK);
	CHECK_INT(p.calls, 3);
	CHECK_INT(stored_cap(), 11);
}

static void tx_gives_up_after_the_attempts(void)
{
	char err[AIGW_ERRLEN];
	struct tx_probe p = {.fail_times = 1000, .fail_rc = AIGW_ERETRY, .value = 12};

	CHECK_INT(db_tx_run(db, "probe", NULL, probe_body, &p, err), AIGW_ERETRY);
	CHECK_INT(p.calls, DB_TX_ATTEMPTS);
	CHECK_INT(stored_cap(), 11); /* every run rolled back */
}

static void tx_other_failures_roll_back_once(void)
{
	char err[AIGW_ERRLEN];
	struct tx_probe p = {.fail_times = 1000, .fail_rc = AIGW_EINVAL, .value = 13};

	CHECK_INT(db_tx_run(db, "probe", NULL, probe_body, &p, err), AIGW_EINVAL);
	CHECK_INT(p.calls, 1);
	CHECK(strstr(err, "simulated failure 1") != NULL);
	CHECK_INT(stored_cap(), 11);
}

static void tx_runs_again_after_a_lost_connection(void)
{
	char err[AIGW_ERRLEN];
	struct tx_probe p = {.kill_times = 1, .value = 14};

	CHECK_INT(db_tx_run(db, "probe", NULL, probe_body, &p, err), AIGW_OK);
	CHECK_INT(p.calls, 2);
	CHECK_INT(stored_cap(), 14);

	/* Only once: a connection lost twice is an outage, not a blip. */
	p = (struct tx_probe){.kill_times = 1000, .value = 15};
	CHECK_INT(db_tx_run(db, "probe", NULL, probe_body, &p, err), AIGW_EDB);
	CHECK_INT(p.calls, 2);
	CHECK_INT(stored_cap(), 14);
}

/* Outside a transaction: the same conflict policy, but each statement
 * stands (a failed run's writes are not rolled back), and a lost
 * connection is the single statement's to reconnect, not a rerun. */
static void retry_run_without_a_transaction(void)
{
	char err[AIGW_ERRLEN];
	struct tx_probe p = {.fail_times = 2, .fail_rc = AIGW_ERETRY, .value = 21};

	CHECK_INT(db_retry_run(db, "probe", "x", probe_body, &p, err), AIGW_OK);
	CHECK_INT(p.calls, 3);
	CHECK_INT(stored_cap(), 21);

	p = (struct tx_probe){.fail_times = 1000, .fail_rc = AIGW_ERETRY, .value = 22};
	CHECK_INT(db_retry_run(db, "probe", NULL, probe_body, &p, err), AIGW_ERETRY);
	CHECK_INT(p.calls, DB_TX_ATTEMPTS);
	CHECK_INT(stored_cap(), 22); /* kept: no transaction to roll back */

	p = (struct tx_probe){.fail_times = 1000, .fail_rc = AIGW_EINVAL, .value = 23};
	CHECK_INT(db_retry_run(db, "probe", NULL, probe_body, &p, err), AIGW_EINVAL);
	CHECK_INT(p.calls, 1);

	p = (struct tx_probe){.kill_times = 1, .value = 24};
	CHECK_INT(db_retry_run(db, "probe", NULL, probe_body, &p, err), AIGW_OK);
	CHECK_INT(p.calls, 1);
	CHECK_INT(stored_cap(), 24);
}

/* A re-seal that swaps in fixed bytes under key id 7, or leaves the row. */
static aigw_rc fake_reseal(const char *id, const struct ai_config *c, void *arg,
                           unsigned char **sealed, size_t *sealed_len, int *key_id, char *err)
{
	int *calls = arg;

	(void)id;
	(void)err;
	(*calls)++;
	if (c->byok_key_id == 7)
		return AIGW_OK; /* already under the current key */
	*sealed = xmalloc(3);
	memcpy(*sealed, "new", 3);
	*sealed_len = 3;
	*key_id = 7;
	return AIGW_OK;
}

static void reseal_keeps_the_times(void)
{
	char err[AIGW_ERRLEN];
	unsigned char sealed[16] = "old-sealed-bytes";
	struct ai_config c, before, after;
	bool resealed = false;
	int calls = 0;

	memset(&c, 0, sizeof c);
	c.byok_sealed = sealed;
	c.byok_sealed_len = sizeof sealed;
	c.byok_key_id = 1;
	CHECK_INT(db_ai_config_put(db, app_id, &c, err), AIGW_OK);
	CHECK_INT(db_ai_config_get(db, app_id, false, &before, err), AIGW_OK);

	CHECK_INT(db_ai_config_reseal(db, app_id, fake_reseal, &calls, &resealed, err), AIGW_OK);
	CHECK(resealed);
	CHECK_INT(db_ai_config_get(db, app_id, false, &after, err), AIGW_OK);
	CHECK_INT(after.byok_key_id, 7);
	CHECK(after.byok_sealed_len == 3 && memcmp(after.byok_sealed, "new", 3) == 0);
	CHECK_STR(after.byok_updated_at, before.byok_updated_at);
	CHECK_STR(after.updated_at, before.updated_at);
	ai_config_free(&after);

	/* already under the current key: nothing written */
	CHECK_INT(db_ai_config_reseal(db, app_id, fake_reseal, &calls, &resealed, err), AIGW_OK);
	CHECK(!resealed);
	CHECK_INT(calls, 2);
	ai_config_free(&before);
}

/* ---- the pool: handles borrow a connection per statement or transaction ---- */

struct pool_worker {
	struct db_pool *pool;
	int ok;
};

/* The server sessions the pool's statements ran on. */
static pthread_mutex_t sessions_mu = PTHREAD_MUTEX_INITIALIZER;
static long long sessions[16];
static int n_sessions;

static void saw_session(long long id)
{
	int i;

	pthread_mutex_lock(&sessions_mu);
	for (i = 0; i < n_sessions && sessions[i] != id; i++)
		;
	if (i == n_sessions && n_sessions < 16)
		sessions[n_sessions++] = id;
	pthread_mutex_unlock(&sessions_mu);
}

static void *pool_worker_main(void *arg)
{
	struct pool_worker *pw = arg;
	struct db *d = db_new_pooled(pw->pool);

	for (int i = 0; i < 50; i++) {
		long long id = live_int(d, SQL_CONN_ID, NULL);
		if (id > 0) {
			pw->ok++;
			saw_session(id);
		}
	}
	db_free(d);
	return NULL;
}

/* 8 threads on 2 connections: every statement runs, on only 2 sessions. */
static void pool_shares_few_connections(void)
{
	struct db_pool *pool = db_pool_new(&conf, 2, 5000);
	struct pool_worker pw[8];
	pthread_t tid[8];
	int total = 0;

	for (int i = 0; i < 8; i++) {
		pw[i] = (struct pool_worker){.pool = pool};
		pthread_create(&tid[i], NULL, pool_worker_main, &pw[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(tid[i], NULL);
		total += pw[i].ok;
	}
	CHECK_INT(total, 8 * 50);
	CHECK(n_sessions >= 1 && n_sessions <= 2);
	db_pool_free(pool);
}

static aigw_rc hold_body(struct db *d, void *arg, char *err)
{
	struct db_pool *pool = arg;
	struct db *other = db_new_pooled(pool);
	long long mine = live_int(d, SQL_CONN_ID, NULL);
	struct q q;
	aigw_rc rc;

	/* Inside a transaction the only connection stays ours: another handle
	 * waits the pool's wait_ms and fails with AIGW_EDB. */
	q_init(&q, other, SQL_CONN_ID);
	rc = q_exec(&q, err);
	q_end(&q);
	CHECK_INT(rc, AIGW_EDB);
	CHECK(strstr(err, "database busy") != NULL);
	/* the same session serves every statement of the transaction */
	CHECK_INT(live_int(d, SQL_CONN_ID, NULL), mine);
	db_free(other);
	return AIGW_OK;
}

static void pool_lends_for_a_whole_transaction(void)
{
	struct db_pool *pool = db_pool_new(&conf, 1, 100);
	struct db *d = db_new_pooled(pool);
	struct db *after = db_new_pooled(pool);
	char err[AIGW_ERRLEN];

	CHECK_INT(db_tx_run(d, "pool test", NULL, hold_body, pool, err), AIGW_OK);
	/* given back at commit: another handle gets it at once */
	CHECK(live_int(after, SQL_CONN_ID, NULL) > 0);
	db_free(after);
	db_free(d);
	db_pool_free(pool);
}

int main(void)
{
	int setup;

	check_program = "test_db_live";
	/* no migrate here: migrating is one of the cases */
	setup = live_open(&conf, false);
	if (setup != 0)
		return setup;
	live_app_id(app_id, sizeof app_id);
	db = db_new(&conf);

	RUN(test_migrate_twice_is_up_to_date);
	RUN(test_app_lifecycle);
	RUN(test_key_lifecycle);
	RUN(test_key_rpm);
	RUN(test_ai_config_round_trip);
	RUN(test_rollback_discards);
	RUN(test_reconnects_after_kill);
	RUN(test_no_retry_inside_transaction);
	RUN(tx_retries_lock_conflicts);
	RUN(tx_gives_up_after_the_attempts);
	RUN(tx_other_failures_roll_back_once);
	RUN(tx_runs_again_after_a_lost_connection);
	RUN(retry_run_without_a_transaction);
	RUN(reseal_keeps_the_times);
	RUN(pool_shares_few_connections);
	RUN(pool_lends_for_a_whole_transaction);

	db_free(db);
	conf_free(&conf);
	CHECK_DONE();
}
