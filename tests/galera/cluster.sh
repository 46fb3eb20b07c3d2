#!/usr/bin/env bash
# tests/galera/cluster.sh: a 3-node MariaDB Galera cluster (galera-4) on
# 127.0.0.1 for the multi-writer test. Each node: its own datadir under DIR,
# a TCP port for clients (BASE, BASE+1, BASE+2), a group-communication port
# (BASE+10+i) and an IST port (BASE+20+i). The nodes start from copies of one
# initialised datadir, so joining needs no state transfer beyond IST.
#   cluster.sh up DIR BASE      start (node 1 bootstraps the cluster)
#   cluster.sh down DIR         stop every node
# Root runs it; mariadbd runs as mysql. Prints the client ports on success.
set -euo pipefail

CMD=${1:?usage: cluster.sh up DIR BASE | down DIR}
DIR=${2:?DIR}
BASE=${3:-19200}
PROVIDER=/usr/lib/galera/libgalera_smm.so

node_dir() { echo "$DIR/node$1"; }

ping_node() { # I
	mariadb-admin --no-defaults --protocol=socket --socket="$(node_dir "$1")/mysqld.sock" \
		-uroot --connect-timeout=2 ping >/dev/null 2>&1
}

synced() { # I
	[ "$(mariadb --no-defaults --protocol=socket --socket="$(node_dir "$1")/mysqld.sock" -uroot \
		-N -B -e "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | cut -f2)" = Synced ]
}

wait_for() { # SECS CMD...
	local i
	for ((i = 0; i < $1 * 5; i++)); do
		"${@:2}" && return 0
		sleep 0.2
	done
	return 1
}

start_node() { # I [--wsrep-new-cluster]
	local i=$1 d
	d=$(node_dir "$i")
	local port=$((BASE + i - 1)) gport=$((BASE + 10 + i - 1)) iport=$((BASE + 20 + i - 1))
	local addr="gcomm://127.0.0.1:$((BASE + 10)),127.0.0.1:$((BASE + 11)),127.0.0.1:$((BASE + 12))"
	cat >"$d/my.cnf" <<CNF
[mariadbd]
datadir = $d/data
socket = $d/mysqld.sock
pid-file = $d/mariadbd.pid
log-error = $d/mariadb.log
port = $port
bind-address = 127.0.0.1
user = mysql
default-time-zone = +00:00
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
max_connections = 300
max_prepared_stmt_count = 32000
innodb_buffer_pool_size = 64M
innodb_log_file_size = 48M
innodb_flush_log_at_trx_commit = 1
binlog_format = ROW
innodb_autoinc_lock_mode = 2
log_bin_trust_function_creators = 1
wsrep_on = ON
wsrep_provider = $PROVIDER
wsrep_cluster_name = aigw_test
wsrep_cluster_address = $addr
wsrep_node_address = 127.0.0.1:$gport
wsrep_node_name = node$i
wsrep_provider_options = "gmcast.listen_addr=tcp://127.0.0.1:$gport;ist.recv_addr=127.0.0.1:$iport;gcache.size=64M;pc.wait_prim_timeout=PT10S"
wsrep_sst_method = rsync
wsrep_sst_receive_address = 127.0.0.1:$((BASE + 30 + i - 1))
wsrep_slave_threads = 2
CNF
	chown -R mysql:mysql "$d"
	# shellcheck disable=SC2086
	setsid mariadbd --defaults-file="$d/my.cnf" ${2:-} </dev/null >>"$d/mariadb.log" 2>&1 &
	if ! wait_for 60 ping_node "$i" || ! wait_for 60 synced "$i"; then
		tail -n 30 "$d/mariadb.log" >&2
		echo "cluster.sh: node $i did not start (log: $d/mariadb.log)" >&2
		exit 1
	fi
}

cmd_up() {
	local i
	mkdir -p "$DIR"
	chmod 755 "$DIR"
	if [ ! -d "$(node_dir 1)/data/mysql" ]; then
		mkdir -p "$DIR/seed"
		chown mysql:mysql "$DIR/seed"
		mariadb-install-db --no-defaults --datadir="$DIR/seed" --user=mysql \
			--auth-root-authentication-method=socket --skip-test-db >"$DIR/install.log" 2>&1 ||
			{ tail "$DIR/install.log" >&2; exit 1; }
		for i in 1 2 3; do
			mkdir -p "$(node_dir "$i")"
			cp -a "$DIR/seed" "$(node_dir "$i")/data"
		done
		rm -rf "$DIR/seed"
	fi
	start_node 1 --wsrep-new-cluster
	start_node 2
	start_node 3
	echo "$BASE $((BASE + 1)) $((BASE + 2))"
}

cmd_down() {
	local i pid
	for i in 3 2 1; do
		f=$(node_dir "$i")/mariadbd.pid
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill "$pid" 2>/dev/null || continue
		for ((n = 0; n < 600; n++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	done
}

case "$CMD" in
up) cmd_up ;;
down) cmd_down ;;
*) echo "usage: cluster.sh up DIR BASE | down DIR" >&2; exit 2 ;;
esac
