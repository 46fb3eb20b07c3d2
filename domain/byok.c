/* BYOK keys sealed at rest with XChaCha20-Poly1305 (IETF). The AEAD key is a
 * KDF subkey (id 2, context "aigwbyok") of a keyring key, so API-key hashing
 * and BYOK sealing never use the same bytes; the app id is the associated
 * data, so a ciphertext moved to another app's row fails to open. */
#include "config.h"

#include "byok.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "alloc.h"
#include "keyring.h"

#define BYOK_KDF_ID 2
static const char byok_kdf_ctx[crypto_kdf_CONTEXTBYTES + 1] = "aigwbyok";

#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES

static void derive(const struct keyring_key *k,
                   unsigned char sub[crypto_aead_xchacha20poly1305_ietf_KEYBYTES])
{
	crypto_kdf_derive_from_key(sub, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, BYOK_KDF_ID,
	                           byok_kdf_ctx, k->key);
}

aigw_rc byok_seal(const struct keyring_key *k, const char *app_id, const char *plain,
                  size_t plain_len, unsigned char **sealed, size_t *sealed_len, char *err)
{
	unsigned char sub[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	unsigned char *out;
	unsigned long long clen = 0;

	*sealed = NULL;
	*sealed_len = 0;
	if (!k)
		return aigw_fail(err, AIGW_ECRYPTO, "no keyring key to seal with");
	if (plain_len > BYOK_KEY_MAX)
		return aigw_fail(err, AIGW_ETOOBIG, "key longer than %d bytes", BYOK_KEY_MAX);
	out = xmalloc(NONCE_LEN + plain_len + TAG_LEN);
	randombytes_buf(out, NONCE_LEN);
	derive(k, sub);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	        out + NONCE_LEN, &clen, (const unsigned char *)plain, plain_len,
	        (const unsigned char *)app_id, strlen(app_id), NULL, out, sub);
	sodium_memzero(sub, sizeof(sub));
	*sealed = out;
	*sealed_len = NONCE_LEN + (size_t)clen;
	return AIGW_OK;
}

aigw_rc byok_open(const struct keyring *kr, int key_id, const char *app_id,
                  const unsigned char *sealed, size_t sealed_len, char **plain, size_t *plain_len,
                  char *err)
{
	unsigned char sub[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	const struct keyring_key *k = keyring_find(kr, key_id);
	unsigned long long mlen = 0;
	size_t max;
	char *out;
	int bad;

	*plain = NULL;
	*plain_len = 0;
	if (!k)
		return aigw_fail(err, AIGW_ECRYPTO,
		                 "BYOK key sealed under keyring key %d, which "
		                 "is not in the keyring",
		                 key_id);
	if (!sealed || sealed_len < NONCE_LEN + TAG_LEN)
		return aigw_fail(err, AIGW_ECRYPTO, "sealed BYOK key is truncated");
	/* k exists, so the keyring loader ran sodium_init() (which takes a
	 * global lock: kept off this per-request path). */
	max = sealed_len - NONCE_LEN - TAG_LEN;
	out = sodium_malloc(max + 1);
	if (!out)
		return aigw_fail(err, AIGW_ECRYPTO, "cannot allocate secure memory");
	derive(k, sub);
	bad = crypto_aead_xchacha20poly1305_ietf_decrypt(
	        (unsigned char *)out, &mlen, NULL, sealed + NONCE_LEN, sealed_len - NONCE_LEN,
	        (const unsigned char *)app_id, strlen(app_id), sealed, sub);
	sodium_memzero(sub, sizeof(sub));
	if (bad) {
		sodium_free(out);
		return aigw_fail(err, AIGW_ECRYPTO,
		                 "BYOK key does not open (wrong key, wrong app or tampered)");
	}
	out[mlen] = '\0';
	*plain = out;
	*plain_len = (size_t)mlen;
	return AIGW_OK;
}

void byok_plain_free(char *plain)
{
	sodium_free(plain); /* zeroes the whole allocation first; NULL is fine */
}
