"""drain_cut: the pool is stopped (SIGTERM to its master, as deploy/stack
does) while 20 streams run that last longer than the drain, then started
again (deploy/stack up).

aigw.conf gets drain_timeout_s = 3 (the pool restarted with it while idle);
20 streams (free and enterprise apps, 30 words paced 500 ms: 15 s) are
started and, once each has its first event, the master gets SIGTERM.

Asserts: the build knows drain_timeout_s; every stream ends, within the drain
+ 2 s of the SIGTERM, with an SSE error event whose code is 503 (never a
silent cut, never [DONE] since they were longer than the drain); the pool
stops within the drain + 5 s; after the start, within 15 s, every generation
the simulator answered has exactly one usage row (the cut ones with a cost
from the generation record or an estimate, cost_source saying which), no
reservation is held, the ledger adds up and aigw-admin check is clean.
aigw.conf is restored at the end."""

import os
import signal
import time

import faultlib as fl

NAME = "drain_cut"
DRAIN_S = 3
STREAMS = 20
WORDS = 30
PACE_MS = 500
SETTLE_S = 15.0
SILENCE_MS = 15000   # fault_drain_waiting: the upstream answers after 15 s


def run(ctx):
    return drain_run(ctx, STREAMS, 0)


def drain_run(ctx, streams, waiting_n):
    """The pool stopped with `streams` streams and `waiting_n` requests not
    streamed in flight (fault_drain_waiting runs the latter alone)."""
    problems = []
    fig = {}
    known, msg = fl.conf_key_known("drain_timeout_s", str(DRAIN_S))
    if not known:
        raise fl.TestFailure("this build does not know aigw.conf's drain_timeout_s (%s)" % msg)
    apps = fl.make_apps(("free", "enterprise"))
    prefix = ctx.prefix
    old_conf = fl.conf_set("drain_timeout_s", str(DRAIN_S))
    try:
        fl.stack_up()  # restarts the idle pool on the changed aigw.conf
        fl.wait_healthy(30)
        since = fl.sim_seq()
        burst = fl.Burst(prefix, apps, streams, WORDS, PACE_MS, timeout=40).start()
        # Requests not streamed, waiting on a slow upstream answer.
        waiting = fl.Burst(prefix + "-wait", apps, waiting_n, 8, 0, stream=False, timeout=40,
                           sim={"scenario": "silence", "silence_ms": SILENCE_MS}).start()
        started = burst.wait_started(10)
        if started < streams:
            problems.append("only %d of %d streams had their first event within 10 s"
                            % (started, streams))
        upstream = fl.wait_until(
            lambda: len(fl.sim_entries(since, prefix + "-wait")) >= waiting_n, 10, 0.1)
        if not upstream:
            problems.append("the %d waiting requests did not all reach the simulator within "
                            "10 s" % waiting_n)
        master = fl.pool_master()
        if master is None:
            raise fl.TestFailure("no pool master after deploy/stack up")
        watcher = fl.RowWatcher(apps)
        t_stop = time.monotonic()
        os.kill(master, signal.SIGTERM)
        watcher.start(t_stop)
        fl.log("SIGTERM to the pool master %d with %d streams and %d waiting requests in "
               "flight" % (master, started, waiting_n))
        gone = fl.wait_until(lambda: not fl.proc_alive(master), DRAIN_S + 20, 0.05)
        stop_s = time.monotonic() - t_stop
        fig["pool_stop_s"] = "%.1f" % stop_s
        if not gone:
            problems.append("the pool master still runs %ds after SIGTERM" % (DRAIN_S + 20))
        elif stop_s > DRAIN_S + 5 + (SILENCE_MS / 1000.0 if waiting_n else 0):
            # a waiting request's upstream answer is awaited (it is billed in
            # full): the pool stops once the upstream has answered
            problems.append("the pool took %.1fs to stop with drain_timeout_s = %d"
                            % (stop_s, DRAIN_S))
        calls = burst.join(30)
        waited = waiting.join(30)
        fig.update(fl.call_figures(calls + waited))
        if waiting_n:
            fig["waiting_503"] = "%d/%d" % (sum(c.status == 503 for c in waited), waiting_n)
        for c in waited:
            p = fl.check_error_503(c) if c.status == 503 else \
                "%s: %s" % (c.tag, c.describe())
            if p is None and not c.retry_after:
                p = "%s: 503 without Retry-After" % c.tag
            if p is None and c.t1 - t_stop > DRAIN_S + 2:
                p = "%s: answered %.1fs after SIGTERM (drain %ds)" % (c.tag, c.t1 - t_stop,
                                                                     DRAIN_S)
            if p:
                problems.append("a request waiting for the upstream at the end of the drain "
                                "did not get 503 + Retry-After in time: " + p)
        ends = [c.t1 - t_stop for c in calls if c.t1 is not None]
        fig["cut_at_s"] = "%.1f-%.1f" % (min(ends), max(ends)) if ends else "-"
        not_503 = [c for c in calls if c.error_event is None or
                   c.error_event.get("code") != 503]
        if not_503:
            problems.append("%d of %d streams cut by the stop did not end with an error event "
                            "of code 503: %s" % (len(not_503), streams,
                                                 "; ".join(c.describe() for c in not_503[:4])))
        late = [c for c in calls if c.t1 is not None and c.t1 - t_stop > DRAIN_S + 2]
        if late:
            problems.append("%d streams ended more than %ds after SIGTERM (drain %ds): %s" % (
                len(late), DRAIN_S + 2, DRAIN_S, ", ".join(
                    "%s at %.1fs" % (c.tag, c.t1 - t_stop) for c in late[:5])))
        t_start = time.monotonic()
        fl.stack_up()
        fl.wait_healthy(30)
        fig["restart_s"] = "%.1f" % (time.monotonic() - t_start)
        led, lp = fl.ledger(apps, since, prefix, SETTLE_S, watcher)
        fig.update(led)
        problems += lp
        rows = {r["generation_id"]: r for r in led.get("_rows", [])}
        cut_tags = {c.tag for c in calls if not c.done}
        waited_tags = {c.tag for c in waited if c.status != 200}
        wrong = []
        for g, e in led.get("_gens", {}).items():
            user = e["body"]["user"]
            row = rows.get(g)
            if row is None:
                continue
            # a cut stream: costed from the generation record (or an
            # estimate); a waiting request answered 503 at the drain's end:
            # its upstream answer was awaited, so the upstream's own cost
            if user in cut_tags and row["cost_source"] not in ("generation", "estimate"):
                wrong.append("%s: cost_source %s" % (g, row["cost_source"]))
            if user in waited_tags and (row["cost_source"] not in ("upstream", "generation",
                                                                   "estimate")
                                        or row["status"] != "503"):
                wrong.append("%s: cost_source %s, status %s (the client got 503)"
                             % (g, row["cost_source"], row["status"]))
        cut_tags |= waited_tags
        cut_gens = [g for g, e in led.get("_gens", {}).items()
                    if e["body"]["user"] in cut_tags]
        lat = watcher.settle_latency(cut_gens)
        # from the fault to the last row of the requests it cut
        fig["cut_settle_s"] = "%.1f" % lat if lat is not None else "-"
        if wrong:
            problems.append("rows of cut requests without the cost they should have: %s"
                            % "; ".join(wrong[:5]))
    finally:
        fl.conf_write(old_conf)
        if fl.pool_master() is None:
            fl.stack_cmd("up")
        else:
            fl.stack_up()  # the pool restarts without the short drain
    return fig, problems
