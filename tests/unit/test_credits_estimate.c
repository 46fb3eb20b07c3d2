/* The pure money rules of metered requests (domain/billing.h): the
 * worst-case arithmetic, the completion bound of a chat body, money as
 * exact text, the 402 message, and the config keys that drive them. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "billing.h"
#include "check.h"
#include "conffile.h"
#include "error.h"

/* USD per token as the models table gives it, in money units. */
static struct model_price price_of(const char *prompt, const char *completion, const char *request)
{
	struct model_price p;

	memset(&p, 0, sizeof(p));
	CHECK(decimal_to_units(prompt, strlen(prompt), MONEY_SCALE, true, &p.prompt));
	CHECK(decimal_to_units(completion, strlen(completion), MONEY_SCALE, true, &p.completion));
	CHECK(decimal_to_units(request, strlen(request), MONEY_SCALE, true, &p.request));
	return p;
}

static void worst_case_sums_prompt_completion_and_request(void)
{
	/* gpt-4o-mini: 1500 units a prompt token, 6000 a completion token */
	struct model_price p = price_of("0.00000015", "0.0000006", "0");

	CHECK_INT(p.prompt, 1500);
	CHECK_INT(p.completion, 6000);
	CHECK_INT(credits_worst_case(&p, 100, 50), 100 * 1500 + 50 * 6000);
	p.request = 7;
	CHECK_INT(credits_worst_case(&p, 100, 50), 100 * 1500 + 50 * 6000 + 7);
	CHECK_INT(credits_worst_case(&p, 0, 0), 7);
}

static void worst_case_of_sim_expensive_is_exact(void)
{
	/* sim/expensive: $0.001 / $0.002; 80 bytes sent + 5 tokens = $0.09 */
	struct model_price p = price_of("0.001", "0.002", "0");
	char text[MONEY_TEXT_LEN];

	credits_money_text(credits_worst_case(&p, 80, 5), text);
	CHECK_STR(text, "0.09");
}

static void worst_case_embeddings_has_no_completion(void)
{
	struct model_price p = price_of("0.00000002", "0", "0");

	CHECK_INT(credits_worst_case(&p, 1000, 0), 1000 * 200);
}

static void worst_case_saturates_instead_of_wrapping(void)
{
	struct model_price p = price_of("1000", "1000", "1000");

	CHECK_INT(credits_worst_case(&p, INT64_MAX / 2, 1), INT64_MAX);
	CHECK_INT(credits_worst_case(&p, 1, INT64_MAX), INT64_MAX);
	p.request = INT64_MAX;
	CHECK_INT(credits_worst_case(&p, 1, 1), INT64_MAX);
}

static void worst_case_ignores_negative_bounds(void)
{
	struct model_price p = price_of("0.001", "0.002", "0");

	CHECK_INT(credits_worst_case(&p, -5, -1), 0);
}

static cJSON *body_of(const char *json)
{
	cJSON *j = cJSON_Parse(json);

	CHECK(j != NULL);
	return j;
}

static void completion_limit_reads_either_field(void)
{
	cJSON *a = body_of("{\"max_tokens\": 300}");
	cJSON *b = body_of("{\"max_completion_tokens\": 200}");
	cJSON *c = body_of("{\"max_tokens\": 100, \"max_completion_tokens\": 250}");
	cJSON *d = body_of("{\"max_tokens\": 900, \"max_completion_tokens\": 250}");

	CHECK_INT(credits_completion_limit(a), 300);
	CHECK_INT(credits_completion_limit(b), 200);
	/* the upstream may honour either: the larger one bounds it */
	CHECK_INT(credits_completion_limit(c), 250);
	CHECK_INT(credits_completion_limit(d), 900);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
	cJSON_Delete(d);
}

static void completion_limit_absent_or_odd_is_zero(void)
{
	const char *bodies[] = {"{}", "{\"max_tokens\": null}", "{\"max_tokens\": \"50\"}",
	                        "{\"max_tokens\": 0}", "{\"max_completion_tokens\": -4}"};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		cJSON *j = body_of(bodies[i]);
		CHECK_INT(credits_completion_limit(j), 0);
		cJSON_Delete(j);
	}
}

static void completion_bound_uses_default_and_choices(void)
{
	cJSON *none = body_of("{\"messages\": []}");
	cJSON *n3 = body_of("{\"max_tokens\": 100, \"n\": 3}");
	cJSON *n3def = body_of("{\"n\": 3}");
	cJSON *nbad = body_of("{\"max_tokens\": 100, \"n\": \"lots\"}");
	cJSON *nhuge = body_of("{\"max_tokens\": 100, \"n\": 1e300}");

	CHECK_INT(credits_completion_bound(none, 4096), 4096);
	CHECK_INT(credits_completion_bound(none, 0), 0);
	CHECK_INT(credits_choices(none), 1);
	CHECK_INT(credits_completion_bound(n3, 4096), 300);
	CHECK_INT(credits_completion_bound(n3def, 4096), 3 * 4096);
	CHECK_INT(credits_completion_bound(nbad, 4096), 100);
	CHECK_INT(credits_choices(nhuge), CREDITS_MAX_CHOICES);
	CHECK_INT(credits_completion_bound(nhuge, 4096), 100 * CREDITS_MAX_CHOICES);
	cJSON_Delete(none);
	cJSON_Delete(n3);
	cJSON_Delete(n3def);
	cJSON_Delete(nbad);
	cJSON_Delete(nhuge);
}

static void money_text_is_exact_and_trimmed(void)
{
	static const struct {
		int64_t units;
		const char *text;
	} cases[] = {
	        {0, "0.0"},
	        {1, "0.0000000001"},
	        {57000, "0.0000057"},
	        {123000000, "0.0123"},
	        {1000000000, "0.1"},
	        {100000000000LL, "10.0"},
	        {100000000001LL, "10.0000000001"},
	        {123456789012345LL, "12345.6789012345"},
	};
	char text[MONEY_TEXT_LEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		credits_money_text(cases[i].units, text);
		CHECK_STR(text, cases[i].text);
	}
}

static struct billing_period period(const char *plan, const char *allowance, const char *used,
                                    const char *reserved, const char *end)
{
	struct billing_period p;

	memset(&p, 0, sizeof(p));
	snprintf(p.plan, sizeof(p.plan), "%s", plan);
	snprintf(p.period_start, sizeof(p.period_start), "2026-01-15 10:00:00.000000");
	snprintf(p.period_end, sizeof(p.period_end), "%s", end);
	CHECK(money_parse(allowance, &p.allowance));
	CHECK(money_parse(used, &p.used));
	CHECK(money_parse(reserved, &p.reserved));
	return p;
}

static void exhausted_message_free_used_up(void)
{
	struct billing_period p = period("free", "0.10", "0.1003", "0", "");
	char msg[512];

	credits_exhausted_message(&p, 900000, msg, sizeof(msg));
	CHECK_STR(msg, "this app's free plan AI credits ($0.10 lifetime) are used up: "
	               "$0.1003 used");
}

static void exhausted_message_free_cannot_cover(void)
{
	struct billing_period p = period("free", "0.10", "0.021", "0.05", "");
	char msg[512];

	credits_exhausted_message(&p, 820000000, msg, sizeof(msg));
	CHECK_STR(msg, "this app's free plan AI credits ($0.10 lifetime) cannot cover this "
	               "request: $0.021 used, $0.05 held by requests in progress, and this "
	               "request may cost up to $0.082 (a lower max_tokens needs less)");
}

static void exhausted_message_monthly_names_the_period(void)
{
	struct billing_period p = period("pro", "10", "10.5", "0", "2026-02-15 10:00:00.000000");
	char msg[512];

	credits_exhausted_message(&p, 1, msg, sizeof(msg));
	CHECK_STR(msg, "this app's pro plan AI credits ($10.00 for 2026-01-15 to 2026-02-15) "
	               "are used up: $10.50 used");
}

static void conf_credit_keys_have_defaults(void)
{
	struct aigw_conf c;

	conf_defaults(&c);
	CHECK_STR(c.reserve_floor_usd, "0.01");
	CHECK_INT(c.reserve_default_max_tokens, 4096);
	CHECK_INT(c.reservation_ttl_s, 900);
	conf_free(&c);
}

static void conf_credit_keys_parse(void)
{
	struct aigw_conf c;
	char err[AIGW_ERRLEN];

	conf_defaults(&c);
	CHECK_INT(conf_parse(&c,
	                     "reserve_floor_usd = 0.0005\nreserve_default_max_tokens = 1000\n"
	                     "reservation_ttl_s = 120\n",
	                     "x.conf", err),
	          AIGW_OK);
	CHECK_STR(c.reserve_floor_usd, "0.0005");
	CHECK_INT(c.reserve_default_max_tokens, 1000);
	CHECK_INT(c.reservation_ttl_s, 120);
	conf_free(&c);
}

static void conf_credit_keys_refuse_bad_values(void)
{
	static const struct {
		const char *text;
		const char *err;
	} cases[] = {
	        {"reserve_floor_usd = -1\n",
	         "x.conf:1: reserve_floor_usd: '-1' is not a decimal amount such as 0.01 (no "
	         "sign, at most 10 decimals)"},
	        {"reserve_floor_usd = 0.00000000001\n", NULL},
	        {"reserve_floor_usd = 1e-3\n", NULL},
	        {"reserve_floor_usd = .\n", NULL},
	        {"reserve_floor_usd =\n", NULL},
	        {"reserve_default_max_tokens = 0\n",
	         "x.conf:1: reserve_default_max_tokens: 0 is out of range (1..1000000)"},
	        {"reservation_ttl_s = 5\n",
	         "x.conf:1: reservation_ttl_s: 5 is out of range (60..86400)"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aigw_conf c;
		char err[AIGW_ERRLEN] = "";

		conf_defaults(&c);
		CHECK_INT(conf_parse(&c, cases[i].text, "x.conf", err), AIGW_EINVAL);
		if (cases[i].err)
			CHECK_STR(err, cases[i].err);
		conf_free(&c);
	}
}

int main(void)
{
	check_program = "test_credits_estimate";
	RUN(worst_case_sums_prompt_completion_and_request);
	RUN(worst_case_of_sim_expensive_is_exact);
	RUN(worst_case_embeddings_has_no_completion);
	RUN(worst_case_saturates_instead_of_wrapping);
	RUN(worst_case_ignores_negative_bounds);
	RUN(completion_limit_reads_either_field);
	RUN(completion_limit_absent_or_odd_is_zero);
	RUN(completion_bound_uses_default_and_choices);
	RUN(money_text_is_exact_and_trimmed);
	RUN(exhausted_message_free_used_up);
	RUN(exhausted_message_free_cannot_cover);
	RUN(exhausted_message_monthly_names_the_period);
	RUN(conf_credit_keys_have_defaults);
	RUN(conf_credit_keys_parse);
	RUN(conf_credit_keys_refuse_bad_values);
	CHECK_DONE();
}
