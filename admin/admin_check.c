/* aigw-admin check [--app ID] [--json]: the billing and usage invariants
 * (db/consistency.h) checked against the database, one line per drift
 * naming its table, key and the expected and actual values, then a summary
 * line. Exit 0 clean, 1 drift, 2 bad usage or no answer from the database,
 * so a fault test can run it after every fault. */
#include "config.h"
#include "admin.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "apps.h"
#include "consistency.h"
#include "db.h"

#define CHECK_CLEAN 0
#define CHECK_DRIFT 1
#define CHECK_FAILED 2

/* Drifts listed; the rest are counted. */
#define CHECK_LIST_MAX 100

#define LINE_MAX_LEN 4096

/* A line being built; what does not fit is cut (never overflows). */
struct line {
	char s[LINE_MAX_LEN];
	size_t n;
};

static void add(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (l->n >= sizeof l->s - 1)
		return;
	va_start(ap, fmt);
	w = vsnprintf(l->s + l->n, sizeof l->s - l->n, fmt, ap);
	va_end(ap);
	if (w > 0)
		l->n += (size_t)w < sizeof l->s - l->n ? (size_t)w : sizeof l->s - l->n - 1;
}

static const char *rollup_table(enum drift_kind k)
{
	return k == DRIFT_DAILY ? "usage_daily" : "usage_monthly";
}

static void add_sums(struct line *l, const struct drift_sums *s)
{
	add(l,
	    "requests %lld, prompt_tokens %lld, completion_tokens %lld, cached_tokens %lld, "
	    "reasoning_tokens %lld, cost %s",
	    s->requests, s->prompt_tokens, s->completion_tokens, s->cached_tokens,
	    s->reasoning_tokens, s->cost);
}

/* "; " between the parts of a line after the first. */
static void sep(struct line *l, bool *first)
{
	if (!*first)
		add(l, "; ");
	*first = false;
}

static void add_count(struct line *l, bool *first, const char *col, long long want, long long got)
{
	if (want == got)
		return;
	sep(l, first);
	add(l, "%s expected %lld, actual %lld", col, want, got);
}

/* The columns of a rollup row that differ from its rows' sums. */
static void add_rollup_diff(struct line *l, const struct drift *d)
{
	const struct drift_sums *w = &d->want, *g = &d->got;
	bool first = true;

	add_count(l, &first, "requests", w->requests, g->requests);
	add_count(l, &first, "prompt_tokens", w->prompt_tokens, g->prompt_tokens);
	add_count(l, &first, "completion_tokens", w->completion_tokens, g->completion_tokens);
	add_count(l, &first, "cached_tokens", w->cached_tokens, g->cached_tokens);
	add_count(l, &first, "reasoning_tokens", w->reasoning_tokens, g->reasoning_tokens);
	/* Both sums come from one DECIMAL column, so equal values print alike;
	 * the database did the comparison. */
	if (first || strcmp(w->cost, g->cost) != 0) {
		sep(l, &first);
		add(l, "cost expected %s, actual %s", w->cost, g->cost);
	}
}

static void drift_line(const struct drift *d, struct line *l)
{
	bool first = true;

	l->n = 0;
	l->s[0] = '\0';
	switch (d->kind) {
	case DRIFT_RESERVED:
		add(l,
		    "drift: billing_periods id=%lld app=%s reserved_usd: expected %s (sum of %lld "
		    "credit_reservations), actual %s",
		    d->period_id, d->app_id, d->expected, d->items, d->actual);
		break;
	case DRIFT_USED:
		add(l, "drift: billing_periods id=%lld app=%s used_usd: ", d->period_id, d->app_id);
		if (strcmp(d->expected, d->actual) != 0 || d->byok_rows == 0) {
			add(l, "expected %s (cost of %lld metered usage_requests rows), actual %s",
			    d->expected, d->items, d->actual);
			first = false;
		}
		if (d->byok_rows > 0) {
			sep(l, &first);
			add(l, "%lld BYOK usage_requests rows carry this period_id", d->byok_rows);
		}
		break;
	case DRIFT_NO_PERIOD:
		add(l,
		    "drift: usage_requests period_id=%lld app=%s: no such billing period (%lld "
		    "metered rows, cost %s; %lld BYOK rows)",
		    d->period_id, d->app_id, d->items, d->expected, d->byok_rows);
		break;
	case DRIFT_DAILY:
	case DRIFT_MONTHLY:
		add(l, "drift: %s app=%s %s=%.*s model=%s byok=%d: ", rollup_table(d->kind),
		    d->app_id, d->kind == DRIFT_DAILY ? "day" : "month",
		    d->kind == DRIFT_DAILY ? 10 : 7, d->day, d->model, d->is_byok ? 1 : 0);
		if (!d->has_rollup) {
			add(l, "missing; the usage_requests rows sum to ");
			add_sums(l, &d->want);
		} else if (!d->has_rows) {
			add(l, "no usage_requests rows; the rollup holds ");
			add_sums(l, &d->got);
		} else {
			add_rollup_diff(l, d);
		}
		break;
	}
}

static int print_text(const struct consistency_report *r)
{
	struct line l;
	size_t i;
	int rc = ADMIN_OK;

	for (i = 0; i < r->n_listed && rc == ADMIN_OK; i++) {
		drift_line(&r->listed[i], &l);
		rc = admin_print_line(l.s);
	}
	if (rc != ADMIN_OK)
		return rc;
	l.n = 0;
	if ((long long)r->n_listed < r->drifts)
		add(&l, "(%lld more drifts not listed)\n", r->drifts - (long long)r->n_listed);
	add(&l, "check: %lld periods, %lld daily rows, %lld monthly rows: ", r->periods,
	    r->daily_rows, r->monthly_rows);
	if (r->drifts == 0)
		add(&l, "clean");
	else
		add(&l, "%lld drift%s", r->drifts, r->drifts == 1 ? "" : "s");
	return admin_print_line(l.s);
}

/* Money text from the database as a JSON number (exact digits); text that
 * is not a plain decimal, never expected, becomes a string. */
static void json_money(cJSON *o, const char *name, const char *text)
{
	size_t i, n = strlen(text);
	bool plain = n > 0;

	for (i = 0; i < n; i++)
		if (!((text[i] >= '0' && text[i] <= '9') || text[i] == '.' ||
		      (i == 0 && text[i] == '-')))
			plain = false;
	if (plain && text[0] != '.' && text[n - 1] != '.')
		cJSON_AddRawToObject(o, name, text);
	else
		cJSON_AddStringToObject(o, name, text);
}

static cJSON *json_sums(const struct drift_sums *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "requests", (double)s->requests);
	cJSON_AddNumberToObject(o, "prompt_tokens", (double)s->prompt_tokens);
	cJSON_AddNumberToObject(o, "completion_tokens", (double)s->completion_tokens);
	cJSON_AddNumberToObject(o, "cached_tokens", (double)s->cached_tokens);
	cJSON_AddNumberToObject(o, "reasoning_tokens", (double)s->reasoning_tokens);
	json_money(o, "cost", s->cost);
	return o;
}

static cJSON *json_drift(const struct drift *d)
{
	cJSON *o = cJSON_CreateObject();
	struct line l;

	switch (d->kind) {
	case DRIFT_RESERVED:
	case DRIFT_USED:
		cJSON_AddStringToObject(o, "table", "billing_periods");
		cJSON_AddStringToObject(o, "column",
		                        d->kind == DRIFT_RESERVED ? "reserved_usd" : "used_usd");
		cJSON_AddNumberToObject(o, "period_id", (double)d->period_id);
		cJSON_AddStringToObject(o, "app_id", d->app_id);
		json_money(o, "expected", d->expected);
		json_money(o, "actual", d->actual);
		cJSON_AddNumberToObject(o, d->kind == DRIFT_RESERVED ? "reservations" : "rows",
		                        (double)d->items);
		if (d->kind == DRIFT_USED)
			cJSON_AddNumberToObject(o, "byok_rows", (double)d->byok_rows);
		break;
	case DRIFT_NO_PERIOD:
		cJSON_AddStringToObject(o, "table", "usage_requests");
		cJSON_AddStringToObject(o, "column", "period_id");
		cJSON_AddNumberToObject(o, "period_id", (double)d->period_id);
		cJSON_AddStringToObject(o, "app_id", d->app_id);
		cJSON_AddBoolToObject(o, "period_exists", 0);
		json_money(o, "cost", d->expected);
		cJSON_AddNumberToObject(o, "rows", (double)d->items);
		cJSON_AddNumberToObject(o, "byok_rows", (double)d->byok_rows);
		break;
	case DRIFT_DAILY:
	case DRIFT_MONTHLY:
		cJSON_AddStringToObject(o, "table", rollup_table(d->kind));
		cJSON_AddStringToObject(o, "app_id", d->app_id);
		cJSON_AddStringToObject(o, d->kind == DRIFT_DAILY ? "day" : "month", d->day);
		cJSON_AddStringToObject(o, "model", d->model);
		cJSON_AddBoolToObject(o, "is_byok", d->is_byok);
		cJSON_AddItemToObject(o, "expected",
		                      d->has_rows ? json_sums(&d->want) : cJSON_CreateNull());
		cJSON_AddItemToObject(o, "actual",
		                      d->has_rollup ? json_sums(&d->got) : cJSON_CreateNull());
		break;
	}
	drift_line(d, &l);
	cJSON_AddStringToObject(o, "text", l.s + strlen("drift: "));
	return o;
}

static int print_json(const struct consistency_report *r, const char *app_id)
{
	cJSON *doc = cJSON_CreateObject(), *list;
	char *text;
	size_t i;
	int rc;

	if (app_id)
		cJSON_AddStringToObject(doc, "app_id", app_id);
	else
		cJSON_AddNullToObject(doc, "app_id");
	cJSON_AddNumberToObject(doc, "periods", (double)r->periods);
	cJSON_AddNumberToObject(doc, "daily_rows", (double)r->daily_rows);
	cJSON_AddNumberToObject(doc, "monthly_rows", (double)r->monthly_rows);
	cJSON_AddBoolToObject(doc, "clean", r->drifts == 0);
	cJSON_AddNumberToObject(doc, "drifts", (double)r->drifts);
	list = cJSON_AddArrayToObject(doc, "listed");
	for (i = 0; i < r->n_listed; i++)
		cJSON_AddItemToArray(list, json_drift(&r->listed[i]));
	text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (!text)
		return admin_error("check: out of memory printing the report");
	rc = admin_print_line(text);
	cJSON_free(text);
	return rc;
}

int cmd_check(struct admin *a, int argc, char **argv)
{
	struct consistency_report report;
	const char *app_id = NULL;
	const struct admin_opt opts[] = {{"--app", &app_id}, {NULL, NULL}};
	char err[AIGW_ERRLEN];
	char **rest;
	bool json = false;
	int i, n = 0, rc;

	/* --json is a flag; admin_parse takes the rest. */
	rest = xcalloc((size_t)argc + 1, sizeof *rest);
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			for (; i < argc; i++)
				rest[n++] = argv[i];
			break;
		}
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			rest[n++] = argv[i];
	}
	rc = admin_parse(n, rest, opts, NULL, 0, 0);
	free(rest);
	if (rc != ADMIN_OK)
		return rc;
	if (app_id && !app_id_valid(app_id))
		return admin_usage_error("--app needs an app id");
	if (admin_open(a) != ADMIN_OK)
		return CHECK_FAILED;
	if (app_id) {
		struct app app;
		aigw_rc found = db_app_get(a->db, app_id, &app, err);

		if (found == AIGW_ENOTFOUND) {
			admin_error("check: no such app '%s'", app_id);
			return CHECK_FAILED;
		}
		if (found != AIGW_OK) {
			admin_error("check: %s", err);
			return CHECK_FAILED;
		}
	}
	if (db_consistency_check(a->db, app_id, CHECK_LIST_MAX, &report, err) != AIGW_OK) {
		admin_error("check: %s", err);
		return CHECK_FAILED;
	}
	rc = json ? print_json(&report, app_id) : print_text(&report);
	if (rc == ADMIN_OK)
		rc = report.drifts == 0 ? CHECK_CLEAN : CHECK_DRIFT;
	else
		rc = CHECK_FAILED;
	consistency_report_free(&report);
	return rc;
}
