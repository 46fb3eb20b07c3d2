/* Unit tests for base/conffile.c: defaults, every key, comments (whole
 * lines and inline), the upstream URL's parsing, the FILE:LINE error for
 * each kind of mistake, and secrets in a file others may read. */
#include "config.h"

#include "conffile.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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

static void inline_comments_cut(void)
{
	static const char text[] = "db_name = aigw # the production database\n"
	                           "db_port = 3307\t# tab before the hash\n"
	                           "db_password = p#ss#word # a hash inside a word is kept\n"
	                           "db_user = #only a comment: empty value\n"
	                           "keyring = /etc/aigw/kr#1\n"
	                           "db_socket = # unset\n";
	struct aigw_conf c;
	char err[AIGW_ERRLEN] = "";

	conf_defaults(&c);
	CHECK_INT(conf_parse(&c, text, "t.conf", err), AIGW_EINVAL);
	CHECK_STR(err, "t.conf:4: db_user must not be empty");
	conf_free(&c);

	conf_defaults(&c);
	CHECK_INT(conf_parse(&c, strstr(text, "keyring"), "t.conf", err), AIGW_OK);
	CHECK_STR(c.keyring, "/etc/aigw/kr#1");
	CHECK(c.db_socket == NULL);
	conf_free(&c);

	conf_defaults(&c);
	CHECK_INT(conf_parse(&c,
	                     "db_name = aigw # the production database\n"
	                     "db_port = 3307\t# tab before the hash\n"
	                     "db_password = p#ss#word # a hash inside a word is kept\n",
	                     "t.conf", err),
	          AIGW_OK);
	CHECK_STR(c.db_name, "aigw");
	CHECK_INT(c.db_port, 3307);
	CHECK_STR(c.db_password, "p#ss#word");
	conf_free(&c);
}

static void upstream_url_parsed_and_normalised(void)
{
	static const struct {
		const char *value, *want;
	} good[] = {
	        {"https://openrouter.ai/api/v1/", "https://openrouter.ai/api/v1"},
	        {"https://openrouter.ai/api/v1//", "https://openrouter.ai/api/v1"},
	        {"http://127.0.0.1:19801/ # the simulator", "http://127.0.0.1:19801"},
	        {"http://[::1]:8080/v1", "http://[::1]:8080/v1"},
	        {"https://openrouter.ai", "https://openrouter.ai"},
	};
	size_t i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct aigw_conf c;
		char err[AIGW_ERRLEN] = "", text[256];

		snprintf(text, sizeof text, "upstream_url = %s\n", good[i].value);
		conf_defaults(&c);
		CHECK_INT(conf_parse(&c, text, "u.conf", err), AIGW_OK);
		CHECK_STR(err, "");
		CHECK_STR(c.upstream_url, good[i].want);
		conf_free(&c);
	}
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
	        {"upstream_url = https://\n", "x.conf:1: upstream_url: 'https://' has no host"},
	        {"upstream_url = https:///api/v1\n",
	         "x.conf:1: upstream_url: 'https:///api/v1' has no host"},
	        {"upstream_url = https://h:99999/v1\n",
	         "x.conf:1: upstream_url: 'https://h:99999/v1' is not a valid URL: Port number "
	         "was not a decimal number between 0 and 65535"},
	        {"upstream_url = https://h:0/v1\n",
	         "x.conf:1: upstream_url: 'https://h:0/v1' port 0 is not a port"},
	        {"upstream_url = https://h/v1?x=1\n",
	         "x.conf:1: upstream_url: 'https://h/v1?x=1' must not have a query (?) or a "
	         "fragment (#)"},
	        {"upstream_url = https://h/v1#frag\n",
	         "x.conf:1: upstream_url: 'https://h/v1#frag' must not have a query (?) or a "
	         "fragment (#)"},
	        {"upstream_url = https://h/a b\n",
	         "x.conf:1: upstream_url: 'https://h/a b' is not a valid URL: Bad path"},
	        {"db_name =\n", "x.conf:1: db_name must not be empty"},
	        {"db_name = # just a comment\n", "x.conf:1: db_name must not be empty"},
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

/* Writes text to a new file of the given mode; returns its path. */
static void write_mode(char *path, const char *text, mode_t mode)
{
	FILE *f;
	int fd;

	fd = mkstemp(path);
	CHECK(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	CHECK_INT(chmod(path, mode), 0);
}

static void secrets_refused_in_readable_file(void)
{
	static const struct {
		const char *text;
		mode_t mode;
		aigw_rc want;
		const char *secret; /* named in the error */
	} cases[] = {
	        {"db_password = pw\n", 0644, AIGW_EINVAL, "db_password"},
	        {"upstream_key = sk-or-1\n", 0604, AIGW_EINVAL, "upstream_key"},
	        {"db_password = pw\n", 0660, AIGW_EINVAL, "db_password"},
	        {"db_password = pw\n", 0642, AIGW_EINVAL, "db_password"},
	        {"db_password = pw\n", 0640, AIGW_OK, NULL},
	        {"db_password = pw\nupstream_key = k\n", 0600, AIGW_OK, NULL},
	        {"db_password = pw\n", 0400, AIGW_OK, NULL},
	        /* nothing secret in it: any mode */
	        {"db_name = aigw\ndb_password =\n", 0644, AIGW_OK, NULL},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[] = "/tmp/aigw-test-conf-XXXXXX", want[AIGW_ERRLEN];
		char err[AIGW_ERRLEN] = "";
		struct aigw_conf c;

		write_mode(path, cases[i].text, cases[i].mode);
		conf_defaults(&c);
		CHECK_INT(conf_load(&c, path, err), cases[i].want);
		if (cases[i].secret) {
			snprintf(want, sizeof want,
			         "%s holds %s but its mode %04o lets others read or change it: "
			         "chmod 0640 %s (group read is fine)",
			         path, cases[i].secret, (unsigned)cases[i].mode, path);
			CHECK_STR(err, want);
			CHECK(strstr(err, "pw") == NULL && strstr(err, "sk-or") == NULL);
		}
		conf_free(&c);
		unlink(path);
	}
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
	RUN(inline_comments_cut);
	RUN(upstream_url_parsed_and_normalised);
	RUN(zeroed_struct_gets_defaults);
	RUN(bad_files_name_file_and_line);
	RUN(secret_values_never_in_messages);
	RUN(load_reads_file_and_reports_missing);
	RUN(secrets_refused_in_readable_file);
	RUN(path_order_explicit_env_default);
	CHECK_DONE();
}
