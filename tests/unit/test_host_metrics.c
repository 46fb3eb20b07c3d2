/* Unit tests of domain/host_metrics.c: the host's shared metric cells.
 * Processes adding to one table are summed; a process killed with SIGKILL
 * keeps its counters (retired on reclaim) and loses its gauges; a process
 * that closes retires its counters; a scrape racing with reclaims never
 * sees a counter go backwards; the file's rules (another layout in use is
 * refused, unused it is replaced); a private table; and the cost of one
 * add on the request path. */
#include "config.h"

#include <signal.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "host_metrics.h"

#define CELLS 8
#define COUNTERS 6 /* cells 6 and 7 are gauges */

static char dir[64];
static int seq;

static const char *new_path(char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/metrics-%d", dir, ++seq);
	return buf;
}

static struct hmetrics *open_at(const char *path, uint64_t schema)
{
	struct hmetrics_layout lay = {.schema = schema, .cells = CELLS, .counters = COUNTERS,
	                              .procs = 16};
	char err[AIGW_ERRLEN] = "";
	struct hmetrics *m = NULL;

	if (hmetrics_open(path, &lay, &m, err) != AIGW_OK)
		fprintf(stderr, "  hmetrics_open %s: %s\n", path ? path : "(private)", err);
	return m;
}

static int64_t cell(struct hmetrics *m, int c)
{
	int64_t v[CELLS];

	memset(v, 0, sizeof(v));
	hmetrics_read(m, v);
	return v[c];
}

/* A child that opens the table, adds n to cell 0 and 1 to gauge 6, tells
 * the parent through *ready, then exits (closing) or waits to be killed. */
static pid_t child_adding(const char *path, int n, bool wait_for_kill, _Atomic int *ready)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	{
		struct hmetrics *m = open_at(path, 42);

		if (!m)
			_exit(2);
		for (int i = 0; i < n; i++)
			hmetrics_add(m, 0, 1);
		hmetrics_add(m, 6, 1);
		atomic_fetch_add(ready, 1);
		if (wait_for_kill)
			for (;;)
				pause();
		hmetrics_close(m);
		_exit(0);
	}
}

static _Atomic int *shared_int(void)
{
	void *p = mmap(NULL, sizeof(_Atomic int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	               -1, 0);

	if (p == MAP_FAILED)
		abort();
	atomic_init((_Atomic int *)p, 0);
	return p;
}

static void wait_ready(_Atomic int *ready, int n)
{
	for (int i = 0; i < 5000 && atomic_load(ready) < n; i++)
		usleep(1000);
}

static void two_processes_summed(void)
{
	char path[128];
	_Atomic int *ready = shared_int();
	struct hmetrics *m = open_at(new_path(path, sizeof path), 42);
	pid_t a, b;
	int st;

	CHECK(m != NULL);
	if (!m)
		return;
	hmetrics_add(m, 0, 5);
	a = child_adding(path, 1000, true, ready);
	b = child_adding(path, 2000, true, ready);
	wait_ready(ready, 2);
	CHECK_INT(cell(m, 0), 3005);
	CHECK_INT(cell(m, 6), 2); /* the two children's gauges, not ours (0) */
	kill(a, SIGKILL);
	kill(b, SIGKILL);
	waitpid(a, &st, 0);
	waitpid(b, &st, 0);
	/* dead but not yet reclaimed: counters still counted */
	CHECK_INT(cell(m, 0), 3005);
	CHECK_INT(hmetrics_reclaim(m), 2);
	CHECK_INT(cell(m, 0), 3005);
	CHECK_INT(cell(m, 6), 0);
	hmetrics_close(m);
	munmap((void *)ready, sizeof(*ready));
}

static void closed_process_retired(void)
{
	char path[128];
	_Atomic int *ready = shared_int();
	struct hmetrics *m = open_at(new_path(path, sizeof path), 42);
	pid_t a;
	int st;

	CHECK(m != NULL);
	if (!m)
		return;
	a = child_adding(path, 7, false, ready);
	waitpid(a, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_INT(cell(m, 0), 7);
	CHECK_INT(cell(m, 6), 0); /* its gauge went with it */
	CHECK_INT(hmetrics_reclaim(m), 0);
	/* the slot is free again, and a new process starts from zero */
	a = child_adding(path, 3, false, ready);
	waitpid(a, &st, 0);
	CHECK_INT(cell(m, 0), 10);
	/* and our own close retires ours: a later opener still sees all */
	hmetrics_add(m, 0, 100);
	hmetrics_close(m);
	m = open_at(path, 42);
	CHECK(m != NULL);
	CHECK_INT(cell(m, 0), 110);
	hmetrics_close(m);
	munmap((void *)ready, sizeof(*ready));
}

/* Children add and die (SIGKILL) in a loop while the parent reads and
 * reclaims: a counter read never goes down and ends exact. */
static void never_backwards(void)
{
	char path[128];
	_Atomic int *ready = shared_int();
	struct hmetrics *m = open_at(new_path(path, sizeof path), 42);
	int64_t prev = 0, now;
	bool backwards = false;
	int rounds = 40;

	CHECK(m != NULL);
	if (!m)
		return;
	for (int r = 0; r < rounds; r++) {
		pid_t k = child_adding(path, 50, true, ready);
		int st;

		wait_ready(ready, r + 1);
		kill(k, SIGKILL);
		for (int i = 0; i < 20; i++) {
			if (i == 10)
				waitpid(k, &st, 0);
			hmetrics_reclaim(m);
			now = cell(m, 0);
			if (now < prev)
				backwards = true;
			prev = now;
		}
	}
	CHECK(!backwards);
	CHECK_INT(cell(m, 0), rounds * 50);
	hmetrics_close(m);
	munmap((void *)ready, sizeof(*ready));
}

static void layout_rules(void)
{
	char path[128];
	struct hmetrics *m = open_at(new_path(path, sizeof path), 42), *other;
	struct hmetrics_layout lay = {.schema = 43, .cells = CELLS, .counters = COUNTERS};
	char err[AIGW_ERRLEN] = "";
	struct stat st;

	CHECK(m != NULL);
	hmetrics_add(m, 1, 9);
	/* another catalogue while this one is in use: refused */
	CHECK(hmetrics_open(path, &lay, &other, err) == AIGW_EINVAL);
	CHECK(strstr(err, "another layout") != NULL);
	/* the same layout: shared */
	other = open_at(path, 42);
	CHECK(other != NULL);
	CHECK_INT(cell(other, 1), 9);
	hmetrics_close(other);
	hmetrics_close(m);
	/* unused: replaced, from zero */
	m = NULL;
	CHECK(hmetrics_open(path, &lay, &m, err) == AIGW_OK);
	CHECK_INT(cell(m, 1), 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	hmetrics_close(m);
	/* a file others may read is refused */
	CHECK(chmod(path, 0644) == 0);
	CHECK(hmetrics_open(path, &lay, &m, err) == AIGW_EINVAL);
}

static void private_table(void)
{
	struct hmetrics *m = open_at(NULL, 42);

	CHECK(m != NULL);
	if (!m)
		return;
	hmetrics_add(m, 2, 4);
	hmetrics_add(m, 7, 3);
	hmetrics_add(m, 7, -1);
	hmetrics_set(m, 6, 11);
	CHECK_INT(cell(m, 2), 4);
	CHECK_INT(cell(m, 7), 2);
	CHECK_INT(cell(m, 6), 11);
	hmetrics_add(m, CELLS, 1); /* out of range: ignored */
	hmetrics_add(NULL, 0, 1);
	hmetrics_close(m);
}

/* The request path's cost: prints ns per add (one relaxed atomic add in a
 * shared mapping, behind a call). Checked loosely: well under a microsecond. */
static void add_cost(void)
{
	char path[128];
	struct hmetrics *m = open_at(new_path(path, sizeof path), 42);
	struct timespec a, b;
	const int n = 10000000;
	double ns;

	CHECK(m != NULL);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		hmetrics_add(m, (uint32_t)(i & 3), 1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
	printf("# hmetrics_add: %.1f ns per add (%d adds)\n", ns, n);
	CHECK(ns < 1000.0);
	CHECK_INT(cell(m, 0) + cell(m, 1) + cell(m, 2) + cell(m, 3), n);
	hmetrics_close(m);
}

int main(void)
{
	char cmd[128];

	check_program = "test_host_metrics";
	snprintf(dir, sizeof dir, "/tmp/aigw-metrics-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(two_processes_summed);
	RUN(closed_process_retired);
	RUN(never_backwards);
	RUN(layout_rules);
	RUN(private_table);
	RUN(add_cost);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	CHECK_DONE();
}
