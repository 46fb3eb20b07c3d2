/* An app's AI settings as the gateway holds them: default model, token cap,
 * allowed models, request limits and the sealed BYOK key. The store reads and writes them
 * (db/ai_config.h); the config rules check changes to them (config_rules.h). */
#ifndef AIGW_APP_CONFIG_H
#define AIGW_APP_CONFIG_H

#include <stddef.h>

#define BYOK_SEALED_MAX 1024

struct ai_config {
	char *default_model;         /* NULL when unset */
	int max_tokens_per_request;  /* 0 when unset */
	int max_concurrent_requests; /* requests in flight at once; 0 when unset (unlimited) */
	int requests_per_minute;     /* 0 when unset (unlimited) */
	char **allowed_models;       /* NULL-free array, n_allowed entries; empty = all */
	size_t n_allowed;
	/* BYOK key: sealed bytes (nonce || ciphertext) under keyring key byok_key_id */
	unsigned char *byok_sealed; /* NULL when not configured */
	size_t byok_sealed_len;
	int byok_key_id;
	char byok_last4[5];
	char byok_updated_at[32]; /* UTC */
	char updated_at[32];      /* UTC; "" when the app has no row yet */
};

void ai_config_free(struct ai_config *c);

#endif
