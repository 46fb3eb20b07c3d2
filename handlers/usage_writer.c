/* The usage writer (usage_writer.h): a ring of records under a mutex, one
 * thread that takes up to USAGE_BATCH_MAX of them at a time and writes them
 * in one transaction, keeping them queued while the database cannot. */
#include "config.h"

#include "usage_writer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "clock.h"
#include "conffile.h"
#include "db.h"
#include "log.h"
#include "usage_journal.h"

_Static_assert(USAGE_BATCH_MAX <= DB_USAGE_BATCH_MAX, "a batch the store cannot take");

#define BACKOFF_MIN_MS 100
#define USAGE_QUEUE_START 256
#define BACKOFF_MAX_MS 5000
#define FLUSH_FALLBACK_MS 10

/* A queued record and the journal position after its done line (-1: not
 * journaled). */
struct queued {
	struct usage_record rec;
	long long lsn;
};

struct usage_writer {
	const struct aigw_conf *conf;
	struct db *db;
	struct usage_journal *journal; /* NULL: none (tools, tests) */
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t work;        /* records queued, or stopping */
	pthread_cond_t room;        /* the queue has room again */
	struct queued *ring;        /* grows by doubling up to USAGE_QUEUE_MAX */
	size_t cap, head, count;    /* ring[head] is the oldest */
	long long oldest_queued_us; /* monotonic time the oldest waiting record came */
	bool stopping;
	long long stop_deadline_us;
	bool warned_full;
	struct usage_writer_stats stats;
};

/* Writes batch[0..n) in one transaction. Returns AIGW_OK when every record
 * is settled one way or another (written, already there, or refused and
 * logged), else the database's error: the caller keeps them all. */
static aigw_rc write_batch(struct usage_writer *w, struct usage_record *batch, size_t n, char *err)
{
	enum usage_outcome outcome[USAGE_BATCH_MAX];
	aigw_rc rc = db_usage_record_batch(w->db, batch, n, outcome, err);

	/* AIGW_EDB, AIGW_ERETRY: nothing was written; the records stay. */
	if (rc != AIGW_OK)
		return rc;
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < n; i++) {
		switch (outcome[i]) {
		case USAGE_RECORDED:
			w->stats.written++;
			break;
		case USAGE_DUPLICATE:
			w->stats.duplicates++;
			break;
		default:
			w->stats.refused++;
			break;
		}
	}
	w->stats.batches++;
	pthread_mutex_unlock(&w->mu);
	for (size_t i = 0; i < n; i++)
		if (outcome[i] != USAGE_RECORDED && outcome[i] != USAGE_DUPLICATE)
			usage_log_lost(&batch[i], "refused by the database");
	return AIGW_OK;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int flush_ms(const struct usage_writer *w)
{
	return w->conf && w->conf->usage_flush_ms > 0 ? w->conf->usage_flush_ms : FLUSH_FALLBACK_MS;
}

/* Under w->mu: waits until a batch is due (full, old enough, or stopping). */
static void wait_for_batch(struct usage_writer *w)
{
	for (;;) {
		long long now = clock_us(), due;
		struct timespec until;

		if (w->count >= USAGE_BATCH_MAX || (w->stopping && w->count > 0))
			return;
		if (w->count == 0) {
			if (w->stopping)
				return;
			pthread_cond_wait(&w->work, &w->mu);
			continue;
		}
		due = w->oldest_queued_us + (long long)flush_ms(w) * 1000;
		if (now >= due)
			return;
		until = clock_deadline_us(due - now);
		pthread_cond_timedwait(&w->work, &w->mu, &until);
	}
}

static void *writer_main(void *arg)
{
	struct usage_writer *w = arg;
	struct usage_record *batch = xcalloc(USAGE_BATCH_MAX, sizeof(*batch));
	long long landed = 0, flushed_us = 0;
	long long fsync_us = w->conf ? (long long)w->conf->journal_fsync_ms * 1000 : 0;
	char err[AIGW_ERRLEN];
	int backoff = BACKOFF_MIN_MS;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		size_t n;
		aigw_rc rc;

		wait_for_batch(w);
		if (w->count == 0 && w->stopping)
			break;
		n = w->count < USAGE_BATCH_MAX ? w->count : USAGE_BATCH_MAX;
		for (size_t i = 0; i < n; i++) {
			const struct queued *q = &w->ring[(w->head + i) % w->cap];
			batch[i] = q->rec;
			if (q->lsn > landed)
				landed = q->lsn;
		}
		pthread_mutex_unlock(&w->mu);

		/* journal_fsync_ms: the rows' flush is this thread's, not the
		 * requests' (usage_writer_submit) */
		if (w->journal && fsync_us > 0 && clock_us() - flushed_us >= fsync_us) {
			usage_journal_flush(w->journal);
			flushed_us = clock_us();
		}
		rc = write_batch(w, batch, n, err);
		if (rc == AIGW_OK && w->journal && landed > 0)
			usage_journal_landed(w->journal, landed);

		pthread_mutex_lock(&w->mu);
		if (rc == AIGW_OK) {
			/* Only now do the records leave the queue. */
			w->head = (w->head + n) % w->cap;
			w->count -= n;
			w->oldest_queued_us = clock_us();
			pthread_cond_broadcast(&w->room);
			backoff = BACKOFF_MIN_MS;
			continue;
		}
		w->stats.failed_batches++;
		if (w->stopping && clock_us() >= w->stop_deadline_us)
			break;
		log_warn("usage: %zu records wait for the database (%s); trying again in %d ms",
		         w->count, err, backoff);
		pthread_mutex_unlock(&w->mu);
		sleep_ms(backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
		pthread_mutex_lock(&w->mu);
	}
	/* What is left could not be written before the stop deadline: the
	 * journal keeps what it has for the next process. */
	size_t kept = 0;
	for (size_t i = 0; i < w->count; i++) {
		const struct queued *q = &w->ring[(w->head + i) % w->cap];
		if (q->lsn > 0)
			kept++;
		else
			usage_log_lost(&q->rec,
			               "the database was unavailable until the process stopped");
	}
	if (kept)
		log_warn("usage: %zu rows not yet in the database stay in the journal; another "
		         "aigw process of this database writes them",
		         kept);
	w->count = 0;
	pthread_cond_broadcast(&w->room);
	pthread_mutex_unlock(&w->mu);
	free(batch);
	return NULL;
}

/* Frees w, its thread gone (or never started). */
static void release(struct usage_writer *w)
{
	pthread_cond_destroy(&w->room);
	pthread_cond_destroy(&w->work);
	pthread_mutex_destroy(&w->mu);
	free(w->ring);
	db_free(w->db);
	free(w);
}

struct usage_writer *usage_writer_start(const struct aigw_conf *conf, struct db_pool *pool,
                                        struct usage_journal *journal)
{
	struct usage_writer *w = xcalloc(1, sizeof(*w));

	w->conf = conf;
	w->journal = journal;
	w->db = db_new_pooled(pool);
	w->cap = USAGE_QUEUE_START;
	w->ring = xcalloc(w->cap, sizeof(*w->ring));
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->room, NULL);
	if (pthread_create(&w->tid, NULL, writer_main, w) != 0) {
		log_error("usage: cannot start the writer thread");
		release(w);
		return NULL;
	}
	return w;
}

/* Under w->mu, with the ring full and below USAGE_QUEUE_MAX: doubles it,
 * the records in order from its start. Memory follows the largest backlog
 * seen, not the bound. */
static void grow(struct usage_writer *w)
{
	size_t cap = w->cap * 2 < USAGE_QUEUE_MAX ? w->cap * 2 : USAGE_QUEUE_MAX;
	struct queued *ring = xcalloc(cap, sizeof(*ring));

	for (size_t i = 0; i < w->count; i++)
		ring[i] = w->ring[(w->head + i) % w->cap];
	free(w->ring);
	w->ring = ring;
	w->cap = cap;
	w->head = 0;
}

void usage_writer_submit(struct usage_writer *w, const struct usage_record *rec,
                         struct journal_ticket *ticket)
{
	long long lsn = -1;

	pthread_mutex_lock(&w->mu);
	while (w->count >= USAGE_QUEUE_MAX && !w->stopping) {
		if (!w->warned_full) {
			log_warn(
			        "usage: %d records queued for the database: requests wait for room",
			        USAGE_QUEUE_MAX);
			w->warned_full = true;
		}
		pthread_cond_wait(&w->room, &w->mu);
	}
	if (w->count >= USAGE_QUEUE_MAX) {
		/* stopping, and the writer gave up: nothing can take it */
		pthread_mutex_unlock(&w->mu);
		usage_log_lost(rec, "submitted after the writer stopped");
		return;
	}
	if (w->count == 0)
		w->oldest_queued_us = clock_us();
	if (w->count == w->cap)
		grow(w);
	/* Journaled under the queue's lock: the queue's order is the journal's,
	 * so a landed position covers exactly the rows before it. */
	if (w->journal)
		lsn = usage_journal_done(w->journal, ticket, rec);
	w->ring[(w->head + w->count) % w->cap] = (struct queued){*rec, lsn};
	w->count++;
	w->stats.submitted++;
	if (w->count < USAGE_QUEUE_MAX / 2)
		w->warned_full = false;
	/* The writer needs waking only to start its flush timer (the first
	 * record) or for a full batch: not once per request. */
	if (w->count == 1 || w->count == USAGE_BATCH_MAX)
		pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	if (lsn > 0 && !(w->conf && w->conf->journal_fsync_ms > 0))
		usage_journal_sync(w->journal, lsn);
}

void usage_writer_stop(struct usage_writer *w, int wait_ms)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	w->stop_deadline_us = clock_us() + (long long)wait_ms * 1000;
	pthread_cond_broadcast(&w->work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->tid, NULL);
	release(w);
}

void usage_writer_stats(struct usage_writer *w, struct usage_writer_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->stats;
	out->queued = w->count;
	pthread_mutex_unlock(&w->mu);
}
