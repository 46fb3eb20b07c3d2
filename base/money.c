/* Exact conversions between decimal text and integer units (money.h). The
 * text is reduced to its significant digits and a power of ten, then the
 * digits are placed at the wanted scale one by one, checking for overflow:
 * no floating point anywhere. */
#include "config.h"
#include "money.h"

#include <stdio.h>
#include <string.h>

/* Exponents beyond this are refused: they cannot fit an int64 either way. */
#define EXP_LIMIT 400

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Splits s into significant digits (no leading or trailing zeros; more than
 * cap - 1 of them are refused, no real amount has that many) and exp10 so that
 * value = DIGITS x 10^exp10. A zero value gives ndigits 0. */
static bool dec_split(const char *s, size_t len, char *digits, size_t cap, size_t *ndigits,
                      long *exp10)
{
	size_t i = 0, n = 0, seen = 0, zeros = 0;
	long exp = 0, e = 0;
	bool frac = false, eneg = false;

	*ndigits = 0;
	for (; i < len; i++) {
		char c = s[i];

		if (c == '.' && !frac) {
			frac = true;
			continue;
		}
		if (!is_digit(c))
			break;
		seen++;
		if (frac)
			exp--;
		if (c == '0') {
			if (n > 0)
				zeros++; /* kept only if a non-zero digit follows */
			continue;
		}
		for (; zeros > 0; zeros--) {
			if (n + 1 >= cap)
				return false;
			digits[n++] = '0';
		}
		if (n + 1 >= cap)
			return false;
		digits[n++] = c;
	}
	if (seen == 0)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t ed = 0;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		for (; i < len && is_digit(s[i]); i++, ed++) {
			e = e * 10 + (s[i] - '0');
			if (e > EXP_LIMIT)
				return false;
		}
		if (ed == 0)
			return false;
	}
	if (i != len)
		return false;
	exp += (eneg ? -e : e) + (long)zeros;
	*ndigits = n;
	*exp10 = exp;
	return true;
}

bool decimal_to_units(const char *s, size_t len, unsigned scale, bool round_up, int64_t *out)
{
	char digits[64];
	size_t n, keep, i;
	long exp;
	uint64_t v = 0;

	*out = 0;
	if (!s || len == 0 || scale > 18)
		return false;
	if (!dec_split(s, len, digits, sizeof digits, &n, &exp))
		return false;
	if (n == 0)
		return true;
	exp += (long)scale; /* value in units = DIGITS x 10^exp */
	if (exp < -(long)n) {
		keep = 0;
	} else if (exp < 0) {
		keep = n - (size_t)(-exp);
	} else {
		keep = n;
	}
	for (i = 0; i < keep; i++) {
		if (v > (uint64_t)INT64_MAX / 10)
			return false;
		v = v * 10 + (uint64_t)(digits[i] - '0');
	}
	for (; exp > 0; exp--) {
		if (v > (uint64_t)INT64_MAX / 10)
			return false;
		v *= 10;
	}
	if (v > (uint64_t)INT64_MAX)
		return false;
	if (keep < n) {
		/* Dropped digits are significant (trailing zeros were removed). */
		if (!round_up || v == (uint64_t)INT64_MAX)
			return false;
		v++;
	}
	*out = (int64_t)v;
	return true;
}

void units_to_decimal(int64_t units, unsigned scale, char *out, size_t cap)
{
	uint64_t mag, pow10 = 1;
	unsigned i;

	if (cap == 0)
		return;
	if (scale < 1 || scale > 18) {
		snprintf(out, cap, "0");
		return;
	}
	for (i = 0; i < scale; i++)
		pow10 *= 10;
	/* The magnitude through unsigned arithmetic: -INT64_MIN overflows. */
	mag = units < 0 ? (uint64_t)0 - (uint64_t)units : (uint64_t)units;
	snprintf(out, cap, "%s%llu.%0*llu", units < 0 ? "-" : "", (unsigned long long)(mag / pow10),
	         (int)scale, (unsigned long long)(mag % pow10));
}

bool money_parse(const char *s, int64_t *out)
{
	return decimal_to_units(s, s ? strlen(s) : 0, MONEY_SCALE, false, out);
}

void money_to_decimal(int64_t units, char out[MONEY_TEXT_LEN])
{
	units_to_decimal(units, MONEY_SCALE, out, MONEY_TEXT_LEN);
}
