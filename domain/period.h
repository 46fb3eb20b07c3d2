/* Billing period arithmetic, pure (no database, no clock): which period of
 * a plan contains a given UTC time. Monthly periods start at the anchor's
 * day of month and time of day every month, the day clamped to the month's
 * last day, and are always computed from the anchor itself, so a Jan 31
 * anchor gives Feb 28 (29), Mar 31, Apr 30, ... and never drifts to the 28th. */
#ifndef AIGW_DB_PERIOD_H
#define AIGW_DB_PERIOD_H

#include <stdbool.h>

#define UTC_TIME_LEN 32 /* "YYYY-MM-DD HH:MM:SS.ffffff" + NUL, with room */

enum period_kind {
	PERIOD_LIFETIME, /* one period from the start, never ending */
	PERIOD_MONTHLY   /* [anchor + n months, anchor + n + 1 months) */
};

/* A broken-down UTC time; year 1..9999, month 1..12, day 1..31. */
struct utc_time {
	int year, month, day;
	int hour, min, sec;
	long usec; /* 0..999999 */
};

/* "lifetime" or "monthly" (plans.period); false for anything else. */
bool period_kind_parse(const char *s, enum period_kind *out);

/* Parses "YYYY-MM-DD HH:MM:SS" with an optional fraction of 1 to 6 digits
 * (a 'T' may replace the space, a final 'Z' is allowed) or a bare
 * "YYYY-MM-DD" (midnight). False for anything else, including impossible
 * dates (Feb 30) and times. */
bool utc_time_parse(const char *s, struct utc_time *out);
/* Only "YYYY-MM-DD", a real date. */
bool utc_date_parse(const char *s, struct utc_time *out);
/* "YYYY-MM-DD HH:MM:SS.ffffff": the DATETIME(6) text of the schema. */
void utc_time_format(const struct utc_time *t, char out[UTC_TIME_LEN]);
/* <0, 0, >0 as a is before, equal to or after b. */
int utc_time_cmp(const struct utc_time *a, const struct utc_time *b);
/* Days of month (1..12) of year, leap years included. */
int days_in_month(int year, int month);

/* Start of the n-th (n >= 0) monthly period of anchor: anchor + n months,
 * the day clamped to the last day of that month. */
void period_month_start(const struct utc_time *anchor, long n, struct utc_time *out);

/* The period of the given kind containing now: *start <= now < *end.
 * Lifetime: [anchor, open-ended); *has_end is false and *end is not set.
 * Monthly: the period whose start is the latest one <= now; when now is
 * before the anchor, the first period (it starts at the anchor). False only
 * if the end of the period would fall after year 9999. */
bool period_containing(enum period_kind kind, const struct utc_time *anchor,
                       const struct utc_time *now, struct utc_time *start, struct utc_time *end,
                       bool *has_end);

/* The same on text times (as utc_time_parse takes): start and end written
 * as utc_time_format does, end "" when open-ended. False for a bad text. */
bool period_containing_text(enum period_kind kind, const char *anchor, const char *now,
                            char start[UTC_TIME_LEN], char end[UTC_TIME_LEN]);

#endif
