/* API key tokens: `aigw_` + base64url(32 random bytes), shown once.
 * Stored as keyed BLAKE2b-256 (crypto_generichash) under a subkey derived
 * from a keyring key, so a database dump alone cannot verify guesses. */
#ifndef AIGW_APIKEY_H
#define AIGW_APIKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct keyring_key;

#define APIKEY_PREFIX "aigw_"
#define APIKEY_TOKEN_LEN 48 /* "aigw_" + 43 base64url chars */
#define APIKEY_DISPLAY_PREFIX_LEN 12
#define APIKEY_HASH_LEN 32

/* Writes a new token (APIKEY_TOKEN_LEN chars + NUL) into out.
 * Caller wipes it with sodium_memzero when done. */
void apikey_generate(char out[APIKEY_TOKEN_LEN + 1]);
/* True if token has the shape of one of ours (prefix, length, alphabet). */
bool apikey_well_formed(const char *token, size_t len);
/* hash_out gets APIKEY_HASH_LEN bytes. */
void apikey_hash(const struct keyring_key *k, const char *token, size_t len,
                 unsigned char hash_out[APIKEY_HASH_LEN]);

#endif
