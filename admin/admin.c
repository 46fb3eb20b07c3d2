/* aigw-admin: database administration for operators and scripts (migrate,
 * apps, keys, keyring rotation, the model table, usage, the consistency
 * check, the config check). This file holds main, the command table with
 * each command's help, option parsing (getopt_long: options anywhere after
 * the command's words) and the helpers the command files share. It connects with the admin config's
 * account when there is one: the runtime account has no DDL rights. */
#include "config.h"
#include "admin.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "db.h"
#include "log.h"

/* One command: its words, its function, its synopsis and what it does. */
struct command {
	const char *name; /* "app list"; the first word alone for one-word commands */
	int (*fn)(struct admin *a, int argc, char **argv);
	const char *synopsis; /* options and arguments after the name */
	const char *help;     /* lines indented by two spaces */
};

static const struct command COMMANDS[] = {
        {"migrate", cmd_migrate, "",
         "  Apply the database migrations not yet applied, each once; prints\n"
         "  \"applied NNN_name\" per migration or \"up to date\". Needs the account\n"
         "  with DDL rights when there is something to apply (the admin config).\n"},
        {"migrate status", cmd_migrate_status, "[--json]",
         "  List every migration this aigw-admin knows and when it was applied\n"
         "  (version, name, state, applied_at; state applied, pending, or unknown\n"
         "  for one a newer aigw-admin applied). Changes nothing.\n"},
        {"app create", cmd_app_create, "[--id ID] [--name NAME] [--plan free|pro|enterprise]",
         "  Create an app (default id app_ and 16 hex digits, plan free, name = id);\n"
         "  prints only its id.\n"},
        {"app list", cmd_app_list, "[--json]",
         "  List the apps (deleted ones are left out): id, name, plan, created_at.\n"},
        {"app show", cmd_app_show, "ID [--json]",
         "  Show one app as key: value lines (a deleted one with deleted_at).\n"},
        {"app set-plan", cmd_app_set_plan, "ID PLAN",
         "  Move an app to another plan; the new plan's period starts at once.\n"},
        {"app limits", cmd_app_limits, "ID [--max-in-flight N|none] [--rpm N|none]",
         "  Set (or, without options, show) the app's requests in flight at once and\n"
         "  requests per minute; none: unlimited.\n"},
        {"app delete", cmd_app_delete, "ID [--force]",
         "  Delete an app. Without usage it is removed with its keys, settings and\n"
         "  empty billing periods. With usage (usage rows, reservations in flight)\n"
         "  it is refused unless --force: then its keys are revoked, its AI settings\n"
         "  (BYOK key included) removed and the app marked deleted; its usage,\n"
         "  rollups, billing periods and plan history are kept for reports\n"
         "  (aigw-admin usage). Prints \"deleted ID\".\n"},
        {"key create", cmd_key_create, "--app ID [--role client|admin] [--name NAME] [--rpm N]",
         "  Create an API key (default role client, no rpm limit); prints the token,\n"
         "  shown only this once.\n"},
        {"key list", cmd_key_list, "--app ID [--json]",
         "  List an app's keys: id, role, name, prefix, created_at, revoked_at, rpm.\n"},
        {"key limit", cmd_key_limit, "KEY_ID --rpm N|none", "  Set a key's requests per minute.\n"},
        {"key revoke", cmd_key_revoke, "KEY_ID",
         "  Revoke a key; it stops working within auth_cache_ttl_s seconds.\n"},
        {"keyring rotate", cmd_keyring_rotate, "",
         "  Add a new keyring key and re-seal every BYOK key under it (restart\n"
         "  aigw.fcgi afterwards).\n"},
        {"models sync", cmd_models_sync, "",
         "  Replace the model table (list and prices) with the upstream's\n"
         "  GET /models; prints \"synced N models\".\n"},
        {"models import", cmd_models_import, "FILE",
         "  The same from a file of that JSON shape ({\"data\": [...]}, - for stdin);\n"
         "  prints \"imported N models\".\n"},
        {"models list", cmd_models_list, "[--json]",
         "  List the synced models: id, name, context_length, prompt and completion\n"
         "  price (USD per token).\n"},
        {"usage", cmd_usage, "--app ID [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--json]",
         "  An app's usage over UTC days, both included (default: the last 30 days up\n"
         "  to today): requests, tokens and cost by model, then the total and the\n"
         "  BYOK part. Works for deleted apps too.\n"},
        {"check", cmd_check, "[--app ID] [--json]",
         "  Check that every period's reserved and used amounts and the daily and\n"
         "  monthly rollups equal the sums of their rows; prints each drift and a\n"
         "  summary; exit 0 clean, 1 drift, 2 error.\n"},
        {"config check", cmd_config_check, "",
         "  Load the config file and the admin config as every command does, and\n"
         "  the keyring they name; print \"FILE: ok\" per file, or the error (exit 1).\n"
         "  Connects to nothing.\n"},
};

#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static const char GLOBAL_HELP[] =
        "Options every command takes, anywhere on the line:\n"
        "  --config FILE        the config file (else $AIGW_CONFIG, else " AIGW_DEFAULT_CONFIG ")\n"
        "  --admin-config FILE  the admin config, read after it; its keys win (else\n"
        "                       $AIGW_ADMIN_CONFIG, else " ADMIN_CONF_NAME
        " beside the config file\n"
        "                       if it exists); it names the account with DDL rights\n"
        "  -h, --help           help (aigw-admin COMMAND --help: that command's)\n"
        "  --version            print the version\n"
        "--json prints one line of JSON with the same facts (README: aigw-admin).\n"
        "Exit status: 0 done, 1 error, 2 bad usage (check: 0 clean, 1 drift, 2 error).\n";

/* The command running, for its help and its usage errors; NULL before one
 * is known. */
static const struct command *current;
/* The group ("app") when only its first word is known. */
static const char *current_group;

static void print_synopsis(FILE *f, const struct command *c)
{
	fprintf(f, "  aigw-admin %s%s%s\n", c->name, c->synopsis[0] ? " " : "", c->synopsis);
}

/* Every command whose first word is group (all with NULL). */
static void print_commands(FILE *f, const char *group)
{
	size_t i, n = group ? strlen(group) : 0;

	for (i = 0; i < N_COMMANDS; i++) {
		const char *name = COMMANDS[i].name;

		if (!group || (strncmp(name, group, n) == 0 && (name[n] == ' ' || !name[n])))
			print_synopsis(f, &COMMANDS[i]);
	}
}

static void print_help(FILE *f)
{
	if (current) {
		fputs("usage:\n", f);
		print_synopsis(f, current);
		fprintf(f, "\n%s\n%s", current->help, GLOBAL_HELP);
		return;
	}
	fprintf(f, "usage: aigw-admin %s%sCOMMAND [OPTIONS] [ARGUMENTS]\n\ncommands:\n",
	        current_group ? current_group : "", current_group ? " " : "");
	print_commands(f, current_group);
	fprintf(f, "\n%s", GLOBAL_HELP);
}

static void vreport(const char *fmt, va_list ap)
{
	fputs("aigw-admin: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int admin_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	return ADMIN_ERR;
}

int admin_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	if (current) {
		fputs("usage:\n", stderr);
		print_synopsis(stderr, current);
		fprintf(stderr, "(aigw-admin %s --help for more)\n", current->name);
	} else {
		fprintf(stderr, "usage: aigw-admin %s%sCOMMAND ...\n",
		        current_group ? current_group : "", current_group ? " " : "");
		print_commands(stderr, current_group);
		fputs("(aigw-admin --help for more)\n", stderr);
	}
	return ADMIN_USAGE;
}

#define OPT_CONFIG 1000
#define OPT_ADMIN_CONFIG 1001
#define OPT_HELP 'h'
#define OPT_FIRST 2000 /* the command's options: OPT_FIRST + their index */
#define OPTS_MAX 16

/* A global option's value: a file name, not empty. */
static int global_opt(struct admin *a, int id, const char *value)
{
	if (!value || !value[0])
		return admin_usage_error("%s needs a file name",
		                         id == OPT_CONFIG ? "--config" : "--admin-config");
	if (id == OPT_CONFIG)
		a->config_path = value;
	else
		a->admin_config_path = value;
	return ADMIN_OK;
}

int admin_parse(struct admin *a, int argc, char **argv, const struct admin_opt *opts,
                const char **pos, int min_pos, int max_pos)
{
	struct option lo[OPTS_MAX + 4];
	int n = 0, n_pos = 0, c, i, r;

	for (i = 0; opts && opts[i].name && n < OPTS_MAX; i++, n++) {
		lo[n].name = opts[i].name + 2; /* past "--" */
		lo[n].has_arg = opts[i].value ? required_argument : no_argument;
		lo[n].flag = NULL;
		lo[n].val = OPT_FIRST + i;
	}
	lo[n++] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
	lo[n++] = (struct option){"admin-config", required_argument, NULL, OPT_ADMIN_CONFIG};
	lo[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
	lo[n] = (struct option){NULL, 0, NULL, 0};

	/* "-": options and arguments in any order, arguments in order (as 1);
	 * ":": a missing value is reported as ':' (our message, not getopt's). */
	optind = 0; /* glibc: start afresh */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-:h", lo, NULL)) != -1) {
		if (c == 1) {
			if (n_pos >= max_pos)
				return admin_usage_error("unexpected argument '%.80s'", optarg);
			pos[n_pos++] = optarg;
		} else if (c == OPT_HELP) {
			print_help(stdout);
			return ADMIN_HELP;
		} else if (c == OPT_CONFIG || c == OPT_ADMIN_CONFIG) {
			r = global_opt(a, c, optarg);
			if (r != ADMIN_OK)
				return r;
		} else if (c == ':') {
			return admin_usage_error("option %s needs a value", argv[optind - 1]);
		} else if (c == '?') {
			return admin_usage_error("unknown option %s", argv[optind - 1]);
		} else if (c >= OPT_FIRST && c < OPT_FIRST + n && opts[c - OPT_FIRST].value) {
			*opts[c - OPT_FIRST].value = optarg;
		} else if (c >= OPT_FIRST && c < OPT_FIRST + n) {
			*opts[c - OPT_FIRST].flag = true;
		} else {
			return admin_usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	/* After "--": the rest are arguments. */
	for (; optind < argc; optind++) {
		if (n_pos >= max_pos)
			return admin_usage_error("unexpected argument '%.80s'", argv[optind]);
		pos[n_pos++] = argv[optind];
	}
	if (n_pos < min_pos)
		return admin_usage_error("missing argument");
	return ADMIN_OK;
}

/* Picks the admin config: explicit (must exist), else beside the config
 * (optional). Sets a->admin_conf_file; returns true if it must exist. */
static bool admin_conf_pick(struct admin *a, const char *conf_file)
{
	const char *env = getenv("AIGW_ADMIN_CONFIG");
	const char *slash = strrchr(conf_file, '/');
	int dir_len = slash ? (int)(slash - conf_file) + 1 : 0;

	if (a->admin_config_path) {
		snprintf(a->admin_conf_file, sizeof a->admin_conf_file, "%s", a->admin_config_path);
		return true;
	}
	if (env && env[0]) {
		snprintf(a->admin_conf_file, sizeof a->admin_conf_file, "%s", env);
		return true;
	}
	snprintf(a->admin_conf_file, sizeof a->admin_conf_file, "%.*s%s", dir_len, conf_file,
	         ADMIN_CONF_NAME);
	return false;
}

int admin_load_conf(struct admin *a)
{
	char err[AIGW_ERRLEN];
	const char *path = conf_path(a->config_path);
	bool must_exist;
	aigw_rc rc;
	int lvl;

	conf_defaults(&a->conf);
	a->conf_loaded = true;
	snprintf(a->conf_file, sizeof a->conf_file, "%s", path);
	rc = conf_load(&a->conf, path, err);
	if (rc == AIGW_ENOTFOUND)
		return admin_error("%s; name the config file with --config FILE or $AIGW_CONFIG "
		                   "(default " AIGW_DEFAULT_CONFIG ")",
		                   err);
	if (rc != AIGW_OK)
		return admin_error("%s", err);
	/* Over the loaded config: a key given in both files takes the admin
	 * config's value. Only a missing optional file is no error. */
	must_exist = admin_conf_pick(a, path);
	rc = conf_load(&a->conf, a->admin_conf_file, err);
	if (rc == AIGW_OK)
		a->admin_conf_loaded = true;
	else if (rc != AIGW_ENOTFOUND || must_exist)
		return admin_error("admin config: %s", err);
	lvl = a->conf.log_level ? log_level_parse(a->conf.log_level) : -1;
	if (lvl >= 0)
		log_set_level((enum log_level)lvl);
	return ADMIN_OK;
}

int admin_open(struct admin *a)
{
	int r = admin_load_conf(a);

	if (r == ADMIN_OK)
		a->db = db_new(&a->conf);
	return r;
}

bool admin_text_ok(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

void admin_time(const char *t, char out[ADMIN_TIME_LEN])
{
	/* "YYYY-MM-DD HH:MM:SS.ffffff": swap the space for T, append Z. */
	if (!t || strlen(t) < 19) {
		snprintf(out, ADMIN_TIME_LEN, "-");
		return;
	}
	snprintf(out, ADMIN_TIME_LEN, "%.10sT%.26sZ", t, t + 11);
}

int admin_limit_arg(const char *opt, const char *s, int max, int *out)
{
	char *end = NULL;
	long long v;

	if (strcmp(s, "none") == 0) {
		*out = 0;
		return ADMIN_OK;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < 1 || v > max)
		return admin_usage_error("%s must be a number from 1 to %d, or none", opt, max);
	*out = (int)v;
	return ADMIN_OK;
}

void admin_limit_str(int v, char out[16])
{
	if (v > 0)
		snprintf(out, 16, "%d", v);
	else
		snprintf(out, 16, "none");
}

int admin_print_line(const char *s)
{
	if (fputs(s, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
		return admin_error("cannot write to stdout: %s", strerror(errno));
	return ADMIN_OK;
}

int admin_listing_open(struct admin *a, int argc, char **argv, bool *json)
{
	const struct admin_opt opts[] = {{"--json", NULL, json}, {NULL, NULL, NULL}};
	char err[AIGW_ERRLEN];
	int r;

	*json = false;
	r = admin_parse(a, argc, argv, opts, NULL, 0, 0);
	if (r != ADMIN_OK)
		return r;
	r = admin_open(a);
	if (r != ADMIN_OK)
		return r;
	if (db_ping(a->db, err) != AIGW_OK)
		return admin_error("%s", err);
	return ADMIN_OK;
}

cJSON *admin_listing_begin(bool json, const char *header)
{
	if (json)
		return cJSON_CreateObject();
	printf("%s\n", header);
	return NULL;
}

int admin_listing_end(cJSON *doc, aigw_rc rc, const char *err)
{
	if (rc != AIGW_OK) {
		cJSON_Delete(doc);
		fflush(stdout);
		return admin_error("%s", err);
	}
	return doc ? admin_print_json(doc) : admin_flush();
}

int admin_print_json(cJSON *doc)
{
	char *text = cJSON_PrintUnformatted(doc);
	int r;

	cJSON_Delete(doc);
	if (!text)
		return admin_error("out of memory printing JSON");
	r = admin_print_line(text);
	cJSON_free(text);
	return r;
}

int admin_flush(void)
{
	if (fflush(stdout) != 0)
		return admin_error("cannot write to stdout: %s", strerror(errno));
	return ADMIN_OK;
}

/* A global option with its value in the next argument. */
static bool takes_value(const char *arg)
{
	return strcmp(arg, "--config") == 0 || strcmp(arg, "--admin-config") == 0;
}

/* The command whose name is words (one or two), or NULL. */
static const struct command *find_command(const char *w1, const char *w2)
{
	char name[64];
	size_t i;

	snprintf(name, sizeof name, "%s%s%s", w1, w2 ? " " : "", w2 ? w2 : "");
	for (i = 0; i < N_COMMANDS; i++) {
		if (strcmp(COMMANDS[i].name, name) == 0)
			return &COMMANDS[i];
	}
	return NULL;
}

/* True if some command's name starts with the word w and another word. */
static bool is_group(const char *w)
{
	size_t i, n = strlen(w);

	for (i = 0; i < N_COMMANDS; i++) {
		if (strncmp(COMMANDS[i].name, w, n) == 0 && COMMANDS[i].name[n] == ' ')
			return true;
	}
	return false;
}

/* The indexes of the first two arguments that are not options (nor the
 * value of a global option), or 0. Only global options come before a
 * command's words; its own options may come anywhere after the first. */
static void command_words(int argc, char **argv, int *w1, int *w2)
{
	int i;

	*w1 = *w2 = 0;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return;
		if (takes_value(argv[i])) {
			i++;
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			continue;
		if (*w1) {
			*w2 = i;
			return;
		}
		*w1 = i;
	}
}

/* Before the command is known: --help, --version, or a usage error for
 * an option no command takes there. ADMIN_OK to go on. */
static int early_options(char **argv, int before)
{
	int i;

	for (i = 1; i < before && strcmp(argv[i], "--") != 0; i++) {
		if (takes_value(argv[i])) {
			i++;
			continue;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			continue;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			print_help(stdout);
			return ADMIN_HELP;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("aigw-admin " PACKAGE_VERSION "\n");
			return ADMIN_HELP;
		}
		if (strncmp(argv[i], "--config=", 9) != 0 &&
		    strncmp(argv[i], "--admin-config=", 15) != 0)
			return admin_usage_error("unknown option %s%s", argv[i],
			                         current_group ? "" : " before the command");
	}
	return ADMIN_OK;
}

/* Finds the command, then hands it argv without its words (argv[0] its
 * name). */
static int run(struct admin *a, int argc, char **argv)
{
	const struct command *c = NULL;
	char **rest;
	int w1, w2, skip, i, n = 1, rc;

	command_words(argc, argv, &w1, &w2);
	rc = early_options(argv, w1 ? w1 : argc);
	if (rc != ADMIN_OK)
		return rc;
	if (!w1)
		return admin_usage_error("missing command");
	if (strcmp(argv[w1], "help") == 0) {
		print_help(stdout);
		return ADMIN_HELP;
	}
	if (strcmp(argv[w1], "version") == 0) {
		printf("aigw-admin " PACKAGE_VERSION "\n");
		return ADMIN_HELP;
	}
	/* Two words if they name a command ("migrate status"), else one. */
	if (w2)
		c = find_command(argv[w1], argv[w2]);
	skip = c ? w2 : 0;
	if (!c)
		c = find_command(argv[w1], NULL);
	if (!c && is_group(argv[w1])) {
		current_group = argv[w1];
		rc = early_options(argv, argc);
		if (rc != ADMIN_OK)
			return rc;
		if (!w2)
			return admin_usage_error("%s: missing subcommand", argv[w1]);
		return admin_usage_error("%s: unknown subcommand '%.80s'", argv[w1], argv[w2]);
	}
	if (!c)
		return admin_usage_error("unknown command '%.80s'", argv[w1]);
	current = c;
	rest = xcalloc((size_t)argc + 1, sizeof *rest);
	rest[0] = (char *)c->name;
	for (i = 1; i < argc; i++) {
		if (i != w1 && i != skip)
			rest[n++] = argv[i];
	}
	/* A --version among the command's options is the program's. */
	for (i = 1; i < n && strcmp(rest[i], "--") != 0; i++) {
		if (strcmp(rest[i], "--version") == 0) {
			printf("aigw-admin " PACKAGE_VERSION "\n");
			free(rest);
			return ADMIN_HELP;
		}
	}
	rc = c->fn(a, n, rest);
	free(rest);
	return rc;
}

int main(int argc, char **argv)
{
	struct admin a;
	int rc;

	memset(&a, 0, sizeof a);
	rc = run(&a, argc, argv);
	if (rc == ADMIN_HELP)
		rc = ADMIN_OK;
	db_free(a.db);
	if (a.conf_loaded)
		conf_free(&a.conf);
	return rc;
}
