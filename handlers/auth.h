/* Bearer-token authentication against api_keys, with the process's cache
 * (app_cache.h; conf auth_cache_ttl_s: a revoked key stops working within
 * that many seconds, 2 by default).
 *
 * Revocation latency: only successful lookups are cached, for at most
 * auth_cache_ttl_s seconds from the database answer (entries are never
 * extended on use), so `aigw-admin key revoke` takes effect everywhere within
 * auth_cache_ttl_s seconds; with auth_cache_ttl_s = 0 at once. Unknown and
 * malformed tokens are never cached, and a malformed one never reaches the
 * database. */
#ifndef AIGW_AUTH_H
#define AIGW_AUTH_H

#include "error.h"
#include "request.h"

struct thread_ctx;

enum auth_result {
	AUTH_OK = 0,
	AUTH_MISSING,   /* no Authorization header: 401 */
	AUTH_MALFORMED, /* not "Bearer aigw_...": 401 */
	AUTH_UNKNOWN,   /* no active key with that hash (unknown or revoked): 401 */
	AUTH_DB_DOWN    /* could not ask the database: 503 */
};

/* Checks the request's bearer token; on AUTH_OK fills req->key_id,
 * req->key_role and *key_app_id (65 bytes). */
enum auth_result auth_check(struct thread_ctx *ctx, struct request *req, char *key_app_id);

#endif
