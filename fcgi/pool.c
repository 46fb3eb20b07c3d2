/* The --listen pool master (see pool.h). It never serves requests and holds
 * no database connection: it only forks, reaps, restarts and stops workers,
 * so it has almost nothing that can fail. */
#include "config.h"

#include "pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "conffile.h"
#include "keyring.h"
#include "log.h"
#include "server.h"

/* A stopping worker drains for conf drain_timeout_s, then cuts what still
 * runs and gives it 10 s (server.h); past that and this margin, SIGKILL. */
#define KILL_MARGIN_MS 15000
/* A worker dying sooner than this after its start is restarted after a pause,
 * so a crash at startup does not become a fork loop. */
#define QUICK_DEATH_MS 1000
#define RESTART_DELAY_MS 1000

struct slot {
	pid_t pid;         /* 0: not running */
	long long started; /* ms, monotonic */
	long long restart_at;
};

/* Workers of an earlier configuration, draining after a reload. */
struct draining {
	pid_t *pids;
	long long *kill_at; /* ms, monotonic */
	size_t n, cap;
};

static long long now_ms(void)
{
	return clock_us() / 1000;
}

static long long kill_after_ms(const struct aigw_conf *conf)
{
	return (long long)conf->drain_timeout_s * 1000 + KILL_MARGIN_MS;
}

/* HOST:PORT when the text after the last ':' is a port and the host part
 * has no '/'; anything else is a unix socket path. */
static bool parse_tcp(const char *spec, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(spec, ':');
	char *end;
	long p;

	if (colon == NULL || colon == spec || strchr(spec, '/') != NULL)
		return false;
	if (colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return false;
	p = strtol(colon + 1, &end, 10);
	if (p < 1 || p > 65535 || (size_t)(colon - spec) >= hostlen)
		return false;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	*port = (int)p;
	return true;
}

static int listen_tcp(const char *spec, const char *host, int port, char *err)
{
	struct sockaddr_in sa;
	const char *web = getenv("FCGI_WEB_SERVER_ADDRS");
	int fd, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	if (strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		aigw_fail(err, AIGW_EINVAL, "%s: host must be an IPv4 address", spec);
		return -1;
	}
	/* libfcgi has no authentication: anyone who can connect can send
	 * requests (and Debian's build carries only part of CVE-2025-23016's fix). */
	if ((ntohl(sa.sin_addr.s_addr) >> 24) != 127 && (web == NULL || web[0] == '\0')) {
		aigw_fail(err, AIGW_EINVAL,
		          "%s: refusing a non-loopback address without FCGI_WEB_SERVER_ADDRS",
		          spec);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		aigw_fail(err, AIGW_EIO, "%s: socket: %s", spec, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, SOMAXCONN) != 0) {
		aigw_fail(err, AIGW_EIO, "%s: %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* An existing socket file is stale if nobody accepts on it. */
static int clear_stale_socket(const char *path, const struct sockaddr_un *sa, char *err)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		aigw_fail(err, AIGW_EIO, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		aigw_fail(err, AIGW_EINVAL, "%s exists and is not a socket", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		aigw_fail(err, AIGW_EIO, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (rc == 0) {
		aigw_fail(err, AIGW_EEXIST, "%s: another server is listening on it", path);
		return -1;
	}
	log_info("removing stale socket %s", path);
	if (unlink(path) != 0 && errno != ENOENT) {
		aigw_fail(err, AIGW_EIO, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int listen_unix(const char *path, char *err)
{
	struct sockaddr_un sa;
	mode_t old_umask;
	int fd, rc;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		aigw_fail(err, AIGW_EINVAL, "%s: socket path longer than %zu bytes", path,
		          sizeof(sa.sun_path) - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	if (clear_stale_socket(path, &sa, err) != 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		aigw_fail(err, AIGW_EIO, "socket: %s", strerror(errno));
		return -1;
	}
	/* Born 0660: only the web server's group may connect, from the start. */
	old_umask = umask(0117);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (rc != 0 || chmod(path, 0660) != 0 || listen(fd, SOMAXCONN) != 0) {
		aigw_fail(err, AIGW_EIO, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int pool_listen(const char *spec, char **unix_path, char *err)
{
	char host[256];
	int port, fd;

	*unix_path = NULL;
	if (spec == NULL || spec[0] == '\0') {
		aigw_fail(err, AIGW_EINVAL, "empty --listen address");
		return -1;
	}
	if (parse_tcp(spec, host, sizeof(host), &port))
		return listen_tcp(spec, host, port, err);
	fd = listen_unix(spec, err);
	if (fd >= 0)
		*unix_path = xstrdup(spec);
	return fd;
}

static void spawn(struct slot *s, const struct server_opts *opts)
{
	pid_t pid = fork();

	if (pid < 0) {
		log_error("fork: %s; retrying in %d ms", strerror(errno), RESTART_DELAY_MS);
		s->pid = 0;
		s->restart_at = (clock_us() / 1000) + RESTART_DELAY_MS;
		return;
	}
	if (pid == 0) {
		/* The worker: never returns into the master's loop. _exit, not
		 * exit: the master's atexit handlers and stdio are not ours. */
		_exit(server_run_worker(opts));
	}
	s->pid = pid;
	s->started = clock_us() / 1000;
	log_info("worker %ld started", (long)pid);
}

static void describe_exit(pid_t pid, int status)
{
	if (WIFEXITED(status))
		log_info("worker %ld exited with status %d", (long)pid, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_warn("worker %ld killed by signal %d", (long)pid, WTERMSIG(status));
}

/* Reaps dead workers; when not stopping, schedules their restart. A
 * draining worker of an earlier configuration is only forgotten. Returns
 * how many of slots are still running. */
static int reap(struct slot *slots, int n, struct draining *old, bool stopping)
{
	int status, i, live = 0;
	pid_t pid;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			break;
		for (size_t k = 0; k < old->n; k++) {
			if (old->pids[k] != pid)
				continue;
			describe_exit(pid, status);
			old->pids[k] = old->pids[old->n - 1];
			old->kill_at[k] = old->kill_at[old->n - 1];
			old->n--;
			break;
		}
		for (i = 0; i < n; i++) {
			if (slots[i].pid != pid)
				continue;
			describe_exit(pid, status);
			slots[i].pid = 0;
			slots[i].restart_at = now_ms();
			if (!stopping && now_ms() - slots[i].started < QUICK_DEATH_MS) {
				log_warn("worker %ld died within %d ms of its start; restarting "
				         "in %d ms",
				         (long)pid, QUICK_DEATH_MS, RESTART_DELAY_MS);
				slots[i].restart_at += RESTART_DELAY_MS;
			}
		}
	}
	for (i = 0; i < n; i++)
		if (slots[i].pid != 0)
			live++;
	return live;
}

/* Removes the socket file only if it is still the one we bound (a newer
 * pool may have replaced it). */
static void remove_socket(const char *path, const struct stat *ours)
{
	struct stat st;

	if (lstat(path, &st) == 0 && st.st_ino == ours->st_ino && st.st_dev == ours->st_dev)
		unlink(path);
}

/* Moves the running workers of slots to old, to drain (they were sent
 * SIGTERM), with their SIGKILL time. */
static void retire_all(struct slot *slots, int n, struct draining *old, long long kill_at)
{
	for (int i = 0; i < n; i++) {
		if (slots[i].pid == 0)
			continue;
		kill(slots[i].pid, SIGTERM);
		if (old->n == old->cap) {
			old->cap = old->cap ? old->cap * 2 : 8;
			old->pids = xrealloc(old->pids, old->cap * sizeof(*old->pids));
			old->kill_at = xrealloc(old->kill_at, old->cap * sizeof(*old->kill_at));
		}
		old->pids[old->n] = slots[i].pid;
		old->kill_at[old->n] = kill_at;
		old->n++;
		slots[i].pid = 0;
	}
}

/* SIGKILLs the draining workers past their time. */
static void kill_late(struct draining *old)
{
	for (size_t k = 0; k < old->n; k++) {
		if (old->kill_at[k] && now_ms() >= old->kill_at[k]) {
			log_warn("worker %ld still running after its drain; killing it",
			         (long)old->pids[k]);
			kill(old->pids[k], SIGKILL);
			old->kill_at[k] = 0;
		}
	}
}

/* Reads the configuration and keyring again into *conf and *kr. On any
 * error the running ones stay (logged) and false is returned. */
static bool reload(const char *config_path, struct aigw_conf *conf, struct keyring *kr)
{
	struct aigw_conf fresh;
	struct keyring fresh_kr;
	char err[AIGW_ERRLEN];

	conf_defaults(&fresh);
	if (conf_load(&fresh, config_path, err) != AIGW_OK) {
		log_error("reload refused: configuration: %s; the running workers stay", err);
		conf_free(&fresh);
		return false;
	}
	memset(&fresh_kr, 0, sizeof(fresh_kr));
	if (keyring_load(&fresh_kr, fresh.keyring, err) != AIGW_OK) {
		log_error("reload refused: keyring: %s; the running workers stay", err);
		conf_free(&fresh);
		return false;
	}
	conf_free(conf);
	*conf = fresh;
	keyring_free(kr);
	*kr = fresh_kr;
	log_set_level((enum log_level)log_level_parse(conf->log_level));
	return true;
}

int pool_run(struct aigw_conf *conf, struct keyring *keyring, const char *config_path,
             const char *spec, int workers_override, int threads_override)
{
	struct server_opts opts;
	struct slot *slots;
	struct draining old = {0};
	struct stat sock_st;
	char err[AIGW_ERRLEN];
	char *unix_path = NULL;
	sigset_t set;
	bool stopping = false;
	int fd, i, workers;

	fd = pool_listen(spec, &unix_path, err);
	if (fd < 0) {
		log_error("cannot listen: %s", err);
		return 1;
	}
	memset(&sock_st, 0, sizeof(sock_st));
	if (unix_path != NULL)
		lstat(unix_path, &sock_st);

	/* Signals are collected synchronously: no handler races with the loop. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);

	memset(&opts, 0, sizeof(opts));
	opts.conf = conf;
	opts.keyring = keyring;
	opts.listen_fd = fd;
	opts.threads = threads_override ? threads_override : conf->threads;
	opts.max_requests = conf->max_requests;
	opts.master_pid = getpid();
	workers = workers_override ? workers_override : conf->workers;

	log_info("pool listening on %s: %d workers, each up to %d requests in flight (%d threads "
	         "kept waiting)",
	         spec, workers, conf->max_requests, opts.threads);
	slots = xcalloc((size_t)workers, sizeof(*slots));
	for (i = 0; i < workers; i++)
		spawn(&slots[i], &opts);

	for (;;) {
		struct timespec tick = {0, 200 * 1000 * 1000};
		int sig = sigtimedwait(&set, NULL, &tick);
		int live;

		if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
			log_info("signal %d: stopping %d workers (each drains for up to %d s)", sig,
			         workers, conf->drain_timeout_s);
			stopping = true;
			retire_all(slots, workers, &old, now_ms() + kill_after_ms(conf));
		} else if (sig == SIGHUP && !stopping) {
			/* The draining workers keep the configuration they had; new
			 * ones start with the file as it is now. */
			long long kill_at = now_ms() + kill_after_ms(conf);
			if (reload(config_path, conf, keyring)) {
				retire_all(slots, workers, &old, kill_at);
				free(slots);
				opts.threads = threads_override ? threads_override : conf->threads;
				opts.max_requests = conf->max_requests;
				workers = workers_override ? workers_override : conf->workers;
				slots = xcalloc((size_t)workers, sizeof(*slots));
				log_info("reload: %zu workers drain, %d start with %s", old.n, workers,
				         config_path);
				for (i = 0; i < workers; i++)
					spawn(&slots[i], &opts);
			}
		} else if (sig == SIGUSR1) {
			log_info("signal %d ignored (SIGHUP reloads, SIGTERM stops)", sig);
		}
		live = reap(slots, workers, &old, stopping);
		kill_late(&old);
		if (stopping) {
			if (live == 0 && old.n == 0)
				break;
			continue;
		}
		for (i = 0; i < workers; i++)
			if (slots[i].pid == 0 && now_ms() >= slots[i].restart_at)
				spawn(&slots[i], &opts);
	}

	close(fd);
	if (unix_path != NULL)
		remove_socket(unix_path, &sock_st);
	free(unix_path);
	free(slots);
	free(old.pids);
	free(old.kill_at);
	log_info("pool stopped");
	return 0;
}
