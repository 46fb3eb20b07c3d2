/* Unit tests of base/money.c: exact decimal text <-> integer units, for the
 * costs recorded as DECIMAL(20,10) and the prices kept as DECIMAL(24,14). */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "check.h"
#include "money.h"

static int64_t parse(const char *s)
{
	int64_t v = -42;

	if (!money_parse(s, &v))
		return -1;
	return v;
}

static void test_format(void)
{
	char t[MONEY_TEXT_LEN];

	money_to_decimal(0, t);
	CHECK_STR(t, "0.0000000000");
	money_to_decimal(57000, t);
	CHECK_STR(t, "0.0000057000");
	money_to_decimal(1234567890123LL, t);
	CHECK_STR(t, "123.4567890123");
	money_to_decimal(MONEY_UNITS_PER_USD, t);
	CHECK_STR(t, "1.0000000000");
	money_to_decimal(1, t);
	CHECK_STR(t, "0.0000000001");
	money_to_decimal(-1, t);
	CHECK_STR(t, "-0.0000000001");
}

static void test_big_values(void)
{
	char t[MONEY_TEXT_LEN];

	money_to_decimal(INT64_MAX, t);
	CHECK_STR(t, "922337203.6854775807");
	CHECK_INT(parse("922337203.6854775807"), INT64_MAX);
	CHECK_INT(parse("922337203.6854775808"), -1);
	CHECK_INT(parse("10000000000"), -1);
	money_to_decimal(INT64_MIN, t);
	CHECK_STR(t, "-922337203.6854775808");
	CHECK_INT(parse("99999999.9999999999"), 999999999999999999LL);
}

static void test_round_trips(void)
{
	static const int64_t values[] = {
	        0,          1,           9,           10,         57000,
	        1500000000, 12345678901, 99999999999, 1000000001, INT64_MAX / 3};
	char t[MONEY_TEXT_LEN];
	size_t i;

	for (i = 0; i < sizeof values / sizeof values[0]; i++) {
		money_to_decimal(values[i], t);
		CHECK_INT(parse(t), values[i]);
	}
}

static void test_parse_forms(void)
{
	CHECK_INT(parse("0"), 0);
	CHECK_INT(parse("0.0000057"), 57000);
	CHECK_INT(parse("0.00000570000000000000"), 57000); /* trailing zeros are exact */
	CHECK_INT(parse("000012"), 12 * MONEY_UNITS_PER_USD);
	CHECK_INT(parse(".5"), 5000000000LL);
	CHECK_INT(parse("5."), 5 * MONEY_UNITS_PER_USD);
	CHECK_INT(parse("2.5e-06"), 25000);
	CHECK_INT(parse("2.5E-6"), 25000);
	CHECK_INT(parse("1e+2"), 100 * MONEY_UNITS_PER_USD);
	CHECK_INT(parse("1e-10"), 1);
	CHECK_INT(parse("0.0000000001"), 1);
}

static void test_parse_rejects(void)
{
	CHECK_INT(parse("-1"), -1);
	CHECK_INT(parse("-0.5"), -1);
	CHECK_INT(parse("+1"), -1);
	CHECK_INT(parse(""), -1);
	CHECK_INT(parse("."), -1);
	CHECK_INT(parse("1.2.3"), -1);
	CHECK_INT(parse(" 1"), -1);
	CHECK_INT(parse("1 "), -1);
	CHECK_INT(parse("1e"), -1);
	CHECK_INT(parse("1e-"), -1);
	CHECK_INT(parse("abc"), -1);
	CHECK_INT(parse("0x10"), -1);
	CHECK_INT(parse("1e999"), -1);
	CHECK_INT(parse("NaN"), -1);
	CHECK(!money_parse(NULL, &(int64_t){0}));
}

static void test_eleven_decimals_rejected(void)
{
	CHECK_INT(parse("0.00000000001"), -1);
	CHECK_INT(parse("0.12345678901"), -1);
	CHECK_INT(parse("1e-11"), -1);
	CHECK_INT(parse("0.12345678900"), 1234567890); /* a zero 11th decimal is fine */
}

static void test_round_up(void)
{
	int64_t v = 0;

	/* prices at scale 14 (DECIMAL(24,14)) and per-token money, rounded up */
	CHECK(decimal_to_units("0.000000075", 11, 14, false, &v));
	CHECK_INT(v, 7500000);
	CHECK(decimal_to_units("0.000000075", 11, 10, true, &v));
	CHECK_INT(v, 750);
	CHECK(decimal_to_units("0.00000000001", 13, 10, true, &v));
	CHECK_INT(v, 1);
	CHECK(decimal_to_units("0.00000250000000", 16, 10, true, &v));
	CHECK_INT(v, 25000);
	CHECK(decimal_to_units("0.000000000000001", 17, 14, true, &v));
	CHECK_INT(v, 1);
	CHECK(!decimal_to_units("0.000000000000001", 17, 14, false, &v));
	CHECK(decimal_to_units("0", 1, 14, true, &v));
	CHECK_INT(v, 0);
	/* len bounds the text: "0.5" of "0.5junk" */
	CHECK(decimal_to_units("0.5junk", 3, 1, false, &v));
	CHECK_INT(v, 5);
}

static void test_price_text(void)
{
	char t[MONEY_TEXT_LEN];

	units_to_decimal(7500000, 14, t, sizeof t);
	CHECK_STR(t, "0.00000007500000");
	units_to_decimal(100000000000000LL, 14, t, sizeof t);
	CHECK_STR(t, "1.00000000000000");
}

int main(void)
{
	check_program = "test_money";
	RUN(test_format);
	RUN(test_big_values);
	RUN(test_round_trips);
	RUN(test_parse_forms);
	RUN(test_parse_rejects);
	RUN(test_eleven_decimals_rejected);
	RUN(test_round_up);
	RUN(test_price_text);
	CHECK_DONE();
}
