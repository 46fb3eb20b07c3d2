/* The aigw configuration file, shared by aigw.fcgi and aigw-admin.
 * Format: one `key = value` per line, `#` starts a comment line, blank lines
 * ignored, values taken verbatim after trimming (no quoting). Unknown keys and
 * malformed values are errors (a typo must not silently fall back to a default).
 * Found by --config, else $AIGW_CONFIG, else /etc/aigw/aigw.conf. */
#ifndef AIGW_CONFFILE_H
#define AIGW_CONFFILE_H

#include <stddef.h>

#include "error.h"

#define AIGW_DEFAULT_CONFIG "/etc/aigw/aigw.conf"

struct aigw_conf {
	/* database */
	char *db_socket;   /* unix socket path; used when set, else host/port */
	char *db_host;     /* default 127.0.0.1 */
	int db_port;       /* default 3306 */
	char *db_name;     /* default "aigw" */
	char *db_user;     /* default "aigw" */
	char *db_password; /* default "" (secret: never logged) */

	/* secrets */
	char *keyring; /* path of the master keyring file (mode 0600);
	                  default /etc/aigw/keyring */

	/* upstream */
	char *upstream_url;                 /* default https://openrouter.ai/api/v1 */
	char *upstream_key;                 /* platform key (secret: never logged); may be empty */
	char *default_model;                /* operator default model; default openai/gpt-4o-mini */
	int upstream_connect_timeout_ms;    /* default 5000 */
	int upstream_first_byte_timeout_ms; /* default 120000 */
	int upstream_idle_timeout_ms;       /* default 120000 */
	int sse_keepalive_s;                /* default 15 */

	/* HTTP */
	size_t max_body_bytes; /* default 1 MiB */
	char *cors_origin;     /* Access-Control-Allow-Origin value; default "*" */

	/* auth */
	int auth_cache_ttl_s; /* per-thread key cache TTL; default 2, 0 disables */

	/* credits (README: Plans and credits) */
	char *reserve_floor_usd;        /* USD reserved for a model without a known
	                                   price: decimal text, at most 10 decimals;
	                                   default "0.01" */
	int reserve_default_max_tokens; /* completion bound when neither the request
	                                   nor the app gives one (also sent upstream as
	                                   max_tokens for plans that can run out);
	                                   default 4096 */
	int reservation_ttl_s;          /* a reservation left by a crashed worker is
	                                   freed after this; keep it above the longest
	                                   request; default 900 */

	/* process model (README: Running aigw.fcgi) */
	int workers;        /* worker processes of a --listen pool; default 2 */
	int threads;        /* request threads a worker keeps ready; default 16 */
	int max_requests;   /* requests in flight per worker (a thread each,
	                       started on demand); default 4096 */
	int db_connections; /* MariaDB connections per worker; default 8 */
	int db_wait_ms;     /* how long a request waits for a free one; default 5000 */
	int usage_flush_ms; /* longest wait of a usage row for its batch; default 10 */
	char *limits_file;  /* the host's shared limits table; "" (default): a
	                       file in /dev/shm named after the database */
	char *journal_dir;  /* the usage journal's files (usage_journal.h);
	                       default /var/lib/aigw/journal */
	int journal_max_mb; /* their total size at most; default 1024 */
	int journal_fsync_ms; /* 0 (default): a response waits for its row's
	                         fdatasync; N: the journal is fdatasync'd by the
	                         usage writer at most N ms apart instead */
	int drain_timeout_s; /* how long a stopping worker lets its requests
	                        run before it cuts them; default 600 */

	char *log_level; /* default "info" */
};

/* Sets every field to its default. */
void conf_defaults(struct aigw_conf *c);
/* Loads path over the defaults. On error, err names the file, line and key.
 * c must hold defaults (conf_defaults) or be all zero, in which case the
 * defaults are set first. A key given twice is an error. On error c stays
 * valid for conf_free (possibly partly updated). */
aigw_rc conf_load(struct aigw_conf *c, const char *path, char *err);
/* Parses text (for tests); `name` is used in error messages. */
aigw_rc conf_parse(struct aigw_conf *c, const char *text, const char *name, char *err);
/* Picks the path: explicit if non-NULL, else $AIGW_CONFIG, else the default. */
const char *conf_path(const char *explicit_path);
/* Frees strings and wipes secrets. */
void conf_free(struct aigw_conf *c);

#endif
