"""x-aigw-overhead-ms on every proxied response: the time spent in aigw
outside the upstream call before the head went out, a decimal number of
milliseconds. An upstream that takes its time does not count."""

import re
import time

import gw

M_MINI = "openai/gpt-4o-mini"
M_EMB = "openai/text-embedding-3-small"
MESSAGES = [{"role": "user", "content": "hi"}]
OVERHEAD_RE = re.compile(r"^\d+\.\d{3}$")


class OverheadHeaderTest(gw.ProxyTest):
    def overhead(self, r):
        v = r.header("x-aigw-overhead-ms")
        self.assertIsNotNone(v, "no x-aigw-overhead-ms: %r" % r)
        self.assertRegex(v, OVERHEAD_RE)
        return float(v)

    def test_on_answers_streams_errors_and_refusals(self):
        cases = [
            self.chat({"model": M_MINI, "messages": MESSAGES}),
            self.embed({"model": M_EMB, "input": "x"}),
            self.chat({"model": M_MINI, "messages": MESSAGES, "sim": {"scenario": "error_500"}}),
            self.chat('{"model":"m","model":"n"}', content_type="application/json"),
            self.chat({"model": M_MINI, "messages": MESSAGES, "max_tokens": 0}),
        ]
        for r in cases:
            ms = self.overhead(r)
            self.assertGreaterEqual(ms, 0.0)
            self.assertLess(ms, 5000.0, repr(r))
        s = self.stream({"model": M_MINI, "messages": MESSAGES})
        self.assertEqual(s.status, 200)
        self.overhead(s)
        s.read_all()

    def test_upstream_time_is_not_counted(self):
        started = time.monotonic()
        r = self.chat({"model": M_MINI, "messages": MESSAGES,
                       "sim": {"scenario": "slow_first_byte", "delay_ms": 600}})
        took = (time.monotonic() - started) * 1000
        self.assertOkJson(r)
        self.assertGreater(took, 600)
        # The 600 ms upstream wait is outside: what is left is the gateway's.
        self.assertLess(self.overhead(r), 300.0)

        s = self.stream({"model": M_MINI, "messages": MESSAGES,
                         "sim": {"scenario": "slow_first_byte", "delay_ms": 600}})
        self.assertEqual(s.status, 200)
        self.assertLess(self.overhead(s), 300.0)
        s.read_all()
