/* aigw.fcgi: the gateway's FastCGI responder. Spawned by the web server
 * (listening socket on fd 0: lighttpd bin-path, mod_fcgid, spawn-fcgi) or
 * run as its own pool with --listen. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <fcgiapp.h>
#include <sodium.h>

#include "alloc.h"
#include "conffile.h"
#include "keyring.h"
#include "log.h"
#include "pool.h"
#include "server.h"

#define PROG "aigw.fcgi"

struct options {
	const char *config;
	const char *listen;
	int workers; /* 0: from the config file */
	int threads; /* 0: from the config file */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [--config FILE] [--threads T]\n"
	           "       " PROG " --listen SOCKET [--config FILE] [--workers N] [--threads T]\n"
	           "\n"
	           "Without --listen, " PROG " expects a FastCGI listening socket on fd 0, as\n"
	           "lighttpd (bin-path), Apache mod_fcgid and spawn-fcgi provide.\n"
	           "With --listen it opens SOCKET (a unix socket path, or 127.0.0.1:PORT)\n"
	           "and runs a pool of N worker processes. Each keeps T request threads\n"
	           "waiting and starts more on demand, up to the config's max_requests.\n"
	           "\n"
	           "  --config FILE   configuration file (default: $AIGW_CONFIG, "
	           "else " AIGW_DEFAULT_CONFIG ")\n"
	           "  --listen SOCKET run the process pool on SOCKET\n"
	           "  --workers N     worker processes (1-256; default: config 'workers')\n"
	           "  --threads T     request threads kept waiting per process (1-1024;\n"
	           "                  default: config 'threads')\n"
	           "  --help          this text\n"
	           "  --version       print the version\n");
}

static bool parse_count(const char *s, int max, int *out)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 1 || v > max)
		return false;
	*out = (int)v;
	return true;
}

/* True if argv[*i] is option `name` ("--opt VALUE" or "--opt=VALUE"); *value
 * gets the value (NULL if missing) and *i moves past it. */
static bool take_opt(int argc, char **argv, int *i, const char *name, const char **value)
{
	size_t n = strlen(name);

	*value = NULL;
	if (strncmp(argv[*i], name, n) != 0)
		return false;
	if (argv[*i][n] == '=') {
		*value = argv[*i] + n + 1;
		return true;
	}
	if (argv[*i][n] != '\0')
		return false;
	if (*i + 1 < argc) {
		++*i;
		*value = argv[*i];
	}
	return true;
}

static bool is_spawner_arg(const char *a)
{
	/* Tolerated when a spawner appends a process number ("-1", "-2"). */
	return a[0] == '-' && a[1] != '\0' && strspn(a + 1, "0123456789") == strlen(a + 1);
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct options *o)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL, *name = a;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--version") == 0) {
			printf(PROG " " PACKAGE_VERSION "\n");
			return 0;
		}
		if (take_opt(argc, argv, &i, "--config", &v)) {
			o->config = v;
		} else if (take_opt(argc, argv, &i, "--listen", &v)) {
			o->listen = v;
		} else if (take_opt(argc, argv, &i, "--workers", &v)) {
			if (v != NULL && !parse_count(v, 256, &o->workers)) {
				fprintf(stderr, PROG ": --workers: '%s' is not a number 1-256\n",
				        v);
				return 2;
			}
		} else if (take_opt(argc, argv, &i, "--threads", &v)) {
			if (v != NULL && !parse_count(v, 1024, &o->threads)) {
				fprintf(stderr, PROG ": --threads: '%s' is not a number 1-1024\n",
				        v);
				return 2;
			}
		} else if (is_spawner_arg(a)) {
			continue;
		} else {
			fprintf(stderr, PROG ": unknown argument '%s'\n", a);
			usage(stderr);
			return 2;
		}
		if (v == NULL || v[0] == '\0') {
			fprintf(stderr, PROG ": %.*s needs a value\n", (int)strcspn(name, "="),
			        name);
			usage(stderr);
			return 2;
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct aigw_conf conf;
	struct keyring kr;
	char err[AIGW_ERRLEN];
	const char *path;
	int rc;

	rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;

	/* Before FCGX_Init: libfcgi installs handlers only where none are set. */
	server_signals_install();
	if (FCGX_Init() != 0) {
		fprintf(stderr, PROG ": FCGX_Init failed\n");
		return 1;
	}
	if (o.listen == NULL && FCGX_IsCGI()) {
		fprintf(stderr,
		        PROG ": not started by a FastCGI web server; use --listen SOCKET\n");
		return 2;
	}

	if (sodium_init() < 0) {
		fprintf(stderr, PROG ": libsodium failed to initialize\n");
		return 1;
	}
	/* Before any thread exists: curl_global_init is not thread-safe. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, PROG ": libcurl failed to initialize\n");
		return 1;
	}
	{
		/* cJSON allocations follow the project's OOM policy too. */
		cJSON_Hooks hooks = {xmalloc, free};

		cJSON_InitHooks(&hooks);
	}

	conf_defaults(&conf);
	path = conf_path(o.config);
	if (conf_load(&conf, path, err) != AIGW_OK) {
		fprintf(stderr, PROG ": configuration: %s\n", err);
		conf_free(&conf);
		return 1;
	}
	log_set_level((enum log_level)log_level_parse(conf.log_level));

	memset(&kr, 0, sizeof(kr));
	if (keyring_load(&kr, conf.keyring, err) != AIGW_OK) {
		fprintf(stderr, PROG ": keyring: %s\n", err);
		conf_free(&conf);
		return 1;
	}

	if (o.listen != NULL) {
		rc = pool_run(&conf, &kr, path, o.listen, o.workers, o.threads);
	} else {
		struct server_opts so;

		memset(&so, 0, sizeof(so));
		so.conf = &conf;
		so.keyring = &kr;
		so.listen_fd = 0;
		so.threads = o.threads ? o.threads : conf.threads;
		so.max_requests = conf.max_requests;
		log_info(PROG " " PACKAGE_VERSION " spawned on fd 0: %d threads waiting, up to %d "
		         "requests in flight (config %s)",
		         so.threads, so.max_requests, path);
		rc = server_run_worker(&so);
	}

	keyring_free(&kr);
	conf_free(&conf);
	curl_global_cleanup();
	return rc;
}
