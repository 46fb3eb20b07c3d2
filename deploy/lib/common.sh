# shellcheck shell=bash disable=SC2034,SC2153
# deploy/lib/common.sh: messages, process bookkeeping (pid files), waiting,
# templates and file writing shared by deploy/stack's other helpers.
# Sourced by deploy/stack; defines functions only.

say() { printf 'stack: %s\n' "$*"; }
warn() { printf 'stack: warning: %s\n' "$*" >&2; }
die() {
	printf 'stack: error: %s\n' "$*" >&2
	exit 1
}

# Prints N random bytes as lowercase hex (2N characters).
rand_hex() {
	od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'
}

# The command line of a process, spaces between arguments; fails when it is
# gone (a zombie has an empty command line and counts as gone).
proc_cmdline() {
	local c
	c=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
	[ -n "$c" ] || return 1
	printf '%s\n' "$c"
}

# proc_uid PID: the real user id a process runs as; fails when it is gone.
proc_uid() {
	local key uid _
	while read -r key uid _; do
		if [ "$key" = Uid: ]; then
			printf '%s\n' "$uid"
			return 0
		fi
	done <"/proc/$1/status" 2>/dev/null
	return 1
}

# proc_alive PID: true while the process exists and is not a zombie. Unlike
# its command line, which reads empty for a moment while the process execs,
# its state is always there.
proc_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# pid_of PIDFILE MATCH: prints the pid recorded in PIDFILE if that process
# runs and its command line contains MATCH (so a recycled pid is not taken
# for ours). Fails otherwise.
pid_of() {
	local pid="" cmd
	[ -r "$1" ] || return 1
	read -r pid <"$1" 2>/dev/null || true
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	cmd=$(proc_cmdline "$pid") || return 1
	[[ "$cmd" == *"$2"* ]] || return 1
	printf '%s\n' "$pid"
}

# wait_gone PID SECONDS: waits until the process is gone; fails on timeout.
wait_gone() {
	local pid=$1 n=$(($2 * 10))
	while proc_alive "$pid"; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}

# stop_pid PIDFILE MATCH NAME SECONDS: SIGTERM, wait up to SECONDS, then
# SIGKILL. Removes the pid file. Harmless when nothing runs.
stop_pid() {
	local file=$1 match=$2 name=$3 secs=$4 pid
	if ! pid=$(pid_of "$file" "$match"); then
		rm -f "$file"
		return 0
	fi
	say "stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_gone "$pid" "$secs"; then
		warn "$name (pid $pid) did not stop within ${secs}s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		wait_gone "$pid" 10 || warn "$name (pid $pid) is still there after SIGKILL"
	fi
	rm -f "$file"
}

# wait_for SECONDS CMD...: runs CMD every 0.2 s until it succeeds; fails on timeout.
wait_for() {
	local n=$(($1 * 5))
	shift
	until "$@"; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.2
	done
}

# wait_alive PID SECONDS CMD...: like wait_for, but gives up (status 2) as soon
# as process PID is gone.
wait_alive() {
	local pid=$1 n=$(($2 * 5))
	shift 2
	until "$@"; do
		proc_alive "$pid" || return 2
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.2
	done
}

# True if something accepts TCP connections on 127.0.0.1:PORT.
port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# log_file FILE [OWNER]: makes sure FILE exists with mode 0640 before a
# process writes to it, owned by OWNER (user:group) when given. Logs name
# apps, keys' ids and requests: never world-readable.
log_file() {
	[ -e "$1" ] || (umask 027 && : >>"$1")
	[ -z "${2:-}" ] || chown "$2" "$1"
	chmod 0640 "$1"
}

# logs_private: takes every other permission off the files of the log
# directory (what a server created with its own umask, or an older stack).
logs_private() {
	find "$LOGD" -maxdepth 1 -type f -perm /o=rwx -exec chmod o-rwx {} + 2>/dev/null || true
}

# start_bg PIDFILE LOG CMD...: starts CMD in its own session (so it outlives
# this script and a closing terminal), output appended to LOG, and records
# its pid. The process is not a child we wait for.
start_bg() {
	local pidfile=$1 log=$2
	shift 2
	log_file "$log"
	# 9>&-: the stack's lock (deploy/stack lock_dir) must not outlive this command.
	setsid "$@" </dev/null >>"$log" 2>&1 9>&- &
	printf '%s\n' "$!" >"$pidfile"
}

# render TEMPLATE OUT NAME=VALUE...: replaces each @NAME@ of TEMPLATE by VALUE
# and writes OUT; fails if a placeholder is left.
render() {
	local in=$1 out=$2 kv name val
	local -a args=()
	shift 2
	for kv in "$@"; do
		name=${kv%%=*}
		val=${kv#*=}
		val=$(printf '%s' "$val" | sed -e 's/[\\&|]/\\&/g')
		args+=(-e "s|@${name}@|${val}|g")
	done
	sed "${args[@]}" "$in" >"$out"
	if grep -qE '@[A-Z_]+@' "$out"; then
		die "$in: placeholder left unreplaced: $(grep -oE '@[A-Z_]+@' "$out" | sort -u | tr '\n' ' ')"
	fi
}

# install_if_changed NEW DEST MODE: moves NEW over DEST when their contents
# differ (mode MODE), else removes NEW. Returns 0 if DEST changed, 1 if not.
install_if_changed() {
	local new=$1 dest=$2 mode=$3
	if [ -f "$dest" ] && cmp -s "$new" "$dest"; then
		rm -f "$new"
		chmod "$mode" "$dest"
		return 1
	fi
	chmod "$mode" "$new"
	mv -f "$new" "$dest"
	return 0
}

# conf_get FILE KEY: the value of `KEY = value` in an aigw.conf-style file
# (last one wins); empty when absent.
conf_get() {
	[ -r "$1" ] || return 0
	sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*//p" "$1" | tail -n 1 | sed 's/[[:space:]]*$//'
}

# A fingerprint of files (content) and binaries (inode, size, mtime): when it
# changes, the process using them must restart.
fingerprint() {
	local f
	for f in "$@"; do
		if [ -f "$f" ]; then
			printf '%s %s\n' "$f" "$(cksum <"$f") $(stat -Lc '%i %s %Y' "$f")"
		else
			printf '%s missing\n' "$f"
		fi
	done | cksum | cut -d' ' -f1
}

# as_user USER TEST-ARGS...: runs test(1) as USER.
as_user() {
	local user=$1
	shift
	runuser -u "$user" -- test "$@" 2>/dev/null
}

# need_access USER FLAG PATH WHAT: fails with a clear message unless USER
# passes `test FLAG PATH`, naming the first directory on the way it cannot
# search.
need_access() {
	local user=$1 flag=$2 path=$3 what=$4 d="" part
	as_user "$user" "$flag" "$path" && return 0
	local IFS=/
	for part in ${path#/}; do
		d="$d/$part"
		[ "$d" = "$path" ] && break
		if ! as_user "$user" -x "$d"; then
			die "$user cannot reach $what ($path): directory $d is not searchable by it (mode $(stat -c '%A %U:%G' "$d")). Use a --dir on a path $user may traverse, or allow it: chmod o+x $d"
		fi
	done
	die "$user cannot use $what: $path ($(stat -c '%A %U:%G' "$path" 2>/dev/null || echo missing))"
}

# need_web_access FLAG PATH WHAT: need_access for the web server's account.
need_web_access() { need_access "$WEB_USER" "$@"; }
