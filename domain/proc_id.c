/* A process's identity from /proc (see proc_id.h). */
#include "config.h"

#include "proc_id.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* Reads state and start time (field 22, clock ticks since boot) from
 * /proc/PID/stat. 0: read; -1: no such process; -2: cannot tell. */
static int proc_stat(pid_t pid, char *state, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	size_t n;
	FILE *f;
	int field;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT || errno == ESRCH ? -1 : -2;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name is in parentheses and may hold anything */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -2;
	*state = p[2];
	p += 2; /* field 3, the state */
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &v) != 1)
		return -2;
	*start = v;
	return 0;
}

uint64_t proc_start_time(pid_t pid)
{
	unsigned long long start = 0;
	char state;

	return proc_stat(pid, &state, &start) == 0 ? start : 0;
}

bool proc_alive(pid_t pid, uint64_t start)
{
	unsigned long long now_start = 0;
	char state = '?';
	int r;

	if (kill(pid, 0) != 0 && errno == ESRCH)
		return false;
	r = proc_stat(pid, &state, &now_start);
	if (r == -1)
		return false;
	if (r != 0)
		return true;
	if (state == 'Z' || state == 'X')
		return false;
	return start == 0 || now_start == start;
}
