#!/usr/bin/env python3
"""The table of tests/bench/run: reads the work directory it leaves (meta.env, the
RESULT lines in out/PHASE/TARGET.ROUND, the raw samples in samples/) and prints one
dated markdown table, targets side by side. Latency percentiles are taken over the
samples of all rounds pooled; throughputs are the median of the rounds.

    report.py WORKDIR
"""
import math
import os
import re
import statistics
import sys

TARGETS = ["mock", "ent", "pro", "portkey", "floor"]


def read_meta(work):
    meta = {}
    with open(os.path.join(work, "meta.env")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            meta[k] = v
    return meta


def result(path):
    """The key=value pairs of the RESULT line in path (numbers as floats)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("RESULT"):
                    out = {}
                    for kv in line.split()[1:]:
                        k, _, v = kv.partition("=")
                        try:
                            out[k] = float(v)
                        except ValueError:
                            out[k] = v
                    return out
    except FileNotFoundError:
        pass
    return None


def rounds(work, phase, target):
    d = os.path.join(work, "out", phase)
    if not os.path.isdir(d):
        return []
    found = []
    for name in sorted(os.listdir(d)):
        base, _, rnd = name.rpartition(".")
        if base == target and rnd.isdigit():
            r = result(os.path.join(d, name))
            found.append(r if r is not None else {"errors": 1.0})
    return found


def db_per_request(work, target):
    """Median over the wrk32 rounds of MariaDB's statements, commits and CPU
    per request answered (the .db files measure_wrk32 writes), or "-"."""
    d = os.path.join(work, "out", "wrk32")
    per = []
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if not (name.startswith(target + ".") and name.endswith(".db")):
            continue
        with open(os.path.join(d, name)) as f:
            text = f.read()
        m = re.search(r"before=(\d+) (\d+) (\d+) after=(\d+) (\d+) (\d+) clk_tck=(\d+)", text)
        r = result(os.path.join(d, name[:-3]))
        if not m or not r or not r.get("requests"):
            continue
        q0, c0, t0, q1, c1, t1, hz = (int(x) for x in m.groups())
        n = r["requests"]
        per.append(((q1 - q0) / n, (c1 - c0) / n, (t1 - t0) / hz * 1000 / n))
    if not per:
        return "-"
    q, c, cpu = (statistics.median(v[i] for v in per) for i in range(3))
    return "%.1f / %.2f / %.3f ms" % (q, c, cpu)


def samples(work, name):
    try:
        with open(os.path.join(work, "samples", name)) as f:
            return sorted(int(x) for x in f if x.strip())
    except FileNotFoundError:
        return []


def pct(sorted_values, q):
    """Nearest-rank percentile, as bench_client computes it."""
    if not sorted_values:
        return None
    n = len(sorted_values)
    r = min(n, max(1, math.ceil(q * n - 1e-9)))
    return sorted_values[r - 1]


def ms(us, signed=False):
    if us is None:
        return "-"
    v = us / 1000.0
    sign = "+" if signed and v >= 0 else ""
    if abs(v) >= 100:
        return f"{sign}{v:.0f} ms"
    if abs(v) >= 10:
        return f"{sign}{v:.1f} ms"
    return f"{sign}{v:.2f} ms"


def rate(v):
    return "-" if v is None else f"{v:,.0f}/s"


def main():
    work = sys.argv[1]
    meta = read_meta(work)
    labels = {
        "mock": "mock direct",
        "ent": "aigw enterprise",
        "pro": "aigw pro",
        "portkey": f"Portkey {meta['PORTKEY']}",
        "floor": "floor (lighttpd + FastCGI)",
    }
    errors = {t: 0 for t in TARGETS}  # (the many-streams rows add into "ent")
    rows = []

    def row(name, cells):
        rows.append((name, [cells.get(t, "n/a") for t in TARGETS]))

    # open-loop latency at concurrency 1
    lat = {t: samples(work, f"lat1.{t}.lat") for t in TARGETS}
    for t in TARGETS:
        for r in rounds(work, "lat1", t):
            errors[t] += int(r.get("errors", 0))
    base = lat["mock"]
    lr, ls = meta["LAT_RATE"], meta["LAT_SECS"]
    row(f"latency, 1 connection, open loop {lr}/s: p50",
        {t: ms(pct(lat[t], 0.50)) for t in TARGETS})
    row("latency, same: p99", {t: ms(pct(lat[t], 0.99)) for t in TARGETS})
    row("latency, same: p99.9", {t: ms(pct(lat[t], 0.999)) for t in TARGETS})
    for q, name in ((0.50, "p50"), (0.99, "p99")):
        cells = {}
        for t in TARGETS:
            if t == "mock":
                cells[t] = "(base)"
            elif lat[t] and base:
                cells[t] = ms(pct(lat[t], q) - pct(base, q), signed=True)
            else:
                cells[t] = "-"
        row(f"**added latency {name}** (vs mock direct)", cells)
    row("latency samples (all rounds)", {t: f"{len(lat[t]):,}" for t in TARGETS})

    # closed loop, wrk
    def wrk_phase(phase, targets):
        out = {}
        for t in targets:
            rs = rounds(work, phase, t)
            for r in rs:
                errors[t] += int(r.get("errors", 0))
            vals = [r.get("rps", 0.0) for r in rs]
            out[t] = statistics.median(vals) if vals else None
        return out, {t: rounds(work, phase, t) for t in targets}

    w1, _ = wrk_phase("wrk1", TARGETS)
    row("throughput, 1 connection (wrk)", {t: rate(w1[t]) for t in TARGETS})
    w32, w32r = wrk_phase("wrk32", TARGETS)
    row("**throughput, 32 connections (wrk)**", {t: rate(w32[t]) for t in TARGETS})
    row("MariaDB per request at 32 connections: statements / commits / server CPU",
        {t: db_per_request(work, t) for t in TARGETS})
    row("32 connections: p99 (wrk, closed loop, median of rounds)",
        {t: ms(statistics.median([r["p99"] for r in w32r[t] if "p99" in r]))
         if any("p99" in r for r in w32r[t]) else "-" for t in TARGETS})
    slow_targets = ["mock", "ent", "pro", "portkey"]
    sl, _ = wrk_phase("slow32", slow_targets)
    ideal = 32 * 1000.0 / float(meta["SLOW_MS"])
    row(f"**upstream {meta['SLOW_MS']} ms, 32 connections**: req/s (% of ideal {ideal:,.0f}/s)",
        {t: "-" if sl[t] is None else f"{sl[t]:,.0f}/s ({100 * sl[t] / ideal:.0f} %)"
         for t in slow_targets})

    if float(meta.get("CONC_SECS", "0") or 0) > 0:
        # The client's "achieved" counts the last second of answers too: the
        # mock direct's is the ideal the others are compared with.
        conc_targets = ["mock", "ent", "portkey"]
        got = {t: rounds(work, "conc1000", t) for t in conc_targets}
        for t in conc_targets:
            for r in got[t]:
                errors[t] += int(r.get("errors", 0))

        def achieved(t):
            vals = [r.get("achieved", 0.0) for r in got[t]]
            return statistics.median(vals) if vals else None
        ideal = achieved("mock")
        cells, lat_cells = {}, {}
        for t in conc_targets:
            a = achieved(t)
            if a is None:
                cells[t] = lat_cells[t] = "-"
                continue
            ok = sum(int(r.get("ok", 0)) for r in got[t])
            due = sum(int(r.get("due", 0)) for r in got[t])
            share = f" ({100 * a / ideal:.0f} % of the mock's)" if ideal and t != "mock" else ""
            cells[t] = f"{ok:,}/{due:,} answered, {a:,.0f}/s{share}"
            p50 = statistics.median([r["p50"] for r in got[t] if "p50" in r])
            p99 = statistics.median([r["p99"] for r in got[t] if "p99" in r])
            lat_cells[t] = f"{ms(p50)} / {ms(p99)}"
        row("**1,000 at once, upstream 1 s** (open loop 1,000/s for "
            f"{meta['CONC_SECS']} s): answered, rate", cells)
        row("1,000 at once: latency p50 / p99 (the upstream's 1 s included)", lat_cells)

    # streams
    for n in meta["STREAM_SETS"].split():
        phase = f"streams{n}"
        ttfe = {t: samples(work, f"{phase}.{t}.ttfe") for t in slow_targets}
        gap = {t: samples(work, f"{phase}.{t}.gap") for t in slow_targets}
        stalls, done, total = {}, {}, {}
        for t in slow_targets:
            rs = rounds(work, phase, t)
            stalls[t] = sum(int(r.get("stalls", 0)) for r in rs)
            done[t] = sum(int(r.get("completed", 0)) for r in rs)
            total[t] = sum(int(r.get("streams", int(n))) for r in rs)
            errors[t] += sum(int(r.get("errors", 0)) for r in rs)
        head = (f"{n} streams x {meta['DELTAS']} deltas {meta['INTERVAL_MS']} ms apart, "
                f"opened over {int(n) * int(meta['RAMP_US']) // 1000} ms")
        row(f"{head}: TTFE p50 / p99",
            {t: f"{ms(pct(ttfe[t], 0.5))} / {ms(pct(ttfe[t], 0.99))}" for t in slow_targets})
        b = pct(ttfe["mock"], 0.99)
        row(f"**{n} streams: TTFE p99 added** (vs mock direct)",
            {t: "(base)" if t == "mock" else
             (ms(pct(ttfe[t], 0.99) - b, signed=True) if ttfe[t] and b is not None else "-")
             for t in slow_targets})
        row(f"**{n} streams: gap p99** (paced {meta['INTERVAL_MS']} ms)",
            {t: ms(pct(gap[t], 0.99)) for t in slow_targets})
        row(f"{n} streams: stalls (gap > {meta['STALL_MS']} ms)",
            {t: f"{stalls[t]}" for t in slow_targets})
        row(f"**{n} streams: completed**",
            {t: f"{done[t]}/{total[t]}" for t in slow_targets})
    # many streams: aigw enterprise through each web server (the same pool), each
    # against the mock direct at the same count; in the aigw enterprise column
    for phase, target, server, n in (("manyL", "ent", "lighttpd", meta.get("MANY_L")),
                                     ("manyA", "apache", "Apache mod_proxy_fcgi", meta.get("MANY_A"))):
        if not n or not rounds(work, phase, target):
            continue
        pair = {"mock": "mock", "ent": target}
        ttfe = {c: samples(work, f"{phase}.{t}.ttfe") for c, t in pair.items()}
        gap = {c: samples(work, f"{phase}.{t}.gap") for c, t in pair.items()}
        stalls, done, total = {}, {}, {}
        for c, t in pair.items():
            rs = rounds(work, phase, t)
            stalls[c] = sum(int(r.get("stalls", 0)) for r in rs)
            done[c] = sum(int(r.get("completed", 0)) for r in rs)
            total[c] = sum(int(r.get("streams", int(n))) for r in rs)
            errors[c] += sum(int(r.get("errors", 0)) for r in rs)
        per, idle, threads = [], [], []
        d = os.path.join(work, "out", phase)
        for name in sorted(os.listdir(d)):
            if name.startswith(target + ".") and name.endswith(".mem"):
                m = re.search(r"idle_kb=(\d+) peak_kb=(\d+) streams=(\d+) threads=(\d+)",
                              open(os.path.join(d, name)).read())
                if m:
                    i, pk, k, th = (int(x) for x in m.groups())
                    per.append((pk - i) / k)
                    idle.append(i)
                    threads.append(th)
        head = (f"{n} streams via {server} ({meta['MANY_DELTAS']} deltas "
                f"{meta['MANY_INTERVAL_MS']} ms apart, opened over "
                f"{int(n) * int(meta['RAMP_US']) // 1000} ms, pool {meta['MANY_POOL']})")
        two = ("mock", "ent")
        row(f"**{head}: completed**", {c: f"{done[c]}/{total[c]}" for c in two})
        row(f"{n} streams via {server}: TTFE p50 / p99",
            {c: f"{ms(pct(ttfe[c], 0.5))} / {ms(pct(ttfe[c], 0.99))}" for c in two})
        cells = {"mock": "(base)", "ent": "-"}
        if ttfe["ent"] and ttfe["mock"]:
            cells["ent"] = (f"{ms(pct(ttfe['ent'], 0.5) - pct(ttfe['mock'], 0.5), signed=True)} / "
                            f"{ms(pct(ttfe['ent'], 0.99) - pct(ttfe['mock'], 0.99), signed=True)}")
        row(f"**{n} streams via {server}: TTFE added p50 / p99** (vs mock direct)", cells)
        row(f"**{n} streams via {server}: gap p99** (paced {meta['MANY_INTERVAL_MS']} ms)",
            {c: ms(pct(gap[c], 0.99)) for c in two})
        row(f"{n} streams via {server}: stalls (gap > {meta['MANY_STALL_MS']} ms)",
            {c: str(stalls[c]) for c in two})
        row(f"**{n} streams via {server}: pool memory per stream** (PSS at the plateau "
            f"- idle, all pool processes)",
            {"mock": "n/a", "ent": "-" if not per else
             f"{statistics.median(per):.0f} KiB (idle {statistics.median(idle) / 1024:.0f} MiB "
             f"= {statistics.median(idle) / max(threads):.0f} KiB x {max(threads)} threads)"})
    row("errors, all measures", {t: str(errors[t]) for t in TARGETS})

    # print
    out = []
    out.append(f"## aigw side by side ({meta['MODE']} run), {meta['DATE']}")
    out.append("")
    out.append(f"Machine: {meta['NPROC']} cores (`nproc`), {meta['CPU']}, {meta['MEM']}, "
               f"{meta['OS']}, kernel {meta['KERNEL']}; load average before "
               f"{meta['LOAD_BEFORE']}, after {meta['LOAD_AFTER']}.")
    out.append(f"aigw: tree {meta['COMMIT']}, `{meta['BINARY']}`; lighttpd {meta['LIGHTTPD']}, pool "
               f"{meta['POOL']} threads, MariaDB {meta['MARIADB']}; Portkey gateway "
               f"{meta['PORTKEY']} on node {meta['NODE']}; floor: the same lighttpd settings + "
               f"`fcgi_hello` ({meta['FLOOR_THREADS']} threads); wrk {meta['WRK']}. "
               f"{meta['ROUNDS']} interleaved rounds per measure (latency {meta['LAT_SECS']} s, "
               f"wrk {meta['WRK_SECS']} s each); everything on 127.0.0.1, sharing the cores; "
               f"run took {meta['ELAPSED']} s.")
    if meta.get("MANY_L"):
        out.append(f"Many streams: aigw enterprise through lighttpd and through Apache "
                   f"{meta.get('APACHE', '?')} mod_proxy_fcgi (`deploy/apache/aigw-proxy-fcgi.conf.in`) "
                   f"in front of the same pool ({meta['MANY_POOL']} threads), "
                   f"{meta['MANY_ROUNDS']} round(s); the rows count all rounds, "
                   f"in the aigw enterprise column.")
    out.append("")
    out.append("| measure | " + " | ".join(labels[t] for t in TARGETS) + " |")
    out.append("|---|" + "---|" * len(TARGETS))
    for name, cells in rows:
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
