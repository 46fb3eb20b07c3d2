/* What the benchmark's C programs share: the monotonic clock and an
 * allocation that ends the program on failure. Header-only, so each program
 * stays one file built with a plain cc. */
#ifndef AIGW_BENCH_UTIL_H
#define AIGW_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* realloc, or a message naming prog and exit(1). */
static void *bench_realloc(const char *prog, void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(1);
	}
	return p;
}

#endif
