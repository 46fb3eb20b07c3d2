/* Making and freeing a request thread's context (context.h): everything a
 * thread owns is made here, at its start, and nowhere else. */
#include "config.h"

#include "context.h"

#include <stdlib.h>

#include "alloc.h"
#include "db.h"
#include "services.h"
#include "upstream.h"

struct thread_ctx *thread_ctx_new(const struct aigw_conf *conf, const struct keyring *keyring,
                                  struct services *svc)
{
	struct thread_ctx *ctx = xcalloc(1, sizeof(*ctx));

	ctx->conf = conf;
	ctx->keyring = keyring;
	ctx->svc = svc;
	ctx->db = svc ? db_new_pooled(svc->db_pool) : db_new(conf);
	ctx->upstream = upstream_new(conf);
	return ctx;
}

void thread_ctx_free(struct thread_ctx *ctx)
{
	if (!ctx)
		return;
	upstream_free(ctx->upstream);
	db_free(ctx->db);
	free(ctx);
}
