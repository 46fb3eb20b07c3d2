/* The ai_config table: one row per app with its AI settings. */
#ifndef AIGW_DB_AI_CONFIG_H
#define AIGW_DB_AI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct db;

#define BYOK_SEALED_MAX 1024

struct ai_config {
	char *default_model;        /* NULL when unset */
	int max_tokens_per_request; /* 0 when unset */
	char **allowed_models;      /* NULL-free array, n_allowed entries; empty = all */
	size_t n_allowed;
	/* BYOK key: sealed bytes (nonce || ciphertext) under keyring key byok_key_id */
	unsigned char *byok_sealed; /* NULL when not configured */
	size_t byok_sealed_len;
	int byok_key_id;
	char byok_last4[5];
	char byok_updated_at[32];   /* UTC */
	char updated_at[32];        /* UTC; "" when the app has no row yet */
};

void ai_config_free(struct ai_config *c);

/* Loads the app's row; a missing row gives an empty config and AIGW_OK.
 * for_update takes a row lock (inside db_begin/db_commit). */
aigw_rc db_ai_config_get(struct db *db, const char *app_id, bool for_update,
			 struct ai_config *out, char *err);
/* Writes the whole row (insert or replace). */
aigw_rc db_ai_config_put(struct db *db, const char *app_id, const struct ai_config *c, char *err);
/* For keyring rotation: calls fn for every sealed BYOK key. */
aigw_rc db_ai_config_each_byok(struct db *db,
			       int (*fn)(const char *app_id, const struct ai_config *c, void *arg),
			       void *arg, char *err);

#endif
