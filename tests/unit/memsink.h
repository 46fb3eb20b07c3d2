/* A response sink in memory, for tests: everything written lands in `out`,
 * and it can be told to fail, to drive the detection of a client gone. */
#ifndef AIGW_MEMSINK_H
#define AIGW_MEMSINK_H

#include <stdbool.h>

#include "buf.h"
#include "response.h"

/* A memory backend for unit tests: everything written lands in `out`. */
struct memsink {
	struct buf out;
	int flushes;
	bool fail_after_flushes; /* when set, flush number `fail_at` and later fail,
	                            and so does every write after that (fail_at 0:
	                            every write and flush fails) */
	int fail_at;
	bool ended; /* the end op was called */
};
extern const struct sink_ops memsink_ops;
void memsink_init(struct memsink *m);
void memsink_free(struct memsink *m);

#endif
