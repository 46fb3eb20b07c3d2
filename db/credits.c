/* Billing periods and credit reservations (credits.h). Periods are found or
 * made on demand from the app's plan and billing anchor (period.c does the
 * arithmetic); a reservation is a row written not held, then one
 * conditional UPDATE on the period row that holds it, so concurrent requests
 * can never together pass the allowance, and the one write on the shared
 * row is a single autocommitted statement (no transaction open across round
 * trips: on a Galera cluster, where every node writes, that is what keeps
 * certification conflicts rare and cheap to retry).
 *
 * Lock order, the same in every transaction that touches credits (here, in
 * usage_tx.c's settlement and in apps.c's plan change): the apps row (shared,
 * or exclusive for a plan change), then the billing_periods row, then
 * credit_reservations rows. Deadlocks left over are retried whole. */
#include "config.h"
#include "credits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "db.h"
#include "log.h"
#include "money.h"
#include "period.h"
#include "stmt.h"
#include "tx.h"

/* The app's plan, billing anchor and the database clock, in one read. A
 * plan change that slips in after it closes the period found: the
 * reservation's UPDATE then matches nothing and the next period is found. */
static const char SQL_APP_PLAN[] =
        "SELECT a.plan_id, a.billing_anchor, p.period, CAST(p.credits_usd AS CHAR), "
        "p.overage_allowed, UTC_TIMESTAMP(6) "
        "FROM apps AS a JOIN plans AS p ON p.id = a.plan_id WHERE a.id = ?";

static const char SQL_LIFETIME_FIND[] =
        "SELECT id FROM billing_periods WHERE app_id = ? AND plan_id = ? AND "
        "period_kind = 'lifetime' ORDER BY period_start LIMIT 1";
static const char SQL_PERIOD_REOPEN[] =
        "UPDATE billing_periods SET period_end = NULL, updated_at = UTC_TIMESTAMP(6) "
        "WHERE id = ? AND period_end IS NOT NULL";
/* ON DUPLICATE KEY UPDATE rather than INSERT IGNORE: on an existing row it
 * takes an exclusive lock where INSERT IGNORE takes a shared one, and two
 * transactions upgrading shared locks on the same new row deadlock. */
static const char SQL_PERIOD_MAKE[] =
        "INSERT INTO billing_periods (app_id, plan_id, period_kind, period_start, period_end, "
        "allowance_usd, overage_allowed, used_usd, reserved_usd, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)) "
        "ON DUPLICATE KEY UPDATE id = id";
#define SQL_PERIOD_COLS                                                                            \
	"SELECT id, app_id, plan_id, period_start, period_end, CAST(allowance_usd AS CHAR), "      \
	"overage_allowed, CAST(used_usd AS CHAR), CAST(reserved_usd AS CHAR) "                     \
	"FROM billing_periods "
static const char SQL_PERIOD_BY_START[] = SQL_PERIOD_COLS "WHERE app_id = ? AND period_start = ?";
static const char SQL_PERIOD_BY_ID[] = SQL_PERIOD_COLS "WHERE id = ?";
static const char SQL_PERIOD_LOCK[] = "SELECT id FROM billing_periods WHERE id = ? FOR UPDATE";

/* Expired reservations of a period, removed; RETURNING gives exactly the
 * amounts this statement removed, whatever else ran concurrently. Only held
 * rows count in reserved_usd. */
static const char SQL_RES_EXPIRED[] =
        "DELETE FROM credit_reservations WHERE period_id = ? AND expires_at <= "
        "COALESCE(CAST(? AS DATETIME(6)), UTC_TIMESTAMP(6)) "
        "RETURNING CAST(IF(held, amount_usd, 0) AS CHAR)";
/* Periods with expired reservations (the cleanup's work list), and whether
 * one period has any (a refused reservation asks before releasing them). */
static const char SQL_PERIODS_EXPIRED[] =
        "SELECT DISTINCT period_id FROM credit_reservations WHERE expires_at <= "
        "UTC_TIMESTAMP(6) ORDER BY period_id LIMIT ?";
static const char SQL_PERIOD_HAS_EXPIRED[] =
        "SELECT COUNT(*) FROM credit_reservations WHERE period_id = ? AND expires_at <= "
        "COALESCE(CAST(? AS DATETIME(6)), UTC_TIMESTAMP(6))";
static const char SQL_RES_DELETE[] = "DELETE FROM credit_reservations WHERE id = ? "
                                     "RETURNING period_id, CAST(IF(held, amount_usd, 0) AS CHAR)";
static const char SQL_PERIOD_UNRESERVE[] =
        "UPDATE billing_periods SET reserved_usd = reserved_usd - CAST(? AS DECIMAL(20,10)), "
        "updated_at = UTC_TIMESTAMP(6) WHERE id = ?";
/* The reservation's two steps (see 013_reservation_held.sql). The row first,
 * not held: a new row, which no other writer touches. */
static const char SQL_RES_INSERT[] =
        "INSERT INTO credit_reservations (period_id, app_id, request_id, amount_usd, held, "
        "created_at, expires_at) VALUES (?, ?, ?, ?, 0, "
        "COALESCE(CAST(? AS DATETIME(6)), UTC_TIMESTAMP(6)), "
        "COALESCE(CAST(? AS DATETIME(6)), UTC_TIMESTAMP(6)) + INTERVAL ? SECOND)";
/* Then the one write on the shared period row: the amount added and the row
 * marked held in one statement, only while the allowance covers it and the
 * period is still open (a plan change closes it). Autocommitted: nothing
 * stays locked between round trips, and a Galera node retries a single
 * autocommitted statement that fails certification by itself
 * (wsrep_retry_autocommit). Run again it matches nothing (held = 1). */
static const char SQL_RES_HOLD[] =
        "UPDATE credit_reservations AS c STRAIGHT_JOIN billing_periods AS b ON b.id = c.period_id "
        "SET b.reserved_usd = b.reserved_usd + c.amount_usd, b.updated_at = UTC_TIMESTAMP(6), "
        "c.held = 1 WHERE c.id = ? AND c.held = 0 AND (b.period_end IS NULL OR b.period_end > "
        "COALESCE(CAST(? AS DATETIME(6)), UTC_TIMESTAMP(6))) AND (b.allowance_usd IS NULL OR "
        "b.overage_allowed OR b.used_usd + b.reserved_usd + c.amount_usd <= b.allowance_usd)";
static const char SQL_RES_BY_REQUEST[] =
        "SELECT id, period_id, held FROM credit_reservations WHERE request_id = ?";
static const char SQL_RES_HELD[] = "SELECT held FROM credit_reservations WHERE id = ?";
static const char SQL_RES_DROP_UNHELD[] =
        "DELETE FROM credit_reservations WHERE id = ? AND held = 0";

/* Money text of the database (NULL: unlimited where allowed) to units. */
static aigw_rc money_col(const char *text, bool is_null, const char *what, int64_t *out, char *err)
{
	*out = 0;
	if (is_null)
		return AIGW_OK;
	if (!money_parse(text, out))
		return aigw_fail(err, AIGW_EDB, "billing period: bad %s '%.40s'", what, text);
	return AIGW_OK;
}

/* Reads one billing_periods row by sql (which takes the given params: an
 * id, or app and start). AIGW_ENOTFOUND when there is none. */
static aigw_rc period_read(struct db *db, const char *sql, long long id, const char *app_id,
                           const char *start, struct billing_period *out, char *err)
{
	char allowance[MONEY_TEXT_LEN], used[MONEY_TEXT_LEN], reserved[MONEY_TEXT_LEN];
	bool allowance_null = false;
	long long overage = 0;
	struct q q;
	aigw_rc rc;

	memset(out, 0, sizeof *out);
	q_init(&q, db, sql);
	if (app_id) {
		q_in_str(&q, app_id);
		q_in_str(&q, start);
	} else {
		q_in_int(&q, id);
	}
	q_out_int(&q, &out->id, NULL);
	q_out_str(&q, out->app_id, sizeof out->app_id, NULL);
	q_out_str(&q, out->plan, sizeof out->plan, NULL);
	q_out_time(&q, out->period_start, NULL);
	q_out_time(&q, out->period_end, NULL);
	q_out_str(&q, allowance, sizeof allowance, &allowance_null);
	q_out_int(&q, &overage, NULL);
	q_out_str(&q, used, sizeof used, NULL);
	q_out_str(&q, reserved, sizeof reserved, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc != AIGW_OK)
		return rc;
	out->unlimited = allowance_null;
	out->overage_allowed = overage != 0;
	rc = money_col(allowance, allowance_null, "allowance", &out->allowance, err);
	if (rc == AIGW_OK)
		rc = money_col(used, false, "used", &out->used, err);
	if (rc == AIGW_OK)
		rc = money_col(reserved, false, "reserved", &out->reserved, err);
	return rc;
}

struct app_plan {
	char plan[17];
	char anchor[DB_TIME_LEN];
	char kind[16];
	char credits[MONEY_TEXT_LEN]; /* exact text, NULL: unlimited */
	bool unlimited;
	long long overage;
	char now[DB_TIME_LEN];
};

static aigw_rc app_plan_read(struct db *db, const char *app_id, struct app_plan *ap, char *err)
{
	struct q q;
	aigw_rc rc;

	memset(ap, 0, sizeof *ap);
	q_init(&q, db, SQL_APP_PLAN);
	q_in_str(&q, app_id);
	q_out_str(&q, ap->plan, sizeof ap->plan, NULL);
	q_out_time(&q, ap->anchor, NULL);
	q_out_str(&q, ap->kind, sizeof ap->kind, NULL);
	q_out_str(&q, ap->credits, sizeof ap->credits, &ap->unlimited);
	q_out_int(&q, &ap->overage, NULL);
	q_out_time(&q, ap->now, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc == AIGW_ENOTFOUND)
		aigw_fail(err, rc, "no app '%.64s'", app_id);
	return rc;
}

/* The now of a request: the override (tests) in canonical form, or the
 * database clock already read. */
static aigw_rc now_pick(const char *override, struct app_plan *ap, char *err)
{
	struct utc_time t;

	if (!override || !override[0])
		return AIGW_OK;
	if (!utc_time_parse(override, &t))
		return aigw_fail(err, AIGW_EINVAL, "bad time '%.40s'", override);
	utc_time_format(&t, ap->now);
	return AIGW_OK;
}

/* The app's lifetime period of its plan, if it ever had one: reopened when
 * a plan change had closed it (the app came back to the plan). */
static aigw_rc lifetime_find(struct db *db, const char *app_id, const struct app_plan *ap,
                             struct billing_period *out, char *err)
{
	long long id = 0;
	struct q q;
	aigw_rc rc;

	q_init(&q, db, SQL_LIFETIME_FIND);
	q_in_str(&q, app_id);
	q_in_str(&q, ap->plan);
	q_out_int(&q, &id, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc != AIGW_OK)
		return rc;
	rc = period_read(db, SQL_PERIOD_BY_ID, id, NULL, NULL, out, err);
	if (rc != AIGW_OK || !out->period_end[0])
		return rc;
	q_init(&q, db, SQL_PERIOD_REOPEN);
	q_in_int(&q, id);
	rc = q_exec(&q, err);
	q_end(&q);
	if (rc == AIGW_OK)
		out->period_end[0] = '\0';
	return rc;
}

/* Finds or makes the app's period containing now, with plain reads (no
 * lock). *now_out gets the now used. */
static aigw_rc period_find(struct db *db, const char *app_id, const char *now_override,
                           struct billing_period *out, char now_out[DB_TIME_LEN], char *err)
{
	char start[UTC_TIME_LEN], end[UTC_TIME_LEN];
	enum period_kind kind;
	struct app_plan ap;
	struct q q;
	aigw_rc rc;

	memset(out, 0, sizeof *out);
	rc = app_plan_read(db, app_id, &ap, err);
	if (rc == AIGW_OK)
		rc = now_pick(now_override, &ap, err);
	if (rc != AIGW_OK)
		return rc;
	snprintf(now_out, DB_TIME_LEN, "%s", ap.now);
	if (!period_kind_parse(ap.kind, &kind))
		return aigw_fail(err, AIGW_EDB, "plan '%s' has an unknown period '%.16s'", ap.plan,
		                 ap.kind);

	if (kind == PERIOD_LIFETIME) {
		rc = lifetime_find(db, app_id, &ap, out, err);
		if (rc != AIGW_ENOTFOUND)
			return rc;
		snprintf(start, sizeof start, "%s", ap.anchor);
		end[0] = '\0';
	} else if (!period_containing_text(kind, ap.anchor, ap.now, start, end)) {
		return aigw_fail(err, AIGW_EDB, "no billing period for anchor %s at %s", ap.anchor,
		                 ap.now);
	}

	/* The common case: the period exists. (The insert is not tried every
	 * time: each try of INSERT ... ON DUPLICATE KEY UPDATE uses up an
	 * auto-increment id.) */
	rc = period_read(db, SQL_PERIOD_BY_START, 0, app_id, start, out, err);
	if (rc != AIGW_ENOTFOUND)
		return rc;

	q_init(&q, db, SQL_PERIOD_MAKE);
	q_in_str(&q, app_id);
	q_in_str(&q, ap.plan);
	q_in_str(&q, ap.kind);
	q_in_str(&q, start);
	q_in_str(&q, end[0] ? end : NULL);
	q_in_str(&q, ap.unlimited ? NULL : ap.credits);
	q_in_int(&q, ap.overage ? 1 : 0);
	rc = q_exec(&q, err);
	q_end(&q);
	if (rc != AIGW_OK)
		return rc;
	rc = period_read(db, SQL_PERIOD_BY_START, 0, app_id, start, out, err);
	if (rc == AIGW_ENOTFOUND)
		rc = aigw_fail(err, AIGW_EDB, "billing period of %.64s at %s vanished", app_id,
		               start);
	return rc;
}

struct period_ask {
	const char *app_id;
	const char *now_override;
	struct billing_period *out;
};

static aigw_rc period_current_body(struct db *db, void *arg, char *err)
{
	struct period_ask *a = arg;
	char now[DB_TIME_LEN];

	return period_find(db, a->app_id, a->now_override, a->out, now, err);
}

aigw_rc db_period_current(struct db *db, const char *app_id, const char *now_override,
                          struct billing_period *out, char *err)
{
	struct period_ask a = {app_id, now_override, out};

	return db_retry_run(db, "billing period of", app_id, period_current_body, &a, err);
}

/* Removes the period's expired reservations and takes the sum of the held
 * ones out of reserved_usd. The period row must be locked by the caller.
 * now NULL: the database clock. *n_out (may be NULL) gets how many went. */
static aigw_rc release_expired(struct db *db, long long period_id, const char *now, int *n_out,
                               char *err)
{
	char amount[MONEY_TEXT_LEN], total[MONEY_TEXT_LEN];
	int64_t units, sum = 0;
	struct q q;
	aigw_rc rc;
	int n = 0;

	if (n_out)
		*n_out = 0;
	q_init(&q, db, SQL_RES_EXPIRED);
	q_in_int(&q, period_id);
	q_in_str(&q, now);
	q_out_str(&q, amount, sizeof amount, NULL);
	rc = q_exec(&q, err);
	while (rc == AIGW_OK) {
		rc = q_fetch(&q, err);
		if (rc != AIGW_OK)
			break;
		if (!money_parse(amount, &units) || __builtin_add_overflow(sum, units, &sum))
			rc = aigw_fail(err, AIGW_EDB, "reservation: bad amount '%.40s'", amount);
		n++;
	}
	q_end(&q);
	if (rc != AIGW_ENOTFOUND)
		return rc;
	if (n_out)
		*n_out = n;
	if (n == 0 || sum == 0)
		return AIGW_OK;

	money_to_decimal(sum, total);
	q_init(&q, db, SQL_PERIOD_UNRESERVE);
	q_in_str(&q, total);
	q_in_int(&q, period_id);
	rc = q_exec(&q, err);
	q_end(&q);
	if (rc != AIGW_OK)
		return rc;
	log_info("billing period %lld: released %d expired reservation(s), %s USD", period_id, n,
	         total);
	return AIGW_OK;
}

struct expire_ask {
	long long period_id;
	const char *now;
	int released;
};

static aigw_rc expire_body(struct db *db, void *arg, char *err)
{
	struct expire_ask *a = arg;
	aigw_rc rc;

	a->released = 0;
	rc = db_period_lock(db, a->period_id, err);
	if (rc == AIGW_OK)
		rc = release_expired(db, a->period_id, a->now, &a->released, err);
	return rc;
}

/* Releases the expired reservations of one period, in a transaction of its
 * own; *released (may be NULL) gets how many. */
static aigw_rc period_release_expired(struct db *db, long long period_id, const char *now,
                                      int *released, char *err)
{
	struct expire_ask a = {period_id, now, 0};
	aigw_rc rc = db_tx_run(db, "releasing expired reservations of period", NULL, expire_body,
	                       &a, err);

	if (released)
		*released = rc == AIGW_OK ? a.released : 0;
	return rc;
}

aigw_rc db_credits_release_expired(struct db *db, int max_periods, int *released, char *err)
{
	long long id = 0, *ids = NULL;
	size_t n = 0, i;
	int one, total = 0;
	struct q q;
	aigw_rc rc;

	if (released)
		*released = 0;
	if (max_periods <= 0)
		return aigw_fail(err, AIGW_EINVAL, "reservations: max_periods must be positive");
	ids = xcalloc((size_t)max_periods, sizeof *ids);
	q_init(&q, db, SQL_PERIODS_EXPIRED);
	q_in_int(&q, max_periods);
	q_out_int(&q, &id, NULL);
	rc = q_exec(&q, err);
	while (rc == AIGW_OK && n < (size_t)max_periods) {
		rc = q_fetch(&q, err);
		if (rc == AIGW_OK)
			ids[n++] = id;
	}
	q_end(&q);
	if (rc == AIGW_ENOTFOUND || rc == AIGW_OK)
		rc = AIGW_OK;
	for (i = 0; i < n && rc == AIGW_OK; i++) {
		rc = period_release_expired(db, ids[i], NULL, &one, err);
		total += one;
	}
	free(ids);
	if (released)
		*released = total;
	return rc;
}

struct reserve_ask {
	long long period_id;
	const char *app_id;
	const char *request_id;
	int64_t amount;
	int ttl_s;
	const char *now; /* NULL: the database clock */
	long long id;    /* the reservation row */
	bool held;
};

/* One integer from sql, which takes an id and, for SQL_PERIOD_HAS_EXPIRED,
 * a time (sarg, NULL: the database clock). */
static aigw_rc int_query(struct db *db, const char *sql, long long arg, const char *sarg,
                         long long *v, char *err)
{
	struct q q;
	aigw_rc rc;

	*v = 0;
	q_init(&q, db, sql);
	q_in_int(&q, arg);
	if (sql == SQL_PERIOD_HAS_EXPIRED)
		q_in_str(&q, sarg);
	q_out_int(&q, v, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	return rc;
}

/* Step 1: the row, not held. Run again (a conflict, or a connection lost
 * after the server wrote it) it finds the row it wrote. */
static aigw_rc hold_insert(struct db *db, struct reserve_ask *a, char *err)
{
	char text[MONEY_TEXT_LEN];
	long long period = 0, held = 0;
	struct q q;
	aigw_rc rc;

	money_to_decimal(a->amount, text);
	q_init(&q, db, SQL_RES_INSERT);
	q_in_int(&q, a->period_id);
	q_in_str(&q, a->app_id);
	q_in_str(&q, a->request_id);
	q_in_str(&q, text);
	q_in_str(&q, a->now);
	q_in_str(&q, a->now);
	q_in_int(&q, a->ttl_s);
	rc = q_exec(&q, err);
	if (rc == AIGW_OK)
		a->id = (long long)q_insert_id(&q);
	q_end(&q);
	if (rc != AIGW_EEXIST)
		return rc;
	q_init(&q, db, SQL_RES_BY_REQUEST);
	q_in_str(&q, a->request_id);
	q_out_int(&q, &a->id, NULL);
	q_out_int(&q, &period, NULL);
	q_out_int(&q, &held, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc == AIGW_OK && (period != a->period_id || held))
		return aigw_fail(err, AIGW_EEXIST, "request %.40s already holds a reservation",
		                 a->request_id);
	if (rc == AIGW_ENOTFOUND) /* gone again (expired and released): write it anew */
		return aigw_fail(err, AIGW_ERETRY, "reservation of %.40s vanished", a->request_id);
	return rc;
}

/* Steps 1 and 2, outside any transaction: safe to run again whole. */
static aigw_rc hold_body(struct db *db, void *arg, char *err)
{
	struct reserve_ask *a = arg;
	long long held = 0;
	struct q q;
	aigw_rc rc;

	a->held = false;
	if (a->id == 0) {
		rc = hold_insert(db, a, err);
		if (rc != AIGW_OK)
			return rc;
	}
	q_init(&q, db, SQL_RES_HOLD);
	q_in_int(&q, a->id);
	q_in_str(&q, a->now);
	rc = q_exec(&q, err);
	if (rc == AIGW_OK && q_affected(&q) > 0)
		a->held = true;
	q_end(&q);
	if (rc != AIGW_OK || a->held)
		return rc;
	/* Nothing matched: refused, or held already by a run whose answer was
	 * lost with its connection. */
	rc = int_query(db, SQL_RES_HELD, a->id, NULL, &held, err);
	if (rc == AIGW_OK)
		a->held = held != 0;
	return rc;
}

static aigw_rc drop_body(struct db *db, void *arg, char *err)
{
	const struct reserve_ask *a = arg;
	struct q q;
	aigw_rc rc;

	q_init(&q, db, SQL_RES_DROP_UNHELD);
	q_in_int(&q, a->id);
	rc = q_exec(&q, err);
	q_end(&q);
	return rc;
}

/* Removes the row of a refused reservation (nothing was added for it). On
 * a cluster its delete can meet a conflict too (the row's foreign key names
 * the period row that others update): retried like the rest. */
static void hold_drop(struct db *db, struct reserve_ask *a)
{
	char err[AIGW_ERRLEN];

	if (a->id == 0)
		return;
	if (db_retry_run(db, "removing the refused reservation of", a->request_id, drop_body, a,
	                 err) != AIGW_OK)
		log_warn("reservation %lld of %s: removing it failed (it expires by itself): %s",
		         a->id, a->request_id, err);
	a->id = 0;
}

aigw_rc db_credits_reserve_in(struct db *db, long long period_id, const char *app_id,
                              const char *request_id, int64_t amount, int ttl_s,
                              const char *now_override, struct reservation *out,
                              struct billing_period *period, enum reserve_result *result, char *err)
{
	struct reserve_ask a = {0};
	char now[DB_TIME_LEN];
	long long expired = 0;
	bool released = false;
	aigw_rc rc;

	memset(out, 0, sizeof *out);
	*result = RESERVE_OK;
	if (amount < 0 || ttl_s <= 0 || !request_id || !request_id[0])
		return aigw_fail(err, AIGW_EINVAL,
		                 "reservation: needs a request id, amount >= 0 and ttl > 0");
	a.app_id = app_id;
	a.request_id = request_id;
	a.amount = amount;
	a.ttl_s = ttl_s;
	if (now_override && now_override[0]) {
		struct utc_time t;

		if (!utc_time_parse(now_override, &t))
			return aigw_fail(err, AIGW_EINVAL, "bad time '%.40s'", now_override);
		utc_time_format(&t, now);
		a.now = now;
	}
	if (period_id <= 0) {
		rc = db_period_current(db, app_id, now_override, period, err);
		if (rc != AIGW_OK)
			return rc;
		if (period->unlimited) {
			out->period_id = period->id;
			out->amount = amount;
			return AIGW_OK; /* nothing to guard: no row, nothing to settle but `used` */
		}
		period_id = period->id;
	}
	for (int round = 0; round < 3; round++) {
		a.period_id = period_id;
		a.id = 0;
		rc = db_retry_run(db, "reservation of request", request_id, hold_body, &a, err);
		if (rc != AIGW_OK) {
			/* A row written but not held is removed; one left by a
			 * failure here holds nothing and goes with the expired. */
			if (rc != AIGW_EEXIST)
				hold_drop(db, &a);
			return rc;
		}
		if (a.held)
			break;
		hold_drop(db, &a);
		/* Refused (the rare path): fresh figures for the 402's message;
		 * another period when a plan change closed this one; and the
		 * period's expired reservations released if that may help. */
		rc = db_period_current(db, app_id, now_override, period, err);
		if (rc != AIGW_OK)
			return rc;
		if (period->id != period_id) {
			period_id = period->id;
			if (period->unlimited) {
				out->period_id = period->id;
				out->amount = amount;
				return AIGW_OK;
			}
			continue;
		}
		if (released)
			break;
		rc = int_query(db, SQL_PERIOD_HAS_EXPIRED, period_id, a.now, &expired, err);
		if (rc != AIGW_OK)
			return rc;
		if (expired == 0)
			break;
		rc = period_release_expired(db, period_id, a.now, NULL, err);
		if (rc != AIGW_OK)
			return rc;
		released = true;
	}
	if (!a.held) {
		*result = RESERVE_EXHAUSTED;
		return db_period_current(db, app_id, now_override, period, err);
	}
	out->id = a.id;
	out->period_id = period_id;
	out->amount = amount;
	if (released) /* figures read before the release are stale */
		return db_period_current(db, app_id, now_override, period, err);
	if (period->id == period_id)
		period->reserved += amount;
	return AIGW_OK;
}

aigw_rc db_credits_reserve(struct db *db, const char *app_id, const char *request_id,
                           int64_t amount, int ttl_s, const char *now_override,
                           struct reservation *out, struct billing_period *period,
                           enum reserve_result *result, char *err)
{
	memset(period, 0, sizeof *period);
	return db_credits_reserve_in(db, 0, app_id, request_id, amount, ttl_s, now_override, out,
	                             period, result, err);
}

aigw_rc db_credits_unreserve(struct db *db, long long reservation_id, bool *found, char *err)
{
	char amount[MONEY_TEXT_LEN];
	long long period_id = 0;
	struct q q;
	aigw_rc rc;

	*found = false;
	q_init(&q, db, SQL_RES_DELETE);
	q_in_int(&q, reservation_id);
	q_out_int(&q, &period_id, NULL);
	q_out_str(&q, amount, sizeof amount, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc == AIGW_ENOTFOUND)
		return AIGW_OK; /* expired and released by someone else already */
	if (rc != AIGW_OK)
		return rc;
	*found = true;
	q_init(&q, db, SQL_PERIOD_UNRESERVE);
	q_in_str(&q, amount);
	q_in_int(&q, period_id);
	rc = q_exec(&q, err);
	q_end(&q);
	return rc;
}

aigw_rc db_period_lock(struct db *db, long long period_id, char *err)
{
	long long id = 0;
	struct q q;
	aigw_rc rc;

	q_init(&q, db, SQL_PERIOD_LOCK);
	q_in_int(&q, period_id);
	q_out_int(&q, &id, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc == AIGW_ENOTFOUND)
		aigw_fail(err, rc, "no billing period %lld", period_id);
	return rc;
}

static aigw_rc release_body(struct db *db, void *arg, char *err)
{
	const struct reservation *r = arg;
	bool found;
	aigw_rc rc;

	/* Period first, as everywhere (lock order in the file comment). */
	rc = db_period_lock(db, r->period_id, err);
	if (rc == AIGW_ENOTFOUND)
		rc = AIGW_OK; /* a bad period id: the reservation's own is used */
	if (rc == AIGW_OK)
		rc = db_credits_unreserve(db, r->id, &found, err);
	return rc;
}

aigw_rc db_credits_release(struct db *db, const struct reservation *r, char *err)
{

	if (!r || r->id <= 0)
		return AIGW_OK; /* nothing was reserved (unlimited period) */
	/* The body only reads r; a failure is logged by the caller, with the id. */
	return db_tx_run(db, "releasing a reservation", NULL, release_body, (void *)r, err);
}
