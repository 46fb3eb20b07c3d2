/* The project's clocks: CLOCK_MONOTONIC for durations and timeouts (wall-clock
 * changes do not move it), and the wall clock for comparing with times the
 * database gives (a billing period's end). */
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

/* The CLOCK_REALTIME instant us microseconds from now: the deadline that
 * pthread_cond_timedwait takes. */
static inline struct timespec clock_deadline_us(long long us)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	us += ts.tv_nsec / 1000;
	ts.tv_sec += (time_t)(us / 1000000);
	ts.tv_nsec = (long)(us % 1000000) * 1000;
	return ts;
}

/* Wall-clock time (UTC) in microseconds since the epoch. */
static inline long long clock_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
