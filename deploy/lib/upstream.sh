# shellcheck shell=bash disable=SC2034,SC2153
# deploy/lib/upstream.sh: where the gateway sends model calls: a given URL,
# OpenRouter, or the project's OpenRouter simulator (--upstream mock), which
# the stack then runs on 127.0.0.1:SIM_PORT.
# Sourced by deploy/stack; uses ROOT DIR RUN LOGD PORT CONF from it.

OPENROUTER_URL=https://openrouter.ai/api/v1
# The simulator accepts any key starting "sk-or-" (tests/sim/README.md).
SIM_KEY=sk-or-stack-simulator

sim_vars() {
	SIM_SCRIPT=$ROOT/tests/sim/openrouter_sim.py
	SIM_PIDFILE=$RUN/sim.pid
	SIM_MATCH="openrouter_sim.py --host 127.0.0.1 --port "
	SIM_PORT=${AIGW_SIM_PORT:-$((PORT + 1))}
}

sim_available() { [ -f "$SIM_SCRIPT" ]; }

sim_missing() {
	die "the OpenRouter simulator is not available in this checkout ($SIM_SCRIPT is missing); use --upstream URL"
}

# From UPSTREAM (what was asked: "mock", a URL, or "" for the default) sets
# USE_SIM (1 when the simulator serves), UPSTREAM_URL and UPSTREAM_KEY.
# The key: --upstream-key; for the simulator a fixed test key; else
# $OPENROUTER_API_KEY; else the key the current aigw.conf already has for the
# same URL.
upstream_resolve() {
	local old_url old_key
	old_url=$(conf_get "$CONF" upstream_url)
	old_key=$(conf_get "$CONF" upstream_key)
	USE_SIM=0
	case "$UPSTREAM" in
	mock)
		sim_available || sim_missing
		USE_SIM=1
		;;
	"")
		UPSTREAM_URL=$OPENROUTER_URL
		UPSTREAM_KEY=${OPT_UPSTREAM_KEY:-${OPENROUTER_API_KEY:-}}
		if [ -z "$UPSTREAM_KEY" ] && [ "$old_url" = "$OPENROUTER_URL" ]; then
			UPSTREAM_KEY=$old_key
		fi
		if [ -z "$UPSTREAM_KEY" ]; then
			# Never a silent switch to the simulator: a production stack
			# would answer with made-up text.
			die "no upstream key: OPENROUTER_API_KEY is not set (sudo drops it: sudo -E, or --upstream-key KEY); for the offline OpenRouter simulator say --upstream mock"
		fi
		;;
	http://* | https://*)
		UPSTREAM_URL=${UPSTREAM%/}
		UPSTREAM_KEY=${OPT_UPSTREAM_KEY:-${OPENROUTER_API_KEY:-}}
		if [ -z "$UPSTREAM_KEY" ] && [ "$old_url" = "$UPSTREAM_URL" ]; then
			UPSTREAM_KEY=$old_key
		fi
		;;
	*)
		die "--upstream takes a URL (http://... or https://...) or 'mock', not '$UPSTREAM'"
		;;
	esac
	if [ "$USE_SIM" = 1 ]; then
		UPSTREAM_URL=http://127.0.0.1:$SIM_PORT/api/v1
		UPSTREAM_KEY=${OPT_UPSTREAM_KEY:-$SIM_KEY}
	fi
	case "$UPSTREAM_URL$UPSTREAM_KEY" in
	*[[:space:]]* | *'#'*) die "the upstream URL or key contains whitespace or '#'" ;;
	esac
}

sim_pid() { pid_of "$SIM_PIDFILE" "$SIM_MATCH"; }

sim_ready() {
	curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$SIM_PORT/_sim/health"
}

sim_start() {
	local pid cmd
	if pid=$(sim_pid); then
		cmd=$(proc_cmdline "$pid")
		if [[ "$cmd" == *"--port $SIM_PORT "* ]]; then
			say "simulator is running (pid $pid, http://127.0.0.1:$SIM_PORT/api/v1)"
			return 0
		fi
		sim_stop
	fi
	if port_busy "$SIM_PORT"; then
		die "port $SIM_PORT (for the OpenRouter simulator: --port + 1, or \$AIGW_SIM_PORT) is in use by another program"
	fi
	say "starting the OpenRouter simulator on http://127.0.0.1:$SIM_PORT/api/v1"
	start_bg "$SIM_PIDFILE" "$LOGD/sim.log" \
		/usr/bin/python3 "$SIM_SCRIPT" --host 127.0.0.1 --port "$SIM_PORT"
	read -r pid <"$SIM_PIDFILE"
	if ! wait_alive "$pid" 20 sim_ready; then
		tail -n 20 "$LOGD/sim.log" >&2
		die "the simulator did not start (log: $LOGD/sim.log)"
	fi
}

sim_stop() {
	stop_pid "$SIM_PIDFILE" "$SIM_MATCH" "the OpenRouter simulator" 10
}

# models_sync: fills the models table from the upstream's /models: the prices
# behind reservations and estimates, and what GET /v1/{app}/models lists.
# A failure only warns: the gateway still answers, with an empty model list.
models_sync() {
	local out
	if out=$("$ADMIN" --config "$CONF" models sync 2>&1); then
		say "models: ${out##*$'\n'}"
	else
		warn "aigw-admin models sync failed; GET /models stays empty until it works: $out"
	fi
}
