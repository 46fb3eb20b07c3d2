/* db/app_changes.c and the triggers of sql/011_app_changes.sql against a real
 * MariaDB: a key revoke, a config write, a plan change and a statement by
 * hand each stamp the app with a database time inside the change's
 * [before, after]; a poll from after the change finds nothing of it; the
 * runtime account (the one aigw.conf names, with data rights only) fires the
 * triggers. Runs only when $AIGW_TEST_CONFIG names an aigw.conf of a scratch
 * database; otherwise it exits 77 (skipped). */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ai_config.h"
#include "api_keys.h"
#include "app_changes.h"
#include "apps.h"
#include "check.h"
#include "live.h"
#include "conffile.h"
#include "db.h"
#include "migrate.h"
#include "stmt.h"

static struct aigw_conf conf;
static struct db *db;
static char app_id[APP_ID_MAX + 1];

static const char SQL_KEY_BY_HAND[] =
        "INSERT INTO api_keys (app_id, role, name, prefix, key_hash, hash_key_id, created_at) "
        "VALUES (?, 'client', 'by hand', 'aigw_hand', UNHEX(SHA2(?, 256)), 1, "
        "UTC_TIMESTAMP(6))";
static const char SQL_CONFIG_BY_HAND[] =
        "UPDATE ai_config SET max_tokens_per_request = 77 WHERE app_id = ?";
static const char SQL_WHO[] = "SELECT CURRENT_USER()";
static const char SQL_PRIVS[] =
        "SELECT COUNT(*) FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = "
        "CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', "
        "SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''') AND PRIVILEGE_TYPE NOT IN "
        "('SELECT', 'INSERT', 'UPDATE', 'DELETE', 'EXECUTE')";

struct seen {
	const char *want;
	long long changed_us; /* -1: not seen */
	int rows;
};

static void on_change(const char *id, long long changed_us, void *arg)
{
	struct seen *s = arg;

	s->rows++;
	if (strcmp(id, s->want) == 0)
		s->changed_us = changed_us;
}

/* The database clock, by a poll from the far future (it finds no stamp). */
static long long db_now(void)
{
	char err[AIGW_ERRLEN];
	struct seen s = {app_id, -1, 0};
	long long now = 0;

	if (db_app_changes_since(db, LLONG_MAX / 2, on_change, &s, &now, err) != AIGW_OK) {
		fprintf(stderr, "  poll: %s\n", err);
		return -1;
	}
	return s.rows == 0 ? now : -1;
}

/* The app's stamp in a poll from since, -1 if it is not there. */
static long long stamp_since(long long since)
{
	char err[AIGW_ERRLEN];
	struct seen s = {app_id, -1, 0};
	long long now = 0;

	if (db_app_changes_since(db, since, on_change, &s, &now, err) != AIGW_OK) {
		fprintf(stderr, "  poll: %s\n", err);
		return -2;
	}
	return s.changed_us;
}

/* The checks after one change made between before and after. */
static void check_stamped(long long before, long long after)
{
	long long t = stamp_since(before);

	CHECK(before > 0 && after >= before);
	CHECK(t >= before && t <= after);
	if (t < before || t > after)
		fprintf(stderr, "  stamp %lld not in [%lld, %lld]\n", t, before, after);
	CHECK_INT(stamp_since(after + 1), -1);
}

static void test_clock_is_utc_microseconds(void)
{
	long long a = db_now(), b = db_now();

	/* 2020-01-01 .. 2100-01-01, microseconds, and not going back */
	CHECK(a > 1577836800LL * 1000000 && a < 4102444800LL * 1000000);
	CHECK(b >= a);
}

static void test_runtime_account(void)
{
	char err[AIGW_ERRLEN], who[200] = "";
	long long extra = -1;
	struct q q;

	q_init(&q, db, SQL_WHO);
	q_out_str(&q, who, sizeof who, NULL);
	CHECK_INT(q_one(&q, err), AIGW_OK);
	q_end(&q);
	q_init(&q, db, SQL_PRIVS);
	q_out_int(&q, &extra, NULL);
	CHECK_INT(q_one(&q, err), AIGW_OK);
	q_end(&q);
	/* The tests run as aigw.conf's account; it holds data rights only,
	 * yet every change below fires a trigger. */
	CHECK_INT(extra, 0);
	printf("  (changes made as %s)\n", who);
}

static void test_app_creation_stamped(void)
{
	CHECK(stamp_since(0) > 0);
}

static void test_key_revoke_stamped(void)
{
	unsigned char hash[API_KEY_HASH_LEN];
	char err[AIGW_ERRLEN];
	long long id = 0, before, after;

	randombytes_buf(hash, sizeof hash);
	CHECK_INT(db_key_insert(db, app_id, KEY_ROLE_CLIENT, "t", "aigw_t", hash, 1, 0, &id, err),
	          AIGW_OK);
	before = db_now();
	CHECK_INT(db_key_revoke(db, id, err), AIGW_OK);
	after = db_now();
	check_stamped(before, after);
}

static void test_config_write_stamped(void)
{
	struct ai_config c;
	char err[AIGW_ERRLEN];
	long long before, after;

	memset(&c, 0, sizeof c);
	c.max_tokens_per_request = 500;
	before = db_now();
	CHECK_INT(db_ai_config_put(db, app_id, &c, err), AIGW_OK);
	after = db_now();
	check_stamped(before, after);
}

static void test_plan_change_stamped(void)
{
	char err[AIGW_ERRLEN];
	long long before, after;

	before = db_now();
	CHECK_INT(db_app_set_plan(db, app_id, "pro", err), AIGW_OK);
	after = db_now();
	check_stamped(before, after);
}

static void test_statements_by_hand_stamped(void)
{
	char err[AIGW_ERRLEN];
	long long before, after;
	struct q q;

	before = db_now();
	q_init(&q, db, SQL_KEY_BY_HAND);
	q_in_str(&q, app_id);
	q_in_str(&q, app_id);
	CHECK_INT(q_exec(&q, err), AIGW_OK);
	q_end(&q);
	after = db_now();
	check_stamped(before, after);

	before = db_now();
	q_init(&q, db, SQL_CONFIG_BY_HAND);
	q_in_str(&q, app_id);
	CHECK_INT(q_exec(&q, err), AIGW_OK);
	CHECK_INT(q_affected(&q), 1);
	q_end(&q);
	after = db_now();
	check_stamped(before, after);
}

static void test_other_apps_untouched(void)
{
	char other[APP_ID_MAX + 1], err[AIGW_ERRLEN];
	struct seen s;
	long long now = 0, mark;

	live_app_id(other, sizeof other);
	CHECK_INT(db_app_create(db, other, "other", "free", err), AIGW_OK);
	mark = db_now();
	CHECK_INT(db_app_set_plan(db, other, "enterprise", err), AIGW_OK);
	/* app_id did not change since mark; the other app did. */
	CHECK_INT(stamp_since(mark), -1);
	s = (struct seen){other, -1, 0};
	CHECK_INT(db_app_changes_since(db, mark, on_change, &s, &now, err), AIGW_OK);
	CHECK(s.changed_us >= mark && s.changed_us <= now);
}

int main(void)
{
	char err[AIGW_ERRLEN];
	int setup;

	check_program = "test_app_changes_live";
	setup = live_open(&conf, true);
	if (setup != 0)
		return setup;
	live_app_id(app_id, sizeof app_id);
	db = db_new(&conf);
	if (db_app_create(db, app_id, "app changes test", "free", err) != AIGW_OK) {
		fprintf(stderr, "test_app_changes_live: %s\n", err);
		return 1;
	}

	RUN(test_clock_is_utc_microseconds);
	RUN(test_runtime_account);
	RUN(test_app_creation_stamped);
	RUN(test_key_revoke_stamped);
	RUN(test_config_write_stamped);
	RUN(test_plan_change_stamped);
	RUN(test_statements_by_hand_stamped);
	RUN(test_other_apps_untouched);

	db_free(db);
	conf_free(&conf);
	CHECK_DONE();
}
