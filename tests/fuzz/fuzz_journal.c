/* libFuzzer harness: the usage journal's line parser (journal_record.c),
 * which reads files a crashed process left behind. Whatever the bytes, it
 * must not crash or read out of bounds; a line it accepts must print back to
 * a line that parses to the same record (so adopting a journal applies what
 * was written, nothing else). The input is split at newlines, as files are. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "journal_record.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static void same_record(const struct journal_entry *a, const struct journal_entry *b)
{
	if (a->kind != b->kind || a->lsn != b->lsn || a->amount != b->amount ||
	    a->sent_bytes != b->sent_bytes ||
	    strcmp(a->rec.request_id, b->rec.request_id) != 0 ||
	    strcmp(a->rec.app_id, b->rec.app_id) != 0 || a->rec.cost != b->rec.cost ||
	    a->rec.cost_source != b->rec.cost_source || a->rec.status != b->rec.status ||
	    a->rec.prompt_tokens != b->rec.prompt_tokens ||
	    a->rec.reservation_id != b->rec.reservation_id ||
	    strcmp(a->rec.generation_id, b->rec.generation_id) != 0 ||
	    strcmp(a->rec.model_billed, b->rec.model_billed) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		struct journal_entry e, back;
		char line[JOURNAL_LINE_MAX + 2];

		if (journal_line_parse(p, len, &e) == AIGW_OK) {
			size_t n = journal_line_print(&e, line, sizeof(line));
			if (n == 0 || journal_line_parse(line, n, &back) != AIGW_OK)
				abort();
			same_record(&e, &back);
		}
		p += len;
	}
	return 0;
}
