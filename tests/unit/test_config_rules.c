/* Unit tests of domain/config_rules.c: every PUT /ai/config rule as a
 * table row (body -> accepted, or rejected naming the field), the merge with
 * an existing config (absent keeps, null clears, the defaultModel-in-
 * allowedModels rule on the merged result), and the public JSON shape. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ai_config.h"
#include "config_rules.h"
#include "alloc.h"
#include "byok.h"
#include "check.h"
#include "error.h"
#include "strict_json.h"

struct row {
	const char *body;
	aigw_rc rc;
	const char *param; /* expected param on error; NULL for none */
};

static const struct row rows[] = {
        /* shape */
        {"{}", AIGW_OK, NULL},
        {"[]", AIGW_EINVAL, NULL},
        {"\"x\"", AIGW_EINVAL, NULL},
        {"42", AIGW_EINVAL, NULL},
        {"null", AIGW_EINVAL, NULL},
        {"{\"bogus\":1}", AIGW_EINVAL, "bogus"},
        {"{\"defaultmodel\":\"a\"}", AIGW_EINVAL, "defaultmodel"},
        {"{\"maxTokensPerRequest\":5,\"maxTokensPerRequest\":6}", AIGW_EINVAL,
         "maxTokensPerRequest"},
        /* maxTokensPerRequest */
        {"{\"maxTokensPerRequest\":1}", AIGW_OK, NULL},
        {"{\"maxTokensPerRequest\":4096}", AIGW_OK, NULL},
        {"{\"maxTokensPerRequest\":100000}", AIGW_OK, NULL},
        {"{\"maxTokensPerRequest\":1e3}", AIGW_OK, NULL},
        {"{\"maxTokensPerRequest\":null}", AIGW_OK, NULL},
        {"{\"maxTokensPerRequest\":0}", AIGW_EINVAL, "maxTokensPerRequest"},
        {"{\"maxTokensPerRequest\":-1}", AIGW_EINVAL, "maxTokensPerRequest"},
        {"{\"maxTokensPerRequest\":100001}", AIGW_EINVAL, "maxTokensPerRequest"},
        {"{\"maxTokensPerRequest\":1.5}", AIGW_EINVAL, "maxTokensPerRequest"},
        {"{\"maxTokensPerRequest\":1e300}", AIGW_EINVAL, "maxTokensPerRequest"},
        {"{\"maxTokensPerRequest\":\"10\"}", AIGW_EINVAL, "maxTokensPerRequest"},
        {"{\"maxTokensPerRequest\":true}", AIGW_EINVAL, "maxTokensPerRequest"},
        {"{\"maxTokensPerRequest\":[10]}", AIGW_EINVAL, "maxTokensPerRequest"},
        {"{\"maxTokensPerRequest\":{}}", AIGW_EINVAL, "maxTokensPerRequest"},
        /* allowedModels */
        {"{\"allowedModels\":[\"a/b\",\"c/d\"]}", AIGW_OK, NULL},
        {"{\"allowedModels\":[]}", AIGW_OK, NULL},
        {"{\"allowedModels\":null}", AIGW_OK, NULL},
        {"{\"allowedModels\":\"a/b\"}", AIGW_EINVAL, "allowedModels"},
        {"{\"allowedModels\":{}}", AIGW_EINVAL, "allowedModels"},
        {"{\"allowedModels\":1}", AIGW_EINVAL, "allowedModels"},
        {"{\"allowedModels\":[\"a\",1]}", AIGW_EINVAL, "allowedModels"},
        {"{\"allowedModels\":[\"a\",null]}", AIGW_EINVAL, "allowedModels"},
        {"{\"allowedModels\":[[\"a\"]]}", AIGW_EINVAL, "allowedModels"},
        {"{\"allowedModels\":[\"\"]}", AIGW_EINVAL, "allowedModels"},
        {"{\"allowedModels\":[\"a\",\"b\",\"a\"]}", AIGW_EINVAL, "allowedModels"},
        /* defaultModel */
        {"{\"defaultModel\":\"openai/gpt-4o\"}", AIGW_OK, NULL},
        {"{\"defaultModel\":null}", AIGW_OK, NULL},
        {"{\"defaultModel\":\"\"}", AIGW_EINVAL, "defaultModel"},
        {"{\"defaultModel\":5}", AIGW_EINVAL, "defaultModel"},
        {"{\"defaultModel\":[\"a\"]}", AIGW_EINVAL, "defaultModel"},
        {"{\"defaultModel\":false}", AIGW_EINVAL, "defaultModel"},
        /* byokKey */
        {"{\"byokKey\":\"sk-or-v1-0123456789abcdef\"}", AIGW_OK, NULL},
        {"{\"byokKey\":\"sk-or-v1-abc\"}", AIGW_EINVAL, "byokKey"},        /* short */
        {"{\"byokKey\":\"short\"}", AIGW_EINVAL, "byokKey"},
        {"{\"byokKey\":\"pk-or-v1-0123456789abcdef\"}", AIGW_EINVAL, "byokKey"},
        {"{\"byokKey\":\"sk-or-v1 0123456789abcdef\"}", AIGW_EINVAL, "byokKey"}, /* space */
        {"{\"byokKey\":\"sk-or-v1-0123456789abcdé\"}", AIGW_EINVAL, "byokKey"},
        {"{\"byokKey\":null}", AIGW_OK, NULL},
        {"{\"byokKey\":\"\"}", AIGW_EINVAL, "byokKey"},
        {"{\"byokKey\":123}", AIGW_EINVAL, "byokKey"},
        {"{\"byokKey\":\"sk\\nor\"}", AIGW_EINVAL, "byokKey"},
        {"{\"byokKey\":\"sk\\tor\"}", AIGW_EINVAL, "byokKey"},
        {"{\"byokKey\":\"sk\\u007for\"}", AIGW_EINVAL, "byokKey"},
        /* maxConcurrentRequests */
        {"{\"maxConcurrentRequests\":1}", AIGW_OK, NULL},
        {"{\"maxConcurrentRequests\":100000}", AIGW_OK, NULL},
        {"{\"maxConcurrentRequests\":null}", AIGW_OK, NULL},
        {"{\"maxConcurrentRequests\":0}", AIGW_EINVAL, "maxConcurrentRequests"},
        {"{\"maxConcurrentRequests\":100001}", AIGW_EINVAL, "maxConcurrentRequests"},
        {"{\"maxConcurrentRequests\":-3}", AIGW_EINVAL, "maxConcurrentRequests"},
        {"{\"maxConcurrentRequests\":2.5}", AIGW_EINVAL, "maxConcurrentRequests"},
        {"{\"maxConcurrentRequests\":\"4\"}", AIGW_EINVAL, "maxConcurrentRequests"},
        {"{\"maxConcurrentRequests\":false}", AIGW_EINVAL, "maxConcurrentRequests"},
        {"{\"maxConcurrentRequests\":[4]}", AIGW_EINVAL, "maxConcurrentRequests"},
        /* requestsPerMinute */
        {"{\"requestsPerMinute\":1}", AIGW_OK, NULL},
        {"{\"requestsPerMinute\":10000000}", AIGW_OK, NULL},
        {"{\"requestsPerMinute\":6e2}", AIGW_OK, NULL},
        {"{\"requestsPerMinute\":null}", AIGW_OK, NULL},
        {"{\"requestsPerMinute\":0}", AIGW_EINVAL, "requestsPerMinute"},
        {"{\"requestsPerMinute\":10000001}", AIGW_EINVAL, "requestsPerMinute"},
        {"{\"requestsPerMinute\":1e300}", AIGW_EINVAL, "requestsPerMinute"},
        {"{\"requestsPerMinute\":0.5}", AIGW_EINVAL, "requestsPerMinute"},
        {"{\"requestsPerMinute\":\"60\"}", AIGW_EINVAL, "requestsPerMinute"},
        {"{\"requestsPerMinute\":{}}", AIGW_EINVAL, "requestsPerMinute"},
        {"{\"requestsperminute\":60}", AIGW_EINVAL, "requestsperminute"},
        {"{\"requestsPerMinute\":60,\"maxConcurrentRequests\":0}", AIGW_EINVAL,
         "maxConcurrentRequests"},
        /* all together */
        {"{\"defaultModel\":\"a\",\"allowedModels\":[\"a\",\"b\"],\"maxTokensPerRequest\":10,"
         "\"byokKey\":\"sk-0123456789abcdefghij\"}",
         AIGW_OK, NULL},
        {"{\"defaultModel\":\"a\",\"maxTokensPerRequest\":0}", AIGW_EINVAL, "maxTokensPerRequest"},
};

/* Reads text as the handler does: the strict reader first (it owns
 * duplicate keys), then the rules. */
static aigw_rc parse_text(const char *text, cJSON **json, struct ai_config_patch *p,
                          const char **param, char *err)
{
	static struct strict_json_error e;

	memset(p, 0, sizeof(*p));
	if (strict_json_parse(text, strlen(text), json, &e) != AIGW_OK) {
		*param = e.param[0] ? e.param : NULL;
		snprintf(err, AIGW_ERRLEN, "%s", e.message);
		return AIGW_EINVAL;
	}
	return ai_config_patch_parse(*json, p, param, err);
}

static void table(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		cJSON *j;
		struct ai_config_patch p;
		const char *param = "unset";
		char err[AIGW_ERRLEN] = "";
		aigw_rc rc = parse_text(rows[i].body, &j, &p, &param, err);

		if (rc != rows[i].rc)
			fprintf(stderr, "  row %zu: %s -> %s (%s)\n", i, rows[i].body,
			        aigw_rc_name(rc), err);
		CHECK_INT(rc, rows[i].rc);
		if (rows[i].param)
			CHECK_STR(param, rows[i].param);
		else
			CHECK(param == NULL);
		if (rc != AIGW_OK) {
			CHECK(err[0] != '\0');
			CHECK(strstr(err, "sk-or") == NULL);
		}
		ai_config_patch_free(&p);
		cJSON_Delete(j);
	}
}

/* Builds {"<field>": <value>} where value is generated, then parses it. */
static aigw_rc parse_built(cJSON *j, const char **param)
{
	struct ai_config_patch p;
	char err[AIGW_ERRLEN];
	aigw_rc rc = ai_config_patch_parse(j, &p, param, err);

	ai_config_patch_free(&p);
	return rc;
}

static void lengths(void)
{
	char s[600];
	const char *param = NULL;
	cJSON *j;

	memset(s, 'm', sizeof(s));
	/* model ids: 256 ok, 257 too long */
	s[MODEL_ID_MAX] = '\0';
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "defaultModel", s);
	CHECK_INT(parse_built(j, &param), AIGW_OK);
	cJSON_Delete(j);
	s[MODEL_ID_MAX] = 'm';
	s[MODEL_ID_MAX + 1] = '\0';
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "defaultModel", s);
	CHECK_INT(parse_built(j, &param), AIGW_EINVAL);
	CHECK_STR(param, "defaultModel");
	cJSON_Delete(j);
	j = cJSON_CreateObject();
	cJSON_AddItemToObject(j, "allowedModels", cJSON_CreateStringArray((const char *[]){s}, 1));
	CHECK_INT(parse_built(j, &param), AIGW_EINVAL);
	CHECK_STR(param, "allowedModels");
	cJSON_Delete(j);

	/* byokKey: 512 ok, 513 too long */
	memset(s, 'k', sizeof(s));
	memcpy(s, "sk-", 3);
	s[BYOK_KEY_MAX] = '\0';
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "byokKey", s);
	CHECK_INT(parse_built(j, &param), AIGW_OK);
	cJSON_Delete(j);
	s[BYOK_KEY_MAX] = 'k';
	s[BYOK_KEY_MAX + 1] = '\0';
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "byokKey", s);
	CHECK_INT(parse_built(j, &param), AIGW_EINVAL);
	CHECK_STR(param, "byokKey");
	cJSON_Delete(j);
}

static cJSON *models_array(int n)
{
	cJSON *a = cJSON_CreateArray();
	char name[32];

	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "vendor/model-%d", i);
		cJSON_AddItemToArray(a, cJSON_CreateString(name));
	}
	return a;
}

static void allowed_count_cap(void)
{
	const char *param = NULL;
	cJSON *j = cJSON_CreateObject();

	cJSON_AddItemToObject(j, "allowedModels", models_array(500));
	CHECK_INT(parse_built(j, &param), AIGW_OK);
	cJSON_Delete(j);
	j = cJSON_CreateObject();
	cJSON_AddItemToObject(j, "allowedModels", models_array(501));
	CHECK_INT(parse_built(j, &param), AIGW_EINVAL);
	CHECK_STR(param, "allowedModels");
	cJSON_Delete(j);
}

static void patch_ops(void)
{
	cJSON *j;
	struct ai_config_patch p;
	const char *param;
	char err[AIGW_ERRLEN];

	CHECK_INT(parse_text("{\"defaultModel\":\"a\",\"allowedModels\":[],"
	                     "\"maxTokensPerRequest\":null,\"byokKey\":\"sk-1234567890abcdefghi\"}",
	                     &j, &p, &param, err),
	          AIGW_OK);
	CHECK_INT(p.default_model_op, PATCH_SET);
	CHECK_STR(p.default_model, "a");
	CHECK_INT(p.allowed_op, PATCH_CLEAR);
	CHECK_INT(p.max_tokens_op, PATCH_CLEAR);
	CHECK_INT(p.byok_op, PATCH_SET);
	CHECK_INT(p.byok_len, 22);
	ai_config_patch_free(&p);
	cJSON_Delete(j);

	CHECK_INT(parse_text("{}", &j, &p, &param, err), AIGW_OK);
	CHECK_INT(p.default_model_op, PATCH_KEEP);
	CHECK_INT(p.allowed_op, PATCH_KEEP);
	CHECK_INT(p.max_tokens_op, PATCH_KEEP);
	CHECK_INT(p.max_concurrent_op, PATCH_KEEP);
	CHECK_INT(p.rpm_op, PATCH_KEEP);
	CHECK_INT(p.byok_op, PATCH_KEEP);
	ai_config_patch_free(&p);
	cJSON_Delete(j);
}

/* A config as the database would hand it over. */
static void existing(struct ai_config *c, const char *dm, int maxtok, int n, ...)
{
	va_list ap;

	memset(c, 0, sizeof(*c));
	c->default_model = dm ? xstrdup(dm) : NULL;
	c->max_tokens_per_request = maxtok;
	c->n_allowed = (size_t)n;
	c->allowed_models = n ? xcalloc((size_t)n, sizeof(char *)) : NULL;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		c->allowed_models[i] = xstrdup(va_arg(ap, const char *));
	va_end(ap);
}

static aigw_rc merge(struct ai_config *c, const char *body, const char **param)
{
	cJSON *j;
	struct ai_config_patch p;
	char err[AIGW_ERRLEN];
	aigw_rc rc = parse_text(body, &j, &p, param, err);

	if (rc == AIGW_OK)
		rc = ai_config_patch_apply(c, &p, param, err);
	ai_config_patch_free(&p);
	cJSON_Delete(j);
	return rc;
}

static void merge_absent_keeps(void)
{
	struct ai_config c;
	const char *param;

	existing(&c, "a", 100, 2, "a", "b");
	CHECK_INT(merge(&c, "{\"maxTokensPerRequest\":200}", &param), AIGW_OK);
	CHECK_STR(c.default_model, "a");
	CHECK_INT(c.max_tokens_per_request, 200);
	CHECK_INT(c.n_allowed, 2);
	CHECK_STR(c.allowed_models[1], "b");
	ai_config_free(&c);
}

static void merge_null_clears(void)
{
	struct ai_config c;
	const char *param;

	existing(&c, "a", 100, 2, "a", "b");
	CHECK_INT(merge(&c,
	                "{\"defaultModel\":null,\"maxTokensPerRequest\":null,"
	                "\"allowedModels\":null}",
	                &param),
	          AIGW_OK);
	CHECK(c.default_model == NULL);
	CHECK_INT(c.max_tokens_per_request, 0);
	CHECK_INT(c.n_allowed, 0);
	ai_config_free(&c);

	existing(&c, NULL, 0, 2, "a", "b");
	CHECK_INT(merge(&c, "{\"allowedModels\":[]}", &param), AIGW_OK);
	CHECK_INT(c.n_allowed, 0);
	ai_config_free(&c);
}

static void merge_default_must_be_allowed(void)
{
	struct ai_config c;
	const char *param;

	/* new default outside the existing list */
	existing(&c, NULL, 0, 2, "a", "b");
	CHECK_INT(merge(&c, "{\"defaultModel\":\"z\"}", &param), AIGW_EINVAL);
	CHECK_STR(param, "defaultModel");
	CHECK(c.default_model == NULL); /* untouched on failure */
	/* inside it */
	CHECK_INT(merge(&c, "{\"defaultModel\":\"b\"}", &param), AIGW_OK);
	CHECK_STR(c.default_model, "b");
	/* a new list that drops the existing default */
	CHECK_INT(merge(&c, "{\"allowedModels\":[\"a\"]}", &param), AIGW_EINVAL);
	CHECK_STR(param, "defaultModel");
	CHECK_INT(c.n_allowed, 2); /* untouched on failure */
	/* ... fine when the default changes with it */
	CHECK_INT(merge(&c, "{\"allowedModels\":[\"a\"],\"defaultModel\":\"a\"}", &param), AIGW_OK);
	CHECK_INT(c.n_allowed, 1);
	CHECK_STR(c.default_model, "a");
	/* ... or is cleared */
	CHECK_INT(merge(&c, "{\"allowedModels\":[\"x\"],\"defaultModel\":null}", &param), AIGW_OK);
	CHECK(c.default_model == NULL);
	/* both in one body, inconsistent */
	CHECK_INT(merge(&c, "{\"allowedModels\":[\"p\"],\"defaultModel\":\"q\"}", &param),
	          AIGW_EINVAL);
	CHECK_STR(param, "defaultModel");
	CHECK_STR(c.allowed_models[0], "x");
	ai_config_free(&c);

	/* an empty list allows any default; clearing the list keeps the default */
	existing(&c, "z", 0, 1, "z");
	CHECK_INT(merge(&c, "{\"allowedModels\":null}", &param), AIGW_OK);
	CHECK_INT(merge(&c, "{\"defaultModel\":\"anything/else\"}", &param), AIGW_OK);
	CHECK_STR(c.default_model, "anything/else");
	ai_config_free(&c);
}

static void merge_leaves_byok_alone(void)
{
	struct ai_config c;
	const char *param;

	existing(&c, NULL, 0, 0);
	c.byok_sealed = xmalloc(50);
	memset(c.byok_sealed, 1, 50);
	c.byok_sealed_len = 50;
	c.byok_key_id = 3;
	CHECK_INT(merge(&c, "{\"byokKey\":null,\"maxTokensPerRequest\":9}", &param), AIGW_OK);
	CHECK(c.byok_sealed != NULL);
	CHECK_INT(c.byok_key_id, 3);
	ai_config_free(&c);
}

static void merge_request_limits(void)
{
	struct ai_config c;
	const char *param;

	existing(&c, "a", 100, 1, "a");
	CHECK_INT(merge(&c, "{\"maxConcurrentRequests\":8,\"requestsPerMinute\":600}", &param),
	          AIGW_OK);
	CHECK_INT(c.max_concurrent_requests, 8);
	CHECK_INT(c.requests_per_minute, 600);
	/* absent keeps, one null clears that one only */
	CHECK_INT(merge(&c, "{\"maxTokensPerRequest\":5}", &param), AIGW_OK);
	CHECK_INT(c.max_concurrent_requests, 8);
	CHECK_INT(c.requests_per_minute, 600);
	CHECK_INT(merge(&c, "{\"requestsPerMinute\":null}", &param), AIGW_OK);
	CHECK_INT(c.max_concurrent_requests, 8);
	CHECK_INT(c.requests_per_minute, 0);
	/* a body refused for another field changes neither */
	CHECK_INT(merge(&c, "{\"requestsPerMinute\":9,\"defaultModel\":\"zz\"}", &param),
	          AIGW_EINVAL);
	CHECK_STR(param, "defaultModel");
	CHECK_INT(c.requests_per_minute, 0);
	CHECK_INT(merge(&c, "{\"maxConcurrentRequests\":null}", &param), AIGW_OK);
	CHECK_INT(c.max_concurrent_requests, 0);
	CHECK_INT(c.max_tokens_per_request, 5);
	ai_config_free(&c);
}

static void json_shape_empty(void)
{
	struct ai_config c;
	cJSON *j;
	char *text;

	memset(&c, 0, sizeof(c));
	j = ai_config_to_json("demo", &c);
	text = cJSON_PrintUnformatted(j);
	CHECK_STR(text,
	          "{\"appId\":\"demo\",\"defaultModel\":null,\"maxTokensPerRequest\":null,"
	          "\"allowedModels\":[],\"maxConcurrentRequests\":null,\"requestsPerMinute\":null,"
	          "\"byok\":{\"configured\":false,\"last4\":null,"
	          "\"updatedAt\":null},\"updatedAt\":null}");
	free(text);
	cJSON_Delete(j);
}

static void json_shape_full(void)
{
	struct ai_config c;
	cJSON *j;
	char *text;

	existing(&c, "a/b", 4096, 2, "a/b", "c/d");
	c.max_concurrent_requests = 12;
	c.requests_per_minute = 3000;
	c.byok_sealed = xmalloc(60);
	memset(c.byok_sealed, 7, 60);
	c.byok_sealed_len = 60;
	c.byok_key_id = 1;
	memcpy(c.byok_last4, "ab12", 5);
	snprintf(c.byok_updated_at, sizeof(c.byok_updated_at), "2026-11-27 11:20:00.123456");
	snprintf(c.updated_at, sizeof(c.updated_at), "2026-11-27 11:20:01");
	j = ai_config_to_json("demo", &c);
	text = cJSON_PrintUnformatted(j);
	CHECK_STR(text, "{\"appId\":\"demo\",\"defaultModel\":\"a/b\",\"maxTokensPerRequest\":4096,"
	                "\"allowedModels\":[\"a/b\",\"c/d\"],\"maxConcurrentRequests\":12,"
	                "\"requestsPerMinute\":3000,\"byok\":{\"configured\":true,"
	                "\"last4\":\"ab12\",\"updatedAt\":\"2026-11-27T11:20:00.123456Z\"},"
	                "\"updatedAt\":\"2026-11-27T11:20:01.000000Z\"}");
	free(text);
	cJSON_Delete(j);
	ai_config_free(&c);
}

int main(void)
{
	check_program = "test_ai_config_rules";
	RUN(table);
	RUN(lengths);
	RUN(allowed_count_cap);
	RUN(patch_ops);
	RUN(merge_absent_keeps);
	RUN(merge_null_clears);
	RUN(merge_default_must_be_allowed);
	RUN(merge_leaves_byok_alone);
	RUN(merge_request_limits);
	RUN(json_shape_empty);
	RUN(json_shape_full);
	CHECK_DONE();
}
