/* aigw-admin migrate | migrate status: apply the embedded migrations
 * (db/migrate.h), or compare them with what the database recorded in
 * schema_migrations without changing anything. */
#include "config.h"
#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "migrate.h"
#include "migrate_status.h"

int cmd_migrate(struct admin *a, int argc, char **argv)
{
	char err[AIGW_ERRLEN];
	int rc;

	rc = admin_parse(a, argc, argv, NULL, NULL, 0, 0);
	if (rc != ADMIN_OK)
		return rc;
	rc = admin_load_conf(a);
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

/* One migration as the status shows it. */
struct mstate {
	int version;
	const char *name;                /* borrowed from migrations[] or owned (unknown ones) */
	char *owned_name;                /* an applied migration this binary does not know */
	char applied_at[ADMIN_TIME_LEN]; /* "" while pending */
};

struct mstatus {
	struct mstate *list; /* one per embedded migration, then the unknown ones */
	size_t n, cap;
};

static int on_applied(int version, const char *name, const char *applied_at, void *arg)
{
	struct mstatus *st = arg;
	size_t i;

	for (i = 0; i < migrations_count; i++) {
		if (st->list[i].version == version) {
			admin_time(applied_at, st->list[i].applied_at);
			return 0;
		}
	}
	if (st->n == st->cap) {
		st->cap = st->cap * 2 + 4;
		st->list = xrealloc(st->list, st->cap * sizeof *st->list);
	}
	memset(&st->list[st->n], 0, sizeof st->list[st->n]);
	st->list[st->n].version = version;
	st->list[st->n].owned_name = xstrdup(name);
	st->list[st->n].name = st->list[st->n].owned_name;
	admin_time(applied_at, st->list[st->n].applied_at);
	st->n++;
	return 0;
}

/* applied, pending, or unknown (applied by a newer aigw-admin). */
static const char *state_of(const struct mstate *m, size_t i)
{
	if (i >= migrations_count)
		return "unknown";
	return m->applied_at[0] ? "applied" : "pending";
}

static int print_status(const struct mstatus *st, bool json)
{
	size_t i, pending = 0;
	cJSON *doc, *list;

	for (i = 0; i < migrations_count; i++)
		pending += st->list[i].applied_at[0] ? 0 : 1;
	if (!json) {
		printf("version\tname\tstate\tapplied_at\n");
		for (i = 0; i < st->n; i++) {
			const struct mstate *m = &st->list[i];

			printf("%03d\t%s\t%s\t%s\n", m->version, m->name, state_of(m, i),
			       m->applied_at[0] ? m->applied_at : "-");
		}
		return admin_flush();
	}
	doc = cJSON_CreateObject();
	cJSON_AddNumberToObject(doc, "pending", (double)pending);
	list = cJSON_AddArrayToObject(doc, "migrations");
	for (i = 0; i < st->n; i++) {
		const struct mstate *m = &st->list[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "version", m->version);
		cJSON_AddStringToObject(o, "name", m->name);
		cJSON_AddStringToObject(o, "state", state_of(m, i));
		if (m->applied_at[0])
			cJSON_AddStringToObject(o, "applied_at", m->applied_at);
		else
			cJSON_AddNullToObject(o, "applied_at");
		cJSON_AddItemToArray(list, o);
	}
	return admin_print_json(doc);
}

int cmd_migrate_status(struct admin *a, int argc, char **argv)
{
	bool json = false;
	const struct admin_opt opts[] = {{"--json", NULL, &json}, {NULL, NULL, NULL}};
	struct mstatus st = {NULL, 0, 0};
	char err[AIGW_ERRLEN];
	size_t i;
	int r;

	r = admin_parse(a, argc, argv, opts, NULL, 0, 0);
	if (r == ADMIN_OK)
		r = admin_open(a);
	if (r != ADMIN_OK)
		return r;
	st.cap = migrations_count + 4;
	st.list = xcalloc(st.cap, sizeof *st.list);
	for (i = 0; i < migrations_count; i++) {
		st.list[i].version = migrations[i].version;
		st.list[i].name = migrations[i].name;
	}
	st.n = migrations_count;
	if (db_migrations_applied(a->db, on_applied, &st, err) != AIGW_OK)
		r = admin_error("migrate status: %s", err);
	else
		r = print_status(&st, json);
	for (i = 0; i < st.n; i++)
		free(st.list[i].owned_name);
	free(st.list);
	return r;
}
