/* aigw-admin usage --app ID [--from DAY] [--to DAY] [--json]: an app's
 * usage over whole UTC days, read from the rollups as GET /v1/{app}/ai/usage
 * reads them (db/usage_report.h), by model with the total and the BYOK part.
 * A deleted app's usage is kept, so it is reported too. */
#include "config.h"
#include "admin.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app_delete.h"
#include "apps.h"
#include "db.h"
#include "money.h"
#include "usage_report.h"

#define DAY_LEN 11          /* "YYYY-MM-DD" */
#define DEFAULT_DAYS 30     /* --from: the 29 days before --to, and --to */
#define RANGE_DAYS_MAX 3660 /* as the HTTP endpoint */

/* A calendar day "YYYY-MM-DD" as seconds since the epoch (UTC midnight). */
static bool day_parse(const char *s, time_t *out)
{
	struct tm tm;
	int y, m, d;
	char back[DAY_LEN];

	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3)
		return false;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	*out = timegm(&tm);
	/* 2023-02-29 comes back as 2023-03-01: not a calendar day. */
	strftime(back, sizeof back, "%Y-%m-%d", gmtime_r(out, &tm));
	return strcmp(back, s) == 0;
}

static void day_format(time_t t, char out[DAY_LEN])
{
	struct tm tm;

	strftime(out, DAY_LEN, "%Y-%m-%d", gmtime_r(&t, &tm));
}

/* Resolves --from and --to (defaults: the last DEFAULT_DAYS days up to
 * today) into from and to; ADMIN_USAGE (reported) when they are wrong. */
static int range(const char *from_s, const char *to_s, char from[DAY_LEN], char to[DAY_LEN])
{
	time_t t_from, t_to = time(NULL);

	if (to_s && !day_parse(to_s, &t_to))
		return admin_usage_error("--to must be a calendar day YYYY-MM-DD");
	t_to -= t_to % 86400;
	t_from = t_to - (DEFAULT_DAYS - 1) * 86400;
	if (from_s && !day_parse(from_s, &t_from))
		return admin_usage_error("--from must be a calendar day YYYY-MM-DD");
	if (t_from > t_to)
		return admin_usage_error("--from is after --to");
	if ((t_to - t_from) / 86400 + 1 > RANGE_DAYS_MAX)
		return admin_usage_error("the range is longer than %d days", RANGE_DAYS_MAX);
	day_format(t_from, from);
	day_format(t_to, to);
	return ADMIN_OK;
}

/* Money without trailing zeros: "0.0000057", "0" (exact either way). */
static void money_text(int64_t units, char out[MONEY_TEXT_LEN])
{
	size_t n;

	money_to_decimal(units, out);
	n = strlen(out);
	while (n > 0 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
}

static void print_row(const char *kind, const char *model, const struct usage_sums *s)
{
	char cost[MONEY_TEXT_LEN];

	money_text(s->cost, cost);
	printf("%s\t%s\t%lld\t%lld\t%lld\t%s\n", kind, model, s->requests, s->prompt_tokens,
	       s->completion_tokens, cost);
}

/* Money as an exact JSON number (never a float artefact). */
static cJSON *json_sums(const struct usage_sums *s)
{
	char cost[MONEY_TEXT_LEN];
	cJSON *o = cJSON_CreateObject();

	money_text(s->cost, cost);
	cJSON_AddNumberToObject(o, "requests", (double)s->requests);
	cJSON_AddNumberToObject(o, "prompt_tokens", (double)s->prompt_tokens);
	cJSON_AddNumberToObject(o, "completion_tokens", (double)s->completion_tokens);
	cJSON_AddRawToObject(o, "cost", cost);
	return o;
}

static int print_report(const char *app, const char *from, const char *to,
                        const struct usage_report *r, bool json)
{
	cJSON *doc, *models;
	size_t i;

	if (!json) {
		printf("kind\tmodel\trequests\tprompt_tokens\tcompletion_tokens\tcost\n");
		for (i = 0; i < r->n_models; i++)
			print_row("model", r->models[i].model, &r->models[i].sums);
		print_row("total", "-", &r->total);
		print_row("byok", "-", &r->byok);
		return admin_flush();
	}
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "app_id", app);
	cJSON_AddStringToObject(doc, "from", from);
	cJSON_AddStringToObject(doc, "to", to);
	cJSON_AddItemToObject(doc, "total", json_sums(&r->total));
	cJSON_AddItemToObject(doc, "byok", json_sums(&r->byok));
	models = cJSON_AddArrayToObject(doc, "by_model");
	for (i = 0; i < r->n_models; i++) {
		cJSON *o = json_sums(&r->models[i].sums);

		cJSON_AddStringToObject(o, "model", r->models[i].model);
		cJSON_AddItemToArray(models, o);
	}
	return admin_print_json(doc);
}

int cmd_usage(struct admin *a, int argc, char **argv)
{
	const char *app = NULL, *from_s = NULL, *to_s = NULL;
	bool json = false;
	const struct admin_opt opts[] = {{"--app", &app, NULL},
	                                 {"--from", &from_s, NULL},
	                                 {"--to", &to_s, NULL},
	                                 {"--json", NULL, &json},
	                                 {NULL, NULL, NULL}};
	char err[AIGW_ERRLEN], from[DAY_LEN], to[DAY_LEN], deleted_at[APP_TIME_LEN];
	struct usage_report report;
	aigw_rc rc;
	int r;

	r = admin_parse(a, argc, argv, opts, NULL, 0, 0);
	if (r == ADMIN_OK && !app)
		r = admin_usage_error("--app ID is required");
	if (r == ADMIN_OK && !app_id_valid(app))
		r = admin_usage_error("invalid app id '%.80s' (expected [A-Za-z0-9_-]{1,64})", app);
	if (r == ADMIN_OK)
		r = range(from_s, to_s, from, to);
	if (r == ADMIN_OK)
		r = admin_open(a);
	if (r != ADMIN_OK)
		return r;
	rc = db_app_deleted_at(a->db, app, deleted_at, err);
	if (rc == AIGW_ENOTFOUND)
		return admin_error("no app '%s'", app);
	if (rc != AIGW_OK)
		return admin_error("%s", err);
	memset(&report, 0, sizeof report);
	rc = db_usage_report(a->db, app, from, to, &report, err);
	if (rc == AIGW_OK)
		r = print_report(app, from, to, &report, json);
	else
		r = admin_error("usage: %s", err);
	usage_report_free(&report);
	return r;
}
