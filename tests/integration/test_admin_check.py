"""aigw-admin check against the stack's real database: clean after real
traffic (chat, embeddings, two models, BYOK), then each invariant broken by
hand with SQL (as MariaDB's root over AIGW_DB_SOCKET) and the check must exit
1 and name that exact drift (table, key, expected and actual), then clean
again once restored. Also: the bounded listing, --json, the whole-database
run, errors (exit 2), and a check run while requests are in flight (one
snapshot: reservations and settlements never seen half done).

Each test checks its own app (--app): other modules seed amounts by hand,
so the whole database is not clean in general."""

import json
import re
import threading
import time
from decimal import Decimal

import gw

M_MINI = "openai/gpt-4o-mini"
M_EMB = "openai/text-embedding-3-small"
BYOK_KEY = "sk-or-byok-check-test-key-0001"
SUMMARY_RE = re.compile(r"^check: (\d+) periods, (\d+) daily rows, (\d+) monthly rows: "
                        r"(clean|(\d+) drifts?)$")


def sql(text):
    return gw.db_query(text)


def one(text):
    rows = sql(text)
    if len(rows) != 1:
        raise AssertionError("expected one row from %r, got %r" % (text, rows))
    return rows[0]


def chat(app, token, content):
    return gw.request("POST", gw.chat_path(app), token=token,
                      body={"model": M_MINI, "max_tokens": 16,
                            "messages": [{"role": "user", "content": content}]})


def plus_unit(text):
    """text + 1e-10, as the database prints DECIMAL(20,10)."""
    return format(Decimal(text) + Decimal("0.0000000001"), "f")


class AdminCheckTest(gw.GatewayTest):
    @classmethod
    def setUpClass(cls):
        # A pro app: metered (a period, reservations, used), never refused.
        cls.app, cls.admin_key, cls.client = gw.proxy_app(plan="pro")
        for i in range(3):
            r = chat(cls.app, cls.client, "hello %d" % i)
            if r.status != 200:
                raise AssertionError("chat: %r" % r)
        r = gw.request("POST", gw.embeddings_path(cls.app), token=cls.client,
                       body={"model": M_EMB, "input": "check"})
        if r.status != 200:
            raise AssertionError("embeddings: %r" % r)
        gw.wait_usage_rows(cls.app, 4)
        # A BYOK app beside it: its rows have no period and count nowhere.
        cls.byok_app, byok_admin, byok_client = gw.proxy_app(plan="pro")
        r = gw.put_config(cls.byok_app, byok_admin, {"byokKey": BYOK_KEY})
        if r.status != 200:
            raise AssertionError("byok config: %r" % r)
        gw.wait_for_caches()
        if chat(cls.byok_app, byok_client, "byok").status != 200:
            raise AssertionError("byok chat failed")
        gw.wait_usage_rows(cls.byok_app, 1)

    # helpers --------------------------------------------------------------

    def check(self, app=None, json_out=False):
        return gw.admin_check(self.app if app is None else app, json_out=json_out)

    def summary(self, out):
        lines = [l for l in out.split("\n") if l]
        self.assertTrue(lines, "no output")
        m = SUMMARY_RE.match(lines[-1])
        self.assertTrue(m, "last line is not the summary: %r" % out)
        return m

    def assertClean(self, app=None):
        rc, out = self.check(app)
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.summary(out).group(4), "clean", out)
        self.assertEqual(out.count("\n"), 1, "a clean check prints only the summary: %r" % out)

    def assertDrift(self, expected_line, drifts=1, app=None):
        rc, out = self.check(app)
        self.assertEqual(rc, 1, out)
        self.assertIn(expected_line + "\n", out)
        self.assertEqual(int(self.summary(out).group(5)), drifts, out)
        return out

    def period(self):
        return one("SELECT id, CAST(reserved_usd AS CHAR) AS reserved, "
                   "CAST(used_usd AS CHAR) AS used FROM billing_periods "
                   "WHERE app_id = '%s'" % self.app)

    def daily(self, model):
        return one("SELECT day, prompt_tokens, requests, CAST(cost AS CHAR) AS cost "
                   "FROM usage_daily WHERE app_id = '%s' AND model = '%s'" % (self.app, model))

    def monthly(self, model):
        return one("SELECT DATE_FORMAT(month, '%%Y-%%m') AS month, requests, "
                   "CAST(cost AS CHAR) AS cost FROM usage_monthly "
                   "WHERE app_id = '%s' AND model = '%s'" % (self.app, model))

    def rows_sum(self, model):
        return one("SELECT COUNT(*) AS n, SUM(prompt_tokens) AS pt, SUM(completion_tokens) AS ct, "
                   "CAST(SUM(cost) AS CHAR) AS cost FROM usage_requests "
                   "WHERE app_id = '%s' AND model = '%s'" % (self.app, model))

    # clean ------------------------------------------------------------------

    def test_clean_after_traffic(self):
        rc, out = self.check()
        self.assertEqual(rc, 0, out)
        m = self.summary(out)
        self.assertEqual(m.group(0), "check: 1 periods, 2 daily rows, 2 monthly rows: clean")

    def test_byok_app_clean_without_period(self):
        rows = gw.usage_rows(self.byok_app)
        self.assertTrue(rows and all(r["is_byok"] == "1" and r["period_id"] is None
                                     for r in rows), rows)
        self.assertClean(self.byok_app)

    def test_whole_database_run(self):
        """Without --app every app is read; this app's lines are absent while
        it is clean and present once it drifts, and the exit status follows
        the summary."""
        rc, out = gw.admin_check()
        m = self.summary(out)
        self.assertEqual(rc, 0 if m.group(4) == "clean" else 1, out)
        self.assertNotIn("app=%s " % self.app, out)
        p = self.period()
        sql("UPDATE billing_periods SET used_usd = used_usd + 1 WHERE id = %s" % p["id"])
        try:
            rc, out = gw.admin_check()
            self.assertEqual(rc, 1, out)
            self.assertIn("drift: billing_periods id=%s app=%s used_usd: " % (p["id"], self.app),
                          out)
        finally:
            sql("UPDATE billing_periods SET used_usd = used_usd - 1 WHERE id = %s" % p["id"])
        self.assertClean()

    # each invariant broken ----------------------------------------------------

    def test_reserved_off_by_one_unit(self):
        p = self.period()
        self.assertEqual(Decimal(p["reserved"]), 0, p)
        sql("UPDATE billing_periods SET reserved_usd = reserved_usd + 0.0000000001 "
            "WHERE id = %s" % p["id"])
        try:
            self.assertDrift("drift: billing_periods id=%s app=%s reserved_usd: expected "
                             "0.0000000000 (sum of 0 credit_reservations), actual 0.0000000001"
                             % (p["id"], self.app))
        finally:
            sql("UPDATE billing_periods SET reserved_usd = reserved_usd - 0.0000000001 "
                "WHERE id = %s" % p["id"])
        self.assertClean()

    def test_orphan_reservation(self):
        """A reservation whose amount never reached the period's reserved_usd."""
        p = self.period()
        rid = "req_check%015d" % int(p["id"])
        sql("INSERT INTO credit_reservations (period_id, app_id, request_id, amount_usd, "
            "created_at, expires_at) VALUES (%s, '%s', '%s', 0.25, UTC_TIMESTAMP(6), "
            "UTC_TIMESTAMP(6) + INTERVAL 1 HOUR)" % (p["id"], self.app, rid))
        try:
            self.assertDrift("drift: billing_periods id=%s app=%s reserved_usd: expected "
                             "0.2500000000 (sum of 1 credit_reservations), actual 0.0000000000"
                             % (p["id"], self.app))
        finally:
            sql("DELETE FROM credit_reservations WHERE request_id = '%s'" % rid)
        self.assertClean()

    def test_used_off(self):
        p = self.period()
        used = Decimal(p["used"])
        self.assertGreater(used, 0, p)
        sql("UPDATE billing_periods SET used_usd = used_usd + 0.0000000001 WHERE id = %s"
            % p["id"])
        try:
            self.assertDrift("drift: billing_periods id=%s app=%s used_usd: expected %s (cost of "
                             "4 metered usage_requests rows), actual %s"
                             % (p["id"], self.app, p["used"], plus_unit(p["used"])))
        finally:
            sql("UPDATE billing_periods SET used_usd = used_usd - 0.0000000001 WHERE id = %s"
                % p["id"])
        self.assertClean()

    def test_row_without_period(self):
        """usage_requests.period_id has no foreign key: a row may name a
        period that does not exist; its cost is then missing from used_usd."""
        p = self.period()
        row = gw.usage_rows(self.app)[0]
        bogus = 4000000000 + int(p["id"])
        sql("UPDATE usage_requests SET period_id = %d WHERE id = %s" % (bogus, row["id"]))
        try:
            out = self.assertDrift("drift: usage_requests period_id=%d app=%s: no such billing "
                                   "period (1 metered rows, cost %s; 0 BYOK rows)"
                                   % (bogus, self.app, row["cost"]), drifts=2)
            self.assertIn("drift: billing_periods id=%s app=%s used_usd: " % (p["id"], self.app),
                          out)
        finally:
            sql("UPDATE usage_requests SET period_id = %s WHERE id = %s" % (p["id"], row["id"]))
        self.assertClean()

    def test_byok_row_with_period(self):
        """A BYOK row never counts: one that carries a period is named."""
        p = self.period()
        row = gw.usage_rows(self.app)[0]
        sql("UPDATE usage_requests SET is_byok = 1 WHERE id = %s" % row["id"])
        try:
            rc, out = self.check()
            self.assertEqual(rc, 1, out)
            self.assertRegex(out, r"drift: billing_periods id=%s app=%s used_usd: .*; 1 BYOK "
                                  r"usage_requests rows carry this period_id\n"
                             % (p["id"], re.escape(self.app)))
        finally:
            sql("UPDATE usage_requests SET is_byok = 0 WHERE id = %s" % row["id"])
        self.assertClean()

    def test_daily_off_by_one_token(self):
        d = self.daily(M_MINI)
        sql("UPDATE usage_daily SET prompt_tokens = prompt_tokens + 1 WHERE app_id = '%s' AND "
            "model = '%s'" % (self.app, M_MINI))
        try:
            self.assertDrift("drift: usage_daily app=%s day=%s model=%s byok=0: prompt_tokens "
                             "expected %s, actual %d"
                             % (self.app, d["day"], M_MINI, d["prompt_tokens"],
                                int(d["prompt_tokens"]) + 1))
        finally:
            sql("UPDATE usage_daily SET prompt_tokens = prompt_tokens - 1 WHERE app_id = '%s' "
                "AND model = '%s'" % (self.app, M_MINI))
        self.assertClean()

    def test_daily_missing(self):
        d = self.daily(M_EMB)
        s = self.rows_sum(M_EMB)
        saved = one("SELECT * FROM usage_daily WHERE app_id = '%s' AND model = '%s'"
                    % (self.app, M_EMB))
        sql("DELETE FROM usage_daily WHERE app_id = '%s' AND model = '%s'" % (self.app, M_EMB))
        try:
            self.assertDrift("drift: usage_daily app=%s day=%s model=%s byok=0: missing; the "
                             "usage_requests rows sum to requests %s, prompt_tokens %s, "
                             "completion_tokens %s, cached_tokens 0, reasoning_tokens 0, cost %s"
                             % (self.app, d["day"], M_EMB, s["n"], s["pt"], s["ct"], s["cost"]))
        finally:
            cols = ", ".join(saved)
            vals = ", ".join("'%s'" % v for v in saved.values())
            sql("INSERT INTO usage_daily (%s) VALUES (%s)" % (cols, vals))
        self.assertClean()

    def test_daily_without_rows(self):
        sql("INSERT INTO usage_daily (app_id, day, model, is_byok, requests, prompt_tokens, "
            "cost, updated_at) VALUES ('%s', '2001-02-03', '%s', 0, 2, 7, 0.5, "
            "UTC_TIMESTAMP(6))" % (self.app, M_MINI))
        try:
            self.assertDrift("drift: usage_daily app=%s day=2001-02-03 model=%s byok=0: no "
                             "usage_requests rows; the rollup holds requests 2, prompt_tokens 7, "
                             "completion_tokens 0, cached_tokens 0, reasoning_tokens 0, cost "
                             "0.5000000000" % (self.app, M_MINI))
        finally:
            sql("DELETE FROM usage_daily WHERE app_id = '%s' AND day = '2001-02-03'" % self.app)
        self.assertClean()

    def test_monthly_off(self):
        m = self.monthly(M_MINI)
        sql("UPDATE usage_monthly SET requests = requests + 1, cost = cost + 0.0000000001 "
            "WHERE app_id = '%s' AND model = '%s'" % (self.app, M_MINI))
        try:
            self.assertDrift("drift: usage_monthly app=%s month=%s model=%s byok=0: requests "
                             "expected %s, actual %d; cost expected %s, actual %s"
                             % (self.app, m["month"], M_MINI, m["requests"],
                                int(m["requests"]) + 1, m["cost"], plus_unit(m["cost"])))
        finally:
            sql("UPDATE usage_monthly SET requests = requests - 1, cost = cost - 0.0000000001 "
                "WHERE app_id = '%s' AND model = '%s'" % (self.app, M_MINI))
        self.assertClean()

    # the report -----------------------------------------------------------------

    def test_listing_is_bounded(self):
        """150 drifts: 100 listed, all counted."""
        sql("INSERT INTO usage_daily (app_id, day, model, is_byok, requests, updated_at) "
            "SELECT '%s', '2001-01-01' + INTERVAL seq DAY, 'm', 0, 1, UTC_TIMESTAMP(6) "
            "FROM seq_0_to_149" % self.app)
        try:
            rc, out = self.check()
            self.assertEqual(rc, 1, out)
            lines = out.rstrip("\n").split("\n")
            self.assertEqual(len([l for l in lines if l.startswith("drift: ")]), 100, out)
            self.assertIn("(50 more drifts not listed)", lines)
            self.assertEqual(int(self.summary(out).group(5)), 150)
        finally:
            sql("DELETE FROM usage_daily WHERE app_id = '%s' AND model = 'm'" % self.app)
        self.assertClean()

    def test_json(self):
        rc, out = self.check(json_out=True)
        self.assertEqual(rc, 0, out)
        doc = json.loads(out, parse_float=Decimal)
        self.assertEqual(doc["app_id"], self.app)
        self.assertEqual((doc["periods"], doc["daily_rows"], doc["monthly_rows"]), (1, 2, 2))
        self.assertEqual((doc["clean"], doc["drifts"], doc["listed"]), (True, 0, []))
        p = self.period()
        sql("UPDATE billing_periods SET reserved_usd = reserved_usd + 0.0000000001 "
            "WHERE id = %s" % p["id"])
        try:
            rc, out = self.check(json_out=True)
        finally:
            sql("UPDATE billing_periods SET reserved_usd = reserved_usd - 0.0000000001 "
                "WHERE id = %s" % p["id"])
        self.assertEqual(rc, 1, out)
        self.assertIn('"actual":0.0000000001', out, "money is printed exactly")
        doc = json.loads(out, parse_float=Decimal)
        self.assertEqual((doc["clean"], doc["drifts"]), (False, 1))
        d = doc["listed"][0]
        self.assertEqual((d["table"], d["column"], d["period_id"], d["app_id"]),
                         ("billing_periods", "reserved_usd", int(p["id"]), self.app))
        self.assertEqual((d["expected"], d["actual"]), (Decimal(0), Decimal("0.0000000001")))
        self.assertClean()

    def test_errors_exit_2(self):
        for args in (["check", "--app", "no_such_app_%s" % gw.unique_id("x")],
                     ["check", "--bogus"], ["check", "extra"], ["check", "--app", "bad id"]):
            with self.subTest(args=args):
                r = gw.admin(*args)
                self.assertEqual(r.rc, 2, repr(r))
                self.assertEqual(r.out, "", repr(r))
                self.assertTrue(r.err.startswith("aigw-admin: "), repr(r))

    def test_help_lists_check(self):
        r = gw.admin("--help")
        self.assertEqual(r.rc, 0, repr(r))
        self.assertIn("check [--app ID] [--json]", r.out)

    # a concurrent writer -------------------------------------------------------

    def test_clean_while_requests_run(self):
        """Reservations taken and settled, usage batches committed, all while
        the check reads: every run sees one snapshot, so none finds a drift."""
        app, _, client = gw.proxy_app(plan="pro")
        stop = threading.Event()
        failures = []
        sent = [0]

        def traffic():
            while not stop.is_set():
                r = chat(app, client, "busy")
                if r.status != 200:
                    failures.append(r)
                    return
                sent[0] += 1

        threads = [threading.Thread(target=traffic) for _ in range(4)]
        for t in threads:
            t.start()
        results = []
        try:
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline:
                results.append(gw.admin_check(app))
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertFalse(failures, failures[:1])
        self.assertGreater(sent[0], 0)
        self.assertGreater(len(results), 1)
        for rc, out in results:
            self.assertEqual(rc, 0, out)
        self.assertEqual(len(gw.wait_usage_rows(app, sent[0])), sent[0])
        self.assertClean(app)
