/* The Prometheus text exposition format (version 0.0.4), written into a
 * capped buffer: a family's # HELP and # TYPE lines, then its samples,
 * label values escaped (backslash, double quote, line feed). Names are the
 * caller's constants and must match [a-zA-Z_:][a-zA-Z0-9_:]*. */
#ifndef AIGW_PROM_TEXT_H
#define AIGW_PROM_TEXT_H

#include <stddef.h>

#include "buf.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct prom_label {
	const char *name;
	const char *value; /* any UTF-8; escaped here */
};

/* type: "counter", "gauge" or "histogram"; help: one line of text. */
void prom_family(struct buf *b, const char *name, const char *type, const char *help);
/* name{labels...} value, with an integer value. */
void prom_sample(struct buf *b, const char *name, const struct prom_label *labels, size_t n,
                 long long value);
/* The same with a decimal value (seconds): printed with up to 6 decimals. */
void prom_sample_micro(struct buf *b, const char *name, const struct prom_label *labels, size_t n,
                       long long micro);
/* A histogram's series from its cumulative bucket counts: name_bucket for
 * each upper bound (bounds_us, in microseconds, printed as seconds) and
 * +Inf, name_sum (sum_us, as seconds) and name_count. counts[i] is the
 * number of observations <= bounds_us[i], counts[nb] all of them. */
void prom_histogram(struct buf *b, const char *name, const struct prom_label *labels, size_t n,
                    const long long *bounds_us, const long long *counts, size_t nb,
                    long long sum_us);

#endif
