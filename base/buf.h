/* Growable byte buffer with a hard cap (request bodies, upstream answers, SSE
 * events). Always NUL-terminated so it can be handed to string APIs.
 * An append that would pass the cap fails with AIGW_ETOOBIG and leaves the
 * buffer as it was. Owner calls buf_free(). */
#ifndef AIGW_BUF_H
#define AIGW_BUF_H

#include <stddef.h>

#include "error.h"

struct buf {
	char *data; /* NUL-terminated; NULL until first append */
	size_t len;
	size_t alloc;
	size_t cap; /* maximum len */
};

void buf_init(struct buf *b, size_t cap);
aigw_rc buf_append(struct buf *b, const void *data, size_t len);
aigw_rc buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Allocates room for n bytes in total up front (one allocation, no copies:
 * used when the final size is known, e.g. from CONTENT_LENGTH). AIGW_ETOOBIG
 * if n is over the cap. */
aigw_rc buf_reserve(struct buf *b, size_t n);
/* Drops the first n bytes (used by stream parsers). */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

#endif
