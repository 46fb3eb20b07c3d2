/* GET and PUT /v1/{app}/ai/config. PUT validates the whole body before
 * touching the database, then, inside the store's one transaction
 * (db_ai_config_update), merges into the locked row and seals a new BYOK key
 * under the current keyring key: nothing is stored when any rule fails. The BYOK key in clear lives
 * only in the request body and the parsed JSON, both wiped before returning. */
#include "config.h"

#include "endpoints.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "ai_config.h"
#include "config_rules.h"
#include "byok.h"
#include "models.h"
#include "app_cache.h"
#include "context.h"
#include "error.h"
#include "keyring.h"
#include "log.h"
#include "services.h"
#include "store_failure.h"
#include "strict_json.h"

/* Keys shorter than this show no last4, so a response never holds most of a
 * (very short) key. */
#define LAST4_MIN_KEY_LEN 8
#define CONFIG_500 "internal error reading or writing the config"

void handle_ai_config_get(struct thread_ctx *ctx, struct request *req, struct response *resp)
{
	struct ai_config cfg;
	char err[AIGW_ERRLEN];
	cJSON *out;
	aigw_rc rc;

	memset(&cfg, 0, sizeof(cfg));
	rc = db_ai_config_get(ctx->db, req->app_id, false, &cfg, err);
	if (rc != AIGW_OK) {
		answer_store_failure(resp, rc, "ai config: load", req->app_id, err, CONFIG_500);
		goto out;
	}
	out = ai_config_to_json(req->app_id, &cfg);
	response_json(resp, 200, out);
	cJSON_Delete(out);
out:
	ai_config_free(&cfg);
}

static void utc_now(char out[32])
{
	struct timespec ts;
	struct tm tm;
	char base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(out, 32, "%.19s.%06u", base, (unsigned)(ts.tv_nsec / 1000) % 1000000u);
}

static void byok_clear(struct ai_config *cfg)
{
	free(cfg->byok_sealed);
	cfg->byok_sealed = NULL;
	cfg->byok_sealed_len = 0;
	cfg->byok_key_id = 0;
	cfg->byok_last4[0] = '\0';
	cfg->byok_updated_at[0] = '\0';
}

/* Seals the patch's key into cfg under the current keyring key. */
static aigw_rc byok_store(struct thread_ctx *ctx, const char *app_id,
                          const struct ai_config_patch *p, struct ai_config *cfg, const char *now,
                          char *err)
{
	const struct keyring_key *k = keyring_current(ctx->keyring);
	unsigned char *sealed = NULL;
	size_t sealed_len = 0;
	aigw_rc rc;

	rc = byok_seal(k, app_id, p->byok_key, p->byok_len, &sealed, &sealed_len, err);
	if (rc != AIGW_OK)
		return rc;
	byok_clear(cfg);
	cfg->byok_sealed = sealed;
	cfg->byok_sealed_len = sealed_len;
	cfg->byok_key_id = k->id;
	if (p->byok_len >= LAST4_MIN_KEY_LEN)
		memcpy(cfg->byok_last4, p->byok_key + p->byok_len - 4, 4);
	cfg->byok_last4[4] = '\0';
	snprintf(cfg->byok_updated_at, sizeof(cfg->byok_updated_at), "%s", now);
	return AIGW_OK;
}

static bool patch_is_noop(const struct ai_config_patch *p)
{
	return p->default_model_op == PATCH_KEEP && p->max_tokens_op == PATCH_KEEP &&
	       p->allowed_op == PATCH_KEEP && p->max_concurrent_op == PATCH_KEEP &&
	       p->rpm_op == PATCH_KEEP && p->byok_op == PATCH_KEEP;
}

struct put_edit {
	struct thread_ctx *ctx;
	const char *app_id;
	const struct ai_config_patch *patch;
	const char *what;  /* the failing step: "rules", "seal", else the store */
	const char *param; /* with "rules": the refused field */
};

/* Applied to the locked row inside the store's transaction: the rules, then
 * the BYOK key sealed or cleared as the patch says. */
static aigw_rc put_edit(struct ai_config *cfg, void *arg, bool *write, char *err)
{
	struct put_edit *e = arg;
	const struct ai_config_patch *p = e->patch;
	char now[32];
	aigw_rc rc;

	e->what = "rules";
	e->param = NULL;
	rc = ai_config_patch_apply(cfg, p, &e->param, err);
	if (rc != AIGW_OK)
		return rc;
	/* `{}` writes nothing, so updatedAt does not move */
	*write = !patch_is_noop(p);
	e->what = "store";
	if (!*write)
		return AIGW_OK;
	utc_now(now);
	if (p->byok_op == PATCH_SET) {
		e->what = "seal";
		rc = byok_store(e->ctx, e->app_id, p, cfg, now, err);
		if (rc != AIGW_OK)
			return rc;
		e->what = "store";
	} else if (p->byok_op == PATCH_CLEAR) {
		byok_clear(cfg);
	}
	snprintf(cfg->updated_at, sizeof(cfg->updated_at), "%s", now);
	return AIGW_OK;
}

/* A defaultModel must be a model of the synced table (GET /models lists
 * them): one that does not exist would fail every request that names none.
 * Answers and returns false when it is not. */
static bool default_model_known(struct thread_ctx *ctx, const char *app_id,
                                const struct ai_config_patch *p, struct response *resp)
{
	char err[AIGW_ERRLEN];
	char *record = NULL;
	aigw_rc rc;

	if (p->default_model_op != PATCH_SET)
		return true;
	rc = db_model_get(ctx->db, p->default_model, &record, err);
	free(record);
	if (rc == AIGW_OK)
		return true;
	if (rc == AIGW_ENOTFOUND)
		response_error(resp, 400, NULL, "defaultModel",
		               "defaultModel '%.256s' is not a model this gateway knows (GET "
		               "/v1/%s/models lists them)",
		               p->default_model, app_id);
	else
		answer_store_failure(resp, rc, "ai config: model lookup", app_id, err, CONFIG_500);
	return false;
}

void handle_ai_config_put(struct thread_ctx *ctx, struct request *req, struct response *resp)
{
	struct ai_config cfg;
	struct ai_config_patch patch;
	cJSON *body = NULL, *out;
	struct strict_json_error jerr;
	const char *param = NULL;
	char err[AIGW_ERRLEN];
	aigw_rc rc;

	memset(&cfg, 0, sizeof(cfg));
	memset(&patch, 0, sizeof(patch));
	err[0] = '\0';

	/* The strict reader also refuses \u0000, which would cut a BYOK key short. */
	if (strict_json_parse(req->body, req->body_len, &body, &jerr) != AIGW_OK) {
		response_error(resp, 400, NULL, jerr.param[0] ? jerr.param : NULL, "%s",
		               jerr.message);
		goto out;
	}
	rc = ai_config_patch_parse(body, &patch, &param, err);
	if (rc != AIGW_OK) {
		response_error(resp, 400, NULL, param, "%s", err);
		goto out;
	}

	if (!default_model_known(ctx, req->app_id, &patch, resp))
		goto out;

	struct put_edit edit = {ctx, req->app_id, &patch, "store", NULL};
	rc = db_ai_config_update(ctx->db, req->app_id, put_edit, &edit, &cfg, err);
	if (rc == AIGW_OK && ctx->svc)
		/* this process's next request of the app sees the change */
		app_cache_invalidate(ctx->svc->cache, req->app_id);
	if (rc != AIGW_OK) {
		if (strcmp(edit.what, "rules") == 0) {
			response_error(resp, 400, NULL, edit.param, "%s", err);
		} else if (strcmp(edit.what, "seal") == 0) {
			log_error("ai config: cannot seal the BYOK key: %s", err);
			response_error(resp, 500, NULL, NULL, "cannot store the BYOK key");
		} else {
			answer_store_failure(resp, rc, "ai config: store", req->app_id, err,
			                     CONFIG_500);
		}
		goto out;
	}
	out = ai_config_to_json(req->app_id, &cfg);
	response_json(resp, 200, out);
	cJSON_Delete(out);
out:
	ai_config_patch_free(&patch);
	if (body) {
		strict_json_wipe(body); /* the BYOK key may sit under any name */
		cJSON_Delete(body);
	}
	ai_config_free(&cfg);
	if (req->body)
		sodium_memzero(req->body, req->body_len);
}
