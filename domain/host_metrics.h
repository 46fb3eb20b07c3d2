/* Counters and gauges shared by every aigw process of one host that serves
 * the same database, so that a scrape of any one process shows the whole
 * pool (workers of a --listen pool, or the independent processes a web
 * server spawns). A file in /dev/shm holds one block of cells per process
 * slot (claimed with the pid and its start time, as in host_limits.h) and
 * a "retired" block.
 *
 * A process adds to its own block with relaxed atomics: no lock and no
 * system call on the request path. A reader sums the retired block and
 * every slot for counters, and the live slots only for gauges. When a
 * process ends (hmetrics_close) or is found dead (hmetrics_reclaim), its
 * counters are added into the retired block before its slot is freed, so
 * a counter never goes backwards; its gauges are dropped. A reader that
 * meets such a fold in progress reads again, so it never sees a value
 * counted twice or not at all.
 *
 * The meaning of the cells is the caller's (handlers/metrics.c): cells
 * [0, counters) are counters, [counters, cells) gauges; schema names that
 * catalogue, and a file of another schema is replaced when nobody uses it,
 * else refused. */
#ifndef AIGW_HOST_METRICS_H
#define AIGW_HOST_METRICS_H

#include <stdint.h>

#include "error.h"

struct hmetrics;

struct hmetrics_layout {
	uint64_t schema;   /* identifies the catalogue (non-zero) */
	uint32_t cells;    /* cells per process (1..65536) */
	uint32_t counters; /* the first `counters` cells are counters */
	uint32_t procs;    /* process slots; 0: 256 */
};

/* Maps the file at path (creating it, mode 0600, owned by the running
 * user), reclaims the slots of dead processes and claims one for this
 * process. A file that is not a regular file of this user with mode 0600
 * is refused; one of another layout is replaced when unused, else refused
 * (AIGW_EINVAL). path NULL makes a table of this process alone (when the
 * shared file cannot be had). When every slot is taken the handle still reads, and this
 * process's additions are lost (logged once). Free with hmetrics_close.
 * The handle may be used by many threads; it is not for a forked child
 * (open another there). */
aigw_rc hmetrics_open(const char *path, const struct hmetrics_layout *layout, struct hmetrics **out,
                      char *err);
/* Retires this process's counters (see above), frees its slot, unmaps.
 * m may be NULL. */
void hmetrics_close(struct hmetrics *m);

/* Adds delta to this process's cell (a gauge may go down: a negative
 * delta). One relaxed atomic add; nothing with m NULL or without a slot. */
void hmetrics_add(struct hmetrics *m, uint32_t cell, int64_t delta);
/* Sets this process's gauge cell to value. */
void hmetrics_set(struct hmetrics *m, uint32_t cell, int64_t value);

/* Retires the slots of processes that are gone; returns how many. Makes
 * system calls (kill, /proc): for a timer or a scrape. */
int hmetrics_reclaim(struct hmetrics *m);
/* The host's view: out[cell] for every cell (layout.cells of them):
 * counters summed over the retired block and every slot, gauges over the
 * slots of live processes (reclaim first for an exact gauge). */
void hmetrics_read(struct hmetrics *m, int64_t *out);

#endif
