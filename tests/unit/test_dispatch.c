/* Unit tests of handlers/dispatch.c through the memory sink, with a database
 * that cannot be reached (127.0.0.1 port 1): routing errors, CORS preflight
 * and auth failures must answer without the database, and anything that
 * needs it must fail closed with 503.
 *
 * Keys are seeded into the process's key cache (app_cache.h): that reaches
 * the checks after auth (other app, role, 415, handler validation) without
 * a database. */
#include "config.h"

#include "auth.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "alloc.h"
#include "app_cache.h"
#include "apikey.h"
#include "check.h"
#include "memsink.h"
#include "conffile.h"
#include "context.h"
#include "db.h"
#include "dispatch.h"
#include "keyring.h"
#include "request.h"
#include "response.h"
#include "services.h"

/* ends the extra-params list of send_req */
#define END ((const char *)NULL)
#define HEXA "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEXB "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static struct aigw_conf conf;
static struct keyring test_kr;
static struct thread_ctx *ctx;
static struct services test_svc;
static char admin_token[APIKEY_TOKEN_LEN + 1];  /* seeded: app1, admin */
static char client_token[APIKEY_TOKEN_LEN + 1]; /* seeded: app1, client */
static char unknown_token[APIKEY_TOKEN_LEN + 1];

struct result {
	int status;
	char *head; /* "Status: ...\r\nName: value\r\n..." */
	cJSON *json;
	char *body;
	bool body_wiped; /* the request body was zeroed by dispatch */
};

static void result_free(struct result *r)
{
	free(r->head);
	free(r->body);
	cJSON_Delete(r->json);
	memset(r, 0, sizeof(*r));
}

/* Sends one request; extra params come as name, value pairs ending in NULL. */
static void send_req(struct result *res, const char *method, const char *uri, const char *authz,
                     const char *ctype, const char *body, ...)
{
	struct request req;
	struct response resp;
	struct memsink ms;
	const char *sep, *name;
	va_list ap;

	memset(res, 0, sizeof(*res));
	memset(&req, 0, sizeof(req));
	request_add_param(&req, "REQUEST_METHOD", method);
	request_add_param(&req, "REQUEST_URI", uri);
	if (authz)
		request_add_param(&req, "HTTP_AUTHORIZATION", authz);
	if (ctype)
		request_add_param(&req, "CONTENT_TYPE", ctype);
	va_start(ap, body);
	while ((name = va_arg(ap, const char *)) != NULL)
		request_add_param(&req, name, va_arg(ap, const char *));
	va_end(ap);
	request_fill_from_params(&req);
	request_new_id(&req);
	if (body) {
		req.body = xstrdup(body);
		req.body_len = strlen(body);
	}
	memsink_init(&ms);
	response_init(&resp, &memsink_ops, &ms, req.request_id, "*");
	dispatch(ctx, &req, &resp);
	response_finish(&resp);

	res->status = resp.status;
	res->body_wiped = true;
	for (size_t i = 0; i < req.body_len; i++)
		if (req.body[i] != '\0')
			res->body_wiped = false;
	sep = ms.out.data ? strstr(ms.out.data, "\r\n\r\n") : NULL;
	if (sep) {
		res->head = xstrndup(ms.out.data, (size_t)(sep - ms.out.data) + 2);
		res->body = xstrdup(sep + 4);
		res->json = cJSON_Parse(res->body);
	} else {
		res->head = xstrdup("");
		res->body = xstrdup("");
	}
	memsink_free(&ms);
	response_free(&resp);
	request_free(&req);
}

/* The value of a response header (copied into a static buffer), or NULL. */
static const char *header(const struct result *r, const char *name)
{
	static char value[2048];
	size_t nlen = strlen(name);

	for (const char *p = r->head; p && *p;) {
		const char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > nlen + 1 && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			const char *v = p + nlen + 1;
			while (*v == ' ')
				v++;
			snprintf(value, sizeof(value), "%.*s", (int)(len - (size_t)(v - p)), v);
			return value;
		}
		p = eol ? eol + 2 : p + len;
	}
	return NULL;
}

static const char *err_field(const struct result *r, const char *field)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(r->json, "error");
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, field);
	return cJSON_IsString(f) ? f->valuestring : NULL;
}

static void check_error(const struct result *r, int status, const char *type)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(r->json, "error");

	CHECK_INT(r->status, status);
	CHECK(e != NULL);
	CHECK_STR(err_field(r, "type"), type);
	CHECK_INT(cJSON_GetObjectItemCaseSensitive(e, "code")->valueint, status);
	CHECK(header(r, "x-request-id") != NULL);
	CHECK_STR(header(r, "Access-Control-Allow-Origin"), "*");
}

static void not_found(void)
{
	struct result r;

	send_req(&r, "GET", "/v1/nope", NULL, NULL, NULL, END);
	check_error(&r, 404, "not_found_error");
	CHECK(strncmp(header(&r, "x-request-id"), "req_", 4) == 0);
	result_free(&r);
	send_req(&r, "GET", "/health", NULL, NULL, NULL, END);
	check_error(&r, 404, "not_found_error");
	result_free(&r);
	send_req(&r, "GET", "/v1/app1/ai/config/extra", admin_token, NULL, NULL, END);
	check_error(&r, 404, "not_found_error");
	result_free(&r);
}

static void bad_method(void)
{
	struct result r;

	send_req(&r, "DELETE", "/v1/app1/ai/config", NULL, NULL, NULL, END);
	check_error(&r, 405, "invalid_request_error");
	CHECK_STR(header(&r, "Allow"), "GET, PUT, OPTIONS");
	result_free(&r);
	send_req(&r, "PATCH", "/v1/app1/ai/config", NULL, NULL, NULL, END);
	check_error(&r, 405, "invalid_request_error");
	CHECK_STR(header(&r, "Allow"), "GET, PUT, OPTIONS");
	result_free(&r);
	send_req(&r, "POST", "/v1/health", NULL, NULL, NULL, END);
	check_error(&r, 405, "invalid_request_error");
	CHECK_STR(header(&r, "Allow"), "GET, OPTIONS");
	result_free(&r);
}

static void bad_app_id(void)
{
	static const char *const uris[] = {
	        "/v1/a'%20OR%201=1--/ai/config",
	        "/v1/a';DROP%20TABLE%20apps;--/ai/config",
	        "/v1/app%2F1/ai/config",
	        "/v1/app.1/ai/config",
	        /* 65 characters */
	        "/v1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/ai/config",
	};
	struct result r;

	for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		send_req(&r, "GET", uris[i], admin_token, NULL, NULL, END);
		check_error(&r, 400, "invalid_request_error");
		CHECK_STR(err_field(&r, "param"), "app_id");
		result_free(&r);
	}
	/* 64 characters is a valid id: on to auth (none given) */
	send_req(&r, "GET",
	         "/v1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/ai/config",
	         NULL, NULL, NULL, END);
	CHECK_INT(r.status, 401);
	result_free(&r);
}

static void preflight_no_auth(void)
{
	struct result r;
	const char *h;

	send_req(&r, "OPTIONS", "/v1/app1/ai/config", NULL, NULL, NULL, "HTTP_ORIGIN",
	         "https://example.com", "HTTP_ACCESS_CONTROL_REQUEST_METHOD", "PUT",
	         "HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "authorization,content-type,x-custom-thing",
	         END);
	CHECK_INT(r.status, 204);
	CHECK_STR(r.body, "");
	CHECK_STR(header(&r, "Access-Control-Allow-Methods"), "GET, PUT, OPTIONS");
	h = header(&r, "Access-Control-Allow-Headers");
	CHECK(h && strstr(h, "Authorization, Content-Type") != NULL);
	CHECK(h && strstr(h, "X-Stainless-*") != NULL);
	CHECK(h && strstr(h, "x-custom-thing") != NULL); /* echoed */
	CHECK_STR(header(&r, "Access-Control-Max-Age"), "600");
	CHECK_STR(header(&r, "Access-Control-Allow-Origin"), "*");
	h = header(&r, "Access-Control-Expose-Headers");
	CHECK(h && strstr(h, "x-request-id") != NULL);
	CHECK(header(&r, "x-request-id") != NULL);
	result_free(&r);

	send_req(&r, "OPTIONS", "/v1/health", NULL, NULL, NULL, END);
	CHECK_INT(r.status, 204);
	CHECK_STR(header(&r, "Access-Control-Allow-Methods"), "GET, OPTIONS");
	result_free(&r);

	/* preflight on an unknown path is still a 404 */
	send_req(&r, "OPTIONS", "/v1/app1/nothing", NULL, NULL, NULL, END);
	CHECK_INT(r.status, 404);
	result_free(&r);
}

static void preflight_bad_request_headers_not_echoed(void)
{
	struct result r;
	const char *h;

	send_req(&r, "OPTIONS", "/v1/app1/ai/config", NULL, NULL, NULL,
	         "HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "x-a\r\nSet-Cookie: evil=1", END);
	CHECK_INT(r.status, 204);
	h = header(&r, "Access-Control-Allow-Headers");
	CHECK(h && strstr(h, "evil") == NULL);
	CHECK(header(&r, "Set-Cookie") == NULL);
	result_free(&r);
}

static void missing_auth_401_without_db(void)
{
	struct result r;

	send_req(&r, "GET", "/v1/app1/ai/config", NULL, NULL, NULL, END);
	check_error(&r, 401, "authentication_error");
	CHECK_STR(err_field(&r, "message"), "missing Authorization header");
	result_free(&r);
	send_req(&r, "GET", "/v1/app1/ai/config", "", NULL, NULL, END);
	check_error(&r, 401, "authentication_error");
	result_free(&r);
}

static void malformed_auth_401_without_db(void)
{
	char buf[128];
	const char *bad[] = {
	        "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearertoken", "Bearer sk-or-v1-abcdef",
	        "Bearer aigw_short",  buf,      NULL};
	struct result r;

	/* right length, one character outside base64url */
	snprintf(buf, sizeof(buf), "Bearer %s", unknown_token);
	buf[7 + 20] = '+';
	for (size_t i = 0; bad[i]; i++) {
		send_req(&r, "GET", "/v1/app1/ai/config", bad[i], NULL, NULL, END);
		check_error(&r, 401, "authentication_error");
		CHECK_STR(err_field(&r, "message"),
		          "malformed Authorization header (expected 'Bearer aigw_...')");
		result_free(&r);
	}
	/* two tokens */
	snprintf(buf, sizeof(buf), "Bearer %s %s", unknown_token, unknown_token);
	send_req(&r, "GET", "/v1/app1/ai/config", buf, NULL, NULL, END);
	CHECK_INT(r.status, 401);
	result_free(&r);
}

static void unknown_token_fails_closed(void)
{
	char buf[128];
	struct result r;

	snprintf(buf, sizeof(buf), "Bearer %s", unknown_token);
	send_req(&r, "GET", "/v1/app1/ai/config", buf, NULL, NULL, END);
	check_error(&r, 503, "service_unavailable");
	CHECK_STR(header(&r, "Retry-After"), "1");
	result_free(&r);
	/* scheme is case-insensitive, extra spaces are fine: still reaches the db */
	snprintf(buf, sizeof(buf), "bEaReR    %s  ", unknown_token);
	send_req(&r, "GET", "/v1/app1/ai/config", buf, NULL, NULL, END);
	check_error(&r, 503, "service_unavailable");
	result_free(&r);
}

static void unsupported_media_type_after_auth(void)
{
	char buf[128];
	struct result r;

	/* no auth: 401 wins over 415 */
	send_req(&r, "PUT", "/v1/app1/ai/config", NULL, "text/plain", "{}", END);
	CHECK_INT(r.status, 401);
	CHECK(r.body_wiped);
	result_free(&r);
	/* auth that needs the db: 503 wins over 415 */
	snprintf(buf, sizeof(buf), "Bearer %s", unknown_token);
	send_req(&r, "PUT", "/v1/app1/ai/config", buf, "text/plain", "{}", END);
	CHECK_INT(r.status, 503);
	result_free(&r);
	/* a valid (cached) admin key: now 415 */
	snprintf(buf, sizeof(buf), "Bearer %s", admin_token);
	send_req(&r, "PUT", "/v1/app1/ai/config", buf, "text/plain", "{}", END);
	check_error(&r, 415, "invalid_request_error");
	result_free(&r);
	send_req(&r, "PUT", "/v1/app1/ai/config", buf, NULL, "{}", END);
	CHECK_INT(r.status, 415);
	result_free(&r);
}

static void other_app_and_role_403(void)
{
	char buf[128];
	struct result r;

	snprintf(buf, sizeof(buf), "Bearer %s", admin_token);
	send_req(&r, "GET", "/v1/app2/ai/config", buf, NULL, NULL, END);
	check_error(&r, 403, "permission_error");
	CHECK_STR(err_field(&r, "message"), "this key belongs to another app");
	result_free(&r);
	snprintf(buf, sizeof(buf), "Bearer %s", client_token);
	send_req(&r, "GET", "/v1/app1/ai/config", buf, NULL, NULL, END);
	check_error(&r, 403, "permission_error");
	CHECK_STR(err_field(&r, "message"), "this endpoint needs an admin key");
	result_free(&r);
	/* other app is checked before role */
	send_req(&r, "PUT", "/v1/app2/ai/config", buf, "text/plain", "{}", END);
	CHECK_STR(err_field(&r, "message"), "this key belongs to another app");
	result_free(&r);
}

static void put_validation_before_db(void)
{
	char buf[128];
	struct result r;
	const char *secret = "{\"byokKey\":\"sk-or-v1-supersecret-1234\",\"bogus\":1}";

	snprintf(buf, sizeof(buf), "Bearer %s", admin_token);
	send_req(&r, "PUT", "/v1/app1/ai/config", buf, "application/json", "{\"a\":", END);
	check_error(&r, 400, "invalid_request_error");
	CHECK(strstr(err_field(&r, "message"), "malformed JSON") != NULL);
	result_free(&r);
	send_req(&r, "PUT", "/v1/app1/ai/config", buf, "application/json", "{} x", END);
	CHECK_INT(r.status, 400);
	result_free(&r);
	send_req(&r, "PUT", "/v1/app1/ai/config", buf, "application/json", "", END);
	CHECK_INT(r.status, 400);
	result_free(&r);
	send_req(&r, "PUT", "/v1/app1/ai/config", buf, "application/json", "[1]", END);
	CHECK_INT(r.status, 400);
	result_free(&r);
	send_req(&r, "PUT", "/v1/app1/ai/config", buf, "application/json; charset=utf-8",
	         "{\"maxTokensPerRequest\":0}", END);
	check_error(&r, 400, "invalid_request_error");
	CHECK_STR(err_field(&r, "param"), "maxTokensPerRequest");
	result_free(&r);
	send_req(&r, "PUT", "/v1/app1/ai/config", buf, "application/json",
	         "{\"byokKey\":\"sk-or-\\u0000tail\"}", END);
	CHECK_INT(r.status, 400);
	result_free(&r);
	/* a rejected body holding a key: never echoed, and wiped */
	send_req(&r, "PUT", "/v1/app1/ai/config", buf, "application/json", secret, END);
	CHECK_INT(r.status, 400);
	CHECK_STR(err_field(&r, "param"), "bogus");
	CHECK(strstr(r.body, "supersecret") == NULL);
	CHECK(strstr(r.head, "supersecret") == NULL);
	CHECK(r.body_wiped);
	result_free(&r);
}

static void handlers_fail_closed(void)
{
	char buf[128];
	struct result r;

	snprintf(buf, sizeof(buf), "Bearer %s", admin_token);
	send_req(&r, "GET", "/v1/app1/ai/config", buf, NULL, NULL, END);
	check_error(&r, 503, "service_unavailable");
	result_free(&r);
	send_req(&r, "PUT", "/v1/app1/ai/config", buf, "application/json",
	         "{\"byokKey\":\"sk-or-v1-supersecret-1234\",\"maxTokensPerRequest\":10}", END);
	check_error(&r, 503, "service_unavailable");
	CHECK(strstr(r.body, "supersecret") == NULL);
	CHECK(r.body_wiped);
	result_free(&r);
}

static void health_db_down(void)
{
	struct result r;
	const cJSON *e;

	send_req(&r, "GET", "/v1/health", NULL, NULL, NULL, END);
	CHECK_INT(r.status, 503);
	CHECK_STR(cJSON_GetObjectItemCaseSensitive(r.json, "status")->valuestring, "unavailable");
	CHECK_STR(cJSON_GetObjectItemCaseSensitive(r.json, "database")->valuestring, "down");
	e = cJSON_GetObjectItemCaseSensitive(r.json, "error");
	CHECK(e != NULL);
	CHECK_STR(err_field(&r, "type"), "service_unavailable");
	CHECK_INT(cJSON_GetObjectItemCaseSensitive(e, "code")->valueint, 503);
	CHECK(header(&r, "x-request-id") != NULL);
	CHECK_STR(header(&r, "Retry-After"), "1");
	result_free(&r);
}

/* Liveness asks nobody: 200 with the database down. */
static void health_live_without_db(void)
{
	struct result r;

	send_req(&r, "GET", "/v1/health/live", NULL, NULL, NULL, END);
	CHECK_INT(r.status, 200);
	CHECK_STR(cJSON_GetObjectItemCaseSensitive(r.json, "status")->valuestring, "ok");
	result_free(&r);
}

/* Readiness: the database down (and the upstream, 127.0.0.1:1, too): 503
 * with Retry-After, saying which. */
static void health_ready_down(void)
{
	struct result r;

	send_req(&r, "GET", "/v1/health/ready", NULL, NULL, NULL, END);
	CHECK_INT(r.status, 503);
	CHECK_STR(header(&r, "Retry-After"), "1");
	CHECK_STR(cJSON_GetObjectItemCaseSensitive(r.json, "database")->valuestring, "down");
	CHECK_STR(cJSON_GetObjectItemCaseSensitive(r.json, "upstream")->valuestring, "down");
	CHECK_STR(err_field(&r, "type"), "service_unavailable");
	result_free(&r);
}

/* Public without metrics_token; with one, only with it as a bearer token. */
static void metrics_token_checked(void)
{
	struct result r;

	send_req(&r, "GET", "/v1/metrics", NULL, NULL, NULL, END);
	CHECK_INT(r.status, 200);
	CHECK(strncmp(header(&r, "Content-Type"), "text/plain; version=0.0.4", 25) == 0);
	CHECK(strstr(r.body, "# TYPE aigw_http_requests_total counter\n") != NULL);
	result_free(&r);
	free(conf.metrics_token);
	conf.metrics_token = xstrdup("s3cret-metrics");
	send_req(&r, "GET", "/v1/metrics", NULL, NULL, NULL, END);
	check_error(&r, 401, "authentication_error");
	CHECK_STR(header(&r, "WWW-Authenticate"), "Bearer");
	result_free(&r);
	send_req(&r, "GET", "/v1/metrics", "Bearer s3cret-metric", NULL, NULL, END);
	CHECK_INT(r.status, 401);
	result_free(&r);
	send_req(&r, "GET", "/v1/metrics", "Bearer s3cret-metrics", NULL, NULL, END);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "aigw_metrics_host_wide") != NULL);
	result_free(&r);
	send_req(&r, "POST", "/v1/metrics", "Bearer s3cret-metrics", NULL, NULL, END);
	CHECK_INT(r.status, 405);
	result_free(&r);
	free(conf.metrics_token);
	conf.metrics_token = xstrdup("");
}

static void seed(const char *token, long long id, const char *app, enum key_role role);

/* A change to the key's app (a revoke on this process) drops its cached
 * keys at once: back to the (unreachable) database. */
static void cache_entry_dropped_with_its_app(void)
{
	char buf[128];
	struct result r;

	snprintf(buf, sizeof(buf), "Bearer %s", admin_token);
	seed(admin_token, 1, "app1", KEY_ROLE_ADMIN);
	send_req(&r, "GET", "/v1/app2/ai/config", buf, NULL, NULL, END);
	CHECK_INT(r.status, 403); /* cached: the key is app1's */
	result_free(&r);
	app_cache_invalidate(test_svc.cache, "app1");
	send_req(&r, "GET", "/v1/app2/ai/config", buf, NULL, NULL, END);
	CHECK_INT(r.status, 503);
	result_free(&r);
}

/* An entry lives auth_cache_ttl_s from its database answer, not longer. */
static void cache_entry_expires(void)
{
	unsigned char h[APIKEY_HASH_LEN] = {7};
	struct api_key k = {.id = 9, .role = KEY_ROLE_CLIENT, .app_id = "app3"}, got;
	struct timespec wait = {1, 100 * 1000000L};

	conf.auth_cache_ttl_s = 1;
	app_cache_key_put(test_svc.cache, h, &k);
	CHECK(app_cache_key_get(test_svc.cache, h, &got));
	CHECK_INT(got.id, 9);
	nanosleep(&wait, NULL);
	CHECK(!app_cache_key_get(test_svc.cache, h, &got));
	conf.auth_cache_ttl_s = 2;
}

static void seed(const char *token, long long id, const char *app, enum key_role role)
{
	unsigned char h[APIKEY_HASH_LEN];
	struct api_key k;

	memset(&k, 0, sizeof(k));
	k.id = id;
	k.role = role;
	snprintf(k.app_id, sizeof(k.app_id), "%s", app);
	apikey_hash(keyring_current(&test_kr), token, strlen(token), h);
	app_cache_key_put(test_svc.cache, h, &k);
}

int main(void)
{
	char err[AIGW_ERRLEN];

	check_program = "test_dispatch";
	if (sodium_init() < 0)
		return 1;
	conf_defaults(&conf);
	free(conf.db_socket);
	conf.db_socket = NULL;
	free(conf.db_host);
	conf.db_host = xstrdup("127.0.0.1");
	conf.db_port = 1; /* nothing listens there: the database is "down" */
	conf.auth_cache_ttl_s = 2;
	free(conf.upstream_url);
	conf.upstream_url = xstrdup("http://127.0.0.1:1"); /* the upstream is "down" too */
	if (keyring_parse(&test_kr, "1 " HEXA "\n2 " HEXB "\n", err) != AIGW_OK)
		return 1;
	ctx = thread_ctx_new(&conf, &test_kr, NULL);
	/* only the cache of the process's services: the seeded keys live in it */
	test_svc.cache = app_cache_new(&conf, NULL);
	ctx->svc = &test_svc;
	apikey_generate(admin_token);
	apikey_generate(client_token);
	apikey_generate(unknown_token);
	seed(admin_token, 1, "app1", KEY_ROLE_ADMIN);
	seed(client_token, 2, "app1", KEY_ROLE_CLIENT);

	RUN(not_found);
	RUN(bad_method);
	RUN(bad_app_id);
	RUN(preflight_no_auth);
	RUN(preflight_bad_request_headers_not_echoed);
	RUN(missing_auth_401_without_db);
	RUN(malformed_auth_401_without_db);
	RUN(unknown_token_fails_closed);
	RUN(unsupported_media_type_after_auth);
	RUN(other_app_and_role_403);
	RUN(put_validation_before_db);
	RUN(handlers_fail_closed);
	RUN(health_db_down);
	RUN(health_live_without_db);
	RUN(health_ready_down);
	RUN(metrics_token_checked);
	RUN(cache_entry_dropped_with_its_app);
	RUN(cache_entry_expires);

	thread_ctx_free(ctx);
	app_cache_free(test_svc.cache);
	keyring_free(&test_kr);
	conf_free(&conf);
	CHECK_DONE();
}
