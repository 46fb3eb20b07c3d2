/* mock_upstream: an OpenRouter-shaped upstream for tests/bench/run that must never be
 * the bottleneck: epoll event loops (one per --threads, SO_REUSEPORT), HTTP/1.1
 * keep-alive, chat completions as JSON or as paced SSE, /models and /generation.
 * Only libc; listens on 127.0.0.1 only.
 *
 *   cc -O2 -o mock_upstream mock_upstream.c -lpthread
 *   mock_upstream --port P [--threads N]
 *
 * POST /api/v1/chat/completions: the answer's shape and pace come from the request,
 * headers first (x-mock-deltas, x-mock-interval-ms, x-mock-delay-ms: gateways such as
 * Portkey drop unknown body fields), else the body's "mock":{"deltas":K,
 * "interval_ms":D,"delay_ms":W}. With "stream":true: after W ms, K content deltas D ms
 * apart (paced on a fixed schedule, so gaps do not drift), then a usage chunk and
 * data: [DONE]. Without: after W ms one chat.completion of K words. Both carry usage
 * with an exact cost, and the X-Generation-Id header; the generation id encodes the
 * model and token counts, so GET /api/v1/generation?id= answers without any state.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define MAX_HEAD (64 * 1024)
#define MAX_BODY (8 * 1024 * 1024)
#define MAX_OUT (16 * 1024 * 1024) /* a client that stops reading is dropped past this */
#define MAX_DELTAS 100000
#define DEFAULT_DELTAS 8
#define DEFAULT_INTERVAL_MS 10
#define PROMPT_TOKENS 12

/* Prices in units of 1e-10 USD per token, as listed by /models: costs are exact
 * integers in these units and printed as decimals, like OpenRouter's. */
static const struct model {
	const char *id, *name, *prompt, *completion;
	int64_t prompt_units, completion_units;
} MODELS[] = {
        {"openai/gpt-4o-mini", "OpenAI: GPT-4o-mini", "0.00000015", "0.0000006", 1500, 6000},
        {"openai/gpt-4o", "OpenAI: GPT-4o", "0.0000025", "0.00001", 25000, 100000},
        {"anthropic/claude-3.5-sonnet", "Anthropic: Claude 3.5 Sonnet", "0.000003", "0.000015",
         30000, 150000},
};
#define NMODELS ((int)(sizeof MODELS / sizeof MODELS[0]))

enum state { IDLE, DELAYING, STREAMING };

struct conn {
	int fd;
	enum state st;
	bool close_after; /* the client asked for it, or HTTP/1.0 */
	bool closing;     /* close once the output is flushed */
	bool continued;   /* 100 Continue already sent for this request */
	bool out_armed;   /* EPOLLOUT is asked for */
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off, out_cap;
	/* the request being answered */
	bool stream;
	int deltas, interval_ms, sent;
	int model;
	char gen_id[64];
	int64_t next_at; /* monotonic microseconds of the next timed step */
	int heap_idx;    /* -1 when not scheduled */
};

struct loop {
	int ep, lfd, tfd;
	unsigned long long ids;
	int tid;
	struct conn **heap;
	int heap_len, heap_cap;
};

static int g_port;
static const char LISTEN_TAG, TIMER_TAG;

static void *xrealloc(void *p, size_t n)
{
	return bench_realloc("mock_upstream", p, n);
}

/* ---- timer heap: connections keyed by next_at -------------------------------- */

static void heap_swap(struct loop *l, int a, int b)
{
	struct conn *t = l->heap[a];
	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	l->heap[a]->heap_idx = a;
	l->heap[b]->heap_idx = b;
}

static void heap_up(struct loop *l, int i)
{
	while (i > 0 && l->heap[(i - 1) / 2]->next_at > l->heap[i]->next_at) {
		heap_swap(l, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct loop *l, int i)
{
	for (;;) {
		int m = i, a = 2 * i + 1, b = a + 1;
		if (a < l->heap_len && l->heap[a]->next_at < l->heap[m]->next_at)
			m = a;
		if (b < l->heap_len && l->heap[b]->next_at < l->heap[m]->next_at)
			m = b;
		if (m == i)
			return;
		heap_swap(l, i, m);
		i = m;
	}
}

static void heap_push(struct loop *l, struct conn *c)
{
	if (l->heap_len == l->heap_cap) {
		l->heap_cap = l->heap_cap ? 2 * l->heap_cap : 256;
		l->heap = xrealloc(l->heap, sizeof *l->heap * l->heap_cap);
	}
	c->heap_idx = l->heap_len;
	l->heap[l->heap_len++] = c;
	heap_up(l, c->heap_idx);
}

static void heap_remove(struct loop *l, struct conn *c)
{
	int i = c->heap_idx;
	if (i < 0)
		return;
	c->heap_idx = -1;
	l->heap_len--;
	if (i == l->heap_len)
		return;
	l->heap[i] = l->heap[l->heap_len];
	l->heap[i]->heap_idx = i;
	heap_down(l, i);
	heap_up(l, i);
}

/* Arms the timerfd for the earliest step; absolute time, so no rounding to ms. */
static void timer_arm(struct loop *l)
{
	struct itimerspec its = {0};
	if (l->heap_len > 0) {
		int64_t t = l->heap[0]->next_at;
		if (t <= 0)
			t = 1;
		its.it_value.tv_sec = t / 1000000;
		its.it_value.tv_nsec = (t % 1000000) * 1000;
	}
	timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* ---- output ------------------------------------------------------------------ */

static void conn_close(struct loop *l, struct conn *c)
{
	heap_remove(l, c);
	epoll_ctl(l->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

static void want_out(struct loop *l, struct conn *c, bool on)
{
	if (c->out_armed == on)
		return; /* one epoll_ctl per change, not per write */
	c->out_armed = on;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0),
	                         .data.ptr = c};
	epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes what is pending; false when the connection is gone (and freed). */
static bool flush_out(struct loop *l, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			want_out(l, c, true);
			return true;
		}
		conn_close(l, c);
		return false;
	}
	if (c->out_len) {
		c->out_len = c->out_off = 0;
		want_out(l, c, false);
	}
	if (c->closing) {
		conn_close(l, c);
		return false;
	}
	return true;
}

static void out_add(struct conn *c, const char *s, size_t n)
{
	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_len = c->out_off = 0;
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + n)
			cap *= 2;
		c->out = xrealloc(c->out, cap);
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
}

static void out_fmt(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_fmt(struct conn *c, const char *fmt, ...)
{
	char small[4096], *p = small;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof small) {
		p = xrealloc(NULL, (size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(p, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	out_add(c, p, (size_t)n);
	if (p != small)
		free(p);
}

/* One chunk of a chunked body. */
static void out_chunk(struct conn *c, const char *s, size_t n)
{
	char head[24];
	int h = snprintf(head, sizeof head, "%zx\r\n", n);
	out_add(c, head, (size_t)h);
	out_add(c, s, n);
	out_add(c, "\r\n", 2);
}

/* units of 1e-10 USD as a decimal without trailing zeros: 402000 -> 0.0000402 */
static void money(int64_t units, char out[32])
{
	int n = snprintf(out, 32, "%lld.%010lld", (long long)(units / 10000000000LL),
	                 (long long)(units % 10000000000LL));
	while (n > 0 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
}

static int64_t cost_of(int model, int prompt, int completion)
{
	return MODELS[model].prompt_units * prompt + MODELS[model].completion_units * completion;
}

static void usage_json(char *dst, size_t cap, int model, int completion)
{
	char cost[32];
	money(cost_of(model, PROMPT_TOKENS, completion), cost);
	snprintf(dst, cap,
	         "{\"prompt_tokens\":%d,\"completion_tokens\":%d,\"total_tokens\":%d,"
	         "\"cost\":%s,\"is_byok\":false,\"prompt_tokens_details\":{\"cached_tokens\":0},"
	         "\"cost_details\":{\"upstream_inference_cost\":null},"
	         "\"completion_tokens_details\":{\"reasoning_tokens\":0}}",
	         PROMPT_TOKENS, completion, PROMPT_TOKENS + completion, cost);
}

static void send_json(struct conn *c, int status, const char *reason, const char *extra_headers,
                      const char *body)
{
	out_fmt(c,
	        "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	        "%s%s\r\n%s",
	        status, reason, strlen(body), extra_headers ? extra_headers : "",
	        c->close_after ? "Connection: close\r\n" : "", body);
	if (c->close_after)
		c->closing = true;
}

static void send_error(struct conn *c, int status, const char *reason, const char *msg)
{
	char body[512];
	snprintf(body, sizeof body, "{\"error\":{\"message\":\"%s\",\"code\":%d}}", msg, status);
	send_json(c, status, reason, NULL, body);
}

/* ---- answers ----------------------------------------------------------------- */

static void answer_completion(struct conn *c)
{
	size_t cap = 1024 + (size_t)c->deltas * 12;
	char *content = xrealloc(NULL, (size_t)c->deltas * 12 + 1), *body = xrealloc(NULL, cap);
	char usage[512], hdr[128];
	size_t n = 0;

	content[0] = '\0';
	for (int i = 0; i < c->deltas; i++)
		n += (size_t)snprintf(content + n, 13, "w%d ", i + 1);
	usage_json(usage, sizeof usage, c->model, c->deltas);
	snprintf(body, cap,
	         "{\"id\":\"%s\",\"provider\":\"Mock\",\"model\":\"%s\",\"object\":\"chat.completion\","
	         "\"created\":%lld,\"choices\":[{\"logprobs\":null,\"finish_reason\":\"stop\","
	         "\"native_finish_reason\":\"stop\",\"index\":0,\"message\":{\"role\":\"assistant\","
	         "\"content\":\"%s\",\"refusal\":null,\"reasoning\":null}}],\"usage\":%s}",
	         c->gen_id, MODELS[c->model].id, (long long)time(NULL), content, usage);
	snprintf(hdr, sizeof hdr, "X-Generation-Id: %s\r\n", c->gen_id);
	send_json(c, 200, "OK", hdr, body);
	free(content);
	free(body);
}

static void stream_head(struct conn *c)
{
	out_fmt(c,
	        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
	        "Transfer-Encoding: chunked\r\nX-Generation-Id: %s\r\n%s\r\n",
	        c->gen_id, c->close_after ? "Connection: close\r\n" : "");
}

static void stream_delta(struct conn *c)
{
	char ev[1024];
	int n;
	bool last = c->sent + 1 == c->deltas;

	n = snprintf(ev, sizeof ev,
	             "data: {\"id\":\"%s\",\"provider\":\"Mock\",\"model\":\"%s\","
	             "\"object\":\"chat.completion.chunk\",\"created\":%lld,\"choices\":[{\"index\":0,"
	             "\"delta\":{\"role\":\"assistant\",\"content\":\"w%d \"},\"finish_reason\":%s,"
	             "\"native_finish_reason\":%s,\"logprobs\":null}]}\n\n",
	             c->gen_id, MODELS[c->model].id, (long long)time(NULL), c->sent + 1,
	             last ? "\"stop\"" : "null", last ? "\"stop\"" : "null");
	out_chunk(c, ev, (size_t)n);
	c->sent++;
}

static void stream_end(struct conn *c)
{
	char ev[1536], usage[512];
	int n;

	usage_json(usage, sizeof usage, c->model, c->deltas);
	n = snprintf(ev, sizeof ev,
	             "data: {\"id\":\"%s\",\"provider\":\"Mock\",\"model\":\"%s\","
	             "\"object\":\"chat.completion.chunk\",\"created\":%lld,\"choices\":[],"
	             "\"usage\":%s}\n\ndata: [DONE]\n\n",
	             c->gen_id, MODELS[c->model].id, (long long)time(NULL), usage);
	out_chunk(c, ev, (size_t)n);
	out_add(c, "0\r\n\r\n", 5);
	if (c->close_after)
		c->closing = true;
}

static void answer_models(struct conn *c)
{
	char body[8192];
	size_t n = 0;

	n += (size_t)snprintf(body + n, sizeof body - n, "{\"data\":[");
	for (int i = 0; i < NMODELS; i++)
		n += (size_t)snprintf(
		        body + n, sizeof body - n,
		        "%s{\"id\":\"%s\",\"canonical_slug\":\"%s\",\"name\":\"%s\",\"created\":1721260800,"
		        "\"description\":\"Benchmark mock model.\",\"context_length\":128000,"
		        "\"architecture\":{\"modality\":\"text->text\",\"input_modalities\":[\"text\"],"
		        "\"output_modalities\":[\"text\"],\"tokenizer\":\"GPT\",\"instruct_type\":null},"
		        "\"pricing\":{\"prompt\":\"%s\",\"completion\":\"%s\",\"request\":\"0\","
		        "\"image\":\"0\",\"web_search\":\"0\",\"internal_reasoning\":\"0\"},"
		        "\"top_provider\":{\"context_length\":128000,\"max_completion_tokens\":16384,"
		        "\"is_moderated\":false},\"per_request_limits\":null,"
		        "\"supported_parameters\":[\"max_tokens\",\"temperature\",\"stream\"]}",
		        i ? "," : "", MODELS[i].id, MODELS[i].id, MODELS[i].name, MODELS[i].prompt,
		        MODELS[i].completion);
	snprintf(body + n, sizeof body - n, "]}");
	send_json(c, 200, "OK", NULL, body);
}

/* gen-mock-<thread>-<serial>-<model>-<completion tokens>-<streamed> */
static void answer_generation(struct conn *c, const char *query)
{
	char id[64] = "", body[1536], cost[32];
	const char *p = query ? strstr(query, "id=") : NULL;
	unsigned t, m, k, s;
	unsigned long long serial;
	size_t n = 0;

	if (p && (p == query || p[-1] == '&')) {
		p += 3;
		while (n < sizeof id - 1 && p[n] && p[n] != '&')
			n++;
		memcpy(id, p, n);
		id[n] = '\0';
	}
	if (!id[0]) {
		send_error(c, 400, "Bad Request", "Missing required query parameter: id");
		return;
	}
	if (sscanf(id, "gen-mock-%u-%llu-%u-%u-%u", &t, &serial, &m, &k, &s) != 5 ||
	    m >= (unsigned)NMODELS || k > MAX_DELTAS) {
		send_error(c, 404, "Not Found", "Generation not found");
		return;
	}
	money(cost_of((int)m, PROMPT_TOKENS, (int)k), cost);
	snprintf(body, sizeof body,
	         "{\"data\":{\"id\":\"%s\",\"upstream_id\":\"mock-%s\",\"total_cost\":%s,"
	         "\"cache_discount\":null,\"upstream_inference_cost\":null,"
	         "\"created_at\":\"2026-01-01T00:00:00.000Z\",\"model\":\"%s\",\"app_id\":null,"
	         "\"streamed\":%s,\"cancelled\":false,\"provider_name\":\"Mock\",\"latency\":1,"
	         "\"moderation_latency\":null,\"generation_time\":1,\"finish_reason\":\"stop\","
	         "\"native_finish_reason\":\"stop\",\"tokens_prompt\":%d,\"tokens_completion\":%u,"
	         "\"native_tokens_prompt\":%d,\"native_tokens_completion\":%u,"
	         "\"native_tokens_reasoning\":0,\"native_tokens_cached\":0,\"num_media_prompt\":null,"
	         "\"num_media_completion\":null,\"num_search_results\":null,\"origin\":\"\","
	         "\"usage\":%s,\"is_byok\":false,\"api_type\":\"completions\"}}",
	         id, id, cost, MODELS[m].id, s ? "true" : "false", PROMPT_TOKENS, k, PROMPT_TOKENS,
	         k, cost);
	send_json(c, 200, "OK", NULL, body);
}

/* ---- minimal JSON scanning of the request body --------------------------------- */

/* The end of the JSON string starting at s (on its opening quote), past the quote. */
static const char *skip_string(const char *s, const char *end)
{
	for (s++; s < end; s++) {
		if (*s == '\\')
			s++;
		else if (*s == '"')
			return s + 1;
	}
	return end;
}

/* The value of key "k" at the top level of the object [s, end), after the colon and
 * blanks; NULL when absent. Nested objects and strings are skipped, so a "stream"
 * inside a message's content does not count. */
static const char *json_key(const char *s, const char *end, const char *k)
{
	size_t kl = strlen(k);
	int depth = 0;

	while (s < end) {
		char ch = *s;
		if (ch == '"') {
			const char *e = skip_string(s, end);
			if (depth == 1 && (size_t)(e - s) == kl + 2 && memcmp(s + 1, k, kl) == 0) {
				const char *v = e;
				while (v < end && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
					v++;
				if (v < end && *v == ':') {
					v++;
					while (v < end &&
					       (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
						v++;
					return v;
				}
			}
			s = e;
			continue;
		}
		if (ch == '{' || ch == '[')
			depth++;
		else if (ch == '}' || ch == ']')
			depth--;
		s++;
	}
	return NULL;
}

/* The end of the JSON object starting at s ('{'). */
static const char *object_end(const char *s, const char *end)
{
	int depth = 0;
	while (s < end) {
		if (*s == '"') {
			s = skip_string(s, end);
			continue;
		}
		if (*s == '{' || *s == '[')
			depth++;
		else if ((*s == '}' || *s == ']') && --depth == 0)
			return s + 1;
		s++;
	}
	return end;
}

static int clamp_int(long v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : (int)v;
}

static void read_mock_settings(struct conn *c, const char *body, size_t len, int *deltas,
                               int *interval, int *delay)
{
	const char *end = body + len, *v = json_key(body, end, "mock");
	if (v && *v == '{') {
		const char *oe = object_end(v, end), *x;
		if ((x = json_key(v, oe, "deltas")))
			*deltas = clamp_int(strtol(x, NULL, 10), 1, MAX_DELTAS);
		if ((x = json_key(v, oe, "interval_ms")))
			*interval = clamp_int(strtol(x, NULL, 10), 0, 600000);
		if ((x = json_key(v, oe, "delay_ms")))
			*delay = clamp_int(strtol(x, NULL, 10), 0, 600000);
	}
	(void)c;
}

/* ---- requests ---------------------------------------------------------------- */

struct request {
	char method[16];
	char path[1024];
	const char *query;
	int hdr_deltas, hdr_interval, hdr_delay; /* -1: not given */
	const char *body;
	size_t body_len;
};

static void schedule(struct loop *l, struct conn *c, int64_t at)
{
	c->next_at = at;
	heap_push(l, c);
}

static void start_chat(struct loop *l, struct conn *c, struct request *r)
{
	const char *end = r->body + r->body_len, *v;
	int deltas = DEFAULT_DELTAS, interval = DEFAULT_INTERVAL_MS, delay = 0;

	if (r->body_len == 0 || r->body[0] != '{') {
		send_error(c, 400, "Bad Request", "the body is not a JSON object");
		return;
	}
	read_mock_settings(c, r->body, r->body_len, &deltas, &interval, &delay);
	if (r->hdr_deltas >= 0)
		deltas = clamp_int(r->hdr_deltas, 1, MAX_DELTAS);
	if (r->hdr_interval >= 0)
		interval = clamp_int(r->hdr_interval, 0, 600000);
	if (r->hdr_delay >= 0)
		delay = clamp_int(r->hdr_delay, 0, 600000);
	v = json_key(r->body, end, "stream");
	c->stream = v && end - v >= 4 && memcmp(v, "true", 4) == 0;
	c->model = 0;
	v = json_key(r->body, end, "model");
	if (v && *v == '"') {
		const char *e = skip_string(v, end);
		for (int i = 0; i < NMODELS; i++)
			if ((size_t)(e - v - 2) == strlen(MODELS[i].id) &&
			    memcmp(v + 1, MODELS[i].id, (size_t)(e - v - 2)) == 0)
				c->model = i;
	}
	c->deltas = deltas;
	c->interval_ms = interval;
	c->sent = 0;
	snprintf(c->gen_id, sizeof c->gen_id, "gen-mock-%d-%llu-%d-%d-%d", l->tid, ++l->ids,
	         c->model, deltas, c->stream ? 1 : 0);
	if (c->stream) {
		/* Headers at once, like OpenRouter; the first delta after the delay. */
		stream_head(c);
		c->st = STREAMING;
		schedule(l, c, now_us() + (int64_t)delay * 1000);
	} else if (delay > 0) {
		c->st = DELAYING;
		schedule(l, c, now_us() + (int64_t)delay * 1000);
	} else {
		answer_completion(c);
	}
}

static int header_int(const char *v, size_t n)
{
	char tmp[24];
	if (n >= sizeof tmp)
		n = sizeof tmp - 1;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	return clamp_int(strtol(tmp, NULL, 10), 0, 1 << 30);
}

/* Decodes a chunked body in place from p; returns its length, -1 when incomplete,
 * -2 when malformed. *consumed is how many bytes of input it used. */
static long dechunk(char *p, size_t avail, size_t *consumed)
{
	size_t in = 0, out = 0;
	for (;;) {
		char *nl = memmem(p + in, avail - in, "\r\n", 2);
		if (!nl)
			return -1;
		char *e;
		unsigned long sz = strtoul(p + in, &e, 16);
		if (e == p + in)
			return -2;
		in = (size_t)(nl - p) + 2;
		if (sz == 0) {
			/* trailers end with an empty line */
			for (;;) {
				char *t = memmem(p + in, avail - in, "\r\n", 2);
				if (!t)
					return -1;
				size_t len = (size_t)(t - (p + in));
				in += len + 2;
				if (len == 0)
					break;
			}
			*consumed = in;
			return (long)out;
		}
		if (out + sz > MAX_BODY)
			return -2;
		if (avail - in < sz + 2)
			return -1;
		memmove(p + out, p + in, sz);
		out += sz;
		in += sz + 2;
	}
}

/* Handles one complete request from c->in if there is one; returns the bytes used,
 * 0 when more input is needed, -1 when the connection must go. */
static long one_request(struct loop *l, struct conn *c)
{
	char *buf = c->in, *he, *line, *p;
	size_t head_len;
	long cl = -1;
	bool chunked = false, expect = false, http10 = false;
	struct request r = {.hdr_deltas = -1, .hdr_interval = -1, .hdr_delay = -1};

	he = memmem(buf, c->in_len, "\r\n\r\n", 4);
	if (!he)
		return c->in_len > MAX_HEAD ? -1 : 0;
	head_len = (size_t)(he - buf) + 4;

	/* request line */
	line = buf;
	p = memchr(line, ' ', (size_t)(he - line));
	if (!p || p - line >= (long)sizeof r.method)
		return -1;
	memcpy(r.method, line, (size_t)(p - line));
	r.method[p - line] = '\0';
	line = p + 1;
	p = memchr(line, ' ', (size_t)(he - line));
	if (!p || p - line >= (long)sizeof r.path)
		return -1;
	memcpy(r.path, line, (size_t)(p - line));
	r.path[p - line] = '\0';
	http10 = memcmp(p + 1, "HTTP/1.0", 8) == 0;
	c->close_after = http10;

	/* headers */
	line = memmem(buf, head_len, "\r\n", 2) + 2;
	while (line < he + 2) {
		char *eol = memmem(line, (size_t)(he + 2 - line), "\r\n", 2);
		char *colon = eol ? memchr(line, ':', (size_t)(eol - line)) : NULL;
		if (!eol)
			break;
		if (colon) {
			size_t kl = (size_t)(colon - line);
			char *v = colon + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			size_t vl = (size_t)(eol - v);
#define IS(name) (kl == sizeof(name) - 1 && strncasecmp(line, name, kl) == 0)
			if (IS("content-length"))
				cl = header_int(v, vl);
			else if (IS("transfer-encoding"))
				chunked = vl >= 7 && strncasecmp(v, "chunked", 7) == 0;
			else if (IS("connection")) {
				if (vl >= 5 && strncasecmp(v, "close", 5) == 0)
					c->close_after = true;
				else if (vl >= 10 && strncasecmp(v, "keep-alive", 10) == 0)
					c->close_after = false;
			} else if (IS("expect"))
				expect = vl >= 12 && strncasecmp(v, "100-continue", 12) == 0;
			else if (IS("x-mock-deltas"))
				r.hdr_deltas = header_int(v, vl);
			else if (IS("x-mock-interval-ms"))
				r.hdr_interval = header_int(v, vl);
			else if (IS("x-mock-delay-ms"))
				r.hdr_delay = header_int(v, vl);
#undef IS
		}
		line = eol + 2;
	}

	/* body */
	size_t used = head_len;
	if (chunked) {
		size_t consumed = 0;
		long n = dechunk(buf + head_len, c->in_len - head_len, &consumed);
		if (n == -2)
			return -1;
		if (n == -1) {
			if (expect && !c->continued) {
				out_add(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
				c->continued = true;
			}
			return c->in_len - head_len > MAX_BODY + 65536 ? -1 : 0;
		}
		r.body = buf + head_len;
		r.body_len = (size_t)n;
		used += consumed;
	} else if (cl > 0) {
		if (cl > MAX_BODY)
			return -1;
		if (c->in_len < head_len + (size_t)cl) {
			if (expect && !c->continued) {
				out_add(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
				c->continued = true;
			}
			return 0;
		}
		r.body = buf + head_len;
		r.body_len = (size_t)cl;
		used += (size_t)cl;
	} else {
		r.body = buf + head_len;
		r.body_len = 0;
	}
	c->continued = false;

	char *q = strchr(r.path, '?');
	if (q) {
		*q = '\0';
		r.query = q + 1;
	}
	if (strcmp(r.path, "/api/v1/chat/completions") == 0 ||
	    strcmp(r.path, "/v1/chat/completions") == 0 || strcmp(r.path, "/chat/completions") == 0) {
		if (strcmp(r.method, "POST") != 0)
			send_error(c, 405, "Method Not Allowed", "use POST");
		else
			start_chat(l, c, &r);
	} else if (strcmp(r.path, "/api/v1/models") == 0 || strcmp(r.path, "/v1/models") == 0) {
		answer_models(c);
	} else if (strcmp(r.path, "/api/v1/generation") == 0) {
		answer_generation(c, r.query);
	} else if (strcmp(r.path, "/health") == 0) {
		send_json(c, 200, "OK", NULL, "{\"status\":\"ok\"}");
	} else {
		send_error(c, 404, "Not Found", "no such route on the benchmark mock");
	}
	return (long)used;
}

/* Answers every complete request buffered while the connection is idle. */
static bool process(struct loop *l, struct conn *c)
{
	while (c->st == IDLE && !c->closing && c->in_len > 0) {
		long used = one_request(l, c);
		if (used < 0) {
			conn_close(l, c);
			return false;
		}
		if (used == 0)
			break;
		memmove(c->in, c->in + used, c->in_len - (size_t)used);
		c->in_len -= (size_t)used;
	}
	if (c->out_len - c->out_off > MAX_OUT) {
		conn_close(l, c);
		return false;
	}
	return flush_out(l, c);
}

static void on_readable(struct loop *l, struct conn *c)
{
	for (;;) {
		if (c->in_cap - c->in_len < 16384) {
			if (c->in_cap >= MAX_BODY + MAX_HEAD + 65536) {
				conn_close(l, c);
				return;
			}
			c->in_cap = c->in_cap ? c->in_cap * 2 : 32768;
			c->in = xrealloc(c->in, c->in_cap);
		}
		ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (n > 0) {
			c->in_len += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		conn_close(l, c); /* EOF or error: also ends a stream in progress */
		return;
	}
	process(l, c);
}

/* A timed step of a delayed answer or a stream. */
static void on_timer(struct loop *l, struct conn *c)
{
	if (c->st == DELAYING) {
		c->st = IDLE;
		answer_completion(c);
		process(l, c);
		return;
	}
	stream_delta(c);
	if (c->sent < c->deltas) {
		/* on the schedule, not from now: late steps do not push the next ones */
		schedule(l, c, c->next_at + (int64_t)c->interval_ms * 1000);
		flush_out(l, c);
		return;
	}
	stream_end(c);
	c->st = IDLE;
	process(l, c);
}

static void on_accept(struct loop *l)
{
	for (;;) {
		int fd = accept4(l->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE)
				fprintf(stderr, "mock_upstream: accept: %s\n", strerror(errno));
			return;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct conn *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->heap_idx = -1;
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
		if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
		}
	}
}

static int listen_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port)};

	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 8192) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void *loop_run(void *arg)
{
	struct loop *l = arg;
	struct epoll_event evs[512];

	for (;;) {
		int n = epoll_wait(l->ep, evs, 512, -1);
		if (n < 0 && errno == EINTR)
			continue;
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &LISTEN_TAG) {
				on_accept(l);
			} else if (p == &TIMER_TAG) {
				uint64_t exp;
				if (read(l->tfd, &exp, sizeof exp) < 0) {
					/* EAGAIN: nothing due; the heap is checked below anyway */
				}
			} else {
				struct conn *c = p;
				if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
					/* on_readable may free c: do not touch it after */
					if (evs[i].events & EPOLLOUT) {
						if (!flush_out(l, c))
							continue;
					}
					on_readable(l, c);
				} else if (evs[i].events & EPOLLOUT) {
					if (flush_out(l, c))
						process(l, c);
				}
			}
		}
		/* Every step that is due, then re-arm for the next one. */
		int64_t now = now_us();
		while (l->heap_len > 0 && l->heap[0]->next_at <= now + 100) {
			struct conn *c = l->heap[0];
			heap_remove(l, c);
			on_timer(l, c);
		}
		timer_arm(l);
	}
	return NULL;
}

static int loop_init(struct loop *l, int tid)
{
	struct epoll_event ev;

	memset(l, 0, sizeof *l);
	l->tid = tid;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	l->lfd = listen_socket();
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (l->ep < 0 || l->lfd < 0 || l->tfd < 0)
		return -1;
	ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = (void *)&LISTEN_TAG};
	epoll_ctl(l->ep, EPOLL_CTL_ADD, l->lfd, &ev);
	ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = (void *)&TIMER_TAG};
	epoll_ctl(l->ep, EPOLL_CTL_ADD, l->tfd, &ev);
	return 0;
}

int main(int argc, char **argv)
{
	int threads = 1;
	struct rlimit rl;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			g_port = atoi(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: mock_upstream --port P [--threads N]\n");
			return 2;
		}
	}
	if (g_port <= 0 || g_port > 65535 || threads < 1 || threads > 64) {
		fprintf(stderr, "usage: mock_upstream --port P [--threads N]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* thousands of connections: as many descriptors as allowed */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	struct loop *loops = calloc((size_t)threads, sizeof *loops);
	for (int t = 0; t < threads; t++) {
		if (loop_init(&loops[t], t) < 0) {
			fprintf(stderr, "mock_upstream: cannot listen on 127.0.0.1:%d: %s\n", g_port,
			        strerror(errno));
			return 1;
		}
	}
	fprintf(stderr, "mock_upstream: listening on 127.0.0.1:%d (%d thread%s)\n", g_port,
	        threads, threads > 1 ? "s" : "");
	for (int t = 1; t < threads; t++) {
		pthread_t th;
		pthread_create(&th, NULL, loop_run, &loops[t]);
	}
	loop_run(&loops[0]);
	return 0;
}
