/* The endpoint handlers dispatch() calls once routing, CORS, authentication,
 * role and Content-Type checks have passed: req->app_id is valid and belongs
 * to the caller's key. Each writes exactly one response to resp. */
#ifndef AIGW_ENDPOINTS_H
#define AIGW_ENDPOINTS_H

#include "request.h"
#include "response.h"

struct thread_ctx;

/* GET /v1/health: 200 when the database answers, else 503 (public). */
void handle_health(struct thread_ctx *ctx, struct request *req, struct response *resp);
/* GET /v1/health/live: 200 while the process answers; asks nobody (public). */
void handle_health_live(struct thread_ctx *ctx, struct request *req, struct response *resp);
/* GET /v1/health/ready: 200 when the database and the upstream answer,
 * else 503 with Retry-After (public). */
void handle_health_ready(struct thread_ctx *ctx, struct request *req, struct response *resp);
/* GET /v1/metrics: the host's metrics, Prometheus text (public, or the
 * operator's metrics_token as a bearer token). */
void handle_metrics(struct thread_ctx *ctx, struct request *req, struct response *resp);
/* GET /v1/{app}/ai/config: the app's config as public JSON (admin). */
void handle_ai_config_get(struct thread_ctx *ctx, struct request *req, struct response *resp);
/* PUT /v1/{app}/ai/config: validate, merge, seal BYOK, store, answer the
 * full config (admin). Wipes req->body before returning. */
void handle_ai_config_put(struct thread_ctx *ctx, struct request *req, struct response *resp);
/* POST /v1/{app}/chat/completions: proxied upstream, streamed when asked;
 * usage recorded whether or not the client stayed (client role). */
void handle_chat_completions(struct thread_ctx *ctx, struct request *req, struct response *resp);
/* POST /v1/{app}/embeddings: floats asked upstream, base64 made here when the
 * client asked for it (client role). */
void handle_embeddings(struct thread_ctx *ctx, struct request *req, struct response *resp);
/* GET /v1/{app}/models: the synced models the app may use (all when its
 * allowedModels is empty), each upstream record plus "object":"model" and
 * "owned_by", as {"object":"list","data":[...]} ordered by id (client). */
void handle_models_list(struct thread_ctx *ctx, struct request *req, struct response *resp);
/* GET /v1/{app}/models/{model} (req->route_arg, percent-decoded): one such
 * record; 404 not_found_error for an unknown or not allowed model (client). */
void handle_models_get(struct thread_ctx *ctx, struct request *req, struct response *resp);
/* GET /v1/{app}/ai/usage?startDate=&endDate=: usage over UTC days (default:
 * the current billing period up to today) from the daily rollup, by model,
 * the BYOK part, and the current period's credits (admin). 400 for a bad or
 * too long range. */
void handle_ai_usage(struct thread_ctx *ctx, struct request *req, struct response *resp);

#endif
