/* API key tokens: generation, shape check and the keyed hash stored in
 * api_keys. The hash key is a KDF subkey of a keyring key, so the same
 * keyring key can also serve BYOK sealing without the two uses ever sharing
 * key material. */
#include "config.h"

#include "apikey.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keyring.h"

#define APIKEY_RAW_LEN 32
#define APIKEY_KDF_ID 1
static const char apikey_kdf_ctx[crypto_kdf_CONTEXTBYTES + 1] = "aigwkeys";

void apikey_generate(char out[APIKEY_TOKEN_LEN + 1])
{
	unsigned char raw[APIKEY_RAW_LEN];
	size_t plen = sizeof(APIKEY_PREFIX) - 1;

	/* base64url without padding of 32 bytes is 43 chars (+ NUL = 44) */
	_Static_assert(
	        sizeof(APIKEY_PREFIX) - 1 +
	                        sodium_base64_ENCODED_LEN(
	                                APIKEY_RAW_LEN, sodium_base64_VARIANT_URLSAFE_NO_PADDING) ==
	                APIKEY_TOKEN_LEN + 1,
	        "token length");
	if (sodium_init() < 0)
		abort();
	randombytes_buf(raw, sizeof(raw));
	memcpy(out, APIKEY_PREFIX, plen);
	sodium_bin2base64(out + plen, APIKEY_TOKEN_LEN + 1 - plen, raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

static bool base64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

bool apikey_well_formed(const char *token, size_t len)
{
	size_t plen = sizeof(APIKEY_PREFIX) - 1;

	if (!token || len != APIKEY_TOKEN_LEN)
		return false;
	if (memcmp(token, APIKEY_PREFIX, plen) != 0)
		return false;
	for (size_t i = plen; i < len; i++)
		if (!base64url_char(token[i]))
			return false;
	return true;
}

void apikey_hash(const struct keyring_key *k, const char *token, size_t len,
                 unsigned char hash_out[APIKEY_HASH_LEN])
{
	unsigned char subkey[crypto_generichash_KEYBYTES];

	/* No sodium_init() here: k exists, so the keyring loader ran it, and
	 * sodium_init() takes a global lock this hot path must not take. */
	crypto_kdf_derive_from_key(subkey, sizeof(subkey), APIKEY_KDF_ID, apikey_kdf_ctx, k->key);
	crypto_generichash(hash_out, APIKEY_HASH_LEN, (const unsigned char *)token, len, subkey,
	                   sizeof(subkey));
	sodium_memzero(subkey, sizeof(subkey));
}
