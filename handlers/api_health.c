/* The health endpoints, public and cheap so that load balancers and
 * orchestrators can poll them:
 *   GET /v1/health        the database's reachability (kept as it was);
 *   GET /v1/health/live   the process answers: 200, nothing asked of
 *                         anyone (a liveness probe must not restart a
 *                         healthy pool because the database is down);
 *   GET /v1/health/ready  the database answers a ping and the upstream
 *                         answers HTTP (checked at most every
 *                         READY_UPSTREAM_TTL_US per process); 503 with
 *                         Retry-After otherwise. */
#include "config.h"

#include "endpoints.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "clock.h"
#include "context.h"
#include "db.h"
#include "error.h"
#include "log.h"
#include "metrics.h"
#include "upstream.h"

/* The upstream's answer is reused this long, so probes do not hammer it. */
#define READY_UPSTREAM_TTL_US 2000000LL
/* A check that gets no HTTP head within this long counts as unreachable. */
#define READY_UPSTREAM_TIMEOUT_MS 2000

static void add_error(cJSON *o, const char *message)
{
	cJSON *e = cJSON_AddObjectToObject(o, "error");

	cJSON_AddStringToObject(e, "message", message);
	cJSON_AddStringToObject(e, "type", "service_unavailable");
	cJSON_AddNullToObject(e, "param");
	cJSON_AddNumberToObject(e, "code", 503);
}

/* Pings the database; logs a failure and counts it. */
static bool database_ok(struct thread_ctx *ctx)
{
	char err[AIGW_ERRLEN];

	if (db_ping(ctx->db, err) == AIGW_OK)
		return true;
	log_warn("health: database unreachable: %s", err);
	metrics_db_error();
	return false;
}

void handle_health(struct thread_ctx *ctx, struct request *req, struct response *resp)
{
	cJSON *o = cJSON_CreateObject();

	(void)req;
	if (database_ok(ctx)) {
		cJSON_AddStringToObject(o, "status", "ok");
		cJSON_AddStringToObject(o, "database", "ok");
		response_json(resp, 200, o);
	} else {
		cJSON_AddStringToObject(o, "status", "unavailable");
		cJSON_AddStringToObject(o, "database", "down");
		add_error(o, "database unavailable");
		response_json(resp, 503, o);
	}
	cJSON_Delete(o);
}

void handle_health_live(struct thread_ctx *ctx, struct request *req, struct response *resp)
{
	cJSON *o = cJSON_CreateObject();

	(void)ctx;
	(void)req;
	cJSON_AddStringToObject(o, "status", "ok");
	response_json(resp, 200, o);
	cJSON_Delete(o);
}

/* The upstream check, shared by the process's threads: one thread checks
 * while the others take the last answer (or wait for the very first). */
static pthread_mutex_t upstream_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic long long upstream_checked_us; /* 0: never */
static atomic_bool upstream_was_ok;

static int stop_at_head(void *arg, const struct upstream_response *res)
{
	(void)arg;
	(void)res;
	return 1; /* the status is all we need: not the model list */
}

static int give_up(void *arg, long long idle_ms)
{
	const long long *start_us = arg;

	(void)idle_ms;
	return clock_us() - *start_us > READY_UPSTREAM_TIMEOUT_MS * 1000LL;
}

/* GET {upstream_url}/models, without a key, up to its head: any HTTP
 * answer below 500 means the upstream is there. */
static bool check_upstream(struct thread_ctx *ctx)
{
	struct upstream_request rq = {.method = "GET", .path = "/models"};
	struct upstream_callbacks cb = {stop_at_head, NULL, give_up};
	struct upstream_response res = {0};
	char err[AIGW_ERRLEN] = "";
	long long start_us = clock_us();
	aigw_rc rc;

	rc = upstream_call(ctx->upstream, &rq, &cb, &start_us, &res, err);
	if (res.status > 0 && res.status < 500)
		return true;
	if (res.status >= 500)
		log_warn("health: the upstream answers HTTP %ld", res.status);
	else
		log_warn("health: the upstream is unreachable (%s): %s", aigw_rc_name(rc),
		         rc == AIGW_EGONE ? "no answer within 2 s" : err);
	return false;
}

static bool upstream_ok(struct thread_ctx *ctx)
{
	long long at = atomic_load(&upstream_checked_us);

	if (at && clock_us() - at <= READY_UPSTREAM_TTL_US)
		return atomic_load(&upstream_was_ok);
	if (pthread_mutex_trylock(&upstream_mu) != 0) {
		if (at)
			return atomic_load(&upstream_was_ok); /* being checked */
		pthread_mutex_lock(&upstream_mu);
	}
	at = atomic_load(&upstream_checked_us);
	if (!at || clock_us() - at > READY_UPSTREAM_TTL_US) {
		atomic_store(&upstream_was_ok, check_upstream(ctx));
		atomic_store(&upstream_checked_us, clock_us());
	}
	pthread_mutex_unlock(&upstream_mu);
	return atomic_load(&upstream_was_ok);
}

void handle_health_ready(struct thread_ctx *ctx, struct request *req, struct response *resp)
{
	cJSON *o = cJSON_CreateObject();
	bool db = database_ok(ctx);
	bool up = upstream_ok(ctx);

	(void)req;
	cJSON_AddStringToObject(o, "status", db && up ? "ok" : "unavailable");
	cJSON_AddStringToObject(o, "database", db ? "ok" : "down");
	cJSON_AddStringToObject(o, "upstream", up ? "ok" : "down");
	if (db && up) {
		response_json(resp, 200, o);
	} else {
		add_error(o, db ? "the upstream is unreachable" : "database unavailable");
		response_json(resp, 503, o);
	}
	cJSON_Delete(o);
}
