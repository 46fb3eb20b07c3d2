/* SSE parser: the same stream gives the same events however it is split,
 * whatever its line endings; comments are reported; caps hold. */
#include "config.h"

#include "sse_parser.h"

#include "check.h"

struct seen {
	char log[4096];
	int events;
	int comments;
	int stop_after; /* 0: never stop */
};

static int collect(void *arg, enum sse_kind kind, const char *text, size_t len)
{
	struct seen *s = arg;
	size_t used = strlen(s->log);
	snprintf(s->log + used, sizeof(s->log) - used, "%s[%.*s]", kind == SSE_DATA ? "D" : "C",
	         (int)len, text);
	if (kind == SSE_DATA)
		s->events++;
	else
		s->comments++;
	return s->stop_after && s->events >= s->stop_after;
}

static const char *parse_in_pieces(const char *stream, size_t piece, struct seen *s)
{
	struct sse_parser p;
	char err[AIGW_ERRLEN];
	size_t n = strlen(stream);

	memset(s, 0, sizeof(*s));
	sse_parser_init(&p, 1024);
	for (size_t i = 0; i < n; i += piece) {
		size_t len = (n - i < piece) ? n - i : piece;
		if (sse_parser_feed(&p, stream + i, len, collect, s, err) != AIGW_OK)
			break;
	}
	sse_parser_free(&p);
	return s->log;
}

static const char *const expected = "C[OPENROUTER PROCESSING]D[{\"a\":1}]D[{\"b\":2}]D[[DONE]]";

static void lf_whole(void)
{
	struct seen s;
	CHECK_STR(parse_in_pieces(": OPENROUTER PROCESSING\n\ndata: {\"a\":1}\n\n"
	                          "data: {\"b\":2}\n\ndata: [DONE]\n\n",
	                          4096, &s),
	          expected);
}

static void crlf_byte_by_byte(void)
{
	struct seen s;
	CHECK_STR(parse_in_pieces(": OPENROUTER PROCESSING\r\n\r\ndata: {\"a\":1}\r\n\r\n"
	                          "data: {\"b\":2}\r\n\r\ndata: [DONE]\r\n\r\n",
	                          1, &s),
	          expected);
}

static void cr_only_split_everywhere(void)
{
	const char *stream = ": OPENROUTER PROCESSING\r\rdata: {\"a\":1}\r\rdata: {\"b\":2}\r\r"
	                     "data: [DONE]\r\r";
	for (size_t piece = 1; piece < 12; piece++) {
		struct seen s;
		CHECK_STR(parse_in_pieces(stream, piece, &s), expected);
	}
}

static void multi_line_data_joined(void)
{
	struct seen s;
	CHECK_STR(parse_in_pieces("data: one\ndata:two\nid: 7\nevent: x\n\n", 3, &s),
	          "D[one\ntwo]");
}

static void incomplete_event_not_dispatched(void)
{
	struct sse_parser p;
	struct seen s = {0};
	char err[AIGW_ERRLEN];

	sse_parser_init(&p, 1024);
	CHECK_INT(sse_parser_feed(&p, "data: {\"a\":1}\n", 15, collect, &s, err), AIGW_OK);
	CHECK_INT(s.events, 0);
	CHECK(sse_parser_pending(&p));
	sse_parser_free(&p);
}

static void line_over_cap_fails(void)
{
	struct sse_parser p;
	struct seen s = {0};
	char err[AIGW_ERRLEN];
	char big[64];

	memset(big, 'x', sizeof(big));
	sse_parser_init(&p, 32);
	CHECK_INT(sse_parser_feed(&p, "data: ", 6, collect, &s, err), AIGW_OK);
	CHECK_INT(sse_parser_feed(&p, big, sizeof(big), collect, &s, err), AIGW_ETOOBIG);
	sse_parser_free(&p);
}

static void consumer_stop_is_reported(void)
{
	struct sse_parser p;
	struct seen s = {0};
	char err[AIGW_ERRLEN];
	const char *in = "data: 1\n\ndata: 2\n\ndata: 3\n\n";

	s.stop_after = 2;
	sse_parser_init(&p, 1024);
	CHECK_INT(sse_parser_feed(&p, in, strlen(in), collect, &s, err), AIGW_EGONE);
	CHECK_INT(s.events, 2);
	sse_parser_free(&p);
}

int main(void)
{
	check_program = "sse_parser";
	RUN(lf_whole);
	RUN(crlf_byte_by_byte);
	RUN(cr_only_split_everywhere);
	RUN(multi_line_data_joined);
	RUN(incomplete_event_not_dispatched);
	RUN(line_over_cap_fails);
	RUN(consumer_stop_is_reported);
	CHECK_DONE();
}
