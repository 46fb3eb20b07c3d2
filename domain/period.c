/* Billing period arithmetic (period.h): parsing and formatting UTC times of
 * the schema and finding the monthly period containing a time by counting
 * whole months from the anchor, never by stepping from a previous period. */
#include "config.h"
#include "period.h"

#include <stdio.h>
#include <string.h>

bool period_kind_parse(const char *s, enum period_kind *out)
{
	if (!s)
		return false;
	if (strcmp(s, "lifetime") == 0) {
		*out = PERIOD_LIFETIME;
		return true;
	}
	if (strcmp(s, "monthly") == 0) {
		*out = PERIOD_MONTHLY;
		return true;
	}
	return false;
}

static bool is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (month < 1 || month > 12)
		return 0;
	if (month == 2 && is_leap(year))
		return 29;
	return days[month - 1];
}

/* Reads exactly n decimal digits at *p. */
static bool digits(const char **p, int n, long *out)
{
	long v = 0;
	int i;

	for (i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

static bool date_part(const char **p, struct utc_time *t)
{
	long y, mo, d;

	if (!digits(p, 4, &y) || !expect(p, '-') || !digits(p, 2, &mo) || !expect(p, '-') ||
	    !digits(p, 2, &d))
		return false;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month((int)y, (int)mo))
		return false;
	memset(t, 0, sizeof *t);
	t->year = (int)y;
	t->month = (int)mo;
	t->day = (int)d;
	return true;
}

bool utc_date_parse(const char *s, struct utc_time *out)
{
	struct utc_time t;

	if (!s || !date_part(&s, &t) || *s != '\0')
		return false;
	*out = t;
	return true;
}

bool utc_time_parse(const char *s, struct utc_time *out)
{
	struct utc_time t;
	long h, mi, se, frac = 0;
	int n = 0;

	if (!s || !date_part(&s, &t))
		return false;
	if (*s == '\0') {
		*out = t;
		return true;
	}
	if (*s != ' ' && *s != 'T')
		return false;
	s++;
	if (!digits(&s, 2, &h) || !expect(&s, ':') || !digits(&s, 2, &mi) || !expect(&s, ':') ||
	    !digits(&s, 2, &se))
		return false;
	if (h > 23 || mi > 59 || se > 59)
		return false;
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9' && n < 6) {
			frac = frac * 10 + (*s - '0');
			s++;
			n++;
		}
		if (n == 0)
			return false;
		for (; n < 6; n++)
			frac *= 10;
	}
	if (*s == 'Z')
		s++;
	if (*s != '\0')
		return false;
	t.hour = (int)h;
	t.min = (int)mi;
	t.sec = (int)se;
	t.usec = frac;
	*out = t;
	return true;
}

void utc_time_format(const struct utc_time *t, char out[UTC_TIME_LEN])
{
	/* Unsigned and reduced: the compiler can then see the text fits. */
	snprintf(out, UTC_TIME_LEN, "%04u-%02u-%02u %02u:%02u:%02u.%06lu",
	         (unsigned)t->year % 10000u, (unsigned)t->month % 100u, (unsigned)t->day % 100u,
	         (unsigned)t->hour % 100u, (unsigned)t->min % 100u, (unsigned)t->sec % 100u,
	         (unsigned long)t->usec % 1000000ul);
}

static int cmp_long(long a, long b)
{
	return (a > b) - (a < b);
}

int utc_time_cmp(const struct utc_time *a, const struct utc_time *b)
{
	int c;

	c = cmp_long(a->year, b->year);
	if (c == 0)
		c = cmp_long(a->month, b->month);
	if (c == 0)
		c = cmp_long(a->day, b->day);
	if (c == 0)
		c = cmp_long(a->hour, b->hour);
	if (c == 0)
		c = cmp_long(a->min, b->min);
	if (c == 0)
		c = cmp_long(a->sec, b->sec);
	if (c == 0)
		c = cmp_long(a->usec, b->usec);
	return c;
}

void period_month_start(const struct utc_time *anchor, long n, struct utc_time *out)
{
	long months = (long)(anchor->month - 1) + n; /* months since January of the anchor year */
	int dim;

	*out = *anchor;
	out->year = anchor->year + (int)(months / 12);
	out->month = (int)(months % 12) + 1;
	dim = days_in_month(out->year, out->month);
	if (out->day > dim)
		out->day = dim;
}

bool period_containing(enum period_kind kind, const struct utc_time *anchor,
                       const struct utc_time *now, struct utc_time *start, struct utc_time *end,
                       bool *has_end)
{
	struct utc_time s;
	long n;

	if (kind == PERIOD_LIFETIME) {
		*start = *anchor;
		*has_end = false;
		return true;
	}
	/* The start in now's own month (n months after the anchor) is the
	 * answer unless it is still ahead of now (an anchor later in the month
	 * than now): then it is the previous month's. */
	n = (long)(now->year - anchor->year) * 12 + (now->month - anchor->month);
	if (n > 0) {
		period_month_start(anchor, n, &s);
		if (utc_time_cmp(&s, now) > 0)
			n--;
	}
	if (n < 0)
		n = 0; /* now before the anchor: the first period */
	period_month_start(anchor, n, start);
	period_month_start(anchor, n + 1, end);
	if (end->year > 9999)
		return false;
	*has_end = true;
	return true;
}

bool period_containing_text(enum period_kind kind, const char *anchor, const char *now,
                            char start[UTC_TIME_LEN], char end[UTC_TIME_LEN])
{
	struct utc_time a, t, s, e;
	bool has_end = false;

	if (!utc_time_parse(anchor, &a) || !utc_time_parse(now, &t))
		return false;
	if (!period_containing(kind, &a, &t, &s, &e, &has_end))
		return false;
	utc_time_format(&s, start);
	if (has_end)
		utc_time_format(&e, end);
	else
		end[0] = '\0';
	return true;
}
