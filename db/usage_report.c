/* The usage endpoint's sums (usage_report.h). A range is read as its whole
 * months from usage_monthly plus the days at its two edges from usage_daily,
 * both through their primary keys, so a year is a few hundred rows whatever
 * the traffic. Money sums are done by the database in DECIMAL and read back
 * as exact text, then added as integer units here; never through a double. */
#include "config.h"
#include "usage_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "db.h"
#include "money.h"
#include "period.h"
#include "stmt.h"

/* More distinct models than any real app uses in a range; a cap all the
 * same, as on every growing buffer. */
#define USAGE_REPORT_MODELS_MAX 100000

/* Ordered by model so the metered and BYOK rows of a model are adjacent.
 * Parameters: app, the months [m1, m2), app, the edge days [a1, b1] and
 * [a2, b2] (two ranges of the primary key). */
static const char SQL_REPORT[] =
        "SELECT model, is_byok, CAST(SUM(requests) AS SIGNED), CAST(SUM(pt) AS SIGNED), "
        "CAST(SUM(ct) AS SIGNED), CAST(SUM(cost) AS CHAR) FROM ("
        "SELECT model, is_byok, requests, prompt_tokens AS pt, completion_tokens AS ct, cost "
        "FROM usage_monthly WHERE app_id = ? AND month >= ? AND month < ? "
        "UNION ALL "
        "SELECT model, is_byok, requests, prompt_tokens, completion_tokens, cost "
        "FROM usage_daily WHERE app_id = ? AND (day BETWEEN ? AND ? OR day BETWEEN ? AND ?)"
        ") AS u GROUP BY model, is_byok ORDER BY model, is_byok";

static const char SQL_DAYS[] =
        "SELECT day, CAST(SUM(requests) AS SIGNED), CAST(SUM(prompt_tokens) AS SIGNED), "
        "CAST(SUM(completion_tokens) AS SIGNED), CAST(SUM(cost) AS CHAR) FROM usage_daily "
        "WHERE app_id = ? AND day BETWEEN ? AND ? GROUP BY day ORDER BY day";

/* The split of [start, end] (whole days) into edge days and whole months. */
struct range_split {
	char m1[11], m2[11]; /* whole months [m1, m2); m1 == m2 when none */
	char a1[11], b1[11]; /* edge days before m1 */
	char a2[11], b2[11]; /* edge days from m2 */
};

static void date_text(int y, int m, int d, char out[11])
{
	snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
	         (unsigned)d % 100u);
}

/* First day of the month after (y, m). */
static void next_month(int *y, int *m)
{
	if (++*m > 12) {
		*m = 1;
		++*y;
	}
}

static void split_range(const struct utc_time *s, const struct utc_time *e, struct range_split *r)
{
	int y1 = s->year, mo1 = s->month, y2 = e->year, mo2 = e->month;

	if (s->day != 1)
		next_month(&y1, &mo1);
	if (e->day == days_in_month(e->year, e->month))
		next_month(&y2, &mo2);
	if (y1 * 12 + mo1 >= y2 * 12 + mo2) {
		/* no whole month: every day from usage_daily */
		date_text(s->year, s->month, s->day, r->m1);
		memcpy(r->m2, r->m1, sizeof r->m2);
		date_text(s->year, s->month, s->day, r->a1);
		date_text(e->year, e->month, e->day, r->b1);
		memcpy(r->a2, r->a1, sizeof r->a2);
		memcpy(r->b2, r->b1, sizeof r->b2);
		return;
	}
	date_text(y1, mo1, 1, r->m1);
	date_text(y2, mo2, 1, r->m2);
	/* days from m2: [m2, end], empty (m2 > end) when end closes a month */
	date_text(y2, mo2, 1, r->a2);
	date_text(e->year, e->month, e->day, r->b2);
	/* days before m1: [start, last day of start's month]; none when start
	 * opens a month, and then the second range again (an OR, not a sum) */
	if (s->day == 1) {
		memcpy(r->a1, r->a2, sizeof r->a1);
		memcpy(r->b1, r->b2, sizeof r->b1);
	} else {
		date_text(s->year, s->month, s->day, r->a1);
		date_text(s->year, s->month, days_in_month(s->year, s->month), r->b1);
	}
}

/* The sums columns every usage query ends with: requests, prompt and
 * completion tokens, and the cost as exact text (cost: MONEY_TEXT_LEN). */
static void bind_sums(struct q *q, struct usage_sums *s, char *cost)
{
	q_out_int(q, &s->requests, NULL);
	q_out_int(q, &s->prompt_tokens, NULL);
	q_out_int(q, &s->completion_tokens, NULL);
	q_out_str(q, cost, MONEY_TEXT_LEN, NULL);
}

/* The next row of q into the bound columns, its cost text read into
 * s->cost. AIGW_ENOTFOUND after the last row. */
static aigw_rc fetch_sums(struct q *q, struct usage_sums *s, const char *cost, char *err)
{
	aigw_rc rc = q_fetch(q, err);

	if (rc == AIGW_OK && !money_parse(cost, &s->cost))
		rc = aigw_fail(err, AIGW_EDB, "usage: bad cost sum '%.40s'", cost);
	return rc;
}

void usage_report_free(struct usage_report *r)
{
	if (!r)
		return;
	free(r->models);
	r->models = NULL;
	r->n_models = 0;
}

/* a += b; false on overflow. */
static bool sums_add(struct usage_sums *a, const struct usage_sums *b)
{
	return !__builtin_add_overflow(a->requests, b->requests, &a->requests) &&
	       !__builtin_add_overflow(a->prompt_tokens, b->prompt_tokens, &a->prompt_tokens) &&
	       !__builtin_add_overflow(a->completion_tokens, b->completion_tokens,
	                               &a->completion_tokens) &&
	       !__builtin_add_overflow(a->cost, b->cost, &a->cost);
}

static int model_cmp(const void *pa, const void *pb)
{
	const struct usage_model_row *a = pa, *b = pb;

	if (a->sums.cost != b->sums.cost)
		return a->sums.cost > b->sums.cost ? -1 : 1;
	return strcmp(a->model, b->model);
}

/* Adds one fetched row (model, byok flag, sums) to the report. */
static aigw_rc report_add(struct usage_report *r, size_t *cap, const char *model, bool byok,
                          const struct usage_sums *s, char *err)
{
	struct usage_model_row *m;

	if (r->n_models == 0 || strcmp(r->models[r->n_models - 1].model, model) != 0) {
		if (r->n_models >= USAGE_REPORT_MODELS_MAX)
			return aigw_fail(err, AIGW_ETOOBIG, "usage: more than %d models",
			                 USAGE_REPORT_MODELS_MAX);
		if (r->n_models == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			r->models = xrealloc(r->models, *cap * sizeof *r->models);
		}
		m = &r->models[r->n_models++];
		memset(m, 0, sizeof *m);
		memcpy(m->model, model, strlen(model) + 1);
	}
	m = &r->models[r->n_models - 1];
	if (!sums_add(&m->sums, s) || !sums_add(&r->total, s) || (byok && !sums_add(&r->byok, s)))
		return aigw_fail(err, AIGW_EDB, "usage: sums overflow");
	return AIGW_OK;
}

aigw_rc db_usage_report(struct db *db, const char *app_id, const char *start_day,
                        const char *end_day, struct usage_report *out, char *err)
{
	char model[sizeof out->models[0].model], cost[MONEY_TEXT_LEN];
	struct usage_sums s;
	struct utc_time ts, te;
	struct range_split r;
	long long byok = 0;
	size_t cap = 0;
	struct q q;
	aigw_rc rc;

	memset(out, 0, sizeof *out);
	if (!utc_date_parse(start_day, &ts) || !utc_date_parse(end_day, &te))
		return aigw_fail(err, AIGW_EINVAL, "usage: dates must be YYYY-MM-DD");
	split_range(&ts, &te, &r);
	q_init(&q, db, SQL_REPORT);
	q_in_str(&q, app_id);
	q_in_str(&q, r.m1);
	q_in_str(&q, r.m2);
	q_in_str(&q, app_id);
	q_in_str(&q, r.a1);
	q_in_str(&q, r.b1);
	q_in_str(&q, r.a2);
	q_in_str(&q, r.b2);
	q_out_str(&q, model, sizeof model, NULL);
	q_out_int(&q, &byok, NULL);
	bind_sums(&q, &s, cost);
	rc = q_exec(&q, err);
	while (rc == AIGW_OK && (rc = fetch_sums(&q, &s, cost, err)) == AIGW_OK)
		rc = report_add(out, &cap, model, byok != 0, &s, err);
	q_end(&q);
	if (rc != AIGW_ENOTFOUND) {
		usage_report_free(out);
		memset(out, 0, sizeof *out);
		return rc;
	}
	if (out->n_models > 1)
		qsort(out->models, out->n_models, sizeof *out->models, model_cmp);
	return AIGW_OK;
}

aigw_rc db_usage_days(struct db *db, const char *app_id, const char *start_day,
                      const char *end_day, struct usage_day **days, size_t *n, char *err)
{
	char day[32], cost[MONEY_TEXT_LEN];
	struct usage_sums s;
	size_t cap = 0;
	struct q q;
	aigw_rc rc;

	*days = NULL;
	*n = 0;
	q_init(&q, db, SQL_DAYS);
	q_in_str(&q, app_id);
	q_in_str(&q, start_day);
	q_in_str(&q, end_day);
	q_out_str(&q, day, sizeof day, NULL);
	bind_sums(&q, &s, cost);
	rc = q_exec(&q, err);
	while (rc == AIGW_OK && (rc = fetch_sums(&q, &s, cost, err)) == AIGW_OK) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			*days = xrealloc(*days, cap * sizeof **days);
		}
		snprintf((*days)[*n].day, sizeof (*days)[*n].day, "%.10s", day);
		(*days)[*n].sums = s;
		(*n)++;
	}
	q_end(&q);
	if (rc != AIGW_ENOTFOUND) {
		free(*days);
		*days = NULL;
		*n = 0;
		return rc;
	}
	return AIGW_OK;
}
