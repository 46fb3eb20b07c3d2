# shellcheck shell=bash disable=SC2034,SC2153
# deploy/lib/pool.sh: the aigw.fcgi pool (aigw.fcgi --listen DIR/run/aigw.sock)
# that lighttpd and Apache mod_proxy_fcgi connect to.
# Sourced by deploy/stack; uses DIR RUN LOGD CONF KEYRING FCGI WEB_USER from it.

POOL_WORKERS=${AIGW_POOL_WORKERS:-2}
POOL_THREADS=${AIGW_POOL_THREADS:-16}

pool_vars() {
	POOL_SOCK=$RUN/aigw.sock
	POOL_PIDFILE=$RUN/aigw.pid
	POOL_FP=$RUN/aigw.fp
	# The binary's directory is left out: a pool started from another build is
	# still this stack's (and gets restarted, its fingerprint differing).
	POOL_MATCH="aigw.fcgi --config $CONF --listen $POOL_SOCK "
}

pool_pid() { pid_of "$POOL_PIDFILE" "$POOL_MATCH"; }

# What the running pool depends on: restart it when this changes.
pool_fingerprint() {
	printf '%s %s %s\n' "$(fingerprint "$FCGI" "$CONF" "$KEYRING")" "$POOL_WORKERS" "$POOL_THREADS"
}

pool_socket_ready() { [ -S "$POOL_SOCK" ]; }

pool_start() {
	local pid fp
	fp=$(pool_fingerprint)
	if pid=$(pool_pid); then
		if [ "$(cat "$POOL_FP" 2>/dev/null)" = "$fp" ] && [ -S "$POOL_SOCK" ]; then
			say "aigw pool is running (pid $pid, $POOL_SOCK)"
			pool_socket_access
			return 0
		fi
		say "aigw.fcgi, aigw.conf or the keyring changed: restarting the pool"
		pool_stop
	fi
	[ ${#POOL_SOCK} -lt 108 ] || die "socket path too long for a unix socket (max 107): $POOL_SOCK; use a shorter --dir"
	say "starting the aigw pool: $POOL_WORKERS workers x $POOL_THREADS threads on $POOL_SOCK"
	start_bg "$POOL_PIDFILE" "$LOGD/aigw.log" \
		"$FCGI" --config "$CONF" --listen "$POOL_SOCK" \
		--workers "$POOL_WORKERS" --threads "$POOL_THREADS"
	read -r pid <"$POOL_PIDFILE"
	if ! wait_alive "$pid" 20 pool_socket_ready; then
		tail -n 20 "$LOGD/aigw.log" >&2
		die "the aigw pool did not start (log: $LOGD/aigw.log)"
	fi
	printf '%s\n' "$fp" >"$POOL_FP"
	pool_socket_access
}

# The socket is born 0660 root:root; the web server's group may connect.
pool_socket_access() {
	chgrp "$WEB_GROUP" "$POOL_SOCK"
	chmod 0660 "$POOL_SOCK"
	need_web_access -w "$POOL_SOCK" "the aigw pool's socket"
}

pool_stop() {
	# The master stops its workers on SIGTERM; streams in flight may need a moment.
	stop_pid "$POOL_PIDFILE" "$POOL_MATCH" "the aigw pool" 30
	rm -f "$POOL_FP"
}
