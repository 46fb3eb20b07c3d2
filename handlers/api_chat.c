/* POST /v1/{app}/chat/completions. The body goes upstream unchanged but for
 * the model (filled from the app's defaultModel) and max_tokens (filled from
 * maxTokensPerRequest, or refused above it). Streams are relayed event by
 * event, each flushed as it arrives; the relay ends every stream with either
 * the upstream's [DONE] or an error event, never a silent close, and a client
 * that goes away aborts the upstream transfer at once. Metered requests
 * reserve their worst-case cost first (credits.h); the usage row settles it. */
#include "config.h"

#include "endpoints.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "conffile.h"
#include "context.h"
#include "reserve.h"
#include "log.h"
#include "proxy.h"
#include "sse_parser.h"

/* Caps: one upstream SSE event, and a whole non-streamed answer. */
#define EVENT_MAX (1024 * 1024)
#define ANSWER_MAX (16 * 1024 * 1024)

struct chat {
	struct thread_ctx *ctx;
	struct response *resp;
	struct proxy *p;
	bool want_stream;
	bool relaying; /* SSE started towards the client */
	bool saw_done;
	bool saw_model; /* the answer named the model it was served by */
	bool saw_error_event;
	bool stopped_by_us; /* we aborted the upstream (client gone, bad event) */
	struct buf answer;  /* non-streamed answer */
	struct sse_parser parser;
	long long last_write_us;     /* anything written to the client */
	long long last_keepalive_us; /* an upstream event or our keep-alive */
};

/* Checks max_tokens / max_completion_tokens against the cap and fills
 * max_tokens when neither is given. Answers 400 and returns false if refused. */
static bool apply_token_cap(cJSON *body, const struct ai_config *cfg, struct response *resp)
{
	static const char *const fields[] = {"max_tokens", "max_completion_tokens"};
	bool given = false;

	for (size_t i = 0; i < 2; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, fields[i]);
		if (!v || cJSON_IsNull(v))
			continue;
		if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e9 ||
		    v->valuedouble != (double)(long long)v->valuedouble) {
			response_error(resp, 400, NULL, fields[i], "%s must be a positive integer",
			               fields[i]);
			return false;
		}
		if (cfg->max_tokens_per_request > 0 &&
		    v->valuedouble > cfg->max_tokens_per_request) {
			response_error(resp, 400, NULL, fields[i],
			               "%s %lld is over this app's maxTokensPerRequest (%d)",
			               fields[i], (long long)v->valuedouble,
			               cfg->max_tokens_per_request);
			return false;
		}
		given = true;
	}
	if (!given && cfg->max_tokens_per_request > 0)
		cJSON_AddNumberToObject(body, "max_tokens", cfg->max_tokens_per_request);
	return true;
}

/* Reads what the usage record needs from one upstream chunk or answer. */
static void inspect_answer(struct chat *c, const cJSON *j)
{
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
	const cJSON *usage = cJSON_GetObjectItemCaseSensitive(j, "usage");
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
	const cJSON *ch;

	if (cJSON_IsString(model)) {
		proxy_note_model_billed(c->p, model->valuestring);
		c->saw_model = true;
	}
	if (cJSON_IsObject(usage)) {
		struct usage_numbers u;
		usage_parse(usage, &u);
		proxy_note_usage(c->p, &u);
	}
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (cJSON_IsObject(e)) {
		/* a mid-stream error: numeric code, or "server_error" and such */
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
		c->saw_error_event = true;
		proxy_note_status(c->p, (cJSON_IsNumber(code) && code->valuedouble >= 400 &&
		                         code->valuedouble <= 599)
		                                ? (int)code->valuedouble
		                                : 502);
	}
	cJSON_ArrayForEach(ch, choices)
	{
		if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(ch, "error")))
			c->saw_error_event = true;
	}
}

/* Sends the closing error event of a stream that did not end well. */
static void stream_error(struct chat *c, int code, const char *message)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(o, "error");
	char *text;

	cJSON_AddStringToObject(e, "message", message);
	cJSON_AddStringToObject(e, "type", response_error_type(code));
	cJSON_AddNullToObject(e, "param");
	cJSON_AddNumberToObject(e, "code", code);
	text = cJSON_PrintUnformatted(o);
	if (text)
		response_sse_data(c->resp, text, strlen(text));
	cJSON_free(text);
	cJSON_Delete(o);
	if (!c->saw_error_event)
		proxy_note_status(c->p, code);
}

static int relay_event(void *arg, enum sse_kind kind, const char *text, size_t len)
{
	struct chat *c = arg;
	int rc;

	if (kind == SSE_COMMENT) {
		rc = response_sse_comment(c->resp, text);
	} else if (len == 6 && memcmp(text, "[DONE]", 6) == 0) {
		c->saw_done = true;
		rc = response_sse_data(c->resp, text, len);
	} else {
		/* Parse only the events that carry what we record; content chunks
		 * go through untouched. */
		if (!c->saw_model || strstr(text, "\"usage\"") || strstr(text, "\"error\"")) {
			cJSON *j = cJSON_ParseWithLength(text, len);
			if (j)
				inspect_answer(c, j);
			cJSON_Delete(j);
		}
		proxy_note_answer(c->p, len, true);
		rc = response_sse_data(c->resp, text, len);
	}
	c->last_write_us = c->last_keepalive_us = clock_us();
	return rc != 0;
}

static int on_headers(void *arg, const struct upstream_response *up)
{
	struct chat *c = arg;

	proxy_note_upstream(c->p, up);
	if (!c->want_stream || up->status != 200 || !strstr(up->content_type, "event-stream"))
		return 0;
	if (up->generation_id[0])
		response_header(c->resp, "x-generation-id", up->generation_id);
	c->relaying = true;
	proxy_note_streamed(c->p);
	proxy_note_status(c->p, 200);
	c->last_write_us = c->last_keepalive_us = clock_us();
	if (response_sse_start(c->resp) != 0) {
		c->stopped_by_us = true;
		return 1;
	}
	return 0;
}

static int on_data(void *arg, const char *bytes, size_t n)
{
	struct chat *c = arg;
	char err[AIGW_ERRLEN];

	if (!c->relaying)
		return buf_append(&c->answer, bytes, n) == AIGW_OK ? 0 : 1;
	aigw_rc rc = sse_parser_feed(&c->parser, bytes, n, relay_event, c, err);
	if (rc == AIGW_OK)
		return 0;
	c->stopped_by_us = true;
	if (rc == AIGW_ETOOBIG)
		stream_error(c, 502, "upstream sent an event over the size limit");
	return 1;
}

/* During upstream silences the relay writes: `: keep-alive` once
 * sse_keepalive_s passed without anything for the client (it and the proxies
 * between keep the connection), and an empty comment every PROBE_MS. A
 * client that left shows only as a failed write: the web server closes our
 * connection once its own write to the client fails, a write or two after
 * the client left. The probes let an abort during a silence reach the
 * upstream well within a second. */
#define PROBE_MS 200

static int on_tick(void *arg, long long idle_ms)
{
	struct chat *c = arg;
	long long now = clock_us();
	long long keepalive_us = (long long)c->ctx->conf->sse_keepalive_s * 1000000;
	int rc;

	(void)idle_ms;
	if (!c->relaying)
		return 0;
	if (now - c->last_keepalive_us >= keepalive_us) {
		rc = response_sse_comment(c->resp, "keep-alive");
		c->last_keepalive_us = now;
	} else if (now - c->last_write_us >= PROBE_MS * 1000LL) {
		rc = response_sse_comment(c->resp, "");
	} else {
		return 0;
	}
	c->last_write_us = now;
	if (rc != 0) {
		c->stopped_by_us = true;
		return 1;
	}
	return 0;
}

/* Ends a relayed stream according to how the upstream transfer ended. */
static void finish_stream(struct chat *c, aigw_rc rc, const char *err)
{
	if (response_client_gone(c->resp)) {
		proxy_note_aborted(c->p);
		return;
	}
	if (c->p->cut) {
		stream_error(c, 503, PROXY_CUT_MESSAGE);
		return;
	}
	if (rc == AIGW_OK && (c->saw_done || c->saw_error_event))
		return;
	if (rc == AIGW_ETIMEOUT)
		stream_error(c, 504, "upstream timed out mid-stream");
	else if (rc == AIGW_OK || rc == AIGW_EUPSTREAM)
		stream_error(c, 502, "upstream stream ended before [DONE]");
	else if (!c->stopped_by_us)
		stream_error(c, 502, err);
}

/* Answers a complete non-streamed upstream answer. */
static void finish_answer(struct chat *c, const struct upstream_response *up)
{
	const char *body = c->answer.data ? c->answer.data : "";

	if (up->status < 200 || up->status > 299) {
		proxy_answer_upstream_error(c->resp, c->p, up, body, c->answer.len);
		proxy_note_status(c->p, c->resp->status);
		return;
	}
	cJSON *j = cJSON_ParseWithLength(body, c->answer.len);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		response_error(c->resp, 502, NULL, NULL, "upstream answered something not JSON");
		proxy_note_status(c->p, 502);
		return;
	}
	inspect_answer(c, j);
	cJSON_Delete(j);
	if (up->generation_id[0])
		response_header(c->resp, "x-generation-id", up->generation_id);
	response_json_text(c->resp, (int)up->status, body, c->answer.len);
	proxy_note_status(c->p, (int)up->status);
}

/* ---- the endpoint's hooks (proxy.h) ---- */

static bool chat_check(void *state, cJSON *body, struct response *resp)
{
	struct chat *c = state;
	const cJSON *stream = cJSON_GetObjectItemCaseSensitive(body, "stream");

	if (stream && !cJSON_IsBool(stream) && !cJSON_IsNull(stream)) {
		response_error(resp, 400, NULL, "stream", "stream must be a boolean");
		return false;
	}
	c->want_stream = cJSON_IsTrue(stream);
	return true;
}

static bool chat_shape(void *state, struct thread_ctx *ctx, struct proxy *p, cJSON *body,
                       struct response *resp, long long *completion_bound)
{
	(void)state;
	if (!apply_token_cap(body, &p->app->cfg, resp))
		return false;
	/* may add max_tokens: the body is printed after this */
	credits_chat_bound(ctx, &p->app->period, p->rec.is_byok, body, completion_bound);
	return true;
}

static bool chat_streams(const void *state)
{
	return ((const struct chat *)state)->want_stream;
}

static void chat_exchange(void *state, struct thread_ctx *ctx, struct proxy *p,
                          const struct upstream_request *rq, struct response *resp)
{
	struct chat *c = state;
	struct upstream_callbacks cb = {on_headers, on_data, on_tick};
	struct upstream_response up;
	char err[AIGW_ERRLEN] = "";
	aigw_rc rc;

	c->ctx = ctx;
	c->p = p;
	rc = proxy_call_upstream(ctx, p, rq, &cb, c, &up, err);
	if (c->relaying)
		finish_stream(c, rc, err);
	else if (rc == AIGW_OK)
		finish_answer(c, &up);
	else if (p->cut)
		proxy_answer_cut(resp);
	else if (rc == AIGW_EGONE && response_client_gone(resp))
		proxy_note_aborted(p);
	else
		proxy_answer_transport_error(resp, rc, err);
}

static const struct proxy_endpoint chat_endpoint = {
        .name = "chat",
        .path = "/chat/completions",
        .check = chat_check,
        .shape = chat_shape,
        .streams = chat_streams,
        .exchange = chat_exchange,
};

void handle_chat_completions(struct thread_ctx *ctx, struct request *req, struct response *resp)
{
	struct chat c = {.resp = resp};

	buf_init(&c.answer, ANSWER_MAX);
	sse_parser_init(&c.parser, EVENT_MAX);
	proxy_run(ctx, req, resp, &chat_endpoint, &c);
	sse_parser_free(&c.parser);
	buf_free(&c.answer);
}
