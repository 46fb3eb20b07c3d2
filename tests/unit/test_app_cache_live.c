/* handlers/app_cache.c against a real MariaDB, as two gateway hosts sharing
 * one database would use it: two caches without shared counters, each
 * polled like the process's poller thread does. A change written by a third
 * connection (a config write, a plan change, a key revoke) is served stale
 * by a cache until its next poll, and never after it; between changes a
 * cached app costs no database work. Runs only when $AIGW_TEST_CONFIG names
 * an aigw.conf of a scratch database; otherwise it exits 77 (skipped). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ai_config.h"
#include "alloc.h"
#include "api_keys.h"
#include "apikey.h"
#include "app_cache.h"
#include "apps.h"
#include "check.h"
#include "conffile.h"
#include "db.h"
#include "live.h"

static struct aigw_conf conf;
static struct db *admin, *host_a, *host_b;
static struct app_cache *cache_a, *cache_b;
static char app_id[APP_ID_MAX + 1];

static void poll_both(void)
{
	char err[AIGW_ERRLEN];

	CHECK_INT(app_cache_poll(cache_a, host_a, err), AIGW_OK);
	CHECK_INT(app_cache_poll(cache_b, host_b, err), AIGW_OK);
}

static int max_tokens_seen(struct app_cache *c, struct db *d)
{
	char err[AIGW_ERRLEN];
	struct app_snapshot *s = NULL;
	int v;

	CHECK_INT(app_cache_get(c, d, app_id, &s, err), AIGW_OK);
	if (!s)
		return -1;
	v = s->cfg.max_tokens_per_request;
	app_snapshot_put(c, s);
	return v;
}

static void set_max_tokens(int n)
{
	char err[AIGW_ERRLEN];
	struct ai_config c;

	memset(&c, 0, sizeof(c));
	c.max_tokens_per_request = n;
	CHECK_INT(db_ai_config_put(admin, app_id, &c, err), AIGW_OK);
}

static void config_change_seen_after_one_poll(void)
{
	struct app_cache_stats before, after;

	set_max_tokens(100);
	poll_both();
	CHECK_INT(max_tokens_seen(cache_a, host_a), 100);
	CHECK_INT(max_tokens_seen(cache_b, host_b), 100);
	/* cached: 50 more requests, no load */
	app_cache_stats(cache_a, &before);
	for (int i = 0; i < 50; i++)
		CHECK_INT(max_tokens_seen(cache_a, host_a), 100);
	app_cache_stats(cache_a, &after);
	CHECK(after.app_loads == before.app_loads);
	CHECK(after.app_hits == before.app_hits + 50);

	set_max_tokens(200);
	/* before the poll both still serve their copy... */
	CHECK_INT(max_tokens_seen(cache_a, host_a), 100);
	CHECK_INT(max_tokens_seen(cache_b, host_b), 100);
	poll_both();
	/* ...after it, the change on both "hosts" */
	CHECK_INT(max_tokens_seen(cache_a, host_a), 200);
	CHECK_INT(max_tokens_seen(cache_b, host_b), 200);
	/* and a poll with nothing new drops nothing */
	app_cache_stats(cache_b, &before);
	poll_both();
	CHECK_INT(max_tokens_seen(cache_b, host_b), 200);
	app_cache_stats(cache_b, &after);
	CHECK(after.app_loads == before.app_loads);
}

static void plan_change_seen_after_one_poll(void)
{
	char err[AIGW_ERRLEN];
	struct app_snapshot *s = NULL;

	CHECK_INT(app_cache_get(cache_b, host_b, app_id, &s, err), AIGW_OK);
	CHECK_STR(s->period.plan, "free");
	CHECK(!s->period.unlimited && !s->period.overage_allowed);
	app_snapshot_put(cache_b, s);
	CHECK_INT(db_app_set_plan(admin, app_id, "enterprise", err), AIGW_OK);
	poll_both();
	CHECK_INT(app_cache_get(cache_b, host_b, app_id, &s, err), AIGW_OK);
	CHECK_STR(s->period.plan, "enterprise");
	CHECK(s->period.unlimited);
	app_snapshot_put(cache_b, s);
}

static void revoked_key_dropped_by_the_poll(void)
{
	char err[AIGW_ERRLEN];
	unsigned char hash[APIKEY_HASH_LEN];
	struct api_key k, got;
	long long id = 0;

	randombytes_buf(hash, sizeof(hash));
	CHECK_INT(db_key_insert(admin, app_id, KEY_ROLE_CLIENT, "cache test", "aigw_test", hash, 1, 0,
	                        &id, err),
	          AIGW_OK);
	CHECK_INT(db_key_find_active(host_a, hash, &k, err), AIGW_OK);
	app_cache_key_put(cache_a, hash, &k);
	CHECK(app_cache_key_get(cache_a, hash, &got));
	CHECK_INT(db_key_revoke(admin, id, err), AIGW_OK);
	poll_both();
	CHECK(!app_cache_key_get(cache_a, hash, &got));
}

int main(void)
{
	char err[AIGW_ERRLEN];
	int setup;

	check_program = "test_app_cache_live";
	setup = live_open(&conf, true);
	if (setup != 0)
		return setup;
	conf.auth_cache_ttl_s = 10; /* only the poll may drop the key */
	live_app_id(app_id, sizeof app_id);
	admin = db_new(&conf);
	host_a = db_new(&conf);
	host_b = db_new(&conf);
	cache_a = app_cache_new(&conf, NULL);
	cache_b = app_cache_new(&conf, NULL);
	if (db_app_create(admin, app_id, "cache test", "free", err) != AIGW_OK) {
		fprintf(stderr, "setup: %s\n", err);
		return 1;
	}
	/* the first polls only set each cache's cursor */
	poll_both();

	RUN(config_change_seen_after_one_poll);
	RUN(plan_change_seen_after_one_poll);
	RUN(revoked_key_dropped_by_the_poll);

	app_cache_free(cache_a);
	app_cache_free(cache_b);
	db_free(host_a);
	db_free(host_b);
	db_free(admin);
	conf_free(&conf);
	CHECK_DONE();
}
