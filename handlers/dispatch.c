/* The route table and the checks every request passes, in this order:
 * route (404/405/400 app id) -> CORS preflight (no auth) ->
 * bearer auth (401/503) -> key's app (403) -> role (403) -> JSON body (415)
 * -> the endpoint's handler. The 413 body limit is enforced by fcgi/server.c
 * before this runs. */
#include "config.h"

#include "dispatch.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "api_keys.h"
#include "auth.h"
#include "context.h"
#include "endpoints.h"
#include "metrics.h"
#include "router.h"
#include "utf8.h"

static const struct route routes[] = {
        {HTTP_GET, "/health", ROUTE_PUBLIC, false, handle_health, "health"},
        {HTTP_GET, "/health/live", ROUTE_PUBLIC, false, handle_health_live, "health"},
        {HTTP_GET, "/health/ready", ROUTE_PUBLIC, false, handle_health_ready, "health"},
        /* public, or the operator's metrics_token (checked by the handler) */
        {HTTP_GET, "/metrics", ROUTE_PUBLIC, false, handle_metrics, "metrics"},
        {HTTP_GET, "/{app}/ai/config", ROUTE_ADMIN, false, handle_ai_config_get, "config"},
        {HTTP_PUT, "/{app}/ai/config", ROUTE_ADMIN, true, handle_ai_config_put, "config"},
        {HTTP_GET, "/{app}/ai/usage", ROUTE_ADMIN, false, handle_ai_usage, "usage"},
        {HTTP_POST, "/{app}/chat/completions", ROUTE_CLIENT, true, handle_chat_completions,
         "chat"},
        {HTTP_POST, "/{app}/embeddings", ROUTE_CLIENT, true, handle_embeddings, "embeddings"},
        {HTTP_GET, "/{app}/models", ROUTE_CLIENT, false, handle_models_list, "models"},
        {HTTP_GET, "/{app}/models/{rest}", ROUTE_CLIENT, false, handle_models_get, "models"},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

#define CORS_ALLOW_HEADERS                                                                         \
	"Authorization, Content-Type, Accept, X-Stainless-*, HTTP-Referer, X-Title, "              \
	"X-OpenRouter-Title, X-OpenRouter-Categories"
#define REQUEST_HEADERS_MAX 1024

/* Access-Control-Request-Headers is echoed only if it looks like a header
 * list: it goes back into a response header. */
static bool header_list_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > REQUEST_HEADERS_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && !strchr("-_*, ", c))
			return false;
	}
	return true;
}

/* methods: every method of the routes on this path (from router_match). */
static void preflight(unsigned methods, struct request *req, struct response *resp)
{
	char allow[64];
	char headers[sizeof(CORS_ALLOW_HEADERS) + 2 + REQUEST_HEADERS_MAX];
	const char *asked = request_param(req, "HTTP_ACCESS_CONTROL_REQUEST_HEADERS");

	router_allow_header(methods | HTTP_OPTIONS, allow, sizeof(allow));
	if (asked && header_list_ok(asked))
		snprintf(headers, sizeof(headers), "%s, %s", CORS_ALLOW_HEADERS, asked);
	else
		snprintf(headers, sizeof(headers), "%s", CORS_ALLOW_HEADERS);
	response_header(resp, "Access-Control-Allow-Methods", allow);
	response_header(resp, "Access-Control-Allow-Headers", headers);
	response_header(resp, "Access-Control-Max-Age", "600");
	resp->status = 204;
	response_finish(resp);
}

/* Returns true when the request may go on to the handler. */
static bool authorize(struct thread_ctx *ctx, const struct route *r, struct request *req,
                      struct response *resp)
{
	char key_app[65];

	if (r->auth == ROUTE_PUBLIC)
		return true;
	switch (auth_check(ctx, req, key_app)) {
	case AUTH_OK:
		break;
	case AUTH_MISSING:
		response_header(resp, "WWW-Authenticate", "Bearer");
		response_error(resp, 401, NULL, NULL, "missing Authorization header");
		return false;
	case AUTH_MALFORMED:
		response_header(resp, "WWW-Authenticate", "Bearer");
		response_error(resp, 401, NULL, NULL,
		               "malformed Authorization header (expected 'Bearer aigw_...')");
		return false;
	case AUTH_UNKNOWN:
		response_header(resp, "WWW-Authenticate", "Bearer");
		response_error(resp, 401, NULL, NULL, "invalid or revoked API key");
		return false;
	case AUTH_DB_DOWN:
	default:
		metrics_db_error();
		response_error(resp, 503, NULL, NULL, "database unavailable");
		return false;
	}
	if (strcmp(key_app, req->app_id) != 0) {
		response_error(resp, 403, NULL, NULL, "this key belongs to another app");
		return false;
	}
	if (r->auth == ROUTE_ADMIN && req->key_role != KEY_ROLE_ADMIN) {
		response_error(resp, 403, NULL, NULL, "this endpoint needs an admin key");
		return false;
	}
	return true;
}

/* Whether path is an OpenAI API path right under /v1, as a client whose
 * base URL lacks the app id sends it ("/v1/chat/completions"). */
static bool openai_path_without_app(const char *path)
{
	static const char *const paths[] = {"/v1/chat/completions", "/v1/embeddings",
	                                    "/v1/models",           "/v1/completions",
	                                    "/v1/responses",        "/v1/moderations"};

	if (!path)
		return false;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		size_t n = strlen(paths[i]);
		if (strncmp(path, paths[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
			return true;
	}
	return false;
}

void dispatch(struct thread_ctx *ctx, struct request *req, struct response *resp)
{
	const struct route *r = NULL;
	unsigned allowed = 0;
	char allow[64];

	switch (router_match(routes, NROUTES, req, &r, &allowed)) {
	case ROUTE_FOUND:
		req->outcome.endpoint = r->metric;
		break;
	case ROUTE_BAD_METHOD:
		router_allow_header(allowed | HTTP_OPTIONS, allow, sizeof(allow));
		response_header(resp, "Allow", allow);
		response_error(resp, 405, NULL, NULL,
		               "method %.16s is not allowed here (allowed: %s)",
		               req->method_name ? req->method_name : "?", allow);
		goto out;
	case ROUTE_BAD_APP_ID:
		response_error(resp, 400, NULL, "app_id", "app id must match [A-Za-z0-9_-]{1,64}");
		goto out;
	case ROUTE_NOT_FOUND:
	default:
		if (openai_path_without_app(req->path))
			response_error(resp, 404, NULL, NULL,
			               "no such endpoint: %.64s has no app id. aigw's base URL names "
			               "the app: https://<host>/v1/<app_id> (OpenAI SDKs: baseURL "
			               "\"https://<host>/v1/<app_id>\"), so this request goes to "
			               "/v1/<app_id>%.48s",
			               req->path, req->path + 3);
		else
			response_error(resp, 404, NULL, NULL, "no such endpoint");
		goto out;
	}
	if (req->method == HTTP_OPTIONS) {
		preflight(allowed, req, resp);
		goto out;
	}
	if (!authorize(ctx, r, req, resp))
		goto out;
	if (r->needs_json_body && !request_is_json(req)) {
		response_error(resp, 415, NULL, NULL, "Content-Type must be application/json");
		goto out;
	}
	if (r->needs_json_body && req->body && !utf8_valid(req->body, req->body_len)) {
		response_error(resp, 400, NULL, NULL, "the request body is not valid UTF-8");
		goto out;
	}
	r->handler(ctx, req, resp);
out:
	/* whatever happened, a body (maybe holding a BYOK key) is not kept */
	if (req->body)
		sodium_memzero(req->body, req->body_len);
}
