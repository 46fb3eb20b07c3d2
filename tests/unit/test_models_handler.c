/* handlers/api_models.c through the memory sink: the OpenAI list shape with every
 * upstream field kept, the upstream list's own fields kept with total_count
 * and links.next true of the answer, paging (offset, limit; 400 when bad),
 * allowedModels filtering, percent-decoded ids, 404 for unknown or not
 * allowed models, 503 when the database is down. The database
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
#include "memsink.h"
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
        "],\"links\":{\"next\":null,\"self\":\"/api/v1/models\"},\"total_count\":350,"
        "\"object\":\"upstream-list\",\"x_meta\":{\"k\":[1,null]}}";

static const char SQL_CLEAR_FIELDS[] = "DELETE FROM models_list_meta";

struct result {
	int status;
	cJSON *json;
};

/* Runs handler for app with route_arg arg (NULL: none) and the query string
 * query (NULL: none) on /v1/x/models. */
static void call_q(struct thread_ctx *c, handler_fn handler, const char *app, const char *arg,
                   const char *query, struct result *res)
{
	char uri[256];
	struct request req;
	struct response resp;
	struct memsink ms;
	const char *body;

	memset(res, 0, sizeof *res);
	memset(&req, 0, sizeof req);
	snprintf(uri, sizeof uri, "/v1/x/models%s%s", query ? "?" : "", query ? query : "");
	request_add_param(&req, "REQUEST_METHOD", "GET");
	request_add_param(&req, "REQUEST_URI", uri);
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

static void call(struct thread_ctx *c, handler_fn handler, const char *app, const char *arg,
                 struct result *res)
{
	call_q(c, handler, app, arg, NULL, res);
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

static double num(const cJSON *o, const char *name)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(j) ? j->valuedouble : -1;
}

static int data_size(const struct result *r)
{
	return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r->json, "data"));
}

/* links.next of the answer: its text, "null", or NULL when absent. */
static const char *next_link(const struct result *r)
{
	const cJSON *next = cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(r->json, "links"), "next");

	if (cJSON_IsNull(next))
		return "null";
	return cJSON_IsString(next) ? next->valuestring : NULL;
}

/* The top-level keys of the answer, comma-separated, in order. */
static void keys(const struct result *r, char *out, size_t cap)
{
	const cJSON *item;
	size_t n = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(item, r->json)
	{
		n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? "," : "",
		                      item->string);
	}
}

/* Offsets and limits that are not integers in range: a 400 naming the
 * parameter, before the database is asked (it is down here). */
static void test_bad_paging_400(void)
{
	static const char *const bad[][2] = {
	        {"limit=0", "limit"},
	        {"limit=1001", "limit"},
	        {"limit=abc", "limit"},
	        {"limit=", "limit"},
	        {"limit=2.5", "limit"},
	        {"limit=%2B5", "limit"},
	        {"limit=99999999999999999999", "limit"},
	        {"offset=-1", "offset"},
	        {"offset=1e3", "offset"},
	        {"offset=1000000001", "offset"},
	        {"offset=%00", "offset"},
	        {"offset=1&limit=x", "limit"},
	};
	const cJSON *e;
	struct result r;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		call_q(&down_ctx, handle_models_list, "app1", NULL, bad[i][0], &r);
		check_error(&r, 400, "invalid_request_error");
		e = cJSON_GetObjectItemCaseSensitive(r.json, "error");
		CHECK_STR(str(e, "param"), bad[i][1]);
		cJSON_Delete(r.json);
	}
	/* in range: on to the database, which is down */
	call_q(&down_ctx, handle_models_list, "app1", NULL, "offset=1000000000&limit=1000", &r);
	check_error(&r, 503, "service_unavailable");
	cJSON_Delete(r.json);
}

static void test_list_all(void)
{
	char order[128];
	const cJSON *m;
	struct result r;

	call(&ctx, handle_models_list, app_id, NULL, &r);
	CHECK_INT(r.status, 200);
	CHECK_STR(str(r.json, "object"), "list");
	/* ours first, then the upstream's own in its order, "object" replaced */
	keys(&r, order, sizeof order);
	CHECK_STR(order, "object,data,links,total_count,x_meta");
	CHECK_INT(num(r.json, "total_count"), 4); /* what is answered, not the upstream's 350 */
	CHECK_STR(next_link(&r), "null");
	CHECK_STR(str(cJSON_GetObjectItemCaseSensitive(r.json, "links"), "self"), "/api/v1/models");
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	                  cJSON_GetObjectItemCaseSensitive(r.json, "x_meta"), "k")),
	          2);
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
	CHECK_INT(data_size(&r), 2);
	CHECK(entry(&r, "openai/gpt-4o") && entry(&r, "openrouter/auto"));
	CHECK(!entry(&r, "not/synced") && !entry(&r, "solo"));
	CHECK_INT(num(r.json, "total_count"), 2); /* the app's list, not the upstream's */
	CHECK_STR(next_link(&r), "null");
	cJSON_Delete(r.json);
	call_q(&ctx, handle_models_list, app_id, NULL, "limit=1", &r);
	CHECK_INT(data_size(&r), 1);
	CHECK(entry(&r, "openai/gpt-4o") != NULL);
	CHECK_INT(num(r.json, "total_count"), 2);
	CHECK_STR(next_link(&r), "/v1/x/models?offset=1&limit=1");
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

/* offset/limit as OpenRouter takes them; ids in order: acme/owned,
 * openai/gpt-4o, openrouter/auto, solo. */
static void test_list_paged(void)
{
	static const struct {
		const char *query, *first, *next;
		int n;
	} cases[] = {
	        {"limit=2", "acme/owned", "/v1/x/models?offset=2&limit=2", 2},
	        {"offset=2&limit=2", "openrouter/auto", "null", 2},
	        {"offset=1&limit=2", "openai/gpt-4o", "/v1/x/models?offset=3&limit=2", 2},
	        {"offset=3&limit=2", "solo", "null", 1},
	        {"offset=3", "solo", "null", 1},
	        {"offset=0", "acme/owned", "null", 4},
	        {"limit=1000", "acme/owned", "null", 4},
	        {"offset=4&limit=1", NULL, "null", 0},
	        {"offset=1000000000", NULL, "null", 0},
	        {"q=gpt&sort=newest", "acme/owned", "null", 4}, /* filters are not applied */
	};
	struct result r;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		call_q(&ctx, handle_models_list, app_id, NULL, cases[i].query, &r);
		CHECK_INT(r.status, 200);
		CHECK_INT(data_size(&r), cases[i].n);
		if (cases[i].first)
			CHECK_STR(str(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "data"), 0),
			              "id"),
			          cases[i].first);
		CHECK_INT(num(r.json, "total_count"), 4);
		CHECK_STR(next_link(&r), cases[i].next);
		cJSON_Delete(r.json);
	}
}

/* Before a first sync since migration 010: OpenAI's shape only. */
static void test_list_without_fields(void)
{
	char err[AIGW_ERRLEN], order[64];
	struct result r;
	struct q q;

	q_init(&q, ctx.db, SQL_CLEAR_FIELDS);
	CHECK_INT(q_exec(&q, err), AIGW_OK);
	q_end(&q);
	call_q(&ctx, handle_models_list, app_id, NULL, "limit=1", &r);
	CHECK_INT(r.status, 200);
	keys(&r, order, sizeof order);
	CHECK_STR(order, "object,data");
	CHECK_INT(data_size(&r), 1);
	cJSON_Delete(r.json);
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
	RUN(test_bad_paging_400);
	live = live_setup();
	if (live) {
		RUN(test_list_all);
		RUN(test_list_allowed_only);
		RUN(test_list_paged);
		RUN(test_get_one);
		RUN(test_list_without_fields);
		models_snapshot_restore(ctx.db, saved_models);
		db_free(ctx.db);
		conf_free(&conf);
	}
	db_free(down_ctx.db);
	conf_free(&down_conf);
	CHECK_DONE();
}
