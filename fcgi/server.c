/* A worker process: request threads looping on FCGX_Accept_r without an
 * accept mutex (Linux needs none), started on demand so that a few are
 * always waiting, up to max_requests; each serves one request at a time and
 * borrows one of the worker's few database connections only for a
 * statement or a transaction. A spawner thread starts threads off the
 * request path; the main thread only waits for signals and runs the
 * graceful stop. */
#include "config.h"

#include "server.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <sodium.h>

#include "alloc.h"
#include "auth.h"
#include "body.h"
#include "clock.h"
#include "conffile.h"
#include "context.h"
#include "db.h"
#include "dispatch.h"
#include "fcgi_io.h"
#include "log.h"
#include "request.h"
#include "response.h"
#include "services.h"
#include "upstream.h"

/* After the drain (conf drain_timeout_s) cut the requests still running,
 * they get this long to answer their error and journal their rows. */
#define CUT_GRACE_MS 10000
/* Usage rows not yet in the database get this long at the end; what is
 * left stays in the journal for the next process. */
#define USAGE_FLUSH_AT_STOP_MS 5000
/* Sent to idle threads to break them out of accept() when stopping. */
#define WAKE_SIGNAL SIGUSR2
/* accept() returns after this long without a request (SO_RCVTIMEO on the
 * listening socket), so that an idle thread can end when it is surplus. */
#define IDLE_WAKE_S 1
/* A refused body is read and dropped up to this much (see fcgi_drain_input). */
#define REFUSED_BODY_DRAIN (16 * 1024 * 1024)
/* A request thread's stack: the deepest path (the strict JSON reader at
 * its nesting limit, cJSON, libcurl, the MariaDB client) uses a fraction;
 * only touched pages cost memory. Sanitizers need much more. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define THREAD_STACK_BYTES (4 * 1024 * 1024)
#else
#define THREAD_STACK_BYTES (512 * 1024)
#endif

enum thread_state { TS_IDLE = 0, TS_BUSY };

struct worker;

struct worker_thread {
	pthread_t tid;
	_Atomic int state;
	struct worker *w;
	struct worker_thread *prev, *next; /* the worker's list, under w->mu */
};

struct worker {
	const struct server_opts *o;
	struct services *svc;
	pthread_attr_t attr;
	pthread_mutex_t mu;         /* the list, n_threads, spawn requests */
	pthread_cond_t changed;     /* a spawn is needed, or a thread ended */
	struct worker_thread *list; /* every running request thread */
	int n_threads;
	atomic_int n_idle;    /* threads waiting in accept (or about to) */
	atomic_int to_retire; /* threads asked to end after their request */
	int spare;            /* idle threads to keep ready */
	int max_threads;      /* = max_requests */
	bool warned_full;
	atomic_bool stopping;
};

static void on_stop_signal(int sig)
{
	/* Stop signals are blocked and collected with sigtimedwait; this handler
	 * exists so the disposition is not "default" (libfcgi) or "ignore"
	 * (an ignored signal is discarded, even when blocked). */
	(void)sig;
}

static void on_wake_signal(int sig)
{
	(void)sig;
}

void server_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	sa.sa_handler = on_stop_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);

	/* No SA_RESTART: accept() must return EINTR so libfcgi notices the
	 * shutdown flag. */
	sa.sa_handler = on_wake_signal;
	sigaction(WAKE_SIGNAL, &sa, NULL);
}

/* The asynchronous signals the process handles; synchronous ones (SIGSEGV...)
 * are never blocked so crashes still reach the sanitizers and core dumps. */
static void handled_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGCHLD);
	sigaddset(set, WAKE_SIGNAL);
}

static void handle_request(struct thread_ctx *ctx, FCGX_Request *fr)
{
	const struct aigw_conf *conf = ctx->conf;
	struct request req;
	struct response resp;
	struct buf body;
	char err[AIGW_ERRLEN] = "";
	long long t0 = clock_us();
	aigw_rc rc;

	memset(&req, 0, sizeof(req));
	fcgi_read_params(fr, &req);
	log_set_request_id(req.request_id);
	response_init(&resp, &fcgi_sink_ops, fr, req.request_id, conf->cors_origin);

	/* The body comes first: 413 is decided before routing, whatever the path. */
	rc = body_read(fcgi_body_read, fr->in, request_param(&req, "CONTENT_LENGTH"),
	               conf->max_body_bytes, &body, err);
	req.start_us = clock_us();
	if (rc == AIGW_OK) {
		if (body.len > 0) {
			req.body = body.data;
			req.body_len = body.len;
		} else {
			buf_free(&body);
		}
		dispatch(ctx, &req, &resp);
	} else {
		if (body.data != NULL)
			sodium_memzero(body.data, body.len);
		buf_free(&body);
		response_error(&resp, rc == AIGW_ETOOBIG ? 413 : 400, NULL, NULL, "%s", err);
		if (rc == AIGW_ETOOBIG) {
			FCGX_FFlush(fr->out);
			fcgi_drain_input(fr->in, REFUSED_BODY_DRAIN);
		}
	}
	response_finish(&resp);

	log_info("%s %s %d %lldus%s", req.method_name, req.path, resp.status, clock_us() - t0,
	         response_client_gone(&resp) ? " client-gone" : "");
	response_free(&resp);
	request_free(&req);
	log_set_request_id(NULL);
}

/* Errors from accept() that pass (descriptor or memory pressure). */
static bool transient_accept_error(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM || e == EINTR ||
	       e == EAGAIN;
}

/* Asks the spawner for threads when fewer than w->spare wait in accept. */
static void want_threads(struct worker *w, int idle)
{
	if (idle >= w->spare)
		return;
	pthread_mutex_lock(&w->mu);
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->mu);
}

/* Whether a thread that just finished a request, or waited a second for one
 * (IDLE_WAKE_S), should end instead of waiting again: the spawner asked for
 * that many to end (retire_surplus). */
static bool surplus(struct worker *w)
{
	int n = atomic_load(&w->to_retire);

	while (n > 0)
		if (atomic_compare_exchange_weak(&w->to_retire, &n, n - 1))
			return true;
	return false;
}

static void thread_leave(struct worker_thread *t)
{
	struct worker *w = t->w;

	pthread_mutex_lock(&w->mu);
	if (t->prev)
		t->prev->next = t->next;
	else
		w->list = t->next;
	if (t->next)
		t->next->prev = t->prev;
	w->n_threads--;
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->mu);
	free(t);
}

static void *thread_main(void *arg)
{
	struct worker_thread *t = arg;
	struct worker *w = t->w;
	struct thread_ctx *ctx;
	FCGX_Request fr;
	sigset_t wake;

	/* Stop signals stay blocked (inherited from the main thread, which
	 * collects them); only the wake-up signal is let in, around accept. */
	sigemptyset(&wake);
	sigaddset(&wake, WAKE_SIGNAL);

	ctx = thread_ctx_new(w->o->conf, w->o->keyring, w->svc);

	/* Counted idle by the spawner from its start. */
	FCGX_InitRequest(&fr, w->o->listen_fd, 0);
	for (;;) {
		int rc;

		/* The wake signal may only interrupt accept(), never a request:
		 * it is blocked while one is being served. */
		atomic_store(&t->state, TS_IDLE);
		pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
		if (atomic_load(&w->stopping))
			break;
		rc = FCGX_Accept_r(&fr);
		pthread_sigmask(SIG_BLOCK, &wake, NULL);
		if (rc < 0) {
			if (atomic_load(&w->stopping))
				break;
			if (rc == -EAGAIN || rc == -EWOULDBLOCK) {
				/* The listening socket's receive timeout: a second without
				 * a request. A surplus thread ends now, idle. */
				if (surplus(w))
					break;
				continue;
			}
			if (transient_accept_error(-rc)) {
				log_warn("accept failed: %s; retrying", strerror(-rc));
				usleep(100 * 1000);
				continue;
			}
			log_error("accept failed: %s (%d); request thread ending",
			          rc > -10000 && rc < -9000 ? "libfcgi error" : strerror(-rc), rc);
			break;
		}
		atomic_store(&t->state, TS_BUSY);
		want_threads(w, atomic_fetch_sub(&w->n_idle, 1) - 1);
		handle_request(ctx, &fr);
		FCGX_Finish_r(&fr);
		if (surplus(w)) {
			FCGX_Free(&fr, 1);
			thread_ctx_free(ctx);
			thread_leave(t);
			return NULL;
		}
		atomic_fetch_add(&w->n_idle, 1);
	}
	atomic_fetch_sub(&w->n_idle, 1);
	FCGX_Free(&fr, 1);
	thread_ctx_free(ctx);
	thread_leave(t);
	return NULL;
}

/* Starts one request thread; under w->mu. */
static bool start_thread(struct worker *w)
{
	struct worker_thread *t = xcalloc(1, sizeof(*t));
	int e;

	t->w = w;
	atomic_init(&t->state, TS_IDLE);
	t->next = w->list;
	if (w->list)
		w->list->prev = t;
	w->list = t;
	w->n_threads++;
	atomic_fetch_add(&w->n_idle, 1);
	e = pthread_create(&t->tid, &w->attr, thread_main, t);
	if (e == 0)
		return true;
	log_error("cannot start a request thread (%d running): %s", w->n_threads - 1, strerror(e));
	atomic_fetch_sub(&w->n_idle, 1);
	w->n_threads--;
	w->list = t->next;
	if (w->list)
		w->list->prev = NULL;
	free(t);
	return false;
}

/* Once a second: when more than twice the spare threads have been waiting,
 * asks the surplus to end (each after its next request, or its next second
 * without one). Done on a clock, not by each thread as it finishes, so that
 * a steady load does not end threads only to start them again a moment
 * later, while a burst's threads are gone within seconds of its end. */
static void retire_surplus(struct worker *w, long long *last_us)
{
	long long now = clock_us();
	int excess;

	if (now - *last_us < 1000000)
		return;
	*last_us = now;
	excess = atomic_load(&w->n_idle) - 2 * w->spare;
	atomic_store(&w->to_retire, excess > 0 ? excess : 0);
}

/* Keeps w->spare threads waiting in accept, up to max_threads in all, so
 * that a request never waits for a thread to be made; trims the surplus
 * once a second. */
static void *spawner_main(void *arg)
{
	struct worker *w = arg;
	long long last_trim = clock_us();

	pthread_mutex_lock(&w->mu);
	while (!atomic_load(&w->stopping)) {
		struct timespec until;
		bool failed = false;

		while (atomic_load(&w->n_idle) < w->spare && w->n_threads < w->max_threads &&
		       !atomic_load(&w->stopping)) {
			if (!start_thread(w)) {
				failed = true;
				break;
			}
		}
		if (atomic_load(&w->n_idle) < w->spare && w->n_threads >= w->max_threads &&
		    !w->warned_full) {
			log_warn("%d requests in flight: max_requests reached; new requests wait "
			         "for one to end",
			         w->n_threads);
			w->warned_full = true;
		}
		if (w->n_threads < w->max_threads)
			w->warned_full = false;
		retire_surplus(w, &last_trim);
		/* Out of memory or of tasks: try again in a while; else at the
		 * next trim, or when asked. */
		until = clock_deadline_us((failed ? 100 : 1000) * 1000LL);
		pthread_cond_timedwait(&w->changed, &w->mu, &until);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static int count_busy(struct worker *w)
{
	int n = 0;

	pthread_mutex_lock(&w->mu);
	for (struct worker_thread *t = w->list; t; t = t->next)
		n += atomic_load(&t->state) == TS_BUSY;
	pthread_mutex_unlock(&w->mu);
	return n;
}

/* Stops accepting and waits for in-flight requests for conf
 * drain_timeout_s; then cuts those still running (each answers an error and
 * records its row) and gives them CUT_GRACE_MS. Idle threads sit in
 * accept() or in a read on a kept-alive connection: the wake signal
 * interrupts that, and libfcgi's shutdown flag makes Accept return -1. The
 * signal is repeated because it can land just before the thread blocks. */
static void stop_threads(struct worker *w, const pthread_t *spawner)
{
	long long cut_at = clock_us() + (long long)w->o->conf->drain_timeout_s * 1000000LL;
	long long deadline = cut_at + CUT_GRACE_MS * 1000LL;
	bool cut = false;

	atomic_store(&w->stopping, true);
	FCGX_ShutdownPending();
	pthread_mutex_lock(&w->mu);
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->mu);
	if (spawner)
		pthread_join(*spawner, NULL);
	log_info("stopping: %d requests in flight", count_busy(w));
	for (;;) {
		int live;

		pthread_mutex_lock(&w->mu);
		live = w->n_threads;
		/* A thread in the list has not left yet: it may be signalled. */
		for (struct worker_thread *t = w->list; t; t = t->next)
			if (atomic_load(&t->state) == TS_IDLE)
				pthread_kill(t->tid, WAKE_SIGNAL);
		pthread_mutex_unlock(&w->mu);
		if (live == 0)
			break;
		if (!cut && clock_us() >= cut_at && w->svc) {
			log_warn("%d requests still running at the end of the drain (drain_timeout_s "
			         "%d); cutting them",
			         count_busy(w), w->o->conf->drain_timeout_s);
			services_cut_requests(w->svc);
			cut = true;
		}
		if (clock_us() > deadline) {
			/* Their rows, if any, are in the journal for the next process. */
			log_warn("%d requests still running %d s after they were cut; exiting anyway",
			         count_busy(w), CUT_GRACE_MS / 1000);
			_exit(0);
		}
		usleep(50 * 1000);
	}
}

int server_run_worker(const struct server_opts *o)
{
	const struct aigw_conf *conf = o->conf;
	struct worker w;
	sigset_t handled, stop;
	pthread_t spawner;
	int e, rc = 0;

	handled_signals(&handled);
	pthread_sigmask(SIG_BLOCK, &handled, NULL);
	if (o->master_pid != 0) {
		/* A worker must not outlive its master: nobody would stop it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != o->master_pid) {
			log_error("pool master %ld is gone; worker exiting", (long)o->master_pid);
			return 0;
		}
	}

	memset(&w, 0, sizeof(w));
	w.o = o;
	w.spare = o->threads > 0 ? o->threads : 1;
	w.max_threads = o->max_requests > w.spare ? o->max_requests : w.spare;
	atomic_init(&w.stopping, false);
	atomic_init(&w.n_idle, 0);
	atomic_init(&w.to_retire, 0);
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.changed, NULL);
	pthread_attr_init(&w.attr);
	pthread_attr_setdetachstate(&w.attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&w.attr, THREAD_STACK_BYTES);
	w.svc = services_start(conf);
	if (!w.svc) {
		rc = 1;
		goto out;
	}

	/* Shared by every worker and harmless to set again. */
	if (setsockopt(o->listen_fd, SOL_SOCKET, SO_RCVTIMEO,
	               &(struct timeval){.tv_sec = IDLE_WAKE_S}, sizeof(struct timeval)) != 0)
		log_warn("cannot set the listening socket's timeout (%s): idle threads past the "
		         "spare ones end only after a request",
		         strerror(errno));
	pthread_mutex_lock(&w.mu);
	while (w.n_threads < w.spare && start_thread(&w))
		;
	pthread_mutex_unlock(&w.mu);
	if (w.n_threads == 0) {
		rc = 1;
		goto out;
	}
	/* (n_threads is the spawner's once it runs) */
	log_info("worker ready: %d request threads waiting, up to %d requests in flight, %d "
	         "database connections",
	         w.n_threads, w.max_threads, conf->db_connections);
	e = pthread_create(&spawner, NULL, spawner_main, &w);
	if (e != 0) {
		log_error("cannot start the spawner thread: %s", strerror(e));
		stop_threads(&w, NULL);
		rc = 1;
		goto out;
	}

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGUSR1);
	while (rc == 0) {
		struct timespec tick = {1, 0};
		int sig = sigtimedwait(&stop, NULL, &tick);
		int live;

		if (sig == SIGTERM || sig == SIGINT || sig == SIGUSR1) {
			log_info("signal %d: stopping", sig);
			break;
		}
		if (sig == SIGHUP)
			log_info("SIGHUP ignored by a worker (send it to the pool master to reload, or "
			         "reload the web server that spawned aigw)");
		pthread_mutex_lock(&w.mu);
		live = w.n_threads;
		pthread_mutex_unlock(&w.mu);
		if (live == 0) {
			log_error("every request thread ended; worker exiting");
			rc = 1;
		}
	}
	stop_threads(&w, &spawner);
out:
	/* Usage still queued gets what is left of the drain. */
	services_stop(w.svc, USAGE_FLUSH_AT_STOP_MS);
	pthread_attr_destroy(&w.attr);
	pthread_cond_destroy(&w.changed);
	pthread_mutex_destroy(&w.mu);
	log_info("worker stopped");
	return rc;
}
