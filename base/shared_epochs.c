/* Shared change counters (shared_epochs.h): one mmap'd array of C11 atomics,
 * lock-free between threads and processes. */
#include "config.h"

#include "shared_epochs.h"

#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>

struct shared_epochs {
	size_t bytes;
	uint64_t mask;
	_Atomic uint64_t counters[]; /* in the same mapping */
};

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct shared_epochs *shared_epochs_new(unsigned n)
{
	uint64_t size = 1;
	size_t bytes;
	struct shared_epochs *e;

	while (size < n && size < (1u << 24))
		size <<= 1;
	bytes = sizeof(*e) + (size_t)size * sizeof(e->counters[0]);
	e = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (e == MAP_FAILED)
		return NULL;
	/* fresh anonymous pages are zero: every counter starts at 0 */
	e->bytes = bytes;
	e->mask = size - 1;
	return e;
}

void shared_epochs_free(struct shared_epochs *e)
{
	if (e)
		munmap(e, e->bytes);
}

uint64_t shared_epochs_get(const struct shared_epochs *e, const char *name)
{
	if (!e)
		return 0;
	return atomic_load_explicit(&((struct shared_epochs *)e)->counters[name_hash(name) & e->mask],
	                            memory_order_acquire);
}

void shared_epochs_bump(struct shared_epochs *e, const char *name)
{
	if (e)
		atomic_fetch_add_explicit(&e->counters[name_hash(name) & e->mask], 1,
		                          memory_order_acq_rel);
}
