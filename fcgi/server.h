/* One aigw.fcgi worker process: request threads looping on FCGX_Accept_r on
 * the listening socket, T of them always waiting and more started on demand
 * up to max_requests, and the main thread waiting for a stop signal. Used
 * directly when the web server spawned us (socket on fd 0) and by each
 * worker of the --listen pool. */
#ifndef AIGW_SERVER_H
#define AIGW_SERVER_H

#include <sys/types.h>

struct aigw_conf;
struct keyring;

struct server_opts {
	const struct aigw_conf *conf;  /* borrowed, read-only */
	const struct keyring *keyring; /* borrowed, read-only */
	int listen_fd;                 /* FastCGI listening socket */
	int threads;                   /* request threads kept waiting, >= 1 */
	int max_requests;              /* requests in flight (threads) at most */
	pid_t master_pid;              /* pool master to follow in death; 0 if none */
};

/* Installs the process's signal dispositions. Must run before FCGX_Init so
 * libfcgi keeps its hands off them (it only replaces default handlers):
 * SIGPIPE ignored (a gone client is a write error, not a death), and
 * handlers for the stop signals and the internal wake-up signal. */
void server_signals_install(void);

/* Runs the worker until SIGTERM, SIGINT or SIGUSR1 (libfcgi's "finish and
 * exit" signal): then stops accepting and lets in-flight requests run for
 * conf drain_timeout_s; those still running then are cut (each ends its
 * answer with an error and records its row) and get 10 s more, after which
 * the process exits anyway (_exit(0): rows not yet in the database are in
 * its journal). Returns 0, or 1 if no request thread could run. SIGHUP is
 * the pool master's (a reload); a worker ignores it. */
int server_run_worker(const struct server_opts *o);

#endif
