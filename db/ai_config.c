/* The ai_config table: one row per app with its AI settings and its sealed
 * BYOK key. allowedModels is a JSON array column (built and parsed with
 * cJSON); an unset value of any field is stored as SQL NULL. */
#include "config.h"
#include "ai_config.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "apps.h"
#include "db.h"
#include "stmt.h"
#include "tx.h"

#define AI_CONFIG_COLS                                                                             \
	"default_model, max_tokens_per_request, allowed_models, max_concurrent_requests, "         \
	"requests_per_minute, byok_sealed, byok_key_id, byok_last4, byok_updated_at, updated_at"

static const char SQL_CFG_GET[] = "SELECT " AI_CONFIG_COLS " FROM ai_config WHERE app_id = ?";
/* The writer's lock: the app row always exists, so all PUTs of an app queue
 * on it. The config row itself is then read without FOR UPDATE: a locking
 * read of a row that does not exist yet takes a gap lock, and two first PUTs
 * of neighbouring apps holding gap locks deadlock on their inserts. */
static const char SQL_CFG_LOCK_APP[] = "SELECT id FROM apps WHERE id = ? FOR UPDATE";
/* byok_updated_at is assigned before byok_sealed (MariaDB applies the
 * assignments left to right), so it compares the old bytes with the new:
 * kept when the sealed bytes are unchanged, NULL when cleared, now otherwise.
 * Sealing uses a fresh nonce, so setting the same key again counts as new. */
static const char SQL_CFG_PUT[] =
        "INSERT INTO ai_config (app_id, " AI_CONFIG_COLS ") "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, IF(? IS NULL, NULL, UTC_TIMESTAMP(6)), "
        "UTC_TIMESTAMP(6)) "
        "ON DUPLICATE KEY UPDATE "
        "byok_updated_at = IF(VALUES(byok_sealed) IS NULL, NULL, "
        "IF(byok_sealed <=> VALUES(byok_sealed), byok_updated_at, UTC_TIMESTAMP(6))), "
        "default_model = VALUES(default_model), "
        "max_tokens_per_request = VALUES(max_tokens_per_request), "
        "allowed_models = VALUES(allowed_models), "
        "max_concurrent_requests = VALUES(max_concurrent_requests), "
        "requests_per_minute = VALUES(requests_per_minute), byok_sealed = VALUES(byok_sealed), "
        "byok_key_id = VALUES(byok_key_id), byok_last4 = VALUES(byok_last4), "
        "updated_at = UTC_TIMESTAMP(6)";
static const char SQL_CFG_BYOK_APPS[] =
        "SELECT app_id FROM ai_config WHERE byok_sealed IS NOT NULL ORDER BY app_id";
static const char SQL_CFG_RESEAL[] = "UPDATE ai_config SET byok_sealed = ?, byok_key_id = ? "
                                     "WHERE app_id = ? AND byok_key_id = ?";

/* How many apps keyring rotation visits in one pass, at most. */
#define BYOK_APPS_MAX 1000000

/* Parses the allowed_models column into c. */
static aigw_rc allowed_parse(const char *json, size_t len, const char *app_id, struct ai_config *c,
                             char *err)
{
	const cJSON *item;
	cJSON *arr;
	aigw_rc rc = AIGW_OK;
	int n;

	arr = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsArray(arr)) {
		rc = aigw_fail(err, AIGW_EDB,
		               "ai_config.allowed_models of app '%.64s' is not a "
		               "JSON array",
		               app_id);
		goto out;
	}
	n = cJSON_GetArraySize(arr);
	c->allowed_models = xcalloc(n > 0 ? (size_t)n : 1, sizeof(char *));
	cJSON_ArrayForEach(item, arr)
	{
		if (!cJSON_IsString(item)) {
			rc = aigw_fail(err, AIGW_EDB,
			               "ai_config.allowed_models of app '%.64s' "
			               "holds a non-string",
			               app_id);
			goto out;
		}
		c->allowed_models[c->n_allowed++] = xstrdup(item->valuestring);
	}
out:
	cJSON_Delete(arr);
	return rc;
}

/* The JSON text for c's allowed models, or NULL when there are none.
 * Caller frees. */
static char *allowed_json(const struct ai_config *c)
{
	cJSON *arr;
	char *s;
	size_t i;

	if (c->n_allowed == 0)
		return NULL;
	arr = cJSON_CreateArray();
	if (!arr)
		return NULL;
	for (i = 0; i < c->n_allowed; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(c->allowed_models[i]));
	s = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	return s;
}

static aigw_rc lock_app(struct db *db, const char *app_id, char *err)
{
	char id[APP_ID_MAX + 1];
	struct q q;
	aigw_rc rc;

	q_init(&q, db, SQL_CFG_LOCK_APP);
	q_in_str(&q, app_id);
	q_out_str(&q, id, sizeof id, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc == AIGW_ENOTFOUND)
		aigw_fail(err, rc, "no app '%.64s'", app_id);
	return rc;
}

aigw_rc db_ai_config_get(struct db *db, const char *app_id, bool for_update, struct ai_config *out,
                         char *err)
{
	char *allowed = NULL, *sealed = NULL;
	size_t allowed_len = 0, sealed_len = 0;
	long long max_tokens = 0, key_id = 0, max_concurrent = 0, rpm = 0;
	struct q q;
	aigw_rc rc;

	memset(out, 0, sizeof *out);
	if (for_update) {
		rc = lock_app(db, app_id, err);
		if (rc != AIGW_OK)
			return rc;
	}
	q_init(&q, db, SQL_CFG_GET);
	q_in_str(&q, app_id);
	q_out_dyn(&q, &out->default_model, NULL);
	q_out_int(&q, &max_tokens, NULL);
	q_out_dyn(&q, &allowed, &allowed_len);
	q_out_int(&q, &max_concurrent, NULL);
	q_out_int(&q, &rpm, NULL);
	q_out_dyn(&q, &sealed, &sealed_len);
	q_out_int(&q, &key_id, NULL);
	q_out_str(&q, out->byok_last4, sizeof out->byok_last4, NULL);
	q_out_time(&q, out->byok_updated_at, NULL);
	q_out_time(&q, out->updated_at, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc == AIGW_ENOTFOUND) {
		memset(out, 0, sizeof *out); /* no row yet: the empty config */
		return AIGW_OK;
	}
	if (rc != AIGW_OK)
		goto out;
	out->max_tokens_per_request = (int)max_tokens;
	out->max_concurrent_requests = (int)max_concurrent;
	out->requests_per_minute = (int)rpm;
	out->byok_key_id = (int)key_id;
	if (sealed) {
		out->byok_sealed = (unsigned char *)sealed;
		out->byok_sealed_len = sealed_len;
		sealed = NULL;
	}
	if (allowed)
		rc = allowed_parse(allowed, allowed_len, app_id, out, err);
out:
	free(allowed);
	free(sealed);
	if (rc != AIGW_OK)
		ai_config_free(out);
	return rc;
}

aigw_rc db_ai_config_put(struct db *db, const char *app_id, const struct ai_config *c, char *err)
{
	char last4[5];
	char *allowed = NULL;
	bool has_byok = c->byok_sealed != NULL;
	struct q q;
	aigw_rc rc;
	size_t i;

	if (c->max_tokens_per_request < 0 || c->max_concurrent_requests < 0 ||
	    c->requests_per_minute < 0)
		return aigw_fail(err, AIGW_EINVAL,
		                 "maxTokensPerRequest, maxConcurrentRequests and requestsPerMinute "
		                 "must be positive");
	if (has_byok && (c->byok_sealed_len == 0 || c->byok_sealed_len > BYOK_SEALED_MAX))
		return aigw_fail(err, AIGW_ETOOBIG, "sealed BYOK key of %zu bytes (max %d)",
		                 c->byok_sealed_len, BYOK_SEALED_MAX);
	/* last4 is for display only; a byte of a multi-byte character would
	 * not be valid utf8mb4, so anything but printable ASCII shows as '*'. */
	for (i = 0; i < 4 && c->byok_last4[i]; i++)
		last4[i] = (c->byok_last4[i] > 0x20 && c->byok_last4[i] < 0x7f) ? c->byok_last4[i]
		                                                                : '*';
	last4[i] = '\0';
	allowed = allowed_json(c);
	if (c->n_allowed > 0 && !allowed)
		return aigw_fail(err, AIGW_EINVAL, "cannot encode allowedModels");

	q_init(&q, db, SQL_CFG_PUT);
	q_in_str(&q, app_id);
	q_in_str(&q, c->default_model);
	q_in_int_or_null(&q, c->max_tokens_per_request, c->max_tokens_per_request == 0);
	q_in_str(&q, allowed);
	q_in_int_or_null(&q, c->max_concurrent_requests, c->max_concurrent_requests == 0);
	q_in_int_or_null(&q, c->requests_per_minute, c->requests_per_minute == 0);
	q_in_blob(&q, c->byok_sealed, c->byok_sealed_len);
	q_in_int_or_null(&q, c->byok_key_id, !has_byok);
	q_in_str(&q, has_byok && last4[0] ? last4 : NULL);
	q_in_blob(&q, c->byok_sealed, c->byok_sealed_len); /* for byok_updated_at */
	rc = q_exec(&q, err);
	q_end(&q);
	free(allowed);
	if (rc == AIGW_ENOTFOUND)
		aigw_fail(err, rc, "no app '%.64s'", app_id);
	return rc;
}

/* The ids of every app with a sealed key; caller frees the array and ids. */
static aigw_rc byok_app_ids(struct db *db, char ***ids_out, size_t *n_out, char *err)
{
	char **ids = NULL, *id = NULL;
	size_t n = 0, cap = 0;
	struct q q;
	aigw_rc rc;

	q_init(&q, db, SQL_CFG_BYOK_APPS);
	q_out_dyn(&q, &id, NULL);
	rc = q_exec(&q, err);
	while (rc == AIGW_OK) {
		rc = q_fetch(&q, err);
		if (rc != AIGW_OK)
			break;
		if (n == BYOK_APPS_MAX) {
			free(id);
			rc = aigw_fail(err, AIGW_ETOOBIG, "more than %d apps with a BYOK key",
			               BYOK_APPS_MAX);
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			ids = xrealloc(ids, cap * sizeof *ids);
		}
		ids[n++] = id;
		id = NULL;
	}
	q_end(&q);
	if (rc == AIGW_ENOTFOUND)
		rc = AIGW_OK;
	*ids_out = ids;
	*n_out = n;
	return rc;
}

aigw_rc db_ai_config_each_byok(struct db *db,
                               int (*fn)(const char *app_id, const struct ai_config *c, void *arg),
                               void *arg, char *err)
{
	struct ai_config c;
	char **ids = NULL;
	size_t n = 0, i;
	bool stop = false;
	aigw_rc rc;

	/* Collected first so that fn may run its own statements and
	 * transactions on this db while we iterate. */
	rc = byok_app_ids(db, &ids, &n, err);
	for (i = 0; i < n && rc == AIGW_OK && !stop; i++) {
		rc = db_ai_config_get(db, ids[i], false, &c, err);
		if (rc == AIGW_OK && c.byok_sealed)
			stop = fn(ids[i], &c, arg) != 0;
		ai_config_free(&c);
	}
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return rc;
}

aigw_rc db_ai_config_reseal_byok(struct db *db, const char *app_id, int old_key_id,
                                 const unsigned char *sealed, size_t sealed_len, int new_key_id,
                                 char *err)
{
	struct q q;
	aigw_rc rc;

	if (!sealed || sealed_len == 0 || sealed_len > BYOK_SEALED_MAX)
		return aigw_fail(err, AIGW_ETOOBIG, "sealed BYOK key of %zu bytes (max %d)",
		                 sealed_len, BYOK_SEALED_MAX);
	q_init(&q, db, SQL_CFG_RESEAL);
	q_in_blob(&q, sealed, sealed_len);
	q_in_int(&q, new_key_id);
	q_in_str(&q, app_id);
	q_in_int(&q, old_key_id);
	rc = q_exec(&q, err);
	if (rc == AIGW_OK && q_affected(&q) == 0)
		rc = aigw_fail(err, AIGW_ENOTFOUND,
		               "app '%.64s' has no BYOK key sealed under key %d any more", app_id,
		               old_key_id);
	q_end(&q);
	return rc;
}

struct config_update {
	const char *app_id;
	ai_config_edit_fn edit;
	void *arg;
	struct ai_config *cfg;
};

static aigw_rc update_body(struct db *db, void *arg, char *err)
{
	struct config_update *u = arg;
	bool write = false;
	aigw_rc rc;

	ai_config_free(u->cfg); /* what a lost run left */
	rc = db_ai_config_get(db, u->app_id, true, u->cfg, err);
	if (rc == AIGW_OK)
		rc = u->edit(u->cfg, u->arg, &write, err);
	if (rc != AIGW_OK || !write)
		return rc;
	rc = db_ai_config_put(db, u->app_id, u->cfg, err);
	if (rc != AIGW_OK)
		return rc;
	ai_config_free(u->cfg);
	return db_ai_config_get(db, u->app_id, false, u->cfg, err);
}

aigw_rc db_ai_config_update(struct db *db, const char *app_id, ai_config_edit_fn edit, void *arg,
                            struct ai_config *cfg, char *err)
{
	struct config_update u = {app_id, edit, arg, cfg};

	return db_tx_run(db, "ai config update of", app_id, update_body, &u, err);
}

struct reseal {
	const char *app_id;
	ai_config_reseal_fn fn;
	void *arg;
	bool *resealed;
};

static aigw_rc reseal_body(struct db *db, void *arg, char *err)
{
	struct reseal *r = arg;
	struct ai_config c;
	unsigned char *sealed = NULL;
	size_t sealed_len = 0;
	int key_id = 0;
	aigw_rc rc;

	*r->resealed = false;
	memset(&c, 0, sizeof c);
	rc = db_ai_config_get(db, r->app_id, true, &c, err);
	if (rc == AIGW_OK && c.byok_sealed)
		rc = r->fn(r->app_id, &c, r->arg, &sealed, &sealed_len, &key_id, err);
	if (rc == AIGW_OK && sealed) {
		rc = db_ai_config_reseal_byok(db, r->app_id, c.byok_key_id, sealed, sealed_len,
		                              key_id, err);
		*r->resealed = rc == AIGW_OK;
	}
	free(sealed);
	ai_config_free(&c);
	return rc;
}

aigw_rc db_ai_config_reseal(struct db *db, const char *app_id, ai_config_reseal_fn fn, void *arg,
                            bool *resealed, char *err)
{
	struct reseal r = {app_id, fn, arg, resealed};

	return db_tx_run(db, "BYOK re-seal of", app_id, reseal_body, &r, err);
}
