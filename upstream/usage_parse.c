/* Upstream usage objects to integers (see usage_parse.h). */
#include "config.h"

#include "usage_parse.h"

#include <math.h>

#include "money.h"

/* Largest dollar amount whose money units stay exact in a double product. */
#define MONEY_MAX_USD 900000.0

int64_t money_from_usd(double usd)
{
	if (!isfinite(usd) || usd < 0 || usd > MONEY_MAX_USD)
		return -1;
	return (int64_t)(usd * (double)MONEY_UNITS_PER_USD + 0.5); /* usd >= 0 */
}

static long long count(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15)
		return 0;
	return (long long)v->valuedouble;
}

void usage_parse(const cJSON *obj, struct usage_numbers *out)
{
	const cJSON *v;

	*out = (struct usage_numbers){0};
	if (!cJSON_IsObject(obj))
		return;
	out->present = true;
	out->prompt_tokens = count(obj, "prompt_tokens");
	out->completion_tokens = count(obj, "completion_tokens");
	out->cached_tokens = count(cJSON_GetObjectItemCaseSensitive(obj, "prompt_tokens_details"),
	                           "cached_tokens");
	out->reasoning_tokens =
	        count(cJSON_GetObjectItemCaseSensitive(obj, "completion_tokens_details"),
	              "reasoning_tokens");
	v = cJSON_GetObjectItemCaseSensitive(obj, "cost");
	if (cJSON_IsNumber(v)) {
		int64_t c = money_from_usd(v->valuedouble);
		if (c >= 0) {
			out->has_cost = true;
			out->cost = c;
		}
	}
	out->is_byok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, "is_byok"));
}
