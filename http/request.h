/* A parsed HTTP request as handlers see it: no FastCGI types here, so the same
 * handler runs under the pool and in unit tests. Strings are owned by the
 * request (freed by request_free) and live for the whole request. */
#ifndef AIGW_REQUEST_H
#define AIGW_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

enum http_method {
	HTTP_OTHER = 0,
	HTTP_GET = 1 << 0,
	HTTP_POST = 1 << 1,
	HTTP_PUT = 1 << 2,
	HTTP_DELETE = 1 << 3,
	HTTP_OPTIONS = 1 << 4,
	HTTP_HEAD = 1 << 5
};

struct req_header {
	char *name; /* CGI-style: "HTTP_AUTHORIZATION", "CONTENT_TYPE" */
	char *value;
};

struct request {
	enum http_method method;
	char *method_name; /* as sent, e.g. "PATCH" */
	char *path;        /* decoded-safe path without query, e.g. "/v1/app1/ai/config" */
	char *query;       /* raw query string without '?', "" if none */
	char request_id[40];
	long long start_us; /* clock_us() when the body was in; 0 if unknown */

	struct req_header *headers; /* every CGI param; searched by request_param() */
	size_t nheaders;

	char *body; /* NUL-terminated, NULL if none */
	size_t body_len;

	/* filled by the router */
	char app_id[65];
	char *route_arg; /* percent-decoded tail, e.g. the model id; NULL if none */

	/* filled by authentication (handlers/auth.c) */
	long long key_id; /* api_keys.id of the bearer token, 0 if none */
	int key_role;     /* enum key_role */
	unsigned key_rpm; /* the key's requests per minute, 0: unlimited */

	/* What the request came to, for its access line and the metrics: the
	 * route's metrics name (set by dispatch; NULL: no route), the rest by
	 * the proxy path. Read by whoever runs the request, after dispatch. */
	struct request_outcome {
		const char *endpoint; /* static: "chat", "models", ...; NULL: other */
		char plan[17];        /* the app's plan; "": not known */
		char model[257];      /* the model asked of the upstream; "": none */
		long long prompt_tokens, completion_tokens;
		long long cost; /* money units (1e-10 USD); -1: not known */
		bool streamed;
	} outcome;
};

/* Returns a CGI param value ("HTTP_AUTHORIZATION", "CONTENT_TYPE", ...) or NULL. */
const char *request_param(const struct request *r, const char *name);
/* Adds a param (copied). For the FastCGI reader and tests. */
void request_add_param(struct request *r, const char *name, const char *value);
/* The method bit for a method name ("GET" -> HTTP_GET); HTTP_OTHER if unknown.
 * Method names are case-sensitive (RFC 9110). */
enum http_method http_method_parse(const char *name);
/* Sets method, method_name, path and query from the CGI params already added:
 * REQUEST_METHOD; the path of REQUEST_URI without its query (raw, still
 * percent-encoded), else SCRIPT_NAME + PATH_INFO; QUERY_STRING, else the part
 * of REQUEST_URI after '?'. Replaces (and frees) earlier values. */
void request_fill_from_params(struct request *r);
/* Makes a fresh random request id ("req_" + 24 hex chars) into r->request_id. */
void request_new_id(struct request *r);
/* Reads a query parameter (percent-decoded, '+' is a space) into out; returns
 * false if absent. A present value that is malformed (bad escape, %00) or
 * longer than outlen - 1 comes back as "" (so format checks reject it). */
bool request_query_get(const struct request *r, const char *name, char *out, size_t outlen);
/* Percent-decodes src[0..len) into out (outlen bytes with the NUL); with
 * plus_is_space a '+' is a space (query strings). False on a bad escape, a
 * NUL (escaped or raw), or when it does not fit. */
bool percent_decode(const char *src, size_t len, bool plus_is_space, char *out, size_t outlen);
/* True if the Content-Type is application/json or application/...+json
 * (case-insensitive, parameters such as "; charset=utf-8" allowed). */
bool request_is_json(const struct request *r);
void request_free(struct request *r);

#endif
