/* The aigw configuration file: `key = value` lines over built-in defaults.
 * Every key is declared once in the table below (name, type, range), so the
 * parser, the defaults and the error messages cannot drift apart. */
#include "config.h"

#include "conffile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "alloc.h"
#include "log.h"

#define CONF_FILE_MAX (1024 * 1024)

enum conf_type {
	CT_STR,       /* non-empty string */
	CT_STR_EMPTY, /* string, may be empty */
	CT_STR_OPT,   /* string; empty means unset (NULL) */
	CT_URL,       /* http:// or https:// URL */
	CT_INT,
	CT_SIZE,
	CT_LOGLEVEL,
	CT_DECIMAL /* non-negative decimal text, at most 10 decimals (money) */
};

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t offset;
	long long min, max; /* CT_INT and CT_SIZE */
	bool secret;        /* value never echoed, wiped on free */
};

#define OFF(field) offsetof(struct aigw_conf, field)

static const struct conf_key conf_keys[] = {
        {"db_socket", CT_STR_OPT, OFF(db_socket), 0, 0, false},
        {"db_host", CT_STR, OFF(db_host), 0, 0, false},
        {"db_port", CT_INT, OFF(db_port), 1, 65535, false},
        {"db_name", CT_STR, OFF(db_name), 0, 0, false},
        {"db_user", CT_STR, OFF(db_user), 0, 0, false},
        {"db_password", CT_STR_EMPTY, OFF(db_password), 0, 0, true},
        {"keyring", CT_STR, OFF(keyring), 0, 0, false},
        {"upstream_url", CT_URL, OFF(upstream_url), 0, 0, false},
        {"upstream_key", CT_STR_EMPTY, OFF(upstream_key), 0, 0, true},
        {"default_model", CT_STR, OFF(default_model), 0, 0, false},
        {"upstream_connect_timeout_ms", CT_INT, OFF(upstream_connect_timeout_ms), 1, 600000, false},
        {"upstream_first_byte_timeout_ms", CT_INT, OFF(upstream_first_byte_timeout_ms), 1, 3600000,
         false},
        {"upstream_idle_timeout_ms", CT_INT, OFF(upstream_idle_timeout_ms), 1, 3600000, false},
        {"sse_keepalive_s", CT_INT, OFF(sse_keepalive_s), 1, 300, false},
        {"max_body_bytes", CT_SIZE, OFF(max_body_bytes), 1024, 1024LL * 1024 * 1024, false},
        {"cors_origin", CT_STR, OFF(cors_origin), 0, 0, false},
        /* A revoked key must stop working within a few seconds. */
        {"auth_cache_ttl_s", CT_INT, OFF(auth_cache_ttl_s), 0, 10, false},
        {"reserve_floor_usd", CT_DECIMAL, OFF(reserve_floor_usd), 0, 0, false},
        {"reserve_default_max_tokens", CT_INT, OFF(reserve_default_max_tokens), 1, 1000000, false},
        /* Below the upstream timeouts a reservation could expire mid-request. */
        {"reservation_ttl_s", CT_INT, OFF(reservation_ttl_s), 60, 86400, false},
        {"workers", CT_INT, OFF(workers), 1, 256, false},
        {"threads", CT_INT, OFF(threads), 1, 1024, false},
        {"max_requests", CT_INT, OFF(max_requests), 1, 100000, false},
        {"db_connections", CT_INT, OFF(db_connections), 1, 256, false},
        {"db_wait_ms", CT_INT, OFF(db_wait_ms), 1, 60000, false},
        {"usage_flush_ms", CT_INT, OFF(usage_flush_ms), 1, 1000, false},
        {"limits_file", CT_STR_EMPTY, OFF(limits_file), 0, 0, false},
        {"journal_dir", CT_STR, OFF(journal_dir), 0, 0, false},
        {"journal_max_mb", CT_INT, OFF(journal_max_mb), 1, 1024 * 1024, false},
        {"journal_fsync_ms", CT_INT, OFF(journal_fsync_ms), 0, 1000, false},
        {"drain_timeout_s", CT_INT, OFF(drain_timeout_s), 0, 86400, false},
        {"log_level", CT_LOGLEVEL, OFF(log_level), 0, 0, false},
};

#define NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

static char **str_field(struct aigw_conf *c, const struct conf_key *k)
{
	return (char **)((char *)c + k->offset);
}

static void free_str(char **p, bool secret)
{
	if (*p == NULL)
		return;
	if (secret)
		sodium_memzero(*p, strlen(*p));
	free(*p);
	*p = NULL;
}

static void set_str(struct aigw_conf *c, const struct conf_key *k, const char *value)
{
	char **p = str_field(c, k);

	free_str(p, k->secret);
	*p = value ? xstrdup(value) : NULL;
}

void conf_defaults(struct aigw_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->db_socket = NULL;
	c->db_host = xstrdup("127.0.0.1");
	c->db_port = 3306;
	c->db_name = xstrdup("aigw");
	c->db_user = xstrdup("aigw");
	c->db_password = xstrdup("");
	c->keyring = xstrdup("/etc/aigw/keyring");
	c->upstream_url = xstrdup("https://openrouter.ai/api/v1");
	c->upstream_key = xstrdup("");
	c->default_model = xstrdup("openai/gpt-4o-mini");
	c->upstream_connect_timeout_ms = 5000;
	c->upstream_first_byte_timeout_ms = 120000;
	c->upstream_idle_timeout_ms = 120000;
	c->sse_keepalive_s = 15;
	c->max_body_bytes = 1024 * 1024;
	c->cors_origin = xstrdup("*");
	c->auth_cache_ttl_s = 2;
	c->reserve_floor_usd = xstrdup("0.01");
	c->reserve_default_max_tokens = 4096;
	c->reservation_ttl_s = 900;
	c->workers = 2;
	c->threads = 16;
	c->max_requests = 4096;
	c->db_connections = 8;
	c->db_wait_ms = 5000;
	c->usage_flush_ms = 10;
	c->limits_file = xstrdup("");
	c->journal_dir = xstrdup("/var/lib/aigw/journal");
	c->journal_max_mb = 1024;
	c->drain_timeout_s = 600;
	c->log_level = xstrdup("info");
}

void conf_free(struct aigw_conf *c)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		const struct conf_key *k = &conf_keys[i];

		if (k->type == CT_INT || k->type == CT_SIZE)
			continue;
		free_str(str_field(c, k), k->secret);
	}
}

const char *conf_path(const char *explicit_path)
{
	const char *env;

	if (explicit_path != NULL && explicit_path[0] != '\0')
		return explicit_path;
	env = getenv("AIGW_CONFIG");
	if (env != NULL && env[0] != '\0')
		return env;
	return AIGW_DEFAULT_CONFIG;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Trims s in place; returns the start of the trimmed text. */
static char *trim(char *s)
{
	size_t n;

	while (is_space(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

static const struct conf_key *find_key(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

/* Parses a decimal integer with nothing else around it. */
static bool parse_ll(const char *s, long long *out)
{
	char *end;

	if (*s == '\0' || *s == '+')
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (*end != '\0')
		return false;
	if (errno == ERANGE)
		*out = *s == '-' ? LLONG_MIN : LLONG_MAX;
	return true;
}

/* Money as text: digits, at most one '.', at most 10 decimals and 9 integer
 * digits (the money units of any such value fit an int64 many times over). */
static bool decimal_ok(const char *s)
{
	size_t int_digits = 0, frac_digits = 0;
	bool dot = false;

	for (; *s != '\0'; s++) {
		if (*s == '.' && !dot) {
			dot = true;
		} else if (*s >= '0' && *s <= '9') {
			if (dot)
				frac_digits++;
			else
				int_digits++;
		} else {
			return false;
		}
	}
	return int_digits + frac_digits > 0 && int_digits <= 9 && frac_digits <= 10;
}

static aigw_rc set_value(struct aigw_conf *c, const struct conf_key *k, const char *value,
                         const char *name, int line, char *err)
{
	const unsigned char *p;
	const char *authority;
	long long v;

	for (p = (const unsigned char *)value; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return aigw_fail(err, AIGW_EINVAL,
			                 "%s:%d: %s: control characters are not allowed", name,
			                 line, k->name);

	switch (k->type) {
	case CT_STR:
		if (value[0] == '\0')
			return aigw_fail(err, AIGW_EINVAL, "%s:%d: %s must not be empty", name,
			                 line, k->name);
		set_str(c, k, value);
		break;
	case CT_STR_EMPTY:
		set_str(c, k, value);
		break;
	case CT_STR_OPT:
		set_str(c, k, value[0] ? value : NULL);
		break;
	case CT_URL:
		if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
			return aigw_fail(err, AIGW_EINVAL,
			                 "%s:%d: %s must start with http:// or https://", name,
			                 line, k->name);
		/* The URL is shown in errors and logs: credentials belong in
		 * upstream_key, which never is. */
		authority = strstr(value, "://") + 3;
		if (memchr(authority, '@', strcspn(authority, "/?#")))
			return aigw_fail(err, AIGW_EINVAL,
			                 "%s:%d: %s must not hold credentials (user@host); put the "
			                 "key in upstream_key",
			                 name, line, k->name);
		set_str(c, k, value);
		break;
	case CT_INT:
	case CT_SIZE:
		if (!parse_ll(value, &v))
			return aigw_fail(err, AIGW_EINVAL, "%s:%d: %s: '%.40s' is not an integer",
			                 name, line, k->name, value);
		if (v < k->min || v > k->max)
			return aigw_fail(err, AIGW_EINVAL,
			                 "%s:%d: %s: %lld is out of range (%lld..%lld)", name, line,
			                 k->name, v, k->min, k->max);
		if (k->type == CT_INT)
			*(int *)((char *)c + k->offset) = (int)v;
		else
			*(size_t *)((char *)c + k->offset) = (size_t)v;
		break;
	case CT_DECIMAL:
		if (!decimal_ok(value))
			return aigw_fail(err, AIGW_EINVAL,
			                 "%s:%d: %s: '%.40s' is not a decimal amount such as 0.01 "
			                 "(no sign, at most 10 decimals)",
			                 name, line, k->name, value);
		set_str(c, k, value);
		break;
	case CT_LOGLEVEL:
		if (log_level_parse(value) < 0)
			return aigw_fail(
			        err, AIGW_EINVAL,
			        "%s:%d: %s: '%.40s' is not one of error, warn, info, debug", name,
			        line, k->name, value);
		set_str(c, k, value);
		break;
	}
	return AIGW_OK;
}

aigw_rc conf_parse(struct aigw_conf *c, const char *text, const char *name, char *err)
{
	bool seen[NKEYS] = {false};
	char *copy, *cur, *next;
	aigw_rc rc = AIGW_OK;
	int line = 0;

	/* A zeroed struct gets its defaults first (log_level is never NULL once set). */
	if (c->log_level == NULL)
		conf_defaults(c);

	copy = xstrdup(text);
	for (cur = copy; cur != NULL && rc == AIGW_OK; cur = next) {
		const struct conf_key *k;
		char *eq, *key, *value, *s;

		line++;
		next = strchr(cur, '\n');
		if (next != NULL)
			*next++ = '\0';
		s = trim(cur);
		if (s[0] == '\0' || s[0] == '#')
			continue;
		eq = strchr(s, '=');
		if (eq == NULL) {
			/* The line is not echoed: it may be a misplaced secret. */
			rc = aigw_fail(err, AIGW_EINVAL, "%s:%d: expected 'key = value'", name,
			               line);
			break;
		}
		*eq = '\0';
		key = trim(s);
		value = trim(eq + 1);
		if (key[0] == '\0') {
			rc = aigw_fail(err, AIGW_EINVAL, "%s:%d: missing key before '='", name,
			               line);
			break;
		}
		k = find_key(key);
		if (k == NULL) {
			rc = aigw_fail(err, AIGW_EINVAL, "%s:%d: unknown key '%.64s'", name, line,
			               key);
			break;
		}
		if (seen[k - conf_keys]) {
			rc = aigw_fail(err, AIGW_EINVAL, "%s:%d: duplicate key '%s'", name, line,
			               k->name);
			break;
		}
		seen[k - conf_keys] = true;
		rc = set_value(c, k, value, name, line, err);
	}
	sodium_memzero(copy, strlen(text));
	free(copy);
	return rc;
}

aigw_rc conf_load(struct aigw_conf *c, const char *path, char *err)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	aigw_rc rc = AIGW_OK;
	int fd;

	if (c->log_level == NULL)
		conf_defaults(c);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return aigw_fail(err, errno == ENOENT ? AIGW_ENOTFOUND : AIGW_EIO, "%s: %s", path,
		                 strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = aigw_fail(err, AIGW_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = aigw_fail(err, AIGW_EINVAL, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size > CONF_FILE_MAX) {
		rc = aigw_fail(err, AIGW_ETOOBIG, "%s: larger than %d bytes", path, CONF_FILE_MAX);
		goto out;
	}
	text = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, text + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = aigw_fail(err, AIGW_EIO, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	text[len] = '\0';
	if (strlen(text) != len) {
		rc = aigw_fail(err, AIGW_EINVAL, "%s: contains a NUL byte", path);
		goto out;
	}
	rc = conf_parse(c, text, path, err);
out:
	if (text != NULL) {
		sodium_memzero(text, len);
		free(text);
	}
	close(fd);
	return rc;
}
