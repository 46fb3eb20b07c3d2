/* The upstream client against the OpenRouter simulator: bytes handed on as
 * they arrive, ticks during silences, the three timeouts, abort closing the
 * upstream connection. Needs $AIGW_TEST_SIM_URL (the simulator's base, e.g.
 * http://127.0.0.1:P); without it the program skips (exit 77). */
#include "config.h"

#include "upstream.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "alloc.h"
#include "buf.h"
#include "clock.h"
#include "conffile.h"

#include "check.h"

static struct aigw_conf conf;
static const char *sim;

struct seen {
	struct buf body;
	int data_calls;
	long long data_at[64];
	int ticks;
	int abort_after_calls; /* 0: never */
	long status_at_headers;
};

static int on_headers(void *arg, const struct upstream_response *res)
{
	struct seen *s = arg;

	s->status_at_headers = res->status;
	return 0;
}

static int on_data(void *arg, const char *bytes, size_t n)
{
	struct seen *s = arg;

	if (s->data_calls < 64)
		s->data_at[s->data_calls] = clock_us() / 1000;
	s->data_calls++;
	buf_append(&s->body, bytes, n);
	return s->abort_after_calls && s->data_calls >= s->abort_after_calls;
}

static int on_tick(void *arg, long long idle_ms)
{
	struct seen *s = arg;

	(void)idle_ms;
	s->ticks++;
	return 0;
}

static const struct upstream_callbacks cbs = {on_headers, on_data, on_tick};

static aigw_rc chat(struct upstream *u, const char *sim_json, bool stream, struct seen *s,
                    struct upstream_response *res, char *err)
{
	char body[512];

	snprintf(body, sizeof(body),
	         "{\"model\":\"openai/gpt-4o-mini\",\"stream\":%s,\"sim\":%s,"
	         "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
	         stream ? "true" : "false", sim_json);
	struct upstream_request rq = {.method = "POST",
	                              .path = "/chat/completions",
	                              .api_key = "sk-or-test",
	                              .body = body,
	                              .body_len = strlen(body),
	                              .stream = stream};
	memset(s, 0, sizeof(*s));
	buf_init(&s->body, 1 << 20);
	return upstream_call(u, &rq, &cbs, s, res, err);
}

static void answer_complete_with_generation_id(void)
{
	struct upstream *u = upstream_new(&conf);
	struct upstream_response res;
	struct seen s;
	char err[AIGW_ERRLEN];

	CHECK_INT(chat(u, "{\"scenario\":\"ok\"}", false, &s, &res, err), AIGW_OK);
	CHECK_INT(res.status, 200);
	CHECK_INT(s.status_at_headers, 200);
	CHECK(strncmp(res.generation_id, "gen-", 4) == 0);
	CHECK(strstr(res.content_type, "application/json") != NULL);
	CHECK(s.body.data && strstr(s.body.data, "\"usage\"") != NULL);
	buf_free(&s.body);
	upstream_free(u);
}

static void stream_bytes_arrive_as_sent(void)
{
	struct upstream *u = upstream_new(&conf);
	struct upstream_response res;
	struct seen s;
	char err[AIGW_ERRLEN];

	CHECK_INT(
	        chat(u, "{\"scenario\":\"ok\",\"delay_ms\":100,\"words\":6}", true, &s, &res, err),
	        AIGW_OK);
	CHECK(s.data_calls >= 6);
	/* paced 100 ms apart upstream: the span of arrivals shows no buffering */
	long long span = s.data_at[s.data_calls < 64 ? s.data_calls - 1 : 63] - s.data_at[0];
	CHECK(span >= 400);
	CHECK(strstr(s.body.data, "[DONE]") != NULL);
	buf_free(&s.body);
	upstream_free(u);
}

static void ticks_during_silence(void)
{
	struct upstream *u = upstream_new(&conf);
	struct upstream_response res;
	struct seen s;
	char err[AIGW_ERRLEN];

	CHECK_INT(chat(u, "{\"scenario\":\"silence\",\"silence_ms\":2500}", true, &s, &res, err),
	          AIGW_OK);
	CHECK(s.ticks >= 2);
	buf_free(&s.body);
	upstream_free(u);
}

static void first_byte_timeout(void)
{
	struct aigw_conf c = conf;
	c.upstream_first_byte_timeout_ms = 500;
	struct upstream *u = upstream_new(&c);
	struct upstream_response res;
	struct seen s;
	char err[AIGW_ERRLEN];
	long long t0 = clock_us() / 1000;

	CHECK_INT(chat(u, "{\"scenario\":\"slow_first_byte\",\"delay_ms\":3000}", true, &s, &res,
	               err),
	          AIGW_ETIMEOUT);
	CHECK((clock_us() / 1000) - t0 < 1500);
	buf_free(&s.body);
	upstream_free(u);
}

static void idle_timeout(void)
{
	struct aigw_conf c = conf;
	c.upstream_idle_timeout_ms = 500;
	struct upstream *u = upstream_new(&c);
	struct upstream_response res;
	struct seen s;
	char err[AIGW_ERRLEN];

	CHECK_INT(chat(u, "{\"scenario\":\"silence\",\"silence_ms\":3000}", true, &s, &res, err),
	          AIGW_ETIMEOUT);
	CHECK(s.data_calls >= 1);
	buf_free(&s.body);
	upstream_free(u);
}

static void connect_refused(void)
{
	struct aigw_conf c = conf;
	c.upstream_url = "http://127.0.0.1:1/api/v1";
	struct upstream *u = upstream_new(&c);
	struct upstream_response res;
	struct seen s;
	char err[AIGW_ERRLEN];

	CHECK_INT(chat(u, "{\"scenario\":\"ok\"}", false, &s, &res, err), AIGW_EUPSTREAM);
	CHECK_INT(res.status, 0);
	buf_free(&s.body);
	upstream_free(u);
}

static void abort_by_callback(void)
{
	struct upstream *u = upstream_new(&conf);
	struct upstream_response res;
	struct seen s;
	char err[AIGW_ERRLEN];
	long long t0 = clock_us() / 1000;

	memset(&s, 0, sizeof(s));
	s.abort_after_calls = 2;
	char body[] = "{\"model\":\"openai/gpt-4o-mini\",\"stream\":true,"
	              "\"sim\":{\"scenario\":\"ok\",\"delay_ms\":200,\"words\":40},"
	              "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
	struct upstream_request rq = {.method = "POST",
	                              .path = "/chat/completions",
	                              .api_key = "sk-or-test",
	                              .body = body,
	                              .body_len = strlen(body),
	                              .stream = true};
	buf_init(&s.body, 1 << 20);
	CHECK_INT(upstream_call(u, &rq, &cbs, &s, &res, err), AIGW_EGONE);
	CHECK((clock_us() / 1000) - t0 < 2000); /* not the 8 s the whole stream takes */
	/* the same handle works again afterwards */
	buf_free(&s.body);
	CHECK_INT(chat(u, "{\"scenario\":\"ok\"}", false, &s, &res, err), AIGW_OK);
	CHECK_INT(res.status, 200);
	buf_free(&s.body);
	upstream_free(u);
}

static void error_status_is_not_a_transport_error(void)
{
	struct upstream *u = upstream_new(&conf);
	struct upstream_response res;
	struct seen s;
	char err[AIGW_ERRLEN];

	CHECK_INT(chat(u, "{\"scenario\":\"error_429\"}", false, &s, &res, err), AIGW_OK);
	CHECK_INT(res.status, 429);
	CHECK_STR(res.retry_after, "1");
	buf_free(&s.body);
	upstream_free(u);
}

int main(void)
{
	char url[512];

	check_program = "upstream_live";
	sim = getenv("AIGW_TEST_SIM_URL");
	if (!sim || !sim[0])
		return 77;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	conf_defaults(&conf);
	snprintf(url, sizeof(url), "%s/api/v1", sim);
	free(conf.upstream_url);
	conf.upstream_url = xstrdup(url);
	RUN(answer_complete_with_generation_id);
	RUN(stream_bytes_arrive_as_sent);
	RUN(ticks_during_silence);
	RUN(first_byte_timeout);
	RUN(idle_timeout);
	RUN(connect_refused);
	RUN(abort_by_callback);
	RUN(error_status_is_not_a_transport_error);
	conf_free(&conf);
	curl_global_cleanup();
	CHECK_DONE();
}
