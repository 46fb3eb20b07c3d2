/* The usage records (usage.h): their checks, one record or a batch, and the
 * batch's split when the database refuses a value it does not name. The
 * transaction itself (rows, rollups and settlement together, so usage and
 * credits never disagree) is usage_tx.c's. */
#include "config.h"
#include "usage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "usage_tx.h"
#include "utf8.h"

void usage_log_lost(const struct usage_record *r, const char *why)
{
	log_error("usage NOT RECORDED (%s): request=%s app=%s key=%lld endpoint=%s "
	          "model=%s billed=%s generation=%s prompt=%lld completion=%lld "
	          "cost_units=%lld source=%s byok=%d status=%d streamed=%d aborted=%d "
	          "reservation=%lld period=%lld",
	          why, r->request_id, r->app_id, r->key_id, r->endpoint ? r->endpoint : "",
	          r->model_requested, r->model_billed, r->generation_id, r->prompt_tokens,
	          r->completion_tokens, (long long)r->cost, cost_source_name(r->cost_source),
	          r->is_byok, r->status, r->streamed, r->aborted, r->reservation_id, r->period_id);
}

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

/* A NUL-terminated field of its array, valid UTF-8. */
static bool text_ok(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	return n < cap && utf8_valid(s, n);
}

static bool request_id_ok(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap), i;

	if (n == 0 || n == cap)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	}
	return true;
}

/* What the database would refuse, found before it is asked, so that one bad
 * record is refused alone instead of failing its batch's statements. */
static aigw_rc usage_check(const struct usage_record *u, char *err)
{
	if (!u->endpoint ||
	    (strcmp(u->endpoint, "chat") != 0 && strcmp(u->endpoint, "embeddings") != 0))
		return aigw_fail(err, AIGW_EINVAL, "usage: unknown endpoint '%.32s'",
		                 u->endpoint ? u->endpoint : "(null)");
	if (!request_id_ok(u->request_id, sizeof u->request_id))
		return aigw_fail(err, AIGW_EINVAL, "usage: no request id, or not printable ASCII");
	if (!text_ok(u->app_id, sizeof u->app_id) ||
	    !text_ok(u->model_requested, sizeof u->model_requested) ||
	    !text_ok(u->model_billed, sizeof u->model_billed) ||
	    !text_ok(u->generation_id, sizeof u->generation_id) ||
	    !text_ok(u->error, sizeof u->error))
		return aigw_fail(err, AIGW_EINVAL,
		                 "usage: an app, model or generation id that is "
		                 "not UTF-8 text");
	if (u->prompt_tokens < 0 || u->completion_tokens < 0 || u->cached_tokens < 0 ||
	    u->reasoning_tokens < 0 || u->duration_us < 0)
		return aigw_fail(err, AIGW_EINVAL, "usage: negative token count or duration");
	if (u->cost < 0)
		return aigw_fail(err, AIGW_EINVAL, "usage: negative cost");
	if (u->cost_source < COST_NONE || u->cost_source > COST_ESTIMATE)
		return aigw_fail(err, AIGW_EINVAL, "usage: unknown cost source %d",
		                 (int)u->cost_source);
	if (u->status < 100 || u->status > 599)
		return aigw_fail(err, AIGW_EINVAL, "usage: HTTP status %d", u->status);
	return AIGW_OK;
}

/* Writes recs[idx[0..n)]. When the database refuses a value (AIGW_EINVAL,
 * which does not say whose), the halves are written apart, down to the one
 * record to refuse: a cost paid only in that rare case. why gets the last
 * refusal's reason. */
static aigw_rc apply(struct db *db, const struct usage_record *recs, const size_t *idx, size_t n,
                     enum usage_outcome *outcome, char *why, char *err)
{
	size_t half = n / 2;
	aigw_rc rc;

	rc = usage_tx_run(db, recs, idx, n, outcome, why, err);
	if (rc != AIGW_EINVAL)
		return rc;
	if (n == 1) {
		outcome[idx[0]] = USAGE_INVALID;
		aigw_fail(why, AIGW_EINVAL, "usage of request %.40s refused: %s",
		          recs[idx[0]].request_id, err);
		log_warn("%s", why);
		return AIGW_OK;
	}
	rc = apply(db, recs, idx, half, outcome, why, err);
	if (rc == AIGW_OK)
		rc = apply(db, recs, idx + half, n - half, outcome, why, err);
	return rc;
}

aigw_rc db_usage_record(struct db *db, const struct usage_record *u, char *err)
{
	char why[AIGW_ERRLEN] = "";
	enum usage_outcome o = USAGE_RECORDED;
	size_t idx = 0;
	aigw_rc rc;

	rc = usage_check(u, err);
	if (rc != AIGW_OK)
		return rc;
	rc = apply(db, u, &idx, 1, &o, why, err);
	if (rc != AIGW_OK)
		return rc;
	switch (o) {
	case USAGE_DUPLICATE:
		return aigw_fail(err, AIGW_EEXIST, "usage of request %.40s is already recorded",
		                 u->request_id);
	case USAGE_UNKNOWN_APP:
		return aigw_fail(err, AIGW_ENOTFOUND, "usage: no app '%.64s'", u->app_id);
	case USAGE_INVALID:
		return aigw_fail(err, AIGW_EINVAL, "%s", why);
	case USAGE_RECORDED:
	default:
		return AIGW_OK;
	}
}

struct by_request {
	const char *request_id;
	size_t i;
};

/* By request id, then by position: the first of equal ids is the one written. */
static int cmp_request(const void *a, const void *b)
{
	const struct by_request *x = a, *y = b;
	int c = strcmp(x->request_id, y->request_id);

	if (c != 0)
		return c;
	return (x->i > y->i) - (x->i < y->i);
}

aigw_rc db_usage_record_batch(struct db *db, const struct usage_record *recs, size_t n,
                              enum usage_outcome *outcome, char *err)
{
	char why[AIGW_ERRLEN] = "", check_err[AIGW_ERRLEN];
	struct by_request *order;
	size_t *idx, m = 0, k = 0, i;
	aigw_rc rc;

	if (n == 0 || n > DB_USAGE_BATCH_MAX)
		return aigw_fail(err, AIGW_EINVAL, "usage: a batch of %zu records (1 to %d)", n,
		                 DB_USAGE_BATCH_MAX);
	order = xcalloc(n, sizeof *order);
	idx = xcalloc(n, sizeof *idx);
	for (i = 0; i < n; i++) {
		outcome[i] = USAGE_RECORDED;
		if (usage_check(&recs[i], check_err) != AIGW_OK) {
			outcome[i] = USAGE_INVALID;
			/* %.40s reads no further than the array. */
			log_warn("usage of request %.40s refused: %s", recs[i].request_id,
			         check_err);
			continue;
		}
		order[m].request_id = recs[i].request_id;
		order[m].i = i;
		m++;
	}
	qsort(order, m, sizeof *order, cmp_request);
	for (i = 0; i < m; i++) {
		if (k > 0 && strcmp(order[i].request_id, recs[idx[k - 1]].request_id) == 0)
			outcome[order[i].i] = USAGE_DUPLICATE;
		else
			idx[k++] = order[i].i;
	}
	rc = k == 0 ? AIGW_OK : apply(db, recs, idx, k, outcome, why, err);
	free(idx);
	free(order);
	return rc;
}
