/* GET /v1/{app}/ai/usage?startDate=YYYY-MM-DD&endDate=YYYY-MM-DD
 * [&granularity=total|day] (admin): the app's usage over UTC days (both
 * included; default: the current billing period's first day up to today)
 * summed from the rollups, and its current credits; with granularity=day
 * also one entry per day ("days"). Unknown or repeated parameters and bad
 * values are refused (400) before the database is asked. */
#include "config.h"

#include "endpoints.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "log.h"
#include "request.h"
#include "store_failure.h"
#include "usage_query.h"
#include "usage_report.h"

/* Query values longer than a date come back as "" (refused as malformed). */
#define QUERY_VALUE_MAX 32

void handle_ai_usage(struct thread_ctx *ctx, struct request *req, struct response *resp)
{
	char start[QUERY_VALUE_MAX], end[QUERY_VALUE_MAX], gran[QUERY_VALUE_MAX], bad[65];
	bool per_day = false;
	struct usage_day *days = NULL;
	size_t n_days = 0;
	char today[USAGE_DATE_LEN + 1], period_day[USAGE_DATE_LEN + 1];
	char msg[256], err[AIGW_ERRLEN];
	bool has_start, has_end;
	struct billing_period period;
	struct usage_report rep;
	struct usage_range range;
	const char *param = NULL;
	cJSON *out;
	aigw_rc rc;

	memset(&rep, 0, sizeof(rep));
	if (!usage_query_names_ok(req->query, bad, sizeof(bad))) {
		response_error(resp, 400, NULL, bad,
		               "unknown or repeated query parameter '%s' (this endpoint takes "
		               "startDate, endDate and granularity, each once)",
		               bad);
		goto out;
	}
	if (request_query_get(req, "granularity", gran, sizeof(gran))) {
		if (strcmp(gran, "day") == 0) {
			per_day = true;
		} else if (strcmp(gran, "total") != 0) {
			response_error(resp, 400, NULL, "granularity",
			               "granularity must be 'total' (the default) or 'day'");
			goto out;
		}
	}
	has_start = request_query_get(req, "startDate", start, sizeof(start));
	has_end = request_query_get(req, "endDate", end, sizeof(end));
	/* Malformed dates are the caller's fault whatever the database does. */
	if (has_start && !usage_date_check("startDate", start, msg, sizeof(msg))) {
		response_error(resp, 400, NULL, "startDate", "%s", msg);
		goto out;
	}
	if (has_end && !usage_date_check("endDate", end, msg, sizeof(msg))) {
		response_error(resp, 400, NULL, "endDate", "%s", msg);
		goto out;
	}
	/* Both given: the range needs no default either. */
	if (has_start && has_end &&
	    !usage_range_resolve(start, end, start, end, &range, &param, msg, sizeof(msg))) {
		response_error(resp, 400, NULL, param, "%s", msg);
		goto out;
	}

	rc = db_period_current(ctx->db, req->app_id, NULL, &period, err);
	if (rc != AIGW_OK) {
		answer_store_failure(resp, rc, "usage: reading the billing period", req->app_id,
		                     err, "cannot read this app's usage");
		goto out;
	}
	usage_today(today);
	snprintf(period_day, sizeof(period_day), "%.10s", period.period_start);
	if (!usage_range_resolve(has_start ? start : NULL, has_end ? end : NULL, period_day, today,
	                         &range, &param, msg, sizeof(msg))) {
		response_error(resp, 400, NULL, param, "%s", msg);
		goto out;
	}

	rc = db_usage_report(ctx->db, req->app_id, range.start, range.end, &rep, err);
	if (rc != AIGW_OK) {
		answer_store_failure(resp, rc, "usage: reading usage", req->app_id, err,
		                     "cannot read this app's usage");
		goto out;
	}
	if (per_day) {
		rc = db_usage_days(ctx->db, req->app_id, range.start, range.end, &days, &n_days,
		                   err);
		if (rc != AIGW_OK) {
			answer_store_failure(resp, rc, "usage: reading usage per day", req->app_id,
			                     err, "cannot read this app's usage");
			goto out;
		}
	}
	out = usage_to_json(req->app_id, &range, &rep, &period, billing_period_overage(&period));
	if (per_day)
		usage_days_to_json(out, &range, days, n_days);
	response_json(resp, 200, out);
	cJSON_Delete(out);
out:
	free(days);
	usage_report_free(&rep);
}
