/* The ai_config table: one row per app with its AI settings (app_config.h). */
#ifndef AIGW_DB_AI_CONFIG_H
#define AIGW_DB_AI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "app_config.h"
#include "error.h"

struct db;

/* Loads the app's row into out (caller releases it with ai_config_free, also
 * after an error); a missing row gives an empty config and AIGW_OK.
 * for_update (inside db_begin/db_commit) first locks the app's row in apps,
 * then the ai_config row, so concurrent PUTs of one app serialize; with
 * for_update an unknown app is AIGW_ENOTFOUND. */
aigw_rc db_ai_config_get(struct db *db, const char *app_id, bool for_update, struct ai_config *out,
                         char *err);
/* Writes the whole row (insert or replace); c is borrowed. Unset fields
 * (NULL, 0, no entries) are stored as NULL. updated_at is always set to
 * UTC_TIMESTAMP(6); byok_updated_at is decided in SQL by comparing the stored
 * sealed bytes with c's: unchanged bytes keep it, NULL clears it, new bytes
 * set it to UTC_TIMESTAMP(6). c->updated_at and c->byok_updated_at are
 * ignored. AIGW_ENOTFOUND for an unknown app. */
aigw_rc db_ai_config_put(struct db *db, const char *app_id, const struct ai_config *c, char *err);
/* What an update does to the locked row: changes cfg in place and returns
 * AIGW_OK, setting *write when there is something to store; any other code
 * rolls the update back and is returned by db_ai_config_update. */
typedef aigw_rc (*ai_config_edit_fn)(struct ai_config *cfg, void *arg, bool *write, char *err);
/* In one transaction (db_tx_run, so edit may run again after a conflict):
 * locks the app's row, loads it into cfg, calls edit, and when edit says so
 * writes cfg (db_ai_config_put) and reloads into cfg what the database now
 * holds. cfg: the caller frees it with ai_config_free, also after an error.
 * AIGW_ENOTFOUND for an unknown app. */
aigw_rc db_ai_config_update(struct db *db, const char *app_id, ai_config_edit_fn edit, void *arg,
                            struct ai_config *cfg, char *err);
/* For keyring rotation: calls fn for every sealed BYOK key (stops early if
 * fn returns non-zero). The app list is read first, so fn may use db,
 * including its own transactions. c is borrowed for the call. */
aigw_rc db_ai_config_each_byok(struct db *db,
                               int (*fn)(const char *app_id, const struct ai_config *c, void *arg),
                               void *arg, char *err);
/* For keyring rotation: what to do with one app's locked row. Returns
 * AIGW_OK with *sealed (malloc'd, the store frees it) and *key_id set to
 * re-seal, or AIGW_OK with *sealed NULL to leave the row as it is; any other
 * code rolls back and is returned. */
typedef aigw_rc (*ai_config_reseal_fn)(const char *app_id, const struct ai_config *c, void *arg,
                                       unsigned char **sealed, size_t *sealed_len, int *key_id,
                                       char *err);
/* For keyring rotation, in one transaction (db_tx_run): locks and loads
 * app_id's row, asks fn for the key sealed anew and stores it with
 * db_ai_config_reseal_byok. *resealed says whether the row changed. */
aigw_rc db_ai_config_reseal(struct db *db, const char *app_id, ai_config_reseal_fn fn, void *arg,
                            bool *resealed, char *err);
/* For keyring rotation: replaces the sealed bytes and key id of app_id's BYOK
 * key if it is still sealed under old_key_id, leaving byok_updated_at and
 * updated_at alone (the key itself did not change). AIGW_ENOTFOUND if the
 * row no longer holds a key under old_key_id. */
aigw_rc db_ai_config_reseal_byok(struct db *db, const char *app_id, int old_key_id,
                                 const unsigned char *sealed, size_t sealed_len, int new_key_id,
                                 char *err);

#endif
