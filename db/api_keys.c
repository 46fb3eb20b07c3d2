/* The api_keys table: bearer tokens stored only as keyed hashes, with a role,
 * a display prefix and a revocation time. Lookups go by hash through a
 * unique index, so authentication is one indexed read. */
#include "config.h"
#include "api_keys.h"

#include <string.h>

#include "db.h"
#include "stmt.h"

static const char SQL_KEY_INSERT[] =
        "INSERT INTO api_keys (app_id, role, name, prefix, key_hash, hash_key_id, "
        "requests_per_minute, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))";
#define KEY_COLS "id, app_id, role, name, prefix, requests_per_minute, created_at, revoked_at"
static const char SQL_KEY_FIND_ACTIVE[] =
        "SELECT " KEY_COLS " FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL";
static const char SQL_KEY_LIST[] = "SELECT " KEY_COLS " FROM api_keys WHERE app_id = ? ORDER BY id";
/* With CLIENT_FOUND_ROWS an unchanged value still counts as matched. */
static const char SQL_KEY_SET_RPM[] = "UPDATE api_keys SET requests_per_minute = ? WHERE id = ?";
/* COALESCE keeps the first revocation time; with CLIENT_FOUND_ROWS the
 * matched-row count still tells an unknown id from a second revoke. */
static const char SQL_KEY_REVOKE[] =
        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, UTC_TIMESTAMP(6)) WHERE id = ?";

const char *key_role_name(enum key_role r)
{
	switch (r) {
	case KEY_ROLE_CLIENT:
		return "client";
	case KEY_ROLE_ADMIN:
		return "admin";
	default:
		return "none";
	}
}

enum key_role key_role_parse(const char *s)
{
	if (s && strcmp(s, "client") == 0)
		return KEY_ROLE_CLIENT;
	if (s && strcmp(s, "admin") == 0)
		return KEY_ROLE_ADMIN;
	return KEY_ROLE_NONE;
}

aigw_rc db_key_insert(struct db *db, const char *app_id, enum key_role role, const char *name,
                      const char *prefix, const unsigned char *hash, int hash_key_id, unsigned rpm,
                      long long *id_out, char *err)
{
	struct q q;
	aigw_rc rc;

	if (role != KEY_ROLE_CLIENT && role != KEY_ROLE_ADMIN)
		return aigw_fail(err, AIGW_EINVAL, "unknown key role");
	if (hash_key_id <= 0)
		return aigw_fail(err, AIGW_EINVAL, "bad keyring key id %d", hash_key_id);
	if (rpm > API_KEY_RPM_MAX)
		return aigw_fail(err, AIGW_EINVAL, "requests per minute over %d", API_KEY_RPM_MAX);
	q_init(&q, db, SQL_KEY_INSERT);
	q_in_str(&q, app_id);
	q_in_str(&q, key_role_name(role));
	q_in_str(&q, name ? name : "");
	q_in_str(&q, prefix);
	q_in_blob(&q, hash, API_KEY_HASH_LEN);
	q_in_int(&q, hash_key_id);
	q_in_int_or_null(&q, rpm, rpm == 0);
	rc = q_exec(&q, err);
	if (rc == AIGW_OK && id_out)
		*id_out = (long long)q_insert_id(&q);
	q_end(&q);
	if (rc == AIGW_ENOTFOUND)
		aigw_fail(err, rc, "no app '%.64s'", app_id);
	return rc;
}

/* requests_per_minute goes to *rpm; key_bound() puts it into k. */
static void key_bind_out(struct q *q, struct api_key *k, char *role, size_t role_cap,
                         long long *rpm)
{
	q_out_int(q, &k->id, NULL);
	q_out_str(q, k->app_id, sizeof k->app_id, NULL);
	q_out_str(q, role, role_cap, NULL);
	q_out_str(q, k->name, sizeof k->name, NULL);
	q_out_str(q, k->prefix, sizeof k->prefix, NULL);
	q_out_int(q, rpm, NULL);
	q_out_time(q, k->created_at, NULL);
	q_out_time(q, k->revoked_at, NULL);
}

/* The fields read in another form than k keeps them. */
static void key_bound(struct api_key *k, const char *role, long long rpm)
{
	k->role = key_role_parse(role);
	k->rpm = rpm > 0 && rpm <= API_KEY_RPM_MAX ? (unsigned)rpm : 0;
}

aigw_rc db_key_find_active(struct db *db, const unsigned char *hash, struct api_key *out, char *err)
{
	long long rpm = 0;
	char role[16];
	struct q q;
	aigw_rc rc;

	memset(out, 0, sizeof *out);
	q_init(&q, db, SQL_KEY_FIND_ACTIVE);
	q_in_blob(&q, hash, API_KEY_HASH_LEN);
	key_bind_out(&q, out, role, sizeof role, &rpm);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc == AIGW_OK)
		key_bound(out, role, rpm);
	else if (rc == AIGW_ENOTFOUND)
		aigw_fail(err, rc, "no active key with this hash");
	return rc;
}

aigw_rc db_key_list(struct db *db, const char *app_id,
                    int (*fn)(const struct api_key *k, void *arg), void *arg, char *err)
{
	struct api_key k;
	long long rpm = 0;
	char role[16];
	struct q q;
	aigw_rc rc;

	memset(&k, 0, sizeof k);
	q_init(&q, db, SQL_KEY_LIST);
	q_in_str(&q, app_id);
	key_bind_out(&q, &k, role, sizeof role, &rpm);
	rc = q_exec(&q, err);
	while (rc == AIGW_OK) {
		rc = q_fetch(&q, err);
		if (rc != AIGW_OK)
			break;
		key_bound(&k, role, rpm);
		if (fn(&k, arg) != 0)
			break;
	}
	q_end(&q);
	return rc == AIGW_ENOTFOUND ? AIGW_OK : rc;
}

aigw_rc db_key_revoke(struct db *db, long long id, char *err)
{
	struct q q;
	aigw_rc rc;

	q_init(&q, db, SQL_KEY_REVOKE);
	q_in_int(&q, id);
	rc = q_exec(&q, err);
	if (rc == AIGW_OK && q_affected(&q) == 0)
		rc = aigw_fail(err, AIGW_ENOTFOUND, "no key %lld", id);
	q_end(&q);
	return rc;
}

aigw_rc db_key_set_rpm(struct db *db, long long id, unsigned rpm, char *err)
{
	struct q q;
	aigw_rc rc;

	if (rpm > API_KEY_RPM_MAX)
		return aigw_fail(err, AIGW_EINVAL, "requests per minute over %d", API_KEY_RPM_MAX);
	q_init(&q, db, SQL_KEY_SET_RPM);
	q_in_int_or_null(&q, rpm, rpm == 0);
	q_in_int(&q, id);
	rc = q_exec(&q, err);
	if (rc == AIGW_OK && q_affected(&q) == 0)
		rc = aigw_fail(err, AIGW_ENOTFOUND, "no key %lld", id);
	q_end(&q);
	return rc;
}
