/* GET /v1/{app}/models and /v1/{app}/models/{model}: the synced upstream
 * model records (db/models.h) the app may use, in OpenAI's shape. Each record
 * keeps every upstream field (pricing, architecture, ...) so OpenRouter-aware
 * clients work, plus OpenAI's "object" and "owned_by" for the openai SDK. */
#include "config.h"

#include "endpoints.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ai_config.h"
#include "context.h"
#include "db.h"
#include "error.h"
#include "log.h"
#include "models.h"

/* owned_by when the id has no "vendor/" prefix */
#define DEFAULT_OWNER "openrouter"

static void db_failure(struct response *resp, aigw_rc rc, const char *what, const char *err)
{
	log_warn("models: %s failed (%s): %s", what, aigw_rc_name(rc), err);
	if (rc == AIGW_EDB)
		response_error(resp, 503, NULL, NULL, "database unavailable");
	else
		response_error(resp, 500, NULL, NULL, "internal error reading the models");
}

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

static int add_model(const char *id, const char *record, size_t len, void *arg)
{
	cJSON *o = model_object(id, record, len);

	if (o)
		cJSON_AddItemToArray(arg, o);
	return 0;
}

void handle_models_list(struct thread_ctx *ctx, struct request *req, struct response *resp)
{
	struct ai_config cfg;
	char err[AIGW_ERRLEN];
	cJSON *out = NULL, *data;
	aigw_rc rc;

	memset(&cfg, 0, sizeof cfg);
	rc = db_ai_config_get(ctx->db, req->app_id, false, &cfg, err);
	if (rc != AIGW_OK) {
		db_failure(resp, rc, "loading the app config", err);
		goto out;
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "object", "list");
	data = cJSON_AddArrayToObject(out, "data");
	rc = db_model_list(ctx->db, cfg.allowed_models, cfg.n_allowed, add_model, data, err);
	if (rc != AIGW_OK) {
		db_failure(resp, rc, "listing", err);
		goto out;
	}
	response_json(resp, 200, out);
out:
	cJSON_Delete(out);
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
		db_failure(resp, rc, "loading the app config", err);
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
		db_failure(resp, rc, "reading", err);
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
