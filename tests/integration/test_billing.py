"""Plans, credits and billing periods and GET /v1/{app}/ai/usage through the real web server, the simulator and MariaDB: a free app
refused with 402 once its $0.10 cannot cover a request (and nothing sent
upstream for it), the worst-case reservation arithmetic, pro overage, period
boundaries crossed with an injected clock, BYOK excluded from credits,
enterprise unlimited, the usage endpoint equal to the simulator's sums to
the last decimal, its validation, and the DBA views equal to the endpoint.

The injected clock: a test moves an app's apps.billing_anchor and its
billing_periods rows back in time with SQL (as MariaDB's root over
AIGW_DB_SOCKET), which is what the passing of that much time looks like to
the gateway; its next request then finds (and makes) the period containing
now. Amounts are seeded the same way (billing_periods.used_usd).
Costs are compared as Decimal, exactly."""

import datetime
import json
import os
import re
import urllib.parse
from decimal import Decimal

import gw

M_MINI = "openai/gpt-4o-mini"
M_4O = "openai/gpt-4o"
M_SONNET = "anthropic/claude-3.5-sonnet"
M_EMB = "openai/text-embedding-3-small"
M_FREE = "meta-llama/llama-3.2-3b-instruct:free"
M_EXPENSIVE = "sim/expensive"
FREE_ALLOWANCE = Decimal("0.10")
PRO_ALLOWANCE = Decimal("10")
BYOK_KEY = "sk-or-byok-billing-test-key-0001"
MONEY_RE = re.compile(r"^-?\d+\.\d+$")


def prices():
    """models.json prices as Decimal per token: {model: {prompt, completion, request}}."""
    with open(os.path.join(gw.SIM_DIR, "models.json")) as f:
        data = json.load(f)["data"]
    return {m["id"]: {k: Decimal(m["pricing"].get(k) or "0")
                      for k in ("prompt", "completion", "request")} for m in data}


PRICES = prices()


def body_bytes(body):
    """The byte length of body as the gateway serializes it (cJSON, no spaces,
    insertion order): the prompt bound of the reservation."""
    return len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def worst_case(body, completion_bound, model=None):
    """The reservation of body at model's prices (default: its own model)."""
    p = PRICES[model or body["model"]]
    return p["request"] + p["prompt"] * body_bytes(body) + p["completion"] * completion_bound


def chat_body(model=M_MINI, content="hi", max_tokens=None, **fields):
    body = {"model": model, "messages": [{"role": "user", "content": content}]}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    body.update(fields)
    return body


def usage_path(app_id, **params):
    q = urllib.parse.urlencode(params)
    return "/v1/%s/ai/usage%s" % (app_id, "?" + q if q else "")


def utc_today():
    return datetime.datetime.now(datetime.timezone.utc).date().isoformat()


def db_exec(sql):
    """A write on the stack's database (the injected clock, seeded amounts)."""
    return gw.db_query(sql)


def checked(app_id):
    if not gw.APP_ID_SAFE_RE.match(app_id):
        raise AssertionError("unexpected app id %r" % app_id)
    return app_id


def periods(app_id):
    return gw.db_query("SELECT * FROM billing_periods WHERE app_id = '%s' ORDER BY period_start"
                       % checked(app_id))


def current_period_row(app_id):
    """The period row containing now (by the database clock)."""
    rows = gw.db_query("SELECT * FROM billing_periods WHERE app_id = '%s' AND period_start "
                       "<= UTC_TIMESTAMP(6) AND (period_end IS NULL OR period_end > "
                       "UTC_TIMESTAMP(6))" % checked(app_id))
    if len(rows) != 1:
        raise AssertionError("expected one current period of %s, got %r" % (app_id, rows))
    return rows[0]


def seed_used(app_id, used):
    """Sets the current period's used_usd (the row must exist)."""
    row = current_period_row(app_id)
    db_exec("UPDATE billing_periods SET used_usd = %s WHERE id = %d"
            % (Decimal(used), int(row["id"])))


def shift_clock(app_id, *intervals):
    """The injected clock: the app's anchor and periods move back by the sum
    of intervals (SQL, e.g. "1 MONTH", "1 DAY"), as if that much time had
    passed."""
    back = "".join(" - INTERVAL %s" % i for i in intervals)
    # The periods first: the apps UPDATE is the change the gateways' caches
    # hear of (its trigger), and by then the periods have moved too.
    db_exec("UPDATE billing_periods SET period_start = period_start%s, "
            "period_end = period_end%s WHERE app_id = '%s'" % (back, back, checked(app_id)))
    db_exec("UPDATE apps SET billing_anchor = billing_anchor%s WHERE id = '%s'"
            % (back, checked(app_id)))
    gw.wait_for_caches()


def sim_sums(entries):
    """Totals of simulator log entries: requests, tokens, cost (Decimal), by model."""
    total = {"requests": 0, "promptTokens": 0, "completionTokens": 0, "cost": Decimal(0)}
    by_model = {}
    for e in entries:
        m = by_model.setdefault(e["model"], {"requests": 0, "promptTokens": 0,
                                             "completionTokens": 0, "cost": Decimal(0)})
        for t in (total, m):
            t["requests"] += 1
            t["promptTokens"] += e["prompt_tokens"] or 0
            t["completionTokens"] += e["completion_tokens"] or 0
            t["cost"] += gw.sim_entry_cost(e)
    return total, by_model


class BillingTest(gw.GatewayTest):
    """A fresh app per test (plan chosen by the test) and the simulator's log
    position, so a test looks only at the upstream calls it caused."""

    def make_app(self, plan):
        self.app_id, self.admin, self.client = gw.proxy_app(plan=plan)
        self.seq = gw.sim_last_seq()
        return self.app_id

    def chat(self, body, token=None, app_id=None):
        return gw.request("POST", gw.chat_path(app_id or self.app_id), body=body,
                          token=token or self.client)

    def embed(self, body, token=None):
        return gw.request("POST", gw.embeddings_path(self.app_id), body=body,
                          token=token or self.client)

    def usage(self, token=None, app_id=None, **params):
        return gw.request("GET", usage_path(app_id or self.app_id, **params),
                          token=token or self.admin)

    def usage_ok(self, **params):
        r = self.usage(**params)
        self.assertOkJson(r)
        self.assertMoneyText(r)
        return gw.decimal_json(r)

    def credits(self):
        return self.usage_ok()["credits"]

    def upstream_calls(self, endpoint=None):
        return gw.sim_api_requests(self.seq, endpoint)

    def settled(self, n):
        """Waits until the app has n usage rows: the answer ends before its
        usage is recorded (and its reservation settled, in the same
        transaction), so a client's next request can otherwise overlap it."""
        rows = gw.wait_usage_rows(self.app_id, n)
        self.assertEqual(len(rows), n, "usage rows: %r" % rows)
        return rows

    def assertMoneyText(self, r):
        """Every money value is written as exact decimal text (no exponent)."""
        body = json.loads(r.body.decode("utf-8"), parse_float=str)

        def money(obj, names):
            for n in names:
                v = obj.get(n)
                if v is not None:
                    self.assertIsInstance(v, str, "%s is not a decimal number: %r" % (n, r))
                    self.assertRegex(v, MONEY_RE)
        money(body, ["totalCost"])
        for m in body["byModel"]:
            money(m, ["cost"])
        money(body["byok"], ["cost"])
        money(body["credits"], ["allowance", "used", "remaining", "overage"])

    def assertQuota402(self, r, *fragments):
        err = self.assertError(r, 402)
        self.assertEqual((r.header("x-should-retry") or "").lower(), "false", repr(r))
        for f in fragments:
            self.assertIn(f, err["message"])
        return err

    def set_byok(self, key):
        r = gw.put_config(self.app_id, self.admin, {"byokKey": key})
        self.assertEqual(r.status, 200, repr(r))


class FreePlanTest(BillingTest):
    def test_free_app_exhausted_gets_402_and_nothing_goes_upstream(self):
        self.make_app("free")
        body = chat_body(M_EXPENSIVE, "hi", max_tokens=1)
        reserve = worst_case(body, 1)
        cost = PRICES[M_EXPENSIVE]["prompt"] * 1 + PRICES[M_EXPENSIVE]["completion"] * 1
        # Requests pass while used + reserve <= $0.10 (each settles at `cost`).
        expected_ok = 0
        while expected_ok * cost + reserve <= FREE_ALLOWANCE:
            expected_ok += 1
        self.assertGreater(expected_ok, 1, "the test's request is too big to pass at all")

        statuses = []
        for _ in range(expected_ok + 3):
            r = self.chat(body)
            statuses.append(r.status)
            if r.status == 402:
                break
            self.assertEqual(r.status, 200, repr(r))
            self.settled(len(statuses))
        self.assertEqual(statuses, [200] * expected_ok + [402])
        self.assertQuota402(r, "free plan", "$0.10 lifetime", "cannot cover this request",
                            "$%s used" % str(cost * expected_ok).rstrip("0"))
        # Refused requests never reach the upstream.
        self.assertEqual(self.chat(body).status, 402)
        self.assertEqual(len(self.upstream_calls()), expected_ok)

        credits = self.credits()
        self.assertEqual(credits["plan"], "free")
        self.assertEqual(credits["allowance"], FREE_ALLOWANCE)
        self.assertEqual(credits["used"], cost * expected_ok)
        self.assertEqual(credits["remaining"], FREE_ALLOWANCE - cost * expected_ok)
        self.assertEqual(credits["overage"], Decimal(0))
        self.assertIsNone(credits["periodEnd"])
        self.assertRegex(credits["periodStart"], gw.TIME_RE)

        # What is left still pays for a cheap request.
        self.assertEqual(self.chat(chat_body(M_MINI, "hi", max_tokens=8)).status, 200)

    def test_free_app_used_up_refuses_chat_and_embeddings(self):
        self.make_app("free")
        self.usage_ok()  # makes the period
        seed_used(self.app_id, FREE_ALLOWANCE)
        r = self.chat(chat_body(M_MINI, "hi", max_tokens=1))
        self.assertQuota402(r, "free plan", "$0.10 lifetime", "are used up", "$0.10 used")
        r = self.embed({"model": M_EMB, "input": "hello"})
        self.assertQuota402(r, "are used up")
        s = gw.stream(gw.chat_path(self.app_id), chat_body(stream=True), self.client)
        try:
            self.assertEqual(s.status, 402)
            self.assertQuota402(s.read_rest())
        finally:
            s.close()
        self.assertEqual(self.upstream_calls(), [])
        self.assertEqual(self.credits()["remaining"], Decimal(0))

    def test_free_app_default_max_tokens_is_sent_upstream(self):
        # A plan that can run out must bound the completion it reserved for.
        self.make_app("free")
        default = int(gw.conf_value("reserve_default_max_tokens", "4096"))
        self.assertEqual(self.chat(chat_body(M_MINI)).status, 200)
        self.assertEqual(self.upstream_calls()[-1]["body"].get("max_tokens"), default)
        # The request's own bound (or the app's cap) is kept as it is.
        self.assertEqual(self.chat(chat_body(M_MINI, max_completion_tokens=7)).status, 200)
        sent = self.upstream_calls()[-1]["body"]
        self.assertNotIn("max_tokens", sent)
        self.assertEqual(sent["max_completion_tokens"], 7)

    def test_pro_and_enterprise_bodies_are_not_changed(self):
        for plan in ("pro", "enterprise"):
            with self.subTest(plan=plan):
                self.make_app(plan)
                self.assertEqual(self.chat(chat_body(M_MINI)).status, 200)
                self.assertNotIn("max_tokens", self.upstream_calls()[-1]["body"])

    def test_unknown_price_reserves_the_floor(self):
        self.make_app("free")
        self.usage_ok()
        floor = Decimal(gw.conf_value("reserve_floor_usd", "0.01"))
        model = "nobody/unpriced-model"
        # Just less than the floor left: refused before the upstream.
        seed_used(self.app_id, FREE_ALLOWANCE - floor + Decimal("0.0000000001"))
        r = self.chat(chat_body(model, max_tokens=1))
        self.assertQuota402(r, "may cost up to $%s" % floor)
        self.assertEqual(self.upstream_calls(), [])
        # Exactly the floor left: it goes (and the simulator does not know it).
        seed_used(self.app_id, FREE_ALLOWANCE - floor)
        r = self.chat(chat_body(model, max_tokens=1))
        self.assertEqual(r.status, 404, repr(r))
        self.assertEqual(len(self.upstream_calls()), 1)
        self.settled(1)
        # Settled at nothing: the reservation is gone, used unchanged.
        credits = self.credits()
        self.assertEqual(credits["used"], FREE_ALLOWANCE - floor)
        self.assertEqual(Decimal(current_period_row(self.app_id)["reserved_usd"]), 0)

    def test_fallback_models_are_priced_too(self):
        # The dearest of model and models[] sets the worst case.
        self.make_app("free")
        body = chat_body(M_MINI, "hi", max_tokens=1, models=[M_MINI, M_EXPENSIVE])
        worst = worst_case(body, 1, model=M_EXPENSIVE)
        self.assertGreater(worst, FREE_ALLOWANCE)
        self.assertQuota402(self.chat(body), "may cost up to $%s" % worst)
        self.assertEqual(self.upstream_calls(), [])
        r = self.chat(chat_body(M_MINI, "hi", max_tokens=1, models=[M_MINI, M_4O]))
        self.assertEqual(r.status, 200, repr(r))

    def test_plan_change_takes_effect_within_the_cache_bound(self):
        self.make_app("free")
        self.usage_ok()
        seed_used(self.app_id, FREE_ALLOWANCE)
        self.assertEqual(self.chat(chat_body(max_tokens=1)).status, 402)
        self.assertEqual(gw.admin_ok("app", "set-plan", self.app_id, "pro").strip(),
                         "%s: pro" % self.app_id)
        gw.wait_for_caches()
        self.assertEqual(self.chat(chat_body(max_tokens=1)).status, 200)
        credits = self.credits()
        self.assertEqual(credits["plan"], "pro")
        self.assertEqual(credits["allowance"], PRO_ALLOWANCE)
        self.assertIsNotNone(credits["periodEnd"])
        # Back to free: the app's lifetime $0.10 is still used up.
        gw.admin_ok("app", "set-plan", self.app_id, "free")
        gw.wait_for_caches()
        self.assertEqual(self.chat(chat_body(max_tokens=1)).status, 402)
        self.assertEqual(self.credits()["plan"], "free")


class PaidPlanTest(BillingTest):
    def test_pro_crossing_its_allowance_records_overage(self):
        self.make_app("pro")
        self.usage_ok()
        start = Decimal("9.995")
        seed_used(self.app_id, start)
        body = chat_body(M_EXPENSIVE, "hi", max_tokens=5)
        for i in range(3):
            r = self.chat(body)
            self.assertEqual(r.status, 200, repr(r))
            self.settled(i + 1)
        calls = self.upstream_calls()
        self.assertEqual(len(calls), 3)
        spent = sum((gw.sim_entry_cost(c) for c in calls), Decimal(0))
        credits = self.credits()
        self.assertEqual(credits["plan"], "pro")
        self.assertEqual(credits["allowance"], PRO_ALLOWANCE)
        self.assertEqual(credits["used"], start + spent)
        self.assertGreater(credits["used"], PRO_ALLOWANCE)
        self.assertEqual(credits["overage"], start + spent - PRO_ALLOWANCE)
        self.assertEqual(credits["remaining"], Decimal(0))
        # Far beyond the allowance it still answers.
        seed_used(self.app_id, Decimal("250"))
        self.assertEqual(self.chat(body).status, 200)
        self.settled(4)
        self.assertEqual(self.credits()["overage"], Decimal("240") + spent / 3)

    def test_credits_remaining_header(self):
        # free: the allowance, then less by what a request cost, within ~2 s
        self.make_app("free")
        r = self.chat(chat_body(max_tokens=5))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(Decimal(r.header("x-aigw-credits-remaining")), FREE_ALLOWANCE)
        # Each process reads the spend again once a second: a request made
        # well after the spend settled sees it (its own cost not yet in).
        rows = 1
        for _ in range(4):
            self.assertTrue(gw.wait_usage_rows(self.app_id, rows), "no usage row")
            want = FREE_ALLOWANCE - Decimal(str(self.credits()["used"]))
            self.assertLess(want, FREE_ALLOWANCE)
            gw.time.sleep(2.5)
            r = self.chat(chat_body(max_tokens=5))
            rows += 1
            got = Decimal(r.header("x-aigw-credits-remaining"))
            if got == want:
                break
        self.assertEqual(got, want, "the header never caught up with the spend")
        # pro: present; enterprise: none (unlimited)
        self.make_app("pro")
        r = self.chat(chat_body(max_tokens=5))
        self.assertEqual(Decimal(r.header("x-aigw-credits-remaining")), PRO_ALLOWANCE)
        self.make_app("enterprise")
        r = self.chat(chat_body(max_tokens=5))
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.header("x-aigw-credits-remaining"))

    def test_enterprise_is_never_refused(self):
        self.make_app("enterprise")
        self.usage_ok()
        seed_used(self.app_id, Decimal("1000000"))
        big = chat_body(M_EXPENSIVE, "x" * 5000, max_tokens=100000)
        for body in (big, chat_body(M_EXPENSIVE)):
            r = self.chat(body)
            self.assertEqual(r.status, 200, repr(r))
        r = self.embed({"model": M_EMB, "input": ["a"] * 100})
        self.assertEqual(r.status, 200, repr(r))
        self.settled(3)
        spent = sum((gw.sim_entry_cost(c) for c in self.upstream_calls()), Decimal(0))
        credits = self.credits()
        self.assertEqual(credits["plan"], "enterprise")
        self.assertIsNone(credits["allowance"])
        self.assertIsNone(credits["remaining"])
        self.assertEqual(credits["overage"], Decimal(0))
        self.assertEqual(credits["used"], Decimal("1000000") + spent)
        self.assertIsNotNone(credits["periodEnd"])  # monthly, for reporting


class PeriodBoundaryTest(BillingTest):
    def test_monthly_period_rolls_over(self):
        for plan in ("pro", "enterprise"):
            with self.subTest(plan=plan):
                self.make_app(plan)
                self.assertEqual(self.chat(chat_body(M_SONNET, max_tokens=5)).status, 200)
                self.settled(1)
                before = self.credits()
                self.assertGreater(before["used"], 0)
                old = current_period_row(self.app_id)

                shift_clock(self.app_id, "1 MONTH", "1 DAY")
                after = self.credits()
                self.assertEqual(after["used"], Decimal(0))
                self.assertNotEqual(after["periodStart"], before["periodStart"])
                self.assertGreater(after["periodEnd"], after["periodStart"])
                rows = periods(self.app_id)
                self.assertEqual(len(rows), 2, repr(rows))
                # the old period keeps what it used, and ends where the new one starts
                self.assertEqual(rows[0]["id"], old["id"])
                self.assertEqual(Decimal(rows[0]["used_usd"]), before["used"])
                self.assertEqual(rows[0]["period_end"], rows[1]["period_start"])
                self.assertEqual(after["periodStart"],
                                 rows[1]["period_start"].replace(" ", "T") + "Z")
                # default range: the new period's first day up to today
                u = self.usage_ok()
                self.assertEqual(u["startDate"], rows[1]["period_start"][:10])
                self.assertEqual(u["endDate"], utc_today())

                self.assertEqual(self.chat(chat_body(M_SONNET, max_tokens=5)).status, 200)
                self.settled(2)
                cost = gw.sim_entry_cost(self.upstream_calls()[-1])
                self.assertEqual(self.credits()["used"], cost)

    def test_free_lifetime_period_never_resets(self):
        self.make_app("free")
        self.assertEqual(self.chat(chat_body(M_SONNET, max_tokens=5)).status, 200)
        self.settled(1)
        before = self.credits()
        shift_clock(self.app_id, "400 DAY")
        after = self.credits()
        self.assertEqual(after["used"], before["used"])
        self.assertIsNone(after["periodEnd"])
        self.assertEqual(len(periods(self.app_id)), 1)


class ByokTest(BillingTest):
    def test_byok_is_recorded_but_never_counted(self):
        self.make_app("free")
        self.set_byok(BYOK_KEY)
        # Even a request that free credits could never cover goes through.
        bodies = [chat_body(M_EXPENSIVE, "x" * 400, max_tokens=3000),
                  chat_body(M_MINI), chat_body(M_SONNET, max_tokens=5)]
        for b in bodies:
            r = self.chat(b)
            self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(self.embed({"model": M_EMB, "input": "byok"}).status, 200)
        self.settled(4)
        byok_calls = self.upstream_calls()
        self.assertEqual(len(byok_calls), 4)
        for c in byok_calls:
            self.assertTrue(c["headers"]["authorization"].endswith(BYOK_KEY))
        byok_total, _ = sim_sums(byok_calls)

        u = self.usage_ok()
        self.assertEqual(u["byok"]["requests"], 4)
        self.assertEqual(u["byok"]["cost"], byok_total["cost"])
        self.assertEqual(u["byok"]["totalTokens"],
                         byok_total["promptTokens"] + byok_total["completionTokens"])
        self.assertEqual(u["credits"]["used"], Decimal(0))
        self.assertEqual(u["credits"]["remaining"], FREE_ALLOWANCE)
        self.assertEqual(u["totalCost"], byok_total["cost"])

        # Without the key the same app is metered again.
        self.set_byok(None)
        seq = gw.sim_last_seq()
        self.assertEqual(self.chat(chat_body(M_MINI, max_tokens=5)).status, 200)
        self.settled(5)
        metered = gw.sim_entry_cost(gw.sim_api_requests(seq)[0])
        u = self.usage_ok()
        self.assertEqual(u["credits"]["used"], metered)
        self.assertEqual(u["requests"], 5)
        self.assertEqual(u["totalCost"], byok_total["cost"] + metered)
        self.assertEqual(u["byok"]["requests"], 4)
        self.assertEqual(u["byok"]["cost"], byok_total["cost"])
        rows = gw.usage_rows(self.app_id)
        self.assertEqual([r["period_id"] is None for r in rows], [True] * 4 + [False])

    def test_byok_on_a_used_up_free_app(self):
        self.make_app("free")
        self.usage_ok()
        seed_used(self.app_id, FREE_ALLOWANCE)
        self.assertEqual(self.chat(chat_body(max_tokens=1)).status, 402)
        self.set_byok(BYOK_KEY)
        # not metered: no default max_tokens is added either
        self.assertEqual(self.chat(chat_body()).status, 200)
        self.assertNotIn("max_tokens", self.upstream_calls()[-1]["body"])
        self.assertEqual(self.credits()["used"], FREE_ALLOWANCE)


class UsageEndpointTest(BillingTest):
    def test_usage_equals_the_simulators_sums(self):
        self.make_app("pro")
        work = [
            ("chat", chat_body(M_MINI, "How much is this?")),
            ("chat", chat_body(M_MINI, "and this one, a little longer", max_tokens=3)),
            ("stream", chat_body(M_MINI, "streamed", stream=True)),
            ("chat", chat_body(M_SONNET, "sonnet " * 13)),
            ("stream", chat_body(M_SONNET, "sonnet", stream=True, max_tokens=4)),
            ("chat", chat_body(M_EXPENSIVE, "pricey", max_tokens=6)),
            ("chat", chat_body(M_FREE, "free of charge")),
            ("chat", chat_body(M_4O, "cached", sim={"scenario": "ok", "cached_tokens": 2, "words": 11})),
            ("embed", {"model": M_EMB, "input": ["one", "two two", "three three three"]}),
            ("embed", {"model": M_EMB, "input": "just one", "encoding_format": "base64"}),
        ]
        for kind, body in work:
            if kind == "embed":
                r = self.embed(body)
            elif kind == "stream":
                s = gw.stream(gw.chat_path(self.app_id), body, self.client)
                try:
                    self.assertEqual(s.status, 200)
                    s.read_all()
                    self.assertIsNone(s.error)
                finally:
                    s.close()
                continue
            else:
                r = self.chat(body)
            self.assertEqual(r.status, 200, repr(r))
        self.settled(len(work))
        calls = self.upstream_calls()
        self.assertEqual(len(calls), len(work))
        total, by_model = sim_sums(calls)

        for params in ({}, {"startDate": utc_today(), "endDate": utc_today()},
                       {"endDate": utc_today()}):
            with self.subTest(params=params):
                u = self.usage_ok(**params)
                self.assertEqual(u["appId"], self.app_id)
                self.assertEqual(u["requests"], total["requests"])
                self.assertEqual(u["promptTokens"], total["promptTokens"])
                self.assertEqual(u["completionTokens"], total["completionTokens"])
                self.assertEqual(u["totalTokens"],
                                 total["promptTokens"] + total["completionTokens"])
                self.assertEqual(u["totalCost"], total["cost"])
                got = {m["model"]: m for m in u["byModel"]}
                self.assertEqual(set(got), set(by_model))
                for model, want in by_model.items():
                    m = got[model]
                    self.assertEqual(
                        (m["requests"], m["promptTokens"], m["completionTokens"],
                         m["totalTokens"], m["cost"]),
                        (want["requests"], want["promptTokens"], want["completionTokens"],
                         want["promptTokens"] + want["completionTokens"], want["cost"]),
                        model)
                costs = [(m["cost"], m["model"]) for m in u["byModel"]]
                self.assertEqual(costs, sorted(costs, key=lambda c: (-c[0], c[1])))
                self.assertEqual(u["byok"], {"requests": 0, "totalTokens": 0,
                                             "cost": Decimal(0)})
                self.assertEqual(u["credits"]["used"], total["cost"])
                self.assertEqual(u["credits"]["remaining"], PRO_ALLOWANCE - total["cost"])

        u = self.usage_ok(startDate="2020-01-01", endDate="2020-12-31")
        self.assertEqual((u["requests"], u["totalCost"], u["byModel"]), (0, Decimal(0), []))
        self.assertEqual(u["credits"]["used"], total["cost"])  # credits: now, not the range

    def test_defaults_and_shape(self):
        self.make_app("free")
        r = self.usage()
        u = self.assertOkJson(r)
        self.assertEqual(list(u), ["appId", "startDate", "endDate", "requests", "promptTokens",
                                   "completionTokens", "totalTokens", "totalCost", "byModel",
                                   "byok", "credits"])
        self.assertEqual(list(u["byok"]), ["requests", "totalTokens", "cost"])
        self.assertEqual(list(u["credits"]), ["plan", "allowance", "used", "remaining",
                                              "overage", "periodStart", "periodEnd"])
        self.assertEqual(u["startDate"], current_period_row(self.app_id)["period_start"][:10])
        self.assertEqual(u["endDate"], utc_today())
        self.assertEqual(u["byModel"], [])
        # unknown parameters are refused, not ignored (a misspelled startdate
        # would otherwise silently answer another range)
        r2 = self.usage(foo="bar")
        self.assertError(r2, 400, param="foo")
        r2 = self.usage(startdate="2025-01-01")
        self.assertError(r2, 400, param="startdate")

    def test_bad_dates_are_400(self):
        self.make_app("free")
        today = utc_today()
        cases = [
            ({"startDate": "2026-1-01"}, "startDate"),
            ({"startDate": "2026/01/01"}, "startDate"),
            ({"startDate": "20260101"}, "startDate"),
            ({"startDate": "2026-01-01T00:00:00Z"}, "startDate"),
            ({"startDate": ""}, "startDate"),
            ({"startDate": "2023-02-29"}, "startDate"),
            ({"startDate": "2026-04-31"}, "startDate"),
            ({"startDate": "2026-13-01"}, "startDate"),
            ({"endDate": "yesterday"}, "endDate"),
            ({"endDate": "1900-02-29"}, "endDate"),
            ({"endDate": "2026-00-10"}, "endDate"),
            ({"endDate": "2026-01-01 "}, "endDate"),
            ({"startDate": "2026-03-02", "endDate": "2026-03-01"}, "startDate"),
            ({"startDate": "9999-01-01"}, "startDate"),
            ({"startDate": "2000-01-01", "endDate": "2010-12-31"}, "startDate"),
        ]
        for params, param in cases:
            with self.subTest(params=params):
                self.assertError(self.usage(**params), 400, param=param)
        err = self.assertError(self.usage(startDate="2000-01-01", endDate="2010-12-31"), 400)
        self.assertIn("3660 days", err["message"])
        # a leap day, and the longest range allowed
        self.assertOkJson(self.usage(startDate="2024-02-29", endDate="2024-02-29"))
        start = (datetime.date.fromisoformat(today) - datetime.timedelta(days=3659)).isoformat()
        u = self.assertOkJson(self.usage(startDate=start, endDate=today))
        self.assertEqual((u["startDate"], u["endDate"]), (start, today))
        # percent-encoded values are decoded first
        r = gw.request("GET", "/v1/%s/ai/usage?startDate=2026%%2D01%%2D01&endDate=%s"
                       % (self.app_id, today), token=self.admin)
        self.assertEqual(self.assertOkJson(r)["startDate"], "2026-01-01")
        r = gw.request("GET", "/v1/%s/ai/usage?startDate=2026-01-01%%20" % self.app_id,
                       token=self.admin)
        self.assertError(r, 400, param="startDate")

    def test_roles_and_methods(self):
        self.make_app("free")
        self.assertError(self.usage(token=self.client), 403)
        self.assertError(gw.request("GET", usage_path(self.app_id)), 401)
        other, other_admin = gw.app_with_admin_key()
        self.assertError(self.usage(token=other_admin), 403)
        r = gw.request("POST", usage_path(self.app_id), body={}, token=self.admin)
        self.assertError(r, 405)
        self.assertIn("GET", r.header("Allow"))
        r = gw.request("OPTIONS", usage_path(self.app_id))
        self.assertEqual(r.status, 204)


class DbaViewsTest(BillingTest):
    def test_views_agree_with_the_endpoint(self):
        self.make_app("pro")
        for body in (chat_body(M_MINI), chat_body(M_SONNET, max_tokens=5),
                     chat_body(M_EXPENSIVE, max_tokens=2)):
            self.assertEqual(self.chat(body).status, 200)
        self.assertEqual(self.embed({"model": M_EMB, "input": "views"}).status, 200)
        self.set_byok(BYOK_KEY)
        self.assertEqual(self.chat(chat_body(M_MINI)).status, 200)
        self.settled(5)
        u = self.usage_ok()
        app = checked(self.app_id)

        rows = gw.db_query("SELECT * FROM v_spend_per_app_period WHERE app_id = '%s'" % app)
        self.assertEqual(len(rows), 1, repr(rows))
        row = rows[0]
        self.assertEqual(Decimal(row["used_usd"]), u["credits"]["used"], repr(row))
        self.assertEqual(Decimal(row["allowance_usd"]), u["credits"]["allowance"], repr(row))
        self.assertEqual(Decimal(row["overage_usd"]), u["credits"]["overage"], repr(row))
        self.assertEqual(Decimal(row["remaining_usd"]), u["credits"]["remaining"], repr(row))
        self.assertEqual(row["is_current"], "1")
        self.assertEqual((row["first_day"], row["last_day"]), (u["startDate"], u["endDate"]))
        self.assertEqual((int(row["requests"]), int(row["prompt_tokens"]),
                          int(row["completion_tokens"]), int(row["total_tokens"]),
                          Decimal(row["cost_usd"])),
                         (u["requests"], u["promptTokens"], u["completionTokens"],
                          u["totalTokens"], u["totalCost"]))
        self.assertEqual((int(row["byok_requests"]), int(row["byok_tokens"]),
                          Decimal(row["byok_cost_usd"])),
                         (u["byok"]["requests"], u["byok"]["totalTokens"], u["byok"]["cost"]))
        self.assertEqual(Decimal(row["metered_cost_usd"]), u["credits"]["used"])

        rows = gw.db_query("SELECT * FROM v_spend_per_model_day WHERE app_id = '%s' AND "
                           "day = '%s'" % (app, utc_today()))
        by_model = {}
        for r in rows:
            m = by_model.setdefault(r["model"], {"requests": 0, "cost": Decimal(0)})
            m["requests"] += int(r["requests"])
            m["cost"] += Decimal(r["cost_usd"])
        self.assertEqual(by_model, {m["model"]: {"requests": m["requests"], "cost": m["cost"]}
                                    for m in u["byModel"]})

        rows = gw.db_query("SELECT * FROM v_top_apps WHERE app_id = '%s'" % app)
        self.assertEqual(len(rows), 1, repr(rows))
        self.assertEqual(Decimal(rows[0]["cost_usd"]), u["totalCost"], repr(rows))
