/* Incremental parser for the upstream's Server-Sent Events stream.
 * Bytes arrive in any split (down to one byte per read), lines end in LF,
 * CRLF or CR; an event is dispatched at a blank line with its data lines
 * joined by '\n'; comment lines (":" ...) are reported on their own so the
 * relay can tell the upstream is alive. Fields other than data are ignored. */
#ifndef AIGW_SSE_PARSER_H
#define AIGW_SSE_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

enum sse_kind { SSE_DATA, SSE_COMMENT };

/* Called per event or comment; text is NUL-terminated and valid only during
 * the call. Return 0 to go on, non-zero to stop parsing. */
typedef int (*sse_event_fn)(void *arg, enum sse_kind kind, const char *text, size_t len);

struct sse_parser {
	struct buf line; /* the line being assembled */
	struct buf data; /* data of the event being assembled */
	bool has_data;   /* a data field was seen (it may be empty) */
	bool skip_lf;    /* the last byte was CR: a following LF ends nothing */
};

/* max_event caps one line and one event's data (bytes). */
void sse_parser_init(struct sse_parser *p, size_t max_event);
/* Feeds n bytes. Returns AIGW_OK, AIGW_ETOOBIG when a line or event passes the
 * cap, or AIGW_EGONE when fn asked to stop. */
aigw_rc sse_parser_feed(struct sse_parser *p, const char *bytes, size_t n, sse_event_fn fn,
                        void *arg, char *err);
/* True if bytes of an unfinished event are pending (a stream cut mid-event). */
bool sse_parser_pending(const struct sse_parser *p);
void sse_parser_free(struct sse_parser *p);

#endif
