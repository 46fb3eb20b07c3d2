/* Usage rows written off the request path: a request hands its finished
 * record to the process's writer and goes on; the writer thread writes the
 * queued records in batches, many rows with their rollups and settlements
 * in one transaction (db_usage_record_batch), flushing when USAGE_BATCH_MAX
 * rows wait or the oldest has waited conf usage_flush_ms.
 *
 * Nothing accepted is dropped: with a journal (usage_journal.h) each record
 * is on disk before its request's response is closed, and the journal keeps
 * it until its batch is committed. When the database is down or refuses a
 * batch for a transient reason, the records stay queued and the batch is
 * tried again (backoff from 100 ms to 5 s). A full queue (USAGE_QUEUE_MAX
 * records) makes usage_writer_submit wait for room rather than lose a row.
 * At stop the queue is flushed for up to the given time; what cannot be
 * written by then stays in the journal for another process, or, without
 * one, is logged line by line ("usage NOT RECORDED ...", with every number,
 * never a secret). A record the database refuses as invalid (unknown app,
 * bad value) is logged the same way. */
#ifndef AIGW_USAGE_WRITER_H
#define AIGW_USAGE_WRITER_H

#include "usage.h"

struct aigw_conf;
struct db_pool;
struct journal_ticket;
struct usage_journal;
struct usage_writer;

#define USAGE_BATCH_MAX 64
#define USAGE_QUEUE_MAX 65536

/* Starts the writer thread on a handle of pool; conf, pool and journal
 * (NULL: none) are borrowed and must outlive it. NULL if the thread cannot
 * start. */
struct usage_writer *usage_writer_start(const struct aigw_conf *conf, struct db_pool *pool,
                                        struct usage_journal *journal);
/* Queues a copy of rec (waits while the queue is full). With a journal, the
 * record is appended to it first (unpinning ticket, which may be NULL) and
 * the call returns once it is on disk (usage_journal.h); after a batch is
 * committed its position is marked landed. */
void usage_writer_submit(struct usage_writer *w, const struct usage_record *rec,
                         struct journal_ticket *ticket);
/* Writes what is queued, waiting up to wait_ms for the database, then
 * stops the thread and frees w. */
void usage_writer_stop(struct usage_writer *w, int wait_ms);

/* Counters, for tests and logs. */
struct usage_writer_stats {
	unsigned long submitted, written, duplicates, refused, batches, failed_batches;
	unsigned long queued; /* now */
};
void usage_writer_stats(struct usage_writer *w, struct usage_writer_stats *out);

#endif
