/* The host's shared metric cells (host_metrics.h): the file, the process
 * slots, and the fold of a dead process's counters into the retired block.
 *
 * Opening: whoever gets the file's exclusive flock without waiting is alone
 * with it and may (re)initialise it; everyone then holds a shared flock
 * while the file is mapped ("in use"). */
#include "config.h"

#include "host_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "proc_id.h"

#define HM_MAGIC 0x314d5457474941ULL /* "AIGWTM1" little-endian */
#define HM_VERSION 1u
#define HM_LINE 64
#define HM_DEFAULT_PROCS 256u
#define HM_MAX_CELLS 65536u
#define HM_MAX_PROCS 4096u
/* A reader waits this many rounds at most for folds in progress (a
 * process killed inside one leaves it "in progress" for good). */
#define HM_READ_TRIES 200

struct hm_header {
	_Atomic uint64_t magic; /* stored last, with release */
	uint64_t schema;
	uint64_t size;
	uint32_t version, n_procs, n_cells, n_counters;
	_Atomic uint32_t procs_hi; /* 1 + the highest slot ever claimed */
	_Atomic uint32_t folding;  /* folds in progress */
	_Atomic uint64_t folds;    /* folds done */
	uint8_t pad[8];
};

struct hm_proc {
	_Atomic int32_t pid; /* 0 free, -1 being folded, else the owner */
	uint32_t pad;
	_Atomic uint64_t start;
};

struct hmetrics {
	int fd;
	unsigned char *map;
	size_t size, block_size, off_retired, off_procs, off_blocks;
	struct hm_header *h;
	uint32_t n_procs, n_cells, n_counters;
	uint64_t schema;
	int32_t slot; /* ours, -1 if none */
	pid_t pid;
};

_Static_assert(sizeof(struct hm_header) == HM_LINE, "header is one cache line");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "shared cells need lock-free 64-bit atomics");

static size_t round_line(size_t n)
{
	return (n + HM_LINE - 1) / HM_LINE * HM_LINE;
}

static _Atomic uint64_t *retired(const struct hmetrics *m)
{
	return (_Atomic uint64_t *)(void *)(m->map + m->off_retired);
}

static struct hm_proc *proc_at(const struct hmetrics *m, uint32_t i)
{
	return (struct hm_proc *)(void *)(m->map + m->off_procs) + i;
}

static _Atomic uint64_t *block(const struct hmetrics *m, uint32_t i)
{
	return (_Atomic uint64_t *)(void *)(m->map + m->off_blocks + (size_t)i * m->block_size);
}

static aigw_rc layout(const struct hmetrics_layout *lay, struct hmetrics *m, char *err)
{
	m->n_procs = lay->procs ? lay->procs : HM_DEFAULT_PROCS;
	m->n_cells = lay->cells;
	m->n_counters = lay->counters;
	m->schema = lay->schema;
	if (!m->schema || !m->n_cells || m->n_cells > HM_MAX_CELLS || m->n_counters > m->n_cells ||
	    m->n_procs > HM_MAX_PROCS)
		return aigw_fail(err, AIGW_EINVAL, "metrics table: bad layout (%u cells, %u "
		                 "counters, %u processes)",
		                 m->n_cells, m->n_counters, m->n_procs);
	m->block_size = round_line((size_t)m->n_cells * sizeof(uint64_t));
	m->off_retired = sizeof(struct hm_header);
	m->off_procs = m->off_retired + m->block_size;
	m->off_blocks = round_line(m->off_procs + (size_t)m->n_procs * sizeof(struct hm_proc));
	m->size = m->off_blocks + (size_t)m->n_procs * m->block_size;
	return AIGW_OK;
}

static bool header_matches(const struct hm_header *h, const struct hmetrics *m)
{
	return atomic_load_explicit(&h->magic, memory_order_acquire) == HM_MAGIC &&
	       h->version == HM_VERSION && h->schema == m->schema && h->size == m->size &&
	       h->n_procs == m->n_procs && h->n_cells == m->n_cells &&
	       h->n_counters == m->n_counters;
}

static int lock(int fd, int op)
{
	int r;

	do
		r = flock(fd, op);
	while (r != 0 && errno == EINTR);
	return r;
}

static aigw_rc map_file(const char *path, struct hmetrics *m, char *err)
{
	m->map = mmap(NULL, m->size, PROT_READ | PROT_WRITE,
	              m->fd >= 0 ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS, m->fd, 0);
	if (m->map == MAP_FAILED) {
		m->map = NULL;
		return aigw_fail(err, AIGW_EIO, "cannot map metrics table %.200s: %s",
		                 path ? path : "(private)", strerror(errno));
	}
	m->h = (struct hm_header *)(void *)m->map;
	return AIGW_OK;
}

/* Alone with the file (exclusive flock): makes it ours if it is not. */
static aigw_rc init_alone(const char *path, struct hmetrics *m, const struct stat *st, char *err)
{
	struct hm_header h;
	aigw_rc rc;

	memset(&h, 0, sizeof h);
	if (m->fd >= 0 && (size_t)st->st_size == m->size && pread(m->fd, &h, sizeof h, 0) == (ssize_t)sizeof h &&
	    header_matches(&h, m))
		return map_file(path, m, err);
	/* empty, half-made, or another layout that nobody uses: start afresh */
	if (m->fd >= 0 && (ftruncate(m->fd, 0) != 0 || ftruncate(m->fd, (off_t)m->size) != 0))
		return aigw_fail(err, AIGW_EIO, "cannot size metrics table %.200s to %zu bytes: %s",
		                 path, m->size, strerror(errno));
	rc = map_file(path, m, err);
	if (rc != AIGW_OK)
		return rc;
	m->h->schema = m->schema;
	m->h->size = m->size;
	m->h->version = HM_VERSION;
	m->h->n_procs = m->n_procs;
	m->h->n_cells = m->n_cells;
	m->h->n_counters = m->n_counters;
	atomic_store_explicit(&m->h->magic, HM_MAGIC, memory_order_release);
	return AIGW_OK;
}

static aigw_rc open_file(const char *path, struct hmetrics *m, char *err)
{
	struct hm_header h;
	struct stat st;
	aigw_rc rc;

	if (!path) {
		struct stat none = {.st_size = 0};

		return init_alone(NULL, m, &none, err);
	}
	if (!path[0] || strlen(path) >= PATH_MAX)
		return aigw_fail(err, AIGW_EINVAL, "no usable path for the metrics table");
	m->fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (m->fd < 0)
		return aigw_fail(err, AIGW_EIO, "cannot open metrics table %.200s: %s", path,
		                 strerror(errno));
	if (fstat(m->fd, &st) != 0)
		return aigw_fail(err, AIGW_EIO, "metrics table %.200s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0)
		return aigw_fail(err, AIGW_EINVAL,
		                 "metrics table %.200s is not a regular file of this user with "
		                 "mode 0600",
		                 path);
	if (flock(m->fd, LOCK_EX | LOCK_NB) == 0) {
		rc = init_alone(path, m, &st, err);
		/* not atomic: another opener may get the exclusive lock in between,
		 * and finds the file made */
		if (rc == AIGW_OK && lock(m->fd, LOCK_SH) != 0)
			rc = aigw_fail(err, AIGW_EIO, "flock %.200s: %s", path, strerror(errno));
		return rc;
	}
	/* in use: wait for a creator's exclusive lock to end, then take it as it is */
	if (lock(m->fd, LOCK_SH) != 0)
		return aigw_fail(err, AIGW_EIO, "flock %.200s: %s", path, strerror(errno));
	memset(&h, 0, sizeof h);
	if (fstat(m->fd, &st) != 0 || (size_t)st.st_size != m->size ||
	    pread(m->fd, &h, sizeof h, 0) != (ssize_t)sizeof h || !header_matches(&h, m))
		return aigw_fail(err, AIGW_EINVAL,
		                 "metrics table %.200s has another layout and is in use (an older "
		                 "aigw still runs): metrics are off in this process until they "
		                 "all restart",
		                 path);
	return map_file(path, m, err);
}

/* Adds slot i's counters into the retired block and clears it; the slot's
 * pid is -1 (ours to fold). */
static void fold(struct hmetrics *m, uint32_t i)
{
	_Atomic uint64_t *b = block(m, i), *r = retired(m);

	atomic_fetch_add(&m->h->folding, 1);
	for (uint32_t c = 0; c < m->n_cells; c++) {
		uint64_t v = atomic_exchange_explicit(&b[c], 0, memory_order_relaxed);

		if (v && c < m->n_counters)
			atomic_fetch_add_explicit(&r[c], v, memory_order_relaxed);
	}
	atomic_fetch_add(&m->h->folds, 1);
	atomic_fetch_sub(&m->h->folding, 1);
}

static void claim(struct hmetrics *m)
{
	uint64_t start = proc_start_time(m->pid);

	m->slot = -1;
	for (uint32_t i = 0; i < m->n_procs; i++) {
		struct hm_proc *s = proc_at(m, i);
		int32_t expect = 0;

		if (atomic_compare_exchange_strong(&s->pid, &expect, (int32_t)m->pid)) {
			uint32_t hi = atomic_load(&m->h->procs_hi);

			atomic_store(&s->start, start);
			while (hi < i + 1 && !atomic_compare_exchange_weak(&m->h->procs_hi, &hi, i + 1))
				;
			m->slot = (int32_t)i;
			return;
		}
	}
	log_error("metrics: all %u process slots of the metrics table are taken: process %d "
	          "is not counted",
	          m->n_procs, (int)m->pid);
}

aigw_rc hmetrics_open(const char *path, const struct hmetrics_layout *lay, struct hmetrics **out,
                      char *err)
{
	struct hmetrics *m = xcalloc(1, sizeof(*m));
	aigw_rc rc;

	*out = NULL;
	m->fd = -1;
	m->slot = -1;
	m->pid = getpid();
	rc = layout(lay, m, err);
	if (rc == AIGW_OK)
		rc = open_file(path, m, err);
	if (rc != AIGW_OK) {
		if (m->map)
			munmap(m->map, m->size);
		if (m->fd >= 0)
			close(m->fd);
		free(m);
		return rc;
	}
	hmetrics_reclaim(m);
	claim(m);
	*out = m;
	return AIGW_OK;
}

void hmetrics_close(struct hmetrics *m)
{
	if (!m)
		return;
	if (m->slot >= 0 && m->pid == getpid()) {
		struct hm_proc *s = proc_at(m, (uint32_t)m->slot);
		int32_t pid = (int32_t)m->pid;

		if (atomic_compare_exchange_strong(&s->pid, &pid, -1)) {
			fold(m, (uint32_t)m->slot);
			atomic_store(&s->start, 0);
			atomic_store(&s->pid, 0);
		}
	}
	munmap(m->map, m->size);
	if (m->fd >= 0)
		close(m->fd);
	free(m);
}

void hmetrics_add(struct hmetrics *m, uint32_t cell, int64_t delta)
{
	if (!m || m->slot < 0 || cell >= m->n_cells)
		return;
	atomic_fetch_add_explicit(&block(m, (uint32_t)m->slot)[cell], (uint64_t)delta,
	                          memory_order_relaxed);
}

void hmetrics_set(struct hmetrics *m, uint32_t cell, int64_t value)
{
	if (!m || m->slot < 0 || cell >= m->n_cells)
		return;
	atomic_store_explicit(&block(m, (uint32_t)m->slot)[cell], (uint64_t)value,
	                      memory_order_relaxed);
}

int hmetrics_reclaim(struct hmetrics *m)
{
	uint32_t hi;
	int n = 0;

	if (!m)
		return 0;
	hi = atomic_load(&m->h->procs_hi);
	for (uint32_t i = 0; i < hi && i < m->n_procs; i++) {
		struct hm_proc *s = proc_at(m, i);
		int32_t pid = atomic_load(&s->pid);

		if (pid <= 0 || (int32_t)i == m->slot)
			continue;
		if (proc_alive((pid_t)pid, atomic_load(&s->start)))
			continue;
		if (!atomic_compare_exchange_strong(&s->pid, &pid, -1))
			continue; /* someone else folds it */
		fold(m, i);
		atomic_store(&s->start, 0);
		atomic_store(&s->pid, 0);
		n++;
	}
	return n;
}

/* One pass over the table; false when a fold ran meanwhile. */
static bool read_once(struct hmetrics *m, int64_t *out)
{
	uint64_t folds = atomic_load(&m->h->folds);
	uint32_t hi;

	if (atomic_load(&m->h->folding) != 0)
		return false;
	for (uint32_t c = 0; c < m->n_cells; c++)
		out[c] = c < m->n_counters
		                 ? (int64_t)atomic_load_explicit(&retired(m)[c], memory_order_relaxed)
		                 : 0;
	hi = atomic_load(&m->h->procs_hi);
	for (uint32_t i = 0; i < hi && i < m->n_procs; i++) {
		int32_t pid = atomic_load(&proc_at(m, i)->pid);
		_Atomic uint64_t *b = block(m, i);

		if (pid == 0)
			continue;
		for (uint32_t c = 0; c < m->n_cells; c++) {
			uint64_t v = atomic_load_explicit(&b[c], memory_order_relaxed);

			if (c < m->n_counters || pid > 0)
				out[c] += (int64_t)v;
		}
	}
	return atomic_load(&m->h->folding) == 0 && atomic_load(&m->h->folds) == folds;
}

void hmetrics_read(struct hmetrics *m, int64_t *out)
{
	if (!m)
		return;
	for (int i = 0; i < HM_READ_TRIES; i++) {
		if (read_once(m, out))
			return;
		if (i > 10)
			usleep(1000);
		else
			sched_yield();
	}
	/* a fold stuck for good (its process killed inside it): take what is there */
	read_once(m, out);
}
