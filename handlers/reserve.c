/* The reservation step of a metered request (see reserve.h): bound the
 * request's tokens, price the bound at the dearest model it may be routed
 * to, and reserve that against the app's billing period in one conditional
 * update, so that racing requests can never together pass a free plan. */
#include "config.h"

#include "reserve.h"

#include <stdio.h>
#include <string.h>

#include "conffile.h"
#include "context.h"
#include "log.h"
#include "store_failure.h"

/* The floor when the configured text cannot be read (conf validates it). */
#define FLOOR_FALLBACK_UNITS (MONEY_UNITS_PER_USD / 100)
/* The same for limits of a configuration made without conf_defaults(). */
#define TTL_FALLBACK_S 900
#define DEFAULT_MAX_TOKENS_FALLBACK 4096
#define CREDITS_500 "cannot check this app's AI credits"

void credits_chat_bound(const struct thread_ctx *ctx, const struct billing_period *period,
                        bool byok, cJSON *body, long long *bound)
{
	long long limit = ctx->conf->reserve_default_max_tokens;

	*bound = 0;
	if (byok)
		return;
	if (credits_completion_limit(body) > 0) {
		*bound = credits_completion_bound(body, 0);
		return;
	}
	if (limit <= 0)
		limit = DEFAULT_MAX_TOKENS_FALLBACK;
	*bound = credits_completion_bound(body, limit);
	/* Only a plan that can run out needs the bound to really hold. */
	if (!period->unlimited && !period->overage_allowed) {
		cJSON_DeleteItemFromObjectCaseSensitive(body, "max_tokens");
		cJSON_AddNumberToObject(body, "max_tokens", (double)limit);
	}
}

static int64_t floor_units(const struct thread_ctx *ctx)
{
	int64_t units;

	if (ctx->conf->reserve_floor_usd && money_parse(ctx->conf->reserve_floor_usd, &units))
		return units;
	return FLOOR_FALLBACK_UNITS;
}

/* The worst case of one model: its price, else the floor. */
static aigw_rc model_worst_case(struct thread_ctx *ctx, const char *model, long long prompt_bound,
                                long long completion_bound, int64_t *out, char *err)
{
	struct model_price price;
	aigw_rc rc = db_model_price(ctx->db, model, &price, err);

	if (rc == AIGW_ENOTFOUND) {
		*out = floor_units(ctx);
		return AIGW_OK;
	}
	if (rc == AIGW_OK)
		*out = credits_worst_case(&price, prompt_bound, completion_bound);
	return rc;
}

/* The dearest worst case over ask->model and the body's `models` fallbacks. */
static aigw_rc worst_case(struct thread_ctx *ctx, const struct credit_ask *ask, int64_t *out,
                          char *err)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(ask->body, "models");
	const cJSON *fallbacks = cJSON_IsArray(list) ? list : NULL;
	const cJSON *m;
	int64_t one;
	int seen = 0;
	aigw_rc rc;

	rc = model_worst_case(ctx, ask->model, ask->prompt_bound, ask->completion_bound, out, err);
	if (rc != AIGW_OK)
		return rc;
	cJSON_ArrayForEach(m, fallbacks)
	{
		if (seen++ >= CREDITS_MAX_FALLBACKS)
			break;
		if (!cJSON_IsString(m) || !model_id_valid(m->valuestring) ||
		    strcmp(m->valuestring, ask->model) == 0)
			continue;
		rc = model_worst_case(ctx, m->valuestring, ask->prompt_bound, ask->completion_bound,
		                      &one, err);
		if (rc != AIGW_OK)
			return rc;
		if (one > *out)
			*out = one;
	}
	return AIGW_OK;
}

bool credits_reserve(struct thread_ctx *ctx, struct response *resp, const struct credit_ask *ask,
                     struct reservation *out)
{
	struct billing_period period;
	enum reserve_result result = RESERVE_OK;
	char err[AIGW_ERRLEN];
	char message[512];
	int64_t amount = 0;
	int ttl = ctx->conf->reservation_ttl_s;
	aigw_rc rc;

	memset(out, 0, sizeof(*out));
	if (ask->byok)
		return true;
	if (ask->period->unlimited || ask->period->overage_allowed) {
		/* Never refused: the usage row charges the period, nothing to hold. */
		out->period_id = ask->period->id;
		return true;
	}
	rc = worst_case(ctx, ask, &amount, err);
	if (rc != AIGW_OK) {
		answer_store_failure(resp, rc,
		                     "credits: "
		                     "pricing the request",
		                     ask->app_id, err, CREDITS_500);
		return false;
	}
	/* In the period of the app's snapshot: no read first. Conflicts are
	 * retried inside; a period closed since (plan change) is replaced. */
	memset(&period, 0, sizeof(period));
	rc = db_credits_reserve_in(ctx->db, ask->period->id, ask->app_id, ask->request_id, amount,
	                           ttl > 0 ? ttl : TTL_FALLBACK_S, NULL, out, &period, &result,
	                           err);
	if (rc != AIGW_OK) {
		answer_store_failure(resp, rc,
		                     "credits: "
		                     "reserving credits",
		                     ask->app_id, err, CREDITS_500);
		return false;
	}
	if (result == RESERVE_EXHAUSTED) {
		memset(out, 0, sizeof(*out));
		credits_exhausted_message(&period, amount, message, sizeof(message));
		log_info("credits: request %s of app %s refused: %s", ask->request_id, ask->app_id,
		         message);
		response_header(resp, "x-should-retry", "false");
		response_error(resp, 402, NULL, NULL, "%s", message);
		return false;
	}
	return true;
}
