/* The adoption thread (usage_recovery.h). */
#include "config.h"

#include "usage_recovery.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "clock.h"
#include "conffile.h"
#include "credits.h"
#include "db.h"
#include "log.h"
#include "settle.h"
#include "upstream.h"
#include "usage_journal.h"
#include "usage_writer.h"

#define SCAN_INTERVAL_MS 1000

struct usage_recovery {
	const struct aigw_conf *conf;
	char *tag;
	struct usage_journal *journal;
	struct usage_writer *writer;
	struct db *db;
	struct upstream *upstream;
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t stop_cv;
	bool stopping;
};

struct tally {
	size_t rows, settled, from_generation, estimated, released;
};

/* Entries of one request next to each other, in the order written. */
static int by_request(const void *a, const void *b)
{
	const struct journal_entry *x = *(const struct journal_entry *const *)a;
	const struct journal_entry *y = *(const struct journal_entry *const *)b;
	int c = strcmp(x->rec.request_id, y->rec.request_id);

	if (c)
		return c;
	return x < y ? -1 : x > y;
}

/* A request the upstream accepted whose process died before its row. */
static void settle_open(struct usage_recovery *r, const struct journal_entry *open,
                        struct tally *t)
{
	struct usage_record rec = open->rec;

	rec.status = 502;
	rec.aborted = true;
	if (!rec.is_byok && settle_from_generation(r->upstream, r->conf->upstream_key, &rec)) {
		t->from_generation++;
	} else {
		/* What it sent is known; what it answered is not. */
		settle_from_price_table(r->db, &rec, open->sent_bytes, 0);
		t->estimated++;
	}
	usage_writer_submit(r->writer, &rec, NULL);
	t->settled++;
}

/* Settles everything o holds. Returns false when something must be tried
 * again later (the files then stay). */
static bool settle(struct usage_recovery *r, struct journal_orphan *o, struct tally *t)
{
	const struct journal_entry **by = xcalloc(o->n ? o->n : 1, sizeof(*by));
	size_t n = 0;
	bool ok = true;

	/* Rows first, in their order: they are complete. */
	for (size_t i = 0; i < o->n; i++) {
		const struct journal_entry *e = &o->entries[i];
		if (e->kind == JOURNAL_DONE && (e->lsn < 0 || e->lsn > o->landed)) {
			usage_writer_submit(r->writer, &e->rec, NULL);
			t->rows++;
		}
		if (e->kind == JOURNAL_HOLD || e->kind == JOURNAL_OPEN || e->kind == JOURNAL_DONE)
			by[n++] = e;
	}
	qsort(by, n, sizeof(*by), by_request);
	for (size_t i = 0; i < n;) {
		const struct journal_entry *hold = NULL, *open = NULL;
		bool done = false;
		size_t k = i;

		for (; k < n && strcmp(by[k]->rec.request_id, by[i]->rec.request_id) == 0; k++) {
			if (by[k]->kind == JOURNAL_HOLD)
				hold = by[k];
			else if (by[k]->kind == JOURNAL_OPEN)
				open = by[k];
			else
				done = true;
		}
		i = k;
		if (done)
			continue;
		if (open) {
			settle_open(r, open, t);
		} else if (hold) {
			struct reservation res = {.id = hold->rec.reservation_id,
			                          .period_id = hold->rec.period_id,
			                          .amount = hold->amount};
			char err[AIGW_ERRLEN];
			if (db_credits_release(r->db, &res, err) != AIGW_OK) {
				log_warn("usage journal %s: cannot release reservation %lld yet: %s",
				         o->owner, res.id, err);
				ok = false;
				continue;
			}
			t->released++;
		}
	}
	free(by);
	return ok;
}

static void adopt_all(struct usage_recovery *r)
{
	for (;;) {
		struct journal_orphan *o = NULL;
		struct tally t = {0};
		char err[AIGW_ERRLEN];
		long long t0 = clock_us();
		bool ok;

		if (usage_journal_adopt(r->conf->journal_dir, r->tag, r->journal, &o, err) !=
		    AIGW_OK)
			return;
		ok = settle(r, o, &t);
		log_warn("usage journal: adopted %s (a process that ended): %zu rows written again, "
		         "%zu requests settled (%zu from the generation record, %zu estimated), %zu "
		         "reservations released, %zu damaged lines, in %lld ms%s",
		         o->owner, t.rows, t.settled, t.from_generation, t.estimated, t.released,
		         o->damaged, (clock_us() - t0) / 1000, ok ? "" : "; to be tried again");
		usage_journal_orphan_done(o, ok);
		if (!ok)
			return;
	}
}

static void *recovery_main(void *arg)
{
	struct usage_recovery *r = arg;

	pthread_mutex_lock(&r->mu);
	while (!r->stopping) {
		struct timespec until;

		pthread_mutex_unlock(&r->mu);
		adopt_all(r);
		pthread_mutex_lock(&r->mu);
		until = clock_deadline_us(SCAN_INTERVAL_MS * 1000LL);
		if (!r->stopping)
			pthread_cond_timedwait(&r->stop_cv, &r->mu, &until);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

static void release(struct usage_recovery *r)
{
	pthread_cond_destroy(&r->stop_cv);
	pthread_mutex_destroy(&r->mu);
	upstream_free(r->upstream);
	db_free(r->db);
	free(r->tag);
	free(r);
}

struct usage_recovery *usage_recovery_start(const struct aigw_conf *conf, const char *tag,
                                            struct usage_journal *journal,
                                            struct usage_writer *writer, struct db_pool *pool)
{
	struct usage_recovery *r = xcalloc(1, sizeof(*r));

	r->conf = conf;
	r->tag = xstrdup(tag);
	r->journal = journal;
	r->writer = writer;
	r->db = db_new_pooled(pool);
	r->upstream = upstream_new(conf);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->stop_cv, NULL);
	if (pthread_create(&r->tid, NULL, recovery_main, r) != 0) {
		log_error("usage journal: cannot start the recovery thread");
		release(r);
		return NULL;
	}
	return r;
}

void usage_recovery_stop(struct usage_recovery *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stopping = true;
	pthread_cond_broadcast(&r->stop_cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->tid, NULL);
	release(r);
}
