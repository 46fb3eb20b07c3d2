/* GET /v1/{app}/models and /v1/{app}/models/{model}: the synced upstream
 * model records (db/models.h) the app may use, in OpenAI's shape. Each record
 * keeps every upstream field (pricing, architecture, ...) so OpenRouter-aware
 * clients work, plus OpenAI's "object" and "owned_by" for the openai SDK; the
 * list keeps the upstream list's own fields (links, total_count), which
 * OpenRouter's SDK requires, with the counts made true of this app's list. */
#include "config.h"

#include "endpoints.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ai_config.h"
#include "alloc.h"
#include "context.h"
#include "db.h"
#include "error.h"
#include "log.h"
#include "models.h"
#include "store_failure.h"

#define MODELS_500 "internal error reading the models"

/* owned_by when the id has no "vendor/" prefix */
#define DEFAULT_OWNER "openrouter"
/* Paging, as OpenRouter's /models takes it: limit at most 1000. */
#define PAGE_LIMIT_MAX 1000
#define PAGE_OFFSET_MAX 1000000000LL
#define PAGE_PARAM_MAX 16 /* bytes of an offset or limit value we read */

/* Which part of the app's list to answer; OpenRouter's rule: without offset
 * and limit, the whole list. */
struct page {
	long long offset; /* models skipped; 0 when not given */
	long long limit;  /* models answered at most; -1 when not given (to the end) */
};

/* What the list walk builds. */
struct list_walk {
	struct page page;
	cJSON *data; /* borrowed: the answer's "data" array */
	long long n; /* every model the app may use, whatever the page */
};

static void not_found(struct response *resp, const char *id)
{
	response_error(resp, 404, NULL, NULL,
	               "The model '%.256s' does not exist or you do not have access to it.", id);
}

/* The record as an OpenAI model object, or NULL if it is not a JSON object
 * (the CHECK constraint makes that a corrupt row). Caller deletes it. */
static cJSON *model_object(const char *id, const char *record, size_t len)
{
	cJSON *o = cJSON_ParseWithLength(record, len);
	const char *slash = strchr(id, '/');

	if (!cJSON_IsObject(o)) {
		log_warn("models: stored record of '%.256s' is not a JSON object", id);
		cJSON_Delete(o);
		return NULL;
	}
	if (cJSON_HasObjectItem(o, "object"))
		cJSON_ReplaceItemInObjectCaseSensitive(o, "object", cJSON_CreateString("model"));
	else
		cJSON_AddStringToObject(o, "object", "model");
	/* An OpenAI-style upstream names the owner itself: kept. */
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "owned_by"))) {
		char owner[MODEL_ID_MAX + 1];

		cJSON_DeleteItemFromObjectCaseSensitive(o, "owned_by");
		if (slash && slash > id)
			snprintf(owner, sizeof owner, "%.*s", (int)(slash - id), id);
		else
			snprintf(owner, sizeof owner, "%s", DEFAULT_OWNER);
		cJSON_AddStringToObject(o, "owned_by", owner);
	}
	return o;
}

/* Counts every model; parses only those of the page (a page of a long list
 * costs the page, not the list). */
static int add_model(const char *id, const char *record, size_t len, void *arg)
{
	struct list_walk *w = arg;
	long long i = w->n++;
	cJSON *o;

	if (i < w->page.offset || (w->page.limit >= 0 && i - w->page.offset >= w->page.limit))
		return 0;
	o = model_object(id, record, len);
	if (o)
		cJSON_AddItemToArray(w->data, o);
	return 0;
}

/* A query parameter of decimal digits in [min, max] into *v; *v unchanged
 * when it is absent. False (and a 400 naming it answered) otherwise. */
static bool page_param(const struct request *req, struct response *resp, const char *name,
                       long long min, long long max, long long *v)
{
	char text[PAGE_PARAM_MAX + 1];
	long long value = -1;
	size_t n;

	if (!request_query_get(req, name, text, sizeof text))
		return true;
	n = strlen(text);
	/* Up to 18 digits fit a long long; the range check does the rest. A
	 * value too long for text reads as "" and is refused here too. */
	if (n > 0 && n <= 18 && strspn(text, "0123456789") == n)
		value = strtoll(text, NULL, 10);
	if (value < min || value > max) {
		response_error(resp, 400, NULL, name, "%s must be an integer from %lld to %lld",
		               name, min, max);
		return false;
	}
	*v = value;
	return true;
}

/* The request's path asking for the page after w's, or NULL when w's page
 * ends the list (or the whole list was asked). Caller frees. */
static char *next_page_link(const struct request *req, const struct list_walk *w)
{
	long long next;
	size_t cap;
	char *link;

	if (w->page.limit < 0)
		return NULL;
	next = w->page.offset + w->page.limit;
	if (next >= w->n)
		return NULL;
	cap = strlen(req->path) + 64; /* "?offset=" and "&limit=", two numbers */
	link = xmalloc(cap);
	snprintf(link, cap, "%s?offset=%lld&limit=%lld", req->path, next, w->page.limit);
	return link;
}

/* Appends to out the list's stored top-level fields (fields: the text of a
 * JSON object, borrowed) in their order, except "data" and "object" (ours).
 * Their counts are made true of the answer: total_count is every model the
 * app may use (w->n; the stored one counted the upstream's whole list), and
 * links.next names the next page of this list, or is null. */
static void add_list_fields(cJSON *out, const char *fields, const struct request *req,
                            const struct list_walk *w)
{
	cJSON *doc = cJSON_Parse(fields);
	cJSON *item, *after, *links;
	char *link = NULL;

	if (!cJSON_IsObject(doc)) {
		/* The CHECK constraint makes that a corrupt row: answer without them. */
		log_warn("models: the stored list fields are not a JSON object");
		goto out;
	}
	link = next_page_link(req, w);
	for (item = doc->child; item; item = after) {
		after = item->next;
		cJSON_DetachItemViaPointer(doc, item);
		if (strcmp(item->string, "data") == 0 || strcmp(item->string, "object") == 0 ||
		    cJSON_GetObjectItemCaseSensitive(out, item->string)) {
			cJSON_Delete(item);
			continue;
		}
		if (strcmp(item->string, "total_count") == 0) {
			cJSON_Delete(item);
			cJSON_AddNumberToObject(out, "total_count", (double)w->n);
			continue;
		}
		links = strcmp(item->string, "links") == 0 && cJSON_IsObject(item) ? item : NULL;
		if (links && cJSON_GetObjectItemCaseSensitive(links, "next"))
			cJSON_ReplaceItemInObjectCaseSensitive(links, "next",
			                                       link ? cJSON_CreateString(link)
			                                            : cJSON_CreateNull());
		cJSON_AddItemToObject(out, item->string, item);
	}
out:
	free(link);
	cJSON_Delete(doc);
}

void handle_models_list(struct thread_ctx *ctx, struct request *req, struct response *resp)
{
	struct list_walk w = {{0, -1}, NULL, 0};
	char err[AIGW_ERRLEN], *fields = NULL;
	struct ai_config cfg;
	cJSON *out = NULL;
	aigw_rc rc;

	memset(&cfg, 0, sizeof cfg);
	if (!page_param(req, resp, "offset", 0, PAGE_OFFSET_MAX, &w.page.offset) ||
	    !page_param(req, resp, "limit", 1, PAGE_LIMIT_MAX, &w.page.limit))
		goto out;
	rc = db_ai_config_get(ctx->db, req->app_id, false, &cfg, err);
	if (rc != AIGW_OK) {
		answer_store_failure(resp, rc, "models: loading the app config", req->app_id, err,
		                     MODELS_500);
		goto out;
	}
	/* Before a first sync since migration 010 there are none: the list
	 * then has OpenAI's shape only. */
	rc = db_models_list_fields(ctx->db, &fields, err);
	if (rc != AIGW_OK && rc != AIGW_ENOTFOUND) {
		answer_store_failure(resp, rc, "models: reading the list fields", req->app_id, err,
		                     MODELS_500);
		goto out;
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "object", "list");
	w.data = cJSON_AddArrayToObject(out, "data");
	rc = db_model_list(ctx->db, cfg.allowed_models, cfg.n_allowed, add_model, &w, err);
	if (rc != AIGW_OK) {
		answer_store_failure(resp, rc, "models: listing", req->app_id, err, MODELS_500);
		goto out;
	}
	if (fields)
		add_list_fields(out, fields, req, &w);
	response_json(resp, 200, out);
out:
	cJSON_Delete(out);
	free(fields);
	ai_config_free(&cfg);
}

static bool allowed(const struct ai_config *cfg, const char *id)
{
	size_t i;

	if (cfg->n_allowed == 0)
		return true;
	for (i = 0; i < cfg->n_allowed; i++) {
		if (strcmp(cfg->allowed_models[i], id) == 0)
			return true;
	}
	return false;
}

void handle_models_get(struct thread_ctx *ctx, struct request *req, struct response *resp)
{
	const char *id = req->route_arg; /* percent-decoded: openai%2Fgpt-4o works */
	struct ai_config cfg;
	char err[AIGW_ERRLEN], *record = NULL;
	cJSON *o = NULL;
	aigw_rc rc;

	memset(&cfg, 0, sizeof cfg);
	if (!id || !model_id_valid(id)) {
		not_found(resp, id ? id : "");
		goto out;
	}
	rc = db_ai_config_get(ctx->db, req->app_id, false, &cfg, err);
	if (rc != AIGW_OK) {
		answer_store_failure(resp, rc, "models: loading the app config", req->app_id, err,
		                     MODELS_500);
		goto out;
	}
	/* Not allowed looks the same as unknown: the app cannot tell which
	 * models exist beyond its own. */
	if (!allowed(&cfg, id)) {
		not_found(resp, id);
		goto out;
	}
	rc = db_model_get(ctx->db, id, &record, err);
	if (rc == AIGW_ENOTFOUND) {
		not_found(resp, id);
		goto out;
	}
	if (rc != AIGW_OK) {
		answer_store_failure(resp, rc, "models: reading", req->app_id, err, MODELS_500);
		goto out;
	}
	o = model_object(id, record, strlen(record));
	if (!o) {
		response_error(resp, 500, NULL, NULL, "internal error reading the model");
		goto out;
	}
	response_json(resp, 200, o);
out:
	cJSON_Delete(o);
	free(record);
	ai_config_free(&cfg);
}
