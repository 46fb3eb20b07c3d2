"""GET /ai/usage over ranges that start and end anywhere in a month.

The endpoint reads whole months from usage_monthly and the edge days from
usage_daily. These tests lay down a known history (both rollups filled the
way the gateway fills them: monthly = the sums of daily) over four months and
check every kind of range against a direct sum over usage_daily, exactly."""
import datetime
import urllib.parse
from decimal import Decimal

import gw

FIRST = datetime.date(2025, 10, 20)
LAST = datetime.date(2026, 2, 10)
MODELS = ("openai/gpt-4o-mini", "anthropic/claude-3.5-sonnet")

# (start, end): inside a month, across one boundary, whole months, a month's
# last and first days, from a month's first day, to a month's last day, and
# the whole history.
RANGES = (
    ("2025-11-15", "2025-11-16"),
    ("2025-10-31", "2025-11-01"),
    ("2025-11-01", "2025-11-30"),
    ("2025-11-01", "2025-12-31"),
    ("2025-10-25", "2025-12-31"),
    ("2025-11-01", "2026-01-15"),
    ("2025-10-31", "2025-12-01"),
    ("2025-12-01", "2026-01-15"),
    ("2026-01-31", "2026-02-01"),
    ("2025-10-20", "2026-02-10"),
    ("2025-09-01", "2026-03-31"),
)


class UsageRangeTest(gw.GatewayTest):
    @classmethod
    def setUpClass(cls):
        cls.app_id, cls.admin, _ = gw.proxy_app(plan="enterprise")
        rows = []
        day = FIRST
        n = 0
        while day <= LAST:
            for m, model in enumerate(MODELS):
                for byok in (0, 1):
                    n += 1
                    rows.append("('%s','%s','%s',%d,%d,%d,%d,0,0,'%s',UTC_TIMESTAMP(6))" % (
                        cls.app_id, day.isoformat(), model, byok, 1 + n % 5, 10 * n,
                        3 * n + m, Decimal(n) / Decimal(10 ** 7)))
            day += datetime.timedelta(days=1)
        gw.db_query("INSERT INTO usage_daily (app_id, day, model, is_byok, requests, "
                    "prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, "
                    "cost, updated_at) VALUES " + ",".join(rows))
        gw.db_query("INSERT INTO usage_monthly (app_id, month, model, is_byok, requests, "
                    "prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, "
                    "cost, updated_at) SELECT app_id, DATE_FORMAT(day, '%%Y-%%m-01'), model, "
                    "is_byok, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), 0, 0, "
                    "SUM(cost), MAX(updated_at) FROM usage_daily WHERE app_id = '%s' "
                    "GROUP BY app_id, DATE_FORMAT(day, '%%Y-%%m-01'), model, is_byok"
                    % cls.app_id)

    def expected(self, start, end):
        rows = gw.db_query(
            "SELECT model, is_byok, SUM(requests) AS r, SUM(prompt_tokens) AS p, "
            "SUM(completion_tokens) AS c, SUM(cost) AS cost FROM usage_daily "
            "WHERE app_id = '%s' AND day BETWEEN '%s' AND '%s' GROUP BY model, is_byok"
            % (self.app_id, start, end))
        by_model, total, byok = {}, [0, 0, 0, Decimal(0)], [0, 0, Decimal(0)]
        for row in rows:
            r, p, c, cost = int(row["r"]), int(row["p"]), int(row["c"]), Decimal(row["cost"])
            m = by_model.setdefault(row["model"], [0, 0, 0, Decimal(0)])
            for acc in (m, total):
                acc[0] += r
                acc[1] += p
                acc[2] += c
                acc[3] += cost
            if row["is_byok"] == "1":
                byok[0] += r
                byok[1] += p + c
                byok[2] += cost
        return by_model, total, byok

    def test_every_kind_of_range_equals_the_daily_sums(self):
        for start, end in RANGES:
            with self.subTest(start=start, end=end):
                q = urllib.parse.urlencode({"startDate": start, "endDate": end})
                r = gw.request("GET", "/v1/%s/ai/usage?%s" % (self.app_id, q), token=self.admin)
                self.assertEqual(r.status, 200, r)
                got = gw.decimal_json(r)
                by_model, total, byok = self.expected(start, end)
                self.assertEqual(got["requests"], total[0])
                self.assertEqual(got["promptTokens"], total[1])
                self.assertEqual(got["completionTokens"], total[2])
                self.assertEqual(got["totalTokens"], total[1] + total[2])
                self.assertEqual(Decimal(str(got["totalCost"])), total[3])
                self.assertEqual(got["byok"]["requests"], byok[0])
                self.assertEqual(got["byok"]["totalTokens"], byok[1])
                self.assertEqual(Decimal(str(got["byok"]["cost"])), byok[2])
                self.assertEqual({m["model"]: [m["requests"], m["promptTokens"],
                                               m["completionTokens"], Decimal(str(m["cost"]))]
                                  for m in got["byModel"]}, by_model)

    def test_granularity_day_series_equals_each_days_sums(self):
        start, end = "2025-10-18", "2025-11-02"  # two empty days before FIRST
        q = urllib.parse.urlencode({"startDate": start, "endDate": end, "granularity": "day"})
        r = gw.request("GET", "/v1/%s/ai/usage?%s" % (self.app_id, q), token=self.admin)
        self.assertEqual(r.status, 200, r)
        got = gw.decimal_json(r)
        days = got["days"]
        want_dates = [(datetime.date(2025, 10, 18) + datetime.timedelta(days=i)).isoformat()
                      for i in range(16)]
        self.assertEqual([d["date"] for d in days], want_dates)
        rows = {row["day"]: row for row in gw.db_query(
            "SELECT day, SUM(requests) AS r, SUM(prompt_tokens) AS p, "
            "SUM(completion_tokens) AS c, SUM(cost) AS cost FROM usage_daily "
            "WHERE app_id = '%s' AND day BETWEEN '%s' AND '%s' GROUP BY day"
            % (self.app_id, start, end))}
        for d in days:
            row = rows.get(d["date"])
            want = ([int(row["r"]), int(row["p"]), int(row["c"]), Decimal(row["cost"])]
                    if row else [0, 0, 0, Decimal(0)])
            self.assertEqual([d["requests"], d["promptTokens"], d["completionTokens"],
                              Decimal(str(d["cost"]))], want, d["date"])
            self.assertEqual(d["totalTokens"], want[1] + want[2])
        # the series adds up to the totals
        self.assertEqual(sum(d["requests"] for d in days), got["requests"])
        self.assertEqual(sum(Decimal(str(d["cost"])) for d in days),
                         Decimal(str(got["totalCost"])))
        # the default granularity has no series
        q = urllib.parse.urlencode({"startDate": start, "endDate": end})
        r = gw.request("GET", "/v1/%s/ai/usage?%s" % (self.app_id, q), token=self.admin)
        self.assertNotIn("days", r.json())

    def test_unknown_repeated_or_bad_parameters_refused(self):
        for query, param in (("startdate=2025-11-01", "startdate"),
                             ("startDate=2025-11-01&end=2025-11-02", "end"),
                             ("from=2025-11-01", "from"),
                             ("startDate=2025-11-01&startDate=2025-11-02", "startDate"),
                             ("granularity=week", "granularity"),
                             ("granularity=", "granularity")):
            with self.subTest(query=query):
                r = gw.request("GET", "/v1/%s/ai/usage?%s" % (self.app_id, query),
                               token=self.admin)
                self.assertError(r, 400, param=param)
