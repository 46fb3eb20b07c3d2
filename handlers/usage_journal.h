/* The usage journal: a process's local, append-only record of what it owes
 * the database, so that no billed generation is lost when MariaDB is down,
 * the process is killed or the machine loses power.
 *
 * Files: conf journal_dir/<tag>-<pid>-<start>-<seq>.journal, lines as
 * journal_record.h describes; <tag> names the database (processes of other
 * databases never touch them), a process writes only its own files and
 * holds an exclusive flock on each while it lives. A new file (segment) is
 * started when the current one passes JOURNAL_SEGMENT_BYTES; a segment is
 * deleted once every usage row in it is in the database and no request it
 * holds is still running.
 *
 * What is written when:
 *   - a reservation made for a request (hold) and the upstream's head
 *     (open): write(2) at once, no fsync: a killed process loses nothing
 *     (the kernel has the bytes), a power loss may lose them (the
 *     reservation then waits for its expiry);
 *   - a request's usage row (done): write(2), then fdatasync before the
 *     request's response is closed; concurrent requests share one
 *     fdatasync (group commit). When the row waits for the upstream's
 *     generation record, its open record is fdatasync'd before the response
 *     is closed instead;
 *   - after the usage writer's batch is committed in MariaDB (landed):
 *     write(2) only; a lost mark only means rows applied again, which the
 *     database recognises by their request id.
 *
 * When the journal cannot take a record (the disk is full, a write fails,
 * or its files pass conf journal_max_mb) it stops accepting for a second at
 * a time: usage_journal_accepting is false and new proxied requests are
 * refused with 503 before any upstream call; requests already running still
 * get their rows through the usage writer's memory queue.
 *
 * A process that dies leaves its files behind, their flocks released; any
 * live process of the same database adopts them (usage_journal_adopt) and
 * settles what they hold (usage_recovery.h). */
#ifndef AIGW_USAGE_JOURNAL_H
#define AIGW_USAGE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "journal_record.h"

#define JOURNAL_SEGMENT_BYTES (16LL * 1024 * 1024)

struct usage_journal;

/* A request's place in the journal: the segment its hold/open records went
 * to, which is kept until the request's done record is written (or it ends
 * without one: usage_journal_forget). seg 0: none yet. */
struct journal_ticket {
	long long seg;
};

/* Opens a new journal for this process in dir (made 0700 if missing), its
 * files named after tag. max_bytes bounds the files' total size. */
aigw_rc usage_journal_open(const char *dir, const char *tag, long long max_bytes,
                           struct usage_journal **out, char *err);
/* Closes the files. Files whose every row landed and that hold no running
 * request are deleted; the others stay for another process to adopt. */
void usage_journal_close(struct usage_journal *j);

/* Whether new requests may start (see the top of this file). */
bool usage_journal_accepting(struct usage_journal *j);

/* Appends a hold or open record of a request (no fsync) and pins the
 * segment to the ticket. Returns false when the record could not be
 * written (logged; the request goes on). */
bool usage_journal_note(struct usage_journal *j, struct journal_ticket *t,
                        const struct journal_entry *e);
/* Appends the request's done record and unpins its ticket (t may be NULL).
 * Returns the journal position after it, to give usage_journal_sync and
 * usage_journal_landed, or -1 when it could not be written (logged). */
long long usage_journal_done(struct usage_journal *j, struct journal_ticket *t,
                             const struct usage_record *rec);
/* Unpins a ticket whose request ends without a done record. */
void usage_journal_forget(struct usage_journal *j, struct journal_ticket *t);
/* Returns once every record before position lsn is on disk (fdatasync),
 * sharing the flush with the other threads waiting. */
void usage_journal_sync(struct usage_journal *j, long long lsn);
/* usage_journal_sync of everything written so far (j may be NULL). */
void usage_journal_flush(struct usage_journal *j);
/* The usage rows of every done record before lsn are in the database. */
void usage_journal_landed(struct usage_journal *j, long long lsn);

/* Sizes, for logs and tests. */
struct usage_journal_stats {
	long long bytes;    /* in the files now */
	long long files;    /* segments open */
	long long syncs;    /* fdatasync calls */
	long long synced;   /* done records made durable */
	long long failures; /* records that could not be written */
};
void usage_journal_stats(struct usage_journal *j, struct usage_journal_stats *out);

/* ---- adoption of a dead process's files ---- */

/* One dead process's records, in the order written. */
struct journal_orphan {
	char owner[96]; /* <tag>-<pid>-<start> */
	struct journal_entry *entries;
	size_t n;
	long long landed; /* the highest landed mark */
	size_t damaged;   /* lines skipped as torn or damaged */
	/* the files, locked by us */
	int *fds;
	char **paths;
	size_t n_files;
};

/* Finds a journal of tag in dir whose process is gone (every file of it can
 * be locked), other than self's, and reads it. AIGW_ENOTFOUND: none. */
aigw_rc usage_journal_adopt(const char *dir, const char *tag, const struct usage_journal *self,
                            struct journal_orphan **out, char *err);
/* Done with an adopted journal: remove deletes its files (everything in it
 * is settled and in our own journal or the database), else they are only
 * unlocked, to be adopted again later. Frees o. */
void usage_journal_orphan_done(struct journal_orphan *o, bool remove);

#endif
