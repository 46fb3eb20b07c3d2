/* Money rules of metered requests, pure (no database, no HTTP): list
 * prices, billing periods and what is left of them, the worst-case cost a
 * request may reach, and the messages people read about it. Money is in
 * integer units of 1e-10 USD (money.h), never a double. */
#ifndef AIGW_BILLING_H
#define AIGW_BILLING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "money.h"

/* List prices in money units (1e-10 USD), rounded up so that an estimate
 * never undercounts. */
struct model_price {
	int64_t prompt;     /* per prompt token */
	int64_t completion; /* per completion token */
	int64_t request;    /* per request; 0 when the upstream gives none */
	int64_t cache_read; /* per cached prompt token; the prompt price when none */
};

struct billing_period {
	long long id;
	char app_id[65];
	char plan[17];
	char period_start[32]; /* UTC "YYYY-MM-DD HH:MM:SS.ffffff" */
	char period_end[32];   /* "" for the free plan's lifetime period */
	bool unlimited;        /* allowance NULL (enterprise) */
	bool overage_allowed;  /* pro: usage goes on past the allowance */
	int64_t allowance;     /* units; 0 when unlimited */
	int64_t used;          /* settled cost of metered (non-BYOK) requests */
	int64_t reserved;      /* outstanding reservations */
};

/* Overage of a period: what was used beyond the allowance (0 if unlimited). */
int64_t billing_period_overage(const struct billing_period *p);
/* What is left of the allowance: allowance - used, never below 0 (0 if
 * unlimited; show null then). Outstanding reservations are not subtracted:
 * they are provisional. v_spend_per_app_period.remaining_usd is the same. */
int64_t billing_period_remaining(const struct billing_period *p);

/* At most this many entries of a body's `models` fallback list are priced
 * (OpenRouter routes to one of them; the dearest sets the worst case). */
#define CREDITS_MAX_FALLBACKS 8
/* `n` choices above this are taken as this many (the upstream refuses them). */
#define CREDITS_MAX_CHOICES 1000000LL

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

#endif
