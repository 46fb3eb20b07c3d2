/* The per-process cache of apps and key lookups (app_cache.h): two small
 * chained hash tables behind one mutex, app snapshots shared by reference,
 * and the change-feed poll that drops what other processes changed. */
#include "config.h"

#include "app_cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "alloc.h"
#include "apikey.h"
#include "app_changes.h"
#include "clock.h"
#include "conffile.h"
#include "credits.h"
#include "hash.h"
#include "host_limits.h"
#include "log.h"
#include "period_figures.h"

#define APP_BUCKETS 1024
#define KEY_BUCKETS 1024
/* With a healthy feed an app is loaded again only when it changed, or
 * after this long anyway. */
#define APP_MAX_AGE_US (60LL * 1000000)
/* Without a feed answer for this long, entries older than
 * APP_UNFED_MAX_AGE_US are loaded again: the 1 s bound holds regardless. */
#define FEED_STALE_US (2LL * 1000000)
#define APP_UNFED_MAX_AGE_US (1LL * 1000000)
/* The feed is read from this far before the previous poll's database time,
 * so that a change committed late (its time is the statement's, its
 * visibility the commit's) is still seen. */
#define FEED_MARGIN_US (10LL * 1000000)
/* Entries are kept for at most this many apps and keys; beyond it the
 * table is emptied (a flood of distinct apps must not grow memory). */
#define MAX_ENTRIES 100000

struct app_entry {
	struct app_entry *next;
	struct app_snapshot *snap; /* NULL: known changed, nothing held */
	char app_id[65];
	unsigned long generation; /* bumped by each invalidation */
	long long changed_us;     /* the feed's latest time for the app */
};

struct key_entry {
	struct key_entry *next;
	unsigned char hash[APIKEY_HASH_LEN];
	struct api_key key;
	long long expires_us; /* monotonic */
};

struct app_cache {
	const struct aigw_conf *conf;
	struct limits *limits;
	pthread_mutex_t mu;
	struct app_entry *apps[APP_BUCKETS];
	struct key_entry *keys[KEY_BUCKETS];
	size_t n_apps, n_keys;
	long long feed_cursor_us; /* database time of the last poll, 0: none yet */
	long long feed_ok_us;     /* monotonic time of the last good poll, 0: never */
	struct app_cache_stats stats;
};

struct app_cache *app_cache_new(const struct aigw_conf *conf, struct limits *limits)
{
	struct app_cache *c = xcalloc(1, sizeof(*c));

	c->conf = conf;
	c->limits = limits;
	pthread_mutex_init(&c->mu, NULL);
	return c;
}

static void snapshot_free(struct app_snapshot *s)
{
	ai_config_free(&s->cfg);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

/* Under c->mu: lets go of the table's reference. */
static void snapshot_drop(struct app_snapshot *s)
{
	if (s && --s->refs == 0)
		snapshot_free(s);
}

static void clear_keys(struct app_cache *c)
{
	for (size_t i = 0; i < KEY_BUCKETS; i++) {
		struct key_entry *e = c->keys[i], *next;
		for (; e; e = next) {
			next = e->next;
			sodium_memzero(e, sizeof(*e));
			free(e);
		}
		c->keys[i] = NULL;
	}
	c->n_keys = 0;
}

static void clear_apps(struct app_cache *c)
{
	for (size_t i = 0; i < APP_BUCKETS; i++) {
		struct app_entry *e = c->apps[i], *next;
		for (; e; e = next) {
			next = e->next;
			snapshot_drop(e->snap);
			free(e);
		}
		c->apps[i] = NULL;
	}
	c->n_apps = 0;
}

void app_cache_free(struct app_cache *c)
{
	if (!c)
		return;
	clear_apps(c);
	clear_keys(c);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* Under c->mu: the app's entry, made when create is set. */
static struct app_entry *app_entry(struct app_cache *c, const char *app_id, bool create)
{
	size_t b = hash_fnv1a(app_id, strlen(app_id)) % APP_BUCKETS;
	struct app_entry *e;

	for (e = c->apps[b]; e; e = e->next)
		if (strcmp(e->app_id, app_id) == 0)
			return e;
	if (!create)
		return NULL;
	if (c->n_apps >= MAX_ENTRIES)
		clear_apps(c);
	e = xcalloc(1, sizeof(*e));
	snprintf(e->app_id, sizeof(e->app_id), "%s", app_id);
	e->next = c->apps[b];
	c->apps[b] = e;
	c->n_apps++;
	return e;
}

/* Under c->mu: whether a held snapshot may still be served. */
static bool snapshot_fresh(const struct app_cache *c, const struct app_snapshot *s, long long now,
                           long long wall)
{
	bool fed = c->feed_ok_us > 0 && now - c->feed_ok_us < FEED_STALE_US;

	if (s->period_end_us > 0 && wall >= s->period_end_us)
		return false;
	if (limits_app_epoch(c->limits, s->app_id) != s->host_epoch)
		return false; /* another process of the host changed it */
	return now - s->loaded_us < (fed ? APP_MAX_AGE_US : APP_UNFED_MAX_AGE_US);
}

/* "YYYY-MM-DD HH:MM:SS[.ffffff]" (UTC) as microseconds since the epoch;
 * 0 when empty or unreadable. */
static long long utc_us(const char *text)
{
	struct tm tm;
	unsigned long frac = 0;
	char *rest;

	if (!text || !text[0])
		return 0;
	memset(&tm, 0, sizeof(tm));
	rest = strptime(text, "%Y-%m-%d %H:%M:%S", &tm);
	if (!rest)
		return 0;
	if (rest[0] == '.')
		frac = strtoul(rest + 1, NULL, 10);
	return (long long)timegm(&tm) * 1000000LL + (long long)frac;
}

/* Loads a new snapshot of app_id (outside the mutex). */
static aigw_rc load(struct app_cache *c, struct db *db, const char *app_id,
                    struct app_snapshot **out, char *err)
{
	struct app_snapshot *s = xcalloc(1, sizeof(*s));
	aigw_rc rc;

	(void)c;
	snprintf(s->app_id, sizeof(s->app_id), "%s", app_id);
	s->loaded_us = clock_us();
	rc = db_period_current(db, app_id, NULL, &s->period, err);
	if (rc == AIGW_OK)
		rc = db_ai_config_get(db, app_id, false, &s->cfg, err);
	if (rc != AIGW_OK) {
		snapshot_free(s);
		return rc;
	}
	s->period_end_us = utc_us(s->period.period_end);
	atomic_init(&s->used_now, s->period.used);
	*out = s;
	return AIGW_OK;
}

aigw_rc app_cache_get(struct app_cache *c, struct db *db, const char *app_id,
                      struct app_snapshot **out, char *err)
{
	long long now = clock_us(), wall = clock_wall_us();
	struct app_snapshot *s;
	struct app_entry *e;
	unsigned long generation;
	uint32_t host_epoch;
	aigw_rc rc;

	*out = NULL;
	if (!c) {
		rc = load(c, db, app_id, out, err);
		if (rc == AIGW_OK)
			(*out)->refs = 1;
		return rc;
	}
	pthread_mutex_lock(&c->mu);
	e = app_entry(c, app_id, true);
	if (e->snap && snapshot_fresh(c, e->snap, now, wall)) {
		e->snap->refs++;
		*out = e->snap;
		c->stats.app_hits++;
		pthread_mutex_unlock(&c->mu);
		return AIGW_OK;
	}
	generation = e->generation;
	pthread_mutex_unlock(&c->mu);

	/* The counter before the load: a change during it makes the snapshot
	 * stale at once. */
	host_epoch = limits_app_epoch(c->limits, app_id);
	rc = load(c, db, app_id, &s, err);
	if (rc != AIGW_OK)
		return rc;
	s->host_epoch = host_epoch;
	pthread_mutex_lock(&c->mu);
	c->stats.app_loads++;
	s->refs = 1; /* the caller's */
	e = app_entry(c, app_id, true);
	/* Kept only if nothing invalidated the app while it was loading: a
	 * load that raced a change may hold the old state. */
	if (e->generation == generation) {
		s->generation = generation;
		snapshot_drop(e->snap);
		e->snap = s;
		s->refs++;
	}
	pthread_mutex_unlock(&c->mu);
	*out = s;
	return AIGW_OK;
}

void app_snapshot_put(struct app_cache *c, struct app_snapshot *s)
{
	if (!s)
		return;
	if (!c) {
		snapshot_drop(s); /* uncached: this thread's own */
		return;
	}
	pthread_mutex_lock(&c->mu);
	snapshot_drop(s);
	pthread_mutex_unlock(&c->mu);
}

/* Under c->mu: drops every key entry of app_id. */
static void drop_keys_of(struct app_cache *c, const char *app_id)
{
	for (size_t i = 0; i < KEY_BUCKETS; i++) {
		struct key_entry **pp = &c->keys[i];
		while (*pp) {
			struct key_entry *e = *pp;
			if (strcmp(e->key.app_id, app_id) == 0) {
				*pp = e->next;
				sodium_memzero(e, sizeof(*e));
				free(e);
				c->n_keys--;
			} else {
				pp = &e->next;
			}
		}
	}
}

/* Under c->mu. */
static void invalidate_locked(struct app_cache *c, const char *app_id)
{
	struct app_entry *e = app_entry(c, app_id, false);

	if (e) {
		e->generation++;
		snapshot_drop(e->snap);
		e->snap = NULL;
	}
	drop_keys_of(c, app_id);
	c->stats.invalidations++;
}

void app_cache_invalidate(struct app_cache *c, const char *app_id)
{
	limits_app_bump(c->limits, app_id);
	pthread_mutex_lock(&c->mu);
	invalidate_locked(c, app_id);
	pthread_mutex_unlock(&c->mu);
}

static void on_change(const char *app_id, long long changed_us, void *arg)
{
	struct app_cache *c = arg;
	struct app_entry *e;

	pthread_mutex_lock(&c->mu);
	e = app_entry(c, app_id, true);
	/* The margin reads a change several times: it counts once. */
	if (changed_us > e->changed_us) {
		invalidate_locked(c, app_id);
		e->changed_us = changed_us;
	}
	pthread_mutex_unlock(&c->mu);
}

aigw_rc app_cache_poll(struct app_cache *c, struct db *db, char *err)
{
	long long since, server_now = 0;
	aigw_rc rc;

	pthread_mutex_lock(&c->mu);
	/* The first poll starts from our own clock: the changes before it
	 * matter to nothing cached yet, and there may be a row per app. */
	since = (c->feed_cursor_us > 0 ? c->feed_cursor_us : clock_wall_us()) - FEED_MARGIN_US;
	pthread_mutex_unlock(&c->mu);

	rc = db_app_changes_since(db, since, on_change, c, &server_now, err);
	pthread_mutex_lock(&c->mu);
	c->stats.polls++;
	if (rc == AIGW_OK) {
		c->feed_cursor_us = server_now;
		c->feed_ok_us = clock_us();
	} else {
		c->stats.poll_errors++;
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int64_t app_snapshot_remaining(const struct app_snapshot *s)
{
	int64_t used = atomic_load_explicit(&s->used_now, memory_order_relaxed);

	if (s->period.unlimited)
		return -1;
	return s->period.allowance > used ? s->period.allowance - used : 0;
}

struct period_spend {
	long long id;
	int64_t used;
};

struct spend {
	long long ids[PERIOD_FIGURES_MAX];
	struct period_spend got[PERIOD_FIGURES_MAX];
	size_t n, n_got;
};

static void on_figures(void *arg, long long id, int64_t used, int64_t reserved)
{
	struct spend *sp = arg;

	(void)reserved;
	if (sp->n_got < PERIOD_FIGURES_MAX)
		sp->got[sp->n_got++] = (struct period_spend){id, used};
}

static int by_period(const void *a, const void *b)
{
	long long x = ((const struct period_spend *)a)->id, y = ((const struct period_spend *)b)->id;

	return x < y ? -1 : x > y;
}

aigw_rc app_cache_refresh_spend(struct app_cache *c, struct db *db, char *err)
{
	struct spend *sp = xcalloc(1, sizeof(*sp));
	aigw_rc rc;

	pthread_mutex_lock(&c->mu);
	for (size_t b = 0; b < APP_BUCKETS && sp->n < PERIOD_FIGURES_MAX; b++)
		for (struct app_entry *e = c->apps[b]; e && sp->n < PERIOD_FIGURES_MAX; e = e->next)
			if (e->snap && !e->snap->period.unlimited && e->snap->period.id > 0)
				sp->ids[sp->n++] = e->snap->period.id;
	pthread_mutex_unlock(&c->mu);
	rc = db_period_figures(db, sp->ids, sp->n, on_figures, sp, err);
	if (rc == AIGW_OK && sp->n_got > 0) {
		qsort(sp->got, sp->n_got, sizeof(sp->got[0]), by_period);
		pthread_mutex_lock(&c->mu);
		for (size_t b = 0; b < APP_BUCKETS; b++) {
			for (struct app_entry *e = c->apps[b]; e; e = e->next) {
				struct period_spend key, *hit;
				if (!e->snap || e->snap->period.unlimited)
					continue;
				key.id = e->snap->period.id;
				hit = bsearch(&key, sp->got, sp->n_got, sizeof(sp->got[0]), by_period);
				if (hit)
					atomic_store_explicit(&e->snap->used_now, hit->used,
					                      memory_order_relaxed);
			}
		}
		pthread_mutex_unlock(&c->mu);
	}
	free(sp);
	return rc;
}

bool app_cache_key_get(struct app_cache *c, const unsigned char *hash, struct api_key *out)
{
	size_t b = hash_fnv1a(hash, APIKEY_HASH_LEN) % KEY_BUCKETS;
	long long now = clock_us();
	bool found = false;

	pthread_mutex_lock(&c->mu);
	for (struct key_entry *e = c->keys[b]; e; e = e->next) {
		if (sodium_memcmp(e->hash, hash, APIKEY_HASH_LEN) == 0) {
			if (e->expires_us > now) {
				*out = e->key;
				found = true;
			}
			break;
		}
	}
	if (found)
		c->stats.key_hits++;
	else
		c->stats.key_misses++;
	pthread_mutex_unlock(&c->mu);
	return found;
}

void app_cache_key_put(struct app_cache *c, const unsigned char *hash, const struct api_key *k)
{
	size_t b = hash_fnv1a(hash, APIKEY_HASH_LEN) % KEY_BUCKETS;
	int ttl_s = c->conf ? c->conf->auth_cache_ttl_s : 0;
	struct key_entry *e;

	if (ttl_s <= 0)
		return;
	pthread_mutex_lock(&c->mu);
	for (e = c->keys[b]; e; e = e->next)
		if (sodium_memcmp(e->hash, hash, APIKEY_HASH_LEN) == 0)
			break;
	if (!e) {
		if (c->n_keys >= MAX_ENTRIES)
			clear_keys(c);
		e = xcalloc(1, sizeof(*e));
		memcpy(e->hash, hash, APIKEY_HASH_LEN);
		e->next = c->keys[b];
		c->keys[b] = e;
		c->n_keys++;
	}
	e->key = *k;
	e->expires_us = clock_us() + (long long)ttl_s * 1000000LL;
	pthread_mutex_unlock(&c->mu);
}

void app_cache_stats(struct app_cache *c, struct app_cache_stats *out)
{
	pthread_mutex_lock(&c->mu);
	*out = c->stats;
	pthread_mutex_unlock(&c->mu);
}
