/* Shared by the aigw-admin command files (admin*.c): the loaded config and
 * database, option parsing, checks and error reporting. stdout carries only
 * what scripts parse (README: aigw-admin); messages go to stderr. */
#ifndef AIGW_DB_ADMIN_H
#define AIGW_DB_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "conffile.h"

struct db;

/* Exit statuses. ADMIN_HELP is internal: print the usage on stdout, exit 0. */
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
	char admin_conf_file[4096];    /* the admin config admin_open looked for */
	bool admin_conf_loaded;        /* it existed and its keys replaced the config's */
	struct aigw_conf conf;
	bool conf_loaded;
	struct db *db;
};

/* One --name VALUE (or --name=VALUE) option; *value stays NULL if absent. */
struct admin_opt {
	const char *name;
	const char **value;
};

/* "aigw-admin: <message>" on stderr; returns ADMIN_ERR. */
int admin_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "aigw-admin: <message>" and the usage on stderr; returns ADMIN_USAGE. */
int admin_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parses argv[0..argc) (after the subcommand words) into opts (NULL-name
 * terminated) and between min_pos and max_pos positional arguments stored in
 * pos. Returns ADMIN_OK, ADMIN_USAGE (reported) or ADMIN_HELP. */
int admin_parse(int argc, char **argv, const struct admin_opt *opts, const char **pos, int min_pos,
                int max_pos);
/* Loads the config, then the admin config over it (the database account
 * with DDL rights: --admin-config, else $AIGW_ADMIN_CONFIG, else admin.conf
 * beside the config when it exists), and opens the database (lazily
 * connected). Reports and returns ADMIN_ERR on failure. */
int admin_open(struct admin *a);
/* True if s is 1..max bytes with no control characters (tabs and newlines
 * would break the tab-separated listings). */
bool admin_text_ok(const char *s, size_t max);
/* A database time "YYYY-MM-DD HH:MM:SS.ffffff" as ISO-8601 UTC
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ"; "-" when empty. */
void admin_time(const char *db_time, char out[ADMIN_TIME_LEN]);
/* A limit option's value: "none" (*out = 0) or an integer from 1 to max.
 * ADMIN_OK, or ADMIN_USAGE (reported, naming opt). */
int admin_limit_arg(const char *opt, const char *s, int max, int *out);
/* A limit for display: the number, or "none" for 0 (unlimited). */
void admin_limit_str(int v, char out[16]);
/* Writes all of s then "\n" to stdout; ADMIN_OK or ADMIN_ERR (reported). */
int admin_print_line(const char *s);

int cmd_app(struct admin *a, int argc, char **argv);
int cmd_key(struct admin *a, int argc, char **argv);
int cmd_keyring(struct admin *a, int argc, char **argv);
int cmd_models(struct admin *a, int argc, char **argv);
int cmd_check(struct admin *a, int argc, char **argv);

#endif
