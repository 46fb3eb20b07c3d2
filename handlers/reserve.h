/* Credits on the request path: a metered request's worst-case cost
 * (billing.h) reserved against the app's billing period before the upstream
 * call (402 when the plan cannot cover it, 503 when the database cannot
 * say). The reservation is a value the caller keeps; the usage row settles
 * it (db_usage_record). */
#ifndef AIGW_RESERVE_H
#define AIGW_RESERVE_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "billing.h"
#include "credits.h"
#include "models.h"
#include "response.h"

struct thread_ctx;

/* Chat, after the app's token cap was applied: the completion bound of body
 * into *bound. When the body gives no max_tokens/max_completion_tokens, the
 * bound is conf reserve_default_max_tokens, and for a plan that can run out
 * (period: no overage, not unlimited) max_tokens is also added to body so
 * that the upstream keeps to it. BYOK requests: *bound is 0. */
void credits_chat_bound(const struct thread_ctx *ctx, const struct billing_period *period,
                        bool byok, cJSON *body, long long *bound);

/* What a request asks to reserve: everything borrowed. */
struct credit_ask {
	const char *app_id;
	const char *request_id;
	const char *model; /* the model asked of the upstream */
	bool byok;         /* the app's own key: not metered */
	const cJSON *body; /* the body as sent (its `models` fallbacks are priced too) */
	const struct billing_period *period; /* the app's current period (its plan) */
	long long prompt_bound;
	long long completion_bound;
};

/* Reserves the worst-case cost of the request against the app's current
 * billing period: the dearest of ask->model and the body's `models`
 * fallbacks (conf reserve_floor_usd for a model without a known price) for
 * prompt_bound prompt tokens (the byte length of the body sent upstream: a
 * token is at least one byte) and completion_bound completion tokens.
 * A plan that cannot refuse (unlimited, or overage allowed) and BYOK reserve
 * nothing and ask the database nothing.
 * On success *out is the reservation (out->id 0 when nothing is held: BYOK,
 * or a plan that cannot refuse, whose period_id is still set); the usage row settles
 * it, else db_credits_release gives it back. Refused: answers 402
 * insufficient_quota with x-should-retry: false; database trouble: 503.
 * Returns false after answering (and *out holds nothing). */
bool credits_reserve(struct thread_ctx *ctx, struct response *resp, const struct credit_ask *ask,
                     struct reservation *out);

#endif
