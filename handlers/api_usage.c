/* GET /v1/{app}/ai/usage?startDate=YYYY-MM-DD&endDate=YYYY-MM-DD (admin):
 * the app's usage over UTC days (both included; default: the current
 * billing period's first day up to today) summed from the daily rollup, and
 * its current credits. Dates are checked before the database is asked. */
#include "config.h"

#include "endpoints.h"

#include <stdbool.h>
#include <stdio.h>
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
	char start[QUERY_VALUE_MAX], end[QUERY_VALUE_MAX];
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
	out = usage_to_json(req->app_id, &range, &rep, &period, billing_period_overage(&period));
	response_json(resp, 200, out);
	cJSON_Delete(out);
out:
	usage_report_free(&rep);
}
