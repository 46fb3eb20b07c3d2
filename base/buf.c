/* Growable byte buffer with a hard cap. Every buffer fed by a peer (request
 * bodies, upstream answers, SSE events) goes through here so that no peer can
 * make a worker allocate without bound. */
#include "config.h"

#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

void buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
}

/* Makes room for `extra` more bytes plus the NUL; the caller checked the cap. */
static void grow(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	size_t n;

	if (need <= b->alloc)
		return;
	n = b->alloc ? b->alloc : 64;
	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	/* Never allocate much past the cap: a 1 MiB cap must not cost 2 MiB. */
	if (n > b->cap + 1)
		n = b->cap + 1;
	if (n < need)
		n = need;
	b->data = xrealloc(b->data, n);
	b->alloc = n;
}

aigw_rc buf_reserve(struct buf *b, size_t n)
{
	if (n > b->cap)
		return AIGW_ETOOBIG;
	if (n > b->len)
		grow(b, n - b->len);
	else
		grow(b, 0);
	b->data[b->len] = '\0';
	return AIGW_OK;
}

aigw_rc buf_append(struct buf *b, const void *data, size_t len)
{
	if (len > b->cap || b->len > b->cap - len)
		return AIGW_ETOOBIG;
	grow(b, len);
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return AIGW_OK;
}

aigw_rc buf_appendf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return AIGW_EINVAL;
	if ((size_t)n < sizeof(small))
		return buf_append(b, small, (size_t)n);
	if ((size_t)n > b->cap || b->len > b->cap - (size_t)n)
		return AIGW_ETOOBIG;
	grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return AIGW_OK;
}

void buf_consume(struct buf *b, size_t n)
{
	if (b->data == NULL)
		return;
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	b->data[b->len] = '\0';
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
}
