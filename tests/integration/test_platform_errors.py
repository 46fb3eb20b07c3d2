"""Upstream errors of the platform's own account (its key refused, out of
credits, rate-limited as a whole) are the operator's to fix: tenants get a
503 "temporarily unavailable" without the account's details, and the log
says what to fix. The same errors on an app's own BYOK key pass through as
they are, since the app can fix them."""

import os
import secrets

import gw

M_MINI = "openai/gpt-4o-mini"
M_EMB = "openai/text-embedding-3-small"
MESSAGES = [{"role": "user", "content": "hi"}]
ACCOUNT_MESSAGE = "Insufficient credits on the operator account acct-4711"


def chat_body(scenario, **fields):
    sim = dict({"scenario": scenario, "message": ACCOUNT_MESSAGE}, **fields)
    return {"model": M_MINI, "messages": MESSAGES, "sim": sim}


class PlatformAccountErrorTest(gw.ProxyTest):
    def assertUnavailable(self, r):
        err = self.assertError(r, 503)
        self.assertEqual(err["message"], "the AI provider is temporarily unavailable")
        self.assertNotIn("acct-4711", r.text)
        self.assertNotIn("credits", r.text.lower())
        return err

    def test_platform_key_refused_is_503(self):
        r = self.chat(chat_body("error_401"))
        self.assertUnavailable(r)
        self.assertEqual(r.header("x-should-retry"), "false")

    def test_platform_out_of_credits_is_503_not_insufficient_quota(self):
        r = self.chat(chat_body("error_402"))
        err = self.assertUnavailable(r)
        self.assertNotEqual(err["type"], "insufficient_quota")
        self.assertEqual(r.header("x-should-retry"), "false")

    def test_streamed_request_gets_the_same(self):
        s = self.stream(chat_body("error_402"))
        self.assertEqual(s.status, 503)
        self.assertNotIn("acct-4711", s.read_rest().text)

    def test_embeddings_platform_out_of_credits(self):
        r = self.embed({"model": M_EMB, "input": "x",
                        "sim": {"scenario": "error_402", "message": ACCOUNT_MESSAGE}})
        self.assertUnavailable(r)

    def test_account_rate_limit_is_503_with_retry_after(self):
        # OpenRouter's own limit on the key: no provider in the metadata.
        r = self.chat(chat_body("error_429", metadata={}, retry_after=7))
        self.assertUnavailable(r)
        self.assertEqual(r.header("retry-after"), "7")

    def test_provider_rate_limit_passes_through(self):
        # A model's provider limiting: the app may pick another model.
        r = self.chat(chat_body("error_429"))
        err = self.assertUpstreamError(r, 429, ACCOUNT_MESSAGE)
        self.assertEqual(err["metadata"]["provider_name"], "OpenAI")

    def test_a_message_quoting_the_platform_key_reaches_no_log(self):
        key = gw.conf_value("upstream_key", "")
        self.assertGreater(len(key), 12)
        for quoted in (key, key[:12] + "..."):
            r = self.chat(chat_body("error_401", message="Incorrect API key: " + quoted))
            self.assertUnavailable(r)
            self.assertNotIn(key[:12], r.text)
        logs = os.path.join(gw.env("AIGW_DIR"), "log")
        for name in os.listdir(logs):
            with open(os.path.join(logs, name), "rb") as f:
                found = key[:12].encode() in f.read()
            self.assertFalse(found, "the platform key is in %s" % name)

    def test_other_errors_pass_through(self):
        r = self.chat(chat_body("error_403"))
        self.assertUpstreamError(r, 403, ACCOUNT_MESSAGE)


class ByokErrorTest(gw.ProxyTest):
    """The app's own key: its errors are the app's, verbatim."""

    def setUp(self):
        super().setUp()
        self.configure({"byokKey": "sk-or-byok-" + secrets.token_hex(24)})

    def test_byok_401_402_429_pass_through(self):
        for status, fields in ((401, {}), (402, {}), (429, {"metadata": {}})):
            r = self.chat(chat_body("error_%d" % status, **fields))
            self.assertUpstreamError(r, status, ACCOUNT_MESSAGE)
        r = self.chat(chat_body("error_402"))
        self.assertEqual(r.json()["error"]["type"], "insufficient_quota")
        self.assertEqual(r.header("x-should-retry"), "false")
