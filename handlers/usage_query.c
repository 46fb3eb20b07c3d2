/* Date range and answer of GET /v1/{app}/ai/usage (see usage_query.h).
 * Calendar arithmetic on day numbers (H. Hinnant's civil-days algorithms),
 * so no time zone, locale or timegm is involved. */
#include "config.h"

#include "usage_query.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "credits.h"

long usage_days_from_civil(long y, unsigned m, unsigned d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (long)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (long)d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The last n decimal digits of v >= 0, zero-padded. */
static void put_digits(char *out, long v, size_t n)
{
	if (v < 0)
		v = -v;
	for (size_t i = n; i > 0; i--) {
		out[i - 1] = (char)('0' + v % 10);
		v /= 10;
	}
}

void usage_civil_from_days(long days, char out[USAGE_DATE_LEN + 1])
{
	long z = days + 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153;
	long d = doy - (153 * mp + 2) / 5 + 1;
	long m = mp < 10 ? mp + 3 : mp - 9;
	long y = yoe + era * 400 + (m <= 2);

	put_digits(out, y, 4);
	out[4] = '-';
	put_digits(out + 5, m, 2);
	out[7] = '-';
	put_digits(out + 8, d, 2);
	out[USAGE_DATE_LEN] = '\0';
}

static bool is_leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(long y, unsigned m)
{
	static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* The value of n digits at s; -1 if any is not a digit. */
static long digits(const char *s, size_t n)
{
	long v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

bool usage_date_parse(const char *s, long *days)
{
	long y, m, d;

	if (!s || strlen(s) != USAGE_DATE_LEN || s[4] != '-' || s[7] != '-')
		return false;
	y = digits(s, 4);
	m = digits(s + 5, 2);
	d = digits(s + 8, 2);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > (long)month_days(y, (unsigned)m))
		return false;
	if (days)
		*days = usage_days_from_civil(y, (unsigned)m, (unsigned)d);
	return true;
}

void usage_today(char out[USAGE_DATE_LEN + 1])
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	usage_civil_from_days((long)(ts.tv_sec / 86400), out);
}

static bool check_date(const char *name, const char *value, long *days, char *msg, size_t cap)
{
	if (usage_date_parse(value, days))
		return true;
	if (strlen(value) == USAGE_DATE_LEN && strspn(value, "0123456789-") == USAGE_DATE_LEN)
		snprintf(msg, cap, "%s %s is not a calendar date", name, value);
	else
		snprintf(msg, cap, "%s must be a UTC date as YYYY-MM-DD", name);
	return false;
}

bool usage_date_check(const char *name, const char *value, char *msg, size_t cap)
{
	return check_date(name, value, NULL, msg, cap);
}

bool usage_range_resolve(const char *start, const char *end, const char *default_start,
                         const char *today, struct usage_range *out, const char **param, char *msg,
                         size_t cap)
{
	long s_days, e_days;

	*param = NULL;
	if (start && !check_date("startDate", start, &s_days, msg, cap)) {
		*param = "startDate";
		return false;
	}
	if (end && !check_date("endDate", end, &e_days, msg, cap)) {
		*param = "endDate";
		return false;
	}
	/* The defaults come from the database and the clock: checked all the
	 * same, but a fault there is not the caller's. */
	if (!start && !usage_date_parse(default_start, &s_days))
		usage_date_parse(today, &s_days);
	if (!end && !usage_date_parse(today, &e_days))
		e_days = s_days;
	if (!start && !end && s_days > e_days)
		s_days = e_days; /* a period that starts "tomorrow" by a skewed clock */
	usage_civil_from_days(s_days, out->start);
	usage_civil_from_days(e_days, out->end);
	if (s_days > e_days) {
		*param = start ? "startDate" : "endDate";
		snprintf(msg, cap, "startDate %s%s is after endDate %s%s", out->start,
		         start ? "" : " (the current billing period's start)", out->end,
		         end ? "" : " (today)");
		return false;
	}
	if (e_days - s_days + 1 > USAGE_MAX_RANGE_DAYS) {
		*param = start ? "startDate" : "endDate";
		snprintf(msg, cap,
		         "the range %s to %s spans %ld days; at most %d days can be asked at once",
		         out->start, out->end, e_days - s_days + 1, USAGE_MAX_RANGE_DAYS);
		return false;
	}
	return true;
}

void usage_time_iso(const char *db_time, char out[32])
{
	const char *frac = strchr(db_time, '.');

	if (frac)
		snprintf(out, 32, "%.10sT%.8s.%.6sZ", db_time, db_time + 11, frac + 1);
	else
		snprintf(out, 32, "%.10sT%.8s.000000Z", db_time, db_time + 11);
}

/* Integers and money go in as raw JSON number text: exact, never a double. */
static void add_int(cJSON *o, const char *name, long long v)
{
	char text[24];

	snprintf(text, sizeof(text), "%lld", v);
	cJSON_AddRawToObject(o, name, text);
}

static void add_money(cJSON *o, const char *name, int64_t units)
{
	char text[MONEY_TEXT_LEN];

	credits_money_text(units, text);
	cJSON_AddRawToObject(o, name, text);
}

static void add_time(cJSON *o, const char *name, const char *db_time)
{
	char iso[32];

	if (!db_time || !db_time[0]) {
		cJSON_AddNullToObject(o, name);
		return;
	}
	usage_time_iso(db_time, iso);
	cJSON_AddStringToObject(o, name, iso);
}

static void add_sums(cJSON *o, const struct usage_sums *s, const char *cost_name)
{
	add_int(o, "requests", s->requests);
	add_int(o, "promptTokens", s->prompt_tokens);
	add_int(o, "completionTokens", s->completion_tokens);
	add_int(o, "totalTokens", s->prompt_tokens + s->completion_tokens);
	add_money(o, cost_name, s->cost);
}

static cJSON *credits_json(const struct billing_period *p, int64_t overage)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "plan", p->plan);
	if (p->unlimited) {
		cJSON_AddNullToObject(c, "allowance");
		add_money(c, "used", p->used);
		cJSON_AddNullToObject(c, "remaining");
	} else {
		add_money(c, "allowance", p->allowance);
		add_money(c, "used", p->used);
		add_money(c, "remaining", p->allowance > p->used ? p->allowance - p->used : 0);
	}
	add_money(c, "overage", overage > 0 ? overage : 0);
	add_time(c, "periodStart", p->period_start);
	add_time(c, "periodEnd", p->period_end);
	return c;
}

cJSON *usage_to_json(const char *app_id, const struct usage_range *range,
                     const struct usage_report *report, const struct billing_period *period,
                     int64_t overage)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *models, *byok;

	cJSON_AddStringToObject(o, "appId", app_id);
	cJSON_AddStringToObject(o, "startDate", range->start);
	cJSON_AddStringToObject(o, "endDate", range->end);
	add_sums(o, &report->total, "totalCost");
	models = cJSON_AddArrayToObject(o, "byModel");
	for (size_t i = 0; i < report->n_models; i++) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "model", report->models[i].model);
		add_sums(m, &report->models[i].sums, "cost");
		cJSON_AddItemToArray(models, m);
	}
	byok = cJSON_AddObjectToObject(o, "byok");
	add_int(byok, "requests", report->byok.requests);
	add_int(byok, "totalTokens", report->byok.prompt_tokens + report->byok.completion_tokens);
	add_money(byok, "cost", report->byok.cost);
	cJSON_AddItemToObject(o, "credits", credits_json(period, overage));
	return o;
}

bool usage_query_names_ok(const char *query, char *bad, size_t cap)
{
	static const char *const known[] = {"startDate", "endDate", "granularity"};
	bool seen[3] = {false, false, false};
	const char *p = query ? query : "";

	while (*p) {
		size_t len = strcspn(p, "&"), name = strcspn(p, "=&");
		size_t i;

		if (len > 0) {
			for (i = 0; i < 3; i++)
				if (strlen(known[i]) == name && strncmp(p, known[i], name) == 0)
					break;
			if (i == 3 || seen[i]) {
				size_t k = 0;
				for (size_t j = 0; j < name && k + 1 < cap; j++)
					bad[k++] = (p[j] > 0x20 && p[j] < 0x7f) ? p[j] : '?';
				if (cap)
					bad[k] = '\0';
				return false;
			}
			seen[i] = true;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return true;
}

void usage_days_to_json(cJSON *o, const struct usage_range *range, const struct usage_day *days,
                        size_t n)
{
	cJSON *a = cJSON_AddArrayToObject(o, "days");
	long first, last;
	size_t k = 0;

	if (!usage_date_parse(range->start, &first) || !usage_date_parse(range->end, &last))
		return;
	for (long d = first; d <= last; d++) {
		char date[USAGE_DATE_LEN + 1];
		struct usage_sums zero = {0};
		const struct usage_sums *s = &zero;
		cJSON *e = cJSON_CreateObject();

		usage_civil_from_days(d, date);
		while (k < n && strcmp(days[k].day, date) < 0)
			k++;
		if (k < n && strcmp(days[k].day, date) == 0)
			s = &days[k].sums;
		cJSON_AddStringToObject(e, "date", date);
		add_sums(e, s, "cost");
		cJSON_AddItemToArray(a, e);
	}
}
