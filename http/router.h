/* Route table on method + path. Paths are matched under the /v1 mount:
 * "/v1/health", "/v1/{app_id}/chat/completions", "/v1/{app_id}/models/{model}"
 * ({model} takes the rest of the path, percent-decoded, slashes allowed). */
#ifndef AIGW_ROUTER_H
#define AIGW_ROUTER_H

#include "request.h"
#include "response.h"

struct thread_ctx;

typedef void (*handler_fn)(struct thread_ctx *ctx, struct request *req, struct response *resp);

enum route_auth { ROUTE_PUBLIC = 0, ROUTE_CLIENT, ROUTE_ADMIN };

struct route {
	unsigned methods;     /* mask of enum http_method */
	const char *pattern;  /* "/health", "/{app}/ai/config", "/{app}/models/{rest}" */
	enum route_auth auth; /* minimum role */
	bool needs_json_body; /* 415 unless Content-Type is JSON */
	handler_fn handler;
	const char *metric; /* the endpoint's name in metrics and logs */
};

enum route_result {
	ROUTE_FOUND = 0,
	ROUTE_NOT_FOUND,  /* 404 */
	ROUTE_BAD_METHOD, /* 405; *allowed gets the mask for the Allow header */
	ROUTE_BAD_APP_ID  /* 400: the {app} segment is not [A-Za-z0-9_-]{1,64} */
};

/* Matches req->method and req->path against table[0..n). On ROUTE_FOUND sets
 * *out, req->app_id and req->route_arg (owned by req). On ROUTE_BAD_METHOD sets
 * *allowed. OPTIONS matches any route whose path matches. *allowed (may be
 * NULL) gets the methods of every route matching the path, plus OPTIONS, also
 * on ROUTE_FOUND and ROUTE_BAD_APP_ID (for preflight Allow-Methods); 0 when no
 * path matches. A wrong method is reported before a bad app id. */
enum route_result router_match(const struct route *table, size_t n, struct request *req,
                               const struct route **out, unsigned *allowed);
/* Writes "GET, PUT, OPTIONS" for a method mask into out. */
void router_allow_header(unsigned methods, char *out, size_t outlen);
/* Percent-decodes src into a new string; returns NULL on a bad escape or %00.
 * Caller frees. */
char *router_percent_decode(const char *src, size_t len);

#endif
