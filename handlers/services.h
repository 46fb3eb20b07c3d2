/* What the request threads of one process share, made once by the worker
 * (services_start) and reached through each thread's context: the pool of
 * database connections, the app and key cache with the thread that polls
 * its change feed once a second, and the usage writer. */
#ifndef AIGW_SERVICES_H
#define AIGW_SERVICES_H

struct aigw_conf;
struct app_cache;
struct db_pool;
struct shared_epochs;
struct usage_writer;

struct services {
	struct db_pool *db_pool;
	struct app_cache *cache;
	struct usage_writer *writer;
};

/* Starts them for a process; conf and epochs (the pool's shared change
 * counters, NULL: none) are borrowed and must outlive them. NULL when a
 * thread cannot start (logged). */
struct services *services_start(const struct aigw_conf *conf, struct shared_epochs *epochs);
/* Writes the queued usage (waiting up to drain_ms for the database), stops
 * the threads and frees everything; request threads must be gone. */
void services_stop(struct services *s, int drain_ms);

#endif
