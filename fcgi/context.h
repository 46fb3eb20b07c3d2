/* Per-thread context: what one request-serving thread owns. Created when the
 * thread starts and passed to every handler; nothing in it is shared with
 * other threads, so the hot path takes no lock. */
#ifndef AIGW_CONTEXT_H
#define AIGW_CONTEXT_H

struct aigw_conf;
struct keyring;
struct db;

struct thread_ctx {
	const struct aigw_conf *conf;  /* process-wide, read-only after start */
	const struct keyring *keyring; /* process-wide, read-only after start */
	struct db *db;                 /* this thread's connection */
	void *upstream;                /* this thread's upstream client (later) */
	void *auth_cache;              /* this thread's key cache */
};

#endif
