/* BYOK keys sealed at rest: XChaCha20-Poly1305 (IETF) with the app id as
 * associated data, so a ciphertext copied to another app's row does not open.
 * Sealed layout: 24-byte nonce || ciphertext+tag. */
#ifndef AIGW_BYOK_H
#define AIGW_BYOK_H

#include <stddef.h>

#include "error.h"

struct keyring;
struct keyring_key;

#define BYOK_KEY_MAX 512
/* The shape a BYOK key must have (config_rules.c): "sk-", at least this
 * long, of these characters. */
#define BYOK_KEY_MIN 20
#define BYOK_KEY_CHARS                                                                             \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

/* Seals plain under k for app_id. *sealed is malloc'd; caller frees. */
aigw_rc byok_seal(const struct keyring_key *k, const char *app_id, const char *plain,
                  size_t plain_len, unsigned char **sealed, size_t *sealed_len, char *err);
/* Opens with the key key_id from kr. *plain is sodium_malloc'd and
 * NUL-terminated; caller releases it with byok_plain_free (wipes). */
aigw_rc byok_open(const struct keyring *kr, int key_id, const char *app_id,
                  const unsigned char *sealed, size_t sealed_len, char **plain, size_t *plain_len,
                  char *err);
void byok_plain_free(char *plain);

#endif
