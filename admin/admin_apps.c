/* aigw-admin app create|list|show|set-plan|limits|delete: the tenants,
 * their plans and their request limits. `app create` prints only the new id, so scripts
 * can capture it. */
#include "config.h"
#include "admin.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ai_config.h"
#include "api_keys.h"
#include "app_delete.h"
#include "apps.h"
#include "config_rules.h"
#include "db.h"

static const char *const PLANS[] = {"free", "pro", "enterprise"};

static bool plan_ok(const char *plan)
{
	size_t i;

	for (i = 0; i < sizeof PLANS / sizeof PLANS[0]; i++) {
		if (strcmp(plan, PLANS[i]) == 0)
			return true;
	}
	return false;
}

/* Reports a bad app id argument (ADMIN_USAGE) or returns ADMIN_OK. */
static int check_app_id(const char *id)
{
	if (app_id_valid(id))
		return ADMIN_OK;
	return admin_usage_error("invalid app id '%.80s' (expected [A-Za-z0-9_-]{1,64})", id);
}

static int check_plan(const char *plan)
{
	if (plan_ok(plan))
		return ADMIN_OK;
	return admin_usage_error("unknown plan '%.80s' (expected free, pro or enterprise)", plan);
}

/* The default id: "app_" and 16 random lowercase hex digits. */
static void app_id_generate(char out[APP_ID_MAX + 1])
{
	unsigned char rnd[8];

	randombytes_buf(rnd, sizeof rnd);
	memcpy(out, "app_", 4);
	sodium_bin2hex(out + 4, APP_ID_MAX + 1 - 4, rnd, sizeof rnd);
}

int cmd_app_create(struct admin *a, int argc, char **argv)
{
	const char *id = NULL, *name = NULL, *plan = NULL;
	const struct admin_opt opts[] = {{"--id", &id, NULL},
	                                 {"--name", &name, NULL},
	                                 {"--plan", &plan, NULL},
	                                 {NULL, NULL, NULL}};
	char gen[APP_ID_MAX + 1], err[AIGW_ERRLEN];
	aigw_rc rc;
	int r;

	r = admin_parse(a, argc, argv, opts, NULL, 0, 0);
	if (r != ADMIN_OK)
		return r;
	if (!id) {
		app_id_generate(gen);
		id = gen;
	}
	r = check_app_id(id);
	if (r != ADMIN_OK)
		return r;
	if (!name)
		name = id;
	if (!admin_text_ok(name, ADMIN_NAME_MAX))
		return admin_usage_error("the name must be 1-%d bytes without control characters",
		                         ADMIN_NAME_MAX);
	if (!plan)
		plan = "free";
	r = check_plan(plan);
	if (r != ADMIN_OK)
		return r;

	r = admin_open(a);
	if (r != ADMIN_OK)
		return r;
	rc = db_app_create(a->db, id, name, plan, err);
	if (rc == AIGW_EEXIST)
		return admin_error("app '%s' already exists", id);
	if (rc != AIGW_OK)
		return admin_error("%s", err);
	return admin_print_line(id);
}

/* Live apps only: a deleted one is kept for its usage, not listed. */
static int print_app_row(const struct app *app, const char *deleted_at, void *arg)
{
	char created[ADMIN_TIME_LEN];
	cJSON *list = arg, *o;

	if (deleted_at[0])
		return 0;
	admin_time(app->created_at, created);
	if (!list) {
		printf("%s\t%s\t%s\t%s\n", app->id, app->name, app->plan, created);
		return 0;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", app->id);
	cJSON_AddStringToObject(o, "name", app->name);
	cJSON_AddStringToObject(o, "plan", app->plan);
	cJSON_AddStringToObject(o, "created_at", created);
	cJSON_AddItemToArray(list, o);
	return 0;
}

int cmd_app_list(struct admin *a, int argc, char **argv)
{
	char err[AIGW_ERRLEN] = "";
	bool json;
	cJSON *doc;
	aigw_rc rc;
	int r = admin_listing_open(a, argc, argv, &json);

	if (r != ADMIN_OK)
		return r;
	doc = admin_listing_begin(json, "id\tname\tplan\tcreated_at");
	rc = db_app_list_marked(a->db, print_app_row,
	                        doc ? cJSON_AddArrayToObject(doc, "apps") : NULL, err);
	return admin_listing_end(doc, rc, err);
}

static int count_active(const struct api_key *k, void *arg)
{
	if (!k->revoked_at[0])
		++*(long long *)arg;
	return 0;
}

/* The "key: value" lines of an app's request limits. */
static void print_limits(const struct ai_config *c)
{
	char in_flight[16], rpm[16];

	admin_limit_str(c->max_concurrent_requests, in_flight);
	admin_limit_str(c->requests_per_minute, rpm);
	printf("max_in_flight: %s\nrpm: %s\n", in_flight, rpm);
}

int admin_app_live(struct admin *a, const char *id)
{
	char err[AIGW_ERRLEN], deleted_at[APP_TIME_LEN], shown[ADMIN_TIME_LEN];
	aigw_rc rc = db_app_deleted_at(a->db, id, deleted_at, err);

	if (rc == AIGW_ENOTFOUND)
		return admin_error("no app '%s'", id);
	if (rc != AIGW_OK)
		return admin_error("%s", err);
	if (deleted_at[0]) {
		admin_time(deleted_at, shown);
		return admin_error("app '%s' was deleted at %s", id, shown);
	}
	return ADMIN_OK;
}

static void json_limit(cJSON *o, const char *name, int v)
{
	if (v > 0)
		cJSON_AddNumberToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

static int print_show(const struct app *app, const char *deleted_at, long long keys,
                      const struct ai_config *cfg, bool json)
{
	char created[ADMIN_TIME_LEN], deleted[ADMIN_TIME_LEN];
	cJSON *o;

	admin_time(app->created_at, created);
	admin_time(deleted_at, deleted);
	if (!json) {
		printf("id: %s\nname: %s\nplan: %s\ncreated_at: %s\ndeleted_at: %s\nkeys: %lld\n",
		       app->id, app->name, app->plan, created, deleted, keys);
		print_limits(cfg);
		return admin_flush();
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", app->id);
	cJSON_AddStringToObject(o, "name", app->name);
	cJSON_AddStringToObject(o, "plan", app->plan);
	cJSON_AddStringToObject(o, "created_at", created);
	if (deleted_at[0])
		cJSON_AddStringToObject(o, "deleted_at", deleted);
	else
		cJSON_AddNullToObject(o, "deleted_at");
	cJSON_AddNumberToObject(o, "keys", (double)keys);
	json_limit(o, "max_in_flight", cfg->max_concurrent_requests);
	json_limit(o, "rpm", cfg->requests_per_minute);
	return admin_print_json(o);
}

int cmd_app_show(struct admin *a, int argc, char **argv)
{
	bool json = false;
	const struct admin_opt opts[] = {{"--json", NULL, &json}, {NULL, NULL, NULL}};
	const char *id = NULL;
	char err[AIGW_ERRLEN], deleted_at[APP_TIME_LEN];
	struct ai_config cfg;
	long long keys = 0;
	struct app app;
	aigw_rc rc;
	int r;

	r = admin_parse(a, argc, argv, opts, &id, 1, 1);
	if (r != ADMIN_OK)
		return r;
	r = check_app_id(id);
	if (r != ADMIN_OK)
		return r;
	r = admin_open(a);
	if (r != ADMIN_OK)
		return r;
	memset(&cfg, 0, sizeof cfg);
	rc = db_app_get(a->db, id, &app, err);
	if (rc == AIGW_ENOTFOUND)
		return admin_error("no app '%s'", id);
	if (rc == AIGW_OK)
		rc = db_app_deleted_at(a->db, id, deleted_at, err);
	if (rc == AIGW_OK)
		rc = db_key_list(a->db, id, count_active, &keys, err);
	if (rc == AIGW_OK)
		rc = db_ai_config_get(a->db, id, false, &cfg, err);
	if (rc == AIGW_OK)
		r = print_show(&app, deleted_at, keys, &cfg, json);
	else
		r = admin_error("%s", err);
	ai_config_free(&cfg);
	return r;
}

/* Prints "deleted ID" and, on stderr, what was kept. */
int cmd_app_delete(struct admin *a, int argc, char **argv)
{
	bool force = false, kept = false;
	const struct admin_opt opts[] = {{"--force", NULL, &force}, {NULL, NULL, NULL}};
	const char *id = NULL;
	char err[AIGW_ERRLEN], line[APP_ID_MAX + 16];
	struct app_usage use;
	aigw_rc rc;
	int r;

	r = admin_parse(a, argc, argv, opts, &id, 1, 1);
	if (r == ADMIN_OK)
		r = check_app_id(id);
	if (r != ADMIN_OK)
		return r;
	r = admin_open(a);
	if (r != ADMIN_OK)
		return r;
	memset(&use, 0, sizeof use);
	rc = db_app_delete(a->db, id, force, &use, &kept, err);
	if (rc == AIGW_EEXIST)
		return admin_error("app '%s' has usage (%lld requests recorded, %lld in flight); "
		                   "nothing deleted. app delete --force revokes its keys, removes "
		                   "its settings and keeps its usage for reports",
		                   id, use.requests, use.reservations);
	if (rc != AIGW_OK)
		return admin_error("%s", err);
	if (kept)
		fprintf(stderr,
		        "aigw-admin: app '%s': keys revoked, settings removed; its usage, billing "
		        "periods and plan history are kept (aigw-admin usage --app %s)\n",
		        id, id);
	snprintf(line, sizeof line, "deleted %s", id);
	return admin_print_line(line);
}

int cmd_app_set_plan(struct admin *a, int argc, char **argv)
{
	const char *pos[2] = {NULL, NULL};
	char err[AIGW_ERRLEN];
	aigw_rc rc;
	int r;

	r = admin_parse(a, argc, argv, NULL, pos, 2, 2);
	if (r != ADMIN_OK)
		return r;
	r = check_app_id(pos[0]);
	if (r == ADMIN_OK)
		r = check_plan(pos[1]);
	if (r != ADMIN_OK)
		return r;
	r = admin_open(a);
	if (r == ADMIN_OK)
		r = admin_app_live(a, pos[0]);
	if (r != ADMIN_OK)
		return r;
	rc = db_app_set_plan(a->db, pos[0], pos[1], err);
	if (rc == AIGW_ENOTFOUND)
		return admin_error("no app '%s'", pos[0]);
	if (rc != AIGW_OK)
		return admin_error("%s", err);
	printf("%s: %s\n", pos[0], pos[1]);
	return admin_flush();
}

struct limits_edit {
	const char *in_flight, *rpm; /* the options given, or NULL */
	int max_in_flight, per_minute;
};

/* Inside the store's transaction, on the locked row. */
static aigw_rc limits_edit(struct ai_config *cfg, void *arg, bool *write, char *err)
{
	struct limits_edit *e = arg;

	(void)err;
	if (e->in_flight && cfg->max_concurrent_requests != e->max_in_flight) {
		cfg->max_concurrent_requests = e->max_in_flight;
		*write = true;
	}
	if (e->rpm && cfg->requests_per_minute != e->per_minute) {
		cfg->requests_per_minute = e->per_minute;
		*write = true;
	}
	return AIGW_OK;
}

/* Sets what is given, then prints the app's limits as `app show` does. */
int cmd_app_limits(struct admin *a, int argc, char **argv)
{
	struct limits_edit e = {NULL, NULL, 0, 0};
	const struct admin_opt opts[] = {{"--max-in-flight", &e.in_flight, NULL},
	                                 {"--rpm", &e.rpm, NULL},
	                                 {NULL, NULL, NULL}};
	const char *id = NULL;
	char err[AIGW_ERRLEN];
	struct ai_config cfg;
	aigw_rc rc;
	int r;

	r = admin_parse(a, argc, argv, opts, &id, 1, 1);
	if (r == ADMIN_OK)
		r = check_app_id(id);
	if (r == ADMIN_OK && e.in_flight)
		r = admin_limit_arg("--max-in-flight", e.in_flight, MAX_CONCURRENT_CAP,
		                    &e.max_in_flight);
	if (r == ADMIN_OK && e.rpm)
		r = admin_limit_arg("--rpm", e.rpm, REQUESTS_PER_MINUTE_CAP, &e.per_minute);
	if (r != ADMIN_OK)
		return r;
	r = admin_open(a);
	if (r == ADMIN_OK && (e.in_flight || e.rpm))
		r = admin_app_live(a, id);
	if (r != ADMIN_OK)
		return r;
	memset(&cfg, 0, sizeof cfg);
	if (e.in_flight || e.rpm) {
		rc = db_ai_config_update(a->db, id, limits_edit, &e, &cfg, err);
	} else {
		struct app app;

		rc = db_app_get(a->db, id, &app, err);
		if (rc == AIGW_OK)
			rc = db_ai_config_get(a->db, id, false, &cfg, err);
	}
	if (rc == AIGW_OK)
		print_limits(&cfg);
	ai_config_free(&cfg);
	if (rc == AIGW_ENOTFOUND)
		return admin_error("no app '%s'", id);
	if (rc != AIGW_OK)
		return admin_error("%s", err);
	if (fflush(stdout) != 0)
		return admin_error("cannot write to stdout");
	return ADMIN_OK;
}
