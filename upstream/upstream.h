/* The upstream client: the only place that uses libcurl. One `struct
 * upstream` per thread keeps a multi handle (its connection pool keeps
 * HTTP keep-alive connections to the upstream across requests) and one easy
 * handle; the DNS cache and TLS sessions are shared by the whole process, so
 * a new thread's first connection resumes a TLS session. A call streams the answer to callbacks as bytes arrive and
 * ticks the caller every tenth of a second, so the caller can send heartbeats
 * and notice a client that went away; any callback can abort the transfer,
 * which closes the upstream connection at once. */
#ifndef AIGW_UPSTREAM_H
#define AIGW_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct aigw_conf;
struct upstream;

struct upstream_request {
	const char *method;  /* "GET" or "POST" */
	const char *path;    /* appended to conf upstream_url, e.g. "/chat/completions" */
	const char *api_key; /* bearer key (secret); NULL or "" sends none */
	const char *body;    /* POST body, JSON */
	size_t body_len;
	const char *const *headers; /* extra "Name: value" lines, NULL-terminated; may be NULL */
	bool stream;                /* asks text/event-stream */
};

struct upstream_response {
	long status;             /* HTTP status, 0 before headers */
	char generation_id[128]; /* X-Generation-Id, "" if none */
	char retry_after[32];    /* Retry-After, "" if none */
	char content_type[128];
	bool headers_done;
	long long first_byte_us; /* from the call's start to the first header byte */
};

struct upstream_callbacks {
	/* Headers of the final response are in; return non-zero to abort. */
	int (*on_headers)(void *arg, const struct upstream_response *res);
	/* Body bytes, as they arrive; return non-zero to abort. */
	int (*on_data)(void *arg, const char *bytes, size_t n);
	/* Every tenth of a second or so while waiting; idle_ms is the time since
	 * the last byte from the upstream. Return non-zero to abort. May be NULL. */
	int (*on_tick)(void *arg, long long idle_ms);
};

/* conf is borrowed and must outlive the upstream. */
struct upstream *upstream_new(const struct aigw_conf *conf);
void upstream_free(struct upstream *u);

/* Runs one request. Returns AIGW_OK when the upstream answered completely
 * (whatever its status, in res->status), AIGW_EGONE when a callback aborted,
 * AIGW_ETIMEOUT on the connect / first byte / idle timeouts of the conf,
 * AIGW_EUPSTREAM when the upstream could not be reached or cut the answer. */
aigw_rc upstream_call(struct upstream *u, const struct upstream_request *rq,
                      const struct upstream_callbacks *cb, void *arg, struct upstream_response *res,
                      char *err);

#endif
