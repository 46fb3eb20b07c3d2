# shellcheck shell=bash disable=SC2034,SC2153
# deploy/lib/web.sh: the web server on 127.0.0.1:PORT: lighttpd or Apache
# (mod_proxy_fcgi to the pool, or mod_fcgid spawning aigw.fcgi), each from a
# template of deploy/ rendered into DIR.
# Sourced by deploy/stack; uses ROOT DIR RUN LOGD PORT SERVER CONF KEYRING
# BINDIR FCGI WEB_USER WEB_GROUP and the pool's variables from it.

APACHE_MODDIR=/usr/lib/apache2/modules
FCGID_MAXPROCS=${AIGW_FCGID_MAXPROCS:-8}

web_vars() {
	LIGHTTPD_CONF=$DIR/lighttpd.conf
	LIGHTTPD_PIDFILE=$RUN/lighttpd.pid
	LIGHTTPD_MATCH="-f $LIGHTTPD_CONF "
	APACHE_DIR=$DIR/apache
	APACHE_CONF=$APACHE_DIR/httpd.conf
	APACHE_PIDFILE=$RUN/apache.pid
	APACHE_MATCH="-f $APACHE_CONF "
	WEB_FP=$RUN/web.fp
}

lighttpd_pid() { pid_of "$LIGHTTPD_PIDFILE" "$LIGHTTPD_MATCH"; }
apache_pid() { pid_of "$APACHE_PIDFILE" "$APACHE_MATCH"; }

# Prints the kind of web server running for this DIR (lighttpd, or the
# apache kind it was started as), or nothing.
web_running_kind() {
	if lighttpd_pid >/dev/null; then
		echo lighttpd
	elif apache_pid >/dev/null; then
		sed -n 's/^kind //p' "$WEB_FP" 2>/dev/null | head -n 1 | grep . || echo apache
	fi
}

# Error bodies for answers the web server makes itself, in the gateway's shape.
web_error_docs() {
	local d=$DIR/www/errors
	mkdir -p "$d"
	chmod 0755 "$DIR/www" "$d"
	printf '{"error":{"message":"%s","type":"%s","param":null,"code":%s}}\n' \
		"request body too large" invalid_request_error 413 >"$d/413.json.new"
	printf '{"error":{"message":"%s","type":"%s","param":null,"code":%s}}\n' \
		"internal error in the web server" server_error 500 >"$d/500.json.new"
	printf '{"error":{"message":"%s","type":"%s","param":null,"code":%s}}\n' \
		"bad answer from the gateway process" upstream_error 502 >"$d/502.json.new"
	printf '{"error":{"message":"%s","type":"%s","param":null,"code":%s}}\n' \
		"the gateway process is not available" service_unavailable 503 >"$d/503.json.new"
	printf '{"error":{"message":"%s","type":"%s","param":null,"code":%s}}\n' \
		"the gateway process did not answer in time" upstream_error 504 >"$d/504.json.new"
	local f
	for f in "$d"/*.json.new; do
		# lighttpd's server.errorfile-prefix wants NNN.html (served as JSON there).
		cp "$f" "${f%.json.new}.html.new"
	done
	for f in "$d"/*.new; do
		install_if_changed "$f" "${f%.new}" 0644 || true
	done
}

# Renders the configuration of SERVER into DIR; sets WEB_CONF.
web_render() {
	local new
	case "$SERVER" in
	lighttpd)
		WEB_CONF=$LIGHTTPD_CONF
		new=$WEB_CONF.new
		render "$ROOT/deploy/lighttpd/aigw.conf.in" "$new" \
			DIR="$DIR" PORT="$PORT" SOCKET="$POOL_SOCK" USER="$WEB_USER" GROUP="$WEB_GROUP"
		;;
	apache)
		WEB_CONF=$APACHE_CONF
		new=$WEB_CONF.new
		mkdir -p "$APACHE_DIR"
		render "$ROOT/deploy/apache/aigw-proxy-fcgi.conf.in" "$new" \
			DIR="$DIR" PORT="$PORT" SOCKET="$POOL_SOCK" USER="$WEB_USER" GROUP="$WEB_GROUP" \
			MODDIR="$APACHE_MODDIR"
		;;
	apache-fcgid)
		WEB_CONF=$APACHE_CONF
		new=$WEB_CONF.new
		mkdir -p "$APACHE_DIR"
		render "$ROOT/deploy/apache/aigw-fcgid.conf.in" "$new" \
			DIR="$DIR" PORT="$PORT" BINDIR="$BINDIR" CONFIG="$CONF" USER="$WEB_USER" \
			GROUP="$WEB_GROUP" MODDIR="$APACHE_MODDIR" MAXPROCS="$FCGID_MAXPROCS"
		;;
	esac
	install_if_changed "$new" "$WEB_CONF" 0644 || true
}

# What the running web server depends on: its kind and configuration, and
# under apache-fcgid also what the aigw.fcgi processes it spawned load.
web_fingerprint() {
	printf 'kind %s\n' "$SERVER"
	if [ "$SERVER" = apache-fcgid ]; then
		printf 'fp %s\n' "$(fingerprint "$WEB_CONF" "$FCGI" "$CONF" "$KEYRING")"
	else
		printf 'fp %s\n' "$(fingerprint "$WEB_CONF")"
	fi
}

# Stops whichever web server runs for DIR, if its kind or fingerprint is not
# the wanted one.
web_stop_if_stale() {
	local kind
	kind=$(web_running_kind)
	[ -n "$kind" ] || return 0
	if [ "$kind" != "$SERVER" ]; then
		say "$kind is running for this directory; replacing it by $SERVER"
	elif [ "$(cat "$WEB_FP" 2>/dev/null)" != "$(web_fingerprint)" ]; then
		say "the $SERVER configuration changed: restarting it"
	else
		return 0
	fi
	web_stop
}

web_stop() {
	stop_pid "$LIGHTTPD_PIDFILE" "$LIGHTTPD_MATCH" lighttpd 20
	stop_pid "$APACHE_PIDFILE" "$APACHE_MATCH" Apache 30
	fcgid_leftovers_stop
	rm -f "$WEB_FP"
}

# mod_fcgid's reload: a graceful Apache restart (its aigw.fcgi processes are
# replaced as they finish their requests).
web_reload() {
	apache_pid >/dev/null || die "Apache is not running (deploy/stack up)"
	say "reloading Apache ($SERVER) gracefully"
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C apache2 -f "$APACHE_CONF" -k graceful \
		</dev/null >>"$LOGD/apache-start.log" 2>&1 9>&- || die "Apache refused the graceful restart"
}

# mod_fcgid stops the aigw.fcgi processes it spawned when Apache stops; any it
# left behind are found by their AIGW_CONFIG (this DIR's aigw.conf) and stopped.
fcgid_leftovers_stop() {
	local p pid found=""
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		case "$(readlink "$p/exe" 2>/dev/null)" in
		*/aigw.fcgi | */aigw.fcgi" (deleted)") ;;
		*) continue ;;
		esac
		tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qxF "AIGW_CONFIG=$CONF" || continue
		found="$found $pid"
	done
	[ -n "$found" ] || return 0
	say "stopping aigw.fcgi processes left by mod_fcgid:$found"
	# shellcheck disable=SC2086
	kill -TERM $found 2>/dev/null || true
	for pid in $found; do
		wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
	done
}

web_port_check() {
	if port_busy "$PORT"; then
		die "127.0.0.1:$PORT is in use by another program (see: ss -ltnp 'sport = :$PORT'); choose another --port"
	fi
}

web_start() {
	local pid
	if [ -n "$(web_running_kind)" ]; then
		pid=$(lighttpd_pid || apache_pid)
		say "$SERVER is running (pid $pid, http://127.0.0.1:$PORT)"
		return 0
	fi
	web_port_check
	web_error_docs
	case "$SERVER" in
	lighttpd) lighttpd_start ;;
	apache | apache-fcgid) apache_start ;;
	esac
	web_fingerprint >"$WEB_FP"
}

# lighttpd opens its logs after dropping to WEB_USER: they must be its files.
lighttpd_start() {
	local f out=$LOGD/lighttpd-start.log
	for f in lighttpd.log lighttpd-access.log; do
		log_file "$LOGD/$f" "$WEB_USER:$WEB_GROUP"
	done
	log_file "$out"
	if ! lighttpd -tt -f "$LIGHTTPD_CONF" >"$out" 2>&1; then
		cat "$out" >&2
		die "lighttpd refuses $LIGHTTPD_CONF"
	fi
	say "starting lighttpd on http://127.0.0.1:$PORT"
	rm -f "$LIGHTTPD_PIDFILE"
	# lighttpd daemonizes once it listens, and writes its pid file.
	if ! lighttpd -f "$LIGHTTPD_CONF" </dev/null >>"$out" 2>&1 9>&-; then
		tail -n 20 "$out" "$LOGD/lighttpd.log" >&2
		die "lighttpd did not start (logs: $LOGD/lighttpd.log, $out)"
	fi
	wait_for 10 lighttpd_pid >/dev/null || die "lighttpd started but wrote no pid file ($LIGHTTPD_PIDFILE)"
}

apache_start() {
	local out=$LOGD/apache-start.log f
	mkdir -p "$APACHE_DIR/run"
	chmod 0755 "$APACHE_DIR"
	# Apache opens its logs as root, with the umask it inherits: made here
	# first, 0640.
	for f in apache.log apache-access.log apache-start.log; do
		log_file "$LOGD/$f"
	done
	if [ "$SERVER" = apache-fcgid ]; then
		# mod_fcgid's sockets live here; the spawned processes run as WEB_USER.
		mkdir -p "$APACHE_DIR/fcgid"
		chown "$WEB_USER:$WEB_GROUP" "$APACHE_DIR/fcgid"
		chmod 0700 "$APACHE_DIR/fcgid"
		rm -f "$APACHE_DIR/fcgid"/* "$APACHE_DIR"/fcgid_shm*
	fi
	# A clean environment: no APACHE_* variables or /etc/apache2/envvars.
	if ! env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C apache2 -f "$APACHE_CONF" -t >"$out" 2>&1; then
		cat "$out" >&2
		die "Apache refuses $APACHE_CONF"
	fi
	say "starting Apache ($SERVER) on http://127.0.0.1:$PORT"
	rm -f "$APACHE_PIDFILE"
	if ! env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C apache2 -f "$APACHE_CONF" -k start \
		</dev/null >>"$out" 2>&1 9>&-; then
		tail -n 20 "$out" "$LOGD/apache.log" >&2
		die "Apache did not start (logs: $LOGD/apache.log, $out)"
	fi
	if ! wait_for 15 apache_pid >/dev/null; then
		tail -n 20 "$out" "$LOGD/apache.log" >&2
		die "Apache did not start (logs: $LOGD/apache.log, $out)"
	fi
}

# Checks that the web server's account can use what it needs (before
# starting it, so the failure is clear instead of a 503 later).
web_access_check() {
	case "$SERVER" in
	lighttpd | apache)
		need_web_access -w "$POOL_SOCK" "the aigw pool's socket"
		;;
	apache-fcgid)
		# mod_fcgid runs aigw.fcgi as the web server's account.
		need_web_access -x "$FCGI" "aigw.fcgi"
		need_web_access -r "$CONF" "aigw.conf"
		need_web_access -r "$KEYRING" "the keyring"
		need_web_access -w "$DB_SOCK" "the MariaDB socket"
		;;
	esac
}

web_health() {
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$PORT/v1/health") || true
	[ "$code" = 200 ]
}
