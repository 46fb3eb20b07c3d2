/* Fairness limits shared by every aigw process of one host: a fixed-size
 * table in a shared-memory file holding, per app, the requests in flight and
 * a requests-per-minute window, per API key a requests-per-minute window, and
 * per app an epoch counter that tells the other processes to drop a cached
 * copy of the app's settings. The request path costs a hash, a short probe
 * and a few atomic operations: no lock, no system call.
 *
 * Exactness. In flight: never more than max_in_flight admitted and not yet
 * left. Requests per minute: a ring of 61 one-second buckets; a request is
 * admitted only when fewer than N were admitted in its second and the 60
 * before it, so no 60 s window ever holds more than N admissions (a window
 * spans at most 61 buckets). Each check increments first and then counts,
 * so requests racing at the limit may see each other's attempt and both be
 * refused, never both admitted.
 *
 * Killed workers. Each process claims a process slot (pid and start time);
 * in-flight counts are kept per process slot. A slot whose process is gone
 * (no such pid, a zombie, or the pid reused by a younger process) is
 * reclaimed and its counts dropped: on limits_open, on limits_reclaim, and
 * from limits_enter when it refuses for in flight (at most once a second for
 * the whole host). So an app held at its cap by a killed worker's counts is
 * refused for about a second at most.
 *
 * A table that is full (all slots taken within the probe length) does not
 * enforce the limits of the apps or keys that did not fit (logged once per
 * process); it never refuses because of that. */
#ifndef AIGW_HOST_LIMITS_H
#define AIGW_HOST_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct limits;

/* Table sizes; 0 takes the default. All processes of a host must use the
 * same sizes: a file of other sizes is refused while in use (see
 * limits_open). */
struct limits_sizes {
	unsigned apps;  /* app slots (default 4096) */
	unsigned keys;  /* key slots (default 8192) */
	unsigned procs; /* process slots (default 256) */
};

#define LIMITS_APP_ID_MAX 64
#define LIMITS_IN_FLIGHT_MAX 100000
#define LIMITS_RPM_MAX 10000000

enum limits_reason {
	LIMITS_ADMIT = 0,
	LIMITS_IN_FLIGHT, /* the app's maxConcurrentRequests */
	LIMITS_APP_RPM,   /* the app's requestsPerMinute */
	LIMITS_KEY_RPM    /* the key's requests per minute */
};

/* What limits_enter is asked. Limits of 0 are unlimited (and not counted:
 * a limit set later starts from the requests after it). */
struct limits_request {
	const char *app_id;     /* borrowed for the call */
	long long key_id;       /* api_keys.id; ignored when key_rpm is 0 */
	unsigned max_in_flight; /* 0..LIMITS_IN_FLIGHT_MAX */
	unsigned app_rpm;       /* 0..LIMITS_RPM_MAX */
	unsigned key_rpm;       /* 0..LIMITS_RPM_MAX */
	long long now_s;        /* limits_now_s(), or an injected clock in tests */
};

/* What an admitted request holds until limits_leave; a plain value the
 * caller keeps (no memory behind it). */
struct limits_ticket {
	int32_t app;  /* app slot whose in-flight count was taken, or -1 */
	int32_t proc; /* process slot it was counted under, or -1 */
};

/* Seconds of CLOCK_MONOTONIC, the clock all processes of a host share. */
long long limits_now_s(void);

/* Maps the table at path, creating it (mode 0600, owned by the running
 * user) if it does not exist, and claims a process slot after reclaiming
 * those of dead processes. Safe when several processes start at once. A file
 * of another layout (magic, version, sizes) is replaced when no process has
 * it open, else refused (AIGW_EINVAL, err names the file). A file that is
 * not a regular file of this user with no group or other access is refused.
 * sizes may be NULL (defaults). *out is freed with limits_close.
 * A handle may be used by many threads at once. After fork(), the child may
 * keep using the inherited handle: it claims its own process slot on first
 * use. */
aigw_rc limits_open(const char *path, const struct limits_sizes *sizes, struct limits **out,
                    char *err);
/* Gives back the process slot (dropping its in-flight counts) and unmaps.
 * A child that inherited l over fork() and never used it leaves the
 * parent's slot alone. l may be NULL. */
void limits_close(struct limits *l);

/* Admits the request (returns LIMITS_ADMIT and fills *t, to be given back to
 * limits_leave) or refuses it: returns the first limit that does not allow
 * it (in-flight, then the app's rpm, then the key's) and sets
 * *retry_after_s (>= 1): 1 for in flight, for an rpm the seconds until the
 * window has room for one more (if nothing else arrives). A refused request
 * changes no count. With l NULL every request is admitted. */
enum limits_reason limits_enter(struct limits *l, const struct limits_request *r,
                                struct limits_ticket *t, int *retry_after_s);
/* The request admitted with t ended (whatever its outcome): its in-flight
 * count is given back. Sets t to the empty ticket, so a second call is a
 * no-op. */
void limits_leave(struct limits *l, struct limits_ticket *t);

/* Reclaims the process slots of processes that are gone, dropping their
 * in-flight counts; returns how many were reclaimed. Makes system calls
 * (kill, /proc), so it is for a timer or a maintenance path. */
int limits_reclaim(struct limits *l);

/* The app's settings epoch: one atomic load. Changes whenever a process of
 * the host calls limits_app_bump for this app (or, rarely, for an app whose
 * id hashes to the same counter). 0 with l NULL. */
uint32_t limits_app_epoch(struct limits *l, const char *app_id);
/* Tells every process of the host that the app's settings changed. */
void limits_app_bump(struct limits *l, const char *app_id);

/* For tests and metrics: the app's requests in flight and those admitted in
 * the window ending at now_s (its rpm count). false when the app holds no
 * slot (it never had a limit, or the table is full). */
bool limits_app_usage(struct limits *l, const char *app_id, long long now_s, unsigned *in_flight,
                      unsigned *last_minute);

/* What the x-ratelimit-* headers tell about request r (after limits_enter):
 * of its app's and its key's per-minute limits, the one with the least
 * left: *limit (0 when neither applies), *remaining in the window now, and
 * *reset_s, the seconds until the window holds nothing again (at most 61). */
void limits_rpm_quota(struct limits *l, const struct limits_request *r, unsigned *limit,
                      unsigned *remaining, int *reset_s);

/* "in_flight", "app_rpm", "key_rpm" (or "admit"), for logs. */
const char *limits_reason_name(enum limits_reason r);

#endif
