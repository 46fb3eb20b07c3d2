/* What the request path needs to know about an app before its upstream
 * call, held per process so that a request of a plan that cannot be
 * blocked (enterprise, pro, BYOK) asks the database nothing on its way up:
 * the app's AI settings and its current billing period (the plan's rules
 * and the period id its usage is charged to), and the answers of API key
 * lookups.
 *
 * Staleness bounds, on every process and every host sharing the database:
 * - an app's settings and plan: a process polls the database's change feed
 *   (db/app_changes.h: a row per app touched by any write to apps, api_keys
 *   or ai_config, by triggers) once a second and drops what changed; a
 *   change made through any process of the same host is dropped at once
 *   (host_limits.h: the host's per-app change counters). If the feed cannot
 *   be read for 2 s, entries older than 1 s are loaded again. So a change
 *   is seen within about 1 s (poll interval + the poll's own time).
 * - a key: positive answers only, each kept conf auth_cache_ttl_s (<= 10,
 *   default 2) from the database's answer and dropped with its app's
 *   changes, so a revoked key is refused within 2 s by default.
 * - a billing period is loaded again once it has ended.
 *
 * Everything is behind one mutex held for a hash lookup; an app's entry is
 * an immutable snapshot with a reference count, so readers never copy the
 * settings and a reload never frees what a request still reads. */
#ifndef AIGW_APP_CACHE_H
#define AIGW_APP_CACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ai_config.h"
#include "api_keys.h"
#include "billing.h"
#include "error.h"

struct aigw_conf;
struct app_cache;
struct db;
struct limits;

/* One app as loaded at one moment; read-only; hold it with app_cache_get
 * and give it back with app_snapshot_put. */
struct app_snapshot {
	char app_id[65];
	struct ai_config cfg;
	struct billing_period period; /* its current period when loaded */
	long long period_end_us;      /* wall clock, 0: none (free plan: lifetime) */
	long long loaded_us;          /* monotonic */
	unsigned long generation;     /* the cache's invalidation count for the app */
	uint32_t host_epoch;          /* the app's host-wide counter when loaded */
	int refs;                     /* under the cache's mutex */
	/* The one part that moves: the period's settled spend (used_usd) as
	 * last read, refreshed about once a second while the snapshot is
	 * cached (app_cache_refresh_spend); period.used until then. */
	_Atomic int64_t used_now;
};

/* What is left of the snapshot's allowance as last read (allowance -
 * used_now, not below 0); -1 when the period is unlimited. */
int64_t app_snapshot_remaining(const struct app_snapshot *s);

/* conf and limits (the host's shared table, whose per-app counters tell of
 * changes; NULL: none) are borrowed and must outlive the cache. */
struct app_cache *app_cache_new(const struct aigw_conf *conf, struct limits *limits);
void app_cache_free(struct app_cache *c);

/* The app's snapshot, loaded through db when missing or stale (two reads,
 * no transaction). *out is held: app_snapshot_put it. With c NULL the
 * snapshot is loaded for the caller alone (tools, unit tests).
 * AIGW_ENOTFOUND: no such app; AIGW_EDB: the database cannot say. */
aigw_rc app_cache_get(struct app_cache *c, struct db *db, const char *app_id,
                      struct app_snapshot **out, char *err);
void app_snapshot_put(struct app_cache *c, struct app_snapshot *s);

/* Drops what the cache holds for app_id (its snapshot and its keys), here
 * and, through the host's counters, in the other processes of the host. */
void app_cache_invalidate(struct app_cache *c, const char *app_id);

/* Reads the change feed since the last poll and drops what changed; call
 * about once a second from one thread. Returns the feed's result. */
aigw_rc app_cache_poll(struct app_cache *c, struct db *db, char *err);

/* Reads again the settled spend of the periods of the cached apps with an
 * allowance (one statement for up to PERIOD_FIGURES_MAX of them); call
 * about once a second from one thread. */
aigw_rc app_cache_refresh_spend(struct app_cache *c, struct db *db, char *err);

/* Key lookups: the key whose token hashes to hash (APIKEY_HASH_LEN bytes)
 * if a fresh answer is held. */
bool app_cache_key_get(struct app_cache *c, const unsigned char *hash, struct api_key *out);
void app_cache_key_put(struct app_cache *c, const unsigned char *hash, const struct api_key *k);

/* Counters, for tests and logs. */
struct app_cache_stats {
	unsigned long app_hits, app_loads, key_hits, key_misses, invalidations, polls, poll_errors;
};
void app_cache_stats(struct app_cache *c, struct app_cache_stats *out);

#endif
