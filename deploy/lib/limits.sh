# shellcheck shell=bash disable=SC2034,SC2153
# deploy/lib/limits.sh: the kernel's and the processes' limits that decide how
# many concurrent streams the stack can hold. deploy/stack changes no system
# setting: it raises the descriptor limit of the processes it starts (within
# what the kernel allows it) and warns about what only an operator should
# change. See README.md, "Sizing for thousands of streams".
# Sourced by deploy/stack; uses POOL_* from pool.sh.

# What a stack is sized for: per pool worker this many requests in flight
# (the gateway's max_requests), each with a client connection and an
# upstream connection, plus its database connections, logs and spare.
LIMITS_REQUESTS_PER_WORKER=4096
LIMITS_NOFILE_NEED=$((LIMITS_REQUESTS_PER_WORKER * 2 + 64))
# The descriptor limit the stack asks for its pool (like LimitNOFILE in
# deploy/systemd/aigw-pool.service).
LIMITS_NOFILE_WANT=65536
# The accept queues (the pool's listen(SOMAXCONN), lighttpd's
# server.listen-backlog, Apache's ListenBacklog) are 4096, cut to somaxconn.
LIMITS_BACKLOG=4096

sysctl_get() { tr -s '\t ' ' ' <"/proc/sys/$(printf '%s' "$1" | tr . /)" 2>/dev/null; }

# The descriptor limit (soft = hard) the stack can give a process it starts:
# LIMITS_NOFILE_WANT if it may raise its hard limit that far, else its
# current hard limit.
limits_nofile() {
	local hard
	if (ulimit -Hn "$LIMITS_NOFILE_WANT") 2>/dev/null; then
		echo "$LIMITS_NOFILE_WANT"
		return 0
	fi
	hard=$(ulimit -Hn)
	[ "$hard" = unlimited ] && hard=$LIMITS_NOFILE_WANT
	echo "$hard"
}

# Warnings, never changes: what would keep the stack from holding thousands of
# concurrent streams on this machine.
limits_check() {
	local v lo hi n
	v=$(sysctl_get net.core.somaxconn)
	if [ -n "$v" ] && [ "$v" -lt "$LIMITS_BACKLOG" ]; then
		warn "net.core.somaxconn is $v: the accept queues of the pool and the web server are cut to $v (they ask for $LIMITS_BACKLOG), so a larger burst of new streams is delayed or refused. As root: sysctl -w net.core.somaxconn=$LIMITS_BACKLOG (and a file in /etc/sysctl.d/ to keep it)"
	fi
	n=$(limits_nofile)
	if [ "$n" -lt "$LIMITS_NOFILE_NEED" ]; then
		warn "the aigw pool gets at most $n file descriptors per process (hard limit; it cannot be raised here): a worker holding $LIMITS_REQUESTS_PER_WORKER streams needs about $LIMITS_NOFILE_NEED. Raise the hard limit of the session that runs deploy/stack (limits.conf, or LimitNOFILE= of its service)"
	fi
	v=$(sysctl_get fs.file-max)
	if [ -n "$v" ] && [ "$v" -lt 131072 ]; then
		warn "fs.file-max is $v open files for the whole system: thousands of streams take about 5 descriptors each (client, web server to pool, pool to upstream, both ends on one machine). As root: sysctl -w fs.file-max=1048576"
	fi
	v=$(sysctl_get net.ipv4.ip_local_port_range)
	if [ -n "$v" ]; then
		lo=${v%% *} hi=${v##* }
		if [ $((hi - lo + 1)) -lt 16384 ]; then
			warn "net.ipv4.ip_local_port_range is $lo-$hi: $((hi - lo + 1)) concurrent connections to one upstream address at most (one per stream). As root: sysctl -w net.ipv4.ip_local_port_range='15000 64999'"
		fi
	fi
	return 0
}
