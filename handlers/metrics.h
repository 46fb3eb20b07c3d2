/* The gateway's metrics: what is counted, under which labels, and the
 * Prometheus text of GET /v1/metrics. The cells live in the host's shared
 * metrics table (host_metrics.h), so that any process answers for every
 * aigw process of the host that serves the same database.
 *
 * One table per process, opened by services_start before the request
 * threads exist and closed after they are gone; every call here is a no-op
 * without it (tools, unit tests). The calls on the request path are one or
 * two relaxed atomic adds each. */
#ifndef AIGW_METRICS_H
#define AIGW_METRICS_H

#include <stdbool.h>

#include "buf.h"

struct aigw_conf;
struct services;

/* Opens the host's table (conf limits_file + "-metrics" when that is set,
 * else /dev/shm/aigw-metrics-UID-TAG), or, when it cannot be had, a table
 * of this process alone (logged; the scrape then says so). */
void metrics_open(const struct aigw_conf *conf, const char *db_tag);
/* Retires this process's counters into the table and closes it. */
void metrics_close(void);

/* The request path. endpoint: a route's metrics name ("chat",
 * "embeddings", "models", "config", "usage", "health", "metrics"), anything
 * else (NULL) counts as "other"; plan: the app's plan ("free", "pro",
 * "enterprise"; another name is "other"), NULL when not known ("none"). */
void metrics_request_begin(void);
void metrics_request_end(const char *endpoint, const char *plan, int status);
void metrics_stream_begin(void);
void metrics_stream_end(void);
/* An upstream call's time to its first byte (its answer's head). */
void metrics_upstream_first_byte(const char *endpoint, long long us);
/* A stream's time to its first token, from the request's start. */
void metrics_time_to_first_token(long long us);
/* The store answered AIGW_EDB (database unavailable) to a request. */
void metrics_db_error(void);

/* Copies the process's own statistics (cache, usage writer, journal) into
 * the table; the poller runs it once a second, and the scrape and the stop
 * too. s may be NULL. */
void metrics_refresh(struct services *s);

/* Writes the host's metrics in the exposition format into out. */
void metrics_render(struct buf *out);

#endif
