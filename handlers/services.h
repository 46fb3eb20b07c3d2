/* What the request threads of one process share, made once by the worker
 * (services_start) and reached through each thread's context: the pool of
 * database connections, the app and key cache with the thread that polls
 * its change feed once a second, the usage journal and writer, the thread
 * that settles the journals of dead processes (usage_recovery.h), and the
 * host's shared limits table (host_limits.h). */
#ifndef AIGW_SERVICES_H
#define AIGW_SERVICES_H

#include <stdbool.h>

struct aigw_conf;
struct app_cache;
struct db_pool;
struct limits;
struct usage_journal;
struct usage_writer;

struct services {
	struct db_pool *db_pool;
	struct app_cache *cache;
	struct usage_journal *journal;
	struct usage_writer *writer;
	struct limits *limits; /* NULL when the table cannot be opened: no limits */
};

/* Starts them for a process (after the fork: each worker holds its own
 * process slot in the limits table); conf is borrowed and must outlive
 * them. NULL when a thread cannot start (logged). */
struct services *services_start(const struct aigw_conf *conf);
/* The end of a stopping worker's drain: requests still running are to be
 * cut now (each ends its answer with an error and records its row). */
void services_cut_requests(struct services *s);
bool services_cutting(const struct services *s);

/* Writes the queued usage (waiting up to drain_ms for the database), stops
 * the threads and frees everything; request threads must be gone. */
void services_stop(struct services *s, int drain_ms);

#endif
