/* The master keyring: numbered 32-byte keys from a file (mode 0600 or
 * stricter), one `ID HEX64` per line, `#` comments. The highest id is the
 * current key; older ones still open what they sealed. Keys live in
 * sodium_malloc'd memory and are wiped on keyring_free. */
#ifndef AIGW_KEYRING_H
#define AIGW_KEYRING_H

#include <stddef.h>

#include "error.h"

#define KEYRING_KEY_LEN 32
#define KEYRING_MAX_KEYS 64

struct keyring_key {
	int id;
	unsigned char *key; /* KEYRING_KEY_LEN bytes, sodium_malloc'd */
};

struct keyring {
	struct keyring_key keys[KEYRING_MAX_KEYS];
	size_t n; /* sorted by id ascending; keys[n-1] is current */
};

/* Loads path; rejects a file readable by group or others, duplicates, bad hex. */
aigw_rc keyring_load(struct keyring *kr, const char *path, char *err);
/* Parses text (tests). */
aigw_rc keyring_parse(struct keyring *kr, const char *text, char *err);
const struct keyring_key *keyring_current(const struct keyring *kr);
const struct keyring_key *keyring_find(const struct keyring *kr, int id);
/* Appends a fresh random key (id = current + 1) to the file at path and to kr. */
aigw_rc keyring_add_new(struct keyring *kr, const char *path, char *err);
void keyring_free(struct keyring *kr);

#endif
