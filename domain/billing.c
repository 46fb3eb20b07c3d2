/* The pure money rules of metered requests (billing.h). */
#include "config.h"

#include "billing.h"

#include <stdio.h>
#include <string.h>

int64_t billing_period_overage(const struct billing_period *p)
{
	if (p->unlimited || p->used <= p->allowance)
		return 0;
	return p->used - p->allowance;
}

int64_t billing_period_remaining(const struct billing_period *p)
{
	if (p->unlimited || p->used >= p->allowance)
		return 0;
	return p->allowance - p->used;
}

static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;

	return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

static int64_t sat_mul(int64_t a, long long b)
{
	int64_t r;

	if (a <= 0 || b <= 0)
		return 0;
	return __builtin_mul_overflow(a, (int64_t)b, &r) ? INT64_MAX : r;
}

int64_t credits_worst_case(const struct model_price *price, long long prompt_bound,
                           long long completion_bound)
{
	int64_t total = price->request > 0 ? price->request : 0;

	total = sat_add(total, sat_mul(price->prompt, prompt_bound));
	return sat_add(total, sat_mul(price->completion, completion_bound));
}

/* A JSON number >= 1, truncated to an integer and capped; 0 otherwise. */
static long long positive_count(const cJSON *v, long long cap)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1))
		return 0;
	if (v->valuedouble >= (double)cap)
		return cap;
	return (long long)v->valuedouble;
}

long long credits_completion_limit(const cJSON *body)
{
	long long a =
	        positive_count(cJSON_GetObjectItemCaseSensitive(body, "max_tokens"), INT64_MAX / 2);
	long long b = positive_count(
	        cJSON_GetObjectItemCaseSensitive(body, "max_completion_tokens"), INT64_MAX / 2);

	return a > b ? a : b;
}

long long credits_choices(const cJSON *body)
{
	long long n =
	        positive_count(cJSON_GetObjectItemCaseSensitive(body, "n"), CREDITS_MAX_CHOICES);

	return n > 0 ? n : 1;
}

long long credits_completion_bound(const cJSON *body, long long default_limit)
{
	long long limit = credits_completion_limit(body);
	long long r;

	if (limit <= 0)
		limit = default_limit > 0 ? default_limit : 0;
	if (__builtin_mul_overflow(limit, credits_choices(body), &r))
		return INT64_MAX;
	return r;
}

/* units as decimal text without trailing zeros beyond min_decimals (>= 1). */
static void money_text_min(int64_t units, size_t min_decimals, char out[MONEY_TEXT_LEN])
{
	size_t n;
	char *dot;

	money_to_decimal(units, out);
	dot = strchr(out, '.');
	if (!dot)
		return;
	n = strlen(out);
	while (n > (size_t)(dot - out) + 1 + min_decimals && out[n - 1] == '0')
		out[--n] = '\0';
}

void credits_money_text(int64_t units, char out[MONEY_TEXT_LEN])
{
	money_text_min(units, 1, out);
}

/* "YYYY-MM-DD" of a "YYYY-MM-DD HH:MM:SS..." time. */
static void day_of(const char *t, char out[11])
{
	snprintf(out, 11, "%.10s", t);
}

void credits_exhausted_message(const struct billing_period *p, int64_t amount, char *out,
                               size_t cap)
{
	char allowance[MONEY_TEXT_LEN], used[MONEY_TEXT_LEN], held[MONEY_TEXT_LEN],
	        cost[MONEY_TEXT_LEN];
	char span[64], from[11], to[11];
	char reserved_part[MONEY_TEXT_LEN + 48] = "";

	/* dollars as people write them: $0.10, $0.0123 */
	money_text_min(p->allowance, 2, allowance);
	money_text_min(p->used, 2, used);
	money_text_min(p->reserved, 2, held);
	money_text_min(amount, 2, cost);
	if (!p->period_end[0]) {
		snprintf(span, sizeof(span), "lifetime");
	} else {
		day_of(p->period_start, from);
		day_of(p->period_end, to);
		snprintf(span, sizeof(span), "for %s to %s", from, to);
	}
	if (p->reserved > 0)
		snprintf(reserved_part, sizeof(reserved_part), ", $%s held by requests in progress",
		         held);
	if (p->used >= p->allowance)
		snprintf(out, cap, "this app's %s plan AI credits ($%s %s) are used up: $%s used",
		         p->plan, allowance, span, used);
	else
		snprintf(out, cap,
		         "this app's %s plan AI credits ($%s %s) cannot cover this request: $%s "
		         "used%s, and this request may cost up to $%s (a lower max_tokens "
		         "needs less)",
		         p->plan, allowance, span, used, reserved_part, cost);
}
