/* What chat and embeddings share on their way to the upstream: loading the
 * app's AI config, resolving and checking the model, choosing the upstream
 * key (BYOK or platform), forwarding attribution headers, answering upstream
 * errors in our shape, and recording usage, which also settles the credit
 * reservation (credits.h) made before the upstream call. */
#ifndef AIGW_PROXY_H
#define AIGW_PROXY_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "ai_config.h"
#include "credits.h"
#include "request.h"
#include "response.h"
#include "upstream.h"
#include "usage.h"
#include "usage_parse.h"

struct thread_ctx;

#define PROXY_MAX_FWD_HEADERS 6

struct proxy {
	struct ai_config cfg;
	char model[257];                      /* the model asked of the upstream */
	char *byok_plain;                     /* BYOK key in clear (sodium memory), or NULL */
	const char *api_key;                  /* byok_plain or the platform key: borrowed */
	char *fwd[PROXY_MAX_FWD_HEADERS + 1]; /* "Name: value" lines, NULL-terminated */
	long long start_us;
	struct usage_record rec; /* filled as the request goes */
	/* For a price-table estimate when the upstream never said what it
	 * billed: bytes sent up, and bytes of answer relayed. */
	long long sent_bytes;
	long long answer_bytes;
	bool billable;       /* the upstream accepted the request (2xx) */
	bool no_estimate;    /* unusable answer: charge what the upstream reported, no more */
	char *upstream_body; /* the serialized request sent upstream */
	/* Credits (credits_reserve): the reservation of a metered request,
	 * settled by proxy_record, else released by proxy_end. */
	struct db *db; /* this thread's connection (borrowed) */
	struct reservation resv;
	bool reserved; /* resv is neither settled nor released yet */
};

/* Parses req->body as a JSON object into *body (caller cJSON_Deletes).
 * On failure answers 400 and returns false. */
bool proxy_parse_body(struct request *req, struct response *resp, cJSON **body);

/* Loads the config, resolves `model` in body (filling it from defaultModel,
 * then the operator default), checks allowedModels and picks the key. On
 * failure answers (400/403/500/503) and returns false; proxy_end() is still
 * to be called. */
bool proxy_begin(struct thread_ctx *ctx, struct request *req, struct response *resp, cJSON *body,
                 const char *endpoint, struct proxy *p);

/* Serializes body for the upstream, reserves the request's worst-case cost
 * (credits_reserve: the serialized length bounds the prompt, plus
 * completion_bound tokens) and fills *rq to POST it to path with p's key and
 * forwarded headers. On failure answers (500/402/503) and returns false.
 * The body text is p's (freed by proxy_end). */
bool proxy_prepare_call(struct thread_ctx *ctx, struct response *resp, struct proxy *p,
                        const cJSON *body, const char *path, long long completion_bound,
                        bool stream, struct upstream_request *rq);

/* Answers a non-2xx upstream JSON body in our error shape with its status;
 * except that an error of the platform's own upstream account (its key
 * refused, out of credits, rate-limited as a whole) is the operator's to fix
 * and not the tenant's business: 503 "temporarily unavailable", logged. A
 * BYOK request's errors always pass through: the tenant can fix those. */
void proxy_answer_upstream_error(struct response *resp, const struct proxy *p,
                                 const struct upstream_response *up, const char *body, size_t len);
/* Answers a transport failure: 504 for timeouts, 502 otherwise. */
void proxy_answer_transport_error(struct response *resp, aigw_rc rc, const char *err);

/* Copies the upstream's usage numbers into the record. */
void proxy_take_usage(struct proxy *p, const struct usage_numbers *u);

/* Settles a request whose answer carried no cost (the generation record,
 * with retries), then writes the usage row, which in the same transaction
 * settles p's credit reservation (rec.reservation_id) and adds the cost to
 * its billing period (rec.period_id). Logs failures; never answers. */
void proxy_record(struct thread_ctx *ctx, struct proxy *p);

/* Releases a credit reservation that proxy_record never settled (the
 * request was refused or failed before the upstream call), then wipes and
 * frees everything p holds. */
void proxy_end(struct proxy *p);

#endif
