/* Incremental SSE parser (see sse_parser.h). Works byte-wise over the input
 * but copies whole runs of line bytes at once, so the common case of full
 * events in one read costs one memchr per line. */
#include "config.h"

#include "sse_parser.h"

#include <string.h>

void sse_parser_init(struct sse_parser *p, size_t max_event)
{
	buf_init(&p->line, max_event);
	buf_init(&p->data, max_event);
	p->has_data = false;
	p->skip_lf = false;
}

void sse_parser_free(struct sse_parser *p)
{
	buf_free(&p->line);
	buf_free(&p->data);
}

bool sse_parser_pending(const struct sse_parser *p)
{
	return p->line.len > 0 || p->has_data;
}

/* Handles one complete line (without its terminator). */
static aigw_rc sse_line(struct sse_parser *p, sse_event_fn fn, void *arg, char *err)
{
	const char *s = p->line.data ? p->line.data : "";
	size_t len = p->line.len;
	aigw_rc rc = AIGW_OK;

	if (len == 0) {
		/* blank line: dispatch the event, if it had data */
		if (p->has_data) {
			const char *d = p->data.data ? p->data.data : "";
			if (fn(arg, SSE_DATA, d, p->data.len) != 0)
				rc = aigw_fail(err, AIGW_EGONE, "stopped by the consumer");
		}
		buf_reset(&p->data);
		p->has_data = false;
		return rc;
	}
	if (s[0] == ':') {
		size_t off = (len > 1 && s[1] == ' ') ? 2 : 1;
		if (fn(arg, SSE_COMMENT, s + off, len - off) != 0)
			rc = aigw_fail(err, AIGW_EGONE, "stopped by the consumer");
		buf_reset(&p->line);
		return rc;
	}

	const char *colon = memchr(s, ':', len);
	size_t name_len = colon ? (size_t)(colon - s) : len;
	if (name_len == 4 && memcmp(s, "data", 4) == 0) {
		const char *v = colon ? colon + 1 : s + len;
		size_t vlen = (size_t)(s + len - v);
		if (vlen > 0 && v[0] == ' ') {
			v++;
			vlen--;
		}
		if (p->has_data)
			rc = buf_append(&p->data, "\n", 1);
		if (rc == AIGW_OK)
			rc = buf_append(&p->data, v, vlen);
		if (rc != AIGW_OK)
			rc = aigw_fail(err, AIGW_ETOOBIG, "upstream event over %zu bytes",
			               p->data.cap);
		p->has_data = true;
	}
	buf_reset(&p->line);
	return rc;
}

aigw_rc sse_parser_feed(struct sse_parser *p, const char *bytes, size_t n, sse_event_fn fn,
                        void *arg, char *err)
{
	size_t i = 0;

	while (i < n) {
		if (p->skip_lf) {
			p->skip_lf = false;
			if (bytes[i] == '\n') {
				i++;
				continue;
			}
		}
		/* copy the run up to the next line terminator */
		size_t j = i;
		while (j < n && bytes[j] != '\n' && bytes[j] != '\r')
			j++;
		if (j > i && buf_append(&p->line, bytes + i, j - i) != AIGW_OK)
			return aigw_fail(err, AIGW_ETOOBIG, "upstream line over %zu bytes",
			                 p->line.cap);
		if (j == n)
			break;
		p->skip_lf = bytes[j] == '\r';
		i = j + 1;

		aigw_rc rc = sse_line(p, fn, arg, err);
		if (rc != AIGW_OK)
			return rc;
	}
	return AIGW_OK;
}
