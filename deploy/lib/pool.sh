# shellcheck shell=bash disable=SC2034,SC2153
# deploy/lib/pool.sh: the aigw.fcgi pool (aigw.fcgi --listen
# DIR/run/aigw/aigw.sock) that lighttpd and Apache mod_proxy_fcgi connect to,
# run as the unprivileged system account aigw.
# Sourced by deploy/stack; uses DIR RUN LOGD CONF KEYRING FCGI WEB_USER from it.

POOL_WORKERS=${AIGW_POOL_WORKERS:-2}
POOL_THREADS=${AIGW_POOL_THREADS:-16}
POOL_USER=${AIGW_POOL_USER:-aigw}
POOL_GROUP=$POOL_USER

pool_vars() {
	# The pool's own directory: it makes its socket there as POOL_USER; the
	# web server's group may enter it.
	POOL_RUN=$RUN/aigw
	POOL_SOCK=$POOL_RUN/aigw.sock
	POOL_PIDFILE=$RUN/aigw.pid
	POOL_FP=$RUN/aigw.fp
	# The binary's directory and the socket are left out: a pool started from
	# another build or by an older stack is still this stack's (and gets
	# restarted, its fingerprint differing).
	POOL_MATCH="aigw.fcgi --config $CONF --listen "
	# The account aigw.fcgi runs as: mod_fcgid spawns it as the web server's.
	if [ "$SERVER" = apache-fcgid ]; then
		FCGI_USER=$WEB_USER FCGI_GROUP=$WEB_GROUP
	else
		FCGI_USER=$POOL_USER FCGI_GROUP=$POOL_GROUP
	fi
}

# Creates the pool's system account (and its group) once.
pool_user_ensure() {
	id -u "$POOL_USER" >/dev/null 2>&1 && return 0
	say "creating the system account $POOL_USER for the aigw pool"
	local group=(--user-group)
	getent group "$POOL_GROUP" >/dev/null && group=(--gid "$POOL_GROUP")
	useradd --system "${group[@]}" --home-dir /nonexistent --no-create-home \
		--shell /usr/sbin/nologin --comment "aigw FastCGI pool" "$POOL_USER" ||
		die "could not create the system account $POOL_USER (useradd)"
}

pool_pid() { pid_of "$POOL_PIDFILE" "$POOL_MATCH"; }

# What the running pool depends on: restart it when this changes.
pool_fingerprint() {
	printf '%s %s %s %s %s\n' "$(fingerprint "$FCGI" "$CONF" "$KEYRING")" "$POOL_WORKERS" \
		"$POOL_THREADS" "$POOL_USER" "$POOL_SOCK"
}

pool_socket_ready() { [ -S "$POOL_SOCK" ]; }

pool_start() {
	local pid fp nofile
	fp=$(pool_fingerprint)
	if pid=$(pool_pid); then
		if [ "$(cat "$POOL_FP" 2>/dev/null)" = "$fp" ] && [ -S "$POOL_SOCK" ]; then
			say "aigw pool is running (pid $pid, $POOL_SOCK)"
			pool_socket_access
			return 0
		fi
		say "aigw.fcgi, aigw.conf, the keyring or the pool's account changed: restarting the pool"
		pool_stop
	fi
	[ ${#POOL_SOCK} -lt 108 ] || die "socket path too long for a unix socket (max 107): $POOL_SOCK; use a shorter --dir"
	need_access "$POOL_USER" -r "$CONF" "aigw.conf"
	need_access "$POOL_USER" -r "$KEYRING" "the keyring"
	need_access "$POOL_USER" -w "$DB_SOCK" "the MariaDB socket"
	install -d -o "$POOL_USER" -g "$WEB_GROUP" -m 0750 "$POOL_RUN"
	rm -f "$POOL_SOCK" "$RUN/aigw.sock"
	nofile=$(limits_nofile)
	say "starting the aigw pool as $POOL_USER: $POOL_WORKERS workers x $POOL_THREADS threads on $POOL_SOCK (up to $nofile descriptors each)"
	# prlimit and setpriv exec (no process in between, so the pid is the
	# master's): the pool gets the descriptor limit for thousands of sockets
	# (limits.sh), runs as POOL_USER with its groups, without capabilities, and
	# can never gain privileges (no setuid).
	start_bg "$POOL_PIDFILE" "$LOGD/aigw.log" \
		prlimit --nofile="$nofile:$nofile" -- setpriv --reuid="$POOL_USER" --regid="$POOL_GROUP" --init-groups --no-new-privs \
		--inh-caps=-all --bounding-set=-all -- \
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

# The socket is born 0660 with the pool's group; the web server's group may
# connect.
pool_socket_access() {
	chgrp "$WEB_GROUP" "$POOL_SOCK"
	chmod 0660 "$POOL_SOCK"
	need_web_access -w "$POOL_SOCK" "the aigw pool's socket"
}

pool_stop() {
	# The master stops its workers on SIGTERM; each lets its requests run for
	# drain_timeout_s, then cuts them (an error event, their rows) within
	# 10 s more.
	local drain
	drain=$(conf_value drain_timeout_s 600)
	[[ "$drain" =~ ^[0-9]+$ ]] || drain=600
	stop_pid "$POOL_PIDFILE" "$POOL_MATCH" "the aigw pool" $((drain + 30))
	rm -f "$POOL_FP"
}

# A graceful reload: the master reads aigw.conf and the keyring again and
# starts new workers; the old ones drain. Fails when no pool runs.
pool_reload() {
	local pid
	pid=$(pool_pid) || die "the aigw pool is not running (deploy/stack up)"
	say "reloading the aigw pool (pid $pid): new workers take new requests, old ones drain"
	kill -HUP "$pid"
}

# The usage journal's directory (aigw.conf journal_dir): the account that
# runs aigw.fcgi only.
journal_dir_ensure() {
	install -d -o "$FCGI_USER" -g "$FCGI_GROUP" -m 0700 "$JOURNAL_DIR"
	chown -R "$FCGI_USER:$FCGI_GROUP" "$JOURNAL_DIR"
}
