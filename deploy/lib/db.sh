# shellcheck shell=bash disable=SC2034,SC2153
# deploy/lib/db.sh: the stack's own MariaDB server (data in DIR/mysql, unix
# socket only, no TCP), its aigw database and account, and migrations.
# Sourced by deploy/stack; uses DIR RUN LOGD CONF ADMIN from it.

db_vars() {
	DATADIR=$DIR/mysql
	DB_SOCK=$RUN/mysqld.sock
	DB_PIDFILE=$RUN/mariadb.pid
	DB_MATCH="--datadir=$DATADIR "
	DB_NAME=aigw
	DB_USER=aigw
}

db_pid() { pid_of "$DB_PIDFILE" "$DB_MATCH"; }

db_ping() {
	mariadb-admin --no-defaults --protocol=socket --socket="$DB_SOCK" -uroot \
		--connect-timeout=2 ping >/dev/null 2>&1
}

# Runs SQL from stdin as MariaDB's root (unix_socket authentication: we are root).
db_sql() {
	mariadb --no-defaults --protocol=socket --socket="$DB_SOCK" -uroot --batch --silent
}

db_init() {
	[ -d "$DATADIR/mysql" ] && return 0
	say "initialising MariaDB data in $DATADIR"
	mkdir -p "$DATADIR"
	chmod 0700 "$DATADIR"
	if ! mariadb-install-db --no-defaults --datadir="$DATADIR" --user=root \
		--auth-root-authentication-method=socket --skip-test-db \
		>>"$LOGD/mariadb-install.log" 2>&1; then
		tail -n 20 "$LOGD/mariadb-install.log" >&2
		die "mariadb-install-db failed (log: $LOGD/mariadb-install.log)"
	fi
}

db_start() {
	local pid
	if pid=$(db_pid); then
		say "MariaDB is running (pid $pid)"
		db_ping || wait_for 30 db_ping || die "MariaDB (pid $pid) does not answer on $DB_SOCK"
		return 0
	fi
	[ -d "$DATADIR/mysql" ] || die "no MariaDB data in $DATADIR: run deploy/stack up first"
	# Leftovers of a server that did not stop cleanly.
	rm -f "$DB_SOCK" "$DB_SOCK.lock" "$DB_PIDFILE"
	say "starting MariaDB (socket $DB_SOCK)"
	# --user=root: mariadbd refuses to run as root without it; the stack is
	# root's, and the data stays in DIR. UTC is the server's time zone, like
	# the times the gateway stores.
	start_bg "$DB_PIDFILE.start" "$LOGD/mariadb.log" \
		mariadbd --no-defaults --datadir="$DATADIR" --socket="$DB_SOCK" \
		--skip-networking --user=root --pid-file="$DB_PIDFILE" \
		--log-error="$LOGD/mariadb.log" --default-time-zone=+00:00 \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci
	read -r pid <"$DB_PIDFILE.start"
	rm -f "$DB_PIDFILE.start"
	if ! wait_alive "$pid" 60 db_ping; then
		tail -n 20 "$LOGD/mariadb.log" >&2
		die "MariaDB did not start (log: $LOGD/mariadb.log)"
	fi
	# mariadbd writes its pid file itself (mode 0660); make sure it is there
	# for `down`, and readable for `status` run by another user.
	[ -s "$DB_PIDFILE" ] || printf '%s\n' "$pid" >"$DB_PIDFILE"
	chmod 0644 "$DB_PIDFILE"
}

db_stop() {
	# A clean InnoDB shutdown can take a while on a busy server.
	stop_pid "$DB_PIDFILE" "$DB_MATCH" MariaDB 120
	rm -f "$DB_SOCK.lock"
}

# Creates the database and the aigw account (idempotent). The password comes
# from DIR/aigw.conf when there is one, else it is new; either way the account
# is set to it, so the two always agree. Sets DB_PASSWORD.
db_provision() {
	DB_PASSWORD=$(conf_get "$CONF" db_password)
	[[ "$DB_PASSWORD" =~ ^[0-9a-f]{32,}$ ]] || DB_PASSWORD=$(rand_hex 24)
	# Through stdin: the password never appears in a process list.
	db_sql <<EOF || die "could not create the $DB_NAME database and account (log: $LOGD/mariadb.log)"
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
EOF
}

db_migrate() {
	local out
	if ! out=$("$ADMIN" --config "$CONF" migrate 2>&1); then
		printf '%s\n' "$out" >&2
		die "aigw-admin migrate failed"
	fi
	printf '%s\n' "$out" | sed 's/^/stack: migrate: /'
}
