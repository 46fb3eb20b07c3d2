"""One app cannot take the gateway from the others: while an app holds 64
requests whose upstream hangs (more than the 2 x 16 threads a worker keeps
waiting), other apps' requests and /v1/health are answered at once; the
hanging requests end with the upstream, each with its usage row.

Only with the pool: under mod_fcgid each aigw.fcgi process takes one request
at a time, so the processes mod_fcgid may start are all there is (README:
Sizing for thousands of streams, mod_fcgid)."""

import concurrent.futures
import time
import unittest

import gw
from test_billing import BillingTest, chat_body

HANGING = 64
HANG_MS = 4000


def load_tests(loader, tests, pattern):
    """No cases without the pool (mod_fcgid)."""
    return tests if gw.pool_socket() else unittest.TestSuite()


class IsolationTest(BillingTest):
    def test_hanging_app_does_not_block_others(self):
        hog = self.make_app("enterprise")
        hog_key = self.client
        other, _, other_key = gw.proxy_app(plan="enterprise")
        body = chat_body(max_tokens=1, sim={"scenario": "slow_first_byte",
                                            "delay_ms": HANG_MS})
        with concurrent.futures.ThreadPoolExecutor(HANGING) as pool:
            hung = [pool.submit(self.chat, body, hog_key) for _ in range(HANGING)]
            time.sleep(1.0)  # all 64 are in the gateway, waiting on the upstream
            self.assertFalse(any(f.done() for f in hung), "a hanging request ended early")
            slowest = 0.0
            for _ in range(20):
                start = time.monotonic()
                r = self.chat(chat_body(max_tokens=1), token=other_key, app_id=other)
                self.assertEqual(r.status, 200, repr(r))
                h = gw.request("GET", "/v1/health")
                self.assertEqual(h.status, 200, repr(h))
                slowest = max(slowest, time.monotonic() - start)
            # served while the others hang: far below the upstream's 4 s
            self.assertLess(slowest, 1.0)
            self.assertFalse(all(f.done() for f in hung))
            statuses = [f.result(timeout=30).status for f in hung]
        self.assertEqual(statuses, [200] * HANGING)
        self.assertEqual(len(gw.wait_usage_rows(hog, HANGING)), HANGING)
