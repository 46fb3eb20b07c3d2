/* base/shared_epochs.c: counters start at 0, a bump is seen by the same
 * process and by a forked one, in both directions, and names are separate
 * (up to hash collisions, which a large table makes unlikely). */
#include "config.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "shared_epochs.h"

static void starts_at_zero_and_counts(void)
{
	struct shared_epochs *e = shared_epochs_new(1024);

	CHECK(e != NULL);
	CHECK(shared_epochs_get(e, "app_a") == 0);
	shared_epochs_bump(e, "app_a");
	shared_epochs_bump(e, "app_a");
	CHECK(shared_epochs_get(e, "app_a") == 2);
	shared_epochs_free(e);
}

static void null_table_is_inert(void)
{
	shared_epochs_bump(NULL, "x");
	CHECK(shared_epochs_get(NULL, "x") == 0);
}

/* The child bumps what the parent sees, and the parent's bump before the
 * fork is seen by the child (its exit status reports the count). */
static void shared_with_forked_processes(void)
{
	struct shared_epochs *e = shared_epochs_new(1u << 16);
	int status = 0;
	pid_t pid;

	shared_epochs_bump(e, "app_parent");
	pid = fork();
	if (pid == 0) {
		int seen = (int)shared_epochs_get(e, "app_parent");
		for (int i = 0; i < 5; i++)
			shared_epochs_bump(e, "app_child");
		_exit(seen);
	}
	CHECK(pid > 0);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	CHECK(shared_epochs_get(e, "app_child") == 5);
	CHECK(shared_epochs_get(e, "app_parent") == 1);
	shared_epochs_free(e);
}

int main(void)
{
	check_program = "test_shared_epochs";
	RUN(starts_at_zero_and_counts);
	RUN(null_table_is_inert);
	RUN(shared_with_forked_processes);
	CHECK_DONE();
}
