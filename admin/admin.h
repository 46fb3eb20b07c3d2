/* Shared by the aigw-admin command files (admin*.c): the loaded config and
 * database, option parsing, checks and error reporting. stdout carries only
 * what scripts parse (README: aigw-admin); messages go to stderr. */
#ifndef AIGW_DB_ADMIN_H
#define AIGW_DB_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "conffile.h"

struct db;

/* Exit statuses. ADMIN_HELP is internal: the command's help was printed on
 * stdout, exit 0. */
#define ADMIN_OK 0
#define ADMIN_ERR 1
#define ADMIN_USAGE 2
#define ADMIN_HELP (-1)

/* The admin config's name in the config file's directory. */
#define ADMIN_CONF_NAME "admin.conf"

#define ADMIN_NAME_MAX 128 /* apps.name, api_keys.name */
#define ADMIN_TIME_LEN 40

struct admin {
	const char *config_path;       /* --config, or NULL for $AIGW_CONFIG / the default */
	const char *admin_config_path; /* --admin-config, or NULL (admin_open picks one) */
	char conf_file[4096];          /* the config file admin_load_conf read */
	char admin_conf_file[4096];    /* the admin config admin_open looked for */
	bool admin_conf_loaded;        /* it existed and its keys replaced the config's */
	struct aigw_conf conf;
	bool conf_loaded;
	struct db *db;
};

/* One option of a command: "--name VALUE" or "--name=VALUE" when value is
 * set (*value stays NULL if absent), a flag "--name" when flag is set. */
struct admin_opt {
	const char *name;
	const char **value;
	bool *flag;
};

/* "aigw-admin: <message>" on stderr; returns ADMIN_ERR. */
int admin_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "aigw-admin: <message>" and the running command's synopsis on stderr;
 * returns ADMIN_USAGE. */
int admin_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parses the command's arguments with getopt_long: argv[0] is the command's
 * name, then its options (opts, NULL-name terminated), the global ones
 * (--config, --admin-config, --help) and between min_pos and max_pos
 * positional arguments, stored in pos, in any order ("--" ends the
 * options). Returns ADMIN_OK, ADMIN_USAGE (reported) or ADMIN_HELP (the
 * command's help printed). */
int admin_parse(struct admin *a, int argc, char **argv, const struct admin_opt *opts,
                const char **pos, int min_pos, int max_pos);
/* Loads the config, then the admin config over it (the database account
 * with DDL rights: --admin-config, else $AIGW_ADMIN_CONFIG, else admin.conf
 * beside the config when it exists), and opens the database (lazily
 * connected). Reports and returns ADMIN_ERR on failure. */
int admin_open(struct admin *a);
/* The same without the database. */
int admin_load_conf(struct admin *a);
/* True if s is 1..max bytes with no control characters (tabs and newlines
 * would break the tab-separated listings). */
bool admin_text_ok(const char *s, size_t max);
/* A database time "YYYY-MM-DD HH:MM:SS.ffffff" as ISO-8601 UTC
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ"; "-" when empty. */
void admin_time(const char *db_time, char out[ADMIN_TIME_LEN]);
/* A limit option's value: "none" (*out = 0) or an integer from 1 to max.
 * ADMIN_OK, or ADMIN_USAGE (reported, naming opt). */
int admin_limit_arg(const char *opt, const char *s, int max, int *out);
/* ADMIN_OK if app id exists and is not deleted, else ADMIN_ERR (reported).
 * Needs admin_open. */
int admin_app_live(struct admin *a, const char *id);
/* A limit for display: the number, or "none" for 0 (unlimited). */
void admin_limit_str(int v, char out[16]);
/* Writes all of s then "\n" to stdout; ADMIN_OK or ADMIN_ERR (reported). */
int admin_print_line(const char *s);
/* Prints doc as one line of JSON on stdout and deletes it; ADMIN_OK or
 * ADMIN_ERR (reported). */
int admin_print_json(cJSON *doc);

/* A listing command: admin_listing_open takes --json as its only option and
 * checks the database answers (so nothing reaches stdout when it does not);
 * admin_listing_begin prints the table's header line, or returns the JSON
 * document the rows go into (NULL for a table); admin_listing_end, given
 * the result of fetching the rows, prints the document (or flushes the
 * table), or reports err and prints nothing more. */
int admin_listing_open(struct admin *a, int argc, char **argv, bool *json);
cJSON *admin_listing_begin(bool json, const char *header);
int admin_listing_end(cJSON *doc, aigw_rc rc, const char *err);
/* ADMIN_OK if stdout was written out, else ADMIN_ERR (reported). */
int admin_flush(void);

/* The commands (README: aigw-admin); argv[0] is the command's name. */
int cmd_migrate(struct admin *a, int argc, char **argv);
int cmd_migrate_status(struct admin *a, int argc, char **argv);
int cmd_app_create(struct admin *a, int argc, char **argv);
int cmd_app_list(struct admin *a, int argc, char **argv);
int cmd_app_show(struct admin *a, int argc, char **argv);
int cmd_app_set_plan(struct admin *a, int argc, char **argv);
int cmd_app_limits(struct admin *a, int argc, char **argv);
int cmd_app_delete(struct admin *a, int argc, char **argv);
int cmd_key_create(struct admin *a, int argc, char **argv);
int cmd_key_list(struct admin *a, int argc, char **argv);
int cmd_key_limit(struct admin *a, int argc, char **argv);
int cmd_key_revoke(struct admin *a, int argc, char **argv);
int cmd_keyring_rotate(struct admin *a, int argc, char **argv);
int cmd_models_sync(struct admin *a, int argc, char **argv);
int cmd_models_import(struct admin *a, int argc, char **argv);
int cmd_models_list(struct admin *a, int argc, char **argv);
int cmd_usage(struct admin *a, int argc, char **argv);
int cmd_check(struct admin *a, int argc, char **argv);
int cmd_config_check(struct admin *a, int argc, char **argv);

#endif
