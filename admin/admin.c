/* aigw-admin: database administration for operators and scripts (migrate,
 * apps, keys, keyring rotation, the model table, the consistency check).
 * This file holds main, the usage text, option parsing and the helpers the
 * command files share. It connects with the admin config's account when
 * there is one: the runtime account has no DDL rights. */
#include "config.h"
#include "admin.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "migrate.h"

static const char USAGE[] =
        "usage: aigw-admin [--config FILE] [--admin-config FILE] COMMAND\n"
        "\n"
        "commands:\n"
        "  migrate                       apply the database migrations not yet applied\n"
        "  app create [--id ID] [--name NAME] [--plan free|pro|enterprise]\n"
        "                                create an app (default plan free); prints its id\n"
        "  app list                      list the apps\n"
        "  app show ID                   show one app\n"
        "  app set-plan ID PLAN          move an app to another plan\n"
        "  app limits ID [--max-in-flight N|none] [--rpm N|none]\n"
        "                                set (or show) the app's requests in flight at\n"
        "                                once and requests per minute; none: unlimited\n"
        "  key create --app ID [--role client|admin] [--name NAME] [--rpm N]\n"
        "                                create an API key (default role client, no\n"
        "                                rpm limit); prints the token, shown only once\n"
        "  key list --app ID             list an app's keys\n"
        "  key limit KEY_ID --rpm N|none set a key's requests per minute\n"
        "  key revoke KEY_ID             revoke a key; it stops working at once\n"
        "  keyring rotate                add a new keyring key and re-seal every BYOK\n"
        "                                key under it (restart aigw.fcgi afterwards)\n"
        "  models sync                   replace the model table (list and prices) with\n"
        "                                the upstream's GET /models; prints \"synced N models\"\n"
        "  models import FILE            the same from a file of that JSON shape ({\"data\":\n"
        "                                [...]}, - for stdin); prints \"imported N models\"\n"
        "  check [--app ID] [--json]     check that every period's reserved and used\n"
        "                                amounts and the daily and monthly rollups equal\n"
        "                                the sums of their rows; prints each drift and a\n"
        "                                summary; exit 0 clean, 1 drift, 2 error\n"
        "\n"
        "The config file is --config FILE, else $AIGW_CONFIG, else " AIGW_DEFAULT_CONFIG ".\n"
        "The admin config, in the same format, is read after it and its keys replace\n"
        "the config file's; it names the database account with DDL rights (db_user,\n"
        "db_password) that migrate needs: --admin-config FILE, else $AIGW_ADMIN_CONFIG,\n"
        "else " ADMIN_CONF_NAME " in the config file's directory if it exists.\n"
        "Exit status: 0 done, 1 error, 2 bad usage (check: 0 clean, 1 drift, 2 error).\n";

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
	fputs(USAGE, stderr);
	return ADMIN_USAGE;
}

/* Matches "--name VALUE" (consuming the next argument) or "--name=VALUE". */
static int match_opt(int argc, char **argv, int *i, const struct admin_opt *o)
{
	size_t n = strlen(o->name);
	const char *arg = argv[*i];

	if (strncmp(arg, o->name, n) != 0)
		return 0;
	if (arg[n] == '=') {
		*o->value = arg + n + 1;
		return 1;
	}
	if (arg[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*o->value = argv[++*i];
	return 1;
}

int admin_parse(int argc, char **argv, const struct admin_opt *opts, const char **pos, int min_pos,
                int max_pos)
{
	int i, n_pos = 0, m;
	bool options_done = false;
	const struct admin_opt *o;

	for (i = 0; i < argc; i++) {
		const char *arg = argv[i];

		if (!options_done && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0))
			return ADMIN_HELP;
		if (!options_done && strcmp(arg, "--") == 0) {
			options_done = true;
			continue;
		}
		if (!options_done && arg[0] == '-' && arg[1] != '\0') {
			for (o = opts, m = 0; o && o->name && m == 0; o++)
				m = match_opt(argc, argv, &i, o);
			if (m < 0)
				return admin_usage_error("option %s needs a value", arg);
			if (m == 0)
				return admin_usage_error("unknown option %s", arg);
			continue;
		}
		if (n_pos >= max_pos)
			return admin_usage_error("unexpected argument '%s'", arg);
		pos[n_pos++] = arg;
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

int admin_open(struct admin *a)
{
	char err[AIGW_ERRLEN];
	const char *path = conf_path(a->config_path);
	bool must_exist;
	aigw_rc rc;
	int lvl;

	conf_defaults(&a->conf);
	a->conf_loaded = true;
	if (conf_load(&a->conf, path, err) != AIGW_OK)
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
	a->db = db_new(&a->conf);
	return ADMIN_OK;
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

static int cmd_migrate(struct admin *a, int argc, char **argv)
{
	char err[AIGW_ERRLEN];
	int rc;

	rc = admin_parse(argc, argv, NULL, NULL, 0, 0);
	if (rc != ADMIN_OK)
		return rc;
	rc = admin_open(a);
	if (rc != ADMIN_OK)
		return rc;
	if (db_migrate(&a->conf, stdout, err) == AIGW_OK)
		return ADMIN_OK;
	admin_error("migrate: %s", err);
	if (!a->admin_conf_loaded)
		admin_error("migrate ran as db_user '%s' (there is no %s): the account with DDL "
		            "rights belongs there, or in --admin-config FILE",
		            a->conf.db_user, a->admin_conf_file);
	return ADMIN_ERR;
}

int main(int argc, char **argv)
{
	struct admin a;
	const char *cmd;
	int i, rc;

	memset(&a, 0, sizeof a);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(USAGE, stdout);
			return ADMIN_OK;
		} else if (strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc)
				return admin_usage_error("--config needs a file name");
			a.config_path = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			a.config_path = argv[i] + 9;
		} else if (strcmp(argv[i], "--admin-config") == 0) {
			if (i + 1 >= argc)
				return admin_usage_error("--admin-config needs a file name");
			a.admin_config_path = argv[++i];
		} else if (strncmp(argv[i], "--admin-config=", 15) == 0) {
			a.admin_config_path = argv[i] + 15;
		} else {
			return admin_usage_error("unknown option %s", argv[i]);
		}
	}
	if (a.config_path && !a.config_path[0])
		return admin_usage_error("--config needs a file name");
	if (a.admin_config_path && !a.admin_config_path[0])
		return admin_usage_error("--admin-config needs a file name");
	if (i >= argc)
		return admin_usage_error("missing command");
	cmd = argv[i++];
	if (strcmp(cmd, "migrate") == 0)
		rc = cmd_migrate(&a, argc - i, argv + i);
	else if (strcmp(cmd, "app") == 0)
		rc = cmd_app(&a, argc - i, argv + i);
	else if (strcmp(cmd, "key") == 0)
		rc = cmd_key(&a, argc - i, argv + i);
	else if (strcmp(cmd, "keyring") == 0)
		rc = cmd_keyring(&a, argc - i, argv + i);
	else if (strcmp(cmd, "models") == 0)
		rc = cmd_models(&a, argc - i, argv + i);
	else if (strcmp(cmd, "check") == 0)
		rc = cmd_check(&a, argc - i, argv + i);
	else if (strcmp(cmd, "help") == 0)
		rc = ADMIN_HELP;
	else
		rc = admin_usage_error("unknown command '%s'", cmd);
	if (rc == ADMIN_HELP) {
		fputs(USAGE, stdout);
		rc = ADMIN_OK;
	}
	db_free(a.db);
	if (a.conf_loaded)
		conf_free(&a.conf);
	return rc;
}
