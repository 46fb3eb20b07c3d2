/* Internal to db/: the transaction that writes a batch of usage records
 * (rows, rollups, settlement) for usage.c, which checks the records first. */
#ifndef AIGW_DB_USAGE_TX_H
#define AIGW_DB_USAGE_TX_H

#include <stddef.h>

#include "error.h"
#include "usage.h"

struct db;

/* recs[idx[0..n)] are the records to write: each passed usage_check, their
 * request_ids are distinct, and idx is in ascending request_id order (so
 * concurrent batches take the unique key's locks in one order). All borrowed.
 * The transaction finds which are recorded already, which name no app or
 * no period, writes the rest and sets outcome[idx[k]] for each. On a
 * refusal, why (AIGW_ERRLEN) gets its reason; a record names its refusals
 * in the log. Returns db_tx_run's code: AIGW_EINVAL when the database
 * refused a value of some record (which one is not known: the caller splits
 * the batch), AIGW_EDB, AIGW_ERETRY. */
aigw_rc usage_tx_run(struct db *db, const struct usage_record *recs, const size_t *idx, size_t n,
                     enum usage_outcome *outcome, char *why, char *err);

/* The period whose used_usd takes the record's cost, 0 for none (BYOK
 * requests are paid by the app's own upstream account). */
long long usage_charged_period(const struct usage_record *u);

#endif
