/* libFuzzer harness: the PUT /ai/config rules on any JSON tree cJSON reads
 * (ai_config_patch_parse, then ai_config_patch_apply to a stored config and
 * its public view ai_config_to_json). A patch that parses holds only what
 * the rules allow, and an applied config keeps defaultModel within a
 * non-empty allowedModels. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ai_config.h"
#include "config_rules.h"
#include "alloc.h"
#include "byok.h"
#include "error.h"
#include "fuzz.h"

/* ai_config_patch_parse reads bodies from strict_json_parse, which never
 * gives a key twice (ai_config_rules.h); cJSON may, so such trees are not
 * the function's to handle. */
static bool has_duplicate_key(const cJSON *obj)
{
	const cJSON *a, *b;

	cJSON_ArrayForEach(a, obj)
	{
		for (b = a->next; b; b = b->next)
			if (a->string && b->string && strcmp(a->string, b->string) == 0)
				return true;
	}
	return false;
}

static void check_patch(const struct ai_config_patch *p)
{
	if (p->default_model_op == PATCH_SET)
		FUZZ_ASSERT(p->default_model && p->default_model[0] &&
		            strlen(p->default_model) <= MODEL_ID_MAX);
	if (p->max_tokens_op == PATCH_SET)
		FUZZ_ASSERT(p->max_tokens >= 1 && p->max_tokens <= MAX_TOKENS_CAP);
	if (p->max_concurrent_op == PATCH_SET)
		FUZZ_ASSERT(p->max_concurrent >= 1 && p->max_concurrent <= MAX_CONCURRENT_CAP);
	if (p->rpm_op == PATCH_SET)
		FUZZ_ASSERT(p->rpm >= 1 && p->rpm <= REQUESTS_PER_MINUTE_CAP);
	if (p->allowed_op == PATCH_SET) {
		FUZZ_ASSERT(p->n_allowed >= 1 && p->n_allowed <= ALLOWED_MODELS_MAX);
		for (size_t i = 0; i < p->n_allowed; i++) {
			FUZZ_ASSERT(p->allowed[i][0] && strlen(p->allowed[i]) <= MODEL_ID_MAX);
			for (size_t j = 0; j < i; j++)
				FUZZ_ASSERT(strcmp(p->allowed[i], p->allowed[j]) != 0);
		}
	}
	if (p->byok_op == PATCH_SET) {
		FUZZ_ASSERT(p->byok_key && p->byok_len == strlen(p->byok_key));
		FUZZ_ASSERT(p->byok_len >= 1 && p->byok_len <= BYOK_KEY_MAX);
		for (size_t i = 0; i < p->byok_len; i++)
			FUZZ_ASSERT((unsigned char)p->byok_key[i] >= 0x20 &&
			            p->byok_key[i] != 0x7f);
	}
}

/* A stored config to patch: defaultModel within two allowed models, or
 * (odd inputs) nothing set. */
static void stored_config(struct ai_config *cfg, bool empty)
{
	memset(cfg, 0, sizeof(*cfg));
	if (empty)
		return;
	cfg->default_model = xstrdup("openai/gpt-4o-mini");
	cfg->max_tokens_per_request = 1000;
	cfg->allowed_models = xcalloc(2, sizeof(char *));
	cfg->allowed_models[0] = xstrdup("openai/gpt-4o-mini");
	cfg->allowed_models[1] = xstrdup("anthropic/claude-3.5-sonnet");
	cfg->n_allowed = 2;
	memcpy(cfg->updated_at, "2026-11-01 12:00:00.123456", 27);
}

static bool listed(const struct ai_config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->n_allowed; i++)
		if (strcmp(cfg->allowed_models[i], id) == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ai_config_patch p;
	struct ai_config cfg;
	const char *param = NULL;
	char err[AIGW_ERRLEN];
	cJSON *body = cJSON_ParseWithLength((const char *)data, size);
	aigw_rc rc;

	if (!body || has_duplicate_key(body)) {
		cJSON_Delete(body);
		return 0;
	}
	err[0] = '\0';
	rc = ai_config_patch_parse(body, &p, &param, err);
	if (rc != AIGW_OK) {
		FUZZ_ASSERT(rc == AIGW_EINVAL && err[0]);
		cJSON_Delete(body);
		return 0;
	}
	FUZZ_ASSERT(param == NULL);
	check_patch(&p);

	stored_config(&cfg, size % 2);
	err[0] = '\0';
	rc = ai_config_patch_apply(&cfg, &p, &param, err);
	if (rc == AIGW_OK) {
		cJSON *view;
		char *text;

		FUZZ_ASSERT(!cfg.default_model || cfg.n_allowed == 0 ||
		            listed(&cfg, cfg.default_model));
		if (p.max_tokens_op == PATCH_SET)
			FUZZ_ASSERT(cfg.max_tokens_per_request == p.max_tokens);
		if (p.max_concurrent_op == PATCH_SET)
			FUZZ_ASSERT(cfg.max_concurrent_requests == p.max_concurrent);
		if (p.rpm_op == PATCH_SET)
			FUZZ_ASSERT(cfg.requests_per_minute == p.rpm);
		view = ai_config_to_json("demo", &cfg);
		text = cJSON_PrintUnformatted(view);
		FUZZ_ASSERT(text != NULL);
		cJSON_free(text);
		cJSON_Delete(view);
	} else {
		FUZZ_ASSERT(rc == AIGW_EINVAL && err[0] && param != NULL);
	}
	ai_config_free(&cfg);
	ai_config_patch_free(&p);
	cJSON_Delete(body);
	return 0;
}
