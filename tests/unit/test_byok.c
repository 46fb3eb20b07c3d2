/* Unit tests of domain/byok.c: seal/open round trip, and every way an open
 * must fail (other app, tampered byte, truncated, unknown keyring key), plus
 * opening an old ciphertext after a key rotation. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "byok.h"
#include "check.h"
#include "error.h"
#include "keyring.h"

#define HEXA "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEXB "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
#define SECRET "sk-or-v1-0123456789abcdef0123456789abcdef"

static struct keyring kr1, kr12;

static void setup(void)
{
	char err[AIGW_ERRLEN];

	if (keyring_parse(&kr1, "1 " HEXA "\n", err) != AIGW_OK ||
	    keyring_parse(&kr12, "1 " HEXA "\n2 " HEXB "\n", err) != AIGW_OK)
		abort();
}

static void round_trip(void)
{
	unsigned char *sealed = NULL;
	size_t slen = 0, plen = 0;
	char *plain = NULL;
	char err[AIGW_ERRLEN];

	CHECK_INT(byok_seal(keyring_current(&kr1), "app1", SECRET, strlen(SECRET), &sealed, &slen,
	                    err),
	          AIGW_OK);
	CHECK_INT(slen, 24 + strlen(SECRET) + 16);
	CHECK(memmem(sealed, slen, "sk-or", 5) == NULL); /* not in clear */
	CHECK_INT(byok_open(&kr1, 1, "app1", sealed, slen, &plain, &plen, err), AIGW_OK);
	CHECK_STR(plain, SECRET);
	CHECK_INT(plen, strlen(SECRET));
	byok_plain_free(plain);
	free(sealed);
}

static void nonce_is_fresh(void)
{
	unsigned char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	char err[AIGW_ERRLEN];

	CHECK_INT(byok_seal(keyring_current(&kr1), "app1", "k", 1, &a, &alen, err), AIGW_OK);
	CHECK_INT(byok_seal(keyring_current(&kr1), "app1", "k", 1, &b, &blen, err), AIGW_OK);
	CHECK(alen == blen && memcmp(a, b, alen) != 0);
	free(a);
	free(b);
}

static void other_app_fails(void)
{
	unsigned char *sealed = NULL;
	size_t slen = 0, plen = 0;
	char *plain = NULL;
	char err[AIGW_ERRLEN];

	CHECK_INT(byok_seal(keyring_current(&kr1), "app1", SECRET, strlen(SECRET), &sealed, &slen,
	                    err),
	          AIGW_OK);
	CHECK_INT(byok_open(&kr1, 1, "app2", sealed, slen, &plain, &plen, err), AIGW_ECRYPTO);
	CHECK(plain == NULL);
	CHECK(strstr(err, "sk-or") == NULL);
	CHECK_INT(byok_open(&kr1, 1, "app", sealed, slen, &plain, &plen, err), AIGW_ECRYPTO);
	free(sealed);
}

static void tampered_fails(void)
{
	unsigned char *sealed = NULL;
	size_t slen = 0, plen = 0;
	char *plain = NULL;
	char err[AIGW_ERRLEN];

	CHECK_INT(byok_seal(keyring_current(&kr1), "app1", SECRET, strlen(SECRET), &sealed, &slen,
	                    err),
	          AIGW_OK);
	/* one flipped bit anywhere: nonce, ciphertext, tag */
	size_t where[] = {0, 23, 24, 30, slen - 1};
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		sealed[where[i]] ^= 0x01;
		CHECK_INT(byok_open(&kr1, 1, "app1", sealed, slen, &plain, &plen, err),
		          AIGW_ECRYPTO);
		CHECK(plain == NULL);
		sealed[where[i]] ^= 0x01;
	}
	CHECK_INT(byok_open(&kr1, 1, "app1", sealed, slen - 1, &plain, &plen, err), AIGW_ECRYPTO);
	CHECK_INT(byok_open(&kr1, 1, "app1", sealed, 10, &plain, &plen, err), AIGW_ECRYPTO);
	CHECK_INT(byok_open(&kr1, 1, "app1", sealed, slen, &plain, &plen, err), AIGW_OK);
	byok_plain_free(plain);
	free(sealed);
}

static void rotation_opens_old(void)
{
	unsigned char *sealed = NULL, *sealed2 = NULL;
	size_t slen = 0, slen2 = 0, plen = 0;
	char *plain = NULL;
	char err[AIGW_ERRLEN];

	/* sealed while key 1 was current ... */
	CHECK_INT(byok_seal(keyring_current(&kr1), "app1", SECRET, strlen(SECRET), &sealed, &slen,
	                    err),
	          AIGW_OK);
	/* ... still opens once key 2 was added */
	CHECK_INT(keyring_current(&kr12)->id, 2);
	CHECK_INT(byok_open(&kr12, 1, "app1", sealed, slen, &plain, &plen, err), AIGW_OK);
	CHECK_STR(plain, SECRET);
	byok_plain_free(plain);
	plain = NULL;
	/* but not under the wrong key id */
	CHECK_INT(byok_open(&kr12, 2, "app1", sealed, slen, &plain, &plen, err), AIGW_ECRYPTO);
	/* re-sealed under key 2 opens with id 2 */
	CHECK_INT(byok_seal(keyring_current(&kr12), "app1", SECRET, strlen(SECRET), &sealed2,
	                    &slen2, err),
	          AIGW_OK);
	CHECK_INT(byok_open(&kr12, 2, "app1", sealed2, slen2, &plain, &plen, err), AIGW_OK);
	byok_plain_free(plain);
	free(sealed);
	free(sealed2);
}

static void unknown_key_id_fails(void)
{
	unsigned char *sealed = NULL;
	size_t slen = 0, plen = 0;
	char *plain = NULL;
	char err[AIGW_ERRLEN];

	CHECK_INT(byok_seal(keyring_current(&kr12), "app1", SECRET, strlen(SECRET), &sealed, &slen,
	                    err),
	          AIGW_OK);
	/* the keyring without key 2 cannot open it */
	CHECK(byok_open(&kr1, 2, "app1", sealed, slen, &plain, &plen, err) != AIGW_OK);
	CHECK(plain == NULL);
	CHECK(byok_open(&kr12, 99, "app1", sealed, slen, &plain, &plen, err) != AIGW_OK);
	free(sealed);
}

static void max_length_key(void)
{
	char big[BYOK_KEY_MAX + 2];
	unsigned char *sealed = NULL;
	size_t slen = 0, plen = 0;
	char *plain = NULL;
	char err[AIGW_ERRLEN];

	memset(big, 'k', sizeof(big));
	big[BYOK_KEY_MAX] = '\0';
	CHECK_INT(byok_seal(keyring_current(&kr1), "a", big, BYOK_KEY_MAX, &sealed, &slen, err),
	          AIGW_OK);
	CHECK(slen <= 1024); /* fits ai_config's BYOK_SEALED_MAX */
	CHECK_INT(byok_open(&kr1, 1, "a", sealed, slen, &plain, &plen, err), AIGW_OK);
	CHECK_INT(plen, BYOK_KEY_MAX);
	byok_plain_free(plain);
	free(sealed);
	sealed = NULL;
	CHECK_INT(byok_seal(keyring_current(&kr1), "a", big, BYOK_KEY_MAX + 1, &sealed, &slen, err),
	          AIGW_ETOOBIG);
	CHECK(sealed == NULL);
}

int main(void)
{
	check_program = "test_byok";
	if (sodium_init() < 0)
		return 1;
	setup();
	RUN(round_trip);
	RUN(nonce_is_fresh);
	RUN(other_app_fails);
	RUN(tampered_fails);
	RUN(rotation_opens_old);
	RUN(unknown_key_id_fails);
	RUN(max_length_key);
	keyring_free(&kr1);
	keyring_free(&kr12);
	CHECK_DONE();
}
