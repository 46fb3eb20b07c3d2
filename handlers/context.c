/* Making and freeing a request thread's context (context.h): everything a
 * thread owns is made here, at its start, and nowhere else. */
#include "config.h"

#include "context.h"

#include <stdlib.h>

#include "alloc.h"
#include "auth.h"
#include "db.h"
#include "upstream.h"

struct thread_ctx *thread_ctx_new(const struct aigw_conf *conf, const struct keyring *keyring,
                                  struct db_pool *db_pool)
{
	struct thread_ctx *ctx = xcalloc(1, sizeof(*ctx));

	ctx->conf = conf;
	ctx->keyring = keyring;
	ctx->db = db_pool ? db_new_pooled(db_pool) : db_new(conf);
	ctx->upstream = upstream_new(conf);
	ctx->auth_cache = auth_cache_new();
	return ctx;
}

void thread_ctx_free(struct thread_ctx *ctx)
{
	if (!ctx)
		return;
	auth_cache_free(ctx->auth_cache);
	upstream_free(ctx->upstream);
	db_free(ctx->db);
	free(ctx);
}
