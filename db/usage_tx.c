/* The usage transaction (usage_tx.h): a batch of usage records written with
 * their rollups and billing settlement in one transaction, in a fixed number
 * of statements whatever the batch's size.
 *
 * Each statement takes the whole batch as ONE parameter, a JSON array read
 * by JSON_TABLE, rather than a placeholder per value: the statement texts
 * are the same for every batch size, so the per-connection statement cache
 * (keyed by text) holds one statement each, and no statement needs more
 * binds than struct q has. Where a statement locks rows (INSERT ... SELECT
 * reading usage_requests, the FOR UPDATE reads, the DELETE, the UPDATE),
 * STRAIGHT_JOIN and FORCE INDEX make it walk the JSON array and look each
 * row up by its key, so it locks exactly those rows (a scan would lock
 * every row it passed) and in the array's order.
 *
 * The steps, in the lock order of credits.c (apps rows shared, through the
 * foreign keys; then billing_periods in id order; then reservations):
 *   1. probe: which request ids are recorded already, which apps and
 *      periods exist, which reservations still exist and in which period;
 *   2. the new rows, in one INSERT ... SELECT (created_at the same
 *      UTC_TIMESTAMP(6) for all);
 *   3. usage_daily and usage_monthly, each one INSERT ... SELECT ... GROUP BY
 *      over the new rows read back, so a rollup's day, model and sums are the
 *      rows' own;
 *   4. the periods touched, locked in id order; the batch's reservations
 *      that still exist, read under lock and deleted; per period, the sum
 *      actually removed taken out of reserved_usd and the costs added to
 *      used_usd, in one UPDATE.
 * Two batches racing on the same request id: the second waits on the
 * first's unique-key lock and then meets a duplicate key; the whole
 * transaction is run again (AIGW_ERETRY), and its probe then sees the row. */
#include "config.h"
#include "usage_tx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "db.h"
#include "log.h"
#include "stmt.h"
#include "tx.h"

/* Step 1. A plain read: what it finds only goes away (reservations, by
 * their period's lock holders) or is caught again by the unique key. */
static const char SQL_PROBE[] =
        "SELECT j.i, "
        "EXISTS (SELECT 1 FROM usage_requests AS r WHERE r.request_id = j.rid), "
        "EXISTS (SELECT 1 FROM apps AS a WHERE a.id = j.app), "
        "(SELECT c.period_id FROM credit_reservations AS c WHERE c.id = j.res), "
        "j.per IS NULL OR EXISTS (SELECT 1 FROM billing_periods AS b WHERE b.id = j.per) "
        "FROM JSON_TABLE(?, '$[*]' COLUMNS ("
        "i INT PATH '$.i', "
        "rid VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin PATH '$.rid', "
        "app VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PATH '$.app', "
        "res BIGINT UNSIGNED PATH '$.res', "
        "per BIGINT UNSIGNED PATH '$.per')) AS j";

/* Step 2. The JSON_TABLE columns are as wide as the table's, so a value is
 * checked by the table (strict mode), not cut on the way. */
static const char SQL_INSERT[] =
        "INSERT INTO usage_requests (request_id, app_id, key_id, endpoint, model_requested, "
        "model_billed, generation_id, prompt_tokens, completion_tokens, cached_tokens, "
        "reasoning_tokens, cost, cost_source, is_byok, status, error, streamed, aborted, "
        "ttft_us, duration_us, period_id, created_at) "
        "SELECT j.rid, j.app, j.key_id, j.endpoint, j.model_req, j.model_billed, j.gen, j.pt, "
        "j.ct, j.cat, j.rt, j.cost, j.src, j.byok, j.status, j.err, j.streamed, j.aborted, "
        "j.ttft, "
        "j.dur, j.per, UTC_TIMESTAMP(6) "
        "FROM JSON_TABLE(?, '$[*]' COLUMNS ("
        "rid VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin PATH '$.rid', "
        "app VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PATH '$.app', "
        "key_id BIGINT UNSIGNED PATH '$.key_id', "
        "endpoint VARCHAR(16) CHARACTER SET ascii PATH '$.endpoint', "
        "model_req VARCHAR(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PATH '$.model_req', "
        "model_billed VARCHAR(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin "
        "PATH '$.model_billed', "
        "gen VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PATH '$.gen', "
        "pt BIGINT PATH '$.pt', ct BIGINT PATH '$.ct', cat BIGINT PATH '$.cat', "
        "rt BIGINT PATH '$.rt', cost DECIMAL(20,10) PATH '$.cost', "
        "src VARCHAR(16) CHARACTER SET ascii PATH '$.src', byok TINYINT PATH '$.byok', "
        "status INT PATH '$.status', err VARCHAR(32) CHARACTER SET ascii PATH '$.err', "
        "streamed TINYINT PATH '$.streamed', "
        "aborted TINYINT PATH '$.aborted', ttft BIGINT PATH '$.ttft', dur BIGINT PATH '$.dur', "
        "per BIGINT UNSIGNED PATH '$.per')) AS j";

/* Step 3. The new rows, read back by their unique key. The groups come in
 * key order, so concurrent batches take the rollup rows' locks in one order.
 * Columns are qualified: in INSERT ... SELECT ... ON DUPLICATE KEY UPDATE a
 * bare name could mean either table. Two first requests of an app/day/model
 * can still deadlock on the new row's gap lock: db_tx_run runs it again. */
#define SQL_NEW_ROWS                                                                               \
	"FROM JSON_TABLE(?, '$[*]' COLUMNS ("                                                      \
	"rid VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin PATH '$.rid')) AS j "               \
	"STRAIGHT_JOIN usage_requests AS r FORCE INDEX (usage_requests_request) "                  \
	"ON r.request_id = j.rid "
#define SQL_ROLLUP_SUMS                                                                            \
	"COUNT(*), SUM(r.prompt_tokens), SUM(r.completion_tokens), SUM(r.cached_tokens), "         \
	"SUM(r.reasoning_tokens), SUM(r.cost), MAX(r.created_at) "
#define SQL_ROLLUP_ADD(t)                                                                          \
	"ON DUPLICATE KEY UPDATE " t ".requests = " t ".requests + VALUES(requests), " t           \
	".prompt_tokens = " t ".prompt_tokens + VALUES(prompt_tokens), " t                         \
	".completion_tokens = " t ".completion_tokens + VALUES(completion_tokens), " t             \
	".cached_tokens = " t ".cached_tokens + VALUES(cached_tokens), " t                         \
	".reasoning_tokens = " t ".reasoning_tokens + VALUES(reasoning_tokens), " t ".cost = " t   \
	".cost + VALUES(cost), " t ".updated_at = GREATEST(" t ".updated_at, VALUES(updated_at))"
static const char SQL_ROLLUP_DAILY[] =
        "INSERT INTO usage_daily (app_id, day, model, is_byok, requests, prompt_tokens, "
        "completion_tokens, cached_tokens, reasoning_tokens, cost, updated_at) "
        "SELECT r.app_id, DATE(r.created_at), r.model, r.is_byok, " SQL_ROLLUP_SUMS SQL_NEW_ROWS
        "GROUP BY r.app_id, DATE(r.created_at), r.model, r.is_byok "
        "ORDER BY r.app_id, DATE(r.created_at), r.model, r.is_byok " SQL_ROLLUP_ADD("usage_daily");
static const char SQL_ROLLUP_MONTHLY[] =
        "INSERT INTO usage_monthly (app_id, month, model, is_byok, requests, prompt_tokens, "
        "completion_tokens, cached_tokens, reasoning_tokens, cost, updated_at) "
        "SELECT r.app_id, DATE_FORMAT(r.created_at, '%Y-%m-01'), r.model, r.is_byok, "
        "" SQL_ROLLUP_SUMS SQL_NEW_ROWS
        "GROUP BY r.app_id, DATE_FORMAT(r.created_at, '%Y-%m-01'), r.model, r.is_byok "
        "ORDER BY r.app_id, DATE_FORMAT(r.created_at, '%Y-%m-01'), r.model, r.is_byok "
        "" SQL_ROLLUP_ADD("usage_monthly");

/* Step 4. Ids come sorted and distinct, so the walk locks in id order. */
#define SQL_IDS(t)                                                                                 \
	"FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) AS j "                   \
	"STRAIGHT_JOIN " t " FORCE INDEX (PRIMARY) "
static const char SQL_PERIODS_LOCK[] =
        "SELECT b.id " SQL_IDS("billing_periods AS b") "ON b.id = j.id FOR UPDATE";
/* A locking read: a plain one would answer from the snapshot the probe
 * opened, where a reservation released since may still be. A row not held
 * (sql/013_reservation_held.sql) counts nothing in reserved_usd. */
static const char SQL_RES_LOCK[] =
        "SELECT c.id, c.period_id, CAST(IF(c.held, c.amount_usd, 0) AS CHAR) " SQL_IDS(
                "credit_reservations AS c") "ON c.id = j.id FOR UPDATE";
static const char SQL_RES_DELETE[] =
        "DELETE c " SQL_IDS("credit_reservations AS c") "ON c.id = j.id";
static const char SQL_PERIODS_SETTLE[] =
        "UPDATE JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$.id', "
        "used DECIMAL(20,10) PATH '$.used', unres DECIMAL(20,10) PATH '$.unres')) AS j "
        "STRAIGHT_JOIN billing_periods AS b FORCE INDEX (PRIMARY) ON b.id = j.id "
        "SET b.used_usd = b.used_usd + j.used, b.reserved_usd = b.reserved_usd - j.unres, "
        "b.updated_at = UTC_TIMESTAMP(6)";

long long usage_charged_period(const struct usage_record *u)
{
	return u->period_id > 0 && !u->is_byok ? u->period_id : 0;
}

/* A period touched by the batch and what it gets. */
struct period_move {
	long long id;
	int64_t used;  /* costs charged */
	int64_t unres; /* reservations removed */
};

struct batch {
	const struct usage_record *recs;
	const size_t *idx;
	size_t n;
	enum usage_outcome *outcome;
	char *why;
	/* per k < n, filled by the probe */
	long long *res_period; /* the reservation's period while it exists, else 0 */
	/* scratch */
	size_t *fresh; /* positions k of the records to write */
	size_t n_fresh;
	struct period_move *moves;
	size_t n_moves;
};

static const char *or_null(const char *s)
{
	return s && s[0] ? s : NULL;
}

static void add_str(cJSON *o, const char *name, const char *s)
{
	if (s)
		cJSON_AddStringToObject(o, name, s);
	else
		cJSON_AddNullToObject(o, name);
}

/* 64-bit integers travel as JSON strings: a JSON number is a double here. */
static void add_int(cJSON *o, const char *name, long long v, bool is_null)
{
	char text[24];

	if (is_null) {
		cJSON_AddNullToObject(o, name);
		return;
	}
	snprintf(text, sizeof text, "%lld", v);
	cJSON_AddStringToObject(o, name, text);
}

/* The printed array; the caller frees it with cJSON_free. */
static char *print_array(cJSON *a)
{
	char *text = cJSON_PrintUnformatted(a);

	cJSON_Delete(a);
	if (!text)
		abort(); /* cJSON fails only when out of memory: the one OOM policy */
	return text;
}

static char *probe_json(const struct batch *b)
{
	cJSON *a = cJSON_CreateArray();
	size_t k;

	for (k = 0; k < b->n; k++) {
		const struct usage_record *u = &b->recs[b->idx[k]];
		long long per = usage_charged_period(u);
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "i", (double)k);
		add_str(o, "rid", u->request_id);
		add_str(o, "app", u->app_id);
		add_int(o, "res", u->reservation_id, u->reservation_id <= 0);
		add_int(o, "per", per, per == 0);
		cJSON_AddItemToArray(a, o);
	}
	return print_array(a);
}

static char *rows_json(const struct batch *b)
{
	cJSON *a = cJSON_CreateArray();
	char cost[MONEY_TEXT_LEN];
	size_t f;

	for (f = 0; f < b->n_fresh; f++) {
		const struct usage_record *u = &b->recs[b->idx[b->fresh[f]]];
		long long per = usage_charged_period(u);
		cJSON *o = cJSON_CreateObject();

		money_to_decimal(u->cost, cost);
		add_str(o, "rid", u->request_id);
		add_str(o, "app", u->app_id);
		add_int(o, "key_id", u->key_id, u->key_id <= 0);
		add_str(o, "endpoint", u->endpoint);
		add_str(o, "model_req", or_null(u->model_requested));
		add_str(o, "model_billed", or_null(u->model_billed));
		add_str(o, "gen", or_null(u->generation_id));
		add_int(o, "pt", u->prompt_tokens, false);
		add_int(o, "ct", u->completion_tokens, false);
		add_int(o, "cat", u->cached_tokens, false);
		add_int(o, "rt", u->reasoning_tokens, false);
		add_str(o, "cost", cost);
		add_str(o, "src", cost_source_name(u->cost_source));
		add_int(o, "byok", u->is_byok ? 1 : 0, false);
		add_int(o, "status", u->status, false);
		add_str(o, "err", or_null(u->error));
		add_int(o, "streamed", u->streamed ? 1 : 0, false);
		add_int(o, "aborted", u->aborted ? 1 : 0, false);
		add_int(o, "ttft", u->ttft_us, u->ttft_us <= 0);
		add_int(o, "dur", u->duration_us, false);
		add_int(o, "per", per, per == 0);
		cJSON_AddItemToArray(a, o);
	}
	return print_array(a);
}

static char *ids_json(const long long *ids, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < n; i++) {
		char text[24];

		snprintf(text, sizeof text, "%lld", ids[i]);
		cJSON_AddItemToArray(a, cJSON_CreateString(text));
	}
	return print_array(a);
}

static void refuse(struct batch *b, size_t k, enum usage_outcome o, const char *reason)
{
	const struct usage_record *u = &b->recs[b->idx[k]];

	b->outcome[b->idx[k]] = o;
	aigw_fail(b->why, AIGW_EINVAL, "usage of request %.40s refused: %s", u->request_id, reason);
	log_warn("%s", b->why);
}

/* Step 1: the outcomes known before writing, and the fresh records. */
static aigw_rc probe(struct db *db, struct batch *b, char *err)
{
	long long i = -1, dup = 0, app_ok = 0, res_period = 0, per_ok = 0;
	char *json = probe_json(b);
	size_t seen = 0, k;
	bool res_null;
	struct q q;
	aigw_rc rc;

	q_init(&q, db, SQL_PROBE);
	q_in_str(&q, json);
	q_out_int(&q, &i, NULL);
	q_out_int(&q, &dup, NULL);
	q_out_int(&q, &app_ok, NULL);
	q_out_int(&q, &res_period, &res_null);
	q_out_int(&q, &per_ok, NULL);
	rc = q_exec(&q, err);
	while (rc == AIGW_OK) {
		rc = q_fetch(&q, err);
		if (rc != AIGW_OK)
			break;
		if (i < 0 || (size_t)i >= b->n) {
			rc = aigw_fail(err, AIGW_EDB, "usage: the probe answered row %lld", i);
			break;
		}
		k = (size_t)i;
		seen++;
		b->res_period[k] = res_null ? 0 : res_period;
		if (dup)
			b->outcome[b->idx[k]] = USAGE_DUPLICATE;
		else if (!app_ok)
			refuse(b, k, USAGE_UNKNOWN_APP, "no such app");
		else if (!per_ok)
			refuse(b, k, USAGE_INVALID, "no such billing period");
	}
	q_end(&q);
	free(json);
	if (rc != AIGW_ENOTFOUND)
		return rc;
	if (seen != b->n)
		return aigw_fail(err, AIGW_EDB, "usage: the probe answered %zu of %zu rows", seen,
		                 b->n);
	for (k = 0; k < b->n; k++) {
		if (b->outcome[b->idx[k]] == USAGE_RECORDED)
			b->fresh[b->n_fresh++] = k;
	}
	return AIGW_OK;
}

/* Step 2. */
static aigw_rc insert_rows(struct db *db, struct batch *b, char *err)
{
	char *json = rows_json(b);
	unsigned long long n = 0;
	struct q q;
	aigw_rc rc;

	q_init(&q, db, SQL_INSERT);
	q_in_str(&q, json);
	rc = q_exec(&q, err);
	if (rc == AIGW_OK)
		n = q_affected(&q);
	q_end(&q);
	free(json);
	/* A row that appeared, or an app that went, since the probe: the next
	 * run's probe sees it. */
	if (rc == AIGW_EEXIST || rc == AIGW_ENOTFOUND)
		return aigw_fail(err, AIGW_ERETRY, "usage: the batch met a concurrent change: %s",
		                 rc == AIGW_EEXIST ? "a request recorded meanwhile"
		                                   : "an app gone");
	if (rc == AIGW_OK && n != b->n_fresh)
		rc = aigw_fail(err, AIGW_EDB, "usage: inserted %llu rows of %zu", n, b->n_fresh);
	return rc;
}

/* Step 3, for one rollup table. */
static aigw_rc rollup(struct db *db, const char *sql, const char *json, char *err)
{
	struct q q;
	aigw_rc rc;

	q_init(&q, db, sql);
	q_in_str(&q, json);
	rc = q_exec(&q, err);
	if (rc == AIGW_OK && q_affected(&q) == 0)
		rc = aigw_fail(err, AIGW_EDB, "usage: the rollup found none of the new rows");
	q_end(&q);
	return rc;
}

static aigw_rc rollups(struct db *db, const struct batch *b, char *err)
{
	cJSON *a = cJSON_CreateArray();
	char *json;
	aigw_rc rc;
	size_t f;

	for (f = 0; f < b->n_fresh; f++) {
		cJSON *o = cJSON_CreateObject();

		add_str(o, "rid", b->recs[b->idx[b->fresh[f]]].request_id);
		cJSON_AddItemToArray(a, o);
	}
	json = print_array(a);
	rc = rollup(db, SQL_ROLLUP_DAILY, json, err);
	if (rc == AIGW_OK)
		rc = rollup(db, SQL_ROLLUP_MONTHLY, json, err);
	free(json);
	return rc;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* Sorts ids[0..n) and drops repeats; returns the new count. */
static size_t sort_unique(long long *ids, size_t n)
{
	size_t i, m = 0;

	qsort(ids, n, sizeof *ids, cmp_ll);
	for (i = 0; i < n; i++) {
		if (m == 0 || ids[i] != ids[m - 1])
			ids[m++] = ids[i];
	}
	return m;
}

static struct period_move *move_of(struct batch *b, long long id)
{
	size_t lo = 0, hi = b->n_moves;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->moves[mid].id == id)
			return &b->moves[mid];
		if (b->moves[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Runs sql (SQL_PERIODS_LOCK, which answers one id per row locked, or
 * SQL_RES_DELETE) over ids; *count gets the rows locked or deleted. */
static aigw_rc over_ids(struct db *db, const char *sql, const long long *ids, size_t n,
                        unsigned long long *count, char *err)
{
	bool rows = sql == SQL_PERIODS_LOCK;
	char *json = ids_json(ids, n);
	long long id = 0;
	struct q q;
	aigw_rc rc;

	*count = 0;
	q_init(&q, db, sql);
	q_in_str(&q, json);
	if (rows)
		q_out_int(&q, &id, NULL);
	rc = q_exec(&q, err);
	if (rc == AIGW_OK && !rows)
		*count = q_affected(&q);
	while (rc == AIGW_OK && rows) {
		rc = q_fetch(&q, err);
		if (rc == AIGW_OK)
			++*count;
	}
	if (rc == AIGW_ENOTFOUND)
		rc = AIGW_OK;
	q_end(&q);
	free(json);
	return rc;
}

/* The periods to lock: those charged a cost and those of the reservations
 * the probe found. Fills b->moves, sorted by id, amounts zero. */
static aigw_rc periods_lock(struct db *db, struct batch *b, char *err)
{
	long long *ids = xmalloc(2 * b->n_fresh * sizeof *ids);
	unsigned long long locked;
	size_t n = 0, f, i;
	aigw_rc rc;

	for (f = 0; f < b->n_fresh; f++) {
		size_t k = b->fresh[f];
		const struct usage_record *u = &b->recs[b->idx[k]];

		if (usage_charged_period(u) > 0 && u->cost > 0)
			ids[n++] = usage_charged_period(u);
		if (b->res_period[k] > 0)
			ids[n++] = b->res_period[k];
	}
	n = sort_unique(ids, n);
	b->n_moves = n;
	for (i = 0; i < n; i++)
		b->moves[i] = (struct period_move){ids[i], 0, 0};
	rc = n == 0 ? AIGW_OK : over_ids(db, SQL_PERIODS_LOCK, ids, n, &locked, err);
	free(ids);
	/* The probe saw them, and periods are never deleted. */
	if (rc == AIGW_OK && n > 0 && locked != n)
		rc = aigw_fail(err, AIGW_EDB, "usage: locked %llu of %zu billing periods", locked,
		               n);
	return rc;
}

/* The batch's reservations that still exist, read under lock, their
 * amounts added to their periods' unres, then deleted. */
static aigw_rc reservations_remove(struct db *db, struct batch *b, char *err)
{
	long long *ids = xmalloc((b->n_fresh + 1) * sizeof *ids), *found;
	char amount[MONEY_TEXT_LEN], *json;
	long long id = 0, period = 0;
	unsigned long long deleted = 0;
	size_t n = 0, n_found = 0, f;
	struct period_move *m;
	int64_t units;
	struct q q;
	aigw_rc rc;

	for (f = 0; f < b->n_fresh; f++) {
		if (b->res_period[b->fresh[f]] > 0)
			ids[n++] = b->recs[b->idx[b->fresh[f]]].reservation_id;
	}
	n = sort_unique(ids, n);
	if (n == 0) {
		free(ids);
		return AIGW_OK;
	}
	found = xmalloc(n * sizeof *found);
	json = ids_json(ids, n);
	q_init(&q, db, SQL_RES_LOCK);
	q_in_str(&q, json);
	q_out_int(&q, &id, NULL);
	q_out_int(&q, &period, NULL);
	q_out_str(&q, amount, sizeof amount, NULL);
	rc = q_exec(&q, err);
	while (rc == AIGW_OK) {
		rc = q_fetch(&q, err);
		if (rc != AIGW_OK)
			break;
		m = move_of(b, period);
		if (!m || n_found == n) {
			/* Reservations never change period: the probe saw this one. */
			rc = aigw_fail(err, AIGW_EDB,
			               "usage: reservation %lld in unlocked period %lld", id,
			               period);
			break;
		}
		if (!money_parse(amount, &units) ||
		    __builtin_add_overflow(m->unres, units, &m->unres)) {
			rc = aigw_fail(err, AIGW_EDB, "reservation: bad amount '%.40s'", amount);
			break;
		}
		found[n_found++] = id;
	}
	q_end(&q);
	free(json);
	if (rc == AIGW_ENOTFOUND)
		rc = n_found == 0 ? AIGW_OK
		                  : over_ids(db, SQL_RES_DELETE, found, n_found, &deleted, err);
	if (rc == AIGW_OK && deleted != n_found)
		rc = aigw_fail(err, AIGW_EDB, "usage: deleted %llu of %zu reservations", deleted,
		               n_found);
	free(found);
	free(ids);
	return rc;
}

/* Step 4: lock, remove the reservations, one UPDATE for every period. */
static aigw_rc settle(struct db *db, struct batch *b, char *err)
{
	char used[MONEY_TEXT_LEN], unres[MONEY_TEXT_LEN], *json;
	size_t f, i, n = 0;
	struct period_move *m;
	cJSON *a;
	struct q q;
	aigw_rc rc;

	rc = periods_lock(db, b, err);
	if (rc == AIGW_OK)
		rc = reservations_remove(db, b, err);
	if (rc != AIGW_OK || b->n_moves == 0)
		return rc;
	for (f = 0; f < b->n_fresh; f++) {
		const struct usage_record *u = &b->recs[b->idx[b->fresh[f]]];

		if (usage_charged_period(u) == 0 || u->cost <= 0)
			continue;
		m = move_of(b, usage_charged_period(u));
		if (!m || __builtin_add_overflow(m->used, u->cost, &m->used))
			return aigw_fail(err, AIGW_EINVAL, "usage: the batch's costs overflow");
	}
	a = cJSON_CreateArray();
	for (i = 0; i < b->n_moves; i++) {
		cJSON *o;

		if (b->moves[i].used == 0 && b->moves[i].unres == 0)
			continue;
		money_to_decimal(b->moves[i].used, used);
		money_to_decimal(b->moves[i].unres, unres);
		o = cJSON_CreateObject();
		add_int(o, "id", b->moves[i].id, false);
		add_str(o, "used", used);
		add_str(o, "unres", unres);
		cJSON_AddItemToArray(a, o);
		n++;
	}
	json = print_array(a);
	q_init(&q, db, SQL_PERIODS_SETTLE);
	q_in_str(&q, json);
	rc = n == 0 ? AIGW_OK : q_exec(&q, err);
	if (rc == AIGW_OK && n > 0 && q_affected(&q) != n)
		rc = aigw_fail(err, AIGW_EDB, "usage: settled %llu of %zu billing periods",
		               q_affected(&q), n);
	q_end(&q);
	free(json);
	return rc;
}

/* The transaction body; run again whole after a conflict, so it starts by
 * clearing what a lost run left. */
static aigw_rc batch_body(struct db *db, void *arg, char *err)
{
	struct batch *b = arg;
	size_t k;
	aigw_rc rc;

	for (k = 0; k < b->n; k++) {
		b->outcome[b->idx[k]] = USAGE_RECORDED;
		b->res_period[k] = 0;
	}
	b->n_fresh = 0;
	b->n_moves = 0;
	rc = probe(db, b, err);
	if (rc != AIGW_OK || b->n_fresh == 0)
		return rc;
	rc = insert_rows(db, b, err);
	if (rc == AIGW_OK)
		rc = rollups(db, b, err);
	if (rc == AIGW_OK)
		rc = settle(db, b, err);
	return rc;
}

aigw_rc usage_tx_run(struct db *db, const struct usage_record *recs, const size_t *idx, size_t n,
                     enum usage_outcome *outcome, char *why, char *err)
{
	struct batch b = {0};
	aigw_rc rc;

	if (n == 0)
		return AIGW_OK;
	b.recs = recs;
	b.idx = idx;
	b.n = n;
	b.outcome = outcome;
	b.why = why;
	b.res_period = xcalloc(n, sizeof *b.res_period);
	b.fresh = xcalloc(n, sizeof *b.fresh);
	b.moves = xcalloc(2 * n, sizeof *b.moves);
	rc = db_tx_run(db, n == 1 ? "usage of request" : "usage batch from request",
	               recs[idx[0]].request_id, batch_body, &b, err);
	free(b.moves);
	free(b.fresh);
	free(b.res_period);
	return rc;
}
