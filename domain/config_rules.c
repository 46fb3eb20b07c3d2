/* The PUT /ai/config rules: parse a body into a patch, apply it to the
 * stored config with the cross-field check done on the merged result, and
 * the public JSON view. No database here, so every rule is a unit-test
 * table row. */
#include "config.h"

#include "config_rules.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_config.h"
#include "alloc.h"
#include "byok.h"

#define F_DEFAULT "defaultModel"
#define F_MAXTOK "maxTokensPerRequest"
#define F_ALLOWED "allowedModels"
#define F_BYOK "byokKey"
#define F_MAXCONC "maxConcurrentRequests"
#define F_RPM "requestsPerMinute"

static aigw_rc bad(const char **param, const char *field, char *err, const char *msg)
{
	*param = field;
	return aigw_fail(err, AIGW_EINVAL, "%s", msg);
}

static aigw_rc parse_default_model(const cJSON *v, struct ai_config_patch *p, const char **param,
                                   char *err)
{
	size_t len;

	if (cJSON_IsNull(v)) {
		p->default_model_op = PATCH_CLEAR;
		return AIGW_OK;
	}
	if (!cJSON_IsString(v))
		return bad(param, F_DEFAULT, err, "defaultModel must be a string or null");
	len = strlen(v->valuestring);
	if (len == 0)
		return bad(param, F_DEFAULT, err, "defaultModel must not be empty");
	if (len > MODEL_ID_MAX) {
		*param = F_DEFAULT;
		return aigw_fail(err, AIGW_EINVAL, "defaultModel is longer than %d bytes",
		                 MODEL_ID_MAX);
	}
	p->default_model_op = PATCH_SET;
	p->default_model = v->valuestring;
	return AIGW_OK;
}

/* An integer field from 1 to max, or null (cleared). */
static aigw_rc parse_int_field(const cJSON *v, const char *field, int max, enum patch_op *op,
                               int *out, const char **param, char *err)
{
	double d;

	if (cJSON_IsNull(v)) {
		*op = PATCH_CLEAR;
		return AIGW_OK;
	}
	d = cJSON_IsNumber(v) ? v->valuedouble : 0;
	/* range first, so the int conversion below is defined */
	if (!cJSON_IsNumber(v) || !(d >= 1 && d <= max) || (double)(int)d != d) {
		*param = field;
		return aigw_fail(err, AIGW_EINVAL, "%s must be an integer from 1 to %d, or null",
		                 field, max);
	}
	*op = PATCH_SET;
	*out = (int)d;
	return AIGW_OK;
}

static aigw_rc parse_allowed(const cJSON *v, struct ai_config_patch *p, const char **param,
                             char *err)
{
	const cJSON *it;
	int n;
	size_t i = 0;

	if (cJSON_IsNull(v)) {
		p->allowed_op = PATCH_CLEAR;
		return AIGW_OK;
	}
	if (!cJSON_IsArray(v))
		return bad(param, F_ALLOWED, err,
		           "allowedModels must be an array of strings or null");
	n = cJSON_GetArraySize(v);
	*param = F_ALLOWED;
	if (n > ALLOWED_MODELS_MAX)
		return aigw_fail(err, AIGW_EINVAL, "allowedModels has more than %d entries",
		                 ALLOWED_MODELS_MAX);
	if (n == 0) {
		*param = NULL;
		p->allowed_op = PATCH_CLEAR; /* [] and null both mean "all models" */
		return AIGW_OK;
	}
	p->allowed = xcalloc((size_t)n, sizeof(*p->allowed));
	cJSON_ArrayForEach(it, v)
	{
		size_t len;

		if (!cJSON_IsString(it))
			return aigw_fail(err, AIGW_EINVAL, "allowedModels[%zu] is not a string", i);
		len = strlen(it->valuestring);
		if (len == 0)
			return aigw_fail(err, AIGW_EINVAL, "allowedModels[%zu] is empty", i);
		if (len > MODEL_ID_MAX)
			return aigw_fail(err, AIGW_EINVAL,
			                 "allowedModels[%zu] is longer than %d bytes", i,
			                 MODEL_ID_MAX);
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->allowed[j], it->valuestring) == 0)
				return aigw_fail(err, AIGW_EINVAL,
				                 "allowedModels[%zu] repeats allowedModels[%zu]", i,
				                 j);
		p->allowed[i++] = it->valuestring;
	}
	*param = NULL;
	p->allowed_op = PATCH_SET;
	p->n_allowed = i;
	return AIGW_OK;
}

/* The error texts here never quote the value: it is a secret. */
static aigw_rc parse_byok(const cJSON *v, struct ai_config_patch *p, const char **param, char *err)
{
	const unsigned char *s;
	size_t len;

	if (cJSON_IsNull(v)) {
		p->byok_op = PATCH_CLEAR;
		return AIGW_OK;
	}
	if (!cJSON_IsString(v))
		return bad(param, F_BYOK, err, "byokKey must be a string or null");
	s = (const unsigned char *)v->valuestring;
	len = strlen(v->valuestring);
	if (len == 0)
		return bad(param, F_BYOK, err, "byokKey must not be empty");
	if (len > BYOK_KEY_MAX) {
		*param = F_BYOK;
		return aigw_fail(err, AIGW_EINVAL, "byokKey is longer than %d bytes", BYOK_KEY_MAX);
	}
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return bad(param, F_BYOK, err, "byokKey contains control characters");
	/* An upstream key ("sk-or-v1-" and 64 hex digits for OpenRouter): a
	 * typo or a pasted placeholder is refused now, not at the first call. */
	if (len < BYOK_KEY_MIN || strncmp(v->valuestring, "sk-", 3) != 0 ||
	    strspn(v->valuestring, BYOK_KEY_CHARS) != len)
		return bad(param, F_BYOK, err,
		           "byokKey does not look like an upstream API key: it must start with "
		           "\"sk-\" and be at least 20 letters, digits, '-' or '_' (an "
		           "OpenRouter key is 73 characters long)");
	p->byok_op = PATCH_SET;
	p->byok_key = v->valuestring;
	p->byok_len = len;
	return AIGW_OK;
}

aigw_rc ai_config_patch_parse(const cJSON *body, struct ai_config_patch *p, const char **param,
                              char *err)
{
	aigw_rc rc = AIGW_OK;
	const cJSON *f;

	memset(p, 0, sizeof(*p));
	*param = NULL;
	if (!cJSON_IsObject(body))
		return aigw_fail(err, AIGW_EINVAL, "request body must be a JSON object");
	cJSON_ArrayForEach(f, body)
	{
		const char *name = f->string ? f->string : "";

		if (strcmp(name, F_DEFAULT) == 0)
			rc = parse_default_model(f, p, param, err);
		else if (strcmp(name, F_MAXTOK) == 0)
			rc = parse_int_field(f, F_MAXTOK, MAX_TOKENS_CAP, &p->max_tokens_op,
			                     &p->max_tokens, param, err);
		else if (strcmp(name, F_MAXCONC) == 0)
			rc = parse_int_field(f, F_MAXCONC, MAX_CONCURRENT_CAP,
			                     &p->max_concurrent_op, &p->max_concurrent, param, err);
		else if (strcmp(name, F_RPM) == 0)
			rc = parse_int_field(f, F_RPM, REQUESTS_PER_MINUTE_CAP, &p->rpm_op, &p->rpm,
			                     param, err);
		else if (strcmp(name, F_ALLOWED) == 0)
			rc = parse_allowed(f, p, param, err);
		else if (strcmp(name, F_BYOK) == 0)
			rc = parse_byok(f, p, param, err);
		else {
			/* the name is echoed as param only; it may be anything */
			*param = name;
			rc = aigw_fail(err, AIGW_EINVAL,
			               "unknown field (allowed: defaultModel, maxTokensPerRequest, "
			               "allowedModels, maxConcurrentRequests, requestsPerMinute, "
			               "byokKey)");
		}
		if (rc != AIGW_OK)
			goto out;
	}
out:
	if (rc != AIGW_OK)
		ai_config_patch_free(p);
	return rc;
}

void ai_config_patch_free(struct ai_config_patch *p)
{
	if (!p)
		return;
	free((void *)p->allowed);
	memset(p, 0, sizeof(*p));
}

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* Unset integers are 0. */
static void apply_int(enum patch_op op, int v, int *field)
{
	if (op == PATCH_SET)
		*field = v;
	else if (op == PATCH_CLEAR)
		*field = 0;
}

aigw_rc ai_config_patch_apply(struct ai_config *cfg, const struct ai_config_patch *p,
                              const char **param, char *err)
{
	const char *dm = cfg->default_model;
	const char *const *am = (const char *const *)cfg->allowed_models;
	size_t an = cfg->n_allowed;

	*param = NULL;
	/* Check the merged result before changing anything. */
	if (p->default_model_op == PATCH_SET)
		dm = p->default_model;
	else if (p->default_model_op == PATCH_CLEAR)
		dm = NULL;
	if (p->allowed_op == PATCH_SET) {
		am = p->allowed;
		an = p->n_allowed;
	} else if (p->allowed_op == PATCH_CLEAR) {
		am = NULL;
		an = 0;
	}
	if (dm && an > 0 && !in_list(am, an, dm)) {
		*param = F_DEFAULT;
		return aigw_fail(err, AIGW_EINVAL,
		                 "defaultModel \"%.*s\" is not one of allowedModels", 100, dm);
	}

	if (p->default_model_op != PATCH_KEEP) {
		char *nd = dm ? xstrdup(dm) : NULL;
		free(cfg->default_model);
		cfg->default_model = nd;
	}
	apply_int(p->max_tokens_op, p->max_tokens, &cfg->max_tokens_per_request);
	apply_int(p->max_concurrent_op, p->max_concurrent, &cfg->max_concurrent_requests);
	apply_int(p->rpm_op, p->rpm, &cfg->requests_per_minute);
	if (p->allowed_op != PATCH_KEEP) {
		for (size_t i = 0; i < cfg->n_allowed; i++)
			free(cfg->allowed_models[i]);
		free(cfg->allowed_models);
		cfg->allowed_models = NULL;
		cfg->n_allowed = 0;
		if (p->allowed_op == PATCH_SET) {
			cfg->allowed_models = xcalloc(p->n_allowed, sizeof(char *));
			for (size_t i = 0; i < p->n_allowed; i++)
				cfg->allowed_models[i] = xstrdup(p->allowed[i]);
			cfg->n_allowed = p->n_allowed;
		}
	}
	return AIGW_OK;
}

/* "YYYY-MM-DD HH:MM:SS[.ffffff]" (MariaDB) or ISO-8601 in, the API's
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ" out; NULL for an empty time. */
static cJSON *time_json(const char *s)
{
	char out[32];
	size_t len, i, k = 0;

	if (!s || !*s)
		return cJSON_CreateNull();
	len = strlen(s);
	if (len < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T'))
		return cJSON_CreateString(s);
	memcpy(out, s, 19);
	out[10] = 'T';
	k = 19;
	out[k++] = '.';
	i = 19;
	if (i < len && s[i] == '.')
		i++;
	for (int d = 0; d < 6; d++) {
		if (i < len && s[i] >= '0' && s[i] <= '9')
			out[k++] = s[i++];
		else
			out[k++] = '0';
	}
	out[k++] = 'Z';
	out[k] = '\0';
	return cJSON_CreateString(out);
}

/* Unset (0) integers show as null. */
static void add_int_or_null(cJSON *o, const char *name, int v)
{
	if (v > 0)
		cJSON_AddNumberToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

cJSON *ai_config_to_json(const char *app_id, const struct ai_config *cfg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *models = cJSON_CreateArray();
	cJSON *byok = cJSON_CreateObject();
	bool configured = cfg->byok_sealed != NULL && cfg->byok_sealed_len > 0;

	cJSON_AddStringToObject(o, "appId", app_id);
	if (cfg->default_model)
		cJSON_AddStringToObject(o, "defaultModel", cfg->default_model);
	else
		cJSON_AddNullToObject(o, "defaultModel");
	add_int_or_null(o, F_MAXTOK, cfg->max_tokens_per_request);
	for (size_t i = 0; i < cfg->n_allowed; i++)
		cJSON_AddItemToArray(models, cJSON_CreateString(cfg->allowed_models[i]));
	cJSON_AddItemToObject(o, "allowedModels", models);
	add_int_or_null(o, F_MAXCONC, cfg->max_concurrent_requests);
	add_int_or_null(o, F_RPM, cfg->requests_per_minute);
	cJSON_AddBoolToObject(byok, "configured", configured);
	if (configured && cfg->byok_last4[0])
		cJSON_AddStringToObject(byok, "last4", cfg->byok_last4);
	else
		cJSON_AddNullToObject(byok, "last4");
	cJSON_AddItemToObject(byok, "updatedAt",
	                      time_json(configured ? cfg->byok_updated_at : NULL));
	cJSON_AddItemToObject(o, "byok", byok);
	cJSON_AddItemToObject(o, "updatedAt", time_json(cfg->updated_at));
	return o;
}
