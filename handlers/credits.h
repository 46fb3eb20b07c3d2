/* Credits on the request path (SPEC section 4): the worst-case cost of a
 * metered request, reserved against the app's billing period before the
 * upstream call (402 when the plan cannot cover it, 503 when the database
 * cannot say), and money shown to people as exact decimal text. Settlement
 * is the usage row's job (db_usage_record). */
#ifndef AIGW_HANDLERS_CREDITS_H
#define AIGW_HANDLERS_CREDITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* db/credits.h by its path: "credits.h" names this file inside handlers/. */
#include "../db/credits.h"
#include "models.h"
#include "money.h"
#include "response.h"

struct thread_ctx;

/* At most this many entries of a body's `models` fallback list are priced
 * (OpenRouter routes to one of them; the dearest sets the worst case). */
#define CREDITS_MAX_FALLBACKS 8
/* `n` choices above this are taken as this many (the upstream refuses them). */
#define CREDITS_MAX_CHOICES 1000000LL

/* ---- pure parts (no database) ---- */

/* price.request + price.prompt x prompt_bound + price.completion x
 * completion_bound in money units, saturating at INT64_MAX (negative
 * bounds count as 0). */
int64_t credits_worst_case(const struct model_price *price, long long prompt_bound,
                           long long completion_bound);

/* The completion tokens one choice of a chat body may use: the larger of
 * max_tokens and max_completion_tokens when either is a positive number
 * (the upstream may honour either), else 0 (no limit given). */
long long credits_completion_limit(const cJSON *body);

/* The number of choices a chat body asks for: `n` when it is a number >= 1
 * (capped at CREDITS_MAX_CHOICES), else 1. */
long long credits_choices(const cJSON *body);

/* The completion bound of a chat body: (credits_completion_limit, or
 * default_limit when that is 0) x credits_choices, saturating. */
long long credits_completion_bound(const cJSON *body, long long default_limit);

/* Money units as the shortest exact decimal text with at least one decimal:
 * 1230000 -> "0.000123", 1000000000 -> "0.1", 0 -> "0.0",
 * 100000000000 -> "10.0". Never through a double. */
void credits_money_text(int64_t units, char out[MONEY_TEXT_LEN]);

/* The 402 message for a reservation of `amount` that period p could not
 * take: names the plan, the allowance and its period, what is used and held,
 * and what this request may cost. Written into out (cap bytes). */
void credits_exhausted_message(const struct billing_period *p, int64_t amount, char *out,
                               size_t cap);

/* ---- the request path ---- */

/* Chat, after the app's token cap was applied: the completion bound of body
 * into *bound. When the body gives no max_tokens/max_completion_tokens, the
 * bound is conf reserve_default_max_tokens, and for a plan that can run out
 * (no overage, not unlimited) max_tokens is also added to body so that the
 * upstream keeps to it. BYOK requests: *bound is 0 and nothing is looked up.
 * On failure answers (503/404) and returns false. */
bool credits_chat_bound(struct thread_ctx *ctx, struct response *resp, const char *app_id,
                        bool byok, cJSON *body, long long *bound);

/* What a request asks to reserve: everything borrowed. */
struct credit_ask {
	const char *app_id;
	const char *request_id;
	const char *model; /* the model asked of the upstream */
	bool byok;         /* the app's own key: not metered */
	const cJSON *body; /* the body as sent (its `models` fallbacks are priced too) */
	long long prompt_bound;
	long long completion_bound;
};

/* Reserves the worst-case cost of the request against the app's current
 * billing period: the dearest of ask->model and the body's `models`
 * fallbacks (conf reserve_floor_usd for a model without a known price) for
 * prompt_bound prompt tokens (the byte length of the body sent upstream: a
 * token is at least one byte) and completion_bound completion tokens.
 * On success *out is the reservation (out->id 0 when nothing is held: BYOK,
 * or an unlimited plan, whose period_id is still set); the usage row settles
 * it, else db_credits_release gives it back. Refused: answers 402
 * insufficient_quota with x-should-retry: false; database trouble: 503.
 * Returns false after answering (and *out holds nothing). */
bool credits_reserve(struct thread_ctx *ctx, struct response *resp, const struct credit_ask *ask,
                     struct reservation *out);

#endif
