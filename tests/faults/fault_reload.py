"""reload_50: deploy/stack reload (SIGHUP to the pool master) while 50
streams are in flight, with a changed aigw.conf.

50 streams (free and enterprise apps, 30 words paced 150 ms: about 4.5 s)
are started, two of them with an upstream silence of 2.5 s after their first
word. Once each has its first event, aigw.conf gets sse_keepalive_s = 1 (was
the default 15) and `deploy/stack reload` runs; 2 streams with the same
silence are sent as it returns, and once the new workers run, 10 new
requests (5 not streamed, 5 streams with the 2.5 s silence), while the 50 go
on.

Asserts: the reload command works; all 50 streams end with [DONE] and no
error; the two silent streams of the old workers got no keep-alive (the old
config, 15 s: shows the observable discriminates); the 10 new requests are
served and the new streams got a `: keep-alive` during their silence (new
workers with the re-read config took them); the 2 streams sent as the command
returned are served (whether they saw the new config is printed,
immediate_keepalives: the command only signals the master, and draining
workers may still accept for a moment); new worker processes appear and
the old ones are gone within 10 s of the streams' end; every generation the
simulator answered has exactly one usage row, no reservation is held, the
ledger adds up and aigw-admin check is clean. aigw.conf is restored and the
pool reloaded (or restarted) at the end."""

import os
import signal
import threading
import time

import faultlib as fl

NAME = "reload_50"
STREAMS = 50
WORDS = 30
PACE_MS = 150
NEW = 10
IMMEDIATE = 2
SILENCE = {"scenario": "silence", "silence_ms": 2500, "after": 1}
SETTLE_S = 10.0
OLD_GONE_S = 10.0


def reload_pool():
    """deploy/stack reload; (ok, message). When the stack has no reload
    command, SIGHUP goes to the pool master directly so the gateway's side
    is still examined, and the missing command is reported."""
    rc, out = fl.stack_cmd("reload", timeout=120)
    if rc == 0:
        return True, ""
    first = (out.strip().splitlines() or [""])[0]
    msg = "deploy/stack reload failed (exit %d): %s" % (rc, first[:300])
    master = fl.pool_master()
    if master is not None:
        os.kill(master, signal.SIGHUP)
        msg += " (sent SIGHUP to the pool master %d directly instead)" % master
    return False, msg


def run(ctx):
    problems = []
    fig = {}
    apps = fl.make_apps(("free", "enterprise"))
    prefix = ctx.prefix
    fl.wait_healthy(30)
    old_workers = set(fl.wait_pool_settled())
    master = fl.pool_master()
    if master is None or not old_workers:
        raise fl.TestFailure("the pool does not run (master %s)" % master)
    since = fl.sim_seq()
    silent_old = {0, 1}
    burst = fl.Burst(prefix, apps, STREAMS, WORDS, PACE_MS, timeout=40,
                     sim_for=lambda i: SILENCE if i in silent_old else None).start()
    started = burst.wait_started(15)
    if started < STREAMS:
        problems.append("only %d of %d streams had their first event within 15 s"
                        % (started, STREAMS))
    old_conf = fl.conf_set("sse_keepalive_s", "1")
    restored = False
    try:
        watcher = fl.RowWatcher(apps)
        t_reload = time.monotonic()
        watcher.start(t_reload)
        ok, msg = reload_pool()
        fig["reload_s"] = "%.1f" % (time.monotonic() - t_reload)
        if not ok:
            problems.append(msg)
        fl.log("reloaded in %ss%s" % (fig["reload_s"], "" if ok else ": " + msg[:100]))
        # Streams sent the moment the reload command returned: whether they
        # already get the new config is a figure (the command only signals
        # the master), not an assertion.
        imm_calls = [None] * IMMEDIATE

        def imm(i):
            imm_calls[i] = fl.do_call(apps[i % 2], "%s-imm-%d" % (prefix, i), True, SILENCE,
                                      timeout=30)
        ts = [threading.Thread(target=imm, args=(i,), daemon=True) for i in range(IMMEDIATE)]
        for t in ts:
            t.start()
        # The new requests go once the new workers run (and 0.3 s more).
        up = fl.wait_until(lambda: set(fl.pool_workers(master)) - old_workers, 5, 0.02)
        fig["new_workers_up_s"] = "%.2f" % (time.monotonic() - t_reload) if up else ">5"
        time.sleep(0.3)
        # New requests while the old workers still stream.
        new_calls = [None] * NEW

        def one(i):
            stream = i % 2 == 1
            new_calls[i] = fl.do_call(apps[i % 2], "%s-new-%d" % (prefix, i), stream,
                                      SILENCE if stream else None, timeout=30)
        ts += [threading.Thread(target=one, args=(i,), daemon=True) for i in range(NEW)]
        for t in ts[IMMEDIATE:]:
            t.start()
        calls = burst.join(WORDS * PACE_MS / 1000.0 + 40)
        for t in ts:
            t.join(40)
        if any(c is None for c in new_calls + imm_calls):
            raise fl.TestFailure("requests sent during the reload did not finish within 40 s")
        t_end = time.monotonic()
        fig.update(fl.call_figures(calls + new_calls + imm_calls))
        fig["immediate_keepalives"] = [c.keepalives for c in imm_calls]
        imm_bad = [c for c in imm_calls if not c.complete]
        if imm_bad:
            problems.append("streams sent as the reload command returned not served: %s"
                            % "; ".join(c.describe() for c in imm_bad))
        fig["streams_done"] = "%d/%d" % (sum(c.done for c in calls), STREAMS)
        bad = [c for c in calls if not c.done or c.error_event is not None]
        if bad:
            problems.append("%d of the %d streams did not end with [DONE]: %s" % (
                len(bad), STREAMS, "; ".join(c.describe() for c in bad[:5])))
        old_ka = [calls[i].keepalives for i in sorted(silent_old)]
        fig["old_silent_keepalives"] = old_ka
        if any(old_ka):
            problems.append("streams of the old workers got keep-alives during a 2.5 s "
                            "silence (%s): they should keep sse_keepalive_s 15 until they "
                            "end" % old_ka)
        new_bad = [c for c in new_calls if not c.complete]
        fig["new_served"] = "%d/%d" % (NEW - len(new_bad), NEW)
        if new_bad:
            problems.append("requests sent during the reload not served: %s"
                            % "; ".join(c.describe() for c in new_bad[:5]))
        new_ka = [c.keepalives for c in new_calls if c.stream]
        fig["new_silent_keepalives"] = new_ka
        if not all(new_ka):
            problems.append("streams sent after the reload got no keep-alive during a 2.5 s "
                            "silence (%s): new workers with sse_keepalive_s = 1 did not take "
                            "them" % new_ka)
        now = set(fl.pool_workers(master))
        fig["new_workers"] = len(now - old_workers)
        if not (now - old_workers):
            problems.append("no new worker process after the reload (workers %s, before %s)"
                            % (sorted(now), sorted(old_workers)))
        gone = fl.wait_until(lambda: not any(fl.proc_alive(p) for p in old_workers),
                             OLD_GONE_S, 0.1)
        left = sorted(p for p in old_workers if fl.proc_alive(p))
        fig["old_gone_s"] = "%.1f" % (time.monotonic() - t_end) if gone else ">%.0f" % OLD_GONE_S
        if left:
            problems.append("old workers %s still run %.0fs after their streams ended; %s"
                            % (left, OLD_GONE_S, fl.thread_dump(left[0])))
        if fl.pool_master() != master:
            problems.append("the pool master changed (%s -> %s): a reload is not a restart"
                            % (master, fl.pool_master()))
        led, lp = fl.ledger(apps, since, prefix, SETTLE_S, watcher)
        fig.update(led)
        problems += lp
        # Back to the stack's config.
        fl.conf_write(old_conf)
        restored = True
        ok2, msg2 = reload_pool()
        if not ok2:
            fl.stack_up()  # the pool restarts on the changed aigw.conf
        fl.wait_healthy(30)
    finally:
        if not restored:
            fl.conf_write(old_conf)
            fl.stack_cmd("up")
    return fig, problems
