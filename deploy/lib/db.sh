# shellcheck shell=bash disable=SC2034,SC2153
# deploy/lib/db.sh: the stack's own MariaDB server (run as mysql, data in
# DIR/mysql, unix socket only, no TCP), its aigw database, the three accounts
# (runtime, admin, reader) and migrations.
# Sourced by deploy/stack; uses DIR RUN LOGD CONF ADMIN from it.

db_vars() {
	DATADIR=$DIR/mysql
	DB_USER_OS=mysql
	# mariadbd runs as mysql: its socket lives in a directory of its own.
	DB_RUN=$RUN/mysqld
	DB_SOCK=$DB_RUN/mysqld.sock
	DB_PIDFILE=$RUN/mariadb.pid
	# The server's settings (db_cnf_write); what it started with in DB_FP.
	DB_CNF=$DIR/my.cnf
	DB_FP=$RUN/mariadb.fp
	DB_MATCH="--datadir=$DATADIR "
	DB_NAME=aigw
	# The runtime account (aigw.conf): data only, no DDL.
	DB_USER=aigw
	# The schema owner, for aigw-admin (migrations): DIR/admin.conf, root's.
	DB_ADMIN_USER=aigw_admin
	ADMIN_CONF=$DIR/admin.conf
	# Read-only, for DBAs and BI tools, without the secrets' columns:
	# DIR/reader.cnf (a MariaDB client option file), root's.
	DB_READER_USER=aigw_reader
	READER_CNF=$DIR/reader.cnf
	db_external_vars
}

# --db mysql://USER:PASS@HOST:PORT/NAME: an existing MariaDB server or Galera
# node instead of the stack's own, so several stacks can share one database.
# The stack then starts, stops and provisions no server: the account of the
# URL must exist with ALL PRIVILEGES on NAME (it runs the migrations, and the
# gateway uses it too), and there is no reader account. Remembered in
# stack.env without the password, which the next up reads back from aigw.conf.
DB_EXTERNAL=""
db_external_vars() {
	local url=${OPT_DB:-} rest auth hostport
	if [ -z "$url" ]; then
		url=$(stackenv_get AIGW_DB_EXTERNAL)
		[ -n "$url" ] || return 0
	fi
	[[ "$url" =~ ^mysql://([^@/]+)@([^/]+)/([A-Za-z0-9_]+)$ ]] ||
		die "--db must look like mysql://USER:PASS@HOST:PORT/NAME, not '${url%%@*}@...'"
	auth=${BASH_REMATCH[1]} hostport=${BASH_REMATCH[2]} DB_NAME=${BASH_REMATCH[3]}
	DB_USER=${auth%%:*}
	if [ "$auth" != "$DB_USER" ]; then
		DB_PASSWORD=${auth#*:}
	else
		DB_PASSWORD=$(conf_get "$CONF" db_password)
	fi
	DB_HOST=${hostport%%:*}
	DB_PORT=3306
	[ "$hostport" = "$DB_HOST" ] || DB_PORT=${hostport#*:}
	[[ "$DB_PORT" =~ ^[0-9]+$ ]] || die "--db: bad port '$DB_PORT'"
	DB_ADMIN_USER=$DB_USER
	DB_ADMIN_PASSWORD=$DB_PASSWORD
	DB_EXTERNAL="mysql://$DB_USER@$DB_HOST:$DB_PORT/$DB_NAME"
	# Nothing of the stack's own server is used.
	DB_SOCK="" DB_PIDFILE=$RUN/mariadb.pid.unused READER_CNF=""
}

db_pid() {
	[ -z "$DB_EXTERNAL" ] || return 1
	pid_of "$DB_PIDFILE" "$DB_MATCH"
}

# The external server (--db) answers with the URL's account.
db_external_ping() {
	MYSQL_PWD=$DB_PASSWORD mariadb-admin --no-defaults --protocol=tcp --host="$DB_HOST" \
		--port="$DB_PORT" --user="$DB_USER" --connect-timeout=2 ping >/dev/null 2>&1
}

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
	chown "$DB_USER_OS:$DB_USER_OS" "$DATADIR"
	chmod 0700 "$DATADIR"
	log_file "$LOGD/mariadb-install.log"
	if ! mariadb-install-db --no-defaults --datadir="$DATADIR" --user="$DB_USER_OS" \
		--auth-root-authentication-method=socket --skip-test-db \
		>>"$LOGD/mariadb-install.log" 2>&1; then
		tail -n 20 "$LOGD/mariadb-install.log" >&2
		die "mariadb-install-db failed (log: $LOGD/mariadb-install.log)"
	fi
	# It writes a file or two of its own as root.
	chown -R "$DB_USER_OS:$DB_USER_OS" "$DATADIR"
}

# A stack made when MariaDB ran as root has root's files in the datadir.
db_datadir_owner() {
	if [ -n "$(find "$DATADIR" \! -user "$DB_USER_OS" -print -quit)" ]; then
		say "giving the MariaDB data in $DATADIR to $DB_USER_OS"
		chown -R "$DB_USER_OS:$DB_USER_OS" "$DATADIR"
	fi
	chmod 0700 "$DATADIR"
}

# How many connections the gateway may hold at once: per process its
# db_connections (aigw.conf; default 8), whatever the number of requests in
# flight; under apache-fcgid every aigw.fcgi process mod_fcgid may start
# counts as a worker.
db_gateway_connections() {
	local workers per
	if [ "$SERVER" = apache-fcgid ]; then
		workers=$FCGID_MAXPROCS
	else
		workers=$POOL_WORKERS
	fi
	per=$(conf_get "$CONF" db_connections)
	[[ "$per" =~ ^[0-9]+$ ]] || per=8
	echo $((workers * per))
}

# max_connections: the gateway's connections, 24 for everyone else
# (aigw-admin, the reader account, a DBA, monitoring), a quarter on top for
# a pool restarting while its old workers still hold theirs; never below
# MariaDB's default 151.
db_max_connections() {
	local n
	n=$(($(db_gateway_connections) + 24))
	n=$((n + n / 4))
	[ "$n" -ge 151 ] || n=151
	echo "$n"
}

# max_prepared_stmt_count: 64 per connection allowed (the gateway caches up to
# 64 statements per connection), never below MariaDB's default 16382.
db_max_prepared() {
	local n
	n=$(($(db_max_connections) * 64))
	[ "$n" -ge 16382 ] || n=16382
	echo "$n"
}

# DIR/my.cnf, read by mariadbd (--defaults-file) and nothing else. Every
# setting that differs from MariaDB's default, with its reason.
db_cnf_write() {
	cat >"$DB_CNF.new" <<EOF
# MariaDB settings of the stack in $DIR, written by deploy/stack up
# (the server also gets --datadir, --socket, --skip-networking, --user, the time
# zone and the character set on its command line). README.md: "Sizing for
# thousands of streams".
[mariadbd]
# The gateway's connections (workers x db_connections, or x threads while each
# request thread keeps its own) + 24 for admin tools, + 25 %; MariaDB answers
# "Too many connections" beyond it. The next up sets a new value at once.
max_connections = $(db_max_connections)
# Each gateway connection keeps up to 64 prepared statements (db/db.c); past this
# server-wide count a prepare fails and the request is answered 503.
max_prepared_stmt_count = $(db_max_prepared)
# One server thread per connection (the default): the gateway keeps a few
# connections per worker, far from the hundreds where pool-of-threads pays.
thread_handling = one-thread-per-connection
# Descriptors: connections, tables and temporary files each take some; the
# server raises its own limit to this at start (as root).
open_files_limit = 16384
# Durability first: every commit (a usage row, a credit settlement) is on disk
# before the gateway goes on; 0 or 2 would lose up to a second of billing
# records on a crash. Commits of concurrent requests share one flush.
innodb_flush_log_at_trx_commit = 1
EOF
	install_if_changed "$DB_CNF.new" "$DB_CNF" 0644 || true
}

# A running server gets a changed max_connections or max_prepared_stmt_count
# at once; anything else that changed in my.cnf waits for its next start.
DB_CNF_DYNAMIC="max_connections max_prepared_stmt_count"
db_cnf_static() { grep -vE "^($(printf '%s' "$DB_CNF_DYNAMIC" | tr ' ' '|')) " "$DB_CNF"; }
db_cnf_apply() {
	local var want have
	for var in $DB_CNF_DYNAMIC; do
		want=$(conf_get "$DB_CNF" "$var")
		have=$(echo "SELECT @@GLOBAL.$var" | db_sql 2>/dev/null) || return 0
		if [ -n "$want" ] && [ "$have" != "$want" ]; then
			say "MariaDB: $var $have -> $want"
			echo "SET GLOBAL $var = $want" | db_sql ||
				warn "could not set MariaDB's $var to $want"
		fi
	done
	if [ "$(db_cnf_static | cksum)" != "$(cat "$DB_FP" 2>/dev/null)" ]; then
		warn "$DB_CNF changed since MariaDB started: restart it to apply it (deploy/stack db-stop; deploy/stack db-start)"
	fi
}

db_start() {
	local pid
	[ -f "$DB_CNF" ] || db_cnf_write
	if pid=$(db_pid); then
		if [ "$(proc_uid "$pid")" = "$(id -u "$DB_USER_OS")" ]; then
			say "MariaDB is running (pid $pid)"
			db_ping || wait_for 30 db_ping || die "MariaDB (pid $pid) does not answer on $DB_SOCK"
			db_cnf_apply
			return 0
		fi
		say "MariaDB (pid $pid) runs as root: restarting it as $DB_USER_OS"
		db_stop
	fi
	[ -d "$DATADIR/mysql" ] || die "no MariaDB data in $DATADIR: run deploy/stack up first"
	db_datadir_owner
	install -d -o "$DB_USER_OS" -g "$DB_USER_OS" -m 0755 "$DB_RUN"
	# Leftovers of a server that did not stop cleanly (and of the socket's
	# place before it moved into DB_RUN).
	rm -f "$DB_SOCK" "$DB_SOCK.lock" "$DB_PIDFILE" "$RUN/mysqld.sock" "$RUN/mysqld.sock.lock"
	# mariadbd opens its error log after dropping to mysql.
	log_file "$LOGD/mariadb.log" "$DB_USER_OS:$DB_USER_OS"
	say "starting MariaDB as $DB_USER_OS (socket $DB_SOCK)"
	# Started as root, mariadbd drops to --user before it touches any file.
	# UTC is the server's time zone, like the times the gateway stores.
	db_cnf_static | cksum >"$DB_FP"
	start_bg "$DB_PIDFILE" "$LOGD/mariadb.log" \
		mariadbd --defaults-file="$DB_CNF" --datadir="$DATADIR" --socket="$DB_SOCK" \
		--skip-networking --user="$DB_USER_OS" --pid-file="$DB_RUN/mariadbd.pid" \
		--log-error="$LOGD/mariadb.log" --default-time-zone=+00:00 \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci
	read -r pid <"$DB_PIDFILE"
	if ! wait_alive "$pid" 60 db_ping; then
		tail -n 20 "$LOGD/mariadb.log" >&2
		die "MariaDB did not start (log: $LOGD/mariadb.log)"
	fi
	# Readable for `status` run by another user.
	chmod 0644 "$DB_PIDFILE"
}

db_stop() {
	[ -z "$DB_EXTERNAL" ] || return 0
	# A clean InnoDB shutdown can take a while on a busy server.
	stop_pid "$DB_PIDFILE" "$DB_MATCH" MariaDB 120
	rm -f "$DB_SOCK.lock"
}

# db_password_of FILE KEY: the password kept in FILE (KEY = value), or a new
# one when there is none. Either way the account is set to it, so the file
# and the account always agree.
db_password_of() {
	local pw
	pw=$(conf_get "$1" "$2")
	[[ "$pw" =~ ^[0-9a-f]{32,}$ ]] || pw=$(rand_hex 24)
	printf '%s\n' "$pw"
}

# Creates the database and the three accounts (idempotent). Sets
# DB_PASSWORD (aigw.conf), DB_ADMIN_PASSWORD (admin.conf) and
# DB_READER_PASSWORD (reader.cnf); conf_write and db_files_write write them.
#   aigw         what aigw.fcgi uses: SELECT, INSERT, UPDATE, DELETE only
#                (no statement of the gateway needs more); whatever an older
#                stack granted beyond that is taken back.
#   aigw_admin   the schema's owner, for aigw-admin: migrations are DDL and
#                create triggers (TRIGGER), which then run as this account.
#   aigw_reader  for DBAs: SELECT on what carries no secret (db_reader_grants,
#                after the migrations made the tables).
db_provision() {
	DB_PASSWORD=$(db_password_of "$CONF" db_password)
	DB_ADMIN_PASSWORD=$(db_password_of "$ADMIN_CONF" db_password)
	DB_READER_PASSWORD=$(db_password_of "$READER_CNF" password)
	# Through stdin: the passwords never appear in a process list. The grant
	# comes before the revoke, so a running pool never lacks its rights.
	db_sql <<EOF || die "could not create the $DB_NAME database and its accounts (log: $LOGD/mariadb.log)"
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
REVOKE CREATE, DROP, REFERENCES, INDEX, ALTER, CREATE TEMPORARY TABLES, LOCK TABLES,
  EXECUTE, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER,
  DELETE HISTORY, GRANT OPTION ON \`$DB_NAME\`.* FROM '$DB_USER'@'localhost';
CREATE USER IF NOT EXISTS '$DB_ADMIN_USER'@'localhost' IDENTIFIED BY '$DB_ADMIN_PASSWORD';
ALTER USER '$DB_ADMIN_USER'@'localhost' IDENTIFIED BY '$DB_ADMIN_PASSWORD';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_ADMIN_USER'@'localhost';
CREATE USER IF NOT EXISTS '$DB_READER_USER'@'localhost' IDENTIFIED BY '$DB_READER_PASSWORD';
ALTER USER '$DB_READER_USER'@'localhost' IDENTIFIED BY '$DB_READER_PASSWORD';
EOF
}

# The reader's rights: the DBA views and the usage, billing and model tables
# whole; api_keys and ai_config without key_hash and byok_sealed. Table
# grants need the tables: this runs after the migrations. A table or column
# a new migration adds is not readable until it is listed here. The README's
# DBA section lists the same statements.
db_reader_grants() {
	local d=\`$DB_NAME\` r="'$DB_READER_USER'@'localhost'"
	db_sql <<EOF || die "could not grant the $DB_READER_USER account its rights (log: $LOGD/mariadb.log)"
GRANT SELECT ON $d.v_spend_per_app_period TO $r;
GRANT SELECT ON $d.v_spend_per_model_day TO $r;
GRANT SELECT ON $d.v_top_apps TO $r;
GRANT SELECT ON $d.usage_requests TO $r;
GRANT SELECT ON $d.usage_daily TO $r;
GRANT SELECT ON $d.usage_monthly TO $r;
GRANT SELECT ON $d.billing_periods TO $r;
GRANT SELECT ON $d.credit_reservations TO $r;
GRANT SELECT ON $d.plans TO $r;
GRANT SELECT ON $d.apps TO $r;
GRANT SELECT ON $d.app_plan_changes TO $r;
GRANT SELECT ON $d.app_changes TO $r;
GRANT SELECT ON $d.models TO $r;
GRANT SELECT ON $d.models_list_meta TO $r;
GRANT SELECT ON $d.schema_migrations TO $r;
GRANT SELECT (id, app_id, role, name, prefix, hash_key_id, requests_per_minute, created_at,
  revoked_at) ON $d.api_keys TO $r;
GRANT SELECT (app_id, default_model, max_tokens_per_request, allowed_models,
  max_concurrent_requests, requests_per_minute, byok_key_id, byok_last4, byok_updated_at,
  updated_at) ON $d.ai_config TO $r;
EOF
}

# DIR/admin.conf (aigw-admin reads it over aigw.conf) and DIR/reader.cnf
# (mariadb --defaults-file=DIR/reader.cnf), both root's alone.
db_files_write() {
	(
		umask 077
		{
			printf '# The aigw schema owner for aigw-admin (migrations), read over aigw.conf;\n'
			printf '# written by deploy/stack up. Not for aigw.fcgi.\n'
			printf 'db_user = %s\n' "$DB_ADMIN_USER"
			printf 'db_password = %s\n' "$DB_ADMIN_PASSWORD"
		} >"$ADMIN_CONF.new"
		[ -z "$DB_EXTERNAL" ] || exit 0
		{
			printf '# Read-only account for DBAs: mariadb --defaults-file=%s\n' "$READER_CNF"
			printf '# Written by deploy/stack up.\n[client]\n'
			printf 'user = %s\n' "$DB_READER_USER"
			printf 'password = %s\n' "$DB_READER_PASSWORD"
			printf 'socket = %s\n' "$DB_SOCK"
			printf 'database = %s\n' "$DB_NAME"
		} >"$READER_CNF.new"
	)
	install_if_changed "$ADMIN_CONF.new" "$ADMIN_CONF" 0600 || true
	chown root:root "$ADMIN_CONF"
	[ -z "$DB_EXTERNAL" ] || return 0
	install_if_changed "$READER_CNF.new" "$READER_CNF" 0600 || true
	chown root:root "$READER_CNF"
}

# The stack's database: its own server (made, started, provisioned), or the
# external one of --db (only checked to answer).
db_up() {
	if [ -n "$DB_EXTERNAL" ]; then
		say "using the external database $DB_EXTERNAL"
		wait_for 30 db_external_ping || die "the database of --db ($DB_HOST:$DB_PORT) does not answer to $DB_USER"
		return 0
	fi
	db_init
	db_cnf_write
	db_start
	db_provision
}

db_migrate() {
	local out
	if ! out=$("$ADMIN" --config "$CONF" --admin-config "$ADMIN_CONF" migrate 2>&1); then
		printf '%s\n' "$out" >&2
		die "aigw-admin migrate failed"
	fi
	printf '%s\n' "$out" | sed 's/^/stack: migrate: /'
}
