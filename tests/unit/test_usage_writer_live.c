/* handlers/usage_writer.c against a real MariaDB: every submitted record is
 * written once, in batches (far fewer transactions than records), also when
 * the queue grows past its first size; with the database unreachable the
 * records stay queued (nothing written, nothing dropped) until the stop,
 * which logs them. Runs only when $AIGW_TEST_CONFIG names an aigw.conf of a
 * scratch database; otherwise it exits 77 (skipped). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "alloc.h"
#include "apps.h"
#include "check.h"
#include "conffile.h"
#include "db.h"
#include "live.h"
#include "stmt.h"
#include "usage.h"
#include "usage_writer.h"

#define RECORDS 3000

static struct aigw_conf conf;
static struct db *db;
static char app_id[APP_ID_MAX + 1];

static const char SQL_ROWS[] = "SELECT COUNT(*) FROM usage_requests WHERE app_id = ?";

static void record_init(struct usage_record *u, int i)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->request_id, sizeof(u->request_id), "req_w%08x%015d", randombytes_random(), i);
	snprintf(u->app_id, sizeof(u->app_id), "%s", app_id);
	u->endpoint = "chat";
	snprintf(u->model_requested, sizeof(u->model_requested), "m/writer");
	u->prompt_tokens = 3;
	u->completion_tokens = 4;
	u->cost = 1000;
	u->cost_source = COST_UPSTREAM;
	u->status = 200;
	u->is_byok = true; /* no period to charge */
}

static void all_written_in_batches(void)
{
	struct db_pool *pool = db_pool_new(&conf, 2, 5000);
	struct usage_writer *w = usage_writer_start(&conf, pool, NULL);
	struct usage_writer_stats st;
	struct usage_record u;

	CHECK(w != NULL);
	/* faster than it can write: the queue grows past its first size */
	for (int i = 0; i < RECORDS; i++) {
		record_init(&u, i);
		usage_writer_submit(w, &u, NULL);
	}
	for (int i = 0; i < 200 && live_int(db, SQL_ROWS, app_id) < RECORDS; i++) {
		struct timespec t = {0, 50 * 1000000L};
		nanosleep(&t, NULL);
	}
	CHECK_INT(live_int(db, SQL_ROWS, app_id), RECORDS);
	usage_writer_stats(w, &st);
	CHECK_INT((int)st.written, RECORDS);
	CHECK_INT((int)st.queued, 0);
	CHECK((int)st.batches <= RECORDS / 8); /* batched, not one by one */
	printf("# %d records in %lu batches\n", RECORDS, st.batches);
	usage_writer_stop(w, 1000);
	db_pool_free(pool);
}

static void kept_while_the_database_is_down(void)
{
	struct aigw_conf down;
	struct db_pool *pool;
	struct usage_writer *w;
	struct usage_writer_stats st;
	struct usage_record u;
	long long before = live_int(db, SQL_ROWS, app_id);

	conf_defaults(&down);
	free(down.db_socket);
	down.db_socket = NULL;
	free(down.db_host);
	down.db_host = xstrdup("127.0.0.1");
	down.db_port = 1; /* nothing listens there */
	pool = db_pool_new(&down, 1, 100);
	w = usage_writer_start(&down, pool, NULL);
	CHECK(w != NULL);
	for (int i = 0; i < 10; i++) {
		record_init(&u, RECORDS + i);
		usage_writer_submit(w, &u, NULL);
	}
	for (int i = 0; i < 40; i++) {
		struct timespec t = {0, 50 * 1000000L};
		usage_writer_stats(w, &st);
		if (st.failed_batches >= 2)
			break;
		nanosleep(&t, NULL);
	}
	usage_writer_stats(w, &st);
	CHECK(st.failed_batches >= 2); /* tried, and tried again */
	CHECK_INT((int)st.queued, 10);  /* nothing dropped */
	CHECK_INT((int)st.written, 0);
	usage_writer_stop(w, 0); /* logs the 10 as not recorded */
	db_pool_free(pool);
	conf_free(&down);
	CHECK_INT(live_int(db, SQL_ROWS, app_id), before);
}

int main(void)
{
	char err[AIGW_ERRLEN];
	int setup;

	check_program = "test_usage_writer_live";
	setup = live_open(&conf, true);
	if (setup != 0)
		return setup;
	live_app_id(app_id, sizeof app_id);
	db = db_new(&conf);
	if (db_app_create(db, app_id, "writer test", "free", err) != AIGW_OK) {
		fprintf(stderr, "setup: %s\n", err);
		return 1;
	}
	RUN(all_written_in_batches);
	RUN(kept_while_the_database_is_down);
	db_free(db);
	conf_free(&conf);
	CHECK_DONE();
}
