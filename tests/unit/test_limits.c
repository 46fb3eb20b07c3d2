/* Unit tests of domain/host_limits.c: the host-wide limits table. In flight at
 * the cap and freed by leave, the rpm window checked against its rule (no 61
 * consecutive seconds ever hold more than N admissions) and its retry-after
 * against the earliest second with room, key against app limits, a full
 * table, threads and forked processes hammering one app, a worker killed
 * with SIGKILL while holding counts, the epoch seen by another process, and
 * the file's creation rules. Time is an injected clock. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "host_limits.h"

static char dir[64];
static int seq;

/* A fresh table path for one case. */
static const char *new_path(char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/limits-%d", dir, ++seq);
	return buf;
}

static struct limits *open_at(const char *path, const struct limits_sizes *sz)
{
	char err[AIGW_ERRLEN] = "";
	struct limits *l = NULL;

	if (limits_open(path, sz, &l, err) != AIGW_OK)
		fprintf(stderr, "  limits_open %s: %s\n", path, err);
	return l;
}

static enum limits_reason enter(struct limits *l, const char *app, long long key, unsigned max,
                                unsigned app_rpm, unsigned key_rpm, long long now,
                                struct limits_ticket *t, int *retry)
{
	struct limits_request r = {app, key, max, app_rpm, key_rpm, now};

	return limits_enter(l, &r, t, retry);
}

static unsigned in_flight_of(struct limits *l, const char *app)
{
	unsigned n = 0, m = 0;

	limits_app_usage(l, app, 0, &n, &m);
	return n;
}

static unsigned minute_of(struct limits *l, const char *app, long long now)
{
	unsigned n = 0, m = 0;

	limits_app_usage(l, app, now, &n, &m);
	return m;
}

static void in_flight_cap(void)
{
	char p[128];
	struct limits *l = open_at(new_path(p, sizeof p), NULL);
	struct limits_ticket t[3], none;
	int retry = 0;

	CHECK(l != NULL);
	if (!l)
		return;
	CHECK_INT(enter(l, "app_a", 1, 2, 0, 0, 100, &t[0], &retry), LIMITS_ADMIT);
	CHECK_INT(enter(l, "app_a", 1, 2, 0, 0, 100, &t[1], &retry), LIMITS_ADMIT);
	CHECK_INT(in_flight_of(l, "app_a"), 2);
	CHECK_INT(enter(l, "app_a", 1, 2, 0, 0, 100, &t[2], &retry), LIMITS_IN_FLIGHT);
	CHECK_INT(retry, 1);
	CHECK_INT(t[2].app, -1);
	CHECK_INT(in_flight_of(l, "app_a"), 2); /* the refusal changed nothing */
	/* another app is not affected */
	CHECK_INT(enter(l, "app_b", 1, 1, 0, 0, 100, &none, &retry), LIMITS_ADMIT);
	limits_leave(l, &none);
	/* leave frees one place, and only one, even when called twice */
	limits_leave(l, &t[0]);
	limits_leave(l, &t[0]);
	CHECK_INT(in_flight_of(l, "app_a"), 1);
	CHECK_INT(enter(l, "app_a", 1, 2, 0, 0, 100, &t[2], &retry), LIMITS_ADMIT);
	CHECK_INT(enter(l, "app_a", 1, 2, 0, 0, 100, &t[0], &retry), LIMITS_IN_FLIGHT);
	limits_leave(l, &t[1]);
	limits_leave(l, &t[2]);
	CHECK_INT(in_flight_of(l, "app_a"), 0);
	/* unlimited: admitted and not counted */
	for (int i = 0; i < 10; i++)
		CHECK_INT(enter(l, "app_c", 1, 0, 0, 0, 100, &t[0], &retry), LIMITS_ADMIT);
	CHECK_INT(in_flight_of(l, "app_c"), 0);
	limits_close(l);
}

/* Admissions in second s and the 60 before it. */
static int window_at(const int *admitted, int s)
{
	int w = 0;

	for (int d = 0; d <= 60 && d <= s; d++)
		w += admitted[s - d];
	return w;
}

/* Drives one app with N = 7 rpm through 400 s of a pseudo-random load and
 * checks every admission and refusal against the rule, computed from what
 * was admitted: refused exactly when the second and the 60 before it already
 * hold N, and retry-after exactly the first second with room. */
static void rpm_window_exact(void)
{
	enum { N = 7, T0 = 5000, SPAN = 400 };
	char p[128];
	struct limits *l = open_at(new_path(p, sizeof p), NULL);
	int admitted[SPAN] = {0}, refusals = 0, total = 0;
	unsigned seed = 12345;

	CHECK(l != NULL);
	if (!l)
		return;
	for (int s = 0; s < SPAN; s++) {
		int tries;

		seed = seed * 1103515245u + 12345u;
		tries = (int)((seed >> 16) % 4); /* 0..3 a second: often above 7 a minute */
		if (s > 200 && s < 260)
			tries = 0; /* a quiet minute: the window empties */
		for (int i = 0; i < tries; i++) {
			struct limits_ticket t;
			int retry = 0, window = window_at(admitted, s), expect_retry = 0;
			enum limits_reason why;

			why = enter(l, "rpm_app", 1, 0, N, 0, T0 + s, &t, &retry);
			if (window < N) {
				CHECK_INT(why, LIMITS_ADMIT);
				admitted[s]++;
				total++;
				continue;
			}
			CHECK_INT(why, LIMITS_APP_RPM);
			refusals++;
			/* the first second k > s whose window (k-60..k) holds fewer than N */
			for (int k = s + 1; k <= s + 61; k++) {
				int w = 0;

				for (int d = k - 60; d <= s; d++)
					w += d >= 0 ? admitted[d] : 0;
				if (w < N) {
					expect_retry = k - s;
					break;
				}
			}
			CHECK_INT(retry, expect_retry);
			CHECK(retry >= 1);
		}
		CHECK_INT(minute_of(l, "rpm_app", T0 + s), window_at(admitted, s));
	}
	/* the rule, on the record: no 61 consecutive seconds over N */
	for (int s = 0; s < SPAN; s++)
		CHECK(window_at(admitted, s) <= N);
	CHECK(refusals > 20); /* the load did reach the limit */
	CHECK(total > 2 * N); /* and the window did move */
	limits_close(l);
}

/* Retry-after in the simplest case, by hand: N at second 0 of the window. */
static void rpm_retry_after_honest(void)
{
	char p[128];
	struct limits *l = open_at(new_path(p, sizeof p), NULL);
	struct limits_ticket t;
	int retry = 0;

	CHECK(l != NULL);
	if (!l)
		return;
	for (int i = 0; i < 3; i++)
		CHECK_INT(enter(l, "r", 1, 0, 3, 0, 1000, &t, &retry), LIMITS_ADMIT);
	CHECK_INT(enter(l, "r", 1, 0, 3, 0, 1010, &t, &retry), LIMITS_APP_RPM);
	CHECK_INT(retry, 51);
	CHECK_INT(enter(l, "r", 1, 0, 3, 0, 1060, &t, &retry), LIMITS_APP_RPM);
	CHECK_INT(retry, 1);
	CHECK_INT(minute_of(l, "r", 1060), 3);
	CHECK_INT(enter(l, "r", 1, 0, 3, 0, 1061, &t, &retry), LIMITS_ADMIT);
	CHECK_INT(minute_of(l, "r", 1061), 1);
	limits_close(l);
}

static void key_and_app_rpm(void)
{
	char p[128];
	struct limits *l = open_at(new_path(p, sizeof p), NULL);
	struct limits_ticket t;
	int retry = 0;

	CHECK(l != NULL);
	if (!l)
		return;
	/* key 10 at 2 a minute, app at 5 */
	CHECK_INT(enter(l, "ka", 10, 0, 5, 2, 500, &t, &retry), LIMITS_ADMIT);
	CHECK_INT(enter(l, "ka", 10, 0, 5, 2, 500, &t, &retry), LIMITS_ADMIT);
	CHECK_INT(enter(l, "ka", 10, 0, 5, 2, 501, &t, &retry), LIMITS_KEY_RPM);
	CHECK_INT(retry, 60);
	CHECK_INT(minute_of(l, "ka", 501), 2); /* the key's refusal took nothing from the app */
	/* another key of the same app has its own window */
	CHECK_INT(enter(l, "ka", 11, 0, 5, 2, 501, &t, &retry), LIMITS_ADMIT);
	CHECK_INT(enter(l, "ka", 11, 0, 5, 2, 501, &t, &retry), LIMITS_ADMIT);
	CHECK_INT(enter(l, "ka", 11, 0, 5, 2, 501, &t, &retry), LIMITS_KEY_RPM);
	/* a key without a limit is held by the app's */
	CHECK_INT(enter(l, "ka", 12, 0, 5, 0, 502, &t, &retry), LIMITS_ADMIT);
	CHECK_INT(enter(l, "ka", 12, 0, 5, 0, 502, &t, &retry), LIMITS_APP_RPM);
	CHECK_INT(retry, 59);
	/* the app's refusal took nothing from the key's window */
	CHECK_INT(enter(l, "ka", 13, 0, 5, 1, 502, &t, &retry), LIMITS_APP_RPM);
	CHECK_INT(enter(l, "kb", 13, 0, 0, 1, 502, &t, &retry), LIMITS_ADMIT);
	CHECK_INT(enter(l, "kb", 13, 0, 0, 1, 502, &t, &retry), LIMITS_KEY_RPM);
	/* in flight is checked first, and its refusal leaves the windows alone */
	CHECK_INT(enter(l, "kc", 20, 1, 5, 5, 600, &t, &retry), LIMITS_ADMIT);
	{
		struct limits_ticket t2;

		CHECK_INT(enter(l, "kc", 20, 1, 5, 5, 600, &t2, &retry), LIMITS_IN_FLIGHT);
	}
	CHECK_INT(minute_of(l, "kc", 600), 1);
	limits_leave(l, &t);
	limits_close(l);
}

static void table_full(void)
{
	const struct limits_sizes sz = {4, 2, 8};
	char p[128], app[16];
	struct limits *l = open_at(new_path(p, sizeof p), &sz);
	struct limits_ticket t;
	int retry = 0;

	CHECK(l != NULL);
	if (!l)
		return;
	for (int i = 0; i < 4; i++) {
		snprintf(app, sizeof app, "full_%d", i);
		CHECK_INT(enter(l, app, 1, 1, 0, 0, 10, &t, &retry), LIMITS_ADMIT);
	}
	/* a fifth app does not fit: admitted, not limited, not tracked */
	for (int i = 0; i < 5; i++)
		CHECK_INT(enter(l, "one_too_many", 1, 1, 1, 0, 10, &t, &retry), LIMITS_ADMIT);
	limits_leave(l, &t);
	CHECK(!limits_app_usage(l, "one_too_many", 10, &(unsigned){0}, &(unsigned){0}));
	/* the apps that fit are still limited */
	CHECK_INT(enter(l, "full_2", 1, 1, 0, 0, 10, &t, &retry), LIMITS_IN_FLIGHT);
	/* the same for keys */
	CHECK_INT(enter(l, "full_0", 1, 0, 0, 1, 10, &t, &retry), LIMITS_ADMIT);
	CHECK_INT(enter(l, "full_0", 2, 0, 0, 1, 10, &t, &retry), LIMITS_ADMIT);
	for (int i = 0; i < 3; i++)
		CHECK_INT(enter(l, "full_0", 3, 0, 0, 1, 10, &t, &retry), LIMITS_ADMIT);
	CHECK_INT(enter(l, "full_0", 1, 0, 0, 1, 10, &t, &retry), LIMITS_KEY_RPM);
	/* the epochs need no slot */
	limits_app_bump(l, "one_too_many");
	CHECK_INT(limits_app_epoch(l, "one_too_many"), 1);
	limits_close(l);
}

#define CAP 3
struct hammer {
	struct limits *l;
	atomic_int holders; /* admitted and not yet left, as the test sees it */
	atomic_int max_seen;
	atomic_long admits, refusals;
};

static void hammer_once(struct limits *l, atomic_int *holders, atomic_int *max_seen,
                        atomic_long *admits, atomic_long *refusals)
{
	struct limits_ticket t;
	int retry, now, m;

	if (enter(l, "hammer", 1, CAP, 0, 0, 7, &t, &retry) != LIMITS_ADMIT) {
		atomic_fetch_add(refusals, 1);
		return;
	}
	atomic_fetch_add(admits, 1);
	now = atomic_fetch_add(holders, 1) + 1;
	m = atomic_load(max_seen);
	while (now > m && !atomic_compare_exchange_weak(max_seen, &m, now))
		;
	sched_yield(); /* hold the place a while: let the others pile up */
	atomic_fetch_sub(holders, 1);
	limits_leave(l, &t);
}

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;

	for (int i = 0; i < 20000; i++)
		hammer_once(h->l, &h->holders, &h->max_seen, &h->admits, &h->refusals);
	return NULL;
}

static void threads_never_pass_cap(void)
{
	char p[128];
	struct hammer h = {.l = open_at(new_path(p, sizeof p), NULL)};
	pthread_t th[8];

	CHECK(h.l != NULL);
	if (!h.l)
		return;
	for (int i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, hammer_thread, &h);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	CHECK(atomic_load(&h.max_seen) <= CAP);
	CHECK_INT(atomic_load(&h.max_seen), CAP); /* the threads did pile up */
	CHECK(atomic_load(&h.admits) > 1000);
	CHECK_INT(atomic_load(&h.admits) + atomic_load(&h.refusals), 8 * 20000);
	CHECK_INT(in_flight_of(h.l, "hammer"), 0);
	limits_close(h.l);
}

/* Shared between forked processes (an anonymous shared mapping). */
struct shared {
	atomic_int holders, max_seen;
	atomic_long admits, refusals;
};

static void processes_never_pass_cap(void)
{
	char p[128];
	struct limits *l = open_at(new_path(p, sizeof p), NULL);
	struct shared *sh =
	        mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t kids[4];
	int status;

	CHECK(l != NULL && sh != MAP_FAILED);
	if (!l || sh == MAP_FAILED)
		return;
	memset(sh, 0, sizeof *sh);
	for (int i = 0; i < 4; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			/* an independent process: its own handle on the file */
			struct limits *mine = open_at(p, NULL);

			if (!mine)
				_exit(3);
			for (int n = 0; n < 20000; n++)
				hammer_once(mine, &sh->holders, &sh->max_seen, &sh->admits,
				            &sh->refusals);
			limits_close(mine);
			_exit(0);
		}
	}
	for (int i = 0; i < 4; i++) {
		CHECK(waitpid(kids[i], &status, 0) == kids[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	CHECK(atomic_load(&sh->max_seen) <= CAP);
	CHECK_INT(atomic_load(&sh->max_seen), CAP);
	CHECK_INT(atomic_load(&sh->admits) + atomic_load(&sh->refusals), 4 * 20000);
	CHECK_INT(in_flight_of(l, "hammer"), 0);
	munmap(sh, sizeof *sh);
	limits_close(l);
}

/* A child takes both places of a 2-cap app through the handle it inherited
 * over fork (so it claims its own process slot) and is killed. */
static void killed_worker_reclaimed(void)
{
	char p[128], c;
	struct limits *l = open_at(new_path(p, sizeof p), NULL);
	struct limits_ticket t;
	int fds[2], retry = 0, status;
	pid_t kid;

	CHECK(l != NULL && pipe(fds) == 0);
	if (!l)
		return;
	kid = fork();
	if (kid == 0) {
		struct limits_ticket a, b;
		int r;

		close(fds[0]);
		if (enter(l, "killed", 1, 2, 0, 0, 50, &a, &r) != LIMITS_ADMIT ||
		    enter(l, "killed", 1, 2, 0, 0, 50, &b, &r) != LIMITS_ADMIT)
			_exit(3);
		if (write(fds[1], "x", 1) != 1)
			_exit(4);
		for (;;)
			pause();
	}
	close(fds[1]);
	CHECK(read(fds[0], &c, 1) == 1);
	close(fds[0]);
	CHECK_INT(in_flight_of(l, "killed"), 2);
	/* alive: its counts hold, whatever the sweeps */
	CHECK_INT(limits_reclaim(l), 0);
	CHECK_INT(enter(l, "killed", 1, 2, 0, 0, 51, &t, &retry), LIMITS_IN_FLIGHT);
	kill(kid, SIGKILL);
	/* not reaped yet (a zombie) still counts as gone; the first refusal in a
	 * new second sweeps */
	for (int i = 0; i < 200 && kill(kid, 0) == 0; i++) {
		char path[64], buf[256] = "";
		FILE *f;

		snprintf(path, sizeof path, "/proc/%d/stat", (int)kid);
		f = fopen(path, "r");
		if (f) {
			size_t n = fread(buf, 1, sizeof buf - 1, f);

			buf[n] = '\0';
			fclose(f);
		}
		if (strstr(buf, ") Z"))
			break;
		usleep(10000);
	}
	CHECK_INT(enter(l, "killed", 1, 2, 0, 0, 52, &t, &retry), LIMITS_ADMIT);
	CHECK_INT(in_flight_of(l, "killed"), 1);
	limits_leave(l, &t);
	CHECK(waitpid(kid, &status, 0) == kid);
	CHECK(WIFSIGNALED(status));
	CHECK_INT(in_flight_of(l, "killed"), 0);
	limits_close(l);
}

/* An independent process's counts reclaimed at open by the next process. */
static void reclaimed_on_open(void)
{
	char p[128];
	struct limits *l;
	int status;
	pid_t kid;

	new_path(p, sizeof p);
	kid = fork();
	if (kid == 0) {
		struct limits *mine = open_at(p, NULL);
		struct limits_ticket t;
		int r;

		if (!mine || enter(mine, "opened", 1, 1, 0, 0, 5, &t, &r) != LIMITS_ADMIT)
			_exit(3);
		raise(SIGKILL);
	}
	CHECK(waitpid(kid, &status, 0) == kid && WIFSIGNALED(status));
	l = open_at(p, NULL);
	CHECK(l != NULL);
	if (!l)
		return;
	CHECK_INT(in_flight_of(l, "opened"), 0);
	limits_close(l);
}

static void epoch_across_processes(void)
{
	char p[128];
	struct limits *l = open_at(new_path(p, sizeof p), NULL);
	uint32_t e0, other0;
	int status;
	pid_t kid;

	CHECK(l != NULL);
	if (!l)
		return;
	e0 = limits_app_epoch(l, "epoch_app");
	other0 = limits_app_epoch(l, "other_app");
	kid = fork();
	if (kid == 0) {
		struct limits *mine = open_at(p, NULL);

		if (!mine)
			_exit(3);
		limits_app_bump(mine, "epoch_app");
		limits_close(mine);
		_exit(0);
	}
	CHECK(waitpid(kid, &status, 0) == kid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_INT(limits_app_epoch(l, "epoch_app"), e0 + 1);
	CHECK_INT(limits_app_epoch(l, "other_app"), other0);
	limits_app_bump(l, "epoch_app");
	CHECK_INT(limits_app_epoch(l, "epoch_app"), e0 + 2);
	CHECK_INT(limits_app_epoch(NULL, "epoch_app"), 0);
	limits_close(l);
}

/* Six processes open a table that does not exist yet, at the same moment:
 * they all end up on the same file. */
static void concurrent_create(void)
{
	char p[128];
	struct limits *l;
	int go[2], status;
	pid_t kids[6];

	new_path(p, sizeof p);
	CHECK(pipe(go) == 0);
	for (int i = 0; i < 6; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			struct limits *mine;
			char c;

			close(go[1]);
			if (read(go[0], &c, 1) != 0)
				_exit(4);
			mine = open_at(p, NULL);
			if (!mine)
				_exit(3);
			limits_app_bump(mine, "created");
			limits_close(mine);
			_exit(0);
		}
	}
	close(go[0]);
	close(go[1]); /* EOF: all start */
	for (int i = 0; i < 6; i++) {
		CHECK(waitpid(kids[i], &status, 0) == kids[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	l = open_at(p, NULL);
	CHECK(l != NULL);
	if (!l)
		return;
	CHECK_INT(limits_app_epoch(l, "created"), 6);
	limits_close(l);
}

static void file_rules(void)
{
	const struct limits_sizes small = {16, 16, 4}, other = {32, 16, 4};
	char p[128], err[AIGW_ERRLEN];
	struct limits *a, *b = NULL;
	struct stat st;
	int fd;

	/* created 0600 */
	a = open_at(new_path(p, sizeof p), &small);
	CHECK(a != NULL);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
	/* another layout while in use: refused, naming the file */
	err[0] = '\0';
	CHECK_INT(limits_open(p, &other, &b, err), AIGW_EINVAL);
	CHECK(b == NULL);
	CHECK(strstr(err, p) != NULL);
	limits_app_bump(a, "kept");
	limits_close(a);
	/* ... replaced once nobody uses it */
	b = open_at(p, &other);
	CHECK(b != NULL);
	CHECK_INT(limits_app_epoch(b, "kept"), 0);
	limits_close(b);
	/* a file others may read is not ours to use */
	new_path(p, sizeof p);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0);
	CHECK(fchmod(fd, 0644) == 0);
	close(fd);
	b = NULL;
	CHECK_INT(limits_open(p, &small, &b, err), AIGW_EINVAL);
	CHECK(b == NULL);
	/* a stale file of the right mode but no header is replaced */
	CHECK(chmod(p, 0600) == 0);
	b = open_at(p, &small);
	CHECK(b != NULL);
	limits_close(b);
	/* closing drops the process's counts */
	a = open_at(p, &small);
	b = open_at(p, &small);
	if (a && b) {
		struct limits_ticket t;
		int retry;

		CHECK_INT(enter(b, "closing", 1, 5, 0, 0, 1, &t, &retry), LIMITS_ADMIT);
		CHECK_INT(in_flight_of(a, "closing"), 1);
		limits_close(b);
		CHECK_INT(in_flight_of(a, "closing"), 0);
	}
	limits_close(a);
}

/* What the x-ratelimit headers report: the tighter of app and key, what is
 * left, and when the window is empty again. */
static void rpm_quota_reported(void)
{
	char p[128];
	struct limits *l = open_at(new_path(p, sizeof p), NULL);
	struct limits_ticket t;
	unsigned limit = 9, rem = 9;
	int retry, reset = 9;
	struct limits_request none = {"quota-app", 5, 0, 0, 0, 1000};
	struct limits_request app = {"quota-app", 5, 0, 4, 0, 1000};
	struct limits_request both = {"quota-app", 5, 0, 10, 2, 1000};

	if (!l)
		return;
	limits_rpm_quota(l, &none, &limit, &rem, &reset);
	CHECK_INT(limit, 0);
	CHECK_INT(enter(l, "quota-app", 5, 0, 4, 0, 1000, &t, &retry), LIMITS_ADMIT);
	limits_rpm_quota(l, &app, &limit, &rem, &reset);
	CHECK_INT(limit, 4);
	CHECK_INT(rem, 3);
	CHECK_INT(reset, 61); /* admitted this second: gone from the window in 61 s */
	CHECK_INT(enter(l, "quota-app", 5, 0, 4, 0, 1010, &t, &retry), LIMITS_ADMIT);
	app.now_s = 1010;
	limits_rpm_quota(l, &app, &limit, &rem, &reset);
	CHECK_INT(rem, 2);
	CHECK_INT(reset, 61);
	app.now_s = 1065; /* the first left the window, the second has 6 s to go */
	limits_rpm_quota(l, &app, &limit, &rem, &reset);
	CHECK_INT(rem, 3);
	CHECK_INT(reset, 6);
	/* the key's limit of 2, one used: tighter than the app's 10 with 3 used */
	CHECK_INT(enter(l, "quota-app", 5, 0, 10, 2, 1011, &t, &retry), LIMITS_ADMIT);
	both.now_s = 1011;
	limits_rpm_quota(l, &both, &limit, &rem, &reset);
	CHECK_INT(limit, 2);
	CHECK_INT(rem, 1);
	limits_close(l);
}

int main(void)
{
	char cmd[128];

	check_program = "test_limits";
	snprintf(dir, sizeof dir, "/tmp/aigw-limits-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(in_flight_cap);
	RUN(rpm_window_exact);
	RUN(rpm_retry_after_honest);
	RUN(key_and_app_rpm);
	RUN(table_full);
	RUN(threads_never_pass_cap);
	RUN(processes_never_pass_cap);
	RUN(killed_worker_reclaimed);
	RUN(reclaimed_on_open);
	RUN(epoch_across_processes);
	RUN(concurrent_create);
	RUN(file_rules);
	RUN(rpm_quota_reported);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	CHECK_DONE();
}
