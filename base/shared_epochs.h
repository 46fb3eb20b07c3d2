/* Change counters shared by the processes of one pool: a table of atomic
 * counters in memory mapped before the workers are forked, indexed by a
 * hash of a name (an app id). A process that changes an app bumps its
 * counter; the others compare it with the value they saw when they cached
 * the app, one atomic load per lookup, and so drop a stale copy at once.
 * Two names may share a counter: that only costs an extra reload. */
#ifndef AIGW_SHARED_EPOCHS_H
#define AIGW_SHARED_EPOCHS_H

#include <stdint.h>

struct shared_epochs;

/* A table of n counters (rounded up to a power of two) in shared anonymous
 * memory: processes forked afterwards share it. NULL if it cannot be
 * mapped. Free (unmap) with shared_epochs_free in each process. */
struct shared_epochs *shared_epochs_new(unsigned n);
void shared_epochs_free(struct shared_epochs *e);

/* The counter of name; 0 when e is NULL. */
uint64_t shared_epochs_get(const struct shared_epochs *e, const char *name);
/* Adds one to the counter of name; nothing when e is NULL. */
void shared_epochs_bump(struct shared_epochs *e, const char *name);

#endif
