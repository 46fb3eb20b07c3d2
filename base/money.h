/* Exact decimal text <-> integer units, for money (1e-10 USD units, stored as
 * DECIMAL(20,10)) and prices (DECIMAL(24,14)). Never through a double: the
 * digits are moved, not computed, so a cost written and read back is the
 * same number of units. */
#ifndef AIGW_DB_MONEY_H
#define AIGW_DB_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 1 USD in money units. */
#define MONEY_UNITS_PER_USD 10000000000LL
#define MONEY_SCALE 10
/* Room for any int64 at any scale with a sign and the NUL (22 bytes at most;
 * the compiler cannot tell, so the worst case of the format is allowed). */
#define MONEY_TEXT_LEN 48

/* Parses a non-negative decimal ("12", "0.0000057", ".5", "2.5e-06"; no sign,
 * no spaces) of len bytes into v x 10^scale as an integer. A value finer than
 * 10^-scale is rounded up when round_up is set, else refused. False for
 * anything else: negative, empty, malformed, or above INT64_MAX units. */
bool decimal_to_units(const char *s, size_t len, unsigned scale, bool round_up, int64_t *out);
/* Writes units / 10^scale with exactly `scale` decimals ("0.0000057000" for
 * 57000 at scale 10; a '-' first when negative). scale is 1..18; cap should be
 * MONEY_TEXT_LEN (a shorter buffer gets a truncated text). */
void units_to_decimal(int64_t units, unsigned scale, char *out, size_t cap);

/* Money text with at most 10 decimals, exactly; false for negatives, more
 * decimals, garbage or overflow. Round trips money_to_decimal. */
bool money_parse(const char *s, int64_t *out);
/* Money units as DECIMAL(20,10) text, e.g. 57000 -> "0.0000057000". */
void money_to_decimal(int64_t units, char out[MONEY_TEXT_LEN]);

#endif
