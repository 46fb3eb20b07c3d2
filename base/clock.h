/* The project's one clock for durations and timeouts: CLOCK_MONOTONIC, which
 * wall-clock changes do not move. */
#ifndef AIGW_CLOCK_H
#define AIGW_CLOCK_H

#include <time.h>

/* Monotonic time in microseconds. */
static inline long long clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
