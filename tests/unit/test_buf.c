/* Unit tests for base/buf.c: the capped buffer every peer-fed byte goes
 * through. */
#include "config.h"

#include "buf.h"

#include "check.h"

static void append_stays_nul_terminated(void)
{
	struct buf b;

	buf_init(&b, 100);
	CHECK(b.data == NULL);
	CHECK_INT(buf_append(&b, "abc", 3), AIGW_OK);
	CHECK_INT(buf_append(&b, "def", 3), AIGW_OK);
	CHECK_STR(b.data, "abcdef");
	CHECK_INT(b.len, 6);
	buf_free(&b);
	CHECK(b.data == NULL);
}

static void append_up_to_cap_exactly(void)
{
	struct buf b;

	buf_init(&b, 5);
	CHECK_INT(buf_append(&b, "12345", 5), AIGW_OK);
	CHECK_STR(b.data, "12345");
	CHECK_INT(buf_append(&b, "", 0), AIGW_OK);
	CHECK_INT(buf_append(&b, "6", 1), AIGW_ETOOBIG);
	CHECK_STR(b.data, "12345");
	buf_free(&b);
}

static void append_past_cap_leaves_buffer_unchanged(void)
{
	struct buf b;

	buf_init(&b, 8);
	CHECK_INT(buf_append(&b, "abcd", 4), AIGW_OK);
	CHECK_INT(buf_append(&b, "efghi", 5), AIGW_ETOOBIG);
	CHECK_INT(b.len, 4);
	CHECK_STR(b.data, "abcd");
	/* A huge length must not wrap around the cap check. */
	CHECK_INT(buf_append(&b, "x", (size_t)-1), AIGW_ETOOBIG);
	CHECK_INT(b.len, 4);
	buf_free(&b);
}

static void allocation_never_far_past_cap(void)
{
	struct buf b;
	char block[100];
	int i;

	memset(block, 'x', sizeof(block));
	buf_init(&b, 1000);
	for (i = 0; i < 10; i++)
		CHECK_INT(buf_append(&b, block, sizeof(block)), AIGW_OK);
	CHECK_INT(b.len, 1000);
	CHECK(b.alloc <= 1001);
	buf_free(&b);
}

static void empty_append_gives_empty_string(void)
{
	struct buf b;

	buf_init(&b, 10);
	CHECK_INT(buf_append(&b, NULL, 0), AIGW_OK);
	CHECK(b.data != NULL);
	CHECK_STR(b.data, "");
	buf_free(&b);
}

static void appendf_formats_short_and_long(void)
{
	struct buf b;
	char big[1000];

	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 4096);
	CHECK_INT(buf_appendf(&b, "%d-%s", 42, "x"), AIGW_OK);
	CHECK_STR(b.data, "42-x");
	CHECK_INT(buf_appendf(&b, "[%s]", big), AIGW_OK);
	CHECK_INT(b.len, 4 + 2 + 999);
	CHECK(b.data[4] == '[' && b.data[5] == 'y' && b.data[b.len - 1] == ']');
	CHECK(b.data[b.len] == '\0');
	buf_free(&b);
}

static void appendf_past_cap_fails_unchanged(void)
{
	struct buf b;
	char big[600];

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 10);
	CHECK_INT(buf_appendf(&b, "%s", "0123456"), AIGW_OK);
	CHECK_INT(buf_appendf(&b, "%s", "7890"), AIGW_ETOOBIG);
	CHECK_INT(buf_appendf(&b, "%s", big), AIGW_ETOOBIG);
	CHECK_STR(b.data, "0123456");
	CHECK_INT(buf_appendf(&b, "%s", "789"), AIGW_OK);
	CHECK_STR(b.data, "0123456789");
	buf_free(&b);
}

static void consume_drops_prefix(void)
{
	struct buf b;

	buf_init(&b, 64);
	buf_append(&b, "line1\nline2\n", 12);
	buf_consume(&b, 6);
	CHECK_STR(b.data, "line2\n");
	CHECK_INT(b.len, 6);
	buf_consume(&b, 100);
	CHECK_STR(b.data, "");
	CHECK_INT(b.len, 0);
	/* Consuming frees room under the cap. */
	CHECK_INT(buf_append(&b, "again", 5), AIGW_OK);
	CHECK_STR(b.data, "again");
	buf_free(&b);
	buf_consume(&b, 1); /* no data: harmless */
}

static void reset_keeps_storage(void)
{
	struct buf b;
	size_t alloc;

	buf_init(&b, 64);
	buf_append(&b, "hello", 5);
	alloc = b.alloc;
	buf_reset(&b);
	CHECK_INT(b.len, 0);
	CHECK_STR(b.data, "");
	CHECK_INT(b.alloc, alloc);
	buf_free(&b);
}

static void reserve_respects_cap(void)
{
	struct buf b;

	buf_init(&b, 100);
	CHECK_INT(buf_reserve(&b, 101), AIGW_ETOOBIG);
	CHECK_INT(buf_reserve(&b, 100), AIGW_OK);
	CHECK(b.alloc >= 101);
	CHECK_STR(b.data, "");
	CHECK_INT(buf_append(&b, "abc", 3), AIGW_OK);
	CHECK_STR(b.data, "abc");
	buf_free(&b);
}

int main(void)
{
	check_program = "test_buf";
	RUN(append_stays_nul_terminated);
	RUN(append_up_to_cap_exactly);
	RUN(append_past_cap_leaves_buffer_unchanged);
	RUN(allocation_never_far_past_cap);
	RUN(empty_append_gives_empty_string);
	RUN(appendf_formats_short_and_long);
	RUN(appendf_past_cap_fails_unchanged);
	RUN(consume_drops_prefix);
	RUN(reset_keeps_storage);
	RUN(reserve_respects_cap);
	CHECK_DONE();
}
