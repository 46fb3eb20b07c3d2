/* Per-thread context: what one request-serving thread owns, made when the
 * thread starts (thread_ctx_new) and passed to every handler. Its database
 * handle borrows one of the process's pooled connections per statement or
 * transaction; nothing else in it is shared with other threads. */
#ifndef AIGW_CONTEXT_H
#define AIGW_CONTEXT_H

struct aigw_conf;
struct db;
struct keyring;
struct services;
struct upstream;

struct thread_ctx {
	const struct aigw_conf *conf;  /* process-wide, read-only after start */
	const struct keyring *keyring; /* process-wide, read-only after start */
	struct db *db;                 /* this thread's handle on the database */
	struct upstream *upstream;     /* this thread's upstream client */
	struct services *svc;          /* the process's shared services; NULL:
	                                  none (tools, unit tests): no cache, usage
	                                  written by the request itself */
};

/* A context with its upstream client and key cache, and a database handle
 * on svc's connections (svc NULL: a connection of its own); conf, keyring
 * and svc are borrowed and must outlive it. Free with thread_ctx_free. */
struct thread_ctx *thread_ctx_new(const struct aigw_conf *conf, const struct keyring *keyring,
                                  struct services *svc);
void thread_ctx_free(struct thread_ctx *ctx);

#endif
