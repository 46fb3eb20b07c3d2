/* bench_client: the load generator of tests/bench/run, one epoll thread, only libc.
 * Two modes; every latency is measured from the time a request was SCHEDULED to be
 * sent, so a server (or this client) falling behind shows as latency instead of
 * silently lowering the offered load (no coordinated omission).
 *
 *   bench_client rate    --url URL [opts] --rate R --duration S [--conns C]
 *       open loop: request i is due at t0 + i/R; it goes out on an idle connection of
 *       at most C kept-alive ones (opened before t0), or waits in line for one.
 *       Prints p50/p99/p99.9/max of (response complete - due time).
 *   bench_client streams --url URL [opts] --streams N [--ramp-ms M] [--deltas K]
 *       N streaming requests, stream i due at t0 + i*M/N, each on its own connection.
 *       Prints time to first content event (from the due time), gaps between content
 *       events, stalls (gaps over --stall-ms), completions and errors.
 *
 * Common options: -H 'Name: value' (repeatable), --body JSON (POST; without it GET),
 * --timeout-s T (how long after the last due time unfinished work counts as failed),
 * --samples PREFIX (append raw microsecond samples to PREFIX.lat, or PREFIX.ttfe and
 * PREFIX.gap, so a driver can pool rounds), --expect TEXT (a 2xx answer must contain
 * it; rate mode). Only 127.0.0.0/8 targets are accepted.
 * Output: one line "RESULT key=value ..." on stdout (microseconds), details on stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define MAX_HEADERS 32
#define CAPTURE 2048

enum phase { P_HEAD, P_CL, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_CRLF, P_TRAILER, P_EOF };
enum cstate { C_CONNECTING, C_BUSY, C_IDLE, C_CLOSED };

struct conn {
	int fd;
	enum cstate st;
	size_t req_off;   /* bytes of the request written */
	int64_t due;      /* due time of the request in flight */
	bool reused;      /* a previous request completed on this connection */
	bool got_bytes;   /* some of the answer arrived */
	/* response parser */
	char *in;
	size_t in_len, in_cap;
	enum phase ph;
	int status;
	long long left; /* body or chunk bytes still to come */
	bool chunked, close_after;
	char capture[CAPTURE + 1];
	size_t cap_len;
	/* SSE (streams mode) */
	char *ev;
	size_t ev_len, ev_cap;
	int64_t last_content;
	int deltas;
	bool done_marker, error_event, finished;
};

struct samples {
	int64_t *v;
	size_t n, cap;
};

static struct {
	bool streams;
	struct sockaddr_in addr;
	char host[64], path[2048];
	const char *headers[MAX_HEADERS];
	int nheaders;
	const char *body, *expect, *samples;
	char *req;
	size_t req_len;
	double rate, duration, timeout_s;
	int conns, nstreams, ramp_ms, want_deltas, stall_ms;
} opt = {.rate = 100, .duration = 5, .timeout_s = 30, .conns = 1, .nstreams = 10,
         .stall_ms = 200};

static int ep, tfd;
static struct samples lat, ttfe, gaps;
static long long n_ok, n_err, n_err_status, n_err_connect, n_err_closed, n_err_timeout,
        n_err_expect, n_err_stream, n_stalls, n_events, n_incomplete;
static int printed_errors;

static void *xrealloc(void *p, size_t n)
{
	return bench_realloc("bench_client", p, n);
}

static void add_sample(struct samples *s, int64_t v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 4096;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = v;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* nearest-rank percentile of a sorted set; -1 when empty */
static long long pct(const struct samples *s, double q)
{
	if (s->n == 0)
		return -1;
	size_t r = (size_t)ceil(q * (double)s->n);
	if (r < 1)
		r = 1;
	if (r > s->n)
		r = s->n;
	return (long long)s->v[r - 1];
}

static void dump_samples(const struct samples *s, const char *suffix)
{
	char path[4096];
	FILE *f;
	if (!opt.samples)
		return;
	snprintf(path, sizeof path, "%s.%s", opt.samples, suffix);
	f = fopen(path, "a");
	if (!f) {
		fprintf(stderr, "bench_client: %s: %s\n", path, strerror(errno));
		return;
	}
	for (size_t i = 0; i < s->n; i++)
		fprintf(f, "%lld\n", (long long)s->v[i]);
	fclose(f);
}

static void note_error(struct conn *c, const char *what)
{
	if (printed_errors++ < 3)
		fprintf(stderr, "bench_client: error: %s (status %d) %.*s\n", what, c ? c->status : 0,
		        c ? (int)c->cap_len : 0, c ? c->capture : "");
}

/* ---- connections ---------------------------------------------------------------- */

static struct conn *conn_open(int64_t due)
{
	struct conn *c = calloc(1, sizeof *c);
	int one = 1;
	struct epoll_event ev;

	if (!c)
		return NULL;
	c->due = due;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		free(c);
		return NULL;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (struct sockaddr *)&opt.addr, sizeof opt.addr) < 0 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		free(c);
		return NULL;
	}
	c->st = C_CONNECTING;
	ev = (struct epoll_event){.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	return c;
}

static void conn_free(struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	free(c->in);
	free(c->ev);
	free(c);
}

static void reset_response(struct conn *c)
{
	c->ph = P_HEAD;
	c->status = 0;
	c->left = 0;
	c->chunked = c->close_after = false;
	c->cap_len = 0;
	c->got_bytes = false;
	c->ev_len = 0;
	c->deltas = 0;
	c->last_content = 0;
	c->done_marker = c->error_event = c->finished = false;
}

/* Writes the rest of the request; false on a write error. */
static bool send_more(struct conn *c)
{
	while (c->req_off < opt.req_len) {
		ssize_t n = write(c->fd, opt.req + c->req_off, opt.req_len - c->req_off);
		if (n > 0) {
			c->req_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP,
			                         .data.ptr = c};
			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			return true;
		}
		return false;
	}
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	return true;
}

static bool start_request(struct conn *c, int64_t due)
{
	reset_response(c);
	c->due = due;
	c->req_off = 0;
	c->st = C_BUSY;
	return send_more(c);
}

/* ---- SSE ---------------------------------------------------------------------- */

static void on_data_event(struct conn *c, const char *p, size_t n)
{
	int64_t t = now_us();
	if (n == 6 && memcmp(p, "[DONE]", 6) == 0) {
		c->done_marker = true;
		return;
	}
	n_events++;
	/* an error event: {"error":{...}} at the top */
	if (n > 9 && memmem(p, n < 16 ? n : 16, "\"error\"", 7)) {
		c->error_event = true;
		if (printed_errors++ < 3)
			fprintf(stderr, "bench_client: error event: %.*s\n", (int)(n < 300 ? n : 300),
			        p);
		return;
	}
	const char *k = memmem(p, n, "\"content\":\"", 11);
	if (!k || k + 11 >= p + n || k[11] == '"')
		return; /* role-only, usage or other non-content chunk */
	if (c->deltas == 0) {
		add_sample(&ttfe, t - c->due);
	} else {
		int64_t g = t - c->last_content;
		add_sample(&gaps, g);
		if (g > (int64_t)opt.stall_ms * 1000)
			n_stalls++;
	}
	c->last_content = t;
	c->deltas++;
}

/* Splits the body text into events (blank-line separated) and reads their data lines. */
static void sse_feed(struct conn *c, const char *p, size_t n)
{
	if (c->ev_len + n > c->ev_cap) {
		size_t cap = c->ev_cap ? c->ev_cap : 4096;
		while (cap < c->ev_len + n)
			cap *= 2;
		c->ev = xrealloc(c->ev, cap);
		c->ev_cap = cap;
	}
	memcpy(c->ev + c->ev_len, p, n);
	c->ev_len += n;
	size_t start = 0;
	for (;;) {
		char *e = memmem(c->ev + start, c->ev_len - start, "\n\n", 2);
		if (!e)
			break;
		char *line = c->ev + start, *end = e + 1;
		while (line < end) {
			char *nl = memchr(line, '\n', (size_t)(end - line));
			size_t len = (size_t)(nl - line);
			if (len && line[len - 1] == '\r')
				len--;
			if (len >= 5 && memcmp(line, "data:", 5) == 0) {
				const char *d = line + 5;
				size_t dl = len - 5;
				if (dl && *d == ' ')
					d++, dl--;
				on_data_event(c, d, dl);
			}
			line = nl + 1;
		}
		start = (size_t)(e - c->ev) + 2;
	}
	memmove(c->ev, c->ev + start, c->ev_len - start);
	c->ev_len -= start;
}

static void on_body(struct conn *c, const char *p, size_t n)
{
	if (c->cap_len < CAPTURE) {
		size_t k = n < CAPTURE - c->cap_len ? n : CAPTURE - c->cap_len;
		memcpy(c->capture + c->cap_len, p, k);
		c->cap_len += k;
		c->capture[c->cap_len] = '\0';
	}
	if (opt.streams)
		sse_feed(c, p, n);
}

/* ---- completion ------------------------------------------------------------------ */

static int streams_started, streams_finished, rate_due_total, rate_sent, rate_done;
static int64_t t0;
static struct conn **idle;
static int nidle, nconns;
static int64_t *queue; /* due times waiting for a connection (rate mode) */
static int q_head, q_len;

static void dispatch(void);

static void response_done(struct conn *c)
{
	int64_t t = now_us();
	bool ok = c->status >= 200 && c->status < 300;

	if (opt.streams) {
		streams_finished++;
		if (!ok) {
			n_err_status++;
			note_error(c, "stream status");
		} else if (c->error_event) {
			n_err_stream++;
		} else if (!c->done_marker || (opt.want_deltas && c->deltas != opt.want_deltas)) {
			n_incomplete++;
			if (printed_errors++ < 3)
				fprintf(stderr,
				        "bench_client: stream incomplete: %d deltas, [DONE] %s\n",
				        c->deltas, c->done_marker ? "seen" : "missing");
		} else {
			n_ok++;
		}
		c->finished = true;
		c->st = C_CLOSED;
		return;
	}
	rate_done++;
	if (!ok) {
		n_err_status++;
		note_error(c, "status");
	} else if (opt.expect && !strstr(c->capture, opt.expect)) {
		n_err_expect++;
		note_error(c, "answer lacks the expected text");
	} else {
		n_ok++;
		add_sample(&lat, t - c->due);
	}
	c->reused = true;
	if (c->close_after) {
		c->st = C_CLOSED;
	} else {
		c->st = C_IDLE;
		idle[nidle++] = c;
	}
}

/* The connection broke (or the server closed it). */
static void conn_failed(struct conn *c)
{
	if (c->st == C_BUSY || c->st == C_CONNECTING) {
		if (c->ph == P_EOF && c->got_bytes) {
			c->close_after = true; /* the close ended the body: done, and gone */
			response_done(c);
			c->st = C_CLOSED;
			return;
		} else if (opt.streams) {
			streams_finished++;
			n_err_closed++;
			note_error(c, c->st == C_CONNECTING ? "connect failed" : "connection closed");
		} else {
			rate_done++;
			if (c->st == C_CONNECTING)
				n_err_connect++;
			else
				n_err_closed++;
			note_error(c, c->st == C_CONNECTING ? "connect failed" : "connection closed");
		}
	}
	if (c->st == C_IDLE) {
		for (int i = 0; i < nidle; i++)
			if (idle[i] == c) {
				idle[i] = idle[--nidle];
				break;
			}
	}
	c->st = C_CLOSED;
}

/* ---- response parsing ------------------------------------------------------------- */

/* Consumes what it can of c->in; returns false when the response is malformed. */
static bool parse(struct conn *c)
{
	size_t pos = 0;
	for (;;) {
		char *b = c->in + pos;
		size_t avail = c->in_len - pos;
		if (c->st != C_BUSY)
			break;
		if (c->ph == P_HEAD) {
			char *he = memmem(b, avail, "\r\n\r\n", 4);
			if (!he) {
				if (avail > 65536)
					return false;
				break;
			}
			size_t hl = (size_t)(he - b) + 4;
			if (avail < 12 || memcmp(b, "HTTP/1.", 7) != 0)
				return false;
			c->status = atoi(b + 9);
			long long clen = -1;
			char *line = memmem(b, hl, "\r\n", 2) + 2;
			while (line < he) {
				char *eol = memmem(line, (size_t)(he + 2 - line), "\r\n", 2);
				char *colon = memchr(line, ':', (size_t)(eol - line));
				if (colon) {
					size_t kl = (size_t)(colon - line);
					char *v = colon + 1;
					while (*v == ' ')
						v++;
					if (kl == 14 && strncasecmp(line, "content-length", 14) == 0)
						clen = atoll(v);
					else if (kl == 17 &&
					         strncasecmp(line, "transfer-encoding", 17) == 0)
						c->chunked = strncasecmp(v, "chunked", 7) == 0;
					else if (kl == 10 && strncasecmp(line, "connection", 10) == 0)
						c->close_after = strncasecmp(v, "close", 5) == 0;
				}
				line = eol + 2;
			}
			pos += hl;
			if (c->status >= 100 && c->status < 200) {
				c->chunked = false; /* 100 Continue: the real head follows */
				continue;
			}
			if (c->chunked) {
				c->ph = P_CHUNK_SIZE;
			} else if (clen >= 0) {
				c->ph = P_CL;
				c->left = clen;
				if (clen == 0) {
					pos += 0;
					response_done(c);
					break;
				}
			} else {
				c->ph = P_EOF;
			}
			continue;
		}
		if (c->ph == P_CL || c->ph == P_CHUNK_DATA || c->ph == P_EOF) {
			if (avail == 0)
				break;
			size_t k = avail;
			if (c->ph != P_EOF && (long long)k > c->left)
				k = (size_t)c->left;
			on_body(c, b, k);
			pos += k;
			if (c->ph == P_EOF)
				continue;
			c->left -= (long long)k;
			if (c->left == 0) {
				if (c->ph == P_CL) {
					response_done(c);
					break;
				}
				c->ph = P_CHUNK_CRLF;
			}
			continue;
		}
		if (c->ph == P_CHUNK_CRLF) {
			if (avail < 2)
				break;
			if (b[0] != '\r' || b[1] != '\n')
				return false;
			pos += 2;
			c->ph = P_CHUNK_SIZE;
			continue;
		}
		if (c->ph == P_CHUNK_SIZE) {
			char *eol = memmem(b, avail, "\r\n", 2);
			if (!eol)
				break;
			char *e;
			long long sz = strtoll(b, &e, 16);
			if (e == b || sz < 0)
				return false;
			pos += (size_t)(eol - b) + 2;
			if (sz == 0) {
				c->ph = P_TRAILER;
			} else {
				c->ph = P_CHUNK_DATA;
				c->left = sz;
			}
			continue;
		}
		if (c->ph == P_TRAILER) {
			char *eol = memmem(b, avail, "\r\n", 2);
			if (!eol)
				break;
			pos += (size_t)(eol - b) + 2;
			if (eol == b) {
				response_done(c);
				break;
			}
			continue;
		}
	}
	memmove(c->in, c->in + pos, c->in_len - pos);
	c->in_len -= pos;
	return true;
}

static void on_event(struct conn *c, uint32_t events)
{
	if (c->st == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof err;
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			conn_failed(c);
			return;
		}
		/* rate mode pre-opens idle connections (due 0); the rest send at once */
		if (!opt.streams && c->due == 0) {
			c->st = C_IDLE;
			struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			idle[nidle++] = c;
			return;
		}
		if (!start_request(c, c->due))
			conn_failed(c);
		return;
	}
	if ((events & EPOLLOUT) && c->st == C_BUSY && c->req_off < opt.req_len) {
		if (!send_more(c)) {
			conn_failed(c);
			return;
		}
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		for (;;) {
			if (c->in_cap - c->in_len < 16384) {
				c->in_cap = c->in_cap ? 2 * c->in_cap : 32768;
				c->in = xrealloc(c->in, c->in_cap);
			}
			ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
			if (n > 0) {
				c->in_len += (size_t)n;
				if (c->st == C_BUSY)
					c->got_bytes = true;
				if (c->st != C_BUSY) {
					c->in_len = 0; /* bytes nobody asked for */
					continue;
				}
				if (!parse(c)) {
					note_error(c, "malformed response");
					conn_failed(c);
					return;
				}
				if (c->st != C_BUSY)
					return; /* answered; anything more is read when asked for */
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			conn_failed(c); /* EOF or reset */
			return;
		}
	}
}

/* One wait of at most 100 ms, and every event it brings handed on; the
 * timer's (data.ptr NULL) only wakes the loop: its caller checks what is due. */
static void pump(struct epoll_event *evs, int max)
{
	int n = epoll_wait(ep, evs, max, 100);

	for (int i = 0; i < n; i++) {
		if (evs[i].data.ptr == NULL) {
			uint64_t x;
			if (read(tfd, &x, sizeof x) < 0) {
				/* spurious: the due times are checked by the caller */
			}
		} else {
			on_event(evs[i].data.ptr, evs[i].events);
		}
	}
}

/* ---- rate mode --------------------------------------------------------------------- */

static void dispatch(void)
{
	while (q_len > 0 && nidle > 0) {
		struct conn *c = idle[--nidle];
		int64_t due = queue[q_head];
		q_head = (q_head + 1) % rate_due_total;
		q_len--;
		rate_sent++;
		if (!start_request(c, due))
			conn_failed(c);
	}
	/* replace connections the server closed, up to --conns */
	while (q_len > 0 && nconns < opt.conns) {
		int64_t due = queue[q_head];
		struct conn *c = conn_open(due);
		q_head = (q_head + 1) % rate_due_total;
		q_len--;
		rate_sent++;
		if (!c) {
			rate_done++;
			n_err_connect++;
			continue;
		}
		nconns++;
	}
}

static void arm(int64_t at)
{
	struct itimerspec its = {0};
	if (at <= 0)
		at = 1;
	its.it_value.tv_sec = at / 1000000;
	its.it_value.tv_nsec = (at % 1000000) * 1000;
	timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Runs the event loop until done() or the deadline; closed connections are freed. */
static struct conn **all;
static int nall, all_cap;

static void track(struct conn *c)
{
	if (nall == all_cap) {
		all_cap = all_cap ? 2 * all_cap : 1024;
		all = xrealloc(all, (size_t)all_cap * sizeof *all);
	}
	all[nall++] = c;
}

static void reap(void)
{
	int j = 0;
	for (int i = 0; i < nall; i++) {
		struct conn *c = all[i];
		if (c->st == C_CLOSED || c->finished) {
			if (!opt.streams)
				nconns--;
			conn_free(c);
		} else {
			all[j++] = c;
		}
	}
	nall = j;
}

static int run_rate(void)
{
	struct epoll_event evs[256];
	int64_t interval, deadline, next_due;
	int due_i = 0;

	rate_due_total = (int)(opt.rate * opt.duration + 0.5);
	if (rate_due_total < 1)
		rate_due_total = 1;
	queue = xrealloc(NULL, (size_t)rate_due_total * sizeof *queue);
	idle = xrealloc(NULL, (size_t)(opt.conns + 1) * sizeof *idle);
	interval = (int64_t)(1e6 / opt.rate);

	/* keep-alive connections opened before the clock starts: the measurement is the
	 * request, not the TCP handshake */
	for (int i = 0; i < opt.conns; i++) {
		struct conn *c = conn_open(0);
		if (!c) {
			fprintf(stderr, "bench_client: cannot connect\n");
			return 1;
		}
		track(c);
		nconns++;
	}
	int64_t until = now_us() + 5000000;
	while (nidle < opt.conns && now_us() < until) {
		pump(evs, 256);
		reap();
		if (nconns < opt.conns)
			break;
	}
	if (nidle < opt.conns) {
		fprintf(stderr, "bench_client: could not open %d connections to %s\n", opt.conns,
		        opt.host);
		return 1;
	}

	t0 = now_us() + 1000;
	next_due = t0;
	deadline = t0 + (int64_t)(opt.duration * 1e6) + (int64_t)(opt.timeout_s * 1e6);
	arm(next_due);
	while (rate_done < rate_due_total) {
		int64_t now = now_us();
		if (now > deadline)
			break;
		pump(evs, 256);
		now = now_us();
		while (due_i < rate_due_total && t0 + (int64_t)due_i * interval <= now) {
			queue[(q_head + q_len) % rate_due_total] = t0 + (int64_t)due_i * interval;
			q_len++;
			due_i++;
		}
		reap();
		dispatch();
		if (due_i < rate_due_total)
			arm(t0 + (int64_t)due_i * interval);
	}
	n_err_timeout = rate_due_total - rate_done;
	n_err = n_err_status + n_err_connect + n_err_closed + n_err_timeout + n_err_expect;
	qsort(lat.v, lat.n, sizeof *lat.v, cmp64);
	dump_samples(&lat, "lat");
	double secs = (double)(now_us() - t0) / 1e6;
	printf("RESULT mode=rate due=%d ok=%lld errors=%lld p50=%lld p99=%lld p999=%lld max=%lld "
	       "rate=%.1f achieved=%.1f\n",
	       rate_due_total, n_ok, n_err, pct(&lat, 0.50), pct(&lat, 0.99), pct(&lat, 0.999),
	       lat.n ? (long long)lat.v[lat.n - 1] : -1LL, opt.rate, (double)n_ok / secs);
	if (n_err)
		fprintf(stderr,
		        "bench_client: errors: status %lld, connect %lld, closed %lld, timeout %lld, "
		        "unexpected answer %lld\n",
		        n_err_status, n_err_connect, n_err_closed, n_err_timeout, n_err_expect);
	return 0;
}

/* ---- streams mode ------------------------------------------------------------------ */

static int run_streams(void)
{
	struct epoll_event evs[512];
	int64_t step, deadline, start_deadline;
	int next = 0;

	t0 = now_us() + 1000;
	step = opt.nstreams > 1 ? (int64_t)opt.ramp_ms * 1000 / opt.nstreams : 0;
	start_deadline = t0 + (int64_t)opt.ramp_ms * 1000;
	deadline = start_deadline + (int64_t)(opt.timeout_s * 1e6);
	arm(t0);
	while (streams_finished < opt.nstreams) {
		int64_t now = now_us();
		if (now > deadline)
			break;
		pump(evs, 512);
		now = now_us();
		while (next < opt.nstreams && t0 + next * step <= now) {
			struct conn *c = conn_open(t0 + next * step);
			next++;
			streams_started++;
			if (!c) {
				streams_finished++;
				n_err_connect++;
				note_error(NULL, "cannot open a socket");
				continue;
			}
			track(c);
		}
		reap();
		if (next < opt.nstreams)
			arm(t0 + next * step);
	}
	n_err_timeout = opt.nstreams - streams_finished;
	n_err = n_err_status + n_err_connect + n_err_closed + n_err_timeout + n_err_stream +
	        n_incomplete;
	qsort(ttfe.v, ttfe.n, sizeof *ttfe.v, cmp64);
	qsort(gaps.v, gaps.n, sizeof *gaps.v, cmp64);
	dump_samples(&ttfe, "ttfe");
	dump_samples(&gaps, "gap");
	printf("RESULT mode=streams streams=%d completed=%lld errors=%lld ttfe_p50=%lld "
	       "ttfe_p99=%lld ttfe_max=%lld gap_p50=%lld gap_p99=%lld gap_max=%lld stalls=%lld "
	       "events=%lld\n",
	       opt.nstreams, n_ok, n_err, pct(&ttfe, 0.50), pct(&ttfe, 0.99),
	       ttfe.n ? (long long)ttfe.v[ttfe.n - 1] : -1LL, pct(&gaps, 0.50), pct(&gaps, 0.99),
	       gaps.n ? (long long)gaps.v[gaps.n - 1] : -1LL, n_stalls, n_events);
	if (n_err)
		fprintf(stderr,
		        "bench_client: errors: status %lld, connect %lld, closed %lld, timeout %lld, "
		        "error event %lld, incomplete %lld\n",
		        n_err_status, n_err_connect, n_err_closed, n_err_timeout, n_err_stream,
		        n_incomplete);
	return 0;
}

/* ---- setup ------------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
	        "usage: bench_client rate --url URL --rate R --duration S [--conns C] [opts]\n"
	        "       bench_client streams --url URL --streams N [--ramp-ms M] [--deltas K]\n"
	        "                    [--stall-ms G] [opts]\n"
	        "opts: -H 'Name: value' --body JSON --timeout-s T --samples PREFIX --expect TEXT\n");
	exit(2);
}

static void parse_url(const char *url)
{
	const char *p, *slash, *colon;
	char host[64];
	int port = 80;

	if (strncmp(url, "http://", 7) != 0)
		usage();
	p = url + 7;
	slash = strchr(p, '/');
	if (!slash)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	size_t hl = (size_t)((colon ? colon : slash) - p);
	if (hl == 0 || hl >= sizeof host)
		usage();
	memcpy(host, p, hl);
	host[hl] = '\0';
	if (colon)
		port = atoi(colon + 1);
	snprintf(opt.host, sizeof opt.host, "%.*s", (int)(slash - p), p);
	snprintf(opt.path, sizeof opt.path, "%s", *slash ? slash : "/");
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	opt.addr.sin_family = AF_INET;
	opt.addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &opt.addr.sin_addr) != 1 ||
	    (ntohl(opt.addr.sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "bench_client: only 127.0.0.0/8 targets: %s\n", url);
		exit(2);
	}
}

static void build_request(void)
{
	size_t cap = 4096 + (opt.body ? strlen(opt.body) : 0);
	bool has_ct = false;
	for (int i = 0; i < opt.nheaders; i++) {
		cap += strlen(opt.headers[i]) + 2;
		if (strncasecmp(opt.headers[i], "content-type:", 13) == 0)
			has_ct = true;
	}
	opt.req = xrealloc(NULL, cap);
	size_t n = (size_t)snprintf(opt.req, cap,
	                            "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: aigw-bench\r\n"
	                            "Accept: */*\r\n",
	                            opt.body ? "POST" : "GET", opt.path, opt.host);
	if (opt.body) {
		if (!has_ct)
			n += (size_t)snprintf(opt.req + n, cap - n, "Content-Type: application/json\r\n");
		n += (size_t)snprintf(opt.req + n, cap - n, "Content-Length: %zu\r\n",
		                      strlen(opt.body));
	}
	for (int i = 0; i < opt.nheaders; i++)
		n += (size_t)snprintf(opt.req + n, cap - n, "%s\r\n", opt.headers[i]);
	n += (size_t)snprintf(opt.req + n, cap - n, "\r\n%s", opt.body ? opt.body : "");
	opt.req_len = n;
}

int main(int argc, char **argv)
{
	const char *url = NULL;
	struct rlimit rl;
	struct epoll_event ev;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "streams") == 0)
		opt.streams = true;
	else if (strcmp(argv[1], "rate") != 0)
		usage();
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		i++;
		if (strcmp(a, "--url") == 0)
			url = v;
		else if (strcmp(a, "-H") == 0 && opt.nheaders < MAX_HEADERS)
			opt.headers[opt.nheaders++] = v;
		else if (strcmp(a, "--body") == 0)
			opt.body = v;
		else if (strcmp(a, "--expect") == 0)
			opt.expect = v;
		else if (strcmp(a, "--samples") == 0)
			opt.samples = v;
		else if (strcmp(a, "--rate") == 0)
			opt.rate = atof(v);
		else if (strcmp(a, "--duration") == 0)
			opt.duration = atof(v);
		else if (strcmp(a, "--timeout-s") == 0)
			opt.timeout_s = atof(v);
		else if (strcmp(a, "--conns") == 0)
			opt.conns = atoi(v);
		else if (strcmp(a, "--streams") == 0)
			opt.nstreams = atoi(v);
		else if (strcmp(a, "--ramp-ms") == 0)
			opt.ramp_ms = atoi(v);
		else if (strcmp(a, "--deltas") == 0)
			opt.want_deltas = atoi(v);
		else if (strcmp(a, "--stall-ms") == 0)
			opt.stall_ms = atoi(v);
		else
			usage();
	}
	if (!url || opt.rate <= 0 || opt.duration <= 0 || opt.conns < 1 || opt.conns > 10000 ||
	    opt.nstreams < 1 || opt.nstreams > 100000 || opt.ramp_ms < 0 || opt.timeout_s <= 0 ||
	    opt.rate * opt.duration > 1e7)
		usage();
	parse_url(url);
	build_request();
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	return opt.streams ? run_streams() : run_rate();
}
