/* Per-thread context: what one request-serving thread owns, made when the
 * thread starts (thread_ctx_new) and passed to every handler. Nothing in it
 * is shared with other threads, so the request path takes no lock. */
#ifndef AIGW_CONTEXT_H
#define AIGW_CONTEXT_H

struct aigw_conf;
struct auth_cache;
struct db;
struct keyring;
struct upstream;

struct thread_ctx {
	const struct aigw_conf *conf;  /* process-wide, read-only after start */
	const struct keyring *keyring; /* process-wide, read-only after start */
	struct db *db;                 /* this thread's connection (connects lazily) */
	struct upstream *upstream;     /* this thread's upstream client */
	struct auth_cache *auth_cache; /* this thread's key cache; NULL: none */
};

/* A context with its own connection, upstream client and key cache; conf
 * and keyring are borrowed and must outlive it. Free with thread_ctx_free. */
struct thread_ctx *thread_ctx_new(const struct aigw_conf *conf, const struct keyring *keyring);
void thread_ctx_free(struct thread_ctx *ctx);

#endif
