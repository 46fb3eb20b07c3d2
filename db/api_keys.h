/* The api_keys table: bearer tokens stored only as keyed hashes, each with
 * its own requests-per-minute limit. */
#ifndef AIGW_DB_API_KEYS_H
#define AIGW_DB_API_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct db;

#define API_KEY_HASH_LEN 32
#define API_KEY_RPM_MAX 10000000

enum key_role { KEY_ROLE_NONE = 0, KEY_ROLE_CLIENT = 1, KEY_ROLE_ADMIN = 2 };

struct api_key {
	long long id;
	char app_id[65];
	enum key_role role;
	char name[129];
	char prefix[17]; /* first characters of the token, for display */
	unsigned rpm;    /* requests per minute, 0: unlimited */
	char created_at[32];
	char revoked_at[32]; /* "" while active */
};

const char *key_role_name(enum key_role r);
enum key_role key_role_parse(const char *s); /* KEY_ROLE_NONE if unknown */

/* hash is API_KEY_HASH_LEN bytes made with keyring key hash_key_id; rpm is
 * the key's requests per minute (0: unlimited, at most API_KEY_RPM_MAX). */
aigw_rc db_key_insert(struct db *db, const char *app_id, enum key_role role, const char *name,
                      const char *prefix, const unsigned char *hash, int hash_key_id, unsigned rpm,
                      long long *id_out, char *err);
/* Finds an active (not revoked) key by hash. AIGW_ENOTFOUND if none. */
aigw_rc db_key_find_active(struct db *db, const unsigned char *hash, struct api_key *out,
                           char *err);
/* Calls fn for each key of app_id (revoked ones too) ordered by id; stops
 * early if fn returns non-zero. k is valid during the call only; fn must not
 * use db. */
aigw_rc db_key_list(struct db *db, const char *app_id,
                    int (*fn)(const struct api_key *k, void *arg), void *arg, char *err);
/* Sets key id's requests per minute (0: unlimited); revoked keys too.
 * AIGW_ENOTFOUND if no such key. */
aigw_rc db_key_set_rpm(struct db *db, long long id, unsigned rpm, char *err);
/* AIGW_ENOTFOUND if no such key; revoking twice is OK (keeps the first time). */
aigw_rc db_key_revoke(struct db *db, long long id, char *err);

#endif
