/* The usage table (one row per proxied request) and its per app/day/model
 * and per app/month/model rollups, written together with the billing
 * settlement in one transaction, for one request or a batch of them. Money
 * is in integer units of 1e-10 USD (DECIMAL(20,10) in the database), never a
 * double. */
#ifndef AIGW_DB_USAGE_H
#define AIGW_DB_USAGE_H

#include <stdbool.h>
#include <stdint.h>

#include <stddef.h>

#include "error.h"
#include "money.h" /* MONEY_UNITS_PER_USD, money_to_decimal */

struct db;

/* Most records db_usage_record_batch takes in one call (one transaction). */
#define DB_USAGE_BATCH_MAX 256

enum cost_source {
	COST_NONE = 0,   /* nothing known (request failed before the upstream billed) */
	COST_UPSTREAM,   /* usage.cost of the answer */
	COST_GENERATION, /* the upstream's generation record, asked afterwards */
	COST_ESTIMATE    /* our price table x tokens */
};

struct usage_record {
	char request_id[40];
	char app_id[65];
	long long key_id;
	const char *endpoint; /* "chat" | "embeddings" */
	char model_requested[257];
	char model_billed[257]; /* the model the upstream says it used */
	char generation_id[128];
	long long prompt_tokens;
	long long completion_tokens;
	long long cached_tokens;
	long long reasoning_tokens;
	int64_t cost; /* money units */
	enum cost_source cost_source;
	bool is_byok;
	int status; /* HTTP status answered to the client */
	char error[32]; /* the error type the client got (status >= 400, or a
	                   stream's closing error event), "" if none */
	bool streamed;
	bool aborted;      /* the client went away before the end */
	long long ttft_us; /* time to first token (streams), 0 if none */
	long long duration_us;
	/* Billing settlement, done in the same transaction: the reservation to
	 * remove (0: none) and the period whose `used` takes the cost (0: none,
	 * as for BYOK requests, which never count against credits). */
	long long reservation_id;
	long long period_id;
};

/* "none", "upstream", "generation", "estimate" (the cost_source column). */
const char *cost_source_name(enum cost_source s);
/* Inserts the row, upserts its daily and monthly rollups and settles its
 * reservation and cost in one transaction (retried on a deadlock): a batch
 * of one (db_usage_record_batch); u is borrowed. Empty model and generation
 * strings, a key_id <= 0 and a ttft_us <= 0 are stored as NULL. The rollup's
 * day is the UTC date of the row's created_at, its model model_billed, else
 * model_requested. Must be called outside a transaction. AIGW_EEXIST: this
 * request_id was recorded already (nothing changed); AIGW_EINVAL: a bad
 * value (unknown endpoint, negative count or cost, HTTP status outside
 * 100..599, text that is not UTF-8, no such billing period); AIGW_ENOTFOUND:
 * unknown app; AIGW_EDB; AIGW_ERETRY. */
aigw_rc db_usage_record(struct db *db, const struct usage_record *u, char *err);

/* What became of one record of a batch. */
/* Logs, as an error, a record that will not reach the database, with every
 * number an operator needs to replay it (a usage record holds no secret). */
void usage_log_lost(const struct usage_record *r, const char *why);

enum usage_outcome {
	USAGE_RECORDED = 0, /* written now, with its rollups and settlement */
	USAGE_DUPLICATE,    /* its request_id was recorded already (by an earlier
	                     * call, or earlier in this batch): nothing changed */
	USAGE_INVALID,      /* refused, nothing written: a bad value (as
	                     * db_usage_record's AIGW_EINVAL) or no such period */
	USAGE_UNKNOWN_APP   /* refused, nothing written: no such app */
};

/* Records recs[0..n) (borrowed; n <= DB_USAGE_BATCH_MAX) as db_usage_record
 * would one by one, in one transaction of a few statements whatever n, and
 * sets outcome[i] (n entries, the caller's) for each. A refused record does
 * not hold back the others; each refusal is logged with its reason. It is
 * idempotent by request_id: a batch applied again (say after a commit whose
 * answer was lost) changes nothing and reports USAGE_DUPLICATE.
 * Returns AIGW_OK when every record has its outcome. Otherwise (AIGW_EDB:
 * the database is unavailable; AIGW_ERETRY: lock conflicts outlasted
 * db_tx_run's retries) the outcomes are not to be trusted and the caller
 * keeps the records to apply them again later: some may have been
 * committed (a batch that meets a value the database refuses is applied in
 * halves, each its own transaction) and will come back USAGE_DUPLICATE.
 * AIGW_EINVAL: n is 0 or above the maximum (nothing done). Must be called
 * outside a transaction. */
aigw_rc db_usage_record_batch(struct db *db, const struct usage_record *recs, size_t n,
                              enum usage_outcome *outcome, char *err);

#endif
