/* The billing and usage invariants (consistency.h), one grouped query each,
 * all inside one read-only REPEATABLE READ transaction. The database does
 * the sums and the comparisons in DECIMAL; only the drifts come back, at
 * most as many as the caller lists, with the total counted by a window
 * function, so a table of millions of rows is read by a few scans and
 * never row by row. */
#include "config.h"
#include "consistency.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "db.h"
#include "stmt.h"
#include "tx.h"

/* More than anyone reads; the array is allocated whole. */
#define CONSISTENCY_LIST_CAP 10000

/* The next transaction's characteristics (db_tx_run's START TRANSACTION
 * takes them): whatever the server's default isolation, every read of the
 * check sees the snapshot of the first one. */
static const char SQL_SNAPSHOT[] = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";

/* The first read: it also fixes the snapshot. */
static const char SQL_COUNTS[] =
        "SELECT (SELECT COUNT(*) FROM billing_periods WHERE (? IS NULL OR app_id = ?)), "
        "(SELECT COUNT(*) FROM usage_daily WHERE (? IS NULL OR app_id = ?)), "
        "(SELECT COUNT(*) FROM usage_monthly WHERE (? IS NULL OR app_id = ?))";

/* Periods whose reserved_usd is not the sum of their reservations (none: 0).
 * Parameters: app x2 (the reservations' periods), app x2, limit. */
static const char SQL_RESERVED[] =
        "SELECT p.id, p.app_id, CAST(COALESCE(r.amount, 0) AS CHAR), "
        "CAST(p.reserved_usd AS CHAR), CAST(COALESCE(r.n, 0) AS SIGNED), COUNT(*) OVER () "
        "FROM billing_periods p LEFT JOIN ("
        "SELECT c.period_id, SUM(c.amount_usd) AS amount, COUNT(*) AS n "
        "FROM credit_reservations c JOIN billing_periods q ON q.id = c.period_id "
        "WHERE (? IS NULL OR q.app_id = ?) GROUP BY c.period_id"
        ") r ON r.period_id = p.id "
        "WHERE (? IS NULL OR p.app_id = ?) AND p.reserved_usd <> COALESCE(r.amount, 0) "
        "ORDER BY p.id LIMIT ?";

/* Kind 0: periods whose used_usd is not the cost of their metered rows, or
 * that BYOK rows name. Kind 1: rows naming a period that does not exist
 * (usage_requests.period_id has no foreign key). Parameters: app x2 (rows),
 * app x2 (periods), app x2 (rows), limit. */
static const char SQL_USED[] =
        "SELECT kind, period_id, app_id, expected, actual, n, byok, COUNT(*) OVER () FROM ("
        "SELECT 0 AS kind, p.id AS period_id, p.app_id AS app_id, "
        "CAST(COALESCE(u.cost, 0) AS CHAR) AS expected, CAST(p.used_usd AS CHAR) AS actual, "
        "CAST(COALESCE(u.n, 0) AS SIGNED) AS n, CAST(COALESCE(u.byok, 0) AS SIGNED) AS byok "
        "FROM billing_periods p LEFT JOIN ("
        "SELECT period_id, SUM(IF(is_byok, 0, cost)) AS cost, SUM(is_byok = 0) AS n, "
        "SUM(is_byok <> 0) AS byok FROM usage_requests "
        "WHERE period_id IS NOT NULL AND (? IS NULL OR app_id = ?) GROUP BY period_id"
        ") u ON u.period_id = p.id "
        "WHERE (? IS NULL OR p.app_id = ?) AND (p.used_usd <> COALESCE(u.cost, 0) OR "
        "COALESCE(u.byok, 0) > 0) "
        "UNION ALL "
        "SELECT 1, u.period_id, MIN(u.app_id), CAST(SUM(IF(u.is_byok, 0, u.cost)) AS CHAR), '', "
        "CAST(SUM(u.is_byok = 0) AS SIGNED), CAST(SUM(u.is_byok <> 0) AS SIGNED) "
        "FROM usage_requests u LEFT JOIN billing_periods p ON p.id = u.period_id "
        "WHERE u.period_id IS NOT NULL AND p.id IS NULL AND (? IS NULL OR u.app_id = ?) "
        "GROUP BY u.period_id"
        ") d ORDER BY kind, period_id LIMIT ?";

/* A rollup against the rows it sums, both ways, in one pass over each: the
 * rows grouped by the rollup's key (ROW_DAY: the row's day or month) and
 * the rollup rows, put side by side (r* from the rows, d* from the rollup)
 * and grouped again by the key; a key is a drift when one side is missing
 * or a sum differs. Parameters: app x2 (rows), app x2 (rollup), limit. */
#define SQL_ROLLUP(ROW_DAY, TABLE, DAY)                                                            \
	"SELECT app_id, CAST(day AS CHAR), model, is_byok, "                                       \
	"CAST(SUM(rn) AS SIGNED), CAST(SUM(rp) AS SIGNED), CAST(SUM(rc) AS SIGNED), "              \
	"CAST(SUM(rk) AS SIGNED), CAST(SUM(rr) AS SIGNED), CAST(SUM(rcost) AS CHAR), "             \
	"CAST(SUM(dn) AS SIGNED), CAST(SUM(dp) AS SIGNED), CAST(SUM(dc) AS SIGNED), "              \
	"CAST(SUM(dk) AS SIGNED), CAST(SUM(dr) AS SIGNED), CAST(SUM(dcost) AS CHAR), "             \
	"CAST(SUM(in_r) AS SIGNED), CAST(SUM(in_d) AS SIGNED), COUNT(*) OVER () FROM ("            \
	"SELECT app_id, " ROW_DAY " AS day, model, is_byok, COUNT(*) AS rn, "                      \
	"SUM(prompt_tokens) AS rp, SUM(completion_tokens) AS rc, SUM(cached_tokens) AS rk, "       \
	"SUM(reasoning_tokens) AS rr, SUM(cost) AS rcost, 0 AS dn, 0 AS dp, 0 AS dc, 0 AS dk, "    \
	"0 AS dr, 0 AS dcost, 1 AS in_r, 0 AS in_d FROM usage_requests "                           \
	"WHERE (? IS NULL OR app_id = ?) GROUP BY app_id, " ROW_DAY ", model, is_byok "            \
	"UNION ALL "                                                                               \
	"SELECT app_id, " DAY ", model, is_byok, 0, 0, 0, 0, 0, 0, requests, prompt_tokens, "      \
	"completion_tokens, cached_tokens, reasoning_tokens, cost, 0, 1 FROM " TABLE " "           \
	"WHERE (? IS NULL OR app_id = ?)) u GROUP BY app_id, day, model, is_byok "                 \
	"HAVING SUM(in_r) = 0 OR SUM(in_d) = 0 OR SUM(rn) <> SUM(dn) OR SUM(rp) <> SUM(dp) OR "    \
	"SUM(rc) <> SUM(dc) OR SUM(rk) <> SUM(dk) OR SUM(rr) <> SUM(dr) OR "                       \
	"SUM(rcost) <> SUM(dcost) ORDER BY app_id, day, model, is_byok LIMIT ?"

static const char SQL_DAILY[] = SQL_ROLLUP("DATE(created_at)", "usage_daily", "day");
static const char SQL_MONTHLY[] =
        SQL_ROLLUP("CAST(DATE_FORMAT(created_at, '%Y-%m-01') AS DATE)", "usage_monthly", "month");

struct check_run {
	const char *app_id; /* NULL: every app */
	size_t list_max;
	struct consistency_report *out;
	int runs;
};

/* The app filter of the queries, (? IS NULL OR app_id = ?), takes the app
 * id twice (NULL: every app). MariaDB plans a prepared statement at each
 * execution with its values, so one app is read through the app's index. */
static void in_app(struct q *q, const char *app_id)
{
	q_in_str(q, app_id);
	q_in_str(q, app_id);
}

/* The LIMIT of a drift query: what may still be listed, and at least one
 * row so that the window count comes back. */
static long long limit_of(const struct check_run *c)
{
	size_t room = c->list_max - c->out->n_listed;

	return room > 0 ? (long long)room : 1;
}

/* Counts one fetched drift (total: its query's window count, the same on
 * every row) and lists it while there is room. */
static void take(struct check_run *c, const struct drift *d, long long total, bool first)
{
	struct consistency_report *r = c->out;

	if (first)
		r->drifts += total;
	if (r->n_listed < c->list_max)
		r->listed[r->n_listed++] = *d;
}

static aigw_rc read_counts(struct db *db, struct check_run *c, char *err)
{
	struct q q;
	aigw_rc rc;

	q_init(&q, db, SQL_COUNTS);
	in_app(&q, c->app_id);
	in_app(&q, c->app_id);
	in_app(&q, c->app_id);
	q_out_int(&q, &c->out->periods, NULL);
	q_out_int(&q, &c->out->daily_rows, NULL);
	q_out_int(&q, &c->out->monthly_rows, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	return rc;
}

/* Runs q (its parameters bound, its columns bound to the caller's drift d
 * and *total) and takes every row; fix, when not NULL, completes d from
 * the columns read alongside it. */
static aigw_rc fetch_drifts(struct q *q, struct check_run *c, struct drift *d, long long *total,
                            void (*fix)(struct drift *d, const long long *cols),
                            const long long *cols, char *err)
{
	bool first = true;
	aigw_rc rc = q_exec(q, err);

	while (rc == AIGW_OK) {
		rc = q_fetch(q, err);
		if (rc != AIGW_OK)
			break;
		if (fix)
			fix(d, cols);
		take(c, d, *total, first);
		first = false;
	}
	q_end(q);
	return rc == AIGW_ENOTFOUND ? AIGW_OK : rc;
}

static aigw_rc check_reserved(struct db *db, struct check_run *c, char *err)
{
	struct drift d;
	long long total = 0;
	struct q q;

	memset(&d, 0, sizeof d);
	d.kind = DRIFT_RESERVED;
	q_init(&q, db, SQL_RESERVED);
	in_app(&q, c->app_id);
	in_app(&q, c->app_id);
	q_in_int(&q, limit_of(c));
	q_out_int(&q, &d.period_id, NULL);
	q_out_str(&q, d.app_id, sizeof d.app_id, NULL);
	q_out_str(&q, d.expected, sizeof d.expected, NULL);
	q_out_str(&q, d.actual, sizeof d.actual, NULL);
	q_out_int(&q, &d.items, NULL);
	q_out_int(&q, &total, NULL);
	return fetch_drifts(&q, c, &d, &total, NULL, NULL, err);
}

/* cols[0]: the query's kind column. */
static void fix_used(struct drift *d, const long long *cols)
{
	d->kind = cols[0] == 0 ? DRIFT_USED : DRIFT_NO_PERIOD;
}

static aigw_rc check_used(struct db *db, struct check_run *c, char *err)
{
	struct drift d;
	long long total = 0, kind = 0;
	struct q q;

	memset(&d, 0, sizeof d);
	q_init(&q, db, SQL_USED);
	in_app(&q, c->app_id);
	in_app(&q, c->app_id);
	in_app(&q, c->app_id);
	q_in_int(&q, limit_of(c));
	q_out_int(&q, &kind, NULL);
	q_out_int(&q, &d.period_id, NULL);
	q_out_str(&q, d.app_id, sizeof d.app_id, NULL);
	q_out_str(&q, d.expected, sizeof d.expected, NULL);
	q_out_str(&q, d.actual, sizeof d.actual, NULL);
	q_out_int(&q, &d.items, NULL);
	q_out_int(&q, &d.byok_rows, NULL);
	q_out_int(&q, &total, NULL);
	return fetch_drifts(&q, c, &d, &total, fix_used, &kind, err);
}

static void out_sums(struct q *q, struct drift_sums *s)
{
	q_out_int(q, &s->requests, NULL);
	q_out_int(q, &s->prompt_tokens, NULL);
	q_out_int(q, &s->completion_tokens, NULL);
	q_out_int(q, &s->cached_tokens, NULL);
	q_out_int(q, &s->reasoning_tokens, NULL);
	q_out_str(q, s->cost, sizeof s->cost, NULL);
}

/* cols: the rollup's byok flag, then how many rows and rollup rows the
 * key has. */
static void fix_rollup(struct drift *d, const long long *cols)
{
	d->is_byok = cols[0] != 0;
	d->has_rows = cols[1] > 0;
	d->has_rollup = cols[2] > 0;
}

static aigw_rc check_rollup(struct db *db, struct check_run *c, enum drift_kind kind,
                            const char *sql, char *err)
{
	struct drift d;
	long long total = 0, cols[3] = {0, 0, 0};
	struct q q;

	memset(&d, 0, sizeof d);
	d.kind = kind;
	q_init(&q, db, sql);
	in_app(&q, c->app_id);
	in_app(&q, c->app_id);
	q_in_int(&q, limit_of(c));
	q_out_str(&q, d.app_id, sizeof d.app_id, NULL);
	q_out_str(&q, d.day, sizeof d.day, NULL);
	q_out_str(&q, d.model, sizeof d.model, NULL);
	q_out_int(&q, &cols[0], NULL);
	out_sums(&q, &d.want);
	out_sums(&q, &d.got);
	q_out_int(&q, &cols[1], NULL);
	q_out_int(&q, &cols[2], NULL);
	q_out_int(&q, &total, NULL);
	return fetch_drifts(&q, c, &d, &total, fix_rollup, cols, err);
}

static aigw_rc check_body(struct db *db, void *arg, char *err)
{
	struct check_run *c = arg;
	aigw_rc rc;

	/* A second run is on a new connection, without the snapshot's
	 * characteristics: give up rather than check under others. */
	if (c->runs++ > 0)
		return aigw_fail(err, AIGW_EDB,
		                 "database connection lost during the check; run it again");
	c->out->drifts = 0;
	c->out->n_listed = 0;
	rc = read_counts(db, c, err);
	if (rc == AIGW_OK)
		rc = check_reserved(db, c, err);
	if (rc == AIGW_OK)
		rc = check_used(db, c, err);
	if (rc == AIGW_OK)
		rc = check_rollup(db, c, DRIFT_DAILY, SQL_DAILY, err);
	if (rc == AIGW_OK)
		rc = check_rollup(db, c, DRIFT_MONTHLY, SQL_MONTHLY, err);
	return rc;
}

aigw_rc db_consistency_check(struct db *db, const char *app_id, size_t list_max,
                             struct consistency_report *out, char *err)
{
	struct check_run c;
	struct q q;
	aigw_rc rc;

	memset(out, 0, sizeof *out);
	if (list_max > CONSISTENCY_LIST_CAP)
		list_max = CONSISTENCY_LIST_CAP;
	if (list_max > 0)
		out->listed = xcalloc(list_max, sizeof *out->listed);
	c.app_id = app_id;
	c.list_max = list_max;
	c.out = out;
	c.runs = 0;
	/* Pinned: the characteristics belong to this connection, so it must
	 * not be given back nor silently replaced before START TRANSACTION. */
	db_pin(db, true);
	q_init(&q, db, SQL_SNAPSHOT);
	rc = q_exec(&q, err);
	q_end(&q);
	if (rc == AIGW_OK)
		rc = db_tx_run(db, "consistency check", app_id, check_body, &c, err);
	db_pin(db, false);
	if (rc != AIGW_OK)
		consistency_report_free(out);
	return rc;
}

void consistency_report_free(struct consistency_report *r)
{
	if (!r)
		return;
	free(r->listed);
	memset(r, 0, sizeof *r);
}
