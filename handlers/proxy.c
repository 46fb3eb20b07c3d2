/* The path of proxied requests (see proxy.h): body, config, model, key,
 * attribution headers, the reservation, the endpoint's exchange, upstream
 * error shapes, settlement and the usage row. */
#include "config.h"

#include "proxy.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "alloc.h"
#include "byok.h"
#include "clock.h"
#include "conffile.h"
#include "context.h"
#include "reserve.h"
#include "log.h"
#include "metrics.h"
#include "services.h"
#include "settle.h"
#include "usage_writer.h"
#include "models.h"
#include "store_failure.h"
#include "strict_json.h"

#define MODEL_MAX 256
/* The platform's upstream key refused or out of credits: the operator must
 * act, which takes minutes, not a second. */
#define PLATFORM_RETRY_AFTER_S "60"
#define FWD_VALUE_MAX 512

/* Reads req->body as a JSON object into *body (caller cJSON_Deletes); on
 * failure answers 400 and returns false. */
static bool parse_body(struct request *req, struct response *resp, cJSON **body)
{
	struct strict_json_error e;

	*body = NULL;
	if (!req->body || req->body_len == 0) {
		response_error(resp, 400, NULL, NULL, "a JSON request body is required");
		return false;
	}
	if (strict_json_parse(req->body, req->body_len, body, &e) != AIGW_OK) {
		response_error(resp, 400, NULL, e.param[0] ? e.param : NULL, "%s", e.message);
		return false;
	}
	if (!cJSON_IsObject(*body)) {
		cJSON_Delete(*body);
		*body = NULL;
		response_error(resp, 400, NULL, NULL, "the request body must be a JSON object");
		return false;
	}
	return true;
}

/* The attribution headers OpenRouter reads, forwarded as the client sent them. */
static const struct {
	const char *param;
	const char *name;
} fwd_headers[PROXY_MAX_FWD_HEADERS] = {
        {"HTTP_HTTP_REFERER", "HTTP-Referer"},
        {"HTTP_X_TITLE", "X-Title"},
        {"HTTP_X_OPENROUTER_TITLE", "X-OpenRouter-Title"},
        {"HTTP_X_OPENROUTER_CATEGORIES", "X-OpenRouter-Categories"},
};

static void collect_forwarded(const struct request *req, struct proxy *p)
{
	size_t n = 0;

	for (size_t i = 0; i < PROXY_MAX_FWD_HEADERS && fwd_headers[i].param; i++) {
		const char *v = request_param(req, fwd_headers[i].param);
		if (!v || !v[0] || strlen(v) > FWD_VALUE_MAX || strpbrk(v, "\r\n"))
			continue;
		size_t len = strlen(fwd_headers[i].name) + 2 + strlen(v) + 1;
		p->fwd[n] = xmalloc(len);
		snprintf(p->fwd[n], len, "%s: %s", fwd_headers[i].name, v);
		n++;
	}
	p->fwd[n] = NULL;
}

static bool model_allowed(const struct ai_config *cfg, const char *model)
{
	if (cfg->n_allowed == 0)
		return true;
	for (size_t i = 0; i < cfg->n_allowed; i++)
		if (strcmp(cfg->allowed_models[i], model) == 0)
			return true;
	return false;
}

/* Fills body.model when absent and checks it; answers on failure. */
static bool resolve_model(struct thread_ctx *ctx, cJSON *body, struct response *resp,
                          struct proxy *p)
{
	cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "model");
	const char *model;

	if (m && !cJSON_IsNull(m) && !cJSON_IsString(m)) {
		response_error(resp, 400, NULL, "model", "model must be a string");
		return false;
	}
	if (cJSON_IsString(m)) {
		model = m->valuestring;
	} else {
		model = p->app->cfg.default_model ? p->app->cfg.default_model
		                                  : ctx->conf->default_model;
		cJSON_DeleteItemFromObjectCaseSensitive(body, "model");
		cJSON_AddStringToObject(body, "model", model);
	}
	if (!model[0] || strlen(model) > MODEL_MAX) {
		response_error(resp, 400, NULL, "model", "model must be 1 to %d bytes", MODEL_MAX);
		return false;
	}
	if (!model_allowed(&p->app->cfg, model)) {
		response_error(resp, 403, NULL, "model",
		               "model '%s' is not in this app's allowedModels", model);
		return false;
	}
	snprintf(p->model, sizeof(p->model), "%s", model);
	snprintf(p->rec.model_requested, sizeof(p->rec.model_requested), "%s", model);
	return true;
}

static bool choose_key(struct thread_ctx *ctx, const char *app_id, struct response *resp,
                       struct proxy *p)
{
	char err[AIGW_ERRLEN];
	size_t len = 0;

	if (p->app->cfg.byok_sealed) {
		aigw_rc rc = byok_open(ctx->keyring, p->app->cfg.byok_key_id, app_id,
		                       p->app->cfg.byok_sealed, p->app->cfg.byok_sealed_len,
		                       &p->byok_plain, &len, err);
		if (rc != AIGW_OK) {
			log_error("proxy: cannot open the BYOK key of app %s: %s", app_id, err);
			response_error(resp, 500, NULL, NULL,
			               "the app's BYOK key cannot be decrypted; set it again");
			return false;
		}
		p->api_key = p->byok_plain;
		p->rec.is_byok = true;
		return true;
	}
	if (!ctx->conf->upstream_key || !ctx->conf->upstream_key[0]) {
		log_error("proxy: no upstream_key configured and app %s has no BYOK key", app_id);
		response_error(resp, 503, NULL, NULL,
		               "no upstream key is configured for this gateway");
		return false;
	}
	p->api_key = ctx->conf->upstream_key;
	return true;
}

/* x-aigw-credits-remaining: what is left of a free or pro app's allowance
 * in USD, as the process last read it (its cache refreshes the periods'
 * spend about once a second; in-flight reservations are not subtracted, as
 * in GET /ai/usage's credits.remaining). None for an unlimited plan. */
static void credits_header(const struct proxy *p, struct response *resp)
{
	int64_t left = app_snapshot_remaining(p->app);
	char text[MONEY_TEXT_LEN];

	if (left < 0)
		return;
	money_to_decimal(left, text);
	response_header(resp, "x-aigw-credits-remaining", text);
}

/* Gets the app (settings and billing period, from the process's cache),
 * resolves `model` in body (filling it from defaultModel, then the operator
 * default), checks allowedModels and picks the key. On failure answers
 * (400/403/404/500/503) and returns false. */
static bool begin(struct thread_ctx *ctx, struct request *req, struct response *resp, cJSON *body,
                  struct proxy *p)
{
	char err[AIGW_ERRLEN];
	aigw_rc rc;

	rc = app_cache_get(ctx->svc ? ctx->svc->cache : NULL, ctx->db, req->app_id, &p->app, err);
	if (rc != AIGW_OK) {
		answer_store_failure(resp, rc, "proxy: loading the app", req->app_id, err,
		                     "cannot load the app's AI config");
		return false;
	}
	if (!resolve_model(ctx, body, resp, p) || !choose_key(ctx, req->app_id, resp, p))
		return false;
	collect_forwarded(req, p);
	credits_header(p, resp);
	return true;
}

/* x-ratelimit-limit-requests, -remaining-requests and -reset-requests, as
 * OpenAI names them, for the app's or the key's requestsPerMinute (the one
 * with the least left); none when neither has one. */
static void rate_limit_headers(struct thread_ctx *ctx, const struct limits_request *r,
                               struct response *resp)
{
	unsigned limit, remaining;
	int reset;
	char text[32];

	if (!r->app_rpm && !r->key_rpm)
		return;
	limits_rpm_quota(ctx->svc ? ctx->svc->limits : NULL, r, &limit, &remaining, &reset);
	if (limit == 0)
		return;
	snprintf(text, sizeof(text), "%u", limit);
	response_header(resp, "x-ratelimit-limit-requests", text);
	snprintf(text, sizeof(text), "%u", remaining);
	response_header(resp, "x-ratelimit-remaining-requests", text);
	snprintf(text, sizeof(text), "%ds", reset);
	response_header(resp, "x-ratelimit-reset-requests", text);
}

/* The app's and the key's fairness limits (host_limits.h), shared by every
 * process of the host: admits the request, or answers our own 429 with
 * Retry-After and returns false. Only proxied requests count. */
static bool admit(struct thread_ctx *ctx, const struct request *req, struct response *resp,
                  struct proxy *p)
{
	struct limits_request r = {
	        .app_id = req->app_id,
	        .key_id = req->key_id,
	        .max_in_flight = (unsigned)p->app->cfg.max_concurrent_requests,
	        .app_rpm = (unsigned)p->app->cfg.requests_per_minute,
	        .key_rpm = req->key_rpm,
	        .now_s = limits_now_s(),
	};
	enum limits_reason why;
	int retry = 1;
	char text[16];

	why = limits_enter(ctx->svc ? ctx->svc->limits : NULL, &r, &p->ticket, &retry);
	rate_limit_headers(ctx, &r, resp);
	if (why == LIMITS_ADMIT)
		return true;
	snprintf(text, sizeof(text), "%d", retry > 0 ? retry : 1);
	response_header(resp, "Retry-After", text);
	log_info("limits: request %s of app %s refused (%s)", req->request_id, req->app_id,
	         limits_reason_name(why));
	if (why == LIMITS_IN_FLIGHT)
		response_error(resp, 429, NULL, NULL,
		               "this app already has %u requests in flight, its "
		               "maxConcurrentRequests; retry when one ends",
		               r.max_in_flight);
	else if (why == LIMITS_APP_RPM)
		response_error(resp, 429, NULL, NULL,
		               "this app's limit of %u requests per minute (requestsPerMinute) is "
		               "reached; retry in %s s",
		               r.app_rpm, text);
	else
		response_error(
		        resp, 429, NULL, NULL,
		        "this API key's limit of %u requests per minute is reached; retry in "
		        "%s s",
		        r.key_rpm, text);
	return false;
}

/* A request whose usage row could not be journaled is not started: 503,
 * before anything is reserved or sent (usage_journal.h). */
static bool journal_accepting(struct response *resp, const struct proxy *p)
{
	if (usage_journal_accepting(p->journal))
		return true;
	/* (every 503 carries Retry-After: response.c) */
	response_error(resp, 503, NULL, NULL,
	               "the gateway cannot record usage right now (its usage journal is full or "
	               "its disk failed); nothing was sent upstream, retry shortly");
	return false;
}

/* Prints body for the upstream, reserves the request's worst-case cost (the
 * printed length bounds the prompt, plus completion_bound tokens) and fills
 * *rq. On failure answers (500/402/503) and returns false. */
static bool prepare_call(struct thread_ctx *ctx, struct response *resp, struct proxy *p,
                         const cJSON *body, const char *path, long long completion_bound,
                         bool stream, struct upstream_request *rq)
{
	struct credit_ask ask;

	p->upstream_body = cJSON_PrintUnformatted(body);
	if (!p->upstream_body) {
		response_error(resp, 500, NULL, NULL, "cannot serialize the request");
		return false;
	}
	p->sent_bytes = (long long)strlen(p->upstream_body);
	ask = (struct credit_ask){
	        .app_id = p->rec.app_id,
	        .request_id = p->rec.request_id,
	        .model = p->model,
	        .byok = p->rec.is_byok,
	        .body = body,
	        .period = &p->app->period,
	        .prompt_bound = p->sent_bytes,
	        .completion_bound = completion_bound,
	};
	if (!credits_reserve(ctx, resp, &ask, &p->resv))
		return false;
	/* settled with the usage row */
	p->rec.reservation_id = p->resv.id;
	p->rec.period_id = p->resv.period_id;
	if (p->journal && p->resv.id > 0) {
		/* should the process die, whoever adopts its journal releases it */
		struct journal_entry e = {.kind = JOURNAL_HOLD, .rec = p->rec,
		                          .amount = p->resv.amount};
		usage_journal_note(p->journal, &p->jt, &e);
	}
	*rq = (struct upstream_request){
	        .method = "POST",
	        .path = path,
	        .api_key = p->api_key,
	        .body = p->upstream_body,
	        .body_len = (size_t)p->sent_bytes,
	        .headers = (const char *const *)p->fwd,
	        .stream = stream,
	};
	return true;
}

/* An error about the platform's own upstream account rather than the
 * request: its key refused (401), its credits gone (402), or the account
 * rate-limited by the upstream itself (a 429 without the provider_name that
 * OpenRouter attaches when a model's provider is the one limiting). */
static bool platform_account_error(long status, const cJSON *meta)
{
	if (status == 401 || status == 402)
		return true;
	return status == 429 && !cJSON_GetObjectItemCaseSensitive(meta, "provider_name");
}

/* Whether an upstream message quotes the key it was sent with, whole or by
 * a telling prefix (some providers echo "sk-or-v1-abc..." in a 401). */
#define KEY_ECHO_PREFIX 12
static bool quotes_key(const char *msg, const char *key)
{
	size_t n = key ? strlen(key) : 0;

	if (n == 0)
		return false;
	return memmem(msg, strlen(msg), key, n < KEY_ECHO_PREFIX ? n : KEY_ECHO_PREFIX) != NULL;
}

/* Tells the tenant the provider is unavailable, without the account's
 * details, and tells the operator loudly what to fix (the upstream's words
 * too, unless they quote the key). */
static void answer_platform_error(struct response *resp, const struct proxy *p,
                                  const struct upstream_response *up, const cJSON *msg)
{
	const char *what = up->status == 401
	                           ? "the upstream refused the platform key (upstream_key)"
	                   : up->status == 402 ? "the platform's upstream account is out of credits"
	                                       : "the platform's upstream account is rate-limited";
	const char *text = cJSON_IsString(msg) ? msg->valuestring : "";

	if (quotes_key(text, p->api_key))
		text = "(its message quotes the key: withheld)";
	log_error("OPERATOR ACTION: %s: HTTP %ld \"%.200s\" (request %s); tenants get 503", what,
	          up->status, text, p->rec.request_id);
	if (up->status == 429 && up->retry_after[0]) {
		response_header(resp, "Retry-After", up->retry_after);
	} else {
		/* Nothing the app can do; a retry in a second would meet the same. */
		response_header(resp, "x-should-retry", "false");
		response_header(resp, "Retry-After", PLATFORM_RETRY_AFTER_S);
	}
	if (up->generation_id[0])
		response_header(resp, "x-generation-id", up->generation_id);
	response_error(resp, 503, NULL, NULL, "the AI provider is temporarily unavailable");
}

void proxy_answer_upstream_error(struct response *resp, const struct proxy *p,
                                 const struct upstream_response *up, const char *body, size_t len)
{
	int status = (up->status >= 400 && up->status <= 599) ? (int)up->status : 502;
	cJSON *parsed = body ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(parsed, "error");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(e, "metadata");
	cJSON *out;
	cJSON *oe;
	char text[160];

	if (!p->rec.is_byok && platform_account_error(up->status, meta)) {
		answer_platform_error(resp, p, up, msg);
		cJSON_Delete(parsed);
		return;
	}
	out = cJSON_CreateObject();
	oe = cJSON_AddObjectToObject(out, "error");
	if (cJSON_IsString(msg) && msg->valuestring[0]) {
		cJSON_AddStringToObject(oe, "message", msg->valuestring);
	} else {
		snprintf(text, sizeof(text), "upstream answered HTTP %ld", up->status);
		cJSON_AddStringToObject(oe, "message", text);
	}
	cJSON_AddStringToObject(oe, "type", response_error_type(status));
	cJSON_AddNullToObject(oe, "param");
	cJSON_AddNumberToObject(oe, "code", status);
	if (cJSON_IsObject(meta))
		cJSON_AddItemToObject(oe, "metadata", cJSON_Duplicate(meta, true));
	if (up->retry_after[0])
		response_header(resp, "Retry-After", up->retry_after);
	if (status == 402 || status == 400 || status == 401 || status == 403)
		response_header(resp, "x-should-retry", "false");
	if (up->generation_id[0])
		response_header(resp, "x-generation-id", up->generation_id);
	response_json(resp, status, out);
	cJSON_Delete(out);
	cJSON_Delete(parsed);
}

bool proxy_usage_truth(const struct proxy *p, cJSON *answer)
{
	cJSON *usage = cJSON_GetObjectItemCaseSensitive(answer, "usage");
	cJSON *flag;

	if (!cJSON_IsObject(usage))
		return false;
	flag = cJSON_GetObjectItemCaseSensitive(usage, "is_byok");
	if (cJSON_IsBool(flag) && cJSON_IsTrue(flag) == p->rec.is_byok)
		return false;
	if (!flag && !p->rec.is_byok)
		return false; /* absent and false: nothing to correct */
	cJSON_DeleteItemFromObjectCaseSensitive(usage, "is_byok");
	cJSON_AddBoolToObject(usage, "is_byok", p->rec.is_byok);
	return true;
}

void proxy_answer_cut(struct response *resp)
{
	response_error(resp, 503, NULL, NULL, PROXY_CUT_MESSAGE);
}

void proxy_answer_transport_error(struct response *resp, aigw_rc rc, const char *err)
{
	if (rc == AIGW_ETIMEOUT)
		response_error(resp, 504, NULL, NULL, "upstream timeout: %s", err);
	else
		response_error(resp, 502, NULL, NULL, "upstream unavailable: %s", err);
}

void proxy_note_upstream(struct proxy *p, const struct upstream_response *up)
{
	if (up->generation_id[0])
		snprintf(p->rec.generation_id, sizeof(p->rec.generation_id), "%s",
		         up->generation_id);
	p->billable = up->status >= 200 && up->status <= 299;
	if (p->journal && p->billable) {
		/* From here the upstream bills: should the process die before the
		 * row, this is what it is settled from. */
		struct journal_entry e = {.kind = JOURNAL_OPEN, .rec = p->rec,
		                          .sent_bytes = p->sent_bytes};
		e.rec.streamed = strstr(up->content_type, "event-stream") != NULL;
		usage_journal_note(p->journal, &p->jt, &e);
	}
}

void proxy_note_model_billed(struct proxy *p, const char *model)
{
	if (!p->rec.model_billed[0])
		snprintf(p->rec.model_billed, sizeof(p->rec.model_billed), "%s", model);
}

void proxy_note_usage(struct proxy *p, const struct usage_numbers *u)
{
	p->rec.prompt_tokens = u->prompt_tokens;
	p->rec.completion_tokens = u->completion_tokens;
	p->rec.cached_tokens = u->cached_tokens;
	p->rec.reasoning_tokens = u->reasoning_tokens;
	if (u->has_cost) {
		p->rec.cost = u->cost;
		p->rec.cost_source = COST_UPSTREAM;
	}
}

void proxy_note_status(struct proxy *p, int status)
{
	p->rec.status = status;
}

void proxy_note_streamed(struct proxy *p)
{
	p->rec.streamed = true;
}

void proxy_note_aborted(struct proxy *p)
{
	p->rec.aborted = true;
}

void proxy_note_answer(struct proxy *p, size_t n, bool content)
{
	if (content && !p->rec.ttft_us)
		p->rec.ttft_us = clock_us() - p->start_us;
	p->answer_bytes += (long long)n;
}

void proxy_note_unusable_answer(struct proxy *p)
{
	p->no_estimate = true;
}

/* Whether the request's cost must be asked of the upstream's generation
 * record after the answer (the answer did not carry it). */
static bool needs_lookup(const struct proxy *p)
{
	return p->rec.cost_source == COST_NONE && p->billable && p->rec.generation_id[0];
}

/* Settles a request whose answer carried no cost (the generation record,
 * with retries), then hands the usage row to the process's usage writer,
 * which in the same transaction settles p's reservation and adds the cost
 * to its billing period (without a writer, as in tools and unit tests, it
 * is written here). Never answers. */
static void record(struct thread_ctx *ctx, struct proxy *p)
{
	char err[AIGW_ERRLEN];
	aigw_rc rc;

	if (p->rec.cost_source == COST_NONE && p->billable &&
	    !settle_from_generation(ctx->upstream, p->api_key, &p->rec) && !p->no_estimate)
		settle_from_price_table(ctx->db, &p->rec, p->sent_bytes, p->answer_bytes);
	p->rec.duration_us = clock_us() - p->start_us;
	/* Settled with the row. */
	p->resv.id = 0;
	if (ctx->svc) {
		usage_writer_submit(ctx->svc->writer, &p->rec, &p->jt);
		return;
	}
	rc = db_usage_record(ctx->db, &p->rec, err);
	if (rc != AIGW_OK && rc != AIGW_EEXIST)
		usage_log_lost(&p->rec, err);
}

/* Releases a reservation that record() never settled (the request was
 * refused or failed before the upstream call), then wipes and frees what p
 * holds. */
static void end(struct thread_ctx *ctx, struct proxy *p)
{
	char err[AIGW_ERRLEN];

	if (p->resv.id > 0 && db_credits_release(ctx->db, &p->resv, err) != AIGW_OK)
		log_warn("proxy: releasing reservation %lld of request %s failed (it expires "
		         "by itself): %s",
		         p->resv.id, p->rec.request_id, err);
	p->resv.id = 0;
	usage_journal_forget(p->journal, &p->jt);
	limits_leave(ctx->svc ? ctx->svc->limits : NULL, &p->ticket);
	if (p->byok_plain)
		byok_plain_free(p->byok_plain);
	p->byok_plain = NULL;
	p->api_key = NULL;
	cJSON_free(p->upstream_body);
	p->upstream_body = NULL;
	for (size_t i = 0; p->fwd[i]; i++) {
		free(p->fwd[i]);
		p->fwd[i] = NULL;
	}
	app_snapshot_put(ctx->svc ? ctx->svc->cache : NULL, p->app);
	p->app = NULL;
}

/* The endpoint's callbacks, and the worker's drain watched on each tick. */
struct watched_call {
	const struct upstream_callbacks *cb;
	void *arg;
	struct proxy *p;
	const struct services *svc;
};

static int watch_headers(void *arg, const struct upstream_response *res)
{
	struct watched_call *w = arg;

	return w->cb->on_headers ? w->cb->on_headers(w->arg, res) : 0;
}

static int watch_data(void *arg, const char *bytes, size_t n)
{
	struct watched_call *w = arg;

	return w->cb->on_data ? w->cb->on_data(w->arg, bytes, n) : 0;
}

static int watch_tick(void *arg, long long idle_ms)
{
	struct watched_call *w = arg;

	if (services_cutting(w->svc)) {
		if (w->p->rec.streamed) {
			/* a stream: cut now; it ends with an error event */
			w->p->cut = true;
			return 1;
		}
		if (!w->p->cut) {
			/* Nothing sent yet. The upstream bills a request it is working
			 * on in full whatever we do, so its answer is still awaited,
			 * for the row; the client gets its 503 now. */
			w->p->cut = true;
			proxy_answer_cut(w->p->resp);
			response_end(w->p->resp);
		}
	}
	return w->cb->on_tick ? w->cb->on_tick(w->arg, idle_ms) : 0;
}

aigw_rc proxy_call_upstream(struct thread_ctx *ctx, struct proxy *p,
                            const struct upstream_request *rq, const struct upstream_callbacks *cb,
                            void *arg, struct upstream_response *up, char *err)
{
	struct watched_call w = {cb, arg, p, ctx->svc};
	struct upstream_callbacks watch = {watch_headers, watch_data, watch_tick};
	aigw_rc rc;

	p->call_start_us = clock_us();
	rc = upstream_call(ctx->upstream, rq, &watch, &w, up, err);
	p->call_end_us = clock_us();
	if (up->first_byte_us > 0)
		metrics_upstream_first_byte(p->rec.endpoint, up->first_byte_us);
	return rc;
}

/* x-aigw-overhead-ms: the time before the upstream call, plus the time since
 * it ended (none while it runs: a stream's head goes out inside the call). */
static void add_overhead(struct response *resp, void *arg)
{
	const struct proxy *p = arg;
	long long now = clock_us(), us;
	char text[32];

	us = (p->call_start_us ? p->call_start_us : now) - p->start_us;
	if (p->call_end_us)
		us += now - p->call_end_us;
	snprintf(text, sizeof(text), "%.3f", us > 0 ? (double)us / 1000.0 : 0.0);
	response_header(resp, "x-aigw-overhead-ms", text);
}

/* What the request came to, for its access line and the metrics. */
static void note_outcome(struct request *req, const struct proxy *p)
{
	struct request_outcome *o = &req->outcome;

	if (p->app)
		snprintf(o->plan, sizeof(o->plan), "%s", p->app->period.plan);
	snprintf(o->model, sizeof(o->model), "%s", p->model);
	o->prompt_tokens = p->rec.prompt_tokens;
	o->completion_tokens = p->rec.completion_tokens;
	o->cost = p->rec.cost_source != COST_NONE ? p->rec.cost : -1;
	o->streamed = p->rec.streamed;
}

void proxy_run(struct thread_ctx *ctx, struct request *req, struct response *resp,
               const struct proxy_endpoint *ep, void *state)
{
	struct upstream_request rq;
	struct proxy p;
	cJSON *body = NULL;
	long long completion_bound = 0;

	memset(&p, 0, sizeof(p));
	p.ticket = (struct limits_ticket){.app = -1, .proc = -1};
	p.start_us = req->start_us ? req->start_us : clock_us();
	response_before_head(resp, add_overhead, &p);
	snprintf(p.rec.request_id, sizeof(p.rec.request_id), "%s", req->request_id);
	snprintf(p.rec.app_id, sizeof(p.rec.app_id), "%s", req->app_id);
	p.rec.key_id = req->key_id;
	p.rec.endpoint = ep->name;
	p.journal = ctx->svc ? ctx->svc->journal : NULL;
	p.resp = resp;

	if (!parse_body(req, resp, &body) || !ep->check(state, body, resp) ||
	    !begin(ctx, req, resp, body, &p) || !admit(ctx, req, resp, &p) ||
	    !journal_accepting(resp, &p) ||
	    !ep->shape(state, ctx, &p, body, resp, &completion_bound) ||
	    !prepare_call(ctx, resp, &p, body, ep->path, completion_bound, ep->streams(state), &rq))
		goto out;
	if (response_peer_gone(resp)) {
		/* Nothing was sent upstream: no cost, no usage row; end() gives
		 * the reservation back. */
		log_info("proxy: the client left before the upstream call; not sent");
		goto out;
	}
	if (ep->streams(state)) {
		metrics_stream_begin();
		ep->exchange(state, ctx, &p, &rq, resp);
		metrics_stream_end();
		if (p.rec.streamed && p.rec.ttft_us > 0)
			metrics_time_to_first_token(p.rec.ttft_us);
	} else {
		ep->exchange(state, ctx, &p, &rq, resp);
	}
	if (p.cut && !p.rec.streamed)
		p.rec.status = 503; /* what the client got, whatever came later */
	if (!p.rec.status)
		p.rec.status = resp->status ? resp->status : 499;
	if (p.rec.status >= 400)
		snprintf(p.rec.error, sizeof(p.rec.error), "%s", response_error_type(p.rec.status));
	if (needs_lookup(&p)) {
		/* The generation record takes a while: the client gets its end
		 * now, the open record on disk standing for the row meanwhile. */
		usage_journal_flush(p.journal);
		response_end(resp);
		record(ctx, &p);
	} else {
		/* The row is on disk before the response is closed. */
		record(ctx, &p);
		response_end(resp);
	}
out:
	note_outcome(req, &p);
	response_before_head(resp, NULL, NULL); /* p goes out of scope */
	cJSON_Delete(body);
	end(ctx, &p);
}
