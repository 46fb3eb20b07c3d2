/* The usage journal's files (usage_journal.h): segments appended under one
 * mutex, one fdatasync shared by the threads that wait for it, landed marks,
 * deletion of what is settled, and the adoption of a dead process's files. */
#include "config.h"

#include "usage_journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "log.h"

/* How long the journal refuses new requests after a write failed. */
#define REFUSE_AFTER_FAILURE_US 1000000LL
#define SUFFIX ".journal"
/* Segments a flush round lists on its stack (more: on the heap). */
#define SYNC_FEW_FILES 8

struct segment {
	long long seq; /* the tickets' seg */
	int fd;
	char *path;
	long long start_lsn, end_lsn;
	long long pins; /* requests whose hold/open records are here, not yet done */
	bool dirty;     /* written since its last fdatasync */
	struct segment *next;
};

struct usage_journal {
	pthread_mutex_t mu;
	pthread_cond_t synced_cv;
	char *dir;
	char owner[96];
	int dir_fd;
	long long max_bytes;
	struct segment *first, *last;
	long long next_seq;
	long long lsn;           /* bytes written by this process */
	long long synced_lsn;    /* durable up to here */
	long long landed_lsn;    /* rows before here are in the database */
	long long last_done_lsn; /* the end of the last done record */
	long long bytes;         /* in the segments now */
	long long unsynced_done; /* done records written since the last flush began */
	bool syncing;
	long long refuse_until_us;
	bool warned;
	struct usage_journal_stats stats;
};

static bool write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* A write failed or the journal is full: refuse new requests for a while. */
static void refuse_locked(struct usage_journal *j, const char *why)
{
	j->refuse_until_us = clock_us() + REFUSE_AFTER_FAILURE_US;
	j->stats.failures++;
	if (!j->warned)
		log_error("usage journal %s: %s; new requests are refused with 503 until it "
		          "takes records again",
		          j->dir, why);
	j->warned = true;
}

/* Starts a new segment; under j->mu. */
static bool rotate_locked(struct usage_journal *j)
{
	struct segment *s = xcalloc(1, sizeof(*s));
	struct journal_entry head = {.kind = JOURNAL_SEGMENT, .lsn = j->lsn};
	char line[256], path[4096 + 128];
	size_t len;

	s->seq = j->next_seq++;
	snprintf(path, sizeof(path), "%s/%s-%lld" SUFFIX, j->dir, j->owner, s->seq);
	s->path = xstrdup(path);
	s->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (s->fd < 0 || flock(s->fd, LOCK_EX | LOCK_NB) != 0) {
		char why[256];
		snprintf(why, sizeof(why), "cannot create a file: %s", strerror(errno));
		refuse_locked(j, why);
		if (s->fd >= 0) {
			close(s->fd);
			unlink(path);
		}
		free(s->path);
		free(s);
		return false;
	}
	len = journal_line_print(&head, line, sizeof(line));
	if (!write_all(s->fd, line, len) || fsync(j->dir_fd) != 0) {
		refuse_locked(j, "cannot write a new segment");
		close(s->fd);
		unlink(path);
		free(s->path);
		free(s);
		return false;
	}
	s->start_lsn = j->lsn;
	j->lsn += (long long)len;
	s->end_lsn = j->lsn;
	s->dirty = true;
	j->bytes += (long long)len;
	if (j->last)
		j->last->next = s;
	else
		j->first = s;
	j->last = s;
	j->stats.files++;
	return true;
}

/* Appends one line; under j->mu. Returns the position after it, or -1. */
static long long append_locked(struct usage_journal *j, const struct journal_entry *e,
                               struct segment **where)
{
	char line[JOURNAL_LINE_MAX];
	size_t len = journal_line_print(e, line, sizeof(line));
	struct segment *s;

	if (len == 0) {
		j->stats.failures++;
		log_error("usage journal: a record does not fit a line");
		return -1;
	}
	if (j->bytes + (long long)len > j->max_bytes) {
		refuse_locked(j, "it is full (journal_max_mb)");
		return -1;
	}
	if ((!j->last || j->last->end_lsn - j->last->start_lsn >= JOURNAL_SEGMENT_BYTES) &&
	    !rotate_locked(j))
		return -1;
	s = j->last;
	if (!write_all(s->fd, line, len)) {
		char why[256];
		snprintf(why, sizeof(why), "cannot write to %s: %s", s->path, strerror(errno));
		/* cut a torn line off, so that the file stays readable */
		if (ftruncate(s->fd, (off_t)(s->end_lsn - s->start_lsn)) != 0)
			log_warn("usage journal: cannot cut a torn line off %s", s->path);
		refuse_locked(j, why);
		return -1;
	}
	j->warned = false;
	s->end_lsn += (long long)len;
	s->dirty = true;
	j->lsn += (long long)len;
	j->bytes += (long long)len;
	if (where)
		*where = s;
	return j->lsn;
}

aigw_rc usage_journal_open(const char *dir, const char *tag, long long max_bytes,
                           struct usage_journal **out, char *err)
{
	struct usage_journal *j;

	*out = NULL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return aigw_fail(err, AIGW_EIO, "usage journal: cannot make %s: %s", dir,
		                 strerror(errno));
	j = xcalloc(1, sizeof(*j));
	j->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dir_fd < 0) {
		aigw_fail(err, AIGW_EIO, "usage journal: cannot open %s: %s", dir,
		          strerror(errno));
		free(j);
		return AIGW_EIO;
	}
	j->dir = xstrdup(dir);
	snprintf(j->owner, sizeof(j->owner), "%s-%ld-%lld", tag, (long)getpid(),
	         clock_wall_us() / 1000);
	j->max_bytes = max_bytes > 0 ? max_bytes : 1LL << 40;
	j->next_seq = 1;
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->synced_cv, NULL);
	pthread_mutex_lock(&j->mu);
	if (!rotate_locked(j)) {
		pthread_mutex_unlock(&j->mu);
		aigw_fail(err, AIGW_EIO, "usage journal: cannot write a file in %s", dir);
		usage_journal_close(j);
		return AIGW_EIO;
	}
	pthread_mutex_unlock(&j->mu);
	*out = j;
	return AIGW_OK;
}

static void segment_free(struct segment *s, bool remove)
{
	if (remove)
		unlink(s->path);
	close(s->fd);
	free(s->path);
	free(s);
}

/* Deletes the segments before the current one that are settled: every row
 * in them landed, no running request pinned to them. Under j->mu, not while
 * a flush may use their descriptors. */
static void trim_locked(struct usage_journal *j)
{
	if (j->syncing)
		return;
	while (j->first && j->first != j->last && j->first->pins == 0 &&
	       j->first->end_lsn <= j->landed_lsn) {
		struct segment *s = j->first;
		j->first = s->next;
		j->bytes -= s->end_lsn - s->start_lsn;
		j->stats.files--;
		segment_free(s, true);
	}
}

void usage_journal_close(struct usage_journal *j)
{
	bool settled;

	if (!j)
		return;
	pthread_mutex_lock(&j->mu);
	settled = j->landed_lsn >= j->last_done_lsn;
	for (struct segment *s = j->first; s; s = s->next)
		settled = settled && s->pins == 0;
	while (j->first) {
		struct segment *s = j->first;
		j->first = s->next;
		segment_free(s, settled);
	}
	if (settled)
		fsync(j->dir_fd);
	else
		log_warn("usage journal: %s-* left in %s with usage not yet in the database; "
		         "another aigw process of this database settles it",
		         j->owner, j->dir);
	pthread_mutex_unlock(&j->mu);
	close(j->dir_fd);
	pthread_cond_destroy(&j->synced_cv);
	pthread_mutex_destroy(&j->mu);
	free(j->dir);
	free(j);
}

bool usage_journal_accepting(struct usage_journal *j)
{
	bool ok;

	if (!j)
		return true;
	pthread_mutex_lock(&j->mu);
	ok = clock_us() >= j->refuse_until_us && j->bytes < j->max_bytes;
	pthread_mutex_unlock(&j->mu);
	return ok;
}

static struct segment *find_locked(struct usage_journal *j, long long seq)
{
	for (struct segment *s = j->first; s; s = s->next)
		if (s->seq == seq)
			return s;
	return NULL;
}

bool usage_journal_note(struct usage_journal *j, struct journal_ticket *t,
                        const struct journal_entry *e)
{
	struct segment *s = NULL;
	long long at;

	pthread_mutex_lock(&j->mu);
	at = append_locked(j, e, &s);
	if (at > 0 && t->seg == 0) {
		s->pins++;
		t->seg = s->seq;
	}
	pthread_mutex_unlock(&j->mu);
	return at > 0;
}

static void unpin_locked(struct usage_journal *j, struct journal_ticket *t)
{
	struct segment *s;

	if (!t || t->seg == 0)
		return;
	s = find_locked(j, t->seg);
	if (s && s->pins > 0)
		s->pins--;
	t->seg = 0;
}

long long usage_journal_done(struct usage_journal *j, struct journal_ticket *t,
                             const struct usage_record *rec)
{
	struct journal_entry e = {.kind = JOURNAL_DONE, .rec = *rec};
	long long at;

	pthread_mutex_lock(&j->mu);
	at = append_locked(j, &e, NULL);
	if (at > 0) {
		j->last_done_lsn = at;
		j->unsynced_done++;
	}
	unpin_locked(j, t);
	pthread_mutex_unlock(&j->mu);
	return at;
}

void usage_journal_forget(struct usage_journal *j, struct journal_ticket *t)
{
	if (!j || !t || t->seg == 0)
		return;
	pthread_mutex_lock(&j->mu);
	unpin_locked(j, t);
	pthread_mutex_unlock(&j->mu);
}

void usage_journal_sync(struct usage_journal *j, long long lsn)
{
	pthread_mutex_lock(&j->mu);
	while (j->synced_lsn < lsn) {
		int few[SYNC_FEW_FILES], *fds = few;
		size_t n = 0;
		long long target, records;
		bool failed = false;

		if (j->syncing) {
			pthread_cond_wait(&j->synced_cv, &j->mu);
			continue;
		}
		/* This thread flushes for everyone waiting. */
		j->syncing = true;
		target = j->lsn;
		records = j->unsynced_done;
		j->unsynced_done = 0;
		if (j->stats.files > SYNC_FEW_FILES)
			fds = xcalloc((size_t)j->stats.files, sizeof(*fds));
		for (struct segment *s = j->first; s; s = s->next) {
			if (s->dirty)
				fds[n++] = s->fd;
			s->dirty = false;
		}
		pthread_mutex_unlock(&j->mu);
		for (size_t i = 0; i < n; i++)
			if (fdatasync(fds[i]) != 0)
				failed = true;
		if (fds != few)
			free(fds);
		pthread_mutex_lock(&j->mu);
		if (failed)
			refuse_locked(j, "fdatasync failed");
		j->stats.syncs++;
		j->stats.synced += records;
		j->synced_lsn = target;
		j->syncing = false;
		pthread_cond_broadcast(&j->synced_cv);
	}
	pthread_mutex_unlock(&j->mu);
}

void usage_journal_flush(struct usage_journal *j)
{
	long long at;

	if (!j)
		return;
	pthread_mutex_lock(&j->mu);
	at = j->lsn;
	pthread_mutex_unlock(&j->mu);
	usage_journal_sync(j, at);
}

void usage_journal_landed(struct usage_journal *j, long long lsn)
{
	struct journal_entry e = {.kind = JOURNAL_LANDED, .lsn = lsn};

	pthread_mutex_lock(&j->mu);
	if (lsn > j->landed_lsn) {
		j->landed_lsn = lsn;
		/* Only an optimisation for whoever adopts the files: no fsync,
		 * and no harm if it cannot be written. */
		if (j->bytes < j->max_bytes)
			append_locked(j, &e, NULL);
	}
	trim_locked(j);
	pthread_mutex_unlock(&j->mu);
}

void usage_journal_stats(struct usage_journal *j, struct usage_journal_stats *out)
{
	pthread_mutex_lock(&j->mu);
	*out = j->stats;
	out->bytes = j->bytes;
	pthread_mutex_unlock(&j->mu);
}

/* ---- adoption ---- */

/* The owner part of a journal file name of tag ("<tag>-<pid>-<start>" of
 * "<tag>-<pid>-<start>-<seq>.journal"), or false if it is not one. */
static bool owner_of(const char *name, const char *tag, char *owner, size_t cap)
{
	size_t n = strlen(name), t = strlen(tag), sl = strlen(SUFFIX);
	const char *dash;

	if (n <= t + sl + 1 || strncmp(name, tag, t) != 0 || name[t] != '-' ||
	    strcmp(name + n - sl, SUFFIX) != 0)
		return false;
	dash = memrchr(name, '-', n - sl);
	if (!dash || dash <= name + t || (size_t)(dash - name) >= cap)
		return false;
	memcpy(owner, name, (size_t)(dash - name));
	owner[dash - name] = '\0';
	return true;
}

static long long seq_of(const char *name)
{
	const char *dash = strrchr(name, '-');

	return dash ? atoll(dash + 1) : 0;
}

static void orphan_free(struct journal_orphan *o, bool remove)
{
	for (size_t i = 0; i < o->n_files; i++) {
		if (remove)
			unlink(o->paths[i]);
		close(o->fds[i]);
		free(o->paths[i]);
	}
	free(o->fds);
	free(o->paths);
	free(o->entries);
	free(o);
}

void usage_journal_orphan_done(struct journal_orphan *o, bool remove)
{
	if (o)
		orphan_free(o, remove);
}

static void add_entry(struct journal_orphan *o, size_t *cap, const struct journal_entry *e)
{
	if (o->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		o->entries = xrealloc(o->entries, *cap * sizeof(*o->entries));
	}
	o->entries[o->n++] = *e;
}

/* Reads one locked file's lines into o. */
static aigw_rc read_file(struct journal_orphan *o, size_t *cap, int fd, const char *path,
                         char *err)
{
	struct stat st;
	char *data;
	size_t off = 0, len;
	long long base = -1;

	if (fstat(fd, &st) != 0)
		return aigw_fail(err, AIGW_EIO, "%s: %s", path, strerror(errno));
	if (st.st_size > 4 * JOURNAL_SEGMENT_BYTES)
		return aigw_fail(err, AIGW_EINVAL, "%s: %lld bytes, more than a journal file has",
		                 path, (long long)st.st_size);
	len = (size_t)st.st_size;
	data = xmalloc(len + 1);
	if (pread(fd, data, len, 0) != (ssize_t)len) {
		free(data);
		return aigw_fail(err, AIGW_EIO, "%s: cannot read it", path);
	}
	while (off < len) {
		char *nl = memchr(data + off, '\n', len - off);
		size_t end = nl ? (size_t)(nl - data) + 1 : len;
		struct journal_entry e;

		if (journal_line_parse(data + off, end - off, &e) != AIGW_OK) {
			o->damaged++;
		} else if (e.kind == JOURNAL_SEGMENT) {
			base = e.lsn - (long long)off;
		} else {
			if (e.kind == JOURNAL_LANDED && e.lsn > o->landed)
				o->landed = e.lsn;
			if (e.kind == JOURNAL_DONE)
				e.lsn = base >= 0 ? base + (long long)end : -1;
			add_entry(o, cap, &e);
		}
		off = end;
	}
	free(data);
	return AIGW_OK;
}

static int by_seq(const void *a, const void *b)
{
	long long x = seq_of(*(char *const *)a), y = seq_of(*(char *const *)b);

	return x < y ? -1 : x > y;
}

/* Locks and reads every file of owner; NULL when one is still locked (its
 * process lives) or gone. */
static struct journal_orphan *take_owner(const char *dir, const char *owner, char **names,
                                         size_t n_names, char *err)
{
	struct journal_orphan *o = xcalloc(1, sizeof(*o));
	size_t cap = 0;

	snprintf(o->owner, sizeof(o->owner), "%s", owner);
	o->fds = xcalloc(n_names, sizeof(*o->fds));
	o->paths = xcalloc(n_names, sizeof(*o->paths));
	qsort(names, n_names, sizeof(*names), by_seq);
	for (size_t i = 0; i < n_names; i++) {
		char path[4096 + 256];
		struct stat st;
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0 || fstat(fd, &st) != 0 ||
		    st.st_nlink == 0) {
			if (fd >= 0)
				close(fd);
			orphan_free(o, false);
			return NULL;
		}
		o->fds[o->n_files] = fd;
		o->paths[o->n_files] = xstrdup(path);
		o->n_files++;
	}
	for (size_t i = 0; i < o->n_files; i++) {
		if (read_file(o, &cap, o->fds[i], o->paths[i], err) != AIGW_OK) {
			log_error("usage journal: %s; left for an operator", err);
			orphan_free(o, false);
			return NULL;
		}
	}
	return o;
}

aigw_rc usage_journal_adopt(const char *dir, const char *tag, const struct usage_journal *self,
                            struct journal_orphan **out, char *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	aigw_rc rc = AIGW_ENOTFOUND;

	*out = NULL;
	if (!d)
		return aigw_fail(err, AIGW_EIO, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char owner[96];
		if (!owner_of(de->d_name, tag, owner, sizeof(owner)))
			continue;
		if (self && strcmp(owner, self->owner) == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	/* Owner by owner (the names of one owner gathered) until one is free. */
	for (size_t i = 0; i < n && !*out; i++) {
		char owner[96], other[96];
		char **group;
		size_t g = 0;

		if (!names[i] || !owner_of(names[i], tag, owner, sizeof(owner)))
			continue;
		group = xcalloc(n, sizeof(*group));
		for (size_t k = i; k < n; k++) {
			if (names[k] && owner_of(names[k], tag, other, sizeof(other)) &&
			    strcmp(owner, other) == 0) {
				group[g++] = names[k];
				names[k] = NULL;
			}
		}
		*out = take_owner(dir, owner, group, g, err);
		for (size_t k = 0; k < g; k++)
			free(group[k]);
		free(group);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (*out)
		rc = AIGW_OK;
	return rc;
}
