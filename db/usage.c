/* The usage_requests table and its usage_daily rollup (usage.h). The rollup
 * row is computed by the database from the request row just inserted, in the
 * same transaction: the day, model and amounts can never disagree with the
 * row, even across midnight, and a failure leaves neither. The billing
 * settlement (reservation removed, cost added to the period's used_usd) is
 * part of the same transaction, so credits and usage never disagree either. */
#include "config.h"
#include "usage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "credits.h"
#include "db.h"
#include "log.h"
#include "stmt.h"
#include "tx.h"

/* Two first requests of an app/day/model can deadlock on the new rollup
 * row's gap lock; db_tx_run then runs the transaction again. */

static const char SQL_USAGE_INSERT[] =
        "INSERT INTO usage_requests (request_id, app_id, key_id, endpoint, model_requested, "
        "model_billed, generation_id, prompt_tokens, completion_tokens, cached_tokens, "
        "reasoning_tokens, cost, cost_source, is_byok, status, streamed, aborted, ttft_us, "
        "duration_us, period_id, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))";
/* Columns are qualified: in INSERT ... SELECT ... ON DUPLICATE KEY UPDATE a
 * bare name could mean either table. */
static const char SQL_USAGE_ROLLUP[] =
        "INSERT INTO usage_daily (app_id, day, model, is_byok, requests, prompt_tokens, "
        "completion_tokens, cached_tokens, reasoning_tokens, cost, updated_at) "
        "SELECT r.app_id, DATE(r.created_at), r.model, r.is_byok, 1, r.prompt_tokens, "
        "r.completion_tokens, r.cached_tokens, r.reasoning_tokens, r.cost, r.created_at "
        "FROM usage_requests AS r WHERE r.request_id = ? "
        "ON DUPLICATE KEY UPDATE "
        "usage_daily.requests = usage_daily.requests + VALUES(requests), "
        "usage_daily.prompt_tokens = usage_daily.prompt_tokens + VALUES(prompt_tokens), "
        "usage_daily.completion_tokens = usage_daily.completion_tokens + "
        "VALUES(completion_tokens), "
        "usage_daily.cached_tokens = usage_daily.cached_tokens + VALUES(cached_tokens), "
        "usage_daily.reasoning_tokens = usage_daily.reasoning_tokens + VALUES(reasoning_tokens), "
        "usage_daily.cost = usage_daily.cost + VALUES(cost), "
        "usage_daily.updated_at = GREATEST(usage_daily.updated_at, VALUES(updated_at))";
/* The same row added to its month (009_usage_monthly), for long ranges. */
static const char SQL_USAGE_ROLLUP_MONTHLY[] =
        "INSERT INTO usage_monthly (app_id, month, model, is_byok, requests, prompt_tokens, "
        "completion_tokens, cached_tokens, reasoning_tokens, cost, updated_at) "
        "SELECT r.app_id, DATE_FORMAT(r.created_at, '%Y-%m-01'), r.model, r.is_byok, 1, "
        "r.prompt_tokens, r.completion_tokens, r.cached_tokens, r.reasoning_tokens, r.cost, "
        "r.created_at FROM usage_requests AS r WHERE r.request_id = ? "
        "ON DUPLICATE KEY UPDATE "
        "usage_monthly.requests = usage_monthly.requests + VALUES(requests), "
        "usage_monthly.prompt_tokens = usage_monthly.prompt_tokens + VALUES(prompt_tokens), "
        "usage_monthly.completion_tokens = usage_monthly.completion_tokens + "
        "VALUES(completion_tokens), "
        "usage_monthly.cached_tokens = usage_monthly.cached_tokens + VALUES(cached_tokens), "
        "usage_monthly.reasoning_tokens = usage_monthly.reasoning_tokens + "
        "VALUES(reasoning_tokens), "
        "usage_monthly.cost = usage_monthly.cost + VALUES(cost), "
        "usage_monthly.updated_at = GREATEST(usage_monthly.updated_at, VALUES(updated_at))";

/* Settlement. A plain read: reservations never change, only go away. */
static const char SQL_RES_PERIOD[] = "SELECT period_id FROM credit_reservations WHERE id = ?";
static const char SQL_PERIOD_CHARGE[] =
        "UPDATE billing_periods SET used_usd = used_usd + CAST(? AS DECIMAL(20,10)), "
        "updated_at = UTC_TIMESTAMP(6) WHERE id = ?";

const char *cost_source_name(enum cost_source s)
{
	switch (s) {
	case COST_UPSTREAM:
		return "upstream";
	case COST_GENERATION:
		return "generation";
	case COST_ESTIMATE:
		return "estimate";
	case COST_NONE:
	default:
		return "none";
	}
}

static const char *or_null(const char *s)
{
	return s && s[0] ? s : NULL;
}

static aigw_rc usage_check(const struct usage_record *u, char *err)
{
	if (!u->endpoint ||
	    (strcmp(u->endpoint, "chat") != 0 && strcmp(u->endpoint, "embeddings") != 0))
		return aigw_fail(err, AIGW_EINVAL, "usage: unknown endpoint '%.32s'",
		                 u->endpoint ? u->endpoint : "(null)");
	if (!u->request_id[0])
		return aigw_fail(err, AIGW_EINVAL, "usage: no request id");
	if (u->prompt_tokens < 0 || u->completion_tokens < 0 || u->cached_tokens < 0 ||
	    u->reasoning_tokens < 0 || u->duration_us < 0)
		return aigw_fail(err, AIGW_EINVAL, "usage: negative token count or duration");
	if (u->cost < 0)
		return aigw_fail(err, AIGW_EINVAL, "usage: negative cost");
	if (u->cost_source < COST_NONE || u->cost_source > COST_ESTIMATE)
		return aigw_fail(err, AIGW_EINVAL, "usage: unknown cost source %d",
		                 (int)u->cost_source);
	return AIGW_OK;
}

/* The period whose used_usd takes the cost: none for BYOK requests, which
 * the app's own upstream account paid. */
static long long charged_period(const struct usage_record *u)
{
	return u->period_id > 0 && !u->is_byok ? u->period_id : 0;
}

/* Removes the request's reservation (only its remover subtracts it: an
 * expired one may be gone already) and charges the cost to the period.
 * The period rows are locked first, in id order, as every credits
 * transaction does (credits.c), so settlements and reservations queue
 * instead of deadlocking. */
static aigw_rc usage_settle(struct db *db, const struct usage_record *u, const char *cost,
                            char *err)
{
	long long res_period = 0, charge = charged_period(u), lo, hi;
	bool found;
	struct q q;
	aigw_rc rc;

	if (u->reservation_id > 0) {
		q_init(&q, db, SQL_RES_PERIOD);
		q_in_int(&q, u->reservation_id);
		q_out_int(&q, &res_period, NULL);
		rc = q_one(&q, err);
		q_end(&q);
		if (rc == AIGW_ENOTFOUND)
			res_period = 0; /* released already: nothing to give back */
		else if (rc != AIGW_OK)
			return rc;
	}
	lo = res_period && charge ? (res_period < charge ? res_period : charge)
	                          : res_period + charge;
	hi = res_period > charge ? res_period : charge;
	if (lo > 0) {
		rc = db_period_lock(db, lo, err);
		if (rc != AIGW_OK)
			goto bad_period;
	}
	if (hi > lo) {
		rc = db_period_lock(db, hi, err);
		if (rc != AIGW_OK)
			goto bad_period;
	}
	if (res_period > 0) {
		rc = db_credits_unreserve(db, u->reservation_id, &found, err);
		if (rc != AIGW_OK)
			return rc;
	}
	if (charge > 0 && u->cost > 0) {
		q_init(&q, db, SQL_PERIOD_CHARGE);
		q_in_str(&q, cost);
		q_in_int(&q, charge);
		rc = q_exec(&q, err);
		q_end(&q);
		if (rc != AIGW_OK)
			return rc;
	}
	return AIGW_OK;
bad_period:
	if (rc == AIGW_ENOTFOUND)
		rc = aigw_fail(err, AIGW_EINVAL, "usage: no billing period %lld", charge);
	return rc;
}

/* Adds the recorded row request_id to one rollup table. */
static aigw_rc rollup(struct db *db, const char *sql, const char *request_id, char *err)
{
	struct q q;
	aigw_rc rc;

	q_init(&q, db, sql);
	q_in_str(&q, request_id);
	rc = q_exec(&q, err);
	if (rc == AIGW_OK && q_affected(&q) == 0)
		rc = aigw_fail(err, AIGW_EDB, "usage: the rollup found no row for %.40s",
		               request_id);
	q_end(&q);
	return rc;
}

/* The record's row: the first statement of its transaction, the only one
 * that can meet a duplicate (AIGW_EEXIST), an unknown app (AIGW_ENOTFOUND)
 * or a value the table refuses (AIGW_EINVAL). */
static aigw_rc insert_row(struct db *db, const struct usage_record *u, const char *cost,
                          char *err)
{
	struct q q;
	aigw_rc rc;

	q_init(&q, db, SQL_USAGE_INSERT);
	q_in_str(&q, u->request_id);
	q_in_str(&q, u->app_id);
	q_in_int_or_null(&q, u->key_id, u->key_id <= 0);
	q_in_str(&q, u->endpoint);
	q_in_str(&q, or_null(u->model_requested));
	q_in_str(&q, or_null(u->model_billed));
	q_in_str(&q, or_null(u->generation_id));
	q_in_int(&q, u->prompt_tokens);
	q_in_int(&q, u->completion_tokens);
	q_in_int(&q, u->cached_tokens);
	q_in_int(&q, u->reasoning_tokens);
	q_in_str(&q, cost);
	q_in_str(&q, cost_source_name(u->cost_source));
	q_in_int(&q, u->is_byok ? 1 : 0);
	q_in_int(&q, u->status);
	q_in_int(&q, u->streamed ? 1 : 0);
	q_in_int(&q, u->aborted ? 1 : 0);
	q_in_int_or_null(&q, u->ttft_us, u->ttft_us <= 0);
	q_in_int(&q, u->duration_us);
	q_in_int_or_null(&q, charged_period(u), charged_period(u) == 0);
	rc = q_exec(&q, err);
	q_end(&q);
	if (rc == AIGW_EEXIST)
		aigw_fail(err, rc, "usage of request %.40s is already recorded", u->request_id);
	else if (rc == AIGW_ENOTFOUND)
		aigw_fail(err, rc, "usage: no app '%.64s'", u->app_id);
	return rc;
}

/* What follows the row: both rollups and the settlement. */
static aigw_rc apply_row(struct db *db, const struct usage_record *u, const char *cost,
                         char *err)
{
	aigw_rc rc = rollup(db, SQL_USAGE_ROLLUP, u->request_id, err);

	if (rc == AIGW_OK)
		rc = rollup(db, SQL_USAGE_ROLLUP_MONTHLY, u->request_id, err);
	if (rc != AIGW_OK)
		return rc;
	return usage_settle(db, u, cost, err);
}

/* The transaction body of one record. */
static aigw_rc usage_body(struct db *db, void *arg, char *err)
{
	const struct usage_record *u = arg;
	char cost[MONEY_TEXT_LEN];
	aigw_rc rc;

	money_to_decimal(u->cost, cost);
	rc = insert_row(db, u, cost, err);
	if (rc != AIGW_OK)
		return rc;
	return apply_row(db, u, cost, err);
}

/* The batch being written, in the order of application. */
struct batch {
	const struct usage_record *recs;
	size_t n;
	size_t *order; /* indexes into recs, period order */
	enum usage_outcome *outcome;
};

/* The lock order key of a record: its lowest period id. */
static long long period_key(const struct usage_record *u)
{
	long long a = u->reservation_id > 0 ? u->period_id : 0, b = charged_period(u);

	if (a && b)
		return a < b ? a : b;
	return a + b;
}

static int cmp_order(const void *x, const void *y, void *arg)
{
	const struct batch *b = arg;
	const struct usage_record *u = &b->recs[*(const size_t *)x];
	const struct usage_record *v = &b->recs[*(const size_t *)y];
	long long ku = period_key(u), kv = period_key(v);
	int c;

	if (ku != kv)
		return ku < kv ? -1 : 1;
	c = strcmp(u->app_id, v->app_id);
	if (c != 0)
		return c;
	return strcmp(u->model_billed[0] ? u->model_billed : u->model_requested,
	              v->model_billed[0] ? v->model_billed : v->model_requested);
}

static aigw_rc batch_body(struct db *db, void *arg, char *err)
{
	struct batch *b = arg;

	for (size_t k = 0; k < b->n; k++) {
		const struct usage_record *u = &b->recs[b->order[k]];
		enum usage_outcome *out = &b->outcome[b->order[k]];
		char cost[MONEY_TEXT_LEN];
		aigw_rc rc;

		if (*out == USAGE_REFUSED && usage_check(u, err) != AIGW_OK)
			continue; /* refused before the transaction */
		money_to_decimal(u->cost, cost);
		/* A failed statement undoes only itself: the batch goes on
		 * without the record. */
		rc = insert_row(db, u, cost, err);
		if (rc == AIGW_EEXIST || rc == AIGW_ENOTFOUND || rc == AIGW_EINVAL) {
			*out = rc == AIGW_EEXIST ? USAGE_DUPLICATE : USAGE_REFUSED;
			continue;
		}
		if (rc == AIGW_OK)
			rc = apply_row(db, u, cost, err);
		if (rc != AIGW_OK)
			return rc;
		*out = USAGE_RECORDED;
	}
	return AIGW_OK;
}

aigw_rc db_usage_record_batch(struct db *db, const struct usage_record *recs, size_t n,
                              enum usage_outcome *outcome, char *err)
{
	struct batch b = {.recs = recs, .n = n, .outcome = outcome};
	char why[AIGW_ERRLEN];
	aigw_rc rc;

	if (n == 0)
		return AIGW_OK;
	b.order = xcalloc(n, sizeof(*b.order));
	for (size_t i = 0; i < n; i++) {
		b.order[i] = i;
		outcome[i] = usage_check(&recs[i], why) == AIGW_OK ? USAGE_RECORDED : USAGE_REFUSED;
	}
	qsort_r(b.order, n, sizeof(*b.order), cmp_order, &b);
	rc = db_tx_run(db, "usage batch of", recs[0].request_id, batch_body, &b, err);
	free(b.order);
	return rc;
}

aigw_rc db_usage_record(struct db *db, const struct usage_record *u, char *err)
{
	aigw_rc rc;

	rc = usage_check(u, err);
	if (rc != AIGW_OK)
		return rc;
	/* The body only reads u: the cast drops a const db_tx_run cannot carry. */
	return db_tx_run(db, "usage of request", u->request_id, usage_body, (void *)u, err);
}
