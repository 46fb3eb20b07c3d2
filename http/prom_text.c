/* The Prometheus text exposition writer (prom_text.h). */
#include "config.h"

#include "prom_text.h"

#include <stdio.h>
#include <string.h>

/* Appends s with the escapes the format needs in label values (quote true)
 * or in HELP text (quote false: a double quote stays). */
static void append_escaped(struct buf *b, const char *s, int quote)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\\')
			buf_append(b, "\\\\", 2);
		else if (*p == '\n')
			buf_append(b, "\\n", 2);
		else if (*p == '"' && quote)
			buf_append(b, "\\\"", 2);
		else
			buf_append(b, p, 1);
	}
}

void prom_family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_appendf(b, "# HELP %s ", name);
	append_escaped(b, help, 0);
	buf_appendf(b, "\n# TYPE %s %s\n", name, type);
}

static void series(struct buf *b, const char *name, const struct prom_label *labels, size_t n,
                   const char *le)
{
	buf_append(b, name, strlen(name));
	if (n == 0 && !le)
		return;
	buf_append(b, "{", 1);
	for (size_t i = 0; i < n; i++) {
		buf_appendf(b, "%s%s=\"", i ? "," : "", labels[i].name);
		append_escaped(b, labels[i].value ? labels[i].value : "", 1);
		buf_append(b, "\"", 1);
	}
	if (le)
		buf_appendf(b, "%sle=\"%s\"", n ? "," : "", le);
	buf_append(b, "}", 1);
}

void prom_sample(struct buf *b, const char *name, const struct prom_label *labels, size_t n,
                 long long value)
{
	series(b, name, labels, n, NULL);
	buf_appendf(b, " %lld\n", value);
}

/* Microseconds as seconds: "0.25", "60", "0.000001". */
static void micro_text(long long us, char *out, size_t cap)
{
	const char *sign = us < 0 ? "-" : "";
	unsigned long long a = us < 0 ? 0ULL - (unsigned long long)us : (unsigned long long)us;
	size_t n;

	n = (size_t)snprintf(out, cap, "%s%llu.%06llu", sign, a / 1000000ULL, a % 1000000ULL);
	while (n > 0 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
}

void prom_sample_micro(struct buf *b, const char *name, const struct prom_label *labels, size_t n,
                       long long micro)
{
	char v[48];

	micro_text(micro, v, sizeof(v));
	series(b, name, labels, n, NULL);
	buf_appendf(b, " %s\n", v);
}

void prom_histogram(struct buf *b, const char *name, const struct prom_label *labels, size_t n,
                    const long long *bounds_us, const long long *counts, size_t nb,
                    long long sum_us)
{
	char sname[128], le[48];

	snprintf(sname, sizeof(sname), "%s_bucket", name);
	for (size_t i = 0; i < nb; i++) {
		micro_text(bounds_us[i], le, sizeof(le));
		series(b, sname, labels, n, le);
		buf_appendf(b, " %lld\n", counts[i]);
	}
	series(b, sname, labels, n, "+Inf");
	buf_appendf(b, " %lld\n", counts[nb]);
	snprintf(sname, sizeof(sname), "%s_sum", name);
	prom_sample_micro(b, sname, labels, n, sum_us);
	snprintf(sname, sizeof(sname), "%s_count", name);
	prom_sample(b, sname, labels, n, counts[nb]);
}
