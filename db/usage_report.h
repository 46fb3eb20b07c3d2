/* Reading usage back for GET /v1/{app}/ai/usage: sums over the daily rollup
 * (never the per-request table), so a year of a busy app is a few hundred
 * rows read through the primary key. Money stays in 1e-10 USD units. */
#ifndef AIGW_DB_USAGE_REPORT_H
#define AIGW_DB_USAGE_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct db;

struct usage_sums {
	long long requests;
	long long prompt_tokens;
	long long completion_tokens;
	int64_t cost;
};

struct usage_model_row {
	char model[257];
	struct usage_sums sums; /* BYOK and metered together */
};

struct usage_report {
	struct usage_sums total;        /* everything, BYOK included */
	struct usage_sums byok;         /* the BYOK part of total */
	struct usage_model_row *models; /* by model, ordered by cost desc then model */
	size_t n_models;
};

/* Sums the app's usage_daily rows with start_day <= day <= end_day
 * ("YYYY-MM-DD", UTC, inclusive). out->models is malloc'd: free with
 * usage_report_free. */
aigw_rc db_usage_report(struct db *db, const char *app_id, const char *start_day,
                        const char *end_day, struct usage_report *out, char *err);
void usage_report_free(struct usage_report *r);

/* One UTC day of an app's usage (BYOK included), for a per-day series. */
struct usage_day {
	char day[11]; /* "YYYY-MM-DD" */
	struct usage_sums sums;
};

/* The app's usage per UTC day with start_day <= day <= end_day, in day
 * order, only days that have usage, from usage_daily's primary key.
 * out->days is malloc'd (*n entries): the caller frees it. */
aigw_rc db_usage_days(struct db *db, const char *app_id, const char *start_day,
                      const char *end_day, struct usage_day **days, size_t *n, char *err);

#endif
