/* Unit tests of domain/apikey.c: token shape and randomness, the keyed
 * hash (deterministic per keyring key, different across keys), and the
 * well-formedness check auth relies on before any database work. */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "apikey.h"
#include "check.h"
#include "error.h"
#include "keyring.h"

#define HEXA "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEXB "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static void token_shape(void)
{
	char t[APIKEY_TOKEN_LEN + 1];

	apikey_generate(t);
	CHECK_INT(strlen(t), APIKEY_TOKEN_LEN);
	CHECK_INT(strlen(t), 48);
	CHECK(strncmp(t, "aigw_", 5) == 0);
	CHECK(strspn(t + 5, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
	      43);
	CHECK(apikey_well_formed(t, strlen(t)));
	sodium_memzero(t, sizeof(t));
}

static void tokens_differ(void)
{
	char a[APIKEY_TOKEN_LEN + 1], b[APIKEY_TOKEN_LEN + 1];

	apikey_generate(a);
	apikey_generate(b);
	CHECK(strcmp(a, b) != 0);
}

static void hash_deterministic_per_key(void)
{
	struct keyring kr;
	char err[AIGW_ERRLEN];
	char t[APIKEY_TOKEN_LEN + 1];
	unsigned char h1[APIKEY_HASH_LEN], h2[APIKEY_HASH_LEN], h3[APIKEY_HASH_LEN];

	CHECK_INT(keyring_parse(&kr, "1 " HEXA "\n2 " HEXB "\n", err), AIGW_OK);
	apikey_generate(t);
	apikey_hash(keyring_find(&kr, 1), t, strlen(t), h1);
	apikey_hash(keyring_find(&kr, 1), t, strlen(t), h2);
	CHECK(memcmp(h1, h2, sizeof(h1)) == 0);
	apikey_hash(keyring_find(&kr, 2), t, strlen(t), h3);
	CHECK(memcmp(h1, h3, sizeof(h1)) != 0);
	/* keyed: not the plain BLAKE2b of the token */
	crypto_generichash(h2, sizeof(h2), (const unsigned char *)t, strlen(t), NULL, 0);
	CHECK(memcmp(h1, h2, sizeof(h1)) != 0);
	keyring_free(&kr);
}

static void hash_differs_per_token(void)
{
	struct keyring kr;
	char err[AIGW_ERRLEN];
	char a[APIKEY_TOKEN_LEN + 1], b[APIKEY_TOKEN_LEN + 1];
	unsigned char ha[APIKEY_HASH_LEN], hb[APIKEY_HASH_LEN];

	CHECK_INT(keyring_parse(&kr, "1 " HEXA "\n", err), AIGW_OK);
	apikey_generate(a);
	memcpy(b, a, sizeof(b));
	b[10] = b[10] == 'A' ? 'B' : 'A';
	apikey_hash(keyring_current(&kr), a, strlen(a), ha);
	apikey_hash(keyring_current(&kr), b, strlen(b), hb);
	CHECK(memcmp(ha, hb, sizeof(ha)) != 0);
	keyring_free(&kr);
}

static void well_formed_rejections(void)
{
	char t[APIKEY_TOKEN_LEN + 2];
	char bad[APIKEY_TOKEN_LEN + 1];

	apikey_generate(t);
	CHECK(!apikey_well_formed(NULL, 0));
	CHECK(!apikey_well_formed("", 0));
	CHECK(!apikey_well_formed(t, APIKEY_TOKEN_LEN - 1)); /* short */
	memcpy(bad, t, sizeof(bad));
	t[APIKEY_TOKEN_LEN] = 'A';
	t[APIKEY_TOKEN_LEN + 1] = '\0';
	CHECK(!apikey_well_formed(t, APIKEY_TOKEN_LEN + 1)); /* long */

	memcpy(t, bad, sizeof(bad));
	t[0] = 'A'; /* "Aigw_" */
	CHECK(!apikey_well_formed(t, APIKEY_TOKEN_LEN));
	memcpy(t, bad, sizeof(bad));
	t[4] = '-'; /* "aigw-" */
	CHECK(!apikey_well_formed(t, APIKEY_TOKEN_LEN));

	static const char outside[] = "+/=.' ;%\"\\";
	for (size_t i = 0; i < sizeof(outside) - 1; i++) {
		memcpy(t, bad, sizeof(bad));
		t[20] = outside[i];
		CHECK(!apikey_well_formed(t, APIKEY_TOKEN_LEN));
	}
	memcpy(t, bad, sizeof(bad));
	t[30] = '\0'; /* embedded NUL */
	CHECK(!apikey_well_formed(t, APIKEY_TOKEN_LEN));
	CHECK(apikey_well_formed(bad, APIKEY_TOKEN_LEN));
	CHECK(!apikey_well_formed("sk-or-v1-0123456789abcdef0123456789abcdef0123456", 48));
}

int main(void)
{
	check_program = "test_apikey";
	if (sodium_init() < 0)
		return 1;
	RUN(token_shape);
	RUN(tokens_differ);
	RUN(hash_deterministic_per_key);
	RUN(hash_differs_per_token);
	RUN(well_formed_rejections);
	CHECK_DONE();
}
