"""journal_full: the journal's disk fills up under the load of 20 clients.

The stack's journal_dir (aigw.conf) gets a small tmpfs of its own (the pool
stopped while it is mounted, so the workers open their journal there); 20
clients (free and enterprise apps, streamed and not) run; after 2 s a file
fills the tmpfs to the last byte; 5 s later it is removed; the clients go on
until the gateway serves again. The tmpfs is always unmounted at the end and
the pool started on the real directory again.

Asserts: the build has a journal (journal_dir); while the disk is full at
least one request is refused, and every refusal is a 503 in the error shape
with Retry-After that never reached the simulator; nothing else but 200 and
503; after the space is freed requests are served again within 10 s and
then all of them; every generation the simulator answered has exactly one
usage row, no reservation is held, the ledger adds up and aigw-admin check
is clean."""

import errno
import os
import subprocess
import time

import faultlib as fl

NAME = "journal_full"
TMPFS_SIZE = "16m"
CLIENTS = 20
WARM_S = 2.0
FULL_S = 5.0
RECOVER_WITHIN_S = 10.0
AFTER_S = 2.0
SETTLE_S = 15.0


def fill(path):
    """Writes `path` until the file system is full; returns the bytes written."""
    n = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 1 << 16, 4096, 512, 1):
            block = b"\0" * size
            while True:
                try:
                    w = os.write(fd, block)
                except OSError as e:
                    if e.errno in (errno.ENOSPC, errno.EDQUOT):
                        break
                    raise
                n += w
                if w < size:
                    break
    finally:
        os.close(fd)
    return n


def mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


def umount(path):
    """Unmounts path whatever happens (lazily if it is busy); returns a
    problem text or None."""
    for args in (["umount", path], ["umount", "-l", path]):
        if not mounted(path):
            return None
        p = subprocess.run(args, capture_output=True, stdin=subprocess.DEVNULL, timeout=30)
        if p.returncode == 0 and not mounted(path):
            return None if args[1] != "-l" else \
                "the tmpfs on %s was busy: unmounted lazily" % path
    return "could not unmount the tmpfs on %s" % path


def run(ctx):
    problems = []
    fig = {}
    jdir = fl.conf_get("journal_dir")
    old_conf = None
    if jdir is None:
        probe = os.path.join(fl.stack_dir(), "journal")
        known, msg = fl.conf_key_known("journal_dir", probe)
        if not known:
            raise fl.TestFailure("this build has no journal (aigw.conf's journal_dir: %s)"
                                 % msg)
        # The build has a journal but the stack does not name its directory.
        jdir = probe
        old_conf = fl.conf_set("journal_dir", jdir)
        fl.log("aigw.conf had no journal_dir: using %s" % jdir)
    user = os.environ.get("AIGW_FCGI_USER", "aigw")
    if not os.path.isdir(jdir):
        import pwd
        os.makedirs(jdir, 0o750)
        pw = pwd.getpwnam(user)
        os.chown(jdir, pw.pw_uid, pw.pw_gid)
    st = os.stat(jdir)
    apps = fl.make_apps(("free", "enterprise"))
    prefix = ctx.prefix
    filler = os.path.join(jdir, "faults-filler")
    is_mounted = False
    load = None
    try:
        fl.stop_pool()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=%o,uid=%d,gid=%d" % (
            TMPFS_SIZE, st.st_mode & 0o7777, st.st_uid, st.st_gid), "faults-journal", jdir],
            check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=30)
        is_mounted = True
        fl.stack_up()
        fl.wait_healthy(30)
        since = fl.sim_seq()
        load = fl.Load(prefix, apps, clients=CLIENTS, max_s=60, words=8, pace_ms=25).start()
        time.sleep(WARM_S)
        watcher = fl.RowWatcher(apps)
        t_full = time.monotonic()
        watcher.start(t_full)
        written = fill(filler)
        vfs = os.statvfs(jdir)
        fig["filled_mb"] = "%.1f" % (written / 1048576.0)
        fig["free_bytes_when_full"] = vfs.f_bavail * vfs.f_frsize
        fl.log("journal tmpfs filled (%d bytes)" % written)
        time.sleep(FULL_S)
        os.unlink(filler)
        t_free = time.monotonic()
        fl.log("space freed")

        def served_again():
            return [c for c in list(load.calls) if c.t0 >= t_free and c.status == 200]
        ok = fl.wait_until(served_again, RECOVER_WITHIN_S, 0.1)
        first_ok = min(c.t0 for c in ok) if ok else None
        fig["recovered_s"] = "%.1f" % (first_ok - t_free) if ok else ">%.0f" % RECOVER_WITHIN_S
        if not ok:
            problems.append("no request served within %.0fs of freeing the journal's space"
                            % RECOVER_WITHIN_S)
        time.sleep(AFTER_S)
        calls = load.stop()
        load = None
        fig.update(fl.call_figures(calls))
        full = [c for c in calls if t_full + 0.5 <= c.t0 and c.t1 <= t_free]
        fig["while_full"] = "%d (%d x 503)" % (len(full), sum(c.status == 503 for c in full))
        if not any(c.status == 503 for c in full):
            problems.append("no request was refused while the journal's disk was full (%d "
                            "requests): nothing new was written to the journal?" % len(full))
        bad = [c for c in calls if c.status not in (200, 503)]
        if bad:
            problems.append("%d answers neither 200 nor 503: %s"
                            % (len(bad), "; ".join(c.describe() for c in bad[:5])))
        upstream = fl.sim_tags(since, prefix)
        for c in calls:
            if c.status != 503:
                continue
            p = fl.check_error_503(c)
            if p is None and not c.retry_after:
                p = "%s: 503 without Retry-After" % c.tag
            if p is None and c.tag in upstream:
                p = "%s: 503 after the request was sent upstream" % c.tag
            if p:
                problems.append(p)
                if len(problems) > 8:
                    break
        if ok:
            late = [c for c in calls if c.t0 >= first_ok + 1.0 and c.status != 200]
            if late:
                problems.append("%d requests refused after the gateway served again: %s" % (
                    len(late), "; ".join(c.describe() for c in late[:4])))
        cut = [c for c in calls if c.stream and c.status == 200 and not c.done]
        if cut:
            problems.append("%d streams did not end with [DONE]: %s"
                            % (len(cut), "; ".join(c.describe() for c in cut[:3])))
        led, lp = fl.ledger(apps, since, prefix, SETTLE_S, watcher)
        fig.update(led)
        problems += lp
    finally:
        if load is not None:
            load.stop()
        if os.path.exists(filler):
            os.unlink(filler)
        try:
            fl.stop_pool()
        except fl.TestFailure as e:
            problems.append(str(e))
        if is_mounted:
            p = umount(jdir)
            if p:
                problems.append(p)
        if old_conf is not None:
            fl.conf_write(old_conf)
        fl.stack_cmd("up")
    return fig, problems
