"""Fairness limits on the proxied endpoints, shared by every worker of the
host: an app's maxConcurrentRequests and requestsPerMinute, a key's
requests per minute. A request over a limit gets our own 429 with
Retry-After and an OpenAI-shaped error, is never sent upstream, and costs
nothing; requests under it are served as usual."""

import concurrent.futures
import time

import gw
from test_billing import BillingTest, chat_body


class LimitsTest(BillingTest):
    def set_config(self, **fields):
        r = gw.request("PUT", gw.config_path(self.app_id), token=self.admin, body=fields)
        self.assertEqual(r.status, 200, repr(r))

    def assertLimited(self, r, words):
        err = self.assertError(r, 429)
        self.assertIn(words, err["message"])
        retry = int(r.header("Retry-After"))
        self.assertGreaterEqual(retry, 1)
        self.assertLessEqual(retry, 61)
        return retry

    def test_requests_in_flight_capped_across_workers(self):
        self.make_app("pro")
        self.set_config(maxConcurrentRequests=3)
        slow = chat_body(max_tokens=1, sim={"scenario": "slow_first_byte", "delay_ms": 1500})
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: self.chat(slow), range(8)))
        statuses = sorted(r.status for r in answers)
        # three in flight at once, whichever worker took them; the rest refused
        self.assertEqual(statuses, [200] * 3 + [429] * 5, repr(statuses))
        for r in answers:
            if r.status == 429:
                self.assertEqual(self.assertLimited(r, "maxConcurrentRequests"), 1)
        self.assertEqual(len(self.upstream_calls()), 3)
        # their places are given back: three more fit again
        self.assertEqual(self.chat(chat_body(max_tokens=1)).status, 200)
        self.settled(4)

    def test_app_requests_per_minute(self):
        self.make_app("enterprise")
        self.set_config(requestsPerMinute=4)
        statuses = [self.chat(chat_body(max_tokens=1)).status for _ in range(4)]
        self.assertEqual(statuses, [200] * 4)
        r = self.chat(chat_body(max_tokens=1))
        self.assertLimited(r, "requestsPerMinute")
        self.assertEqual(len(self.upstream_calls()), 4)
        # a refused request costs nothing and leaves no usage row
        self.settled(4)
        # raising the limit takes effect at once, on every worker
        self.set_config(requestsPerMinute=10)
        self.assertEqual(self.chat(chat_body(max_tokens=1)).status, 200)

    def test_rate_limit_headers(self):
        self.make_app("enterprise")
        r = self.chat(chat_body(max_tokens=1))
        self.assertEqual(r.status, 200)
        # no per-minute limit: no x-ratelimit headers
        self.assertIsNone(r.header("x-ratelimit-limit-requests"))
        self.set_config(requestsPerMinute=3)
        seen = []
        for _ in range(3):
            r = self.chat(chat_body(max_tokens=1))
            self.assertEqual(r.status, 200)
            seen.append((r.header("x-ratelimit-limit-requests"),
                         r.header("x-ratelimit-remaining-requests")))
            reset = r.header("x-ratelimit-reset-requests")
            self.assertRegex(reset or "", r"^[0-9]+s$")
            self.assertTrue(1 <= int(reset[:-1]) <= 61, reset)
        self.assertEqual(seen, [("3", "2"), ("3", "1"), ("3", "0")])
        r = self.chat(chat_body(max_tokens=1))
        self.assertLimited(r, "requestsPerMinute")
        self.assertEqual(r.header("x-ratelimit-remaining-requests"), "0")
        # a key's own lower limit is the one reported
        out = gw.admin_ok("key", "create", "--app", self.app_id, "--role", "client",
                          "--rpm", "1")
        self.set_config(requestsPerMinute=100)
        r = self.chat(chat_body(max_tokens=1), token=out.strip())
        self.assertEqual(r.status, 200)
        self.assertEqual((r.header("x-ratelimit-limit-requests"),
                          r.header("x-ratelimit-remaining-requests")), ("1", "0"))

    def test_key_requests_per_minute(self):
        self.make_app("pro")
        out = gw.admin_ok("key", "create", "--app", self.app_id, "--role", "client",
                          "--rpm", "2")
        limited = out.strip()
        self.assertEqual(self.chat(chat_body(max_tokens=1), token=limited).status, 200)
        self.assertEqual(self.chat(chat_body(max_tokens=1), token=limited).status, 200)
        self.assertLimited(self.chat(chat_body(max_tokens=1), token=limited),
                           "API key's limit of 2")
        # the app's other key is not limited by it
        self.assertEqual(self.chat(chat_body(max_tokens=1)).status, 200)
        self.assertEqual(len(self.upstream_calls()), 3)
