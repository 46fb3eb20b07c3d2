"""200 concurrent requests against a fresh free app (README: Plans and
credits): the settled total never exceeds the $0.10 allowance, every
request is answered 200 or 402 (x-should-retry: false), the refused ones
never reach the upstream, no reservation is left behind, and, once the
burst is over, exactly as many requests fit as the arithmetic allows: no
request beyond the allowance got through and none that fitted was lost.

Each request reserves its worst case (price x (body bytes + max_tokens))
and settles a little below it, so the app's $0.10 is spent in about two
dozen requests while 200 race for it."""

import concurrent.futures
import os
import threading
from decimal import Decimal

import gw
from test_billing import (FREE_ALLOWANCE, M_4O, PRICES, chat_body, checked,
                          current_period_row, worst_case)

REQUESTS = 200
THREADS = 200  # all in flight at once; the pool is bounded, not one thread per task
WORDS = 400    # completion tokens of each answer (the simulator's `words`)


class FreeAppRaceTest(gw.GatewayTest):
    def setUp(self):
        self.app_id, self.admin, self.client = gw.proxy_app(plan="free")
        self.seq = gw.sim_last_seq()

    def body(self):
        return chat_body(M_4O, "hi", max_tokens=WORDS, sim={"words": WORDS})

    def burst(self):
        start = threading.Barrier(THREADS, timeout=60)
        path = gw.chat_path(self.app_id)

        def one(i):
            if i < THREADS:
                start.wait()  # the first wave leaves together
            return gw.request("POST", path, body=self.body(), token=self.client,
                              timeout=120)

        with concurrent.futures.ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(one, i) for i in range(REQUESTS)]
            return [f.result(timeout=300) for f in futures]

    def test_200_concurrent_requests_never_overspend(self):
        app = checked(self.app_id)
        reserve = worst_case(self.body(), WORDS)
        # what each answer costs: 1 prompt token ("hi") + WORDS completion tokens
        cost = PRICES[M_4O]["prompt"] + PRICES[M_4O]["completion"] * WORDS
        self.assertLess(cost, reserve)
        # Served one after another, request k+1 fits while k * cost + reserve
        # <= allowance: the most that may ever pass.
        fit = 0
        while fit * cost + reserve <= FREE_ALLOWANCE:
            fit += 1
        self.assertGreater(fit, 10)
        self.assertLess(fit, REQUESTS // 2)

        results = self.burst()
        by_status = {}
        for r in results:
            by_status.setdefault(r.status, []).append(r)
        ok, refused = by_status.get(200, []), by_status.get(402, [])
        self.assertEqual(len(ok) + len(refused), REQUESTS,
                         "statuses: %r; e.g. %r" % ({k: len(v) for k, v in by_status.items()},
                                                    [v[0] for k, v in by_status.items()
                                                     if k not in (200, 402)]))
        for r in refused:
            self.assertEqual(r.header("x-should-retry"), "false", repr(r))
            self.assertEqual(r.json()["error"]["type"], "insufficient_quota")
        self.assertGreaterEqual(len(ok), 1)
        self.assertLessEqual(len(ok), fit)

        # Nothing reached the upstream for a refused request.
        calls = gw.sim_api_requests(self.seq)
        self.assertEqual(len(calls), len(ok))
        rows = gw.wait_usage_rows(self.app_id, len(ok))
        self.assertEqual(len(rows), len(ok))

        # The settled total: exact, never above the allowance, and what the
        # simulator billed.
        settled = sum((Decimal(r["cost"]) for r in rows if r["is_byok"] == "0"), Decimal(0))
        self.assertLessEqual(settled, FREE_ALLOWANCE)
        self.assertEqual(settled, cost * len(ok))
        self.assertEqual(settled, sum((gw.sim_entry_cost(c) for c in calls), Decimal(0)))
        period = current_period_row(self.app_id)
        self.assertEqual(Decimal(period["used_usd"]), settled)
        self.assertEqual(Decimal(period["reserved_usd"]), 0)
        left = gw.db_query("SELECT COUNT(*) AS n FROM credit_reservations WHERE app_id = '%s'"
                           % app)
        self.assertEqual(left[0]["n"], "0")
        u = gw.decimal_json(gw.request("GET", "/v1/%s/ai/usage" % app, token=self.admin))
        self.assertEqual(u["credits"]["used"], settled)
        self.assertEqual(u["requests"], len(ok))

        # After the race, one at a time: exactly `fit` requests pass in all,
        # so every request refused in the race was refused because the
        # allowance could not cover it, not by a lost reservation.
        more = 0
        for _ in range(fit + 1):
            r = gw.request("POST", gw.chat_path(app), body=self.body(), token=self.client)
            if r.status == 402:
                break
            self.assertEqual(r.status, 200, repr(r))
            more += 1
        self.assertEqual(r.status, 402)
        self.assertEqual(len(ok) + more, fit)
        if os.environ.get("AIGW_TEST_VERBOSE"):
            print("  race: %d x 200, %d x 402; then %d more fitted (%d in all)"
                  % (len(ok), len(refused), more, fit), flush=True)
        used = Decimal(current_period_row(self.app_id)["used_usd"])
        self.assertEqual(used, cost * fit)
        self.assertLessEqual(used, FREE_ALLOWANCE)
        self.assertGreater(used + reserve, FREE_ALLOWANCE)
