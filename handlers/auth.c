/* Bearer-token authentication: shape check first (no DB work for garbage),
 * then the keyed hash under each keyring key, newest first, looked up in
 * api_keys.
 *
 * Cache policy: positive answers are kept in the process's cache
 * (app_cache.h), keyed by the token's hash under the current keyring key,
 * for conf auth_cache_ttl_s seconds from the database's answer (default 2;
 * 0 disables it) and dropped at once when the key's app changes (a revoke
 * on this process) or within a second (a change elsewhere, through the
 * change feed). So a revoked key keeps working for at most
 * auth_cache_ttl_s seconds, and never longer: entries are not refreshed on
 * use. Negative answers are never cached, so a new key works at once, and
 * a database outage is never masked for unknown tokens. */
#include "config.h"

#include "auth.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "api_keys.h"
#include "apikey.h"
#include "app_cache.h"
#include "context.h"
#include "keyring.h"
#include "log.h"
#include "services.h"

/* Finds the token inside "Bearer <token>": scheme case-insensitive, one or
 * more spaces, surrounding blanks ignored. Points into the header (no copy
 * of the token is made, so none needs wiping). */
static bool bearer_token(const char *h, const char **tok, size_t *len)
{
	const char *p = h, *end;

	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "Bearer", 6) != 0)
		return false;
	p += 6;
	if (*p != ' ' && *p != '\t')
		return false;
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end == p)
		return false;
	*tok = p;
	*len = (size_t)(end - p);
	return true;
}

static void fill(struct request *req, char *key_app_id, const struct api_key *k)
{
	req->key_id = k->id;
	req->key_role = (int)k->role;
	req->key_rpm = k->rpm;
	snprintf(key_app_id, 65, "%s", k->app_id);
}

enum auth_result auth_check(struct thread_ctx *ctx, struct request *req, char *key_app_id)
{
	enum auth_result res = AUTH_UNKNOWN;
	const struct keyring *kr = ctx->keyring;
	unsigned char first[APIKEY_HASH_LEN], hash[APIKEY_HASH_LEN];
	struct app_cache *cache = ctx->svc ? ctx->svc->cache : NULL;
	const char *h, *tok = NULL;
	size_t len = 0;
	char err[AIGW_ERRLEN];
	struct api_key hit;

	req->key_id = 0;
	req->key_role = KEY_ROLE_NONE;
	key_app_id[0] = '\0';
	h = request_param(req, "HTTP_AUTHORIZATION");
	if (!h)
		/* Apache behind a rewrite passes it under this name */
		h = request_param(req, "REDIRECT_HTTP_AUTHORIZATION");
	if (!h || !*h)
		return AUTH_MISSING;
	if (!bearer_token(h, &tok, &len) || !apikey_well_formed(tok, len))
		return AUTH_MALFORMED;
	if (!kr || kr->n == 0) {
		/* cannot verify anything: a server fault, not the client's */
		log_error("auth: no keyring keys loaded");
		return AUTH_DB_DOWN;
	}

	apikey_hash(&kr->keys[kr->n - 1], tok, len, first);
	if (cache && app_cache_key_get(cache, first, &hit)) {
		fill(req, key_app_id, &hit);
		res = AUTH_OK;
		goto out;
	}
	for (size_t i = kr->n; i-- > 0;) {
		struct api_key k;
		aigw_rc rc;

		if (i == kr->n - 1)
			memcpy(hash, first, sizeof(hash));
		else
			apikey_hash(&kr->keys[i], tok, len, hash);
		memset(&k, 0, sizeof(k));
		rc = db_key_find_active(ctx->db, hash, &k, err);
		if (rc == AIGW_ENOTFOUND)
			continue;
		if (rc != AIGW_OK) {
			/* fail closed: an unverifiable key is never let through */
			log_warn("auth: key lookup failed: %s", err);
			res = AUTH_DB_DOWN;
			goto out;
		}
		if (k.role != KEY_ROLE_CLIENT && k.role != KEY_ROLE_ADMIN) {
			log_error("auth: key %lld has an unknown role", k.id);
			res = AUTH_UNKNOWN;
			goto out;
		}
		fill(req, key_app_id, &k);
		if (cache)
			app_cache_key_put(cache, first, &k);
		res = AUTH_OK;
		goto out;
	}
	res = AUTH_UNKNOWN;
out:
	sodium_memzero(first, sizeof(first));
	sodium_memzero(hash, sizeof(hash));
	return res;
}
