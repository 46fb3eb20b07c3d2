/* domain/period.c: which billing period contains a time. Table-driven: month
 * ends and clamping (computed from the anchor, no drift), leap years, an
 * anchor at the last microsecond of a day, now exactly on a boundary (it
 * belongs to the new period), now before the anchor, lifetime periods. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "period.h"

struct period_case {
	const char *kind;
	const char *anchor;
	const char *now;
	const char *start; /* expected */
	const char *end;   /* expected, "" when open-ended */
};

static const struct period_case cases[] = {
        /* plain monthly */
        {"monthly", "2026-01-15 10:00:00", "2026-01-20 00:00:00", "2026-01-15 10:00:00.000000",
         "2026-02-15 10:00:00.000000"},
        {"monthly", "2026-01-15 10:00:00", "2026-03-15 09:59:59.999999",
         "2026-02-15 10:00:00.000000", "2026-03-15 10:00:00.000000"},
        /* exactly on a boundary: the new period */
        {"monthly", "2026-01-15 10:00:00", "2026-03-15 10:00:00", "2026-03-15 10:00:00.000000",
         "2026-04-15 10:00:00.000000"},
        {"monthly", "2026-01-15 10:00:00", "2026-01-15 10:00:00", "2026-01-15 10:00:00.000000",
         "2026-02-15 10:00:00.000000"},
        /* Jan 31 anchor: clamped to each month's last day, never drifting */
        {"monthly", "2026-01-31 12:00:00", "2026-02-10 00:00:00", "2026-01-31 12:00:00.000000",
         "2026-02-28 12:00:00.000000"},
        {"monthly", "2026-01-31 12:00:00", "2026-02-28 12:00:00", "2026-02-28 12:00:00.000000",
         "2026-03-31 12:00:00.000000"},
        {"monthly", "2026-01-31 12:00:00", "2026-03-30 23:00:00", "2026-02-28 12:00:00.000000",
         "2026-03-31 12:00:00.000000"},
        {"monthly", "2026-01-31 12:00:00", "2026-04-30 12:00:00", "2026-04-30 12:00:00.000000",
         "2026-05-31 12:00:00.000000"},
        {"monthly", "2026-01-31 12:00:00", "2026-12-31 11:59:59", "2026-11-30 12:00:00.000000",
         "2026-12-31 12:00:00.000000"},
        /* leap years: Feb 29 of 2028, Feb 28 of 2100 (not leap), Feb 29 of 2000 */
        {"monthly", "2027-12-31 00:00:00", "2028-02-29 00:00:00", "2028-02-29 00:00:00.000000",
         "2028-03-31 00:00:00.000000"},
        {"monthly", "2027-12-31 00:00:00", "2028-02-28 23:59:59.999999",
         "2028-01-31 00:00:00.000000", "2028-02-29 00:00:00.000000"},
        {"monthly", "2099-12-30 08:00:00", "2100-02-28 08:00:00", "2100-02-28 08:00:00.000000",
         "2100-03-30 08:00:00.000000"},
        {"monthly", "1999-11-29 08:00:00", "2000-02-29 08:00:00", "2000-02-29 08:00:00.000000",
         "2000-03-29 08:00:00.000000"},
        /* anchor Feb 29: the 29th where it exists, the 28th elsewhere */
        {"monthly", "2028-02-29 06:30:00", "2029-02-28 06:30:00", "2029-02-28 06:30:00.000000",
         "2029-03-29 06:30:00.000000"},
        /* anchor at the day's last microsecond */
        {"monthly", "2026-01-31 23:59:59.999999", "2026-02-28 23:59:59.999998",
         "2026-01-31 23:59:59.999999", "2026-02-28 23:59:59.999999"},
        {"monthly", "2026-01-31 23:59:59.999999", "2026-02-28 23:59:59.999999",
         "2026-02-28 23:59:59.999999", "2026-03-31 23:59:59.999999"},
        {"monthly", "2026-01-31 23:59:59.999999", "2026-03-01 00:00:00",
         "2026-02-28 23:59:59.999999", "2026-03-31 23:59:59.999999"},
        /* across years, many months later */
        {"monthly", "2026-11-27 11:20:00.123456", "2031-06-01 00:00:00",
         "2031-05-27 11:20:00.123456", "2031-06-27 11:20:00.123456"},
        {"monthly", "2026-12-15 00:00:00", "2027-01-14 00:00:00", "2026-12-15 00:00:00.000000",
         "2027-01-15 00:00:00.000000"},
        /* now before the anchor: the first period */
        {"monthly", "2026-05-20 00:00:00", "2026-05-19 00:00:00", "2026-05-20 00:00:00.000000",
         "2026-06-20 00:00:00.000000"},
        {"monthly", "2026-05-20 00:00:00", "2025-01-01 00:00:00", "2026-05-20 00:00:00.000000",
         "2026-06-20 00:00:00.000000"},
        /* text forms: ISO 'T', 'Z', short fractions, a bare date */
        {"monthly", "2026-01-15T10:00:00Z", "2026-02-15T10:00:00.5Z", "2026-02-15 10:00:00.000000",
         "2026-03-15 10:00:00.000000"},
        {"monthly", "2026-01-15", "2026-01-31", "2026-01-15 00:00:00.000000",
         "2026-02-15 00:00:00.000000"},
        /* lifetime: from the anchor, open-ended, whatever now is */
        {"lifetime", "2026-01-31 12:00:00.5", "2030-01-01 00:00:00", "2026-01-31 12:00:00.500000",
         ""},
        {"lifetime", "2026-01-31 12:00:00", "2020-01-01 00:00:00", "2026-01-31 12:00:00.000000",
         ""},
};

static void test_table(void)
{
	char start[UTC_TIME_LEN], end[UTC_TIME_LEN];
	enum period_kind kind;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct period_case *c = &cases[i];

		CHECK(period_kind_parse(c->kind, &kind));
		if (!period_containing_text(kind, c->anchor, c->now, start, end)) {
			fprintf(stderr, "  case %zu: refused\n", i);
			check_case_failed = 1;
			continue;
		}
		if (strcmp(start, c->start) != 0 || strcmp(end, c->end) != 0) {
			fprintf(stderr,
			        "  case %zu (%s from %s at %s): [%s, %s), expected [%s, %s)\n", i,
			        c->kind, c->anchor, c->now, start, end, c->start, c->end);
			check_case_failed = 1;
		}
	}
}

/* Every month of 30 years: the period contains now, periods are contiguous
 * and each starts on the anchor's day (or the month's last day). */
static void test_contiguous_from_anchor(void)
{
	struct utc_time anchor, now, s, e, prev_end;
	bool has_end = false, first = true;
	long n;

	CHECK(utc_time_parse("2024-01-31 23:59:59.999999", &anchor));
	for (n = 0; n < 360; n++) {
		period_month_start(&anchor, n, &now);
		CHECK(period_containing(PERIOD_MONTHLY, &anchor, &now, &s, &e, &has_end));
		CHECK(has_end);
		CHECK(utc_time_cmp(&s, &now) == 0);
		CHECK(utc_time_cmp(&now, &e) < 0);
		if (!first)
			CHECK(utc_time_cmp(&prev_end, &s) == 0);
		CHECK(s.day == 31 || s.day == days_in_month(s.year, s.month));
		CHECK(s.hour == 23 && s.min == 59 && s.sec == 59 && s.usec == 999999);
		prev_end = e;
		first = false;
	}
}

static void test_parse_rejects(void)
{
	static const char *bad[] = {
	        "",
	        "2026-02-30 00:00:00",
	        "2026-13-01 00:00:00",
	        "2026-00-10",
	        "2026-1-10",
	        "2026-01-10 24:00:00",
	        "2026-01-10 10:60:00",
	        "2026-01-10 10:00:60",
	        "2026-01-10 10:00",
	        "2026-01-10 10:00:00.",
	        "2026-01-10 10:00:00.1234567",
	        "2026-01-10 10:00:00 ",
	        "2025-02-29",
	        "0000-01-01",
	        "2026/01/10",
	        "x",
	};
	enum period_kind k;
	struct utc_time t;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (utc_time_parse(bad[i], &t)) {
			fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
			check_case_failed = 1;
		}
	}
	CHECK(!utc_date_parse("2026-01-10 00:00:00", &t));
	CHECK(utc_date_parse("2024-02-29", &t));
	CHECK(!period_kind_parse("weekly", &k));
	CHECK(!period_kind_parse(NULL, &k));
}

static void test_format_roundtrip(void)
{
	char out[UTC_TIME_LEN];
	struct utc_time t;

	CHECK(utc_time_parse("0001-01-01 00:00:00.000001", &t));
	utc_time_format(&t, out);
	CHECK_STR(out, "0001-01-01 00:00:00.000001");
	CHECK(utc_time_parse("9999-12-31 23:59:59.999999", &t));
	utc_time_format(&t, out);
	CHECK_STR(out, "9999-12-31 23:59:59.999999");
	CHECK_INT(days_in_month(2024, 2), 29);
	CHECK_INT(days_in_month(1900, 2), 28);
	CHECK_INT(days_in_month(2000, 2), 29);
	CHECK_INT(days_in_month(2026, 13), 0);
}

static void test_end_of_range(void)
{
	struct utc_time a, now, s, e;
	bool has_end;

	/* the period would end in year 10000 */
	CHECK(utc_time_parse("9999-10-01 00:00:00", &a));
	CHECK(utc_time_parse("9999-12-15 00:00:00", &now));
	CHECK(!period_containing(PERIOD_MONTHLY, &a, &now, &s, &e, &has_end));
	CHECK(utc_time_parse("9999-11-15 00:00:00", &now));
	CHECK(period_containing(PERIOD_MONTHLY, &a, &now, &s, &e, &has_end));
	CHECK(has_end && e.year == 9999 && e.month == 12);
}

int main(void)
{
	check_program = "test_period";
	RUN(test_table);
	RUN(test_contiguous_from_anchor);
	RUN(test_parse_rejects);
	RUN(test_format_roundtrip);
	RUN(test_end_of_range);
	CHECK_DONE();
}
