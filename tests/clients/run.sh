#!/usr/bin/env bash
# Real-client suite: the official openai npm SDK and OpenRouter's own
# @openrouter/sdk (pinned in package-lock.json) against the gateway through a
# web server, or straight against the OpenRouter simulator to debug the tests. Installs with `npm ci` when needed, prepares an
# app with keys and the models table if none is given, runs `node --test`, and
# prints "PASS: clients[KIND]: name" / "FAIL: ..." lines, then "N passed, N failed".
set -uo pipefail

usage() {
	cat <<'EOF'
usage: tests/clients/run.sh [--env DIR/stack.env] [--kind KIND] [--sim-only] [--start-sim]
                            [FILE.test.mjs ...]

  --env FILE    read a deploy/stack stack.env (AIGW_BASE_URL, AIGW_ADMIN, AIGW_CONFIG,
                AIGW_UPSTREAM_URL, AIGW_SERVER)
  --kind KIND   name in the result lines (default $AIGW_SERVER, else "sim")
  --sim-only    point the SDK at the simulator itself (gateway-only tests skip)
  --start-sim   start tests/sim/openrouter_sim.py on a free port for this run
                (implies --sim-only unless AIGW_BASE_URL is set)
Environment: AIGW_BASE_URL (gateway, e.g. http://127.0.0.1:18300), AIGW_SIM_URL
(simulator, e.g. http://127.0.0.1:P; default: AIGW_UPSTREAM_URL without /api/v1),
AIGW_TEST_APP, AIGW_TEST_CLIENT_KEY, AIGW_TEST_ADMIN_KEY (made with $AIGW_ADMIN
--config $AIGW_CONFIG when absent), AIGW_CLIENTS_SYNC=0 (skip `models sync`),
AIGW_CLIENTS_TIMEOUT (seconds for the whole node run, default 180).
EOF
}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ENV_FILE=""
KIND=""
SIM_ONLY=0
START_SIM=0
FILES=()

while [ $# -gt 0 ]; do
	case "$1" in
	--env) ENV_FILE=${2:?--env needs a file}; shift ;;
	--kind) KIND=${2:?--kind needs a name}; shift ;;
	--sim-only) SIM_ONLY=1 ;;
	--start-sim) START_SIM=1 ;;
	-h | --help) usage; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) FILES+=("$1") ;;
	esac
	shift
done

if [ -n "$ENV_FILE" ]; then
	[ -r "$ENV_FILE" ] || { echo "run.sh: cannot read $ENV_FILE" >&2; exit 2; }
	set -a
	# shellcheck disable=SC1090
	. "$ENV_FILE"
	set +a
fi
KIND=${KIND:-${AIGW_CLIENTS_KIND:-${AIGW_SERVER:-sim}}}
export AIGW_CLIENTS_KIND=$KIND

# A setup step that broke: one FAIL line, the summary, exit 1.
setup_fail() { # MESSAGE [LOG]
	echo "FAIL: clients[$KIND]: setup: $1"
	if [ -n "${2:-}" ] && [ -s "$2" ]; then tail -n 30 "$2" | sed 's/^/    /'; fi
	echo "0 passed, 1 failed"
	exit 1
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/aigw-clients.XXXXXX") || exit 1
SIM_PID=""
NODE_PID=""
# shellcheck disable=SC2317 # called by the traps
cleanup() {
	if [ -n "$NODE_PID" ]; then kill -TERM "$NODE_PID" 2>/dev/null; wait "$NODE_PID" 2>/dev/null; fi
	if [ -n "$SIM_PID" ]; then kill -TERM "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the simulator ---------------------------------------------------------------

if [ $START_SIM = 1 ]; then
	/usr/bin/python3 "$ROOT/tests/sim/openrouter_sim.py" --host 127.0.0.1 --port 0 \
		>"$WORK/sim.out" 2>"$WORK/sim.err" &
	SIM_PID=$!
	for _ in $(seq 100); do
		grep -q '^listening on ' "$WORK/sim.out" 2>/dev/null && break
		kill -0 "$SIM_PID" 2>/dev/null || break
		sleep 0.1
	done
	addr=$(sed -n 's/^listening on //p' "$WORK/sim.out" | head -n 1)
	[ -n "$addr" ] || setup_fail "the simulator did not start" "$WORK/sim.err"
	export AIGW_SIM_URL="http://$addr"
	[ -n "${AIGW_BASE_URL:-}" ] || SIM_ONLY=1
fi
if [ -z "${AIGW_SIM_URL:-}" ] && [ -n "${AIGW_UPSTREAM_URL:-}" ]; then
	AIGW_SIM_URL=${AIGW_UPSTREAM_URL%/}
	AIGW_SIM_URL=${AIGW_SIM_URL%/api/v1}
fi
[ -n "${AIGW_SIM_URL:-}" ] ||
	setup_fail "AIGW_SIM_URL is not set (and no AIGW_UPSTREAM_URL to derive it from)"
export AIGW_SIM_URL
curl -fsS --max-time 5 "$AIGW_SIM_URL/_sim/health" >/dev/null 2>"$WORK/curl.err" ||
	setup_fail "the simulator does not answer at $AIGW_SIM_URL/_sim/health" "$WORK/curl.err"

# ---- the gateway: an app, its keys, the models table -----------------------------

admin() { "$AIGW_ADMIN" --config "$AIGW_CONFIG" "$@"; }

if [ $SIM_ONLY = 1 ] || [ -z "${AIGW_BASE_URL:-}" ]; then
	export AIGW_CLIENT_TARGET=sim
	echo "clients: SDKs -> simulator $AIGW_SIM_URL/api/v1 (gateway-only tests skip)"
else
	export AIGW_CLIENT_TARGET=gateway
	if [ -z "${AIGW_TEST_APP:-}" ] || [ -z "${AIGW_TEST_CLIENT_KEY:-}" ] ||
		[ -z "${AIGW_TEST_ADMIN_KEY:-}" ] || [ "${AIGW_CLIENTS_SYNC:-1}" != 0 ]; then
		if [ -z "${AIGW_ADMIN:-}" ] || [ -z "${AIGW_CONFIG:-}" ]; then
			setup_fail "AIGW_TEST_APP/AIGW_TEST_CLIENT_KEY/AIGW_TEST_ADMIN_KEY or AIGW_ADMIN and AIGW_CONFIG are needed (use --env DIR/stack.env)"
		fi
	fi
	if [ -z "${AIGW_TEST_APP:-}" ]; then
		AIGW_TEST_APP=$(admin app create --name "client suite" 2>"$WORK/admin.err") ||
			setup_fail "aigw-admin app create" "$WORK/admin.err"
		AIGW_TEST_CLIENT_KEY="" AIGW_TEST_ADMIN_KEY=""
	fi
	if [ -z "${AIGW_TEST_CLIENT_KEY:-}" ]; then
		AIGW_TEST_CLIENT_KEY=$(admin key create --app "$AIGW_TEST_APP" --name clients 2>"$WORK/admin.err") ||
			setup_fail "aigw-admin key create (client)" "$WORK/admin.err"
	fi
	if [ -z "${AIGW_TEST_ADMIN_KEY:-}" ]; then
		AIGW_TEST_ADMIN_KEY=$(admin key create --app "$AIGW_TEST_APP" --role admin --name clients-admin 2>"$WORK/admin.err") ||
			setup_fail "aigw-admin key create (admin)" "$WORK/admin.err"
	fi
	export AIGW_TEST_APP AIGW_TEST_CLIENT_KEY AIGW_TEST_ADMIN_KEY
	if [ "${AIGW_CLIENTS_SYNC:-1}" != 0 ]; then
		timeout 120 "$AIGW_ADMIN" --config "$AIGW_CONFIG" models sync >"$WORK/sync.out" 2>&1 ||
			setup_fail "aigw-admin models sync" "$WORK/sync.out"
	fi
	echo "clients: SDKs -> $AIGW_BASE_URL/v1/$AIGW_TEST_APP (simulator $AIGW_SIM_URL)"
fi

# ---- the SDKs, exactly as locked -------------------------------------------------

cd "$HERE" || exit 1
# "ok" when every dependency of package.json is installed at its locked version.
installed=$(node -e '
const lock = require("./package-lock.json").packages;
const bad = Object.keys(require("./package.json").dependencies).filter((name) => {
  try { return require(`./node_modules/${name}/package.json`).version !== lock[`node_modules/${name}`].version; }
  catch { return true; }
});
console.log(bad.length ? bad.join(" ") : "ok");' 2>/dev/null)
if [ "$installed" != ok ]; then
	timeout 600 npm ci --no-audit --no-fund >"$WORK/npm.log" 2>&1 ||
		setup_fail "npm ci" "$WORK/npm.log"
fi

# ---- run ---------------------------------------------------------------------------

[ ${#FILES[@]} -gt 0 ] || FILES=(*.test.mjs)
OUT=$WORK/node.out
# One file at a time: the pacing and abort timings must not share the CPU
# with other test processes.
timeout -k 10 "${AIGW_CLIENTS_TIMEOUT:-180}" node --test --test-concurrency=1 \
	--test-timeout=30000 --test-reporter=./reporter.mjs --test-reporter-destination=stdout \
	"${FILES[@]}" </dev/null >"$OUT" 2>"$WORK/node.err" &
NODE_PID=$!
# Result lines live; the summary is printed last, after any stderr.
SUMMARY_RE='^[0-9]+ passed, [0-9]+ failed$'
tail -s 0.2 -n +1 -f --pid="$NODE_PID" "$OUT" | grep --line-buffered -vE "$SUMMARY_RE" &
TAIL_PID=$!
wait "$NODE_PID"
rc=$?
NODE_PID=""
wait "$TAIL_PID" 2>/dev/null
summary=$(grep -E "$SUMMARY_RE" "$OUT" | tail -n 1)

if [ -z "$summary" ]; then
	# It died or timed out: count what it printed, and the breakage.
	p=$(grep -cE '^PASS: ' "$OUT")
	f=$(grep -cE '^FAIL: ' "$OUT")
	echo "FAIL: clients[$KIND]: node --test did not finish (exit $rc)"
	tail -n 30 "$WORK/node.err" | sed 's/^/    /'
	echo "$p passed, $((f + 1)) failed"
	exit 1
fi
if [ -s "$WORK/node.err" ] && grep -q '^FAIL: ' "$OUT"; then
	echo "---- stderr of the test processes"
	tail -n 40 "$WORK/node.err" | sed 's/^/    /'
fi
echo "$summary"
case "$summary" in *" 0 failed") exit 0 ;; *) exit 1 ;; esac
