#!/usr/bin/python3
"""Data set of the usage benchmark (tests/bench/usage), made in SQL.

build    fills usage_requests with ROWS rows spread evenly over DAYS UTC days
         ending yesterday, for the bench app (1 row in SHARE) and OTHERS other
         apps (created here, straight in SQL), with several models, BYOK and
         metered, streams, failures; and usage_daily with exactly the rollup of
         those rows (INSERT ... SELECT ... GROUP BY over each loaded chunk).
         Rows are made by MariaDB's Sequence engine (seq_A_to_B), a chunk of
         whole days per statement, so nothing crosses the client.
verify   checks that usage_daily equals the GROUP BY of usage_requests (all
         apps, or --app only), group by group, to the last decimal.
expected prints, as JSON, the endpoint's answer computed straight from
         usage_requests for --app and --start/--end (UTC days, inclusive).
compare  reads the endpoint's JSON answer on stdin and checks it against
         `expected` (integers and exact decimals); exit 1 on any difference.
explain  EXPLAIN (and ANALYZE) of the endpoint's query, taken from
         db/usage_report.c, for --app, --start, --end.

Talks to the database as MariaDB's root over the stack's unix socket, with
the mariadb client (Debian python3, stdlib only).
"""
import argparse
import datetime
import decimal
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OTHER_PREFIX = "bench-u-"

# (model, endpoint, USD per prompt token, USD per completion token,
#  reasoning model, weight in 20 draws): the mix of a busy app. Prices are
# exact decimals, so every cost below is exact in DECIMAL(20,10).
MODELS = [
    ("openai/gpt-4o-mini", "chat", "0.00000015", "0.0000006", 0, 5),
    ("openai/gpt-4o", "chat", "0.0000025", "0.00001", 0, 2),
    ("anthropic/claude-3.5-sonnet", "chat", "0.000003", "0.000015", 0, 2),
    ("anthropic/claude-3-haiku", "chat", "0.00000025", "0.00000125", 0, 2),
    ("google/gemini-flash-1.5", "chat", "0.000000075", "0.0000003", 0, 2),
    ("meta-llama/llama-3.1-70b-instruct", "chat", "0.00000012", "0.0000003", 0, 2),
    ("mistralai/mistral-small", "chat", "0.0000002", "0.0000006", 0, 1),
    ("openai/o3-mini", "chat", "0.0000011", "0.0000044", 1, 1),
    ("deepseek/deepseek-r1", "chat", "0.00000055", "0.00000219", 1, 1),
    ("openai/text-embedding-3-small", "embeddings", "0.00000002", "0", 0, 2),
]
SLOTS = sum(m[5] for m in MODELS)


def sql_str(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"


class Db:
    def __init__(self, socket, name):
        self.base = ["mariadb", "--no-defaults", "--protocol=socket", "--socket=" + socket,
                     "-uroot", "--batch", "--skip-column-names", "--raw", name]

    def run(self, sql):
        """Runs SQL (one or more statements); returns the rows of the last
        result, as lists of strings (NULL is the string 'NULL')."""
        p = subprocess.run(self.base, input=sql, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("usage_dataset: SQL failed: %s\n%s" % (p.stderr.strip(), sql[:400]))
        return [line.split("\t") for line in p.stdout.splitlines()]

    def value(self, sql):
        rows = self.run(sql)
        return rows[0][0] if rows else None


def day_bounds(rows, days):
    """First row number (0-based) of each day j in 0..days: rows are spaced
    evenly, row n at floor(n * span / rows) microseconds from the start."""
    return [-(-j * rows // days) for j in range(days + 1)]


def chunk_sql(app, share, others, lo, hi, rows, days, start_day):
    """INSERT of rows lo..hi-1 (0-based), then the rollup of exactly those."""
    span_us = days * 86400 * 1000000
    g = ("SELECT seq AS n, CRC32(seq) AS h1, CRC32(CONCAT(seq, 'b')) AS h2 "
         "FROM seq_%d_to_%d" % (lo, hi - 1))
    # status first: failures carry no tokens and no cost.
    st = "(CASE g.h2 % 100 WHEN 0 THEN 502 WHEN 1 THEN 504 ELSE 200 END)"
    pt = "IF(%s = 200, 20 + (g.h1 DIV 320) %% 3000, 0)" % st
    ct = ("IF(%s = 200 AND m.endpoint = 'chat', (g.h2 DIV 200) %% 1200, 0)" % st)
    streamed = "(m.endpoint = 'chat' AND (g.h2 DIV 3) % 3 = 0)"
    return f"""
INSERT INTO usage_requests (id, request_id, app_id, key_id, endpoint, model_requested,
  model_billed, generation_id, prompt_tokens, completion_tokens, cached_tokens,
  reasoning_tokens, cost, cost_source, is_byok, status, streamed, aborted, ttft_us,
  duration_us, created_at, period_id)
SELECT g.n + 1,
  CONCAT('req_', LPAD(LOWER(HEX(g.n)), 24, '0')),
  IF(g.h1 % {share} = 0, {sql_str(app)},
     CONCAT({sql_str(OTHER_PREFIX)}, LPAD(1 + (g.h2 DIV 7) % {others}, 4, '0'))),
  NULL, m.endpoint, m.model,
  IF({st} = 200, m.model, NULL),
  IF({st} = 200, CONCAT('gen-', LPAD(LOWER(HEX(g.n)), 16, '0')), NULL),
  {pt}, {ct},
  IF(m.endpoint = 'chat' AND g.h2 % 4 = 0, {pt} DIV 2, 0),
  IF(m.reasoning, {ct} DIV 3, 0),
  {pt} * m.price_in + {ct} * m.price_out,
  CASE WHEN {st} <> 200 THEN 'none' WHEN g.h2 % 50 = 7 THEN 'generation'
       WHEN g.h2 % 50 = 8 THEN 'estimate' ELSE 'upstream' END,
  (g.h2 DIV 100) % 5 = 0,
  {st}, {streamed},
  {streamed} AND g.h1 % 200 = 3,
  IF({streamed}, 120000 + g.h1 % 400000, NULL),
  200000 + g.h2 % 6000000,
  TIMESTAMP('{start_day}') + INTERVAL (CAST(g.n AS DECIMAL(30,0)) * {span_us} DIV {rows}) MICROSECOND,
  NULL
FROM ({g}) AS g JOIN bench_models AS m ON m.slot = (g.h1 DIV 16) % {SLOTS};
INSERT INTO usage_daily (app_id, day, model, is_byok, requests, prompt_tokens,
  completion_tokens, cached_tokens, reasoning_tokens, cost, updated_at)
SELECT app_id, DATE(created_at), model, is_byok, COUNT(*), SUM(prompt_tokens),
  SUM(completion_tokens), SUM(cached_tokens), SUM(reasoning_tokens), SUM(cost),
  MAX(created_at)
FROM usage_requests WHERE id BETWEEN {lo + 1} AND {hi}
GROUP BY app_id, DATE(created_at), model, is_byok;
"""


# In-memory temporary tables for the GROUP BYs (a chunk's rollup is ~100 MB
# as a MEMORY table): an on-disk one lives in the server's tmpdir, /tmp, where
# any other MariaDB that starts deletes the "#sql*" files it finds.
TMP_TABLES = "SET SESSION tmp_table_size = 1073741824, max_heap_table_size = 1073741824;\n"


def session_sql():
    # Bulk load, this session only: the keys are unique by construction and
    # every app_id exists (made first), so the checks only cost time.
    return "SET SESSION unique_checks = 0, foreign_key_checks = 0;\n" + TMP_TABLES


def models_sql():
    rows = []
    slot = 0
    for model, endpoint, pin, pout, reasoning, weight in MODELS:
        for _ in range(weight):
            rows.append("(%d, %s, %s, %s, %s, %d)" %
                        (slot, sql_str(model), sql_str(endpoint), pin, pout, reasoning))
            slot += 1
    return ("CREATE TEMPORARY TABLE bench_models (slot INT PRIMARY KEY, "
            "model VARCHAR(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, "
            "endpoint VARCHAR(16) NOT NULL, price_in DECIMAL(20,10) NOT NULL, "
            "price_out DECIMAL(20,10) NOT NULL, reasoning BOOL NOT NULL);\n"
            "INSERT INTO bench_models VALUES %s;\n" % ", ".join(rows))


def apps_sql(others, start_day):
    # The other tenants: a plan mix, created before the first usage row.
    name = "CONCAT(%s, LPAD(seq, 4, '0'))" % sql_str(OTHER_PREFIX)
    plan = "ELT(1 + seq % 4, 'free', 'pro', 'pro', 'enterprise')"
    t = "TIMESTAMP('%s') - INTERVAL 1 DAY" % start_day
    return f"""
INSERT INTO apps (id, name, plan_id, billing_anchor, created_at, updated_at)
SELECT {name}, CONCAT('bench tenant ', seq), {plan}, {t}, {t}, {t} FROM seq_1_to_{others};
INSERT INTO app_plan_changes (app_id, old_plan, new_plan, changed_at)
SELECT {name}, NULL, {plan}, {t} FROM seq_1_to_{others};
"""


def cmd_build(db, a):
    if a.rows < a.days or a.days < 1 or a.others < 1 or a.share < 1:
        sys.exit("usage_dataset: need rows >= days >= 1, others >= 1, share >= 1")
    if db.value("SELECT COUNT(*) FROM apps WHERE id = %s" % sql_str(a.app)) != "1":
        sys.exit("usage_dataset: app %s does not exist (create it first)" % a.app)
    if db.value("SELECT EXISTS (SELECT 1 FROM usage_requests)") != "0" or \
            db.value("SELECT EXISTS (SELECT 1 FROM usage_daily)") != "0":
        sys.exit("usage_dataset: usage tables are not empty; build on a fresh stack")
    end = datetime.date.fromisoformat(a.end) if a.end else \
        datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=1)
    start = end - datetime.timedelta(days=a.days - 1)
    print("dataset: %d rows over %d days (%s .. %s), app %s gets 1 in %d, %d other apps, "
          "%d models" % (a.rows, a.days, start, end, a.app, a.share, a.others, len(MODELS)),
          flush=True)
    t0 = time.monotonic()
    db.run(session_sql() + apps_sql(a.others, start.isoformat()))
    bounds = day_bounds(a.rows, a.days)
    done_rows = 0
    for d0 in range(0, a.days, a.chunk_days):
        d1 = min(d0 + a.chunk_days, a.days)
        lo, hi = bounds[d0], bounds[d1]
        if hi <= lo:
            continue
        t = time.monotonic()
        # One session per chunk: the temporary models table is remade (20 rows).
        db.run(session_sql() + models_sql() +
               chunk_sql(a.app, a.share, a.others, lo, hi, a.rows, a.days, start.isoformat()))
        done_rows += hi - lo
        el = time.monotonic() - t0
        print("dataset: days %3d-%3d: %8d rows in %5.1f s; %9d/%d rows, %6.1f s, %.0f rows/s"
              % (d0, d1 - 1, hi - lo, time.monotonic() - t, done_rows, a.rows, el,
                 done_rows / el), flush=True)
    t = time.monotonic()
    # usage_monthly as the gateway keeps it: the sums of usage_daily per month
    # (sql/009_usage_monthly.sql fills it the same way).
    db.run(TMP_TABLES + "REPLACE INTO usage_monthly (app_id, month, model, is_byok, requests, "
           "prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost, updated_at) "
           "SELECT app_id, DATE_FORMAT(day, '%Y-%m-01'), model, is_byok, SUM(requests), "
           "SUM(prompt_tokens), SUM(completion_tokens), SUM(cached_tokens), "
           "SUM(reasoning_tokens), SUM(cost), MAX(updated_at) FROM usage_daily "
           "GROUP BY app_id, DATE_FORMAT(day, '%Y-%m-01'), model, is_byok;")
    print("dataset: usage_monthly filled from usage_daily in %.1f s" % (time.monotonic() - t),
          flush=True)
    db.run("ANALYZE TABLE usage_requests, usage_daily, usage_monthly;")
    r = db.run("SELECT (SELECT COUNT(*) FROM usage_requests), (SELECT COUNT(*) FROM usage_daily), "
               "(SELECT COUNT(*) FROM usage_requests WHERE app_id = %s), "
               "(SELECT COUNT(*) FROM usage_daily WHERE app_id = %s)" % (sql_str(a.app),
                                                                       sql_str(a.app)))[0]
    print("dataset: done in %.1f s: usage_requests %s rows (%s of %s), usage_daily %s rows "
          "(%s of %s)" % (time.monotonic() - t0, r[0], r[2], a.app, r[1], r[3], a.app),
          flush=True)
    if int(r[0]) != a.rows:
        sys.exit("usage_dataset: expected %d rows" % a.rows)


def cmd_verify(db, a):
    """Both directions, a chunk of days at a time: every group of the rows
    has an equal rollup row, and every rollup row has its group (equal
    counts plus the join)."""
    app = "app_id = %s AND " % sql_str(a.app) if a.app else ""
    lo, hi = db.run("SELECT MIN(day), MAX(day) FROM usage_daily WHERE %s TRUE" % app)[0]
    r = db.run("SELECT DATE(MIN(created_at)), DATE(MAX(created_at)) FROM usage_requests "
               "WHERE %s TRUE" % app)[0]
    if "NULL" in (lo, hi) + tuple(r):
        sys.exit("verify: no usage rows")
    first = min(datetime.date.fromisoformat(lo), datetime.date.fromisoformat(r[0]))
    last = max(datetime.date.fromisoformat(hi), datetime.date.fromisoformat(r[1]))
    t = time.monotonic()
    groups = equal = daily = 0
    d0 = first
    while d0 <= last:
        d1 = d0 + datetime.timedelta(days=a.chunk_days)
        g, e, d = (int(x) for x in db.run(TMP_TABLES + f"""
SELECT COUNT(*), COALESCE(SUM(d.app_id IS NOT NULL AND d.requests = g.requests
    AND d.prompt_tokens = g.pt AND d.completion_tokens = g.ct AND d.cached_tokens = g.cached
    AND d.reasoning_tokens = g.reasoning AND d.cost = g.cost AND d.updated_at = g.last), 0),
  (SELECT COUNT(*) FROM usage_daily WHERE {app} day >= '{d0}' AND day < '{d1}')
FROM (SELECT app_id, DATE(created_at) AS day, model, is_byok, COUNT(*) AS requests,
        SUM(prompt_tokens) AS pt, SUM(completion_tokens) AS ct, SUM(cached_tokens) AS cached,
        SUM(reasoning_tokens) AS reasoning, SUM(cost) AS cost, MAX(created_at) AS last
      FROM usage_requests WHERE {app} created_at >= '{d0}' AND created_at < '{d1}'
      GROUP BY app_id, DATE(created_at), model, is_byok) AS g
LEFT JOIN usage_daily AS d ON d.app_id = g.app_id AND d.day = g.day AND d.model = g.model
  AND d.is_byok = g.is_byok;""")[0])
        groups, equal, daily = groups + g, equal + e, daily + d
        d0 = d1
    ok = groups == equal == daily
    print("verify %s: %d groups of usage_requests (%s..%s), %d equal usage_daily rows, %d "
          "usage_daily rows: %s (%.1f s)" % (a.app or "all apps", groups, first, last, equal,
                                             daily, "OK" if ok else "MISMATCH",
                                             time.monotonic() - t), flush=True)
    if not ok:
        sys.exit(1)


def expected(db, app, start, end):
    """The endpoint's figures computed from usage_requests itself."""
    end_excl = datetime.date.fromisoformat(end) + datetime.timedelta(days=1)
    rows = db.run(f"""
SELECT model, is_byok, COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost)
FROM usage_requests WHERE app_id = {sql_str(app)} AND created_at >= '{start}'
  AND created_at < '{end_excl}' GROUP BY model, is_byok;""")
    D = decimal.Decimal

    def zero():
        return {"requests": 0, "promptTokens": 0, "completionTokens": 0, "totalTokens": 0,
                "cost": D(0)}

    total, byok, models = zero(), zero(), {}
    for model, is_byok, n, pt, ct, cost in rows:
        s = {"requests": int(n), "promptTokens": int(pt), "completionTokens": int(ct),
             "totalTokens": int(pt) + int(ct), "cost": D(cost)}
        targets = [total, models.setdefault(model, zero())] + ([byok] if is_byok == "1" else [])
        for t in targets:
            for k in s:
                t[k] += s[k]
    out = dict(total)
    out["totalCost"] = out.pop("cost")
    return {"appId": app, "startDate": start, "endDate": end, **out,
            "byModel": models,
            "byok": {"requests": byok["requests"], "totalTokens": byok["totalTokens"],
                     "cost": byok["cost"]}}


def cmd_expected(db, a):
    e = expected(db, a.app, a.start, a.end)
    print(json.dumps(e, default=str, indent=1))


def cmd_compare(db, a):
    got = json.loads(sys.stdin.read(), parse_float=decimal.Decimal)
    t = time.monotonic()
    exp = expected(db, a.app, a.start, a.end)
    took = time.monotonic() - t
    diffs = []

    def same(where, g, e):
        if isinstance(e, decimal.Decimal):
            ok = isinstance(g, (int, decimal.Decimal)) and not isinstance(g, bool) and \
                decimal.Decimal(g) == e
        else:
            ok = g == e and type(g) is type(e)
        if not ok:
            diffs.append("%s: endpoint %r, usage_requests %r" % (where, g, e))

    for k in ("appId", "startDate", "endDate", "requests", "promptTokens", "completionTokens",
              "totalTokens", "totalCost"):
        same(k, got.get(k), exp[k])
    for k in ("requests", "totalTokens", "cost"):
        same("byok." + k, got.get("byok", {}).get(k), exp["byok"][k])
    got_models = {m.get("model"): m for m in got.get("byModel", [])}
    if len(got_models) != len(got.get("byModel", [])):
        diffs.append("byModel: a model appears twice")
    for model in sorted(set(got_models) | set(exp["byModel"])):
        g, e = got_models.get(model), exp["byModel"].get(model)
        if g is None or e is None:
            diffs.append("byModel %s: only in the %s" % (model, "endpoint" if e is None
                                                          else "usage_requests sums"))
            continue
        for k in ("requests", "promptTokens", "completionTokens", "totalTokens", "cost"):
            same("byModel[%s].%s" % (model, k), g.get(k), e[k])
    print("compare: %s %s..%s: %d requests, %d models, totalCost %s, byok %d requests cost %s "
          "(direct SUM over usage_requests: %.2f s)" %
          (a.app, a.start, a.end, exp["requests"], len(exp["byModel"]), exp["totalCost"],
           exp["byok"]["requests"], exp["byok"]["cost"], took))
    for d in diffs:
        print("compare: DIFFERENT " + d)
    print("compare: %s" % ("endpoint == usage_requests sums, exactly" if not diffs
                           else "%d differences" % len(diffs)), flush=True)
    if diffs:
        sys.exit(1)


def report_sql():
    """The endpoint's SQL, from db/usage_report.c (adjacent C literals)."""
    src = open(os.path.join(ROOT, "db", "usage_report.c")).read()
    m = re.search(r"SQL_REPORT\[\]\s*=\s*((?:\s*\"(?:[^\"\\]|\\.)*\")+)\s*;", src)
    if not m:
        sys.exit("usage_dataset: no SQL_REPORT in db/usage_report.c")
    return "".join(re.findall(r"\"((?:[^\"\\]|\\.)*)\"", m.group(1)))


def report_params(app, start, end):
    """The endpoint's parameters for [start, end], split as db/usage_report.c
    does: app, whole months [m1, m2), app, edge days [a1, b1] and [a2, b2]."""
    import calendar
    s, e = datetime.date.fromisoformat(start), datetime.date.fromisoformat(end)

    def next_month(y, m):
        return (y + 1, 1) if m == 12 else (y, m + 1)
    y1, mo1 = (s.year, s.month) if s.day == 1 else next_month(s.year, s.month)
    last = calendar.monthrange(e.year, e.month)[1]
    y2, mo2 = next_month(e.year, e.month) if e.day == last else (e.year, e.month)
    if y1 * 12 + mo1 >= y2 * 12 + mo2:
        return [app, start, start, app, start, end, start, end]
    m1, m2 = "%04d-%02d-01" % (y1, mo1), "%04d-%02d-01" % (y2, mo2)
    a2, b2 = m2, end
    if s.day == 1:
        a1, b1 = a2, b2
    else:
        a1 = start
        b1 = "%04d-%02d-%02d" % (s.year, s.month, calendar.monthrange(s.year, s.month)[1])
    return [app, m1, m2, app, a1, b1, a2, b2]


def cmd_explain(db, a):
    sql = report_sql()
    params = [sql_str(x) for x in report_params(a.app, a.start, a.end)]
    if sql.count("?") != len(params):
        sys.exit("usage_dataset: the endpoint's query has %d parameters, expected %d: %s"
                 % (sql.count("?"), len(params), sql))
    for p in params:
        sql = sql.replace("?", p, 1)
    print("explain: " + sql)
    cols = ["id", "select_type", "table", "type", "possible_keys", "key", "key_len", "ref",
            "rows", "Extra"]
    for r in db.run("EXPLAIN " + sql + ";"):
        print("explain: " + "  ".join("%s=%s" % (c, v) for c, v in zip(cols, r)))
    an = json.loads("".join(x[0] for x in db.run("ANALYZE FORMAT=JSON " + sql + ";"))
                    .replace("\\n", "\n"))
    q = an["query_block"]

    def find_table(o):
        if isinstance(o, dict):
            if "table" in o and isinstance(o["table"], dict) and "table_name" in o["table"]:
                return o["table"]
            for v in o.values():
                t = find_table(v)
                if t:
                    return t
        elif isinstance(o, list):
            for v in o:
                t = find_table(v)
                if t:
                    return t
        return None

    t = find_table(q) or {}
    print("explain: ANALYZE: query %.2f ms; table %s access %s key %s used_key_parts %s, "
          "rows read %s" % (q.get("r_total_time_ms", float("nan")), t.get("table_name"),
                            t.get("access_type"), t.get("key"), t.get("used_key_parts"),
                            t.get("r_rows")), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("command", choices=["build", "verify", "expected", "compare", "explain"])
    p.add_argument("--socket", default=os.environ.get("AIGW_DB_SOCKET"))
    p.add_argument("--db", default=os.environ.get("AIGW_DB_NAME", "aigw"))
    p.add_argument("--app", help="the bench app (must exist for build)")
    p.add_argument("--rows", type=int, default=10000000)
    p.add_argument("--days", type=int, default=400)
    p.add_argument("--end", help="last day of data, YYYY-MM-DD (default yesterday, UTC)")
    p.add_argument("--share", type=int, default=10, help="1 row in SHARE is the bench app's")
    p.add_argument("--others", type=int, default=199, help="number of other apps")
    p.add_argument("--chunk-days", type=int, default=20)
    p.add_argument("--start", help="first day of the range (expected, compare, explain)")
    a = p.parse_args()
    if not a.socket:
        sys.exit("usage_dataset: --socket (or AIGW_DB_SOCKET) is needed")
    if a.command in ("build", "expected", "compare", "explain") and not a.app:
        sys.exit("usage_dataset: --app is needed")
    if a.command in ("expected", "compare", "explain") and not (a.start and a.end):
        sys.exit("usage_dataset: --start and --end are needed")
    db = Db(a.socket, a.db)
    {"build": cmd_build, "verify": cmd_verify, "expected": cmd_expected,
     "compare": cmd_compare, "explain": cmd_explain}[a.command](db, a)


if __name__ == "__main__":
    main()
