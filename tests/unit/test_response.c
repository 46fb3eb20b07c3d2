/* Unit tests for http/response.c over the memory sink: exact head and body
 * bytes, the OpenAI error shape, x-request-id and CORS on every response, SSE
 * framing with one flush per event, and client-gone detection. */
#include "config.h"

#include "response.h"

#include "log.h"

#include "check.h"
#include "memsink.h"

#define RID "req_0123456789abcdef01234567"
#define AUTO_HEADERS                                                                               \
	"x-request-id: " RID "\r\n"                                                                \
	"Access-Control-Allow-Origin: *\r\n"                                                       \
	"Access-Control-Expose-Headers: x-request-id, x-generation-id, retry-after, "              \
	"retry-after-ms, x-should-retry, x-ratelimit-limit-requests, "                             \
	"x-ratelimit-remaining-requests, x-ratelimit-reset-requests, x-aigw-credits-remaining\r\n"

/* The body: what follows the blank line ending the head ("" if none). */
static const char *body_of(const struct memsink *m)
{
	const char *p = m->out.data ? strstr(m->out.data, "\r\n\r\n") : NULL;

	return p ? p + 4 : "";
}

static void json_head_and_body_exact(void)
{
	struct memsink m;
	struct response r;
	cJSON *body = cJSON_CreateObject();

	cJSON_AddNumberToObject(body, "a", 1);
	memsink_init(&m);
	response_init(&r, &memsink_ops, &m, RID, "*");
	CHECK_INT(response_json(&r, 200, body), 0);
	CHECK_STR(m.out.data, "Status: 200 OK\r\n"
	                      "Content-Type: application/json\r\n"
	                      "Content-Length: 7\r\n" AUTO_HEADERS "\r\n"
	                      "{\"a\":1}");
	CHECK_INT(r.status, 200);
	CHECK(r.head_sent);
	CHECK_INT(r.body_bytes, 7);
	CHECK_INT(m.flushes, 0); /* plain answers are flushed by FCGX_Finish_r */
	CHECK_INT(response_finish(&r), 0);
	CHECK_INT(m.out.len, strlen(m.out.data)); /* finish adds nothing */
	cJSON_Delete(body);
	response_free(&r);
	memsink_free(&m);
}

static void headers_replace_case_insensitively(void)
{
	struct memsink m;
	struct response r;

	memsink_init(&m);
	response_init(&r, &memsink_ops, &m, RID, "*");
	response_header(&r, "Allow", "GET");
	response_header(&r, "allow", "GET, PUT, OPTIONS");
	response_header(&r, "X-Evil", "a\r\nSet-Cookie: x=1"); /* injection: dropped */
	response_header(&r, "Bad\nName", "v");
	CHECK_INT(response_json_text(&r, 405, "{}", 2), 0);
	CHECK_STR(m.out.data, "Status: 405 Method Not Allowed\r\n"
	                      "Allow: GET, PUT, OPTIONS\r\n"
	                      "Content-Type: application/json\r\n"
	                      "Content-Length: 2\r\n" AUTO_HEADERS "\r\n"
	                      "{}");
	/* After the head, headers are ignored and a second body is refused. */
	response_header(&r, "X-Late", "1");
	CHECK_INT(response_json_text(&r, 200, "{}", 2), -1);
	CHECK(strstr(m.out.data, "X-Late") == NULL);
	response_free(&r);
	memsink_free(&m);
}

static void error_shape_exact(void)
{
	struct memsink m;
	struct response r;

	memsink_init(&m);
	response_init(&r, &memsink_ops, &m, RID, "*");
	CHECK_INT(response_error(&r, 400, NULL, "app_id", "invalid app id '%s'", "a'b"), 0);
	CHECK_STR(body_of(&m), "{\"error\":{\"message\":\"invalid app id 'a'b'\",\"type\":"
	                       "\"invalid_request_error\",\"param\":\"app_id\",\"code\":400}}");
	CHECK(strncmp(m.out.data, "Status: 400 Bad Request\r\nContent-Type: application/json\r\n",
	              56) == 0);
	response_free(&r);
	memsink_free(&m);

	memsink_init(&m);
	response_init(&r, &memsink_ops, &m, RID, "*");
	CHECK_INT(response_error(&r, 404, NULL, NULL, "no route for %s", "/v1/x"), 0);
	CHECK_STR(body_of(&m), "{\"error\":{\"message\":\"no route for /v1/x\",\"type\":"
	                       "\"not_found_error\",\"param\":null,\"code\":404}}");
	response_free(&r);
	memsink_free(&m);
}

static void error_explicit_type_and_402_no_retry(void)
{
	struct memsink m;
	struct response r;
	cJSON *root, *err;

	memsink_init(&m);
	response_init(&r, &memsink_ops, &m, RID, "*");
	CHECK_INT(response_error(&r, 402, NULL, NULL, "credits exhausted"), 0);
	CHECK(strstr(m.out.data, "\r\nx-should-retry: false\r\n") != NULL);
	root = cJSON_Parse(body_of(&m));
	err = cJSON_GetObjectItem(root, "error");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(err, "type")), "insufficient_quota");
	CHECK_INT(cJSON_GetObjectItem(err, "code")->valuedouble, 402);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(err, "param")));
	cJSON_Delete(root);
	response_free(&r);
	memsink_free(&m);

	memsink_init(&m);
	response_init(&r, &memsink_ops, &m, RID, "*");
	CHECK_INT(response_error(&r, 400, "custom_error", NULL, "x"), 0);
	CHECK(strstr(m.out.data, "\"type\":\"custom_error\"") != NULL);
	response_free(&r);
	memsink_free(&m);
}

static void error_types_by_status(void)
{
	CHECK_STR(response_error_type(400), "invalid_request_error");
	CHECK_STR(response_error_type(401), "authentication_error");
	CHECK_STR(response_error_type(402), "insufficient_quota");
	CHECK_STR(response_error_type(403), "permission_error");
	CHECK_STR(response_error_type(404), "not_found_error");
	CHECK_STR(response_error_type(405), "invalid_request_error");
	CHECK_STR(response_error_type(413), "invalid_request_error");
	CHECK_STR(response_error_type(415), "invalid_request_error");
	CHECK_STR(response_error_type(429), "rate_limit_error");
	CHECK_STR(response_error_type(500), "server_error");
	CHECK_STR(response_error_type(502), "upstream_error");
	CHECK_STR(response_error_type(503), "service_unavailable");
	CHECK_STR(response_error_type(504), "upstream_error");
}

/* Every way of answering carries x-request-id and the CORS headers. */
static void request_id_and_cors_on_every_response(void)
{
	int kind;

	for (kind = 0; kind < 5; kind++) {
		struct memsink m;
		struct response r;

		memsink_init(&m);
		response_init(&r, &memsink_ops, &m, RID, "https://app.example");
		switch (kind) {
		case 0:
			response_json_text(&r, 200, "{}", 2);
			break;
		case 1:
			response_error(&r, 500, NULL, NULL, "boom");
			break;
		case 2:
			response_sse_start(&r);
			break;
		case 3:
			response_finish(&r);
			break;
		case 4:
			r.status = 200;
			response_finish(&r);
			break;
		}
		CHECK(strstr(m.out.data, "\r\nx-request-id: " RID "\r\n") != NULL);
		CHECK(strstr(m.out.data,
		             "\r\nAccess-Control-Allow-Origin: https://app.example\r\n") != NULL);
		CHECK(strstr(m.out.data, "\r\nAccess-Control-Expose-Headers: x-request-id, "
		                         "x-generation-id, retry-after, retry-after-ms, "
		                         "x-should-retry, x-ratelimit-limit-requests, "
		                         "x-ratelimit-remaining-requests, x-ratelimit-reset-requests, "
		                         "x-aigw-credits-remaining\r\n") != NULL);
		response_free(&r);
		memsink_free(&m);
	}
}

static void no_cors_origin_means_no_cors_headers(void)
{
	struct memsink m;
	struct response r;

	memsink_init(&m);
	response_init(&r, &memsink_ops, &m, RID, NULL);
	response_finish(&r);
	CHECK_STR(m.out.data, "Status: 204 No Content\r\nx-request-id: " RID "\r\n\r\n");
	response_free(&r);
	memsink_free(&m);
}

static void finish_defaults(void)
{
	struct memsink m;
	struct response r;

	memsink_init(&m);
	response_init(&r, &memsink_ops, &m, RID, "*");
	response_header(&r, "Access-Control-Max-Age", "600");
	CHECK_INT(response_finish(&r), 0);
	CHECK_STR(m.out.data, "Status: 204 No Content\r\n"
	                      "Access-Control-Max-Age: 600\r\n" AUTO_HEADERS "\r\n");
	CHECK_INT(r.status, 204);
	response_free(&r);
	memsink_free(&m);

	memsink_init(&m);
	response_init(&r, &memsink_ops, &m, RID, "*");
	r.status = 200;
	CHECK_INT(response_finish(&r), 0);
	CHECK_STR(m.out.data, "Status: 200 OK\r\nContent-Length: 0\r\n" AUTO_HEADERS "\r\n");
	response_free(&r);
	memsink_free(&m);
}

static void end_completes_and_drops_later_writes(void)
{
	struct memsink m;
	struct response r;
	size_t len;

	memsink_init(&m);
	response_init(&r, &memsink_ops, &m, RID, "*");
	response_sse_start(&r);
	response_sse_data(&r, "{\"a\":1}", 7);
	CHECK_INT(response_end(&r), 0);
	CHECK(m.ended);
	CHECK(r.ended);
	len = m.out.len;
	CHECK(response_sse_data(&r, "{\"b\":2}", 7) != 0);
	CHECK_INT(response_finish(&r), 0);
	CHECK_INT(response_end(&r), 0);
	CHECK_INT(m.out.len, len);
	CHECK(!response_client_gone(&r));
	response_free(&r);
	memsink_free(&m);
}

static void sse_framing_one_flush_per_event(void)
{
	struct memsink m;
	struct response r;
	size_t mark;

	memsink_init(&m);
	response_init(&r, &memsink_ops, &m, RID, "*");
	CHECK_INT(response_sse_start(&r), 0);
	CHECK_STR(m.out.data, "Status: 200 OK\r\n"
	                      "Content-Type: text/event-stream\r\n"
	                      "Cache-Control: no-cache\r\n"
	                      "X-Accel-Buffering: no\r\n" AUTO_HEADERS "\r\n");
	CHECK_INT(m.flushes, 1); /* the head reaches the client before the first event */
	CHECK(r.sse);

	mark = m.out.len;
	CHECK_INT(response_sse_data(&r, "{\"x\":1}", 7), 0);
	CHECK_STR(m.out.data + mark, "data: {\"x\":1}\n\n");
	CHECK_INT(m.flushes, 2);

	mark = m.out.len;
	CHECK_INT(response_sse_comment(&r, "keep-alive"), 0);
	CHECK_STR(m.out.data + mark, ": keep-alive\n\n");
	CHECK_INT(m.flushes, 3);

	mark = m.out.len;
	CHECK_INT(response_sse_data(&r, "[DONE]", 6), 0);
	CHECK_STR(m.out.data + mark, "data: [DONE]\n\n");
	CHECK_INT(m.flushes, 4);

	/* A multi-line payload stays one event: one data field per line. */
	mark = m.out.len;
	CHECK_INT(response_sse_data(&r, "{\"a\":\n1}\r\n", 10), 0);
	CHECK_STR(m.out.data + mark, "data: {\"a\":\ndata: 1}\ndata: \n\n");
	CHECK_INT(m.flushes, 5);

	CHECK_INT(response_finish(&r), 0);
	CHECK_INT(r.status, 200);
	response_free(&r);
	memsink_free(&m);
}

static void sse_event_before_start_refused(void)
{
	struct memsink m;
	struct response r;

	memsink_init(&m);
	response_init(&r, &memsink_ops, &m, RID, "*");
	CHECK_INT(response_sse_data(&r, "{}", 2), -1);
	CHECK_INT(m.out.len, 0);
	CHECK(!response_client_gone(&r));
	response_json_text(&r, 200, "{}", 2);
	CHECK_INT(response_sse_start(&r), -1); /* too late: head already sent */
	response_free(&r);
	memsink_free(&m);
}

static void gone_after_failed_flush(void)
{
	struct memsink m;
	struct response r;
	size_t len;

	memsink_init(&m);
	m.fail_after_flushes = true;
	m.fail_at = 3; /* head flush and first event work, the second event's flush fails */
	response_init(&r, &memsink_ops, &m, RID, "*");
	CHECK_INT(response_sse_start(&r), 0);
	CHECK_INT(response_sse_data(&r, "{\"n\":1}", 7), 0);
	CHECK(!response_client_gone(&r));
	CHECK_INT(response_sse_data(&r, "{\"n\":2}", 7), -1);
	CHECK(response_client_gone(&r));
	CHECK_INT(m.flushes, 3);

	/* Every later call is a no-op returning -1: nothing written or flushed. */
	len = m.out.len;
	CHECK_INT(response_sse_data(&r, "{\"n\":3}", 7), -1);
	CHECK_INT(response_sse_comment(&r, "keep-alive"), -1);
	CHECK_INT(response_finish(&r), -1);
	CHECK_INT(m.out.len, len);
	CHECK_INT(m.flushes, 3);
	response_free(&r);
	memsink_free(&m);
}

static void gone_on_first_write(void)
{
	struct memsink m;
	struct response r;

	memsink_init(&m);
	m.fail_after_flushes = true;
	m.fail_at = 0;
	response_init(&r, &memsink_ops, &m, RID, "*");
	CHECK_INT(response_error(&r, 500, NULL, NULL, "x"), -1);
	CHECK(response_client_gone(&r));
	CHECK_INT(response_finish(&r), -1);
	CHECK_INT(m.out.len, 0);
	response_free(&r);
	memsink_free(&m);
}

int main(void)
{
	check_program = "test_response";
	log_set_level(LOG_LVL_ERROR); /* the refusals below log warnings */
	RUN(json_head_and_body_exact);
	RUN(headers_replace_case_insensitively);
	RUN(error_shape_exact);
	RUN(error_explicit_type_and_402_no_retry);
	RUN(error_types_by_status);
	RUN(request_id_and_cors_on_every_response);
	RUN(no_cors_origin_means_no_cors_headers);
	RUN(finish_defaults);
	RUN(end_completes_and_drops_later_writes);
	RUN(sse_framing_one_flush_per_event);
	RUN(sse_event_before_start_refused);
	RUN(gone_after_failed_flush);
	RUN(gone_on_first_write);
	CHECK_DONE();
}
