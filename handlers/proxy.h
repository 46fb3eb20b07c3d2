/* The one path of a proxied request (chat, embeddings), run by proxy_run:
 *
 *   read the body (strict JSON)       -> endpoint check hook
 *   load the app's config, resolve and check the model, pick the key
 *                                      -> endpoint shape hook (token cap, bound)
 *   print the body sent upstream, reserve its worst-case cost (credits.h)
 *                                      -> endpoint exchange hook (upstream call,
 *                                         answer to the client)
 *   end the response, settle and write the usage row, release what is left
 *
 * An endpoint supplies only its hooks; what it learns about the answer goes
 * into the usage record through the proxy_note_* calls. */
#ifndef AIGW_PROXY_H
#define AIGW_PROXY_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "ai_config.h"
#include "app_cache.h"
#include "host_limits.h"
#include "reserve.h"
#include "request.h"
#include "response.h"
#include "upstream.h"
#include "usage.h"
#include "usage_journal.h"
#include "usage_parse.h"

struct thread_ctx;
struct proxy;

#define PROXY_MAX_FWD_HEADERS 6

/* One endpoint's part. Hooks answer the client themselves when they refuse
 * (and return false); state is the endpoint's own, given to proxy_run. */
struct proxy_endpoint {
	const char *name; /* the usage row's endpoint: "chat" | "embeddings" */
	const char *path; /* the upstream path, "/chat/completions" */
	/* The parsed body, before anything is loaded: its own fields' checks. */
	bool (*check)(void *state, cJSON *body, struct response *resp);
	/* After the model and key are chosen, before the body is printed:
	 * changes to the body and the completion tokens to reserve for. */
	bool (*shape)(void *state, struct thread_ctx *ctx, struct proxy *p, cJSON *body,
	              struct response *resp, long long *completion_bound);
	/* Whether the upstream is asked for a stream. */
	bool (*streams)(const void *state);
	/* Calls the upstream with rq and answers the client; the proxy's record
	 * is filled with proxy_note_*. Never answers after response_end. */
	void (*exchange)(void *state, struct thread_ctx *ctx, struct proxy *p,
	                 const struct upstream_request *rq, struct response *resp);
};

/* The request as the runner holds it. Endpoints read the fields marked so
 * and write only through the calls below. */
struct proxy {
	struct app_snapshot *app;             /* endpoints read: the app as cached
	                                         (its AI settings, its period) */
	char model[257];                      /* endpoints read: the model asked of the upstream */
	long long start_us;                   /* the request's start (its body read), for timings */
	long long call_start_us, call_end_us; /* around the upstream call; 0: not yet */

	char *byok_plain;                     /* BYOK key in clear (sodium memory), or NULL */
	const char *api_key;                  /* byok_plain or the platform key: borrowed */
	char *fwd[PROXY_MAX_FWD_HEADERS + 1]; /* "Name: value" lines, NULL-terminated */
	char *upstream_body;                  /* the body as printed for the upstream */
	struct reservation resv;              /* what credits_reserve holds; id 0: none */
	struct limits_ticket ticket;          /* the app's place in flight (host_limits.h) */
	struct usage_journal *journal;        /* the process's, or NULL (tools, tests) */
	struct journal_ticket jt;             /* this request's records in it */
	bool cut; /* endpoints read: the worker's drain ended and cut the call */

	/* The usage row, filled as the request goes. Endpoints may read its
	 * app_id and is_byok (the app's own key is used). */
	struct usage_record rec;
	/* For a price-table estimate when the upstream never said what it
	 * billed: bytes sent up, and bytes of answer relayed. */
	long long sent_bytes;
	long long answer_bytes;
	bool billable;    /* the upstream accepted the request (2xx) */
	bool no_estimate; /* an unusable answer: charge what the upstream reported, no more */
};

/* Runs one proxied request end to end (see the top of this file); answers
 * every outcome, records usage for every request that reached the upstream,
 * and leaves no reservation behind. */
void proxy_run(struct thread_ctx *ctx, struct request *req, struct response *resp,
               const struct proxy_endpoint *ep, void *state);

/* The endpoints' upstream call (upstream_call), timed so that every proxied
 * response carries x-aigw-overhead-ms: the time spent in aigw, outside the
 * upstream call, before its head was sent. */
aigw_rc proxy_call_upstream(struct thread_ctx *ctx, struct proxy *p,
                            const struct upstream_request *rq, const struct upstream_callbacks *cb,
                            void *arg, struct upstream_response *up, char *err);

/* ---- what endpoints tell the usage record ---- */

/* The upstream answered with these headers: generation id, and whether the
 * request is billable (a 2xx). */
void proxy_note_upstream(struct proxy *p, const struct upstream_response *up);
/* The model the upstream says it used (the first one seen is kept). */
void proxy_note_model_billed(struct proxy *p, const char *model);
/* The upstream's usage numbers and cost. */
void proxy_note_usage(struct proxy *p, const struct usage_numbers *u);
/* The status the client got (a stream: 200, or its closing error's code). */
void proxy_note_status(struct proxy *p, int status);
void proxy_note_streamed(struct proxy *p);
void proxy_note_aborted(struct proxy *p);
/* n bytes of answer relayed; the first content marks the time to first token. */
void proxy_note_answer(struct proxy *p, size_t n, bool content);
/* The 2xx answer could not be used: charge only what the upstream reported. */
void proxy_note_unusable_answer(struct proxy *p);

/* ---- answers shared by endpoints ---- */

/* Answers a non-2xx upstream JSON body in our error shape with its status;
 * except that an error of the platform's own upstream account (its key
 * refused, out of credits, rate-limited as a whole) is the operator's to fix
 * and not the tenant's business: 503 "temporarily unavailable", logged. A
 * BYOK request's errors always pass through: the tenant can fix those. */
void proxy_answer_upstream_error(struct response *resp, const struct proxy *p,
                                 const struct upstream_response *up, const char *body, size_t len);
/* Answers a call the worker's drain cut (p->cut): 503 with Retry-After. */
void proxy_answer_cut(struct response *resp);
/* The message of a stream's closing error event when the drain cut it. */
#define PROXY_CUT_MESSAGE                                                                          \
	"the gateway is restarting and this request outlasted its drain (drain_timeout_s); it "     \
	"was cut and is billed for what the upstream generated"
/* Answers a transport failure: 504 for timeouts, 502 otherwise. */
void proxy_answer_transport_error(struct response *resp, aigw_rc rc, const char *err);

#endif
