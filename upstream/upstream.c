/* The upstream client over libcurl's multi interface (see upstream.h).
 * curl_multi_poll wakes on data or after at most a tick, so streamed bytes
 * are handed on as they arrive and the caller still gets its heartbeat tick
 * during long silences. Timeouts are enforced here, not by curl, because
 * "first byte" and "idle" are not curl notions. */
#include "config.h"

#include "upstream.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "alloc.h"
#include "clock.h"
#include "conffile.h"
#include "log.h"

/* How often the caller is ticked while waiting (heartbeats, probes). */
#define TICK_MS 100

struct upstream {
	const struct aigw_conf *conf;
	CURLM *multi; /* owns the connection pool */
	CURL *easy;
};

/* State of one call, shared by the curl callbacks. */
struct call {
	const struct upstream_callbacks *cb;
	void *arg;
	struct upstream_response *res;
	CURL *easy;
	long long start_us;
	long long last_byte_us;
	bool aborted;
};

/* What every thread's client shares: the DNS cache and the TLS sessions, so
 * that a thread started for a burst resumes a TLS session instead of a full
 * handshake. (Connections themselves stay per thread: libcurl does not
 * support sharing them between concurrent threads.) Made once, kept for the
 * life of the process. */
static CURLSH *shared;
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t shared_locks[CURL_LOCK_DATA_LAST];

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
	(void)h;
	(void)access;
	(void)arg;
	pthread_mutex_lock(&shared_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	(void)h;
	(void)arg;
	pthread_mutex_unlock(&shared_locks[data]);
}

static void share_init(void)
{
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&shared_locks[i], NULL);
	shared = curl_share_init();
	if (!shared)
		return; /* each thread keeps its own caches */
	curl_share_setopt(shared, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(shared, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(shared, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(shared, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

static size_t on_header_line(char *line, size_t size, size_t nitems, void *userdata);
static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata);

struct upstream *upstream_new(const struct aigw_conf *conf)
{
	struct upstream *u = xcalloc(1, sizeof(*u));

	pthread_once(&shared_once, share_init);
	u->conf = conf;
	u->multi = curl_multi_init();
	u->easy = curl_easy_init();
	if (!u->multi || !u->easy) {
		log_error("upstream: libcurl could not make its handles");
		abort();
	}
	if (shared)
		curl_easy_setopt(u->easy, CURLOPT_SHARE, shared);
	curl_easy_setopt(u->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(u->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)conf->upstream_connect_timeout_ms);
	curl_easy_setopt(u->easy, CURLOPT_HEADERFUNCTION, on_header_line);
	curl_easy_setopt(u->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(u->easy, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	return u;
}

void upstream_free(struct upstream *u)
{
	if (!u)
		return;
	curl_easy_cleanup(u->easy);
	curl_multi_cleanup(u->multi);
	free(u);
}

/* Copies a header value (trimmed) into dst if the line is `name: value`. */
static bool header_take(const char *line, size_t len, const char *name, char *dst, size_t cap)
{
	size_t nlen = strlen(name);

	if (len <= nlen || line[nlen] != ':' || strncasecmp(line, name, nlen) != 0)
		return false;
	const char *v = line + nlen + 1;
	const char *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	size_t vlen = (size_t)(end - v);
	if (vlen >= cap)
		vlen = cap - 1;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
	return true;
}

static size_t on_header_line(char *line, size_t size, size_t nitems, void *userdata)
{
	struct call *c = userdata;
	struct upstream_response *res = c->res;
	size_t len = size * nitems;

	c->last_byte_us = clock_us();
	if (!res->first_byte_us)
		res->first_byte_us = c->last_byte_us - c->start_us;
	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* a new response (after 100 Continue or a redirect): forget the last */
		res->generation_id[0] = res->retry_after[0] = res->content_type[0] = '\0';
		return len;
	}
	if (len <= 2 && (line[0] == '\r' || line[0] == '\n')) {
		long status = 0;
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status < 200)
			return len; /* interim response */
		res->status = status;
		res->headers_done = true;
		if (c->cb->on_headers && c->cb->on_headers(c->arg, res) != 0) {
			c->aborted = true;
			return 0;
		}
		return len;
	}
	if (!header_take(line, len, "x-generation-id", res->generation_id,
	                 sizeof(res->generation_id)) &&
	    !header_take(line, len, "retry-after", res->retry_after, sizeof(res->retry_after)))
		header_take(line, len, "content-type", res->content_type,
		            sizeof(res->content_type));
	return len;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct call *c = userdata;
	size_t len = size * nmemb;

	c->last_byte_us = clock_us();
	if (len == 0)
		return 0;
	if (c->cb->on_data && c->cb->on_data(c->arg, data, len) != 0) {
		c->aborted = true;
		return 0; /* makes curl fail the transfer with a write error */
	}
	return len;
}

/* Frees a header list after wiping it: it holds the bearer key. */
static void headers_free(struct curl_slist *h)
{
	for (struct curl_slist *i = h; i; i = i->next)
		sodium_memzero(i->data, strlen(i->data));
	curl_slist_free_all(h);
}

static aigw_rc setup(struct upstream *u, const struct upstream_request *rq, struct call *c,
                     struct curl_slist **hdrs, char *err)
{
	const struct aigw_conf *conf = u->conf;
	char url[2048];
	struct curl_slist *h = NULL;
	CURL *e = u->easy;

	if ((size_t)snprintf(url, sizeof(url), "%s%s", conf->upstream_url, rq->path) >= sizeof(url))
		return aigw_fail(err, AIGW_EINVAL, "upstream URL too long");

	/* No curl_easy_reset: it would free the handle's buffers, which every
	 * call would then allocate again. What differs per call is set here;
	 * the rest once, in upstream_new. */
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);

	if (rq->api_key && rq->api_key[0]) {
		char auth[640];
		int n = snprintf(auth, sizeof(auth), "Authorization: Bearer %s", rq->api_key);
		if (n < 0 || (size_t)n >= sizeof(auth)) {
			sodium_memzero(auth, sizeof(auth));
			return aigw_fail(err, AIGW_EINVAL, "upstream key too long");
		}
		h = curl_slist_append(h, auth);
		sodium_memzero(auth, sizeof(auth));
	}
	h = curl_slist_append(h, rq->stream ? "Accept: text/event-stream"
	                                    : "Accept: application/json");
	h = curl_slist_append(h, "Expect:");
	for (const char *const *x = rq->headers; x && *x; x++)
		h = curl_slist_append(h, *x);
	if (strcmp(rq->method, "POST") == 0) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		                 (curl_off_t)(rq->body ? rq->body_len : 0));
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L); /* undoes a previous POST */
	}
	if (!h)
		return aigw_fail(err, AIGW_EUPSTREAM, "upstream: out of memory for headers");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	*hdrs = h;
	return AIGW_OK;
}

/* Runs the transfer until done, aborted or timed out. */
static aigw_rc drive(struct upstream *u, struct call *c, char *err)
{
	const struct aigw_conf *conf = u->conf;
	long long first_byte_limit = (long long)conf->upstream_first_byte_timeout_ms * 1000;
	long long idle_limit = (long long)conf->upstream_idle_timeout_ms * 1000;
	long long last_tick = c->start_us;
	int running = 1;

	for (;;) {
		CURLMcode mc = curl_multi_perform(u->multi, &running);
		if (mc != CURLM_OK)
			return aigw_fail(err, AIGW_EUPSTREAM, "upstream: %s",
			                 curl_multi_strerror(mc));
		if (c->aborted)
			return aigw_fail(err, AIGW_EGONE, "upstream transfer aborted");
		if (!running)
			return AIGW_OK;

		long long t = clock_us();
		if (!c->res->headers_done && !c->res->first_byte_us &&
		    t - c->start_us > first_byte_limit)
			return aigw_fail(err, AIGW_ETIMEOUT, "upstream sent nothing within %d ms",
			                 conf->upstream_first_byte_timeout_ms);
		if (c->res->first_byte_us && t - c->last_byte_us > idle_limit)
			return aigw_fail(err, AIGW_ETIMEOUT, "upstream silent for %d ms",
			                 conf->upstream_idle_timeout_ms);
		if (t - last_tick >= TICK_MS * 1000LL) {
			last_tick = t;
			if (c->cb->on_tick &&
			    c->cb->on_tick(c->arg, (t - c->last_byte_us) / 1000)) {
				c->aborted = true;
				return aigw_fail(err, AIGW_EGONE, "upstream transfer aborted");
			}
		}
		int wait_ms = (int)(TICK_MS - (t - last_tick) / 1000);
		mc = curl_multi_poll(u->multi, NULL, 0, wait_ms > 0 ? wait_ms : 1, NULL);
		if (mc != CURLM_OK)
			return aigw_fail(err, AIGW_EUPSTREAM, "upstream: %s",
			                 curl_multi_strerror(mc));
	}
}

/* Maps the finished transfer's curl result to our codes. */
static aigw_rc transfer_result(struct upstream *u, char *err)
{
	int left = 0;
	CURLMsg *msg;

	while ((msg = curl_multi_info_read(u->multi, &left))) {
		if (msg->msg != CURLMSG_DONE || msg->easy_handle != u->easy)
			continue;
		CURLcode cc = msg->data.result;
		if (cc == CURLE_OK)
			return AIGW_OK;
		if (cc == CURLE_OPERATION_TIMEDOUT)
			return aigw_fail(err, AIGW_ETIMEOUT, "upstream: %s",
			                 curl_easy_strerror(cc));
		return aigw_fail(err, AIGW_EUPSTREAM, "upstream: %s", curl_easy_strerror(cc));
	}
	return aigw_fail(err, AIGW_EUPSTREAM, "upstream: transfer ended without a result");
}

aigw_rc upstream_call(struct upstream *u, const struct upstream_request *rq,
                      const struct upstream_callbacks *cb, void *arg, struct upstream_response *res,
                      char *err)
{
	struct call c = {.cb = cb, .arg = arg, .res = res, .easy = u->easy};
	struct curl_slist *hdrs = NULL;
	aigw_rc rc;

	memset(res, 0, sizeof(*res));
	c.start_us = c.last_byte_us = clock_us();
	rc = setup(u, rq, &c, &hdrs, err);
	if (rc != AIGW_OK)
		goto out;
	if (curl_multi_add_handle(u->multi, u->easy) != CURLM_OK) {
		rc = aigw_fail(err, AIGW_EUPSTREAM, "upstream: cannot start the transfer");
		goto out;
	}
	rc = drive(u, &c, err);
	if (rc == AIGW_OK)
		rc = transfer_result(u, err);
	else if (c.aborted)
		rc = AIGW_EGONE;
	/* Removing an unfinished transfer closes its connection: that is the
	 * abort the upstream sees. */
	curl_multi_remove_handle(u->multi, u->easy);
out:
	curl_easy_setopt(u->easy, CURLOPT_HTTPHEADER, NULL);
	headers_free(hdrs);
	return rc;
}
