# deploy/lib/build.sh: finds aigw.fcgi and aigw-admin: prebuilt in
# $AIGW_BIN_DIR, or built in the source tree (autogen, configure, make; make
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
		build_in_tree
		BINDIR=$ROOT
	fi
	FCGI=$BINDIR/aigw.fcgi
	ADMIN=$BINDIR/aigw-admin
}

build_in_tree() {
	local log=$LOGD/build.log
	: >"$log"
	say "building aigw in $ROOT (log: $log)"
	if ! (
		cd "$ROOT"
		if [ ! -x configure ]; then ./autogen.sh; fi
		if [ ! -f Makefile ]; then ./configure; fi
		make -j"$(nproc 2>/dev/null || echo 2)"
	) >>"$log" 2>&1; then
		tail -n 30 "$log" >&2
		die "the build failed (full log: $log)"
	fi
	[ -x "$ROOT/aigw.fcgi" ] && [ -x "$ROOT/aigw-admin" ] ||
		die "the build produced no aigw.fcgi/aigw-admin in $ROOT (log: $log)"
}
