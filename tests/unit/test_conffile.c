/* Unit tests for base/conffile.c: defaults, every key, comments, and the
 * FILE:LINE error for each kind of mistake. */
#include "config.h"

#include "conffile.h"

#include <stdio.h>
#include <unistd.h>

#include "check.h"

static void defaults_match_header(void)
{
	struct aigw_conf c;

	conf_defaults(&c);
	CHECK(c.db_socket == NULL);
	CHECK_STR(c.db_host, "127.0.0.1");
	CHECK_INT(c.db_port, 3306);
	CHECK_STR(c.db_name, "aigw");
	CHECK_STR(c.db_user, "aigw");
	CHECK_STR(c.db_password, "");
	CHECK_STR(c.keyring, "/etc/aigw/keyring");
	CHECK_STR(c.upstream_url, "https://openrouter.ai/api/v1");
	CHECK_STR(c.upstream_key, "");
	CHECK_STR(c.default_model, "openai/gpt-4o-mini");
	CHECK_INT(c.upstream_connect_timeout_ms, 5000);
	CHECK_INT(c.upstream_first_byte_timeout_ms, 120000);
	CHECK_INT(c.upstream_idle_timeout_ms, 120000);
	CHECK_INT(c.sse_keepalive_s, 15);
	CHECK_INT(c.max_body_bytes, 1024 * 1024);
	CHECK_STR(c.cors_origin, "*");
	CHECK_INT(c.auth_cache_ttl_s, 2);
	CHECK_INT(c.workers, 2);
	CHECK_INT(c.threads, 16);
	CHECK_STR(c.log_level, "info");
	conf_free(&c);
}

static void every_key_parses(void)
{
	static const char text[] = "db_socket = /run/mysqld/mysqld.sock\n"
	                           "db_host = db.local\n"
	                           "db_port = 3307\n"
	                           "db_name = gw\n"
	                           "db_user = gwuser\n"
	                           "db_password = p#ss = word \n"
	                           "keyring = /etc/aigw/kr\n"
	                           "upstream_url = http://127.0.0.1:9999/api/v1\n"
	                           "upstream_key = sk-or-123\n"
	                           "default_model = anthropic/claude-3.5-sonnet\n"
	                           "upstream_connect_timeout_ms = 1000\n"
	                           "upstream_first_byte_timeout_ms = 2000\n"
	                           "upstream_idle_timeout_ms = 3000\n"
	                           "sse_keepalive_s = 5\n"
	                           "max_body_bytes = 2097152\n"
	                           "cors_origin = https://app.example\n"
	                           "auth_cache_ttl_s = 0\n"
	                           "workers = 4\n"
	                           "threads = 64\n"
	                           "log_level = debug\n";
	struct aigw_conf c;
	char err[AIGW_ERRLEN] = "";

	conf_defaults(&c);
	CHECK_INT(conf_parse(&c, text, "t.conf", err), AIGW_OK);
	CHECK_STR(err, "");
	CHECK_STR(c.db_socket, "/run/mysqld/mysqld.sock");
	CHECK_STR(c.db_host, "db.local");
	CHECK_INT(c.db_port, 3307);
	CHECK_STR(c.db_name, "gw");
	CHECK_STR(c.db_user, "gwuser");
	CHECK_STR(c.db_password, "p#ss = word"); /* verbatim after trimming */
	CHECK_STR(c.keyring, "/etc/aigw/kr");
	CHECK_STR(c.upstream_url, "http://127.0.0.1:9999/api/v1");
	CHECK_STR(c.upstream_key, "sk-or-123");
	CHECK_STR(c.default_model, "anthropic/claude-3.5-sonnet");
	CHECK_INT(c.upstream_connect_timeout_ms, 1000);
	CHECK_INT(c.upstream_first_byte_timeout_ms, 2000);
	CHECK_INT(c.upstream_idle_timeout_ms, 3000);
	CHECK_INT(c.sse_keepalive_s, 5);
	CHECK_INT(c.max_body_bytes, 2097152);
	CHECK_STR(c.cors_origin, "https://app.example");
	CHECK_INT(c.auth_cache_ttl_s, 0);
	CHECK_INT(c.workers, 4);
	CHECK_INT(c.threads, 64);
	CHECK_STR(c.log_level, "debug");
	conf_free(&c);
	CHECK(c.db_password == NULL && c.upstream_key == NULL);
}

static void comments_blank_lines_and_spacing(void)
{
	static const char text[] = "# aigw config\n"
	                           "\n"
	                           "   # indented comment\n"
	                           "\t db_port=3310   \r\n"
	                           "db_name\t=\tx\n"
	                           "   \n"
	                           "db_socket =\n";
	struct aigw_conf c;
	char err[AIGW_ERRLEN] = "";

	conf_defaults(&c);
	CHECK_INT(conf_parse(&c, text, "t.conf", err), AIGW_OK);
	CHECK_INT(c.db_port, 3310);
	CHECK_STR(c.db_name, "x");
	CHECK(c.db_socket == NULL); /* empty: unset, use host/port */
	CHECK_STR(c.db_host, "127.0.0.1");
	conf_free(&c);
}

static void zeroed_struct_gets_defaults(void)
{
	struct aigw_conf c = {0};
	char err[AIGW_ERRLEN];

	CHECK_INT(conf_parse(&c, "workers = 3\n", "t.conf", err), AIGW_OK);
	CHECK_INT(c.workers, 3);
	CHECK_INT(c.threads, 16);
	CHECK_STR(c.db_name, "aigw");
	conf_free(&c);
}

struct bad_case {
	const char *text;
	const char *message; /* expected err, exactly */
};

static void bad_files_name_file_and_line(void)
{
	static const struct bad_case cases[] = {
	        {"db_port = 1\nbogus = 1\n", "x.conf:2: unknown key 'bogus'"},
	        {"\n\n# c\nDB_PORT = 1\n", "x.conf:4: unknown key 'DB_PORT'"},
	        {"db_port 3306\n", "x.conf:1: expected 'key = value'"},
	        {" = 3\n", "x.conf:1: missing key before '='"},
	        {"db_port = abc\n", "x.conf:1: db_port: 'abc' is not an integer"},
	        {"db_port = 12x\n", "x.conf:1: db_port: '12x' is not an integer"},
	        {"db_port =\n", "x.conf:1: db_port: '' is not an integer"},
	        {"db_port = +5\n", "x.conf:1: db_port: '+5' is not an integer"},
	        {"db_port = 3.5\n", "x.conf:1: db_port: '3.5' is not an integer"},
	        {"db_port = 0\n", "x.conf:1: db_port: 0 is out of range (1..65535)"},
	        {"db_port = 65536\n", "x.conf:1: db_port: 65536 is out of range (1..65535)"},
	        {"workers = -1\n", "x.conf:1: workers: -1 is out of range (1..256)"},
	        {"threads = 0\n", "x.conf:1: threads: 0 is out of range (1..1024)"},
	        {"max_body_bytes = 10\n",
	         "x.conf:1: max_body_bytes: 10 is out of range (1024..1073741824)"},
	        {"max_body_bytes = 99999999999999999999999\n",
	         "x.conf:1: max_body_bytes: 9223372036854775807 is out of range "
	         "(1024..1073741824)"},
	        {"auth_cache_ttl_s = 60\n",
	         "x.conf:1: auth_cache_ttl_s: 60 is out of range (0..10)"},
	        {"sse_keepalive_s = 0\n", "x.conf:1: sse_keepalive_s: 0 is out of range (1..300)"},
	        {"log_level = loud\n",
	         "x.conf:1: log_level: 'loud' is not one of error, warn, info, debug"},
	        {"upstream_url = ftp://x\n",
	         "x.conf:1: upstream_url must start with http:// or https://"},
	        {"upstream_url = https://user:sk-or-secret@openrouter.ai/api/v1\n",
	         "x.conf:1: upstream_url must not hold credentials (user@host); put the key in "
	         "upstream_key"},
	        {"db_name =\n", "x.conf:1: db_name must not be empty"},
	        {"cors_origin = \n", "x.conf:1: cors_origin must not be empty"},
	        {"db_port = 1\ndb_port = 2\n", "x.conf:2: duplicate key 'db_port'"},
	        {"cors_origin = a\x01"
	         "b\n",
	         "x.conf:1: cors_origin: control characters are not allowed"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aigw_conf c;
		char err[AIGW_ERRLEN] = "";

		conf_defaults(&c);
		CHECK_INT(conf_parse(&c, cases[i].text, "x.conf", err), AIGW_EINVAL);
		CHECK_STR(err, cases[i].message);
		conf_free(&c);
	}
}

static void secret_values_never_in_messages(void)
{
	struct aigw_conf c;
	char err[AIGW_ERRLEN] = "";

	conf_defaults(&c);
	/* A secret pasted without its key: the line is not echoed. */
	CHECK_INT(conf_parse(&c, "sk-or-v1-SECRET\n", "x.conf", err), AIGW_EINVAL);
	CHECK(strstr(err, "SECRET") == NULL);
	CHECK_INT(conf_parse(&c, "upstream_key = sk-SECRET\x02\n", "x.conf", err), AIGW_EINVAL);
	CHECK(strstr(err, "SECRET") == NULL);
	conf_free(&c);
}

static void load_reads_file_and_reports_missing(void)
{
	char path[] = "/tmp/aigw-test-conf-XXXXXX";
	struct aigw_conf c;
	char err[AIGW_ERRLEN] = "";
	FILE *f;
	int fd;

	fd = mkstemp(path);
	CHECK(fd >= 0);
	f = fdopen(fd, "w");
	fputs("# test\nthreads = 7\nbad key = 1\n", f);
	fclose(f);

	conf_defaults(&c);
	CHECK_INT(conf_load(&c, path, err), AIGW_EINVAL);
	{
		char want[AIGW_ERRLEN];

		snprintf(want, sizeof(want), "%s:3: unknown key 'bad key'", path);
		CHECK_STR(err, want);
	}
	conf_free(&c);

	f = fopen(path, "w");
	fputs("threads = 7\n", f);
	fclose(f);
	conf_defaults(&c);
	CHECK_INT(conf_load(&c, path, err), AIGW_OK);
	CHECK_INT(c.threads, 7);
	conf_free(&c);
	unlink(path);

	conf_defaults(&c);
	CHECK_INT(conf_load(&c, "/nonexistent/aigw.conf", err), AIGW_ENOTFOUND);
	CHECK_STR(err, "/nonexistent/aigw.conf: No such file or directory");
	conf_free(&c);
}

static void path_order_explicit_env_default(void)
{
	unsetenv("AIGW_CONFIG");
	CHECK_STR(conf_path(NULL), AIGW_DEFAULT_CONFIG);
	CHECK_STR(conf_path(""), AIGW_DEFAULT_CONFIG);
	setenv("AIGW_CONFIG", "/env/aigw.conf", 1);
	CHECK_STR(conf_path(NULL), "/env/aigw.conf");
	CHECK_STR(conf_path("/explicit.conf"), "/explicit.conf");
	setenv("AIGW_CONFIG", "", 1);
	CHECK_STR(conf_path(NULL), AIGW_DEFAULT_CONFIG);
	unsetenv("AIGW_CONFIG");
}

int main(void)
{
	check_program = "test_conffile";
	RUN(defaults_match_header);
	RUN(every_key_parses);
	RUN(comments_blank_lines_and_spacing);
	RUN(zeroed_struct_gets_defaults);
	RUN(bad_files_name_file_and_line);
	RUN(secret_values_never_in_messages);
	RUN(load_reads_file_and_reports_missing);
	RUN(path_order_explicit_env_default);
	CHECK_DONE();
}
