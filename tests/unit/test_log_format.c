/* Unit tests of base/log.c's two formats: text lines keep their shape and
 * gain key=value fields; JSON lines are each one JSON object with time,
 * level, pid, request_id, msg and the fields, whatever bytes a client put
 * into a value (quotes, control bytes, text that is not UTF-8). stderr is
 * sent to a file and read back. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "log.h"

static char path[64];
static int saved_stderr = -1;

/* Sends stderr to a fresh file. */
static void capture(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/aigw-log-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		abort();
	if (saved_stderr < 0)
		saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

/* Gives stderr back; returns what was written (caller frees). */
static char *captured(void)
{
	FILE *f = fopen(path, "r");
	char *text = calloc(1, 65536);
	size_t n = 0;

	if (f) {
		n = fread(text, 1, 65535, f);
		fclose(f);
	}
	text[n] = '\0';
	dup2(saved_stderr, 2);
	unlink(path);
	return text;
}

static const char *member_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void json_lines_parse(void)
{
	struct log_field f[] = {
	        LOG_STR("path", "/v1/a\"b\\c\n\x01\xff"),
	        LOG_STR("app", "app_1"),
	        LOG_NUM("key_id", 17),
	        LOG_STR("model", "openai/gpt-4o-mini"),
	        LOG_NUM("prompt_tokens", 3),
	        LOG_STR("cost", "0.0000052500"),
	        LOG_BOOL("streamed", true),
	        LOG_STR("none", NULL),
	};
	char *text, *line, *save = NULL;
	int lines = 0;

	log_set_format(LOG_FMT_JSON);
	capture();
	log_set_request_id("req_0123456789abcdef01234567");
	log_fields(LOG_LVL_INFO, "request", f, sizeof(f) / sizeof(f[0]));
	log_set_request_id(NULL);
	log_warn("a \"quoted\" message\twith a tab and caf\xc3\xa9");
	log_set_format(LOG_FMT_TEXT);
	text = captured();
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *o = cJSON_Parse(line);

		CHECK(o != NULL);
		if (!o) {
			fprintf(stderr, "  not JSON: %s\n", line);
			continue;
		}
		CHECK(member_str(o, "time") != NULL);
		CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "pid")));
		CHECK_INT(cJSON_GetObjectItemCaseSensitive(o, "pid")->valuedouble, getpid());
		if (lines == 0) {
			CHECK_STR(member_str(o, "level"), "info");
			CHECK_STR(member_str(o, "request_id"), "req_0123456789abcdef01234567");
			CHECK_STR(member_str(o, "msg"), "request");
			CHECK_STR(member_str(o, "path"), "/v1/a\"b\\c\n\x01\xc3\xbf");
			CHECK_STR(member_str(o, "model"), "openai/gpt-4o-mini");
			CHECK_STR(member_str(o, "cost"), "0.0000052500");
			CHECK_INT(cJSON_GetObjectItemCaseSensitive(o, "key_id")->valuedouble, 17);
			CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "streamed")));
			CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "none")));
		} else {
			CHECK_STR(member_str(o, "level"), "warn");
			CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "request_id")));
			CHECK_STR(member_str(o, "msg"),
			          "a \"quoted\" message\twith a tab and caf\xc3\xa9");
		}
		cJSON_Delete(o);
		lines++;
	}
	CHECK_INT(lines, 2);
	free(text);
}

static void text_lines(void)
{
	struct log_field f[] = {
	        LOG_STR("path", "/v1/x y"),
	        LOG_STR("app", "app_1"),
	        LOG_NUM("key_id", 17),
	        LOG_BOOL("streamed", false),
	};
	char *text;

	capture();
	log_set_request_id("req_1");
	log_fields(LOG_LVL_INFO, "GET 200 12us", f, sizeof(f) / sizeof(f[0]));
	log_set_request_id(NULL);
	text = captured();
	CHECK(strstr(text, " INFO ") != NULL);
	CHECK(strstr(text, " req_1 GET 200 12us path=\"/v1/x y\" app=app_1 key_id=17 "
	                   "streamed=0\n") != NULL);
	free(text);
}

static void format_names(void)
{
	CHECK_INT(log_format_parse("text"), LOG_FMT_TEXT);
	CHECK_INT(log_format_parse("JSON"), LOG_FMT_JSON);
	CHECK_INT(log_format_parse("yaml"), -1);
	CHECK_INT(log_format_parse(NULL), -1);
}

int main(void)
{
	check_program = "test_log_format";
	RUN(json_lines_parse);
	RUN(text_lines);
	RUN(format_names);
	CHECK_DONE();
}
