/* What aigw-admin needs of the apps beyond apps.h: whether an app was
 * deleted, the listing with that mark, and the deletion itself
 * (README: aigw-admin app delete; sql/014_apps_deleted.sql). */
#ifndef AIGW_DB_APP_DELETE_H
#define AIGW_DB_APP_DELETE_H

#include <stdbool.h>

#include "apps.h"
#include "error.h"

struct db;

#define APP_TIME_LEN 32 /* "YYYY-MM-DD HH:MM:SS.ffffff", UTC */

/* *deleted_at gets the time the app was deleted (kept with its usage), or
 * "" while it is live. AIGW_ENOTFOUND if there is no such app. */
aigw_rc db_app_deleted_at(struct db *db, const char *id, char deleted_at[APP_TIME_LEN], char *err);

/* Calls fn for each app ordered by id, deleted ones with their deletion
 * time (else ""); stops early if fn returns non-zero. Both are valid
 * during the call only; fn must not use db. */
aigw_rc db_app_list_marked(struct db *db,
                           int (*fn)(const struct app *a, const char *deleted_at, void *arg),
                           void *arg, char *err);

struct app_usage {
	long long requests;     /* usage_daily's requests of the app, all time */
	long long reservations; /* credit_reservations open: requests in flight */
	bool rows;              /* it has usage_requests rows */
};

/* Deletes the app in one transaction, its row locked first. Without usage
 * (no usage_requests, usage_daily or credit_reservations row) the app goes
 * with its keys, AI settings, plan history and billing periods (*kept =
 * false). With usage: AIGW_EEXIST and *use says how much, unless force;
 * then the keys are revoked, the ai_config row (its BYOK key) removed and
 * the app marked deleted, its usage, rollups, periods and plan history kept
 * (*kept = true). AIGW_ENOTFOUND for an unknown or already deleted app. */
aigw_rc db_app_delete(struct db *db, const char *id, bool force, struct app_usage *use, bool *kept,
                      char *err);

#endif
