/* The usage endpoint's sums (usage_report.h): one GROUP BY over the
 * usage_daily rows of the app and day range, read through the primary key
 * (app_id, day, model, is_byok). Money sums are done by the database in
 * DECIMAL and read back as exact text, then added as integer units here;
 * never through a double. */
#include "config.h"
#include "usage_report.h"

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

/* Ordered by model so the metered and BYOK rows of a model are adjacent. */
static const char SQL_REPORT[] =
        "SELECT model, is_byok, CAST(SUM(requests) AS SIGNED), "
        "CAST(SUM(prompt_tokens) AS SIGNED), CAST(SUM(completion_tokens) AS SIGNED), "
        "CAST(SUM(cost) AS CHAR) FROM usage_daily "
        "WHERE app_id = ? AND day BETWEEN ? AND ? GROUP BY model, is_byok ORDER BY model, is_byok";

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
	struct utc_time t;
	long long byok = 0;
	size_t cap = 0;
	struct q q;
	aigw_rc rc;

	memset(out, 0, sizeof *out);
	if (!utc_date_parse(start_day, &t) || !utc_date_parse(end_day, &t))
		return aigw_fail(err, AIGW_EINVAL, "usage: dates must be YYYY-MM-DD");
	q_init(&q, db, SQL_REPORT);
	q_in_str(&q, app_id);
	q_in_str(&q, start_day);
	q_in_str(&q, end_day);
	q_out_str(&q, model, sizeof model, NULL);
	q_out_int(&q, &byok, NULL);
	q_out_int(&q, &s.requests, NULL);
	q_out_int(&q, &s.prompt_tokens, NULL);
	q_out_int(&q, &s.completion_tokens, NULL);
	q_out_str(&q, cost, sizeof cost, NULL);
	rc = q_exec(&q, err);
	while (rc == AIGW_OK) {
		rc = q_fetch(&q, err);
		if (rc != AIGW_OK)
			break;
		if (!money_parse(cost, &s.cost)) {
			rc = aigw_fail(err, AIGW_EDB, "usage: bad cost sum '%.40s'", cost);
			break;
		}
		rc = report_add(out, &cap, model, byok != 0, &s, err);
	}
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
