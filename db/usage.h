/* The usage table (one row per proxied request) and its per app/day/model
 * rollup, written together in one transaction. Money is in integer units of
 * 1e-10 USD (DECIMAL(20,10) in the database), never a double. */
#ifndef AIGW_DB_USAGE_H
#define AIGW_DB_USAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "money.h" /* MONEY_UNITS_PER_USD, money_to_decimal */

struct db;

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
/* Inserts the row and upserts the daily rollup in one transaction (retried
 * on a deadlock); u is borrowed. Empty model and generation strings, a key_id
 * <= 0 and a ttft_us <= 0 are stored as NULL. The rollup's day is the UTC
 * date of the row's created_at, its model model_billed, else model_requested.
 * Must be called outside a transaction. AIGW_EEXIST: this request_id was
 * recorded already (nothing changed); AIGW_EINVAL: a bad value (unknown
 * endpoint, negative count or cost); AIGW_ENOTFOUND: unknown app; AIGW_EDB. */
aigw_rc db_usage_record(struct db *db, const struct usage_record *u, char *err);

enum usage_outcome {
	USAGE_RECORDED = 0, /* written now */
	USAGE_DUPLICATE,    /* its request_id was recorded already: nothing changed */
	USAGE_REFUSED       /* invalid (a bad value, an unknown app): never will be */
};

/* Writes recs[0..n) as db_usage_record does, all in ONE transaction (one
 * commit for the batch), and says per record what happened in outcome[i].
 * Records are applied in the order of their billing periods, so that
 * concurrent batches lock the period rows in the same order. A duplicate or
 * refused record does not stop the others. Returns AIGW_OK when every
 * outcome is set; otherwise nothing was written (the transaction rolled
 * back) and the error says why: AIGW_EDB (database unavailable: try again
 * later) or another code for a failure of one record after its row was
 * inserted (write the records one by one to find it). */
aigw_rc db_usage_record_batch(struct db *db, const struct usage_record *recs, size_t n,
                              enum usage_outcome *outcome, char *err);

#endif
