/* A worker process: request threads looping on FCGX_Accept_r without an
 * accept mutex (Linux needs none), each owning its database connection, and
 * a main thread that only waits for signals and runs the graceful stop. */
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
#include "upstream.h"

/* How long in-flight requests get after a stop signal. */
#define DRAIN_TIMEOUT_MS 10000
/* Sent to idle threads to break them out of accept() when stopping. */
#define WAKE_SIGNAL SIGUSR2
/* A refused body is read and dropped up to this much (see fcgi_drain_input). */
#define REFUSED_BODY_DRAIN (16 * 1024 * 1024)

enum thread_state { TS_IDLE = 0, TS_BUSY, TS_DONE };

struct worker;

struct worker_thread {
	pthread_t tid;
	bool running; /* pthread_create succeeded */
	_Atomic int state;
	struct worker *w;
};

struct worker {
	const struct server_opts *o;
	struct worker_thread *threads;
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

	ctx = thread_ctx_new(w->o->conf, w->o->keyring);

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
		handle_request(ctx, &fr);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
	thread_ctx_free(ctx);
	atomic_store(&t->state, TS_DONE);
	return NULL;
}

static int count_state(const struct worker *w, int state)
{
	int i, n = 0;

	for (i = 0; i < w->o->threads; i++)
		if (w->threads[i].running && atomic_load(&w->threads[i].state) == state)
			n++;
	return n;
}

static int count_live(const struct worker *w)
{
	int i, n = 0;

	for (i = 0; i < w->o->threads; i++)
		if (w->threads[i].running && atomic_load(&w->threads[i].state) != TS_DONE)
			n++;
	return n;
}

/* Stops accepting and waits (bounded) for in-flight requests. Idle threads
 * sit in accept() or in a read on a kept-alive connection: the wake signal
 * interrupts that, and libfcgi's shutdown flag makes Accept return -1. The
 * signal is repeated because it can land just before the thread blocks. */
static void stop_threads(struct worker *w)
{
	long long deadline = clock_us() + DRAIN_TIMEOUT_MS * 1000LL;
	int i;

	atomic_store(&w->stopping, true);
	FCGX_ShutdownPending();
	log_info("stopping: %d requests in flight", count_state(w, TS_BUSY));
	while (count_live(w) > 0) {
		if (clock_us() > deadline) {
			log_warn("%d requests still running after %d s; exiting anyway",
			         count_state(w, TS_BUSY), DRAIN_TIMEOUT_MS / 1000);
			_exit(0);
		}
		for (i = 0; i < w->o->threads; i++)
			if (w->threads[i].running && atomic_load(&w->threads[i].state) == TS_IDLE)
				pthread_kill(w->threads[i].tid, WAKE_SIGNAL);
		usleep(50 * 1000);
	}
	for (i = 0; i < w->o->threads; i++)
		if (w->threads[i].running)
			pthread_join(w->threads[i].tid, NULL);
}

int server_run_worker(const struct server_opts *o)
{
	struct worker w;
	sigset_t handled, stop;
	int i, started = 0, rc = 0;

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
	atomic_init(&w.stopping, false);
	w.threads = xcalloc((size_t)o->threads, sizeof(*w.threads));
	for (i = 0; i < o->threads; i++) {
		int e;

		w.threads[i].w = &w;
		atomic_init(&w.threads[i].state, TS_IDLE);
		e = pthread_create(&w.threads[i].tid, NULL, thread_main, &w.threads[i]);
		if (e != 0) {
			log_error("cannot start request thread %d: %s", i, strerror(e));
			continue;
		}
		w.threads[i].running = true;
		started++;
	}
	if (started == 0) {
		free(w.threads);
		return 1;
	}
	log_info("worker ready: %d request threads", started);

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGUSR1);
	for (;;) {
		struct timespec tick = {1, 0};
		int sig = sigtimedwait(&stop, NULL, &tick);

		if (sig == SIGTERM || sig == SIGINT || sig == SIGUSR1) {
			log_info("signal %d: stopping", sig);
			break;
		}
		if (sig == SIGHUP)
			log_info("SIGHUP ignored (restart the pool to reload the configuration)");
		if (count_live(&w) == 0) {
			log_error("every request thread ended; worker exiting");
			rc = 1;
			break;
		}
	}
	stop_threads(&w);
	free(w.threads);
	log_info("worker stopped");
	return rc;
}
