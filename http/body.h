/* Bounded request body reading: the body never costs more memory than the
 * configured max_body_bytes, whether CONTENT_LENGTH is given, too big, a lie,
 * or missing. Reads through a callback so it runs on FastCGI streams in
 * production and on memory in unit tests. */
#ifndef AIGW_BODY_H
#define AIGW_BODY_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

/* Reads up to n bytes into dst; returns the count (less than n only at end
 * of input), 0 at end of input, or -1 on a read error. */
typedef int (*body_read_fn)(void *io, char *dst, int n);

/* Reads the request body into out (which it initializes: the caller only
 * buf_free()s it, on success and on error).
 * - content_length over max: AIGW_ETOOBIG without reading anything;
 * - content_length not a plain decimal number: AIGW_EINVAL;
 * - content_length NULL or "": reads to end of input, AIGW_ETOOBIG past max;
 * - input ends before content_length bytes, or a read error: AIGW_EIO.
 * err gets a message fit for the client (no body bytes in it). */
aigw_rc body_read(body_read_fn read_fn, void *io, const char *content_length, size_t max,
                  struct buf *out, char *err);

/* Parses a CONTENT_LENGTH value: AIGW_OK with *len, AIGW_EINVAL if it is not
 * a plain decimal number, AIGW_ETOOBIG if it does not fit in a size_t. */
aigw_rc body_parse_length(const char *s, size_t *len);

#endif
