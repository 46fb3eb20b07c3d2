/* The rules of an app's AI settings: PUT /ai/config bodies checked and
 * merged, kept apart from the database so they are unit-tested as a table. A patch says, per field,
 * whether the body left it alone, cleared it (null) or set it. */
#ifndef AIGW_CONFIG_RULES_H
#define AIGW_CONFIG_RULES_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "error.h"

struct ai_config;

#define MAX_TOKENS_CAP 100000
#define MAX_CONCURRENT_CAP 100000
#define REQUESTS_PER_MINUTE_CAP 10000000
#define ALLOWED_MODELS_MAX 500
#define MODEL_ID_MAX 256

enum patch_op { PATCH_KEEP = 0, PATCH_CLEAR, PATCH_SET };

struct ai_config_patch {
	enum patch_op default_model_op;
	const char *default_model; /* borrowed from the parsed JSON */
	enum patch_op max_tokens_op;
	int max_tokens;
	enum patch_op max_concurrent_op;
	int max_concurrent;
	enum patch_op rpm_op;
	int rpm;
	enum patch_op allowed_op;
	const char **allowed; /* malloc'd array of borrowed strings */
	size_t n_allowed;
	enum patch_op byok_op;
	const char *byok_key; /* borrowed; the handler wipes the body after use */
	size_t byok_len;
};

/* Checks one body, read by strict_json_parse (so no key appears twice). On
 * AIGW_EINVAL, err says what is wrong and *param names the offending field
 * (or NULL). The patch borrows from body. */
aigw_rc ai_config_patch_parse(const cJSON *body, struct ai_config_patch *p, const char **param,
                              char *err);
/* Applies p to cfg (which the caller owns) without touching BYOK fields,
 * then checks the cross-field rule (defaultModel within allowedModels). */
aigw_rc ai_config_patch_apply(struct ai_config *cfg, const struct ai_config_patch *p,
                              const char **param, char *err);
void ai_config_patch_free(struct ai_config_patch *p);
/* The public JSON view of a config (never the BYOK key). Caller cJSON_Deletes. */
cJSON *ai_config_to_json(const char *app_id, const struct ai_config *cfg);

#endif
