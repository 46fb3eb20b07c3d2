/* The billing and usage invariants, checked against the database as it is
 * (aigw-admin check): every period's reserved_usd is the sum of its open
 * credit_reservations, its used_usd the sum of the cost of the metered
 * usage_requests rows charged to it, and each usage_daily / usage_monthly
 * row the sums of the usage_requests rows of its app, UTC day or month,
 * model and BYOK flag (no rollup row without rows, no rows without one).
 * Money is compared by the database in DECIMAL and reported as the exact
 * text it prints, never through a double. */
#ifndef AIGW_DB_CONSISTENCY_H
#define AIGW_DB_CONSISTENCY_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct db;

/* Room for any DECIMAL sum the database prints ("123.0000000001"). */
#define CONSISTENCY_MONEY_LEN 64

enum drift_kind {
	DRIFT_RESERVED = 0, /* billing_periods.reserved_usd vs its reservations */
	DRIFT_USED,         /* billing_periods.used_usd vs its rows' cost */
	DRIFT_NO_PERIOD,    /* usage_requests rows naming a period that does not exist */
	DRIFT_DAILY,        /* usage_daily vs the rows of its day */
	DRIFT_MONTHLY       /* usage_monthly vs the rows of its month */
};

/* What a rollup row holds, or what the rows it sums add up to. */
struct drift_sums {
	long long requests;
	long long prompt_tokens;
	long long completion_tokens;
	long long cached_tokens;
	long long reasoning_tokens;
	char cost[CONSISTENCY_MONEY_LEN];
};

struct drift {
	enum drift_kind kind;
	char app_id[65];
	/* DRIFT_RESERVED, DRIFT_USED, DRIFT_NO_PERIOD: the period and its
	 * amount: expected is the sum of what it should hold (reservations,
	 * the metered rows' cost), actual the column ("" for DRIFT_NO_PERIOD);
	 * items counts the reservations or metered rows summed. */
	long long period_id;
	char expected[CONSISTENCY_MONEY_LEN];
	char actual[CONSISTENCY_MONEY_LEN];
	long long items;
	long long byok_rows; /* DRIFT_USED: BYOK rows carrying the period (never allowed) */
	/* DRIFT_DAILY, DRIFT_MONTHLY: the rollup's key (day is the month's
	 * first day for DRIFT_MONTHLY), what the rows sum to (want, when
	 * has_rows) and what the rollup holds (got, when has_rollup). */
	char day[11];
	char model[257];
	bool is_byok;
	bool has_rows;
	bool has_rollup;
	struct drift_sums want;
	struct drift_sums got;
};

struct consistency_report {
	long long periods;      /* billing_periods rows checked */
	long long daily_rows;   /* usage_daily rows checked */
	long long monthly_rows; /* usage_monthly rows checked */
	long long drifts;       /* every drift found */
	struct drift *listed;   /* the first of them, at most list_max, in kind order */
	size_t n_listed;
};

/* Checks the invariants above for one app (app_id) or every app (NULL), in
 * one read-only REPEATABLE READ transaction, so every statement reads the
 * same snapshot: a usage batch or a reservation committed meanwhile is seen
 * whole or not at all. Each invariant is one grouped query; the database
 * returns at most list_max drifts in all and counts the rest. On AIGW_OK
 * out is filled (out->listed malloc'd: free with consistency_report_free),
 * drift or not; on error out is empty. AIGW_EDB also when the connection was
 * lost during the check (the snapshot went with it: run it again). */
aigw_rc db_consistency_check(struct db *db, const char *app_id, size_t list_max,
                             struct consistency_report *out, char *err);
void consistency_report_free(struct consistency_report *r);

#endif
