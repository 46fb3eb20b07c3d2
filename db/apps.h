/* The apps table: tenants of the gateway, each on a plan. */
#ifndef AIGW_DB_APPS_H
#define AIGW_DB_APPS_H

#include <stdbool.h>

#include "error.h"

struct db;

#define APP_ID_MAX 64

struct app {
	char id[APP_ID_MAX + 1];
	char name[129];
	char plan[17];       /* plans.id: free | pro | enterprise */
	char created_at[32]; /* UTC, "YYYY-MM-DD HH:MM:SS.ffffff" */
};

/* True if id matches [A-Za-z0-9_-]{1,64}. */
bool app_id_valid(const char *id);
/* AIGW_EEXIST if the id is taken, AIGW_EINVAL if the plan is unknown.
 * Runs its own transaction (not to be called inside one); also records the
 * initial plan in app_plan_changes (old_plan NULL). */
aigw_rc db_app_create(struct db *db, const char *id, const char *name, const char *plan, char *err);
/* AIGW_ENOTFOUND if absent. */
aigw_rc db_app_get(struct db *db, const char *id, struct app *out, char *err);
/* Calls fn for each app ordered by id; stops early if fn returns non-zero.
 * a is valid during the call only; fn must not use db. */
aigw_rc db_app_list(struct db *db, int (*fn)(const struct app *a, void *arg), void *arg, char *err);
/* AIGW_ENOTFOUND for an unknown app, AIGW_EINVAL for an unknown plan.
 * Runs its own transaction; writes app_plan_changes in it (no row when the
 * plan is unchanged). */
aigw_rc db_app_set_plan(struct db *db, const char *id, const char *plan, char *err);

#endif
