/* Billing periods and credit reservations (credits.h). Periods are found or
 * made on demand from the app's plan and billing anchor (period.c does the
 * arithmetic); a reservation is one conditional UPDATE on the period row,
 * under that row's lock, so concurrent requests queue on it and can never
 * together pass the allowance.
 *
 * Lock order, the same in every transaction that touches credits (here, in
 * usage_tx.c's settlement and in apps.c's plan change): the apps row (shared,
 * or exclusive for a plan change), then the billing_periods row, then
 * credit_reservations rows. Deadlocks left over are retried whole. */
#include "config.h"
#include "credits.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "money.h"
#include "period.h"
#include "stmt.h"
#include "tx.h"

/* The app's plan, billing anchor and the database clock, in one read. The
 * locking variant holds the apps row shared until the end of the
 * transaction, so a plan change (which locks it exclusively) cannot slip
 * between finding the period and reserving in it. */
#define SQL_APP_PLAN_TEXT                                                                          \
	"SELECT a.plan_id, a.billing_anchor, p.period, CAST(p.credits_usd AS CHAR), "              \
	"p.overage_allowed, UTC_TIMESTAMP(6) "                                                     \
	"FROM apps AS a JOIN plans AS p ON p.id = a.plan_id WHERE a.id = ?"
static const char SQL_APP_PLAN[] = SQL_APP_PLAN_TEXT;
static const char SQL_APP_PLAN_SHARE[] = SQL_APP_PLAN_TEXT " LOCK IN SHARE MODE";

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
static const char SQL_PERIOD_BY_START_LOCK[] =
        SQL_PERIOD_COLS "WHERE app_id = ? AND period_start = ? FOR UPDATE";
static const char SQL_PERIOD_BY_ID[] = SQL_PERIOD_COLS "WHERE id = ?";
static const char SQL_PERIOD_BY_ID_LOCK[] = SQL_PERIOD_COLS "WHERE id = ? FOR UPDATE";
static const char SQL_PERIOD_LOCK[] = "SELECT id FROM billing_periods WHERE id = ? FOR UPDATE";

/* Expired reservations of a period, removed; RETURNING gives exactly the
 * amounts this statement removed, whatever else ran concurrently. */
static const char SQL_RES_EXPIRED[] =
        "DELETE FROM credit_reservations WHERE period_id = ? AND expires_at <= CAST(? AS "
        "DATETIME(6)) RETURNING CAST(amount_usd AS CHAR)";
static const char SQL_RES_DELETE[] = "DELETE FROM credit_reservations WHERE id = ? "
                                     "RETURNING period_id, CAST(amount_usd AS CHAR)";
static const char SQL_PERIOD_UNRESERVE[] =
        "UPDATE billing_periods SET reserved_usd = reserved_usd - CAST(? AS DECIMAL(20,10)), "
        "updated_at = UTC_TIMESTAMP(6) WHERE id = ?";
/* The reservation itself: matches no row when the allowance cannot cover
 * it (the period row is locked, but the condition alone would suffice). */
static const char SQL_PERIOD_RESERVE[] =
        "UPDATE billing_periods SET reserved_usd = reserved_usd + CAST(? AS DECIMAL(20,10)), "
        "updated_at = UTC_TIMESTAMP(6) WHERE id = ? AND (allowance_usd IS NULL OR "
        "overage_allowed OR used_usd + reserved_usd + CAST(? AS DECIMAL(20,10)) <= "
        "allowance_usd)";
static const char SQL_RES_INSERT[] =
        "INSERT INTO credit_reservations (period_id, app_id, request_id, amount_usd, created_at, "
        "expires_at) VALUES (?, ?, ?, ?, CAST(? AS DATETIME(6)), "
        "CAST(? AS DATETIME(6)) + INTERVAL ? SECOND)";

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

static aigw_rc app_plan_read(struct db *db, const char *app_id, bool lock, struct app_plan *ap,
                             char *err)
{
	struct q q;
	aigw_rc rc;

	memset(ap, 0, sizeof *ap);
	q_init(&q, db, lock ? SQL_APP_PLAN_SHARE : SQL_APP_PLAN);
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
                             bool lock, struct billing_period *out, char *err)
{
	long long id = 0;
	struct q q;
	aigw_rc rc;

	/* A plain read even when locking: a locking read of a missing row
	 * would hold a gap lock that makes concurrent first inserts deadlock.
	 * The row is then locked by id. */
	q_init(&q, db, SQL_LIFETIME_FIND);
	q_in_str(&q, app_id);
	q_in_str(&q, ap->plan);
	q_out_int(&q, &id, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc != AIGW_OK)
		return rc;
	rc = period_read(db, lock ? SQL_PERIOD_BY_ID_LOCK : SQL_PERIOD_BY_ID, id, NULL, NULL, out,
	                 err);
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

/* Finds or makes the app's period containing now. lock: inside the
 * caller's transaction, the apps row is held shared and the period row
 * exclusively until its end. *now_out gets the now used. */
static aigw_rc period_find(struct db *db, const char *app_id, const char *now_override, bool lock,
                           struct billing_period *out, char now_out[DB_TIME_LEN], char *err)
{
	char start[UTC_TIME_LEN], end[UTC_TIME_LEN];
	enum period_kind kind;
	struct app_plan ap;
	struct q q;
	aigw_rc rc;

	memset(out, 0, sizeof *out);
	rc = app_plan_read(db, app_id, lock, &ap, err);
	if (rc == AIGW_OK)
		rc = now_pick(now_override, &ap, err);
	if (rc != AIGW_OK)
		return rc;
	snprintf(now_out, DB_TIME_LEN, "%s", ap.now);
	if (!period_kind_parse(ap.kind, &kind))
		return aigw_fail(err, AIGW_EDB, "plan '%s' has an unknown period '%.16s'", ap.plan,
		                 ap.kind);

	if (kind == PERIOD_LIFETIME) {
		rc = lifetime_find(db, app_id, &ap, lock, out, err);
		if (rc != AIGW_ENOTFOUND)
			return rc;
		snprintf(start, sizeof start, "%s", ap.anchor);
		end[0] = '\0';
	} else if (!period_containing_text(kind, ap.anchor, ap.now, start, end)) {
		return aigw_fail(err, AIGW_EDB, "no billing period for anchor %s at %s", ap.anchor,
		                 ap.now);
	}

	/* The common case: the period exists. A plain read first, then the
	 * row is locked by id: a locking read of a missing row would take a gap
	 * lock, and two such gap locks make concurrent first inserts deadlock.
	 * (Nor is the insert tried every time: each try of INSERT ... ON
	 * DUPLICATE KEY UPDATE uses up an auto-increment id.) */
	rc = period_read(db, SQL_PERIOD_BY_START, 0, app_id, start, out, err);
	if (rc == AIGW_OK && lock)
		rc = period_read(db, SQL_PERIOD_BY_ID_LOCK, out->id, NULL, NULL, out, err);
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
	rc = period_read(db, lock ? SQL_PERIOD_BY_START_LOCK : SQL_PERIOD_BY_START, 0, app_id,
	                 start, out, err);
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

	return period_find(db, a->app_id, a->now_override, false, a->out, now, err);
}

aigw_rc db_period_current(struct db *db, const char *app_id, const char *now_override,
                          struct billing_period *out, char *err)
{
	struct period_ask a = {app_id, now_override, out};

	return db_retry_run(db, "billing period of", app_id, period_current_body, &a, err);
}

/* Removes the period's expired reservations and takes their sum out of
 * reserved_usd. The period row must be locked by the caller. */
static aigw_rc release_expired(struct db *db, struct billing_period *p, const char *now, char *err)
{
	char amount[MONEY_TEXT_LEN], total[MONEY_TEXT_LEN];
	int64_t units, sum = 0;
	struct q q;
	aigw_rc rc;
	int n = 0;

	q_init(&q, db, SQL_RES_EXPIRED);
	q_in_int(&q, p->id);
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
	if (n == 0)
		return AIGW_OK;

	money_to_decimal(sum, total);
	q_init(&q, db, SQL_PERIOD_UNRESERVE);
	q_in_str(&q, total);
	q_in_int(&q, p->id);
	rc = q_exec(&q, err);
	q_end(&q);
	if (rc != AIGW_OK)
		return rc;
	log_info("billing period %lld of %s: released %d expired reservation(s), %s USD", p->id,
	         p->app_id, n, total);
	p->reserved -= sum;
	return AIGW_OK;
}

struct reserve_ask {
	const char *app_id;
	const char *request_id;
	int64_t amount;
	int ttl_s;
	const char *now_override;
	struct reservation *out;
	struct billing_period *period;
	enum reserve_result *result;
};

/* The reservation transaction's body (run again whole after a conflict, so
 * it starts by clearing what a lost run wrote into the caller's structs). */
static aigw_rc reserve_body(struct db *db, void *arg, char *err)
{
	struct reserve_ask *a = arg;
	char now[DB_TIME_LEN], text[MONEY_TEXT_LEN];
	struct q q;
	aigw_rc rc;

	memset(a->out, 0, sizeof *a->out);
	a->out->amount = a->amount;
	*a->result = RESERVE_OK;
	rc = period_find(db, a->app_id, a->now_override, true, a->period, now, err);
	if (rc != AIGW_OK)
		return rc;
	a->out->period_id = a->period->id;
	if (a->period->unlimited)
		return AIGW_OK; /* nothing to guard: no row, nothing to settle but `used` */
	rc = release_expired(db, a->period, now, err);
	if (rc != AIGW_OK)
		return rc;

	money_to_decimal(a->amount, text);
	q_init(&q, db, SQL_PERIOD_RESERVE);
	q_in_str(&q, text);
	q_in_int(&q, a->period->id);
	q_in_str(&q, text);
	rc = q_exec(&q, err);
	if (rc == AIGW_OK && q_affected(&q) == 0)
		*a->result = RESERVE_EXHAUSTED;
	q_end(&q);
	if (rc != AIGW_OK || *a->result == RESERVE_EXHAUSTED)
		return rc; /* exhausted: commits the release of expired ones */

	q_init(&q, db, SQL_RES_INSERT);
	q_in_int(&q, a->period->id);
	q_in_str(&q, a->app_id);
	q_in_str(&q, a->request_id);
	q_in_str(&q, text);
	q_in_str(&q, now);
	q_in_str(&q, now);
	q_in_int(&q, a->ttl_s);
	rc = q_exec(&q, err);
	if (rc == AIGW_OK)
		a->out->id = (long long)q_insert_id(&q);
	q_end(&q);
	if (rc == AIGW_EEXIST)
		aigw_fail(err, rc, "request %.40s already holds a reservation", a->request_id);
	return rc;
}

aigw_rc db_credits_reserve(struct db *db, const char *app_id, const char *request_id,
                           int64_t amount, int ttl_s, const char *now_override,
                           struct reservation *out, struct billing_period *period,
                           enum reserve_result *result, char *err)
{
	struct reserve_ask a = {app_id,       request_id, amount, ttl_s,
	                        now_override, out,        period, result};
	aigw_rc rc;

	if (amount < 0 || ttl_s <= 0 || !request_id || !request_id[0])
		return aigw_fail(err, AIGW_EINVAL,
		                 "reservation: needs a request id, amount >= 0 and ttl > 0");
	rc = db_tx_run(db, "reservation of request", request_id, reserve_body, &a, err);
	if (rc != AIGW_OK)
		memset(out, 0, sizeof *out);
	else if (out->id > 0)
		period->reserved += amount;
	return rc;
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
