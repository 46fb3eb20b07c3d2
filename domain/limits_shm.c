/* The limits table's file: created by the first process (O_EXCL, mode 0600,
 * sized with ftruncate, initialised under an exclusive flock, the magic
 * stored last), mapped by the others under a shared flock that they keep
 * while they use it. A file of another layout is replaced only when nobody
 * holds it (an exclusive flock succeeds), else refused. */
#include "config.h"

#include "limits_shm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_APPS 4096u
#define DEFAULT_KEYS 8192u
#define DEFAULT_PROCS 256u
#define SIZE_MAX_SLOTS (1u << 20)
#define OPEN_TRIES 50

_Static_assert(sizeof(struct lim_header) == LIM_LINE, "header is one cache line");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
               "the shared table needs lock-free atomics");

static aigw_rc layout(const struct limits_sizes *sz, struct limits *l, char *err)
{
	l->n_apps = sz && sz->apps ? sz->apps : DEFAULT_APPS;
	l->n_keys = sz && sz->keys ? sz->keys : DEFAULT_KEYS;
	l->n_procs = sz && sz->procs ? sz->procs : DEFAULT_PROCS;
	if (l->n_apps > SIZE_MAX_SLOTS || l->n_keys > SIZE_MAX_SLOTS || l->n_procs > SIZE_MAX_SLOTS)
		return aigw_fail(err, AIGW_EINVAL, "limits table sizes over %u slots",
		                 SIZE_MAX_SLOTS);
	/* collisions between apps only cost extra invalidations */
	l->n_epochs = l->n_apps * 2;
	l->app_size = lim_round(sizeof(struct lim_app) + (size_t)l->n_procs * sizeof(uint32_t));
	l->off_procs = sizeof(struct lim_header);
	l->off_apps = lim_round(l->off_procs + (size_t)l->n_procs * sizeof(struct lim_proc));
	l->off_keys = l->off_apps + (size_t)l->n_apps * l->app_size;
	l->off_epochs = lim_round(l->off_keys + (size_t)l->n_keys * sizeof(struct lim_key));
	l->size = lim_round(l->off_epochs + (size_t)l->n_epochs * sizeof(uint32_t));
	return AIGW_OK;
}

/* Whether the mapped header describes exactly l's layout. */
static bool header_matches(const struct lim_header *h, const struct limits *l)
{
	return atomic_load_explicit(&h->magic, memory_order_acquire) == LIM_MAGIC &&
	       h->version == LIM_VERSION && h->n_apps == l->n_apps && h->n_keys == l->n_keys &&
	       h->n_procs == l->n_procs && h->n_epochs == l->n_epochs && h->size == l->size;
}

static void header_init(struct lim_header *h, const struct limits *l)
{
	h->version = LIM_VERSION;
	h->n_apps = l->n_apps;
	h->n_keys = l->n_keys;
	h->n_procs = l->n_procs;
	h->n_epochs = l->n_epochs;
	h->size = l->size;
	atomic_store_explicit(&h->magic, LIM_MAGIC, memory_order_release);
}

/* Refuses anything but a regular file of ours that only we may use. */
static aigw_rc check_owner(int fd, const char *path, struct stat *st, char *err)
{
	if (fstat(fd, st) != 0)
		return aigw_fail(err, AIGW_EIO, "limits table %.200s: %s", path, strerror(errno));
	if (!S_ISREG(st->st_mode) || st->st_uid != geteuid() || (st->st_mode & 077) != 0)
		return aigw_fail(err, AIGW_EINVAL,
		                 "limits table %.200s is not a regular file of this user with "
		                 "mode 0600",
		                 path);
	return AIGW_OK;
}

/* Still the file the path names (not one a concurrent opener replaced)? */
static bool same_file(const char *path, const struct stat *st)
{
	struct stat now;

	return lstat(path, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino;
}

static void pause_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int lock(int fd, int op)
{
	int r;

	do
		r = flock(fd, op);
	while (r != 0 && errno == EINTR);
	return r;
}

/* Creates, sizes and initialises a new file; on AIGW_OK l->fd and l->map are
 * set and the fd holds a shared flock. AIGW_EEXIST: someone else was first;
 * AIGW_ERETRY: start again. */
static aigw_rc create(const char *path, struct limits *l, char *err)
{
	struct stat st;
	aigw_rc rc;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		return AIGW_EEXIST;
	if (fd < 0)
		return aigw_fail(err, AIGW_EIO, "cannot create limits table %.200s: %s", path,
		                 strerror(errno));
	/* Openers wait on this lock until the header is complete. */
	rc = lock(fd, LOCK_EX) == 0
	             ? check_owner(fd, path, &st, err)
	             : aigw_fail(err, AIGW_EIO, "flock %.200s: %s", path, strerror(errno));
	/* An opener that locked the empty file before us took it for a stale
	 * one and removed it: start again. */
	if (rc == AIGW_OK && !same_file(path, &st)) {
		close(fd);
		return AIGW_ERETRY;
	}
	if (rc == AIGW_OK && ftruncate(fd, (off_t)l->size) != 0)
		rc = aigw_fail(err, AIGW_EIO, "cannot size limits table %.200s to %zu bytes: %s",
		               path, l->size, strerror(errno));
	if (rc == AIGW_OK) {
		l->map = mmap(NULL, l->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (l->map == MAP_FAILED) {
			l->map = NULL;
			rc = aigw_fail(err, AIGW_EIO, "cannot map limits table %.200s: %s", path,
			               strerror(errno));
		}
	}
	if (rc == AIGW_OK) {
		header_init((struct lim_header *)(void *)l->map, l);
		/* downgrade: "in use", and lets the waiting openers in */
		if (lock(fd, LOCK_SH) != 0)
			rc = aigw_fail(err, AIGW_EIO, "flock %.200s: %s", path, strerror(errno));
	}
	if (rc != AIGW_OK) {
		if (l->map)
			munmap(l->map, l->size);
		l->map = NULL;
		if (fstat(fd, &st) == 0 && same_file(path, &st))
			unlink(path);
		close(fd);
		return rc;
	}
	l->fd = fd;
	return AIGW_OK;
}

/* Opens an existing file. AIGW_OK: mapped (l->fd holds a shared flock).
 * AIGW_ERETRY: it went away or was stale and is now removed: start again.
 * AIGW_EINVAL: another layout, in use. */
static aigw_rc attach(const char *path, struct limits *l, char *err)
{
	struct lim_header h;
	struct stat st;
	ssize_t n;
	aigw_rc rc;
	int fd;

	fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return AIGW_ERETRY;
	if (fd < 0)
		return aigw_fail(err, AIGW_EIO, "cannot open limits table %.200s: %s", path,
		                 strerror(errno));
	rc = check_owner(fd, path, &st, err);
	if (rc == AIGW_OK && lock(fd, LOCK_SH) != 0)
		rc = aigw_fail(err, AIGW_EIO, "flock %.200s: %s", path, strerror(errno));
	if (rc != AIGW_OK)
		goto fail;
	if (!same_file(path, &st)) {
		rc = AIGW_ERETRY;
		goto fail;
	}
	memset(&h, 0, sizeof h);
	n = pread(fd, &h, sizeof h, 0);
	if (fstat(fd, &st) == 0 && n == (ssize_t)sizeof h && (size_t)st.st_size == l->size &&
	    header_matches(&h, l)) {
		l->map = mmap(NULL, l->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (l->map == MAP_FAILED) {
			l->map = NULL;
			rc = aigw_fail(err, AIGW_EIO, "cannot map limits table %.200s: %s", path,
			               strerror(errno));
			goto fail;
		}
		l->fd = fd;
		return AIGW_OK;
	}
	/* Another layout, or a creator died half-way. Nobody else holding it
	 * means nobody uses it: replace it. */
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		if (same_file(path, &st))
			unlink(path);
		rc = AIGW_ERETRY;
		goto fail;
	}
	if (h.magic == LIM_MAGIC)
		rc = aigw_fail(err, AIGW_EINVAL,
		               "limits table %.200s has another layout (version %u, %u apps, %u "
		               "keys, %u processes; expected version %u, %u, %u, %u) and is in "
		               "use: stop the processes using it, or remove it",
		               path, h.version, h.n_apps, h.n_keys, h.n_procs, LIM_VERSION,
		               l->n_apps, l->n_keys, l->n_procs);
	else
		rc = AIGW_ERETRY; /* half-made and held: its holders drop it soon */
fail:
	close(fd);
	return rc;
}

aigw_rc lim_map(const char *path, const struct limits_sizes *sizes, struct limits *l, char *err)
{
	aigw_rc rc;
	int i;

	rc = layout(sizes, l, err);
	if (rc != AIGW_OK)
		return rc;
	if (!path || !*path || strlen(path) >= PATH_MAX)
		return aigw_fail(err, AIGW_EINVAL, "no usable path for the limits table");
	for (i = 0; i < OPEN_TRIES; i++) {
		rc = create(path, l, err);
		if (rc == AIGW_EEXIST)
			rc = attach(path, l, err);
		if (rc != AIGW_ERETRY)
			break;
		pause_ms(1 + i % 10);
	}
	if (rc == AIGW_ERETRY)
		rc = aigw_fail(err, AIGW_EIO, "limits table %.200s: could not open it in %d tries",
		               path, OPEN_TRIES);
	if (rc == AIGW_OK)
		l->h = (struct lim_header *)(void *)l->map;
	return rc;
}

void lim_unmap(struct limits *l)
{
	if (l->map)
		munmap(l->map, l->size);
	if (l->fd >= 0)
		close(l->fd);
	l->map = NULL;
	l->h = NULL;
	l->fd = -1;
}
