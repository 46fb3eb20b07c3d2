/* The response sink handlers write to. It knows HTTP (status, headers, JSON
 * bodies, OpenAI-shaped errors, SSE events) but not FastCGI: the bytes go to a
 * `struct sink_ops` backend, FastCGI streams in production and a memory
 * buffer in unit tests.
 *
 * Headers are buffered until the first body byte; every response gets
 * x-request-id and the CORS headers, every 503 a Retry-After. SSE events are flushed one by one and
 * the client's disappearance is detected on each flush. */
#ifndef AIGW_RESPONSE_H
#define AIGW_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"

struct sink_ops {
	/* Writes len bytes; returns 0, or -1 once the client is gone. */
	int (*write)(void *io, const char *data, size_t len);
	/* Pushes buffered bytes to the client now; returns 0, or -1 if gone. */
	int (*flush)(void *io);
	/* Completes the response towards the client (it sees the end now) while
	 * the handler goes on with work that needs no client, such as recording
	 * usage. May be NULL. */
	int (*end)(void *io);
	/* Whether the client is known to be gone before anything was written
	 * (its connection closed or the request aborted); may be NULL. Must not
	 * block. */
	bool (*peer_gone)(void *io);
};

#define RESPONSE_MAX_HEADERS 24
/* Retry-After of a 503 whose handler set none: the gateway's 503s are
 * passing (the database, a full journal, a restart). */
#define RETRY_AFTER_503_S 1

struct response {
	const struct sink_ops *ops;
	void *io;
	int status;     /* 0 until set */
	bool head_sent; /* status line and headers written */
	bool gone;      /* a write or flush failed: client disconnected */
	bool sse;       /* response_sse_start() was called */
	bool ended;     /* response_end() was called: nothing more is sent */
	char request_id[40];
	const char *cors_origin; /* borrowed; NULL means no CORS headers */
	struct {
		char *name;
		char *value;
	} headers[RESPONSE_MAX_HEADERS];
	int nheaders;
	size_t body_bytes; /* bytes of body written so far */
	/* Called once, just before the head is written (response_before_head). */
	void (*before_head)(struct response *r, void *arg);
	void *before_head_arg;
};

/* io is borrowed; cors_origin is borrowed and must outlive the response. */
void response_init(struct response *r, const struct sink_ops *ops, void *io, const char *request_id,
                   const char *cors_origin);
/* fn(r, arg) runs once, right before the head is written, and may still add
 * headers (a timing known only then). NULL removes it. arg is borrowed. */
void response_before_head(struct response *r, void (*fn)(struct response *r, void *arg), void *arg);
/* Adds or replaces a header (copied). Ignored once the head is sent. */
void response_header(struct response *r, const char *name, const char *value);
/* Sends status + headers + a JSON body (Content-Type: application/json).
 * Does not take ownership of body. Returns 0 or -1 if the client is gone. */
int response_json(struct response *r, int status, const cJSON *body);
/* Sends status + headers (Content-Type, Content-Length) + data. Does not
 * take ownership of data. Returns 0 or -1 if the client is gone. */
int response_body(struct response *r, int status, const char *content_type, const char *data,
                  size_t len);
/* Same, with an already serialized JSON text. */
int response_json_text(struct response *r, int status, const char *json, size_t len);
/* Sends `{"error":{"message","type","param","code":status}}`.
 * type NULL picks the usual type for the status; param may be NULL. */
int response_error(struct response *r, int status, const char *type, const char *param,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Starts an SSE response: 200, text/event-stream, no-cache, X-Accel-Buffering: no. */
int response_sse_start(struct response *r);
/* Writes `data: <json>\n\n` and flushes; a payload with line breaks is sent
 * as one event of several data lines. */
int response_sse_data(struct response *r, const char *json, size_t len);
/* Writes `: <text>\n\n` and flushes (heartbeats reveal a gone client). */
int response_sse_comment(struct response *r, const char *text);
/* Sends headers with an empty body if nothing was sent yet (status default 204). */
int response_finish(struct response *r);
/* Finishes the response (as response_finish) and ends it towards the client
 * at once; every later write is dropped. For handlers that still have work
 * after answering (settling and recording usage). */
int response_end(struct response *r);
bool response_client_gone(const struct response *r);
/* Asks the sink, without writing, whether the client has left (then
 * response_client_gone is true from now on). For a check before work that
 * costs money, such as the upstream call. */
bool response_peer_gone(struct response *r);
/* The OpenAI-style error type for an HTTP status ("invalid_request_error", ...). */
const char *response_error_type(int status);
void response_free(struct response *r);

#endif
