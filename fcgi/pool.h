/* The --listen process pool: a master that opens the FastCGI socket,
 * preforks worker processes (server_run_worker), restarts any that die,
 * replaces them all on SIGHUP (a graceful reload) and stops them all on
 * SIGTERM/SIGINT. For web servers that connect to an
 * external FastCGI socket (Apache mod_proxy_fcgi, lighttpd without
 * bin-path, nginx). */
#ifndef AIGW_POOL_H
#define AIGW_POOL_H

#include "error.h"

struct aigw_conf;
struct keyring;

/* Opens the listening socket for spec: a unix socket path (a stale socket
 * file is replaced, a live one refused; mode 0660) or HOST:PORT (loopback
 * only, unless FCGI_WEB_SERVER_ADDRS restricts the peers). *unix_path gets
 * the path to unlink at exit (NULL for TCP; caller frees). Returns the fd or
 * -1 with err set. */
int pool_listen(const char *spec, char **unix_path, char *err);

/* Runs the master until SIGTERM/SIGINT, which every worker drains from
 * (server.h); returns the process exit status. SIGHUP reloads: conf and
 * keyring are read again from config_path (on an error the running ones
 * stay), new workers start with them and take new requests, and the old
 * ones drain their requests and end. conf and keyring are the master's,
 * replaced in place at a reload. workers_override / threads_override, when
 * not 0, win over the configuration (the command line's). Returns in the
 * master only: workers never come back from it. */
int pool_run(struct aigw_conf *conf, struct keyring *keyring, const char *config_path,
             const char *spec, int workers_override, int threads_override);

#endif
