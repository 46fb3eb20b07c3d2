/* One line of the usage journal (usage_journal.h), printed and parsed: no
 * I/O here, so that the parser can be fuzzed on its own.
 *
 * A line is `<16 hex digits> <JSON object>\n`: the hex digits are the
 * FNV-1a hash of the JSON text, so a line torn by a crash or a full disk is
 * recognised and skipped. The object's "k" names the kind:
 *
 *   segment  first line of every file: "lsn", the journal position (bytes
 *            written by the process before this file) its first byte has
 *   hold     a reservation was made for a request about to go upstream
 *            ("rid", "app", "resv", "period", "amount")
 *   open     the upstream accepted the request (its head arrived): what is
 *            known then, to settle it if the process dies before its end
 *   done     the request's complete usage record (usage.h), written and
 *            fsync'd before its response is closed
 *   landed   the usage rows written before journal position "lsn" are in
 *            the database
 *
 * Money is printed as exact decimal USD text (money_to_decimal). */
#ifndef AIGW_JOURNAL_RECORD_H
#define AIGW_JOURNAL_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "usage.h"

enum journal_kind { JOURNAL_SEGMENT = 1, JOURNAL_HOLD, JOURNAL_OPEN, JOURNAL_DONE, JOURNAL_LANDED };

/* Longest line printed or accepted. */
#define JOURNAL_LINE_MAX 8192

struct journal_entry {
	enum journal_kind kind;
	long long lsn; /* segment, landed */
	/* hold, open, done: the request; hold and open fill only request_id,
	 * app_id, key_id, endpoint, model_requested, generation_id, is_byok,
	 * streamed, reservation_id, period_id */
	struct usage_record rec;
	int64_t amount;       /* hold: the amount reserved */
	long long sent_bytes; /* open: bytes of the body sent upstream */
};

/* Prints e as one line (with its newline) into out (cap bytes). Returns the
 * line's length, or 0 when it does not fit. */
size_t journal_line_print(const struct journal_entry *e, char *out, size_t cap);

/* Parses one line (with or without its newline) into *e. AIGW_EINVAL: a
 * torn or damaged line, an unknown kind, a missing or bad field. */
aigw_rc journal_line_parse(const char *line, size_t len, struct journal_entry *e);

#endif
