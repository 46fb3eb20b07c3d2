/* Plans, billing periods and credit reservations: the part of the database
 * that decides whether a metered request may run.
 *
 * Every app has one current billing period per its plan (free: one lifetime
 * period; pro and enterprise: monthly from the app's billing anchor), made
 * when first needed, so no cron job is required. A metered request reserves
 * its worst-case cost with one conditional UPDATE on the period row
 * (used + reserved + amount <= allowance, unless the plan allows overage or
 * is unlimited), so concurrent requests can never together pass a free
 * app's allowance. The reservation is a row with an expiry; settlement (in
 * the usage transaction, see usage.h) removes it and moves the real cost into
 * `used`. Expired reservations (a worker died holding one) are released by
 * the next reservation of the same period. Money is in 1e-10 USD units. */
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
 * ttl_s seconds. Releases the period's expired reservations first. On
 * RESERVE_EXHAUSTED, *period tells what was exhausted. */
aigw_rc db_credits_reserve(struct db *db, const char *app_id, const char *request_id,
                           int64_t amount, int ttl_s, const char *now_override,
                           struct reservation *out, struct billing_period *period,
                           enum reserve_result *result, char *err);

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
