/* aigw-admin key create|list|limit|revoke: the apps' bearer tokens and
 * their requests-per-minute limits. A token is printed once, at creation,
 * and only its keyed hash is stored. */
#include "config.h"
#include "admin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "api_keys.h"
#include "apikey.h"
#include "apps.h"
#include "db.h"
#include "keyring.h"

/* Checks --app and that the app exists. */
static int find_app(struct admin *a, const char *id)
{
	char err[AIGW_ERRLEN];
	struct app app;
	aigw_rc rc;

	rc = db_app_get(a->db, id, &app, err);
	if (rc == AIGW_ENOTFOUND)
		return admin_error("no app '%s'", id);
	if (rc != AIGW_OK)
		return admin_error("%s", err);
	return ADMIN_OK;
}

static int check_app_opt(const char *app)
{
	if (!app)
		return admin_usage_error("--app ID is required");
	if (!app_id_valid(app))
		return admin_usage_error("invalid app id '%.80s' (expected [A-Za-z0-9_-]{1,64})",
		                         app);
	return ADMIN_OK;
}

/* Writes the token and a newline with write(2): no stdio buffer keeps a
 * copy of the secret. */
static int print_token(const char *token, size_t len)
{
	char line[APIKEY_TOKEN_LEN + 2];
	size_t off = 0;
	ssize_t n;
	int r = ADMIN_OK;

	memcpy(line, token, len);
	line[len] = '\n';
	while (off < len + 1) {
		n = write(STDOUT_FILENO, line + off, len + 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = admin_error("cannot write the token to stdout: %s", strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	sodium_memzero(line, sizeof line);
	return r;
}

/* A KEY_ID argument: a positive number, else ADMIN_USAGE (reported). */
static int parse_key_id(const char *arg, long long *id)
{
	char *end = NULL;

	errno = 0;
	*id = strtoll(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 || *id <= 0)
		return admin_usage_error("invalid key id '%.80s' (expected a positive number)",
		                         arg);
	return ADMIN_OK;
}

int cmd_key_create(struct admin *a, int argc, char **argv)
{
	const char *app = NULL, *role_s = NULL, *name = NULL, *rpm_s = NULL;
	const struct admin_opt opts[] = {{"--app", &app, NULL},
	                                 {"--role", &role_s, NULL},
	                                 {"--name", &name, NULL},
	                                 {"--rpm", &rpm_s, NULL},
	                                 {NULL, NULL, NULL}};
	char token[APIKEY_TOKEN_LEN + 1], prefix[APIKEY_DISPLAY_PREFIX_LEN + 1];
	unsigned char hash[APIKEY_HASH_LEN];
	char err[AIGW_ERRLEN];
	const struct keyring_key *k;
	struct keyring kr;
	enum key_role role;
	long long id = 0;
	int r, rpm = 0;
	aigw_rc rc;

	memset(&kr, 0, sizeof kr);
	memset(token, 0, sizeof token);
	r = admin_parse(a, argc, argv, opts, NULL, 0, 0);
	if (r == ADMIN_OK)
		r = check_app_opt(app);
	if (r == ADMIN_OK && rpm_s)
		r = admin_limit_arg("--rpm", rpm_s, API_KEY_RPM_MAX, &rpm);
	if (r != ADMIN_OK)
		return r;
	role = key_role_parse(role_s ? role_s : "client");
	if (role == KEY_ROLE_NONE)
		return admin_usage_error("unknown role '%.80s' (expected client or admin)", role_s);
	if (!name)
		name = key_role_name(role);
	if (!admin_text_ok(name, ADMIN_NAME_MAX))
		return admin_usage_error("the name must be 1-%d bytes without control characters",
		                         ADMIN_NAME_MAX);

	r = admin_open(a);
	if (r != ADMIN_OK)
		return r;
	if (!a->conf.keyring || !a->conf.keyring[0])
		return admin_error("no keyring file configured (keyring = PATH in the config)");
	if (keyring_load(&kr, a->conf.keyring, err) != AIGW_OK) {
		r = admin_error("%s", err);
		goto out;
	}
	k = keyring_current(&kr);
	if (!k) {
		r = admin_error("the keyring %s holds no key", a->conf.keyring);
		goto out;
	}
	r = admin_app_live(a, app);
	if (r != ADMIN_OK)
		goto out;

	apikey_generate(token);
	apikey_hash(k, token, APIKEY_TOKEN_LEN, hash);
	memcpy(prefix, token, APIKEY_DISPLAY_PREFIX_LEN);
	prefix[APIKEY_DISPLAY_PREFIX_LEN] = '\0';
	rc = db_key_insert(a->db, app, role, name, prefix, hash, k->id, (unsigned)rpm, &id, err);
	if (rc == AIGW_ENOTFOUND)
		r = admin_error("no app '%s'", app);
	else if (rc != AIGW_OK)
		r = admin_error("%s", err);
	else
		r = print_token(token, APIKEY_TOKEN_LEN);
out:
	sodium_memzero(token, sizeof token);
	keyring_free(&kr);
	return r;
}

static int print_key_row(const struct api_key *k, void *arg)
{
	char created[ADMIN_TIME_LEN], revoked[ADMIN_TIME_LEN], rpm[16];
	cJSON *list = arg, *o;

	admin_time(k->created_at, created);
	admin_time(k->revoked_at, revoked);
	if (!list) {
		admin_limit_str((int)k->rpm, rpm);
		printf("%lld\t%s\t%s\t%s\t%s\t%s\t%s\n", k->id, key_role_name(k->role), k->name,
		       k->prefix, created, revoked, rpm);
		return 0;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)k->id);
	cJSON_AddStringToObject(o, "role", key_role_name(k->role));
	cJSON_AddStringToObject(o, "name", k->name);
	cJSON_AddStringToObject(o, "prefix", k->prefix);
	cJSON_AddStringToObject(o, "created_at", created);
	if (k->revoked_at[0])
		cJSON_AddStringToObject(o, "revoked_at", revoked);
	else
		cJSON_AddNullToObject(o, "revoked_at");
	if (k->rpm > 0)
		cJSON_AddNumberToObject(o, "rpm", (double)k->rpm);
	else
		cJSON_AddNullToObject(o, "rpm");
	cJSON_AddItemToArray(list, o);
	return 0;
}

int cmd_key_list(struct admin *a, int argc, char **argv)
{
	const char *app = NULL;
	bool json = false;
	const struct admin_opt opts[] = {
	        {"--app", &app, NULL}, {"--json", NULL, &json}, {NULL, NULL, NULL}};
	char err[AIGW_ERRLEN] = "";
	cJSON *doc = NULL;
	aigw_rc rc;
	int r;

	r = admin_parse(a, argc, argv, opts, NULL, 0, 0);
	if (r == ADMIN_OK)
		r = check_app_opt(app);
	if (r != ADMIN_OK)
		return r;
	r = admin_open(a);
	if (r == ADMIN_OK)
		r = find_app(a, app);
	if (r != ADMIN_OK)
		return r;
	doc = admin_listing_begin(json, "id\trole\tname\tprefix\tcreated_at\trevoked_at\trpm");
	if (doc)
		cJSON_AddStringToObject(doc, "app_id", app);
	rc = db_key_list(a->db, app, print_key_row,
	                 doc ? cJSON_AddArrayToObject(doc, "keys") : NULL, err);
	return admin_listing_end(doc, rc, err);
}

int cmd_key_limit(struct admin *a, int argc, char **argv)
{
	const char *arg = NULL, *rpm_s = NULL;
	const struct admin_opt opts[] = {{"--rpm", &rpm_s, NULL}, {NULL, NULL, NULL}};
	char err[AIGW_ERRLEN], shown[16];
	long long id = 0;
	int r, rpm = 0;
	aigw_rc rc;

	r = admin_parse(a, argc, argv, opts, &arg, 1, 1);
	if (r == ADMIN_OK)
		r = parse_key_id(arg, &id);
	if (r == ADMIN_OK && !rpm_s)
		r = admin_usage_error("key limit: --rpm N|none is required");
	if (r == ADMIN_OK)
		r = admin_limit_arg("--rpm", rpm_s, API_KEY_RPM_MAX, &rpm);
	if (r != ADMIN_OK)
		return r;
	r = admin_open(a);
	if (r != ADMIN_OK)
		return r;
	rc = db_key_set_rpm(a->db, id, (unsigned)rpm, err);
	if (rc == AIGW_ENOTFOUND)
		return admin_error("no key %lld", id);
	if (rc != AIGW_OK)
		return admin_error("%s", err);
	admin_limit_str(rpm, shown);
	printf("%lld: rpm %s\n", id, shown);
	if (fflush(stdout) != 0)
		return admin_error("cannot write to stdout");
	return ADMIN_OK;
}

int cmd_key_revoke(struct admin *a, int argc, char **argv)
{
	const char *arg = NULL;
	char err[AIGW_ERRLEN];
	long long id = 0;
	aigw_rc rc;
	int r;

	r = admin_parse(a, argc, argv, NULL, &arg, 1, 1);
	if (r == ADMIN_OK)
		r = parse_key_id(arg, &id);
	if (r != ADMIN_OK)
		return r;
	r = admin_open(a);
	if (r != ADMIN_OK)
		return r;
	rc = db_key_revoke(a->db, id, err);
	if (rc == AIGW_ENOTFOUND)
		return admin_error("no key %lld", id);
	if (rc != AIGW_OK)
		return admin_error("%s", err);
	printf("revoked %lld\n", id);
	if (fflush(stdout) != 0)
		return admin_error("cannot write to stdout");
	return ADMIN_OK;
}
