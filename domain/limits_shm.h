/* Internals of the host-wide limits table (host_limits.h), shared by its three
 * files: the layout of the shared file (limits_shm.c maps it), the process
 * slots (limits_proc.c) and the counters (host_limits.c). Everything in the file
 * is read and written with C11 atomics only: several processes map it. */
#ifndef AIGW_LIMITS_SHM_H
#define AIGW_LIMITS_SHM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "host_limits.h"

#define LIM_MAGIC 0x314d494c57474941ULL /* "AIGWLIM1" little-endian */
#define LIM_VERSION 1u
#define LIM_RING 61 /* one-second buckets: this second and the 60 before */
#define LIM_LINE 64

/* The file starts with this header (one cache line) ... */
struct lim_header {
	_Atomic uint64_t magic; /* stored last, with release, by the creator */
	uint32_t version;
	uint32_t n_apps;
	uint32_t n_keys;
	uint32_t n_procs;
	uint32_t n_epochs;
	uint32_t pad0;
	uint64_t size;             /* bytes of the whole file */
	_Atomic uint32_t procs_hi; /* 1 + the highest process slot ever claimed */
	uint32_t pad1;
	_Atomic int64_t last_sweep_s; /* the second of the last reclaim from limits_enter */
	uint8_t pad2[8];
};

/* ... then n_procs of these: pid 0 free, -1 being reclaimed, else the owner;
 * start is its start time (/proc/PID/stat field 22), 0 while claiming. */
struct lim_proc {
	_Atomic int32_t pid;
	uint32_t pad;
	_Atomic uint64_t start;
};

/* A requests-per-minute window: bucket s % LIM_RING holds
 * (second << 32 | count) for the second it last counted. */
struct lim_ring {
	_Atomic uint64_t b[LIM_RING];
};

/* ... then n_apps app slots of lim_app_size() bytes: a lim_app followed by
 * n_procs in-flight counters (uint32), one per process slot ... */
struct lim_app {
	_Atomic uint64_t tag; /* hash of the app id; 0 free */
	uint64_t pad;
	struct lim_ring rpm;
};

/* ... then n_keys key slots ... */
struct lim_key {
	_Atomic uint64_t tag; /* hash of the key id; 0 free */
	struct lim_ring rpm;
};

/* ... then n_epochs epoch counters (uint32). */

/* The process-local handle. */
struct limits {
	int fd; /* holds a shared flock while mapped: "in use" */
	unsigned char *map;
	size_t size;
	struct lim_header *h;
	uint32_t n_apps, n_keys, n_procs, n_epochs;
	size_t app_size, off_procs, off_apps, off_keys, off_epochs;
	_Atomic int32_t proc; /* our process slot, -1 if none */
	_Atomic unsigned gen; /* limits_fork_gen() when proc was claimed */
	_Atomic int logged;   /* LIM_LOGGED_* bits: what was logged once */
};

#define LIM_LOGGED_APPS 1
#define LIM_LOGGED_KEYS 2
#define LIM_LOGGED_PROCS 4

static inline size_t lim_round(size_t n)
{
	return (n + LIM_LINE - 1) / LIM_LINE * LIM_LINE;
}

static inline struct lim_proc *lim_proc_at(const struct limits *l, uint32_t i)
{
	return (struct lim_proc *)(void *)(l->map + l->off_procs) + i;
}

static inline struct lim_app *lim_app_at(const struct limits *l, uint32_t i)
{
	return (struct lim_app *)(void *)(l->map + l->off_apps + (size_t)i * l->app_size);
}

/* The in-flight counter of app slot a under process slot p. */
static inline _Atomic uint32_t *lim_held(const struct limits *l, uint32_t a, uint32_t p)
{
	return (_Atomic uint32_t *)(void *)((unsigned char *)lim_app_at(l, a) +
	                                    sizeof(struct lim_app)) +
	       p;
}

static inline struct lim_key *lim_key_at(const struct limits *l, uint32_t i)
{
	return (struct lim_key *)(void *)(l->map + l->off_keys) + i;
}

static inline _Atomic uint32_t *lim_epoch_at(const struct limits *l, uint32_t i)
{
	return (_Atomic uint32_t *)(void *)(l->map + l->off_epochs) + i;
}

/* limits_shm.c: computes l's layout from sizes, then opens or creates the
 * file at path and maps it into l (fd, map, size, h). */
aigw_rc lim_map(const char *path, const struct limits_sizes *sizes, struct limits *l, char *err);
/* Unmaps and closes (dropping the flock). */
void lim_unmap(struct limits *l);

/* limits_proc.c: the process-wide fork generation (bumped in every child). */
unsigned lim_fork_gen(void);
/* Claims a free process slot for this process (sets l->proc, -1 if none is
 * free, and l->gen). */
void lim_claim(struct limits *l);
/* The process slot to count under: claims one first in a child that
 * inherited l over fork. -1 when there is none. */
int32_t lim_own_proc(struct limits *l);
/* Frees l's process slot, dropping its counts, if this process owns it. */
void lim_release(struct limits *l);
/* From limits_enter: limits_reclaim, unless someone on the host did so in
 * second now_s already; returns how many slots were reclaimed. */
int lim_sweep(struct limits *l, long long now_s);

#endif
