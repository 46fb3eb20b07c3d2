/* The in-memory response sink of the tests (memsink.h). */
#include "config.h"

#include "memsink.h"

#include <string.h>

/* The memory backend. Failing on purpose lets tests drive gone detection. */
#define MEMSINK_MAX (256 * 1024 * 1024)

static bool memsink_failing(const struct memsink *m)
{
	return m->fail_after_flushes && m->flushes >= m->fail_at;
}

static int memsink_write(void *io, const char *data, size_t len)
{
	struct memsink *m = io;

	if (memsink_failing(m))
		return -1;
	return buf_append(&m->out, data, len) == AIGW_OK ? 0 : -1;
}

static int memsink_flush(void *io)
{
	struct memsink *m = io;

	m->flushes++;
	return memsink_failing(m) ? -1 : 0;
}

static int memsink_end(void *io)
{
	struct memsink *m = io;

	m->ended = true;
	return 0;
}

const struct sink_ops memsink_ops = {memsink_write, memsink_flush, memsink_end, NULL};

void memsink_init(struct memsink *m)
{
	memset(m, 0, sizeof(*m));
	buf_init(&m->out, MEMSINK_MAX);
}

void memsink_free(struct memsink *m)
{
	buf_free(&m->out);
}
