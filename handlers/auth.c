/* Bearer-token authentication: shape check first (no DB work for garbage),
 * then the keyed hash under each keyring key, newest first, looked up in
 * api_keys.
 *
 * Cache policy: each thread keeps a small table of
 * positive answers keyed by the token's hash under the current keyring key,
 * for conf auth_cache_ttl_s seconds (default 2; 0 disables it). So a revoked
 * key keeps working for at most auth_cache_ttl_s seconds on a thread that saw
 * it recently, and never longer: entries are not refreshed on use. Negative
 * answers are never cached, so a new key works at once, and a database
 * outage is never masked for unknown tokens. The table is per thread, so it
 * takes no lock. */
#include "config.h"

#include "auth.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "alloc.h"
#include "api_keys.h"
#include "apikey.h"
#include "clock.h"
#include "conffile.h"
#include "context.h"
#include "keyring.h"
#include "log.h"

#define AUTH_CACHE_SLOTS 64

struct auth_cache_entry {
	bool used;
	unsigned char hash[APIKEY_HASH_LEN];
	long long key_id;
	int role;
	char app_id[65];
	int64_t expires_ms; /* CLOCK_MONOTONIC */
};

struct auth_cache {
	struct auth_cache_entry e[AUTH_CACHE_SLOTS];
};

static int cache_ttl_s(const struct thread_ctx *ctx)
{
	return ctx->conf ? ctx->conf->auth_cache_ttl_s : 0;
}

static const struct auth_cache_entry *cache_find(struct thread_ctx *ctx, const unsigned char *hash)
{
	struct auth_cache *c = ctx->auth_cache;
	int64_t now;

	if (!c)
		return NULL;
	now = clock_us() / 1000;
	for (int i = 0; i < AUTH_CACHE_SLOTS; i++) {
		struct auth_cache_entry *e = &c->e[i];
		if (!e->used)
			continue;
		if (e->expires_ms <= now) {
			sodium_memzero(e, sizeof(*e));
			continue;
		}
		if (sodium_memcmp(e->hash, hash, APIKEY_HASH_LEN) == 0)
			return e;
	}
	return NULL;
}

static void cache_put(struct thread_ctx *ctx, const unsigned char *hash, const struct api_key *k,
                      int ttl_s)
{
	struct auth_cache *c = ctx->auth_cache;
	struct auth_cache_entry *slot = NULL;
	int64_t now = clock_us() / 1000;

	if (!c)
		return; /* a context without a cache */
	/* a free or expired slot, else the one closest to expiry */
	for (int i = 0; i < AUTH_CACHE_SLOTS; i++) {
		struct auth_cache_entry *e = &c->e[i];
		if (!e->used || e->expires_ms <= now) {
			slot = e;
			break;
		}
		if (!slot || e->expires_ms < slot->expires_ms)
			slot = e;
	}
	memset(slot, 0, sizeof(*slot));
	slot->used = true;
	memcpy(slot->hash, hash, APIKEY_HASH_LEN);
	slot->key_id = k->id;
	slot->role = (int)k->role;
	snprintf(slot->app_id, sizeof(slot->app_id), "%s", k->app_id);
	slot->expires_ms = now + (int64_t)ttl_s * 1000;
}

struct auth_cache *auth_cache_new(void)
{
	return xcalloc(1, sizeof(struct auth_cache));
}

void auth_cache_free(struct auth_cache *c)
{
	if (!c)
		return;
	sodium_memzero(c, sizeof(*c));
	free(c);
}

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

static void fill(struct request *req, char *key_app_id, long long id, int role, const char *app_id)
{
	req->key_id = id;
	req->key_role = role;
	snprintf(key_app_id, 65, "%s", app_id);
}

enum auth_result auth_check(struct thread_ctx *ctx, struct request *req, char *key_app_id)
{
	enum auth_result res = AUTH_UNKNOWN;
	const struct keyring *kr = ctx->keyring;
	unsigned char first[APIKEY_HASH_LEN], hash[APIKEY_HASH_LEN];
	const struct auth_cache_entry *hit;
	const char *h, *tok = NULL;
	size_t len = 0;
	int ttl = cache_ttl_s(ctx);
	char err[AIGW_ERRLEN];

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
	if (ttl > 0) {
		hit = cache_find(ctx, first);
		if (hit) {
			fill(req, key_app_id, hit->key_id, hit->role, hit->app_id);
			res = AUTH_OK;
			goto out;
		}
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
		fill(req, key_app_id, k.id, (int)k.role, k.app_id);
		if (ttl > 0)
			cache_put(ctx, first, &k, ttl);
		res = AUTH_OK;
		goto out;
	}
	res = AUTH_UNKNOWN;
out:
	sodium_memzero(first, sizeof(first));
	sodium_memzero(hash, sizeof(hash));
	return res;
}
