#!/usr/bin/env python3
"""200 racing requests on one free app through two gateways that write to two
nodes of a Galera cluster (tests/galera/run drives it). Half the requests go
to each gateway, all released at once. Checks: no 5xx, no request slower than
5 s, every 200 has exactly one usage row and the simulators answered exactly
those generations, the settled total is at most the $0.10 allowance and is the
period's used_usd, nothing is left reserved. Prints the figures; exit 1 on a
failed check.

usage: race.py --env A/stack.env --env B/stack.env --socket NODE1_SOCKET [--requests N]"""

import argparse
import concurrent.futures
import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.parse
from decimal import Decimal

ALLOWANCE = Decimal("0.10")
MODEL = "openai/gpt-4o"
WORDS = 400
SLOW_S = 5.0


def read_env(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                out[k] = v.strip("'\"")
    return out


def http_call(base, method, path, body=None, token=None, timeout=60):
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        hdrs = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if token:
            hdrs["Authorization"] = "Bearer " + token
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
    finally:
        conn.close()


def sql(socket, db, query):
    out = subprocess.run(["mariadb", "--no-defaults", "--socket=" + socket, "-uroot", "--batch",
                          "--skip-column-names", db, "-e", query],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def admin(env, *args):
    return subprocess.run([env["AIGW_ADMIN"], "--config", env["AIGW_CONFIG"], *args],
                          capture_output=True, text=True, timeout=60, check=True).stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", action="append", required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--requests", type=int, default=200)
    a = ap.parse_args()
    envs = [read_env(p) for p in a.env]
    db = envs[0]["AIGW_DB_NAME"]
    n = a.requests
    started = time.monotonic()

    app = admin(envs[0], "app", "create", "--plan", "free")
    key = admin(envs[0], "key", "create", "--app", app)
    sims = sorted({e["AIGW_SIM_URL"] for e in envs if e.get("AIGW_SIM_URL")})
    for s in sims:
        http_call(s, "POST", "/_sim/reset", body={})
    # Both gateways know the app and key before the race (caches warm).
    for e in envs:
        http_call(e["AIGW_BASE_URL"], "GET", "/v1/%s/models" % app, token=key)

    body = {"model": MODEL, "max_tokens": WORDS, "sim": {"words": WORDS},
            "messages": [{"role": "user", "content": "hi"}]}
    barrier = threading.Barrier(n, timeout=60)
    path = "/v1/%s/chat/completions" % app

    def one(i):
        base = envs[i % len(envs)]["AIGW_BASE_URL"]
        barrier.wait()
        t0 = time.monotonic()
        try:
            status, hdrs, _ = http_call(base, "POST", path, body=body, token=key, timeout=60)
        except Exception as ex:  # a hang or a reset counts as a failure
            status, hdrs = 599, {"error": repr(ex)}
        return status, time.monotonic() - t0, hdrs

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        results = [f.result() for f in [pool.submit(one, i) for i in range(n)]]

    by_status = {}
    for st, _, _ in results:
        by_status[st] = by_status.get(st, 0) + 1
    ok_ids = sorted(h.get("x-request-id", "") for st, _, h in results if st == 200)
    slowest = max(t for _, t, _ in results)
    fails = []

    # The usage rows are written off the request path: wait for them.
    deadline = time.monotonic() + 30
    while True:
        rows = sql(a.socket, db, "SELECT request_id, CAST(cost AS CHAR), generation_id "
                   "FROM usage_requests WHERE app_id = '%s'" % app)
        res = sql(a.socket, db, "SELECT COUNT(*) FROM credit_reservations WHERE app_id = '%s'"
                  % app)[0][0]
        if (len(rows) >= len(ok_ids) and res == "0") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    period = sql(a.socket, db, "SELECT CAST(used_usd AS CHAR), CAST(reserved_usd AS CHAR) "
                 "FROM billing_periods WHERE app_id = '%s'" % app)
    gens = []
    for s in sims:
        _, _, raw = http_call(s, "GET", "/_sim/requests?since=0")
        gens += [e.get("generation_id") for e in json.loads(raw)
                 if e.get("endpoint") == "chat" and e.get("generation_id")]

    row_ids = sorted(r[0] for r in rows)
    settled = sum((Decimal(r[1]) for r in rows), Decimal(0))
    row_gens = sorted(r[2] for r in rows)
    five = sum(c for st, c in by_status.items() if st >= 500)
    if five:
        fails.append("%d responses 5xx" % five)
    slow = sum(1 for _, t, _ in results if t > SLOW_S)
    if slow:
        fails.append("%d requests slower than %.0f s" % (slow, SLOW_S))
    if set(by_status) - {200, 402}:
        fails.append("statuses other than 200/402: %r" % by_status)
    if row_ids != ok_ids:
        fails.append("usage rows %d for %d answers 200 (missing %d, extra %d)"
                     % (len(row_ids), len(ok_ids), len(set(ok_ids) - set(row_ids)),
                        len(set(row_ids) - set(ok_ids))))
    if sorted(gens) != row_gens:
        fails.append("the simulators answered %d generations, rows name %d"
                     % (len(gens), len(row_gens)))
    if settled > ALLOWANCE:
        fails.append("settled %s > %s" % (settled, ALLOWANCE))
    if len(period) != 1 or Decimal(period[0][0]) != settled:
        fails.append("period used_usd %r != the rows' %s" % (period, settled))
    if len(period) == 1 and Decimal(period[0][1]) != 0:
        fails.append("reserved_usd %s left" % period[0][1])
    if res != "0":
        fails.append("%s reservations left" % res)
    print("galera race: app %s, %d requests: %d x 200, %d x 402, %d x 5xx, other %r; "
          "slowest %.2f s; %d usage rows, %d generations; settled $%s (used $%s, reserved $%s); "
          "%.1f s" % (app, n, by_status.get(200, 0), by_status.get(402, 0), five,
                      {k: v for k, v in by_status.items() if k not in (200, 402) and k < 500},
                      slowest, len(rows), len(gens), settled,
                      period[0][0] if period else "?", period[0][1] if period else "?",
                      time.monotonic() - started), flush=True)
    for f in fails:
        print("FAIL: " + f, flush=True)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
