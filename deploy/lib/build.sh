# shellcheck shell=bash disable=SC2034,SC2153
# deploy/lib/build.sh: finds aigw.fcgi and aigw-admin: prebuilt in
# $AIGW_BIN_DIR, or built from this checkout (autogen, configure, make; make
# alone rebuilds what changed).
# Sourced by deploy/stack; sets BINDIR FCGI ADMIN; uses ROOT LOGD.

bins_resolve() {
	if [ -n "${AIGW_BIN_DIR:-}" ]; then
		BINDIR=$(cd "$AIGW_BIN_DIR" 2>/dev/null && pwd) ||
			die "AIGW_BIN_DIR=$AIGW_BIN_DIR is not a directory"
		local b
		for b in aigw.fcgi aigw-admin; do
			[ -x "$BINDIR/$b" ] || die "AIGW_BIN_DIR=$BINDIR has no executable $b: build it first (make -C $BINDIR)"
		done
		say "using the prebuilt binaries in $BINDIR"
	else
		build_tree
	fi
	FCGI=$BINDIR/aigw.fcgi
	ADMIN=$BINDIR/aigw-admin
}

# Where to build: in the source tree if it is configured there already (you
# ran ./configure in it); otherwise out of tree in ROOT/build-stack, because a
# configured source tree makes every out-of-tree build of it (tests/run's
# build/, build-sanitize/) refuse to configure.
build_tree() {
	local log=$LOGD/build.log src=$ROOT
	log_file "$log"
	: >"$log"
	if [ -f "$ROOT/Makefile" ] && [ -f "$ROOT/config.status" ]; then
		BINDIR=$ROOT
	else
		BINDIR=$ROOT/build-stack
	fi
	say "building aigw in $BINDIR (log: $log)"
	if ! (
		cd "$src"
		if [ ! -x configure ] || [ configure.ac -nt configure ]; then ./autogen.sh; fi
		mkdir -p "$BINDIR"
		cd "$BINDIR"
		if [ ! -f Makefile ]; then "$src/configure"; fi
		make -j"$(nproc 2>/dev/null || echo 2)" aigw.fcgi aigw-admin
	) >>"$log" 2>&1; then
		tail -n 30 "$log" >&2
		die "the build failed (full log: $log)"
	fi
	if [ ! -x "$BINDIR/aigw.fcgi" ] || [ ! -x "$BINDIR/aigw-admin" ]; then
		die "the build produced no aigw.fcgi/aigw-admin in $BINDIR (log: $log)"
	fi
}
