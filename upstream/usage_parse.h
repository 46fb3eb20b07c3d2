/* Reading the upstream's `usage` object (chat, embeddings, stream usage
 * chunks) into integers: tokens, and the cost as exact money units. */
#ifndef AIGW_USAGE_PARSE_H
#define AIGW_USAGE_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct usage_numbers {
	bool present; /* a usage object was seen */
	long long prompt_tokens;
	long long completion_tokens;
	long long cached_tokens;
	long long reasoning_tokens;
	bool has_cost; /* usage.cost was a number (it may be null) */
	int64_t cost;  /* money units (1e-10 USD) */
	bool is_byok;
};

/* Reads obj (the usage object itself); missing fields stay 0. */
void usage_parse(const cJSON *obj, struct usage_numbers *out);
/* USD as a JSON number to money units. Exact for any amount with at most 10
 * decimals below $900,000: a double holds such a value within far less than
 * half a unit, so rounding recovers the decimal. Negative or absurd → -1. */
int64_t money_from_usd(double usd);

#endif
