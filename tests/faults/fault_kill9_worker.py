"""kill9_worker: kill -9 of a pool worker while 20 streams are in flight.

20 streams (a free app and an enterprise app, 24 words paced 250 ms: about 6
s each) are started; once each has its first event, the worker holding the
most requests in flight is killed with SIGKILL.

Asserts: some streams were cut (the kill hit streams), the others end with
[DONE]; the pool has all its workers again within 3 s; a new request is
served; within 10 s of the kill every generation the simulator answered has
exactly one usage row, the cut streams' rows say aborted with a cost from
the generation record or an estimate, no reservation is held, the ledger
adds up and aigw-admin check is clean."""

import os
import signal
import time
import urllib.parse

import faultlib as fl

NAME = "kill9_worker"
STREAMS = 20
WORDS = 24
PACE_MS = 250
SETTLE_S = 10.0
RESTART_WITHIN_S = 3.0


def run(ctx):
    problems = []
    fig = {}
    apps = fl.make_apps(("free", "enterprise"))
    prefix = ctx.prefix
    fl.wait_healthy(30)
    before = fl.wait_pool_settled()
    master = fl.pool_master()
    if master is None or len(before) < 2:
        raise fl.TestFailure("the pool does not run with at least 2 workers (master %s, "
                             "workers %s)" % (master, before))
    since = fl.sim_seq()
    burst = fl.Burst(prefix, apps, STREAMS, WORDS, PACE_MS, timeout=30).start()
    started = burst.wait_started(10)
    if started < STREAMS:
        problems.append("only %d of %d streams had their first event within 10 s"
                        % (started, STREAMS))
    sim_port = urllib.parse.urlsplit(fl.gw.sim_url()).port
    # The worker serving the most requests (FastCGI connections), then the
    # one with the most upstream connections.
    load = {pid: (fl.requests_in_flight(pid), fl.sockets_to_port(pid, sim_port))
            for pid in before}
    victim = max(before, key=lambda p: load[p])
    watcher = fl.RowWatcher(apps)
    t_kill = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    watcher.start(t_kill)
    fl.log("kill -9 worker %d ((requests, upstream connections) per worker: %s)"
           % (victim, load))
    fig["victim_requests"] = load[victim][0]

    def restarted():
        now = fl.pool_workers(master)
        return len(now) >= len(before) and victim not in now and now
    now = fl.wait_until(restarted, RESTART_WITHIN_S + 2, 0.05)
    restart_s = time.monotonic() - t_kill
    fig["worker_restart_s"] = "%.1f" % restart_s
    if not now or restart_s > RESTART_WITHIN_S:
        problems.append("the pool did not have %d workers again within %.0fs of the kill "
                        "(workers now: %s)" % (len(before), RESTART_WITHIN_S,
                                               fl.pool_workers(master)))
    after = fl.do_call(apps[0], prefix + "-after", False)
    fig["after_kill_request"] = after.status
    if after.status != 200:
        problems.append("a request after the kill was not served: %s" % after.describe())
    calls = burst.join(WORDS * PACE_MS / 1000.0 + 30)
    calls.append(after)
    fig.update(fl.call_figures(calls))
    cut = [c for c in calls if c.stream and not c.done]
    if not cut:
        problems.append("no stream was cut: the killed worker served none of them")
    bad = [c for c in calls if c.stream and (c.status != 200 or c.exc)]
    if bad:
        problems.append("streams refused or failed before their answer: %s"
                        % "; ".join(c.describe() for c in bad[:5]))
    # What the client sees of a dead backend is the web server's business; the
    # ledger is ours.
    led, lp = fl.ledger(apps, since, prefix, max(1.0, SETTLE_S - (time.monotonic() - t_kill)),
                        watcher)
    fig.update(led)
    problems += lp
    rows = {r["generation_id"]: r for r in led.get("_rows", [])}
    cut_tags = {c.tag for c in cut}
    wrong = []
    for g, e in led.get("_gens", {}).items():
        if e["body"]["user"] in cut_tags and g in rows:
            r = rows[g]
            if r["cost_source"] not in ("generation", "estimate") or r["aborted"] != "1":
                wrong.append("%s: cost_source %s aborted %s" % (g, r["cost_source"],
                                                                r["aborted"]))
    cut_gens = [g for g, e in led.get("_gens", {}).items()
                if e["body"]["user"] in cut_tags]
    lat = watcher.settle_latency(cut_gens)
    # from the fault to the last row of the requests it cut
    fig["cut_settle_s"] = "%.1f" % lat if lat is not None else "-"
    if wrong:
        problems.append("rows of the cut streams not marked aborted with a generation or "
                        "estimate cost: %s" % "; ".join(wrong[:5]))
    return fig, problems
