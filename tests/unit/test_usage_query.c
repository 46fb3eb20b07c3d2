/* The pure parts of GET /v1/{app}/ai/usage (handlers/usage_query.h): date
 * parsing and validation, range defaults and limits, ISO times, and the
 * answer's JSON shape with exact money. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "money.h"
#include "usage_query.h"

static void dates_real_calendar_days_parse(void)
{
	static const char *const good[] = {"2026-01-01", "2024-02-29", "2000-02-29", "1970-01-01",
	                                   "0001-01-01", "9999-12-31", "2026-04-30", "2026-12-31"};
	long days;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(usage_date_parse(good[i], &days));
	CHECK(usage_date_parse("1970-01-01", &days));
	CHECK_INT(days, 0);
	CHECK(usage_date_parse("2000-03-01", &days));
	CHECK_INT(days, 11017);
	CHECK(usage_date_parse("1969-12-31", &days));
	CHECK_INT(days, -1);
}

static void dates_malformed_or_impossible_are_refused(void)
{
	static const char *const bad[] = {"",
	                                  "2026-1-01",
	                                  "2026-01-1",
	                                  "2026-01-011",
	                                  " 2026-01-01",
	                                  "2026-01-01 ",
	                                  "2026/01/01",
	                                  "20260101",
	                                  "2026-01-0a",
	                                  "+026-01-01",
	                                  "2026-13-01",
	                                  "2026-00-10",
	                                  "2026-01-00",
	                                  "2026-01-32",
	                                  "2026-04-31",
	                                  "2023-02-29",
	                                  "1900-02-29",
	                                  "2100-02-29",
	                                  "0000-01-01",
	                                  "2026-02-30",
	                                  "２026-01-01",
	                                  "2026-01-01T00:00:00Z"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (usage_date_parse(bad[i], NULL))
			fprintf(stderr, "  accepted %s\n", bad[i]);
		CHECK(!usage_date_parse(bad[i], NULL));
	}
	CHECK(!usage_date_parse(NULL, NULL));
}

static void days_round_trip(void)
{
	char text[USAGE_DATE_LEN + 1];
	long days;

	for (long d = -800000; d <= 2900000; d += 997) {
		usage_civil_from_days(d, text);
		if (d >= usage_days_from_civil(1, 1, 1) &&
		    d <= usage_days_from_civil(9999, 12, 31)) {
			CHECK(usage_date_parse(text, &days));
			CHECK_INT(days, d);
		}
	}
	usage_civil_from_days(usage_days_from_civil(2024, 2, 29), text);
	CHECK_STR(text, "2024-02-29");
}

static void date_check_messages(void)
{
	char msg[256];

	CHECK(!usage_date_check("startDate", "2023-02-29", msg, sizeof(msg)));
	CHECK_STR(msg, "startDate 2023-02-29 is not a calendar date");
	CHECK(!usage_date_check("endDate", "yesterday", msg, sizeof(msg)));
	CHECK_STR(msg, "endDate must be a UTC date as YYYY-MM-DD");
	CHECK(usage_date_check("endDate", "2026-11-27", msg, sizeof(msg)));
}

static void range_defaults_to_period_start_and_today(void)
{
	struct usage_range r;
	const char *param = "x";
	char msg[256];

	CHECK(usage_range_resolve(NULL, NULL, "2026-11-03", "2026-11-27", &r, &param, msg,
	                          sizeof(msg)));
	CHECK_STR(r.start, "2026-11-03");
	CHECK_STR(r.end, "2026-11-27");
	CHECK(param == NULL);
	CHECK(usage_range_resolve("2026-01-01", NULL, "2026-11-03", "2026-11-27", &r, &param, msg,
	                          sizeof(msg)));
	CHECK_STR(r.start, "2026-01-01");
	CHECK_STR(r.end, "2026-11-27");
	CHECK(usage_range_resolve(NULL, "2026-11-10", "2026-11-03", "2026-11-27", &r, &param, msg,
	                          sizeof(msg)));
	CHECK_STR(r.start, "2026-11-03");
	CHECK_STR(r.end, "2026-11-10");
	/* one day: start == end */
	CHECK(usage_range_resolve("2026-11-10", "2026-11-10", "x", "y", &r, &param, msg,
	                          sizeof(msg)));
}

static void range_period_after_today_is_clamped(void)
{
	struct usage_range r;
	const char *param;
	char msg[256];

	/* database and worker clocks a little apart at a period boundary */
	CHECK(usage_range_resolve(NULL, NULL, "2026-11-28", "2026-11-27", &r, &param, msg,
	                          sizeof(msg)));
	CHECK_STR(r.start, "2026-11-27");
	CHECK_STR(r.end, "2026-11-27");
}

static void range_start_after_end_is_refused(void)
{
	struct usage_range r;
	const char *param;
	char msg[256];

	CHECK(!usage_range_resolve("2026-11-28", "2026-11-27", "2026-11-01", "2026-11-27", &r,
	                           &param, msg, sizeof(msg)));
	CHECK_STR(param, "startDate");
	CHECK_STR(msg, "startDate 2026-11-28 is after endDate 2026-11-27");
	CHECK(!usage_range_resolve("2027-01-01", NULL, "2026-11-01", "2026-11-27", &r, &param, msg,
	                           sizeof(msg)));
	CHECK_STR(param, "startDate");
	CHECK_STR(msg, "startDate 2027-01-01 is after endDate 2026-11-27 (today)");
	CHECK(!usage_range_resolve(NULL, "2026-10-31", "2026-11-01", "2026-11-27", &r, &param, msg,
	                           sizeof(msg)));
	CHECK_STR(param, "endDate");
	CHECK_STR(msg, "startDate 2026-11-01 (the current billing period's start) is after "
	               "endDate 2026-10-31");
}

static void range_longer_than_3660_days_is_refused(void)
{
	struct usage_range r;
	const char *param;
	char msg[256];
	char end[USAGE_DATE_LEN + 1];
	long start_days;

	CHECK(usage_date_parse("2016-01-01", &start_days));
	usage_civil_from_days(start_days + USAGE_MAX_RANGE_DAYS - 1, end);
	CHECK(usage_range_resolve("2016-01-01", end, "x", "y", &r, &param, msg, sizeof(msg)));
	usage_civil_from_days(start_days + USAGE_MAX_RANGE_DAYS, end);
	CHECK(!usage_range_resolve("2016-01-01", end, "x", "y", &r, &param, msg, sizeof(msg)));
	CHECK_STR(param, "startDate");
	CHECK(strstr(msg, "spans 3661 days; at most 3660 days") != NULL);
	CHECK(!usage_range_resolve("0001-01-01", "9999-12-31", "x", "y", &r, &param, msg,
	                           sizeof(msg)));
}

static void range_malformed_value_names_its_param(void)
{
	struct usage_range r;
	const char *param;
	char msg[256];

	CHECK(!usage_range_resolve("2026-02-30", NULL, "2026-11-01", "2026-11-27", &r, &param, msg,
	                           sizeof(msg)));
	CHECK_STR(param, "startDate");
	CHECK(!usage_range_resolve(NULL, "", "2026-11-01", "2026-11-27", &r, &param, msg,
	                           sizeof(msg)));
	CHECK_STR(param, "endDate");
}

static void times_become_iso_utc(void)
{
	char iso[32];

	usage_time_iso("2026-11-27 11:20:00.123456", iso);
	CHECK_STR(iso, "2026-11-27T11:20:00.123456Z");
	usage_time_iso("2026-11-27 11:20:00", iso);
	CHECK_STR(iso, "2026-11-27T11:20:00.000000Z");
}

static struct billing_period a_period(bool unlimited, const char *end)
{
	struct billing_period p;

	memset(&p, 0, sizeof(p));
	p.id = 7;
	snprintf(p.app_id, sizeof(p.app_id), "demo");
	snprintf(p.plan, sizeof(p.plan), unlimited ? "enterprise" : "free");
	snprintf(p.period_start, sizeof(p.period_start), "2026-11-01 09:30:00.000000");
	snprintf(p.period_end, sizeof(p.period_end), "%s", end);
	p.unlimited = unlimited;
	p.allowance = unlimited ? 0 : MONEY_UNITS_PER_USD / 10;
	p.used = 123000000; /* $0.0123 */
	return p;
}

static char *json_text(const cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);

	CHECK(s != NULL);
	return s;
}

static void answer_has_the_spec_shape(void)
{
	struct usage_model_row models[2];
	struct usage_report rep;
	struct usage_range r = {"2026-11-01", "2026-11-27"};
	struct billing_period p = a_period(false, "");
	cJSON *j;
	char *s;

	memset(&rep, 0, sizeof(rep));
	memset(models, 0, sizeof(models));
	rep.total = (struct usage_sums){5, 100, 40, 123000000 + 57000};
	rep.byok = (struct usage_sums){1, 6, 8, 57000};
	snprintf(models[0].model, sizeof(models[0].model), "sim/expensive");
	models[0].sums = (struct usage_sums){4, 94, 32, 123000000};
	snprintf(models[1].model, sizeof(models[1].model), "openai/gpt-4o-mini");
	models[1].sums = (struct usage_sums){1, 6, 8, 57000};
	rep.models = models;
	rep.n_models = 2;
	j = usage_to_json("demo", &r, &rep, &p, 0);
	s = json_text(j);
	CHECK_STR(s, "{\"appId\":\"demo\",\"startDate\":\"2026-11-01\",\"endDate\":\"2026-11-27\","
	             "\"requests\":5,\"promptTokens\":100,\"completionTokens\":40,"
	             "\"totalTokens\":140,\"totalCost\":0.0123057,"
	             "\"byModel\":[{\"model\":\"sim/expensive\",\"requests\":4,"
	             "\"promptTokens\":94,\"completionTokens\":32,\"totalTokens\":126,"
	             "\"cost\":0.0123},{\"model\":\"openai/gpt-4o-mini\",\"requests\":1,"
	             "\"promptTokens\":6,\"completionTokens\":8,\"totalTokens\":14,"
	             "\"cost\":0.0000057}],"
	             "\"byok\":{\"requests\":1,\"totalTokens\":14,\"cost\":0.0000057},"
	             "\"credits\":{\"plan\":\"free\",\"allowance\":0.1,\"used\":0.0123,"
	             "\"remaining\":0.0877,\"overage\":0.0,"
	             "\"periodStart\":\"2026-11-01T09:30:00.000000Z\",\"periodEnd\":null}}");
	/* and it is JSON a parser reads back */
	cJSON *back = cJSON_Parse(s);
	CHECK(back != NULL);
	CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(back, "byModel")));
	cJSON_Delete(back);
	cJSON_free(s);
	cJSON_Delete(j);
}

static void answer_empty_range_has_zeros(void)
{
	struct usage_report rep;
	struct usage_range r = {"2026-11-01", "2026-11-01"};
	struct billing_period p = a_period(false, "");
	cJSON *j;
	char *s;

	memset(&rep, 0, sizeof(rep));
	p.used = 0;
	j = usage_to_json("demo", &r, &rep, &p, 0);
	s = json_text(j);
	CHECK(strstr(s, "\"requests\":0,\"promptTokens\":0,\"completionTokens\":0,"
	                "\"totalTokens\":0,\"totalCost\":0.0,\"byModel\":[],"
	                "\"byok\":{\"requests\":0,\"totalTokens\":0,\"cost\":0.0}") != NULL);
	CHECK(strstr(s, "\"allowance\":0.1,\"used\":0.0,\"remaining\":0.1,") != NULL);
	cJSON_free(s);
	cJSON_Delete(j);
}

static void answer_unlimited_has_null_allowance(void)
{
	struct usage_report rep;
	struct usage_range r = {"2026-11-01", "2026-11-27"};
	struct billing_period p = a_period(true, "2026-12-01 09:30:00.000000");
	cJSON *j;
	char *s;

	memset(&rep, 0, sizeof(rep));
	j = usage_to_json("demo", &r, &rep, &p, 0);
	s = json_text(j);
	CHECK(strstr(s, "\"credits\":{\"plan\":\"enterprise\",\"allowance\":null,"
	                "\"used\":0.0123,\"remaining\":null,\"overage\":0.0,"
	                "\"periodStart\":\"2026-11-01T09:30:00.000000Z\","
	                "\"periodEnd\":\"2026-12-01T09:30:00.000000Z\"}") != NULL);
	cJSON_free(s);
	cJSON_Delete(j);
}

static void answer_overage_and_no_negative_remaining(void)
{
	struct usage_report rep;
	struct usage_range r = {"2026-11-01", "2026-11-27"};
	struct billing_period p = a_period(false, "2026-12-01 09:30:00.000000");
	cJSON *j;
	char *s;

	memset(&rep, 0, sizeof(rep));
	snprintf(p.plan, sizeof(p.plan), "pro");
	p.overage_allowed = true;
	p.allowance = 10 * MONEY_UNITS_PER_USD;
	p.used = 10 * MONEY_UNITS_PER_USD + 5; /* $10.0000000005 */
	j = usage_to_json("demo", &r, &rep, &p, 5);
	s = json_text(j);
	CHECK(strstr(s, "\"allowance\":10.0,\"used\":10.0000000005,\"remaining\":0.0,"
	                "\"overage\":0.0000000005,") != NULL);
	cJSON_free(s);
	cJSON_Delete(j);
}

static void answer_large_counts_stay_integers(void)
{
	struct usage_report rep;
	struct usage_range r = {"2026-11-01", "2026-11-27"};
	struct billing_period p = a_period(false, "");
	cJSON *j;
	char *s;

	memset(&rep, 0, sizeof(rep));
	rep.total = (struct usage_sums){10000000, 1000000000000000LL, 1, 0};
	j = usage_to_json("demo", &r, &rep, &p, 0);
	s = json_text(j);
	CHECK(strstr(s, "\"requests\":10000000,\"promptTokens\":1000000000000000,"
	                "\"completionTokens\":1,\"totalTokens\":1000000000000001,") != NULL);
	cJSON_free(s);
	cJSON_Delete(j);
}

static void query_names_checked(void)
{
	char bad[16];

	CHECK(usage_query_names_ok("", bad, sizeof(bad)));
	CHECK(usage_query_names_ok(NULL, bad, sizeof(bad)));
	CHECK(usage_query_names_ok("startDate=2025-01-01&endDate=2025-02-01&granularity=day", bad,
	                           sizeof(bad)));
	CHECK(usage_query_names_ok("startDate=&&endDate", bad, sizeof(bad)));
	CHECK(!usage_query_names_ok("startDate=1&startdate=2", bad, sizeof(bad)));
	CHECK_STR(bad, "startdate");
	CHECK(!usage_query_names_ok("endDate=1&endDate=2", bad, sizeof(bad)));
	CHECK_STR(bad, "endDate");
	CHECK(!usage_query_names_ok("a%20b\001c=1", bad, sizeof(bad)));
	CHECK_STR(bad, "a%20b?c");
	CHECK(!usage_query_names_ok("averyveryverylongname=1", bad, sizeof(bad)));
	CHECK_INT(strlen(bad), 15);
}

static void days_series_zero_filled(void)
{
	struct usage_range r = {"2024-02-27", "2024-03-02"};
	struct usage_day d[2] = {{"2024-02-28", {1, 10, 20, 5}}, {"2024-03-01", {2, 3, 4, 7}}};
	cJSON *o = cJSON_CreateObject();
	const cJSON *a, *e;
	int i = 0;
	static const char *const dates[] = {"2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01",
	                                    "2024-03-02"};
	static const int req[] = {0, 1, 0, 2, 0};

	usage_days_to_json(o, &r, d, 2);
	a = cJSON_GetObjectItemCaseSensitive(o, "days");
	CHECK_INT(cJSON_GetArraySize(a), 5);
	cJSON_ArrayForEach(e, a)
	{
		CHECK_STR(cJSON_GetObjectItemCaseSensitive(e, "date")->valuestring, dates[i]);
		/* counts are raw JSON numbers (exact integers) */
		CHECK_INT(atoi(cJSON_GetObjectItemCaseSensitive(e, "requests")->valuestring), req[i]);
		i++;
	}
	e = cJSON_GetArrayItem(a, 1);
	CHECK_INT(atoi(cJSON_GetObjectItemCaseSensitive(e, "totalTokens")->valuestring), 30);
	cJSON_Delete(o);
}

int main(void)
{
	check_program = "test_usage_query";
	RUN(dates_real_calendar_days_parse);
	RUN(dates_malformed_or_impossible_are_refused);
	RUN(days_round_trip);
	RUN(date_check_messages);
	RUN(range_defaults_to_period_start_and_today);
	RUN(range_period_after_today_is_clamped);
	RUN(range_start_after_end_is_refused);
	RUN(range_longer_than_3660_days_is_refused);
	RUN(range_malformed_value_names_its_param);
	RUN(times_become_iso_utc);
	RUN(answer_has_the_spec_shape);
	RUN(answer_empty_range_has_zeros);
	RUN(answer_unlimited_has_null_allowance);
	RUN(answer_overage_and_no_negative_remaining);
	RUN(answer_large_counts_stay_integers);
	RUN(query_names_checked);
	RUN(days_series_zero_filled);
	CHECK_DONE();
}
