/* handlers/models.c through the memory sink: the OpenAI list shape with every
 * upstream field kept, allowedModels filtering, percent-decoded ids, 404 for
 * unknown or not allowed models, 503 when the database is down. The database
 * cases run only when $AIGW_TEST_CONFIG names an aigw.conf of a scratch
 * database (they migrate it and add an app t_<random>; the models table is
 * copied first and put back at the end); the database-down cases always run. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "ai_config.h"
#include "alloc.h"
#include "apps.h"
#include "check.h"
#include "live.h"
#include "conffile.h"
#include "context.h"
#include "db.h"
#include "endpoints.h"
#include "migrate.h"
#include "models.h"
#include "models_snapshot.h"
#include "request.h"
#include "response.h"
#include "router.h"

static struct aigw_conf conf, down_conf;
static struct thread_ctx ctx, down_ctx;
static char app_id[APP_ID_MAX + 1];
static cJSON *saved_models;

static const char DOC[] =
        "{\"data\":["
        "{\"id\":\"openai/gpt-4o\",\"name\":\"OpenAI: GPT-4o\",\"created\":1715558400,"
        "\"context_length\":128000,\"pricing\":{\"prompt\":\"0.0000025\",\"completion\":"
        "\"0.00001\"},\"architecture\":{\"modality\":\"text+image->text\"},"
        "\"top_provider\":{\"max_completion_tokens\":16384},\"per_request_limits\":null},"
        "{\"id\":\"openrouter/auto\",\"name\":\"Auto\",\"pricing\":{\"prompt\":\"-1\"}},"
        "{\"id\":\"solo\",\"object\":\"engine\"},"
        "{\"id\":\"acme/owned\",\"owned_by\":\"acme-labs\"}"
        "]}";

struct result {
	int status;
	cJSON *json;
};

/* Runs handler for app with route_arg arg (NULL: none). */
static void call(struct thread_ctx *c, handler_fn handler, const char *app, const char *arg,
                 struct result *res)
{
	struct request req;
	struct response resp;
	struct memsink ms;
	const char *body;

	memset(res, 0, sizeof *res);
	memset(&req, 0, sizeof req);
	request_add_param(&req, "REQUEST_METHOD", "GET");
	request_add_param(&req, "REQUEST_URI", "/v1/x/models");
	request_fill_from_params(&req);
	request_new_id(&req);
	snprintf(req.app_id, sizeof req.app_id, "%s", app);
	req.route_arg = arg ? xstrdup(arg) : NULL;
	memsink_init(&ms);
	response_init(&resp, &memsink_ops, &ms, req.request_id, "*");
	handler(c, &req, &resp);
	response_finish(&resp);
	res->status = resp.status;
	body = ms.out.data ? strstr(ms.out.data, "\r\n\r\n") : NULL;
	res->json = body ? cJSON_Parse(body + 4) : NULL;
	memsink_free(&ms);
	response_free(&resp);
	request_free(&req);
}

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

static void check_error(const struct result *r, int status, const char *type)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(r->json, "error");

	CHECK_INT(r->status, status);
	CHECK_STR(str(e, "type"), type);
	CHECK(cJSON_GetObjectItemCaseSensitive(e, "code") &&
	      cJSON_GetObjectItemCaseSensitive(e, "code")->valueint == status);
}

/* The data entry with this id, or NULL. */
static const cJSON *entry(const struct result *r, const char *id)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(r->json, "data"))
	{
		if (str(m, "id") && strcmp(str(m, "id"), id) == 0)
			return m;
	}
	return NULL;
}

static void set_allowed(char **models, size_t n)
{
	char err[AIGW_ERRLEN];
	struct ai_config c;

	memset(&c, 0, sizeof c);
	c.allowed_models = models;
	c.n_allowed = n;
	CHECK_INT(db_ai_config_put(ctx.db, app_id, &c, err), AIGW_OK);
}

static void test_db_down_503(void)
{
	struct result r;

	call(&down_ctx, handle_models_list, "app1", NULL, &r);
	check_error(&r, 503, "service_unavailable");
	cJSON_Delete(r.json);
	call(&down_ctx, handle_models_get, "app1", "openai/gpt-4o", &r);
	check_error(&r, 503, "service_unavailable");
	cJSON_Delete(r.json);
}

static void test_bad_ids_404_without_db(void)
{
	char longid[300];
	struct result r;

	memset(longid, 'a', 257);
	longid[257] = '\0';
	call(&down_ctx, handle_models_get, "app1", longid, &r);
	check_error(&r, 404, "not_found_error");
	cJSON_Delete(r.json);
	call(&down_ctx, handle_models_get, "app1", "bad\nid", &r);
	check_error(&r, 404, "not_found_error");
	cJSON_Delete(r.json);
	call(&down_ctx, handle_models_get, "app1", NULL, &r);
	check_error(&r, 404, "not_found_error");
	cJSON_Delete(r.json);
}

static void test_list_all(void)
{
	const cJSON *m;
	struct result r;

	call(&ctx, handle_models_list, app_id, NULL, &r);
	CHECK_INT(r.status, 200);
	CHECK_STR(str(r.json, "object"), "list");
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "data")), 4);
	/* ordered by id */
	CHECK_STR(str(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "data"), 0), "id"),
	          "acme/owned");
	m = entry(&r, "openai/gpt-4o");
	CHECK(m != NULL);
	CHECK_STR(str(m, "object"), "model");
	CHECK_STR(str(m, "owned_by"), "openai");
	CHECK_STR(str(m, "name"), "OpenAI: GPT-4o");
	CHECK_INT(cJSON_GetObjectItemCaseSensitive(m, "created")->valuedouble, 1715558400);
	CHECK_STR(str(cJSON_GetObjectItemCaseSensitive(m, "pricing"), "prompt"), "0.0000025");
	CHECK_STR(str(cJSON_GetObjectItemCaseSensitive(m, "architecture"), "modality"),
	          "text+image->text");
	CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(m, "per_request_limits")));
	CHECK_STR(str(entry(&r, "openrouter/auto"), "owned_by"), "openrouter");
	CHECK_STR(str(entry(&r, "solo"), "owned_by"), "openrouter");
	CHECK_STR(str(entry(&r, "solo"), "object"), "model");
	CHECK_STR(str(entry(&r, "acme/owned"), "owned_by"), "acme-labs");
	cJSON_Delete(r.json);
}

static void test_list_allowed_only(void)
{
	char *allowed[] = {"openrouter/auto", "not/synced", "openai/gpt-4o"};
	struct result r;

	set_allowed(allowed, 3);
	call(&ctx, handle_models_list, app_id, NULL, &r);
	CHECK_INT(r.status, 200);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "data")), 2);
	CHECK(entry(&r, "openai/gpt-4o") && entry(&r, "openrouter/auto"));
	CHECK(!entry(&r, "not/synced") && !entry(&r, "solo"));
	cJSON_Delete(r.json);

	call(&ctx, handle_models_get, app_id, "openai/gpt-4o", &r);
	CHECK_INT(r.status, 200);
	cJSON_Delete(r.json);
	call(&ctx, handle_models_get, app_id, "solo", &r); /* synced, not allowed */
	check_error(&r, 404, "not_found_error");
	cJSON_Delete(r.json);
	call(&ctx, handle_models_get, app_id, "not/synced", &r); /* allowed, not synced */
	check_error(&r, 404, "not_found_error");
	cJSON_Delete(r.json);
	set_allowed(NULL, 0);
}

static void test_get_one(void)
{
	struct result r;

	/* the router hands the decoded id: openai%2Fgpt-4o arrives as openai/gpt-4o */
	call(&ctx, handle_models_get, app_id, "openai/gpt-4o", &r);
	CHECK_INT(r.status, 200);
	CHECK_STR(str(r.json, "id"), "openai/gpt-4o");
	CHECK_STR(str(r.json, "object"), "model");
	CHECK_STR(str(r.json, "owned_by"), "openai");
	CHECK_INT(cJSON_GetObjectItemCaseSensitive(
	                  cJSON_GetObjectItemCaseSensitive(r.json, "top_provider"),
	                  "max_completion_tokens")
	                  ->valueint,
	          16384);
	cJSON_Delete(r.json);
	call(&ctx, handle_models_get, app_id, "openai/GPT-4o", &r);
	check_error(&r, 404, "not_found_error");
	cJSON_Delete(r.json);
	call(&ctx, handle_models_get, app_id, "no/such", &r);
	check_error(&r, 404, "not_found_error");
	CHECK(strstr(str(cJSON_GetObjectItem(r.json, "error"), "message"), "'no/such'") != NULL);
	cJSON_Delete(r.json);
}

/* Sets up the live database; false (and the live cases are skipped) without
 * $AIGW_TEST_CONFIG. */
static bool live_setup(void)
{
	struct models_replace_result res;
	char err[AIGW_ERRLEN];
	int setup = live_open(&conf, true);

	if (setup == 77)
		return false;
	if (setup != 0)
		exit(1);
	ctx.conf = &conf;
	ctx.db = db_new(&conf);
	live_app_id(app_id, sizeof app_id);
	saved_models = models_snapshot_take(ctx.db, &conf);
	if (!saved_models)
		exit(1);
	if (db_app_create(ctx.db, app_id, "models test", "free", err) != AIGW_OK ||
	    db_models_replace(ctx.db, DOC, strlen(DOC), &res, err) != AIGW_OK) {
		fprintf(stderr, "test_models_handler: %s\n", err);
		exit(1);
	}
	return true;
}

int main(void)
{
	bool live;

	check_program = "test_models_handler";
	if (sodium_init() < 0)
		return 1;
	conf_defaults(&down_conf);
	free(down_conf.db_socket);
	down_conf.db_socket = NULL;
	free(down_conf.db_host);
	down_conf.db_host = xstrdup("127.0.0.1");
	down_conf.db_port = 1; /* nothing listens there: the database is "down" */
	down_ctx.conf = &down_conf;
	down_ctx.db = db_new(&down_conf);

	RUN(test_db_down_503);
	RUN(test_bad_ids_404_without_db);
	live = live_setup();
	if (live) {
		RUN(test_list_all);
		RUN(test_list_allowed_only);
		RUN(test_get_one);
		models_snapshot_restore(ctx.db, saved_models);
		db_free(ctx.db);
		conf_free(&conf);
	}
	db_free(down_ctx.db);
	conf_free(&down_conf);
	CHECK_DONE();
}
