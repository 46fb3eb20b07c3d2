/* Plans, billing periods and credit reservations: the part of the database
 * that decides whether a metered request may run.
 *
 * Every app has one current billing period per its plan (free: one lifetime
 * period; pro and enterprise: monthly from the app's billing anchor), made
 * when first needed, so no cron job is required. A metered request reserves
 * its worst-case cost with one conditional UPDATE on the period row
 * (used + reserved + amount <= allowance, unless the plan allows overage or
 * is unlimited), so concurrent requests can never together pass a free
 * app's allowance. The reservation is a row with an expiry, written first
 * not held, then held by that UPDATE (sql/013_reservation_held.sql);
 * settlement (in the usage transaction, see usage.h) removes it and moves
 * the real cost into `used`. Expired reservations (a worker died holding
 * one) are released by db_credits_release_expired, which each process runs
 * about once a minute, and by a reservation refused for lack of credit.
 * Money is in 1e-10 USD units. */
#ifndef AIGW_DB_CREDITS_H
#define AIGW_DB_CREDITS_H

#include <stdbool.h>
#include <stdint.h>

#include "billing.h"
#include "error.h"

struct db;

/* Finds (or creates) the app's period containing now (UTC, from the
 * database clock unless now_override is non-empty: "YYYY-MM-DD HH:MM:SS",
 * used by tests to cross period boundaries). AIGW_ENOTFOUND: no such app. */
aigw_rc db_period_current(struct db *db, const char *app_id, const char *now_override,
                          struct billing_period *out, char *err);

struct reservation {
	long long id; /* credit_reservations.id; 0 when none was needed */
	long long period_id;
	int64_t amount;
};

enum reserve_result {
	RESERVE_OK = 0,   /* reserved (or nothing needed: unlimited) */
	RESERVE_EXHAUSTED /* the allowance cannot cover amount: answer 402 */
};

/* Reserves amount against the app's current period for request_id, valid for
 * ttl_s seconds: the reservation row, then one conditional UPDATE of the
 * period row, each autocommitted and retried after a conflict (db_retry_run).
 * Refused, it releases the period's expired reservations and tries once
 * more. On RESERVE_EXHAUSTED, *period tells what was exhausted (fresh
 * figures); on RESERVE_OK it is the period as read before, plus amount. */
aigw_rc db_credits_reserve(struct db *db, const char *app_id, const char *request_id,
                           int64_t amount, int ttl_s, const char *now_override,
                           struct reservation *out, struct billing_period *period,
                           enum reserve_result *result, char *err);
/* The same in a period the caller knows already (period_id > 0, e.g. from a
 * cache): no read before the reservation. A period closed since (a plan
 * change) refuses it, and the current one is then found and tried. *period
 * is written only when the reservation is refused or the period changed;
 * the caller clears it first. period_id 0: as db_credits_reserve. */
aigw_rc db_credits_reserve_in(struct db *db, long long period_id, const char *app_id,
                              const char *request_id, int64_t amount, int ttl_s,
                              const char *now_override, struct reservation *out,
                              struct billing_period *period, enum reserve_result *result,
                              char *err);

/* Releases expired reservations (left by a worker that died while holding
 * them) of up to max_periods periods, each period in a transaction of its
 * own; *released (may be NULL) gets how many rows went. Off the request
 * path: every process runs it about once a minute. */
aigw_rc db_credits_release_expired(struct db *db, int max_periods, int *released, char *err);

/* Releases a reservation without charging (the request never reached the
 * upstream). Settling a reservation happens in db_usage_record. */
aigw_rc db_credits_release(struct db *db, const struct reservation *r, char *err);

/* --- inside db/ only: the steps of a release (lock the period row first, as
 * every credits transaction does). */

/* SELECT ... FOR UPDATE of the period row. AIGW_ENOTFOUND: no such period. */
aigw_rc db_period_lock(struct db *db, long long period_id, char *err);
/* Deletes the reservation and, only if this call removed it, subtracts its
 * amount from its period's reserved_usd; *found tells which. A reservation
 * already gone (expired and released) is not an error. */
aigw_rc db_credits_unreserve(struct db *db, long long reservation_id, bool *found, char *err);

#endif
