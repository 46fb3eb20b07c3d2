/* aigw-admin keyring rotate: appends a new master key to the keyring file and
 * re-seals every stored BYOK key under it, one app per transaction. API key
 * hashes stay valid (authentication tries every keyring key), so older keys
 * must stay in the file. Running workers only see the new key after a
 * restart, which the command reminds the operator of on stderr. */
#include "config.h"
#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai_config.h"
#include "byok.h"
#include "db.h"
#include "keyring.h"

struct rotation {
	struct db *db;
	const struct keyring *kr;
	const struct keyring_key *cur;
	long long resealed;
	long long failed;
	char err[AIGW_ERRLEN]; /* the database error that stopped the pass */
};

/* Inside the store's transaction, on the locked row: the key opened with
 * its old keyring key and sealed under rot->cur (left alone when it already
 * is), so a concurrent PUT is neither lost nor undone. */
static aigw_rc reseal_key(const char *app_id, const struct ai_config *c, void *arg,
                          unsigned char **sealed, size_t *sealed_len, int *key_id, char *err)
{
	struct rotation *rot = arg;
	size_t plain_len = 0;
	char *plain = NULL;
	aigw_rc rc;

	if (c->byok_key_id == rot->cur->id)
		return AIGW_OK;
	rc = byok_open(rot->kr, c->byok_key_id, app_id, c->byok_sealed, c->byok_sealed_len, &plain,
	               &plain_len, err);
	if (rc != AIGW_OK)
		return rc;
	rc = byok_seal(rot->cur, app_id, plain, plain_len, sealed, sealed_len, err);
	byok_plain_free(plain);
	*key_id = rot->cur->id;
	return rc;
}

static aigw_rc reseal_app(struct rotation *rot, const char *app_id, char *err)
{
	bool resealed = false;
	aigw_rc rc = db_ai_config_reseal(rot->db, app_id, reseal_key, rot, &resealed, err);

	if (rc == AIGW_OK && resealed)
		rot->resealed++;
	return rc;
}

static int reseal_one(const char *app_id, const struct ai_config *c, void *arg)
{
	struct rotation *rot = arg;
	char err[AIGW_ERRLEN];
	aigw_rc rc;

	if (c->byok_key_id == rot->cur->id)
		return 0;
	rc = reseal_app(rot, app_id, err);
	if (rc == AIGW_OK)
		return 0;
	rot->failed++;
	admin_error("app '%s': BYOK key not re-sealed: %s", app_id, err);
	if (rc == AIGW_EDB) {
		/* The database is gone: stop rather than fail every app. */
		snprintf(rot->err, sizeof rot->err, "%s", err);
		return 1;
	}
	return 0;
}

int cmd_keyring_rotate(struct admin *a, int argc, char **argv)
{
	struct rotation rot;
	struct keyring kr;
	char err[AIGW_ERRLEN];
	int r;

	memset(&kr, 0, sizeof kr);
	memset(&rot, 0, sizeof rot);
	r = admin_parse(a, argc, argv, NULL, NULL, 0, 0);
	if (r != ADMIN_OK)
		return r;
	r = admin_open(a);
	if (r != ADMIN_OK)
		return r;
	if (!a->conf.keyring || !a->conf.keyring[0])
		return admin_error("no keyring file configured (keyring = PATH in the config)");
	if (keyring_load(&kr, a->conf.keyring, err) != AIGW_OK)
		return admin_error("%s", err);
	/* Check the database first: a rotation that cannot re-seal should
	 * not leave a new key behind. */
	if (db_ping(a->db, err) != AIGW_OK) {
		r = admin_error("%s", err);
		goto out;
	}
	if (keyring_add_new(&kr, a->conf.keyring, err) != AIGW_OK) {
		r = admin_error("%s", err);
		goto out;
	}
	rot.db = a->db;
	rot.kr = &kr;
	rot.cur = keyring_current(&kr);
	if (db_ai_config_each_byok(a->db, reseal_one, &rot, err) != AIGW_OK) {
		r = admin_error("re-sealing stopped: %s", err);
		goto out;
	}
	printf("rotated to key %d, re-sealed %lld BYOK keys\n", rot.cur->id, rot.resealed);
	fflush(stdout);
	fprintf(stderr, "aigw-admin: restart aigw.fcgi so that running workers load key %d\n",
	        rot.cur->id);
	if (rot.failed > 0)
		r = admin_error("%lld BYOK keys could not be re-sealed%s%s; they stay under their "
		                "old key (run keyring rotate again once fixed)",
		                rot.failed, rot.err[0] ? ": " : "", rot.err);
out:
	keyring_free(&kr);
	return r;
}
