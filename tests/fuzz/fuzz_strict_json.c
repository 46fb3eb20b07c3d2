/* libFuzzer harness: the strict JSON reader of request bodies, then the
 * body checks of the endpoints that are pure functions of the tree: the
 * config PUT's ai_config_patch_parse (and _apply), and the chat body's token
 * and choice bounds (credits_completion_limit, credits_choices,
 * credits_completion_bound). Chat's and embeddings' other checks need a
 * database or are private to their handlers.
 * Properties: a refusal says why; an accepted tree has no key twice, no
 * nesting beyond the limit and only valid UTF-8; printed and read again it
 * is the same tree, and the print is stable. */
#include "config.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ai_config.h"
#include "config_rules.h"
#include "billing.h"
#include "error.h"
#include "fuzz.h"
#include "strict_json.h"
#include "utf8.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

/* depth counts the containers around node. */
static void check_tree(const cJSON *node, int depth)
{
	const cJSON *a, *b;

	if (node->string)
		FUZZ_ASSERT(utf8_valid(node->string, strlen(node->string)));
	if (cJSON_IsString(node))
		FUZZ_ASSERT(utf8_valid(node->valuestring, strlen(node->valuestring)));
	if (cJSON_IsNumber(node))
		FUZZ_ASSERT(isfinite(node->valuedouble));
	if (!cJSON_IsObject(node) && !cJSON_IsArray(node))
		return;
	FUZZ_ASSERT(depth < STRICT_JSON_MAX_DEPTH);
	for (a = node->child; a; a = a->next) {
		if (cJSON_IsObject(node))
			for (b = a->next; b; b = b->next)
				FUZZ_ASSERT(strcmp(a->string, b->string) != 0);
		check_tree(a, depth + 1);
	}
}

static void check_config_put(const cJSON *body)
{
	struct ai_config_patch p;
	struct ai_config cfg;
	const char *param = NULL;
	char err[AIGW_ERRLEN] = "";

	if (ai_config_patch_parse(body, &p, &param, err) != AIGW_OK) {
		FUZZ_ASSERT(err[0]);
		return;
	}
	FUZZ_ASSERT(param == NULL);
	FUZZ_ASSERT(p.max_tokens_op != PATCH_SET ||
	            (p.max_tokens >= 1 && p.max_tokens <= MAX_TOKENS_CAP));
	FUZZ_ASSERT(p.allowed_op != PATCH_SET ||
	            (p.n_allowed >= 1 && p.n_allowed <= ALLOWED_MODELS_MAX));
	memset(&cfg, 0, sizeof(cfg));
	if (ai_config_patch_apply(&cfg, &p, &param, err) == AIGW_OK) {
		cJSON *view = ai_config_to_json("demo", &cfg);
		FUZZ_ASSERT(view != NULL);
		cJSON_Delete(view);
	}
	ai_config_free(&cfg);
	ai_config_patch_free(&p);
}

static void check_chat_bounds(const cJSON *body)
{
	long long limit = credits_completion_limit(body);
	long long n = credits_choices(body);
	long long bound = credits_completion_bound(body, 4096);

	FUZZ_ASSERT(limit >= 0);
	FUZZ_ASSERT(n >= 1 && n <= CREDITS_MAX_CHOICES);
	FUZZ_ASSERT(bound >= (limit > 0 ? limit : 4096));
	FUZZ_ASSERT(credits_completion_bound(body, 0) >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strict_json_error e, e2;
	cJSON *tree = NULL, *again = NULL, *plain;
	char *print, *print2;
	aigw_rc rc = strict_json_parse((const char *)data, size, &tree, &e);

	FUZZ_ASSERT(memchr(e.message, '\0', sizeof(e.message)));
	FUZZ_ASSERT(memchr(e.param, '\0', sizeof(e.param)));
	if (rc != AIGW_OK) {
		FUZZ_ASSERT(rc == AIGW_EINVAL && tree == NULL && e.message[0]);
		FUZZ_ASSERT(e.offset <= size);
		/* Text that passed the grammar check must build a tree (the
		 * reader says cJSON fails then only for want of memory). */
		FUZZ_ASSERT(strcmp(e.message, "cannot parse the JSON body") != 0);
		return 0;
	}
	FUZZ_ASSERT(tree != NULL);
	check_tree(tree, 0);

	/* what strict accepts, cJSON reads the same way */
	plain = cJSON_ParseWithLength((const char *)data, size);
	FUZZ_ASSERT(plain && cJSON_Compare(tree, plain, true));
	cJSON_Delete(plain);

	/* the body sent upstream is printed from the tree: it must read back */
	print = cJSON_PrintUnformatted(tree);
	FUZZ_ASSERT(print != NULL);
	FUZZ_ASSERT(strict_json_parse(print, strlen(print), &again, &e2) == AIGW_OK);
	FUZZ_ASSERT(cJSON_Compare(tree, again, true));
	print2 = cJSON_PrintUnformatted(again);
	FUZZ_ASSERT(print2 && strcmp(print, print2) == 0);
	cJSON_free(print2);
	cJSON_free(print);
	cJSON_Delete(again);

	check_config_put(tree);
	check_chat_bounds(tree);
	cJSON_Delete(tree);
	return 0;
}
