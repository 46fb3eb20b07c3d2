/* The pure parts of GET /v1/{app}/ai/usage (README: Usage): reading and
 * checking the UTC day range, and the answer's JSON built from the usage
 * report and the current billing period, money as exact decimal text. No
 * database here, so all of it runs in unit tests. */
#ifndef AIGW_USAGE_QUERY_H
#define AIGW_USAGE_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "credits.h"
#include "usage_report.h"

/* The longest range one request may ask for, in days (both ends included). */
#define USAGE_MAX_RANGE_DAYS 3660
#define USAGE_DATE_LEN 10 /* "YYYY-MM-DD" */

/* Days since 1970-01-01 of a proleptic Gregorian date (no checks). */
long usage_days_from_civil(long y, unsigned m, unsigned d);
/* The date `days` after 1970-01-01 as "YYYY-MM-DD". */
void usage_civil_from_days(long days, char out[USAGE_DATE_LEN + 1]);

/* True if s is exactly "YYYY-MM-DD": ten characters, digits around the two
 * dashes, a real calendar date (leap years included) in years 0001..9999.
 * *days (may be NULL) gets its day number (usage_days_from_civil). */
bool usage_date_parse(const char *s, long *days);

/* usage_date_parse for the query parameter `name`; on failure msg (cap
 * bytes) says what is wrong with value. */
bool usage_date_check(const char *name, const char *value, char *msg, size_t cap);

/* Today's UTC date as "YYYY-MM-DD". */
void usage_today(char out[USAGE_DATE_LEN + 1]);

struct usage_range {
	char start[USAGE_DATE_LEN + 1];
	char end[USAGE_DATE_LEN + 1];
};

/* Resolves the range from the query values start and end (NULL when
 * absent): defaults default_start (the current billing period's first day)
 * and today (both "YYYY-MM-DD"). Refuses a malformed date, a start after the
 * end and a range longer than USAGE_MAX_RANGE_DAYS: then *param names the
 * query parameter, msg (cap bytes) says why, and the result is false. */
bool usage_range_resolve(const char *start, const char *end, const char *default_start,
                         const char *today, struct usage_range *out, const char **param, char *msg,
                         size_t cap);

/* A database time "YYYY-MM-DD HH:MM:SS[.ffffff]" as ISO-8601 UTC with
 * microseconds and Z: "YYYY-MM-DDTHH:MM:SS.ffffffZ". */
void usage_time_iso(const char *db_time, char out[32]);

/* The answer: {"appId","startDate","endDate","requests","promptTokens",
 * "completionTokens","totalTokens","totalCost","byModel":[...],"byok":{...},
 * "credits":{"plan","allowance","used","remaining","overage","periodStart",
 * "periodEnd"}}. Every argument is borrowed; overage is the period's
 * (billing_period_overage). Money is written from exact decimal text.
 * The caller cJSON_Deletes the result. */
cJSON *usage_to_json(const char *app_id, const struct usage_range *range,
                     const struct usage_report *report, const struct billing_period *period,
                     int64_t overage);

/* The query's parameter names are all known (startDate, endDate,
 * granularity), each once. Otherwise false, with the offending name
 * (printable ASCII, cut to cap - 1 bytes) in bad. */
bool usage_query_names_ok(const char *query, char *bad, size_t cap);

/* Adds "days": one entry per UTC day of range, in order, {"date",
 * "requests", "promptTokens", "completionTokens", "totalTokens", "cost"},
 * zeros for days without usage; days[0..n) are the days with usage, in day
 * order (db_usage_days). */
void usage_days_to_json(cJSON *o, const struct usage_range *range, const struct usage_day *days,
                        size_t n);

#endif
