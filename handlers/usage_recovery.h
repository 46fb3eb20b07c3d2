/* Settling the requests of a process that died: a thread per process looks
 * once a second for journals (usage_journal.h) whose process is gone,
 * adopts one at a time and settles what it holds:
 *
 *   - a usage row not marked landed: queued again (idempotent by request
 *     id: a row already in the database is not applied twice);
 *   - a request the upstream accepted (open) that has no row: its cost from
 *     the upstream's generation record, else the price table's estimate for
 *     the prompt it sent (cost_source 'estimate'), recorded as aborted with
 *     status 502 (its client's answer was cut), its reservation settled;
 *   - a reservation (hold) whose request never reached the upstream's
 *     answer: released.
 *
 * The rows go through this process's own usage writer, so they are in its
 * journal, on disk, before the dead process's files are deleted. If the
 * database cannot release a reservation the files stay, to be adopted again
 * a second later. */
#ifndef AIGW_USAGE_RECOVERY_H
#define AIGW_USAGE_RECOVERY_H

struct aigw_conf;
struct db_pool;
struct usage_journal;
struct usage_recovery;
struct usage_writer;

/* Starts the thread; everything is borrowed and must outlive it. tag names
 * the database as in the journal's file names. NULL if it cannot start. */
struct usage_recovery *usage_recovery_start(const struct aigw_conf *conf, const char *tag,
                                            struct usage_journal *journal,
                                            struct usage_writer *writer, struct db_pool *pool);
void usage_recovery_stop(struct usage_recovery *r);

#endif
