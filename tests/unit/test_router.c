/* Unit tests for http/router.c: every route of the table, 404, 405 with
 * the Allow text, app id validation, percent-decoded model ids, OPTIONS. */
#include "config.h"

#include "router.h"

#include "check.h"

static void h_health(struct thread_ctx *c, struct request *q, struct response *r)
{
	(void)c, (void)q, (void)r;
}
static void h_config(struct thread_ctx *c, struct request *q, struct response *r)
{
	(void)c, (void)q, (void)r;
}
static void h_usage(struct thread_ctx *c, struct request *q, struct response *r)
{
	(void)c, (void)q, (void)r;
}
static void h_chat(struct thread_ctx *c, struct request *q, struct response *r)
{
	(void)c, (void)q, (void)r;
}
static void h_embeddings(struct thread_ctx *c, struct request *q, struct response *r)
{
	(void)c, (void)q, (void)r;
}
static void h_models(struct thread_ctx *c, struct request *q, struct response *r)
{
	(void)c, (void)q, (void)r;
}
static void h_model(struct thread_ctx *c, struct request *q, struct response *r)
{
	(void)c, (void)q, (void)r;
}

static const struct route table[] = {
        {HTTP_GET, "/health", ROUTE_PUBLIC, false, h_health, NULL},
        {HTTP_GET | HTTP_PUT, "/{app}/ai/config", ROUTE_ADMIN, true, h_config, NULL},
        {HTTP_GET, "/{app}/ai/usage", ROUTE_ADMIN, false, h_usage, NULL},
        {HTTP_POST, "/{app}/chat/completions", ROUTE_CLIENT, true, h_chat, NULL},
        {HTTP_POST, "/{app}/embeddings", ROUTE_CLIENT, true, h_embeddings, NULL},
        {HTTP_GET, "/{app}/models", ROUTE_CLIENT, false, h_models, NULL},
        {HTTP_GET, "/{app}/models/{rest}", ROUTE_CLIENT, false, h_model, NULL},
};
#define NROUTES (sizeof(table) / sizeof(table[0]))

struct result {
	enum route_result rr;
	const struct route *route;
	unsigned allowed;
	char app_id[65];
	char arg[256];
};

static struct result match(enum http_method m, const char *path)
{
	struct request req = {0};
	struct result res = {0};

	req.method = m;
	req.path = (char *)path;
	res.rr = router_match(table, NROUTES, &req, &res.route, &res.allowed);
	memcpy(res.app_id, req.app_id, sizeof(res.app_id));
	if (req.route_arg != NULL)
		snprintf(res.arg, sizeof(res.arg), "%s", req.route_arg);
	free(req.route_arg);
	return res;
}

static void every_route_matches(void)
{
	struct result r;

	r = match(HTTP_GET, "/v1/health");
	CHECK_INT(r.rr, ROUTE_FOUND);
	CHECK(r.route && r.route->handler == h_health);
	CHECK_STR(r.app_id, "");

	r = match(HTTP_GET, "/v1/demo/ai/config");
	CHECK_INT(r.rr, ROUTE_FOUND);
	CHECK(r.route && r.route->handler == h_config);
	CHECK_STR(r.app_id, "demo");

	r = match(HTTP_PUT, "/v1/app_1-X/ai/config");
	CHECK_INT(r.rr, ROUTE_FOUND);
	CHECK(r.route && r.route->handler == h_config);
	CHECK_STR(r.app_id, "app_1-X");

	r = match(HTTP_GET, "/v1/demo/ai/usage");
	CHECK(r.rr == ROUTE_FOUND && r.route->handler == h_usage);

	r = match(HTTP_POST, "/v1/demo/chat/completions");
	CHECK(r.rr == ROUTE_FOUND && r.route->handler == h_chat);
	CHECK(r.route->needs_json_body);
	CHECK_INT(r.route->auth, ROUTE_CLIENT);

	r = match(HTTP_POST, "/v1/demo/embeddings");
	CHECK(r.rr == ROUTE_FOUND && r.route->handler == h_embeddings);

	r = match(HTTP_GET, "/v1/demo/models");
	CHECK(r.rr == ROUTE_FOUND && r.route->handler == h_models);
	CHECK_STR(r.arg, "");

	r = match(HTTP_GET, "/v1/demo/models/gpt-4o");
	CHECK(r.rr == ROUTE_FOUND && r.route->handler == h_model);
	CHECK_STR(r.arg, "gpt-4o");
}

static void unknown_paths_are_not_found(void)
{
	static const char *const paths[] = {
	        "/",
	        "",
	        "/v1",
	        "/v1/",
	        "/v2/health",
	        "/v1health",
	        "/v10/health",
	        "/v1/healthz",
	        "/v1/health/",
	        "/V1/health",
	        "/v1/demo",
	        "/v1/demo/",
	        "/v1/demo/ai",
	        "/v1/demo/ai/config/",
	        "/v1/demo/ai/config/extra",
	        "/v1/demo/unknown",
	        "/v1/demo/models/",
	        "/v1/demo/chat/completions/x",
	        "/v1//health",
	        "/v1/demo/../demo/ai/config",
	};
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct result r = match(HTTP_GET, paths[i]);

		if (r.rr != ROUTE_NOT_FOUND)
			fprintf(stderr, "  path %s\n", paths[i]);
		CHECK_INT(r.rr, ROUTE_NOT_FOUND);
		CHECK(r.route == NULL);
	}
}

static void wrong_method_gives_allow_mask(void)
{
	struct result r;
	char allow[64];

	r = match(HTTP_DELETE, "/v1/demo/ai/config");
	CHECK_INT(r.rr, ROUTE_BAD_METHOD);
	CHECK_INT(r.allowed, HTTP_GET | HTTP_PUT | HTTP_OPTIONS);
	router_allow_header(r.allowed, allow, sizeof(allow));
	CHECK_STR(allow, "GET, PUT, OPTIONS");

	r = match(HTTP_POST, "/v1/health");
	CHECK_INT(r.rr, ROUTE_BAD_METHOD);
	router_allow_header(r.allowed, allow, sizeof(allow));
	CHECK_STR(allow, "GET, OPTIONS");

	r = match(HTTP_GET, "/v1/demo/chat/completions");
	CHECK_INT(r.rr, ROUTE_BAD_METHOD);
	router_allow_header(r.allowed, allow, sizeof(allow));
	CHECK_STR(allow, "POST, OPTIONS");

	r = match(HTTP_OTHER, "/v1/demo/models"); /* e.g. PATCH */
	CHECK_INT(r.rr, ROUTE_BAD_METHOD);
	router_allow_header(r.allowed, allow, sizeof(allow));
	CHECK_STR(allow, "GET, OPTIONS");

	r = match(HTTP_HEAD, "/v1/demo/ai/usage");
	CHECK_INT(r.rr, ROUTE_BAD_METHOD);
}

static void allow_header_text(void)
{
	char out[64];
	char tiny[8];

	router_allow_header(HTTP_OPTIONS | HTTP_PUT | HTTP_GET | HTTP_POST | HTTP_DELETE |
	                            HTTP_HEAD,
	                    out, sizeof(out));
	CHECK_STR(out, "GET, HEAD, POST, PUT, DELETE, OPTIONS");
	router_allow_header(0, out, sizeof(out));
	CHECK_STR(out, "");
	router_allow_header(HTTP_GET | HTTP_PUT | HTTP_OPTIONS, tiny, sizeof(tiny));
	CHECK_STR(tiny, "GET"); /* truncated at a whole name, never mid-word */
}

static void bad_app_ids_are_rejected(void)
{
	static const char *const paths[] = {
	        "/v1/a'b/ai/config",
	        "/v1/x;DROP%20TABLE%20apps/ai/config",
	        "/v1/1%20OR%201=1/ai/config",
	        "/v1/app%2fx/ai/config",
	        "/v1/%61pp/ai/config",
	        "/v1/a.b/ai/config",
	        "/v1//ai/config",
	        "/v1/0123456789012345678901234567890123456789012345678901234567890123"
	        "4/ai/config",
	};
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct result r = match(HTTP_GET, paths[i]);

		if (r.rr != ROUTE_BAD_APP_ID)
			fprintf(stderr, "  path %s\n", paths[i]);
		CHECK_INT(r.rr, ROUTE_BAD_APP_ID);
		CHECK(r.route == NULL);
	}
}

static void app_id_of_64_chars_is_fine(void)
{
	struct result r = match(HTTP_GET, "/v1/01234567890123456789012345678901234567890123"
	                                  "45678901234567890123/ai/config");

	CHECK_INT(r.rr, ROUTE_FOUND);
	CHECK_INT(strlen(r.app_id), 64);
}

static void model_id_percent_decoded_or_raw(void)
{
	struct result r;

	r = match(HTTP_GET, "/v1/demo/models/openai%2Fgpt-4o");
	CHECK_INT(r.rr, ROUTE_FOUND);
	CHECK_STR(r.arg, "openai/gpt-4o");

	r = match(HTTP_GET, "/v1/demo/models/openai%2fgpt-4o");
	CHECK_STR(r.arg, "openai/gpt-4o");

	r = match(HTTP_GET, "/v1/demo/models/openai/gpt-4o");
	CHECK_INT(r.rr, ROUTE_FOUND);
	CHECK_STR(r.arg, "openai/gpt-4o");

	r = match(HTTP_GET, "/v1/demo/models/meta-llama/llama-3.1-8b-instruct:free");
	CHECK_STR(r.arg, "meta-llama/llama-3.1-8b-instruct:free");

	r = match(HTTP_GET, "/v1/demo/models/a+b%20c");
	CHECK_STR(r.arg, "a+b c"); /* '+' is literal in a path */

	r = match(HTTP_GET, "/v1/demo/models/x%00y");
	CHECK_INT(r.rr, ROUTE_NOT_FOUND);
	r = match(HTTP_GET, "/v1/demo/models/x%zz");
	CHECK_INT(r.rr, ROUTE_NOT_FOUND);
	r = match(HTTP_GET, "/v1/demo/models/x%2");
	CHECK_INT(r.rr, ROUTE_NOT_FOUND);
	r = match(HTTP_GET, "/v1/demo/models/%");
	CHECK_INT(r.rr, ROUTE_NOT_FOUND);
}

static void percent_decode_function(void)
{
	char *s;

	s = router_percent_decode("a%41%2f%7E", 10);
	CHECK_STR(s, "aA/~");
	free(s);
	s = router_percent_decode("abc", 2); /* length-bounded */
	CHECK_STR(s, "ab");
	free(s);
	CHECK(router_percent_decode("%00", 3) == NULL);
	CHECK(router_percent_decode("%G1", 3) == NULL);
	CHECK(router_percent_decode("%4", 2) == NULL);
	CHECK(router_percent_decode("%41", 2) == NULL); /* escape cut by the length */
}

static void options_matches_any_routed_path(void)
{
	struct result r;

	r = match(HTTP_OPTIONS, "/v1/demo/ai/config");
	CHECK_INT(r.rr, ROUTE_FOUND);
	CHECK(r.route && r.route->handler == h_config);
	CHECK_INT(r.allowed, HTTP_GET | HTTP_PUT | HTTP_OPTIONS);
	CHECK_STR(r.app_id, "demo");

	r = match(HTTP_OPTIONS, "/v1/demo/chat/completions");
	CHECK_INT(r.rr, ROUTE_FOUND);
	CHECK_INT(r.allowed, HTTP_POST | HTTP_OPTIONS);

	r = match(HTTP_OPTIONS, "/v1/health");
	CHECK_INT(r.rr, ROUTE_FOUND);

	r = match(HTTP_OPTIONS, "/v1/demo/nothing");
	CHECK_INT(r.rr, ROUTE_NOT_FOUND);

	r = match(HTTP_OPTIONS, "/v1/bad'id/ai/config");
	CHECK_INT(r.rr, ROUTE_BAD_APP_ID);
}

static void query_string_is_ignored(void)
{
	struct request req = {0};
	const struct route *route;
	unsigned allowed;

	request_add_param(&req, "REQUEST_METHOD", "GET");
	request_add_param(&req, "REQUEST_URI", "/v1/demo/ai/usage?startDate=2026-01-01&x=/y");
	request_add_param(&req, "QUERY_STRING", "startDate=2026-01-01&x=/y");
	request_fill_from_params(&req);
	CHECK_STR(req.path, "/v1/demo/ai/usage");
	CHECK_INT(router_match(table, NROUTES, &req, &route, &allowed), ROUTE_FOUND);
	CHECK(route && route->handler == h_usage);
	request_free(&req);
}

static void rematch_replaces_route_arg(void)
{
	struct request req = {0};
	const struct route *route;

	req.method = HTTP_GET;
	req.path = strdup("/v1/demo/models/a");
	CHECK_INT(router_match(table, NROUTES, &req, &route, NULL), ROUTE_FOUND);
	CHECK_INT(router_match(table, NROUTES, &req, &route, NULL), ROUTE_FOUND);
	CHECK_STR(req.route_arg, "a");
	request_free(&req);
}

int main(void)
{
	check_program = "test_router";
	RUN(every_route_matches);
	RUN(unknown_paths_are_not_found);
	RUN(wrong_method_gives_allow_mask);
	RUN(allow_header_text);
	RUN(bad_app_ids_are_rejected);
	RUN(app_id_of_64_chars_is_fine);
	RUN(model_id_percent_decoded_or_raw);
	RUN(percent_decode_function);
	RUN(options_matches_any_routed_path);
	RUN(query_string_is_ignored);
	RUN(rematch_replaces_route_arg);
	CHECK_DONE();
}
