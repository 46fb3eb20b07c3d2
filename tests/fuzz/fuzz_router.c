/* libFuzzer harness: the request path from CGI params to an answer, with
 * the database out of reach: request_fill_from_params, router_match (a
 * table of its own, and the real one through dispatch: no key can be
 * verified, so nothing gets past authentication), the Authorization and
 * CORS header checks, query lookup, the percent decoder and the usage
 * endpoint's date range (usage_range_resolve on startDate/endDate).
 * Input: method, REQUEST_URI, Authorization, Access-Control-Request-Headers,
 * Content-Type, one per line; the rest is the body. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "alloc.h"
#include "conffile.h"
#include "context.h"
#include "dispatch.h"
#include "fuzz.h"
#include "keyring.h"
#include "log.h"
#include "memsink.h"
#include "request.h"
#include "response.h"
#include "router.h"
#include "usage_query.h"

static struct aigw_conf conf;
static struct keyring keyring;
static struct thread_ctx *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	if (sodium_init() < 0)
		abort();
	conf_defaults(&conf);
	/* /v1/health pings the database: a socket that does not exist makes
	 * that fail at once, and no key can be verified without a keyring. */
	free(conf.db_socket);
	conf.db_socket = xstrdup("/nonexistent/aigw-fuzz.sock");
	/* With a key, a well-formed token is hashed and looked up (and the
	 * lookup fails: 503), so the token checks run whole. */
	if (keyring_parse(&keyring,
	                  "1 000102030405060708090a0b0c0d0e0f"
	                  "101112131415161718191a1b1c1d1e1f\n",
	                  NULL) != AIGW_OK)
		abort();
	ctx = thread_ctx_new(&conf, &keyring, NULL);
	return 0;
}

/* Cuts the next '\n'-terminated field off [*p, end) as a new string. */
static char *next_line(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	char *s = xstrndup((const char *)*p, n);

	*p += n + (nl ? 1 : 0);
	return s;
}

/* Decoding then percent-encoding every byte and decoding again gives the
 * same text; a success never grows the text nor holds a NUL. */
static void check_percent(const char *src, size_t len, bool plus)
{
	char *out = xmalloc(len + 1);

	if (percent_decode(src, len, plus, out, len + 1)) {
		size_t n = strlen(out);
		char *enc = xmalloc(3 * n + 1), *back = xmalloc(n + 1);
		static const char hex[] = "0123456789ABCDEF";

		FUZZ_ASSERT(n <= len);
		for (size_t i = 0; i < n; i++) {
			enc[3 * i] = '%';
			enc[3 * i + 1] = hex[(unsigned char)out[i] >> 4];
			enc[3 * i + 2] = hex[(unsigned char)out[i] & 15];
		}
		FUZZ_ASSERT(percent_decode(enc, 3 * n, plus, back, n + 1));
		FUZZ_ASSERT(strcmp(back, out) == 0);
		/* one byte too short must be refused, never overrun */
		if (n > 0)
			FUZZ_ASSERT(!percent_decode(src, len, plus, back, n));
		free(enc);
		free(back);
	}
	free(out);
}

/* GET /ai/usage's range from the query, as its handler reads it. */
static void check_usage_range(const struct request *req)
{
	char start[64], end[64], msg[256];
	const char *param = NULL;
	struct usage_range range;
	long a, b;
	bool has_start = request_query_get(req, "startDate", start, sizeof(start));
	bool has_end = request_query_get(req, "endDate", end, sizeof(end));

	if (usage_range_resolve(has_start ? start : NULL, has_end ? end : NULL, "2026-11-01",
	                        "2026-11-15", &range, &param, msg, sizeof(msg))) {
		FUZZ_ASSERT(usage_date_parse(range.start, &a) && usage_date_parse(range.end, &b));
		FUZZ_ASSERT(a <= b && b - a < USAGE_MAX_RANGE_DAYS);
	} else {
		FUZZ_ASSERT(param && (!strcmp(param, "startDate") || !strcmp(param, "endDate")));
		FUZZ_ASSERT(memchr(msg, '\0', sizeof(msg)) && msg[0]);
	}
	if (has_start && usage_date_parse(start, &a)) {
		char back[USAGE_DATE_LEN + 1];

		usage_civil_from_days(a, back);
		FUZZ_ASSERT(strcmp(back, start) == 0);
	}
}

static void check_route(struct request *req)
{
	static const struct route table[] = {
	        {HTTP_GET, "/health", ROUTE_PUBLIC, false, NULL, NULL},
	        {HTTP_GET | HTTP_PUT, "/{app}/ai/config", ROUTE_ADMIN, false, NULL, NULL},
	        {HTTP_POST, "/{app}/chat/completions", ROUTE_CLIENT, true, NULL, NULL},
	        {HTTP_GET, "/{app}/models", ROUTE_CLIENT, false, NULL, NULL},
	        {HTTP_GET, "/{app}/models/{rest}", ROUTE_CLIENT, false, NULL, NULL},
	        {HTTP_DELETE, "/{app}/x/{rest}", ROUTE_CLIENT, false, NULL, NULL},
	};
	const struct route *r = NULL;
	unsigned allowed = 0;
	char allow[64];
	enum route_result res = router_match(table, 6, req, &r, &allowed);

	FUZZ_ASSERT((res == ROUTE_FOUND) == (r != NULL));
	if (res == ROUTE_NOT_FOUND)
		FUZZ_ASSERT(allowed == 0 || req->route_arg == NULL);
	else
		FUZZ_ASSERT(allowed & HTTP_OPTIONS);
	if (res == ROUTE_FOUND) {
		bool has_app = strstr(r->pattern, "{app}") != NULL;
		bool has_rest = strstr(r->pattern, "{rest}") != NULL;
		size_t n = strlen(req->app_id);

		FUZZ_ASSERT(has_app == (n > 0));
		FUZZ_ASSERT(n <= 64 &&
		            strspn(req->app_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                                "abcdefghijklmnopqrstuvwxyz0123456789_-") == n);
		FUZZ_ASSERT(has_rest == (req->route_arg != NULL));
		if (req->route_arg)
			FUZZ_ASSERT(req->route_arg[0] &&
			            strlen(req->route_arg) <= strlen(req->path));
		FUZZ_ASSERT(req->method == HTTP_OPTIONS || (req->method & r->methods));
	}
	/* every buffer size, down to none: always terminated, never overrun */
	for (size_t cap = 0; cap <= sizeof(allow); cap += 7) {
		char *small = xmalloc(cap ? cap : 1);
		router_allow_header(allowed, small, cap);
		if (cap)
			FUZZ_ASSERT(memchr(small, '\0', cap) != NULL);
		free(small);
	}
	router_allow_header(allowed, allow, sizeof(allow));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	struct request req;
	struct response resp;
	struct memsink ms;
	char *method = next_line(&p, end), *uri = next_line(&p, end);
	char *authz = next_line(&p, end), *acrh = next_line(&p, end), *ctype = next_line(&p, end);
	char value[64];

	check_percent((const char *)data, size, false);
	check_percent((const char *)data, size, true);
	free(router_percent_decode((const char *)data, size));

	memset(&req, 0, sizeof(req));
	request_add_param(&req, "REQUEST_METHOD", method);
	/* "~/x?q" takes the road of servers that give SCRIPT_NAME ("/v1") +
	 * PATH_INFO ("/x") + QUERY_STRING ("q") instead of REQUEST_URI. */
	if (uri[0] == '~') {
		size_t cut = strcspn(uri, "?");
		char *info = xstrndup(uri + 1, cut > 0 ? cut - 1 : 0);

		request_add_param(&req, "SCRIPT_NAME", "/v1");
		request_add_param(&req, "PATH_INFO", info);
		if (uri[cut])
			request_add_param(&req, "QUERY_STRING", uri + cut + 1);
		free(info);
	} else {
		request_add_param(&req, "REQUEST_URI", uri);
	}
	if (authz[0])
		request_add_param(&req, "HTTP_AUTHORIZATION", authz);
	if (acrh[0])
		request_add_param(&req, "HTTP_ACCESS_CONTROL_REQUEST_HEADERS", acrh);
	if (ctype[0])
		request_add_param(&req, "CONTENT_TYPE", ctype);
	request_fill_from_params(&req);
	FUZZ_ASSERT(req.path && req.path[0] && req.query && req.method_name);
	memcpy(req.request_id, "req_fuzz", sizeof("req_fuzz"));
	if (p < end) {
		req.body_len = (size_t)(end - p);
		req.body = xmalloc(req.body_len + 1);
		memcpy(req.body, p, req.body_len);
		req.body[req.body_len] = '\0';
	}

	for (size_t cap = 1; cap <= sizeof(value); cap += 21) {
		if (request_query_get(&req, "startDate", value, cap))
			FUZZ_ASSERT(strlen(value) < cap);
		if (request_query_get(&req, req.query, value, cap))
			FUZZ_ASSERT(strlen(value) < cap);
	}
	(void)request_is_json(&req);
	check_usage_range(&req);
	check_route(&req);

	memsink_init(&ms);
	response_init(&resp, &memsink_ops, &ms, req.request_id, "*");
	dispatch(ctx, &req, &resp);
	response_finish(&resp);
	FUZZ_ASSERT(resp.status >= 200 && resp.status <= 599);
	/* no key can be verified: nothing gets past authentication */
	FUZZ_ASSERT(resp.status != 200 || strcmp(req.path, "/v1/health") == 0);
	response_free(&resp);
	memsink_free(&ms);

	request_free(&req);
	free(method);
	free(uri);
	free(authz);
	free(acrh);
	free(ctype);
	return 0;
}
