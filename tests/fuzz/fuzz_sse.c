/* libFuzzer harness: the upstream SSE parser fed one stream in pieces cut
 * where the input says. The events must be the same as from the whole
 * stream in one piece, each NUL-terminated, within the cap, never holding a
 * line terminator where the format forbids one.
 * Input: byte 0 picks the cap and when the consumer stops, byte 1 the
 * number n of cut lengths (0-15), then n lengths (1-256 bytes; reused in
 * turn), then the stream. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "fuzz.h"
#include "sse_parser.h"

/* Big enough to hold every event of any input the fuzzer makes. */
#define LOG_CAP (64u * 1024 * 1024)

struct seen {
	struct buf log; /* kind, length, bytes of every event and comment */
	size_t cap;
	int events;
	int stop_after; /* 0: never ask to stop */
};

static int collect(void *arg, enum sse_kind kind, const char *text, size_t len)
{
	struct seen *s = arg;
	char head[1 + sizeof(len)];

	FUZZ_ASSERT(kind == SSE_DATA || kind == SSE_COMMENT);
	FUZZ_ASSERT(text[len] == '\0');
	FUZZ_ASSERT(len <= s->cap);
	/* a comment is one line; data lines are joined by '\n' only */
	FUZZ_ASSERT(memchr(text, '\r', len) == NULL);
	if (kind == SSE_COMMENT)
		FUZZ_ASSERT(memchr(text, '\n', len) == NULL);
	head[0] = kind == SSE_DATA ? 'D' : 'C';
	memcpy(head + 1, &len, sizeof(len));
	FUZZ_ASSERT(buf_append(&s->log, head, sizeof(head)) == AIGW_OK);
	FUZZ_ASSERT(buf_append(&s->log, text, len) == AIGW_OK);
	s->events++;
	return s->stop_after && s->events >= s->stop_after;
}

/* Feeds stream[0..n) cut into the given lengths; returns the last result. */
static aigw_rc parse(const uint8_t *stream, size_t n, const uint8_t *cuts, size_t ncuts,
                     struct seen *s, bool *pending)
{
	struct sse_parser p;
	char err[AIGW_ERRLEN];
	aigw_rc rc = AIGW_OK;
	size_t i = 0, k = 0;

	sse_parser_init(&p, s->cap);
	while (i < n && rc == AIGW_OK) {
		size_t len = ncuts ? (size_t)cuts[k++ % ncuts] + 1 : n;

		if (len > n - i)
			len = n - i;
		rc = sse_parser_feed(&p, (const char *)stream + i, len, collect, s, err);
		if (rc != AIGW_OK)
			FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL && err[0]);
		i += len;
	}
	/* an empty feed changes nothing */
	if (rc == AIGW_OK)
		FUZZ_ASSERT(sse_parser_feed(&p, "", 0, collect, s, err) == AIGW_OK);
	*pending = sse_parser_pending(&p);
	sse_parser_free(&p);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = {1, 8, 64, 1024, 1u << 20};
	struct seen whole, cut;
	const uint8_t *cuts, *stream;
	size_t ncuts, n;
	bool pend_whole, pend_cut;
	aigw_rc rc_whole, rc_cut;

	if (size < 2)
		return 0;
	ncuts = data[1] & 15;
	if (size < 2 + ncuts)
		return 0;
	cuts = data + 2;
	stream = data + 2 + ncuts;
	n = size - 2 - ncuts;

	memset(&whole, 0, sizeof(whole));
	whole.cap = caps[data[0] % 5];
	whole.stop_after = (data[0] >> 3) & 7;
	buf_init(&whole.log, LOG_CAP);
	cut = whole;
	buf_init(&cut.log, LOG_CAP);

	rc_whole = parse(stream, n, NULL, 0, &whole, &pend_whole);
	rc_cut = parse(stream, n, cuts, ncuts, &cut, &pend_cut);
	FUZZ_ASSERT(rc_whole == AIGW_OK || rc_whole == AIGW_ETOOBIG || rc_whole == AIGW_EGONE);
	if (rc_whole == AIGW_EGONE)
		FUZZ_ASSERT(whole.events == whole.stop_after);
	/* A line or an event passes the cap whatever the cuts, so even a
	 * stream cut short by the cap gives the same events both ways. */
	FUZZ_ASSERT(rc_whole == rc_cut);
	FUZZ_ASSERT(whole.events == cut.events);
	FUZZ_ASSERT(whole.log.len == cut.log.len);
	FUZZ_ASSERT(whole.log.len == 0 || memcmp(whole.log.data, cut.log.data, whole.log.len) == 0);
	if (rc_whole == AIGW_OK)
		FUZZ_ASSERT(pend_whole == pend_cut);
	buf_free(&whole.log);
	buf_free(&cut.log);
	return 0;
}
