/* The metric catalogue (metrics.h): cell numbers, labels, and the text of
 * a scrape. Counters first, then gauges, as host_metrics.h wants them. */
#include "config.h"

#include "metrics.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app_cache.h"
#include "conffile.h"
#include "hash.h"
#include "host_metrics.h"
#include "log.h"
#include "prom_text.h"
#include "services.h"
#include "usage_journal.h"
#include "usage_writer.h"

/* Change the name when the catalogue changes: a table of the old one is
 * then replaced (or refused while an older aigw still uses it). */
#define CATALOGUE "aigw-metrics-1"

static const char *const endpoints[] = {"chat",   "embeddings", "models",  "config",
                                        "usage",  "health",     "metrics", "other"};
#define N_ENDPOINTS (sizeof(endpoints) / sizeof(endpoints[0]))
#define EP_OTHER (N_ENDPOINTS - 1)

static const char *const plans[] = {"free", "pro", "enterprise", "other", "none"};
#define N_PLANS (sizeof(plans) / sizeof(plans[0]))
#define PLAN_OTHER 3
#define PLAN_NONE 4

/* The codes the gateway answers often get their own series; the rest fall
 * into their class. */
static const int codes[] = {200, 201, 204, 400, 401, 402, 403, 404, 405, 408,
                            409, 413, 415, 422, 429, 499, 500, 502, 503, 504};
#define N_CODES (sizeof(codes) / sizeof(codes[0]))
static const char *const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
#define N_STATUSES (N_CODES + 5)

/* Histogram bounds, in microseconds: 5 ms to 2 min. */
static const long long bounds_us[] = {5000,    10000,    25000,    50000,    100000,
                                      250000,  500000,   1000000,  2500000,  5000000,
                                      10000000, 20000000, 30000000, 60000000, 120000000};
#define N_BOUNDS (sizeof(bounds_us) / sizeof(bounds_us[0]))
/* a histogram's cells: one per bucket (not cumulative), +Inf, the sum in us */
#define HIST_CELLS (N_BOUNDS + 2)

/* The upstream endpoints timed: chat and embeddings. */
#define N_UP_ENDPOINTS 2

enum {
	C_REQUESTS = 0,
	C_FIRST_BYTE = C_REQUESTS + N_ENDPOINTS * N_STATUSES * N_PLANS,
	C_TTFT = C_FIRST_BYTE + N_UP_ENDPOINTS * HIST_CELLS,
	C_DB_ERRORS = C_TTFT + HIST_CELLS,
	C_APP_HITS,
	C_APP_MISSES,
	C_KEY_HITS,
	C_KEY_MISSES,
	C_ROWS_WRITTEN,
	C_ROWS_DUPLICATE,
	C_ROWS_REFUSED,
	C_BATCHES_FAILED,
	C_JOURNAL_FAILURES,
	N_COUNTERS,
	G_REQUESTS_IN_FLIGHT = N_COUNTERS,
	G_STREAMS_IN_FLIGHT,
	G_USAGE_QUEUE,
	G_JOURNAL_BYTES,
	N_CELLS
};

static struct hmetrics *table; /* set before the request threads exist */
static bool host_wide;

/* What metrics_refresh copied last (the process's statistics only grow). */
static pthread_mutex_t refresh_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	struct app_cache_stats cache;
	struct usage_writer_stats writer;
	struct usage_journal_stats journal;
} last;

static struct hmetrics_layout catalogue(void)
{
	char id[64];

	snprintf(id, sizeof(id), "%s/%d/%d", CATALOGUE, (int)N_COUNTERS, (int)N_CELLS);
	return (struct hmetrics_layout){.schema = hash_fnv1a(id, strlen(id)) | 1,
	                                .cells = N_CELLS,
	                                .counters = N_COUNTERS};
}

void metrics_open(const struct aigw_conf *conf, const char *db_tag)
{
	struct hmetrics_layout lay = catalogue();
	char path[4200], err[AIGW_ERRLEN];

	if (conf->limits_file && conf->limits_file[0])
		snprintf(path, sizeof(path), "%s-metrics", conf->limits_file);
	else
		snprintf(path, sizeof(path), "/dev/shm/aigw-metrics-%lu-%s", (unsigned long)getuid(),
		         db_tag);
	memset(&last, 0, sizeof(last));
	host_wide = hmetrics_open(path, &lay, &table, err) == AIGW_OK;
	if (host_wide)
		return;
	log_error("metrics: %s; /v1/metrics shows this process only", err);
	if (hmetrics_open(NULL, &lay, &table, err) != AIGW_OK)
		log_error("metrics: %s; nothing is counted", err);
}

void metrics_close(void)
{
	hmetrics_close(table);
	table = NULL;
}

static size_t endpoint_index(const char *name)
{
	for (size_t i = 0; name && i < EP_OTHER; i++)
		if (strcmp(name, endpoints[i]) == 0)
			return i;
	return EP_OTHER;
}

static size_t plan_index(const char *plan)
{
	if (!plan || !plan[0])
		return PLAN_NONE;
	for (size_t i = 0; i < PLAN_OTHER; i++)
		if (strcmp(plan, plans[i]) == 0)
			return i;
	return PLAN_OTHER;
}

static size_t status_index(int status)
{
	for (size_t i = 0; i < N_CODES; i++)
		if (codes[i] == status)
			return i;
	if (status >= 100 && status <= 599)
		return N_CODES + (size_t)(status / 100 - 1);
	return N_CODES + 4; /* not an HTTP status: counted as a server error */
}

static void status_label(size_t i, char *out, size_t cap)
{
	if (i < N_CODES)
		snprintf(out, cap, "%d", codes[i]);
	else
		snprintf(out, cap, "%s", classes[i - N_CODES]);
}

void metrics_request_begin(void)
{
	hmetrics_add(table, G_REQUESTS_IN_FLIGHT, 1);
}

void metrics_request_end(const char *endpoint, const char *plan, int status)
{
	size_t cell = C_REQUESTS + (endpoint_index(endpoint) * N_STATUSES + status_index(status)) *
	                                   N_PLANS +
	              plan_index(plan);

	hmetrics_add(table, (uint32_t)cell, 1);
	hmetrics_add(table, G_REQUESTS_IN_FLIGHT, -1);
}

void metrics_stream_begin(void)
{
	hmetrics_add(table, G_STREAMS_IN_FLIGHT, 1);
}

void metrics_stream_end(void)
{
	hmetrics_add(table, G_STREAMS_IN_FLIGHT, -1);
}

static void observe(uint32_t base, long long us)
{
	size_t b = 0;

	if (us < 0)
		us = 0;
	while (b < N_BOUNDS && us > bounds_us[b])
		b++;
	hmetrics_add(table, base + (uint32_t)b, 1);
	hmetrics_add(table, base + N_BOUNDS + 1, us);
}

void metrics_upstream_first_byte(const char *endpoint, long long us)
{
	size_t e = endpoint_index(endpoint);

	if (e < N_UP_ENDPOINTS)
		observe((uint32_t)(C_FIRST_BYTE + e * HIST_CELLS), us);
}

void metrics_time_to_first_token(long long us)
{
	observe(C_TTFT, us);
}

void metrics_db_error(void)
{
	hmetrics_add(table, C_DB_ERRORS, 1);
}

static void add_delta(uint32_t cell, unsigned long long now, unsigned long long before)
{
	if (now > before)
		hmetrics_add(table, cell, (int64_t)(now - before));
}

void metrics_refresh(struct services *s)
{
	struct app_cache_stats cs;
	struct usage_writer_stats ws;
	struct usage_journal_stats js;

	if (!table || !s)
		return;
	pthread_mutex_lock(&refresh_mu);
	app_cache_stats(s->cache, &cs);
	usage_writer_stats(s->writer, &ws);
	usage_journal_stats(s->journal, &js);
	add_delta(C_APP_HITS, cs.app_hits, last.cache.app_hits);
	add_delta(C_APP_MISSES, cs.app_loads, last.cache.app_loads);
	add_delta(C_KEY_HITS, cs.key_hits, last.cache.key_hits);
	add_delta(C_KEY_MISSES, cs.key_misses, last.cache.key_misses);
	add_delta(C_ROWS_WRITTEN, ws.written, last.writer.written);
	add_delta(C_ROWS_DUPLICATE, ws.duplicates, last.writer.duplicates);
	add_delta(C_ROWS_REFUSED, ws.refused, last.writer.refused);
	add_delta(C_BATCHES_FAILED, ws.failed_batches, last.writer.failed_batches);
	add_delta(C_DB_ERRORS, ws.failed_batches, last.writer.failed_batches);
	add_delta(C_JOURNAL_FAILURES, (unsigned long long)js.failures,
	          (unsigned long long)last.journal.failures);
	hmetrics_set(table, G_USAGE_QUEUE, (int64_t)ws.queued);
	hmetrics_set(table, G_JOURNAL_BYTES, js.bytes);
	last.cache = cs;
	last.writer = ws;
	last.journal = js;
	pthread_mutex_unlock(&refresh_mu);
}

/* ---- the scrape ---- */

static void render_counter(struct buf *b, const int64_t *v, uint32_t cell, const char *name,
                           const char *help)
{
	prom_family(b, name, "counter", help);
	prom_sample(b, name, NULL, 0, v[cell]);
}

static void render_gauge(struct buf *b, const int64_t *v, uint32_t cell, const char *name,
                         const char *help)
{
	prom_family(b, name, "gauge", help);
	prom_sample(b, name, NULL, 0, v[cell] > 0 ? v[cell] : 0);
}

static void render_histogram(struct buf *b, const int64_t *v, uint32_t base, const char *name,
                             const struct prom_label *labels, size_t n)
{
	long long counts[N_BOUNDS + 1], acc = 0;

	for (size_t i = 0; i <= N_BOUNDS; i++) {
		acc += v[base + i];
		counts[i] = acc;
	}
	prom_histogram(b, name, labels, n, bounds_us, counts, N_BOUNDS, v[base + N_BOUNDS + 1]);
}

static void render_requests(struct buf *b, const int64_t *v)
{
	static const char name[] = "aigw_http_requests_total";
	char status[8];

	prom_family(b, name, "counter",
	            "Requests answered, by endpoint, status and the app's plan (none: not "
	            "known for the request)");
	for (size_t e = 0; e < N_ENDPOINTS; e++)
		for (size_t s = 0; s < N_STATUSES; s++)
			for (size_t p = 0; p < N_PLANS; p++) {
				int64_t n = v[C_REQUESTS + (e * N_STATUSES + s) * N_PLANS + p];
				struct prom_label l[3];

				if (n == 0)
					continue;
				status_label(s, status, sizeof(status));
				l[0] = (struct prom_label){"endpoint", endpoints[e]};
				l[1] = (struct prom_label){"status", status};
				l[2] = (struct prom_label){"plan", plans[p]};
				prom_sample(b, name, l, 3, n);
			}
}

void metrics_render(struct buf *out)
{
	int64_t v[N_CELLS];

	memset(v, 0, sizeof(v));
	hmetrics_reclaim(table);
	hmetrics_read(table, v);

	render_requests(out, v);
	prom_family(out, "aigw_upstream_first_byte_seconds", "histogram",
	            "Time from the upstream call to the first byte of its answer");
	for (size_t e = 0; e < N_UP_ENDPOINTS; e++) {
		struct prom_label l = {"endpoint", endpoints[e]};

		render_histogram(out, v, (uint32_t)(C_FIRST_BYTE + e * HIST_CELLS),
		                 "aigw_upstream_first_byte_seconds", &l, 1);
	}
	prom_family(out, "aigw_time_to_first_token_seconds", "histogram",
	            "Streams: time from the request to the first token relayed");
	render_histogram(out, v, C_TTFT, "aigw_time_to_first_token_seconds", NULL, 0);
	render_counter(out, v, C_DB_ERRORS, "aigw_database_errors_total",
	               "Requests answered 503 because the database was unavailable, and usage "
	               "batches that failed");
	render_counter(out, v, C_APP_HITS, "aigw_app_cache_hits_total",
	               "App settings served from the process's cache");
	render_counter(out, v, C_APP_MISSES, "aigw_app_cache_misses_total",
	               "App settings loaded from the database");
	render_counter(out, v, C_KEY_HITS, "aigw_key_cache_hits_total",
	               "API key lookups served from the process's cache");
	render_counter(out, v, C_KEY_MISSES, "aigw_key_cache_misses_total",
	               "API key lookups asked of the database");
	render_counter(out, v, C_ROWS_WRITTEN, "aigw_usage_rows_written_total",
	               "Usage rows written to the database");
	render_counter(out, v, C_ROWS_DUPLICATE, "aigw_usage_rows_duplicate_total",
	               "Usage rows found written already (a replay from a journal)");
	render_counter(out, v, C_ROWS_REFUSED, "aigw_usage_rows_refused_total",
	               "Usage rows the database refused as invalid (logged with every number)");
	render_counter(out, v, C_BATCHES_FAILED, "aigw_usage_batches_failed_total",
	               "Usage batches that could not be written (tried again)");
	render_counter(out, v, C_JOURNAL_FAILURES, "aigw_journal_failures_total",
	               "Usage records the journal could not write");
	render_gauge(out, v, G_REQUESTS_IN_FLIGHT, "aigw_requests_in_flight",
	             "Requests being served");
	render_gauge(out, v, G_STREAMS_IN_FLIGHT, "aigw_streams_in_flight",
	             "Streamed answers being relayed");
	render_gauge(out, v, G_USAGE_QUEUE, "aigw_usage_queue_depth",
	             "Usage rows waiting for their batch");
	render_gauge(out, v, G_JOURNAL_BYTES, "aigw_journal_bytes",
	             "Bytes in the usage journals");
	prom_family(out, "aigw_metrics_host_wide", "gauge",
	            "1: these metrics are every aigw process of the host that uses this "
	            "database; 0: this process only (its shared table could not be opened)");
	prom_sample(out, "aigw_metrics_host_wide", NULL, 0, host_wide ? 1 : 0);
}
