"""db_kill: MariaDB killed (kill -9 of mariadbd) for 10 s under the load of
20 clients (streamed and not, a free app and an enterprise app), then
brought back with deploy/stack db-start.

Asserts: every answer is 200 or a 503 in the error shape; a 503 never went
upstream (refused before the call: the free plan's reservation needs the
database); both apps are served again within 15 s of the database's return;
within 30 s of it every generation the simulator answered has exactly one
usage row, no reservation is held, used <= allowance, the ledger adds up and
aigw-admin check is clean."""

import os
import signal
import time

import faultlib as fl

NAME = "db_kill"
CLIENTS = 20
WARM_S = 2.0
OUTAGE_S = 10.0
RECOVER_WITHIN_S = 15.0
AFTER_S = 2.0
SETTLE_S = 30.0


def run(ctx):
    problems = []
    apps = fl.make_apps(("free", "enterprise"))
    prefix = ctx.prefix
    since = fl.sim_seq()
    fl.wait_healthy(30)
    load = fl.Load(prefix, apps, clients=CLIENTS, max_s=90, words=8, pace_ms=25).start()
    time.sleep(WARM_S)
    pid = fl.mariadbd_pid()
    if pid is None:
        load.stop()
        raise fl.TestFailure("no running mariadbd found through the stack's pid files")
    watcher = fl.RowWatcher(apps)
    t_kill = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    watcher.start(t_kill)
    fl.log("kill -9 mariadbd %d" % pid)
    db_back = None
    try:
        fl.wait_until(lambda: not fl.proc_alive(pid), 10, 0.05)
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - t_kill)))
        rc, out = fl.stack_cmd("db-start")
        if rc != 0:
            problems.append("deploy/stack db-start failed (exit %d): %s" % (rc, out[-800:]))
        db_back = time.monotonic()
        fl.log("MariaDB back after %.1fs" % (db_back - t_kill))
        # Load goes on until both apps were served after the return (bounded).

        def served_again():
            calls = list(load.calls)
            return all(any(c.app is a and c.status == 200 and c.t0 >= db_back for c in calls)
                       for a in apps)
        recovered = fl.wait_until(served_again, RECOVER_WITHIN_S, 0.1)
        recover_s = time.monotonic() - db_back
        time.sleep(AFTER_S)
    finally:
        calls = load.stop()
        if fl.mariadbd_pid() is None:  # whatever failed, leave a database behind
            fl.stack_cmd("db-start")
    fig = fl.call_figures(calls)
    fig["outage_s"] = "%.1f" % (db_back - t_kill)
    fig["recovered_s"] = "%.1f" % recover_s if recovered else ">%.0f" % RECOVER_WITHIN_S
    if not recovered:
        problems.append("not every app was served again within %.0fs of MariaDB's return"
                        % RECOVER_WITHIN_S)
    during = [c for c in calls if t_kill <= c.t0 < db_back]
    fig["during_outage"] = "%d (%d x 503)" % (len(during), sum(c.status == 503 for c in during))
    bad = [c for c in calls if c.status not in (200, 503)]
    if bad:
        problems.append("%d answers neither 200 nor 503: %s" % (
            len(bad), "; ".join(c.describe() for c in bad[:5])))
    shape = [p for p in (fl.check_error_503(c) for c in calls if c.status == 503) if p]
    if shape:
        problems.append("; ".join(shape[:3]))
    upstream = fl.sim_tags(since, prefix)
    refused_late = [c for c in calls if c.status == 503 and c.tag in upstream]
    fig["503_after_upstream"] = len(refused_late)
    if refused_late:
        problems.append("%d requests answered 503 after they were sent upstream: %s" % (
            len(refused_late), ", ".join(c.tag for c in refused_late[:5])))
    cut = [c for c in calls if c.stream and c.status == 200 and not c.done]
    if cut:
        problems.append("%d streams did not end with [DONE]: %s" % (
            len(cut), "; ".join(c.describe() for c in cut[:3])))
    if not any(c.status == 503 for c in during):
        problems.append("no request was refused while MariaDB was down (the fault did not "
                        "reach the gateway?)")
    led, lp = fl.ledger(apps, since, prefix, SETTLE_S, watcher)
    fig.update(led)
    problems += lp
    return fig, problems
