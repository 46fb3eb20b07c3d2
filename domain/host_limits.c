/* The limits table's counters (host_limits.h): app and key slots found by hash
 * with linear probing, in-flight counts per process slot, the one-second
 * bucket rings of the rpm windows, and the epochs. Every check adds first and
 * counts after, with sequentially consistent atomics: of requests racing for
 * the last place, the last to add sees all the others, so no limit is ever
 * passed; at worst a racer is refused early. */
#include "config.h"

#include "host_limits.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "hash.h"
#include "limits_shm.h"
#include "log.h"

#define PROBE_MAX 64

long long limits_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

/* 64-bit FNV-1a then a finaliser; 0 is kept for "free". */
static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h ? h : 1;
}

static uint64_t app_hash(const char *app_id)
{
	return mix(hash_fnv1a(app_id, strnlen(app_id, LIMITS_APP_ID_MAX)));
}

static uint64_t key_hash(long long key_id)
{
	return mix((uint64_t)key_id ^ 0x6b65792d6964ULL);
}

/* Finds the slot tagged h among n slots (tag i at tag_at(i)), taking a
 * free one when create is set. -1: not there, or no room within the probe. */
static int32_t find(const struct limits *l, uint64_t h, uint32_t n, bool create,
                    _Atomic uint64_t *(*tag_at)(const struct limits *, uint32_t))
{
	uint32_t i;

	for (i = 0; i < PROBE_MAX && i < n; i++) {
		uint32_t at = (uint32_t)((h + i) % n);
		_Atomic uint64_t *tag = tag_at(l, at);
		uint64_t cur = atomic_load_explicit(tag, memory_order_acquire);

		if (cur == 0 && create &&
		    atomic_compare_exchange_strong(tag, &cur, h)) /* cur is reloaded on failure */
			return (int32_t)at;
		if (cur == h)
			return (int32_t)at;
		if (cur == 0)
			return -1;
	}
	return -1;
}

static _Atomic uint64_t *app_tag(const struct limits *l, uint32_t i)
{
	return &lim_app_at(l, i)->tag;
}

static _Atomic uint64_t *key_tag(const struct limits *l, uint32_t i)
{
	return &lim_key_at(l, i)->tag;
}

static int32_t app_slot(struct limits *l, const char *app_id, bool create)
{
	int32_t a = find(l, app_hash(app_id), l->n_apps, create, app_tag);

	if (a < 0 && create && !(atomic_fetch_or(&l->logged, LIM_LOGGED_APPS) & LIM_LOGGED_APPS))
		log_error("limits: the app table (%u slots) is full: the limits of app %.64s and "
		          "of other apps that do not fit are not enforced",
		          l->n_apps, app_id);
	return a;
}

static int32_t key_slot(struct limits *l, long long key_id)
{
	int32_t k = find(l, key_hash(key_id), l->n_keys, true, key_tag);

	if (k < 0 && !(atomic_fetch_or(&l->logged, LIM_LOGGED_KEYS) & LIM_LOGGED_KEYS))
		log_error("limits: the key table (%u slots) is full: the limit of key %lld and "
		          "of other keys that do not fit are not enforced",
		          l->n_keys, key_id);
	return k;
}

/* ---- in flight --------------------------------------------------------- */

static unsigned long long in_flight(const struct limits *l, uint32_t a)
{
	uint32_t hi = atomic_load(&l->h->procs_hi), p;
	unsigned long long sum = 0;

	for (p = 0; p < hi && p < l->n_procs; p++)
		sum += atomic_load(lim_held(l, a, p));
	return sum;
}

/* Gives one back, never below 0 (a reclaim may have zeroed it). */
static void held_sub(_Atomic uint32_t *c)
{
	uint32_t cur = atomic_load(c);

	while (cur > 0 && !atomic_compare_exchange_weak(c, &cur, cur - 1))
		;
}

static bool in_flight_take(struct limits *l, uint32_t a, uint32_t p, unsigned max)
{
	_Atomic uint32_t *c = lim_held(l, a, p);

	atomic_fetch_add(c, 1);
	if (in_flight(l, a) <= max)
		return true;
	held_sub(c);
	return false;
}

/* ---- rpm rings ----------------------------------------------------------- */

#define STAMP(w) ((uint32_t)((w) >> 32))
#define COUNT(w) ((uint32_t)(w))
#define WORD(stamp, count) (((uint64_t)(stamp) << 32) | (uint32_t)(count))

/* Adds one to second s's bucket; a bucket last used for an older second
 * starts again. One clock running behind another by a full ring or more
 * counts into the newer bucket (more counted, never fewer). */
static void ring_add(struct lim_ring *r, uint32_t s)
{
	_Atomic uint64_t *b = &r->b[s % LIM_RING];
	uint64_t w = atomic_load(b), nw;

	do {
		if ((int32_t)(s - STAMP(w)) > 0)
			nw = WORD(s, 1);
		else
			nw = WORD(STAMP(w), COUNT(w) + 1);
	} while (!atomic_compare_exchange_weak(b, &w, nw));
}

/* Takes back what ring_add(r, s) added. */
static void ring_sub(struct lim_ring *r, uint32_t s)
{
	_Atomic uint64_t *b = &r->b[s % LIM_RING];
	uint64_t w = atomic_load(b);

	do {
		if ((int32_t)(s - STAMP(w)) > 0 || COUNT(w) == 0)
			return;
	} while (!atomic_compare_exchange_weak(b, &w, WORD(STAMP(w), COUNT(w) - 1)));
}

/* Admissions in second s and the 60 before; by_age[d] gets those of second
 * s - d (when not NULL). Buckets of a clock ahead of ours count too. */
static unsigned long long ring_sum(struct lim_ring *r, uint32_t s, uint32_t by_age[LIM_RING])
{
	unsigned long long sum = 0;

	if (by_age)
		memset(by_age, 0, LIM_RING * sizeof *by_age);
	for (int i = 0; i < LIM_RING; i++) {
		uint64_t w = atomic_load(&r->b[i]);
		int32_t age = (int32_t)(s - STAMP(w));

		if (age < LIM_RING && age > -LIM_RING) {
			sum += COUNT(w);
			if (by_age)
				by_age[age > 0 ? age : 0] += COUNT(w);
		}
	}
	return sum;
}

/* Seconds until the window holds fewer than max once ours is taken out
 * again: at second s + k the buckets aged 61 - k and more have left it. */
static int ring_retry_after(const uint32_t by_age[LIM_RING], unsigned max)
{
	unsigned long long left = 0;
	int k;

	for (k = 0; k < LIM_RING; k++)
		left += by_age[k];
	for (k = 1; k < LIM_RING; k++) {
		left -= by_age[LIM_RING - k];
		if (left < max)
			return k;
	}
	return LIM_RING;
}

/* Counts one request in r for second s if the window has room for it;
 * else *retry_after_s says when it will. */
static bool ring_take(struct lim_ring *r, uint32_t s, unsigned max, int *retry_after_s)
{
	uint32_t by_age[LIM_RING];
	unsigned long long sum;

	ring_add(r, s);
	sum = ring_sum(r, s, by_age);
	if (sum <= max)
		return true;
	ring_sub(r, s);
	/* what the others hold, without our attempt */
	by_age[0] -= by_age[0] > 0;
	*retry_after_s = ring_retry_after(by_age, max);
	return false;
}

/* ---- the request path ---------------------------------------------------- */

enum limits_reason limits_enter(struct limits *l, const struct limits_request *r,
                                struct limits_ticket *t, int *retry_after_s)
{
	int32_t a = -1, k = -1, p = -1;
	uint32_t s = (uint32_t)r->now_s;
	enum limits_reason why = LIMITS_ADMIT;
	bool held = false;

	t->app = -1;
	t->proc = -1;
	*retry_after_s = 0;
	if (!l)
		return LIMITS_ADMIT;
	if (r->max_in_flight || r->app_rpm)
		a = app_slot(l, r->app_id, true);
	if (r->key_rpm)
		k = key_slot(l, r->key_id);
	if (a >= 0 && r->max_in_flight) {
		p = lim_own_proc(l);
		if (p >= 0) {
			held = in_flight_take(l, (uint32_t)a, (uint32_t)p, r->max_in_flight);
			/* a killed worker's counts may be what fills it */
			if (!held && lim_sweep(l, r->now_s) > 0)
				held = in_flight_take(l, (uint32_t)a, (uint32_t)p,
				                      r->max_in_flight);
			if (!held) {
				*retry_after_s = 1;
				return LIMITS_IN_FLIGHT;
			}
		}
	}
	if (a >= 0 && r->app_rpm &&
	    !ring_take(&lim_app_at(l, (uint32_t)a)->rpm, s, r->app_rpm, retry_after_s))
		why = LIMITS_APP_RPM;
	if (why == LIMITS_ADMIT && k >= 0 &&
	    !ring_take(&lim_key_at(l, (uint32_t)k)->rpm, s, r->key_rpm, retry_after_s)) {
		why = LIMITS_KEY_RPM;
		if (a >= 0 && r->app_rpm)
			ring_sub(&lim_app_at(l, (uint32_t)a)->rpm, s);
	}
	if (why != LIMITS_ADMIT) {
		if (held)
			held_sub(lim_held(l, (uint32_t)a, (uint32_t)p));
		return why;
	}
	if (held) {
		t->app = a;
		t->proc = p;
	}
	return LIMITS_ADMIT;
}

void limits_leave(struct limits *l, struct limits_ticket *t)
{
	if (l && t->app >= 0 && t->proc >= 0 && (uint32_t)t->app < l->n_apps &&
	    (uint32_t)t->proc < l->n_procs)
		held_sub(lim_held(l, (uint32_t)t->app, (uint32_t)t->proc));
	t->app = -1;
	t->proc = -1;
}

/* ---- epochs, usage, open and close ------------------------------------- */

uint32_t limits_app_epoch(struct limits *l, const char *app_id)
{
	if (!l)
		return 0;
	return atomic_load_explicit(lim_epoch_at(l, (uint32_t)(app_hash(app_id) % l->n_epochs)),
	                            memory_order_acquire);
}

void limits_app_bump(struct limits *l, const char *app_id)
{
	if (l)
		atomic_fetch_add(lim_epoch_at(l, (uint32_t)(app_hash(app_id) % l->n_epochs)), 1);
}

bool limits_app_usage(struct limits *l, const char *app_id, long long now_s,
                      unsigned *in_flight_out, unsigned *last_minute)
{
	int32_t a = l ? app_slot(l, app_id, false) : -1;

	*in_flight_out = 0;
	*last_minute = 0;
	if (a < 0)
		return false;
	*in_flight_out = (unsigned)in_flight(l, (uint32_t)a);
	*last_minute = (unsigned)ring_sum(&lim_app_at(l, (uint32_t)a)->rpm, (uint32_t)now_s, NULL);
	return true;
}

/* One window's quota: what is left of max, and when the window empties. */
static void ring_quota(struct lim_ring *ring, uint32_t s, unsigned max, unsigned *remaining,
                       int *reset_s)
{
	uint32_t by_age[LIM_RING];
	unsigned long long sum = ring_sum(ring, s, by_age);
	int youngest = -1;

	for (int d = 0; d < LIM_RING && youngest < 0; d++)
		if (by_age[d])
			youngest = d;
	*remaining = sum >= max ? 0 : (unsigned)(max - sum);
	/* a bucket aged d leaves the window in LIM_RING - d seconds */
	*reset_s = youngest < 0 ? 0 : LIM_RING - youngest;
}

void limits_rpm_quota(struct limits *l, const struct limits_request *r, unsigned *limit,
                      unsigned *remaining, int *reset_s)
{
	uint32_t s = (uint32_t)r->now_s;
	unsigned rem;
	int reset;

	*limit = 0;
	*remaining = 0;
	*reset_s = 0;
	if (!l)
		return;
	if (r->app_rpm) {
		int32_t a = app_slot(l, r->app_id, false);
		if (a >= 0) {
			ring_quota(&lim_app_at(l, (uint32_t)a)->rpm, s, r->app_rpm, &rem, &reset);
			*limit = r->app_rpm;
			*remaining = rem;
			*reset_s = reset;
		}
	}
	if (r->key_rpm) {
		int32_t k = find(l, key_hash(r->key_id), l->n_keys, false, key_tag);
		if (k >= 0) {
			ring_quota(&lim_key_at(l, (uint32_t)k)->rpm, s, r->key_rpm, &rem, &reset);
			if (*limit == 0 || rem < *remaining) {
				*limit = r->key_rpm;
				*remaining = rem;
				*reset_s = reset;
			}
		}
	}
}

const char *limits_reason_name(enum limits_reason r)
{
	switch (r) {
	case LIMITS_IN_FLIGHT:
		return "in_flight";
	case LIMITS_APP_RPM:
		return "app_rpm";
	case LIMITS_KEY_RPM:
		return "key_rpm";
	default:
		return "admit";
	}
}

aigw_rc limits_open(const char *path, const struct limits_sizes *sizes, struct limits **out,
                    char *err)
{
	struct limits *l = xcalloc(1, sizeof *l);
	aigw_rc rc;

	*out = NULL;
	l->fd = -1;
	atomic_init(&l->proc, -1);
	rc = lim_map(path, sizes, l, err);
	if (rc != AIGW_OK) {
		free(l);
		return rc;
	}
	limits_reclaim(l);
	lim_claim(l);
	*out = l;
	return AIGW_OK;
}

void limits_close(struct limits *l)
{
	if (!l)
		return;
	lim_release(l);
	lim_unmap(l);
	free(l);
}
