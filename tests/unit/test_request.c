/* Unit tests for http/request.c: params, path and query from CGI params,
 * query decoding, JSON content types, request ids. */
#include "config.h"

#include "request.h"

#include <ctype.h>

#include <sodium.h>

#include "check.h"

static void params_added_and_found(void)
{
	struct request r = {0};
	int i;

	request_add_param(&r, "CONTENT_TYPE", "application/json");
	request_add_param(&r, "HTTP_AUTHORIZATION", "Bearer aigw_x");
	request_add_param(&r, "EMPTY", NULL);
	for (i = 0; i < 100; i++) {
		char name[16];

		snprintf(name, sizeof(name), "P%d", i);
		request_add_param(&r, name, name);
	}
	CHECK_STR(request_param(&r, "HTTP_AUTHORIZATION"), "Bearer aigw_x");
	CHECK_STR(request_param(&r, "EMPTY"), "");
	CHECK_STR(request_param(&r, "P99"), "P99");
	CHECK(request_param(&r, "http_authorization") == NULL); /* CGI names are exact */
	CHECK(request_param(&r, "MISSING") == NULL);
	CHECK_INT(r.nheaders, 103);
	request_free(&r);
	CHECK(r.headers == NULL && r.nheaders == 0);
}

static void methods_parse_case_sensitively(void)
{
	CHECK_INT(http_method_parse("GET"), HTTP_GET);
	CHECK_INT(http_method_parse("POST"), HTTP_POST);
	CHECK_INT(http_method_parse("PUT"), HTTP_PUT);
	CHECK_INT(http_method_parse("DELETE"), HTTP_DELETE);
	CHECK_INT(http_method_parse("OPTIONS"), HTTP_OPTIONS);
	CHECK_INT(http_method_parse("HEAD"), HTTP_HEAD);
	CHECK_INT(http_method_parse("PATCH"), HTTP_OTHER);
	CHECK_INT(http_method_parse("get"), HTTP_OTHER);
	CHECK_INT(http_method_parse(""), HTTP_OTHER);
	CHECK_INT(http_method_parse(NULL), HTTP_OTHER);
}

static void path_from_request_uri(void)
{
	struct request r = {0};

	request_add_param(&r, "REQUEST_METHOD", "PUT");
	request_add_param(&r, "REQUEST_URI", "/v1/demo/models/openai%2Fgpt-4o?x=1");
	request_add_param(&r, "SCRIPT_NAME", "/v1");
	request_add_param(&r, "PATH_INFO", "/demo/models/openai/gpt-4o");
	request_add_param(&r, "QUERY_STRING", "x=1");
	request_fill_from_params(&r);
	CHECK_INT(r.method, HTTP_PUT);
	CHECK_STR(r.method_name, "PUT");
	CHECK_STR(r.path, "/v1/demo/models/openai%2Fgpt-4o"); /* raw: the router decodes */
	CHECK_STR(r.query, "x=1");
	request_free(&r);
}

static void path_from_script_name_and_path_info(void)
{
	struct request r = {0};

	request_add_param(&r, "REQUEST_METHOD", "PATCH");
	request_add_param(&r, "SCRIPT_NAME", "/v1");
	request_add_param(&r, "PATH_INFO", "/demo/ai/config");
	request_fill_from_params(&r);
	CHECK_INT(r.method, HTTP_OTHER);
	CHECK_STR(r.method_name, "PATCH");
	CHECK_STR(r.path, "/v1/demo/ai/config");
	CHECK_STR(r.query, "");
	request_free(&r);

	/* Nothing at all: a harmless "/" that no route matches. */
	request_fill_from_params(&r);
	CHECK_STR(r.path, "/");
	CHECK_STR(r.method_name, "");
	request_free(&r);
}

static void query_from_uri_when_no_query_string(void)
{
	struct request r = {0};

	request_add_param(&r, "REQUEST_URI", "/v1/health?a=b#frag");
	request_fill_from_params(&r);
	CHECK_STR(r.path, "/v1/health");
	CHECK_STR(r.query, "a=b");
	/* Filling twice replaces without leaking. */
	request_fill_from_params(&r);
	CHECK_STR(r.path, "/v1/health");
	request_free(&r);
}

static void query_get_decodes(void)
{
	struct request r = {0};
	char v[32];

	r.query =
	        strdup("startDate=2026-01-01&endDate=2026%2D01%2D31&name=a+b%20c&flag&"
	               "empty=&bad=%zz&nul=%00&st%61rt=k&long=0123456789012345678901234567890123");
	CHECK(request_query_get(&r, "startDate", v, sizeof(v)));
	CHECK_STR(v, "2026-01-01");
	CHECK(request_query_get(&r, "endDate", v, sizeof(v)));
	CHECK_STR(v, "2026-01-31");
	CHECK(request_query_get(&r, "name", v, sizeof(v)));
	CHECK_STR(v, "a b c");
	CHECK(request_query_get(&r, "flag", v, sizeof(v)));
	CHECK_STR(v, "");
	CHECK(request_query_get(&r, "empty", v, sizeof(v)));
	CHECK_STR(v, "");
	CHECK(request_query_get(&r, "start", v, sizeof(v))); /* key decoded too */
	CHECK_STR(v, "k");
	CHECK(!request_query_get(&r, "missing", v, sizeof(v)));
	CHECK(!request_query_get(&r, "startdate", v, sizeof(v)));
	/* Present but malformed or too long: "" so format checks reject it. */
	strcpy(v, "junk");
	CHECK(request_query_get(&r, "bad", v, sizeof(v)));
	CHECK_STR(v, "");
	strcpy(v, "junk");
	CHECK(request_query_get(&r, "nul", v, sizeof(v)));
	CHECK_STR(v, "");
	strcpy(v, "junk");
	CHECK(request_query_get(&r, "long", v, sizeof(v)));
	CHECK_STR(v, "");
	request_free(&r);

	/* First occurrence wins; no query at all. */
	r.query = strdup("a=1&a=2");
	CHECK(request_query_get(&r, "a", v, sizeof(v)));
	CHECK_STR(v, "1");
	request_free(&r);
	CHECK(!request_query_get(&r, "a", v, sizeof(v)));
}

static void is_json_table(void)
{
	static const struct {
		const char *ct;
		bool json;
	} cases[] = {
	        {"application/json", true},
	        {"application/json; charset=utf-8", true},
	        {"application/json;charset=UTF-8", true},
	        {"Application/JSON", true},
	        {"  application/json  ", true},
	        {"application/json ; charset=utf-8", true},
	        {"application/merge-patch+json", true},
	        {"application/vnd.api+json; ext=x", true},
	        {"application/JSON-seq", false},
	        {"application/jsonx", false},
	        {"application/+json", false},
	        {"application/x-www-form-urlencoded", false},
	        {"text/json", false},
	        {"text/plain", false},
	        {"multipart/form-data; boundary=x", false},
	        {"application/", false},
	        {"application/a/b+json", false},
	        {"json", false},
	        {"", false},
	        {NULL, false},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct request r = {0};

		if (cases[i].ct != NULL)
			request_add_param(&r, "CONTENT_TYPE", cases[i].ct);
		if (request_is_json(&r) != cases[i].json)
			fprintf(stderr, "  content type '%s'\n",
			        cases[i].ct ? cases[i].ct : "(none)");
		CHECK(request_is_json(&r) == cases[i].json);
		request_free(&r);
	}
}

static void request_ids_are_fresh(void)
{
	struct request a = {0}, b = {0};
	size_t i;

	request_new_id(&a);
	request_new_id(&b);
	CHECK_INT(strlen(a.request_id), 28);
	CHECK(strncmp(a.request_id, "req_", 4) == 0);
	for (i = 4; i < 28; i++)
		CHECK(isxdigit((unsigned char)a.request_id[i]) &&
		      !isupper((unsigned char)a.request_id[i]));
	CHECK(strcmp(a.request_id, b.request_id) != 0);
}

static void free_releases_body_and_route_arg(void)
{
	struct request r = {0};

	r.body = strdup("{\"byokKey\":\"sk-secret\"}");
	r.body_len = strlen(r.body);
	r.route_arg = strdup("openai/gpt-4o");
	request_free(&r);
	CHECK(r.body == NULL && r.route_arg == NULL && r.body_len == 0);
}

int main(void)
{
	check_program = "test_request";
	if (sodium_init() < 0)
		return 1;
	RUN(params_added_and_found);
	RUN(methods_parse_case_sensitively);
	RUN(path_from_request_uri);
	RUN(path_from_script_name_and_path_info);
	RUN(query_from_uri_when_no_query_string);
	RUN(query_get_decodes);
	RUN(is_json_table);
	RUN(request_ids_are_fresh);
	RUN(free_releases_body_and_route_arg);
	CHECK_DONE();
}
