/* The response sink: CGI-style head ("Status: 200 OK" + headers), JSON
 * bodies, OpenAI-shaped errors and SSE events, over a pluggable byte backend.
 * Once a write or flush fails the client is gone and every later call is a
 * no-op returning -1, so handlers only have to check the result to stop. */
#include "config.h"

#include "response.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "log.h"

#define HEAD_MAX (16 * 1024)
#define ERROR_MESSAGE_MAX 1024

static const char EXPOSE_HEADERS[] =
        "x-request-id, x-generation-id, retry-after, retry-after-ms, x-should-retry, "
        "x-ratelimit-limit-requests, x-ratelimit-remaining-requests, x-ratelimit-reset-requests, "
        "x-aigw-credits-remaining";

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 402:
		return "Payment Required";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	}
	if (status >= 500)
		return "Server Error";
	if (status >= 400)
		return "Client Error";
	return "OK";
}

const char *response_error_type(int status)
{
	switch (status) {
	case 401:
		return "authentication_error";
	case 402:
		return "insufficient_quota";
	case 403:
		return "permission_error";
	case 404:
		return "not_found_error";
	case 429:
		return "rate_limit_error";
	case 502:
	case 504:
		return "upstream_error";
	case 503:
		return "service_unavailable";
	}
	if (status >= 500)
		return "server_error";
	return "invalid_request_error";
}

void response_init(struct response *r, const struct sink_ops *ops, void *io, const char *request_id,
                   const char *cors_origin)
{
	memset(r, 0, sizeof(*r));
	r->ops = ops;
	r->io = io;
	snprintf(r->request_id, sizeof(r->request_id), "%s", request_id ? request_id : "");
	r->cors_origin = cors_origin;
}

static int sink_write(struct response *r, const char *data, size_t len)
{
	if (r->gone || r->ended)
		return -1;
	if (len == 0)
		return 0;
	if (r->ops->write(r->io, data, len) != 0) {
		r->gone = true;
		return -1;
	}
	return 0;
}

static int sink_flush(struct response *r)
{
	if (r->gone || r->ended)
		return -1;
	if (r->ops->flush(r->io) != 0) {
		r->gone = true;
		return -1;
	}
	return 0;
}

static int find_header(const struct response *r, const char *name)
{
	int i;

	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return i;
	return -1;
}

void response_header(struct response *r, const char *name, const char *value)
{
	int i;

	if (r->head_sent)
		return;
	/* A CR or LF would let a value inject headers or end the head early. */
	if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL) {
		log_warn("response header %.64s dropped: CR, LF or ':' in it", name);
		return;
	}
	i = find_header(r, name);
	if (i >= 0) {
		free(r->headers[i].value);
		r->headers[i].value = xstrdup(value);
		return;
	}
	if (r->nheaders >= RESPONSE_MAX_HEADERS) {
		log_warn("response header %.64s dropped: more than %d headers", name,
		         RESPONSE_MAX_HEADERS);
		return;
	}
	r->headers[r->nheaders].name = xstrdup(name);
	r->headers[r->nheaders].value = xstrdup(value);
	r->nheaders++;
}

/* Writes the status line and headers; the automatic ones (x-request-id, CORS)
 * are added unless the handler set them itself. */
void response_before_head(struct response *r, void (*fn)(struct response *r, void *arg), void *arg)
{
	r->before_head = fn;
	r->before_head_arg = arg;
}

static int send_head(struct response *r, int status)
{
	struct buf h;
	int i, rc;

	if (r->head_sent)
		return r->gone ? -1 : 0;
	if (r->before_head) {
		void (*fn)(struct response *, void *) = r->before_head;

		r->before_head = NULL;
		fn(r, r->before_head_arg);
	}
	r->status = status;
	r->head_sent = true;
	buf_init(&h, HEAD_MAX);
	buf_appendf(&h, "Status: %d %s\r\n", status, reason_phrase(status));
	for (i = 0; i < r->nheaders; i++)
		buf_appendf(&h, "%s: %s\r\n", r->headers[i].name, r->headers[i].value);
	if (r->request_id[0] != '\0' && find_header(r, "x-request-id") < 0)
		buf_appendf(&h, "x-request-id: %s\r\n", r->request_id);
	/* Every 503 says when to come back; a handler that knows better set it. */
	if (status == 503 && find_header(r, "Retry-After") < 0)
		buf_appendf(&h, "Retry-After: %d\r\n", RETRY_AFTER_503_S);
	if (r->cors_origin != NULL) {
		if (find_header(r, "Access-Control-Allow-Origin") < 0)
			buf_appendf(&h, "Access-Control-Allow-Origin: %s\r\n", r->cors_origin);
		if (find_header(r, "Access-Control-Expose-Headers") < 0)
			buf_appendf(&h, "Access-Control-Expose-Headers: %s\r\n", EXPOSE_HEADERS);
	}
	if (buf_append(&h, "\r\n", 2) != AIGW_OK) {
		/* 24 headers cannot reach 16 KiB unless a value is absurd. */
		log_error("response head over %d bytes; sending a bare 500", HEAD_MAX);
		buf_reset(&h);
		buf_appendf(&h, "Status: 500 Internal Server Error\r\n\r\n");
		r->status = 500;
	}
	rc = sink_write(r, h.data, h.len);
	buf_free(&h);
	return rc;
}

int response_body(struct response *r, int status, const char *content_type, const char *data,
                  size_t len)
{
	char clen[32];

	if (r->head_sent) {
		log_warn("a body after the head was sent (status %d) ignored", r->status);
		return -1;
	}
	snprintf(clen, sizeof(clen), "%zu", len);
	response_header(r, "Content-Type", content_type);
	response_header(r, "Content-Length", clen);
	if (send_head(r, status) != 0)
		return -1;
	if (sink_write(r, data, len) != 0)
		return -1;
	r->body_bytes += len;
	return 0;
}

int response_json_text(struct response *r, int status, const char *json, size_t len)
{
	return response_body(r, status, "application/json", json, len);
}

int response_json(struct response *r, int status, const cJSON *body)
{
	char *text = cJSON_PrintUnformatted(body);
	int rc;

	if (text == NULL) {
		/* cJSON only fails to print when allocation fails: the OOM policy. */
		log_error("out of memory serializing a JSON response; aborting");
		abort();
	}
	rc = response_json_text(r, status, text, strlen(text));
	cJSON_free(text);
	return rc;
}

int response_error(struct response *r, int status, const char *type, const char *param,
                   const char *fmt, ...)
{
	char message[ERROR_MESSAGE_MAX];
	cJSON *root, *error;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);

	root = cJSON_CreateObject();
	error = cJSON_AddObjectToObject(root, "error");
	cJSON_AddStringToObject(error, "message", message);
	cJSON_AddStringToObject(error, "type", type ? type : response_error_type(status));
	if (param != NULL)
		cJSON_AddStringToObject(error, "param", param);
	else
		cJSON_AddNullToObject(error, "param");
	cJSON_AddNumberToObject(error, "code", status);
	/* 402 is final: SDKs must not retry it. */
	if (status == 402 && find_header(r, "x-should-retry") < 0)
		response_header(r, "x-should-retry", "false");
	rc = response_json(r, status, root);
	cJSON_Delete(root);
	return rc;
}

int response_sse_start(struct response *r)
{
	if (r->head_sent) {
		log_warn("response_sse_start after the head was sent ignored");
		return -1;
	}
	response_header(r, "Content-Type", "text/event-stream");
	response_header(r, "Cache-Control", "no-cache");
	response_header(r, "X-Accel-Buffering", "no");
	r->sse = true;
	if (send_head(r, 200) != 0)
		return -1;
	return sink_flush(r);
}

/* Writes one event straight to the sink (whose own buffer collects it) and
 * flushes: each line of text becomes a `prefix` line, so a payload with line
 * breaks stays one event (clients join data lines with '\n'). */
static int sse_send(struct response *r, const char *prefix, const char *text, size_t len)
{
	size_t plen = strlen(prefix), start = 0, i;

	if (r->gone)
		return -1;
	if (!r->sse) {
		log_warn("SSE event written before response_sse_start ignored");
		return -1;
	}
	for (i = 0; i <= len; i++) {
		size_t end = i;

		if (i < len && text[i] != '\n')
			continue;
		if (end > start && text[end - 1] == '\r')
			end--;
		if (sink_write(r, prefix, plen) != 0 ||
		    sink_write(r, text + start, end - start) != 0 || sink_write(r, "\n", 1) != 0)
			return -1;
		r->body_bytes += plen + (end - start) + 1;
		start = i + 1;
	}
	if (sink_write(r, "\n", 1) != 0)
		return -1;
	r->body_bytes++;
	return sink_flush(r);
}

int response_sse_data(struct response *r, const char *json, size_t len)
{
	return sse_send(r, "data: ", json, len);
}

int response_sse_comment(struct response *r, const char *text)
{
	return sse_send(r, ": ", text, strlen(text));
}

int response_end(struct response *r)
{
	int rc;

	if (r->ended)
		return 0;
	rc = response_finish(r);
	if (rc == 0)
		rc = sink_flush(r);
	r->ended = true;
	if (r->ops->end && r->ops->end(r->io) != 0)
		rc = -1;
	return rc;
}

int response_finish(struct response *r)
{
	int status;

	if (r->ended)
		return 0;
	if (r->head_sent)
		return r->gone ? -1 : 0;
	status = r->status ? r->status : 204;
	if (status != 204 && status != 304)
		response_header(r, "Content-Length", "0");
	return send_head(r, status);
}

bool response_client_gone(const struct response *r)
{
	return r->gone;
}

bool response_peer_gone(struct response *r)
{
	if (!r->gone && r->ops->peer_gone && r->ops->peer_gone(r->io))
		r->gone = true;
	return r->gone;
}

void response_free(struct response *r)
{
	int i;

	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	r->nheaders = 0;
}
