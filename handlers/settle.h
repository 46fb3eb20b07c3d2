/* The cost of a request whose answer did not say what it cost: the
 * upstream's generation record, asked afterwards, else our price table
 * times the tokens (counted, or estimated from bytes), marked as such in
 * the usage record's cost_source. Used at the end of a request and when a
 * dead process's requests are settled (usage_recovery.h). */
#ifndef AIGW_SETTLE_H
#define AIGW_SETTLE_H

#include <stdbool.h>

#include "usage.h"

struct db;
struct upstream;

/* Asks the upstream's generation record of rec->generation_id (with a few
 * retries over about 3 s while it is not there yet) with api_key; fills
 * rec's cost (COST_GENERATION) and tokens. Returns true when it gave a cost. */
bool settle_from_generation(struct upstream *u, const char *api_key, struct usage_record *rec);

/* Prices rec from the price table of its billed (else requested) model:
 * tokens the record lacks are estimated at four bytes each from sent_bytes
 * (prompt) and answer_bytes (completion). Cost source COST_ESTIMATE; left
 * without a cost (logged) when the model has no price. */
void settle_from_price_table(struct db *db, struct usage_record *rec, long long sent_bytes,
                             long long answer_bytes);

#endif
