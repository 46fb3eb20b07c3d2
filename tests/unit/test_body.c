/* Unit tests for http/body.c: the body never costs more than the limit,
 * whatever CONTENT_LENGTH says. */
#include "config.h"

#include "body.h"

#include "check.h"

struct memreader {
	const char *data;
	size_t len, pos;
	int calls;
	int step;    /* max bytes per call (0: as many as asked), to force partial reads */
	int fail_at; /* call number that returns -1 (0: never) */
};

static int memread(void *io, char *dst, int n)
{
	struct memreader *m = io;
	size_t left = m->len - m->pos;
	size_t k = (size_t)n < left ? (size_t)n : left;

	m->calls++;
	if (m->fail_at && m->calls >= m->fail_at)
		return -1;
	if (m->step && k > (size_t)m->step)
		k = (size_t)m->step;
	memcpy(dst, m->data + m->pos, k);
	m->pos += k;
	return (int)k;
}

static void over_limit_refused_without_reading(void)
{
	struct memreader m = {"0123456789", 10, 0, 0, 0, 0};
	struct buf b;
	char err[AIGW_ERRLEN] = "";

	CHECK_INT(body_read(memread, &m, "11", 10, &b, err), AIGW_ETOOBIG);
	CHECK_INT(m.calls, 0);
	CHECK_STR(err, "request body is larger than the limit of 10 bytes");
	buf_free(&b);

	CHECK_INT(body_read(memread, &m, "2097152", 1048576, &b, err), AIGW_ETOOBIG);
	CHECK_INT(body_read(memread, &m, "99999999999999999999999999", 10, &b, err), AIGW_ETOOBIG);
	CHECK_INT(m.calls, 0);
	buf_free(&b);
}

static void exactly_at_limit_is_read(void)
{
	struct memreader m = {"0123456789", 10, 0, 0, 3, 0};
	struct buf b;
	char err[AIGW_ERRLEN] = "";

	CHECK_INT(body_read(memread, &m, "10", 10, &b, err), AIGW_OK);
	CHECK_INT(b.len, 10);
	CHECK_STR(b.data, "0123456789");
	CHECK(m.calls >= 4); /* partial reads are continued */
	buf_free(&b);
}

static void shorter_content_length_reads_only_that(void)
{
	struct memreader m = {"{}trailing", 10, 0, 0, 0, 0};
	struct buf b;
	char err[AIGW_ERRLEN];

	CHECK_INT(body_read(memread, &m, "2", 100, &b, err), AIGW_OK);
	CHECK_STR(b.data, "{}");
	buf_free(&b);
}

static void zero_length_is_empty(void)
{
	struct memreader m = {"ignored", 7, 0, 0, 0, 0};
	struct buf b;
	char err[AIGW_ERRLEN];

	CHECK_INT(body_read(memread, &m, "0", 100, &b, err), AIGW_OK);
	CHECK_INT(b.len, 0);
	CHECK_INT(m.calls, 0);
	buf_free(&b);
}

static void garbage_or_negative_length_rejected(void)
{
	static const char *const bad[] = {"-1", "abc", "12abc", " 12", "12 ",
	                                  "+5", "1e3", "0x10",  "1.0", "-0"};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct memreader m = {"x", 1, 0, 0, 0, 0};
		struct buf b;
		char err[AIGW_ERRLEN] = "";

		CHECK_INT(body_read(memread, &m, bad[i], 100, &b, err), AIGW_EINVAL);
		CHECK_STR(err, "invalid Content-Length");
		CHECK_INT(m.calls, 0);
		buf_free(&b);
	}
}

static void missing_length_reads_to_eof(void)
{
	struct memreader m = {"{\"a\":1}", 7, 0, 0, 2, 0};
	struct buf b;
	char err[AIGW_ERRLEN];

	CHECK_INT(body_read(memread, &m, NULL, 100, &b, err), AIGW_OK);
	CHECK_STR(b.data, "{\"a\":1}");
	buf_free(&b);

	m.pos = 0;
	CHECK_INT(body_read(memread, &m, "", 7, &b, err), AIGW_OK); /* exactly the limit */
	CHECK_STR(b.data, "{\"a\":1}");
	buf_free(&b);
}

static void missing_length_stops_past_limit(void)
{
	static char big[100000];
	struct memreader m = {big, sizeof(big), 0, 0, 0, 0};
	struct buf b;
	char err[AIGW_ERRLEN] = "";

	memset(big, 'x', sizeof(big));
	CHECK_INT(body_read(memread, &m, NULL, 20000, &b, err), AIGW_ETOOBIG);
	CHECK_STR(err, "request body is larger than the limit of 20000 bytes");
	CHECK(m.pos <= 20001); /* stopped right past the limit, not at EOF */
	CHECK(b.alloc <= 20001);
	buf_free(&b);
}

static void short_body_is_io_error(void)
{
	struct memreader m = {"abc", 3, 0, 0, 0, 0};
	struct buf b;
	char err[AIGW_ERRLEN] = "";

	CHECK_INT(body_read(memread, &m, "10", 100, &b, err), AIGW_EIO);
	CHECK_STR(err, "request body ended after 3 of 10 bytes (CONTENT_LENGTH)");
	buf_free(&b);
}

static void read_error_is_io_error(void)
{
	struct memreader m = {"abcdef", 6, 0, 0, 2, 2};
	struct buf b;
	char err[AIGW_ERRLEN] = "";

	CHECK_INT(body_read(memread, &m, "6", 100, &b, err), AIGW_EIO);
	CHECK_STR(err, "error reading the request body");
	buf_free(&b);

	m.pos = 0;
	m.calls = 0;
	CHECK_INT(body_read(memread, &m, NULL, 100, &b, err), AIGW_EIO);
	buf_free(&b);
}

static void parse_length_values(void)
{
	size_t n = 7;

	CHECK_INT(body_parse_length("0", &n), AIGW_OK);
	CHECK_INT(n, 0);
	CHECK_INT(body_parse_length("1048576", &n), AIGW_OK);
	CHECK_INT(n, 1048576);
	CHECK_INT(body_parse_length("18446744073709551616", &n), AIGW_ETOOBIG);
	CHECK_INT(body_parse_length("", &n), AIGW_EINVAL);
	CHECK_INT(body_parse_length(NULL, &n), AIGW_EINVAL);
}

int main(void)
{
	check_program = "test_body";
	RUN(over_limit_refused_without_reading);
	RUN(exactly_at_limit_is_read);
	RUN(shorter_content_length_reads_only_that);
	RUN(zero_length_is_empty);
	RUN(garbage_or_negative_length_rejected);
	RUN(missing_length_reads_to_eof);
	RUN(missing_length_stops_past_limit);
	RUN(short_body_is_io_error);
	RUN(read_error_is_io_error);
	RUN(parse_length_values);
	CHECK_DONE();
}
