/* Bounded request body reading (see body.h). A body over the limit is
 * refused from CONTENT_LENGTH before a byte is read, and a body without
 * CONTENT_LENGTH is cut off as soon as it passes the limit. */
#include "config.h"

#include "body.h"

#include <stdint.h>

#define CHUNK (16 * 1024)

aigw_rc body_parse_length(const char *s, size_t *len)
{
	size_t v = 0;
	const char *p;

	if (s == NULL || *s == '\0')
		return AIGW_EINVAL;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return AIGW_EINVAL;
	}
	for (p = s; *p != '\0'; p++) {
		size_t d = (size_t)(*p - '0');

		if (v > (SIZE_MAX - d) / 10)
			return AIGW_ETOOBIG;
		v = v * 10 + d;
	}
	*len = v;
	return AIGW_OK;
}

static aigw_rc read_known(body_read_fn read_fn, void *io, size_t want, struct buf *out, char *err)
{
	/* One allocation of the announced size: no realloc copies of the body. */
	buf_reserve(out, want);
	while (out->len < want) {
		size_t left = want - out->len;
		int n = read_fn(io, out->data + out->len, left > CHUNK ? CHUNK : (int)left);

		if (n < 0)
			return aigw_fail(err, AIGW_EIO, "error reading the request body");
		if (n == 0)
			return aigw_fail(
			        err, AIGW_EIO,
			        "request body ended after %zu of %zu bytes (CONTENT_LENGTH)",
			        out->len, want);
		out->len += (size_t)n;
		out->data[out->len] = '\0';
	}
	return AIGW_OK;
}

static aigw_rc read_to_eof(body_read_fn read_fn, void *io, size_t max, struct buf *out, char *err)
{
	char chunk[CHUNK];

	for (;;) {
		/* Ask for one byte past the cap so an exact-cap body is not refused. */
		size_t room = max - out->len + 1;
		int n = read_fn(io, chunk, room > CHUNK ? CHUNK : (int)room);

		if (n < 0)
			return aigw_fail(err, AIGW_EIO, "error reading the request body");
		if (n == 0)
			return AIGW_OK;
		if (buf_append(out, chunk, (size_t)n) != AIGW_OK)
			return aigw_fail(err, AIGW_ETOOBIG,
			                 "request body is larger than the limit of %zu bytes", max);
	}
}

aigw_rc body_read(body_read_fn read_fn, void *io, const char *content_length, size_t max,
                  struct buf *out, char *err)
{
	size_t want = 0;
	aigw_rc rc;

	buf_init(out, max);
	if (content_length == NULL || content_length[0] == '\0')
		return read_to_eof(read_fn, io, max, out, err);

	rc = body_parse_length(content_length, &want);
	if (rc == AIGW_EINVAL)
		return aigw_fail(err, AIGW_EINVAL, "invalid Content-Length");
	if (rc == AIGW_ETOOBIG || want > max)
		return aigw_fail(err, AIGW_ETOOBIG,
		                 "request body is larger than the limit of %zu bytes", max);
	if (want == 0)
		return AIGW_OK;
	return read_known(read_fn, io, want, out, err);
}
