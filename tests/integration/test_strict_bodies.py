"""Strict request bodies through the real web server: what the gateway checks
(model, token limits, credits) is exactly what it sends upstream. A body that
is not RFC 8259 JSON, or that names a key twice at any depth, is a 400 naming
the problem, reaches no upstream and leaves no usage row; the attack these
close is a first copy of a key checked and a second one read upstream."""

import concurrent.futures
import threading
import time
from decimal import Decimal

import gw
from test_billing import FREE_ALLOWANCE, checked, periods

M_MINI = "openai/gpt-4o-mini"
M_DEAR = "sim/expensive"
M_EMB = "openai/text-embedding-3-small"
MSG = '"messages":[{"role":"user","content":"hi"}]'


class StrictBodyTest(gw.ProxyTest):
    def refused(self, r, param=Ellipsis, fragment=None):
        """A 400 that sent nothing upstream and wrote no row."""
        err = self.assertError(r, 400, param=param)
        if fragment is not None:
            self.assertIn(fragment, err["message"], repr(r))
        time.sleep(0.2)
        self.assertEqual(self.upstream_calls(), [], "a refused body reached the upstream")
        self.assertEqual(gw.usage_rows(self.app_id), [], "a refused body left a usage row")
        return err

    def raw_chat(self, text):
        return self.chat(text, content_type="application/json")

    def raw_embed(self, text):
        return self.embed(text, content_type="application/json")


class DuplicateKeyTest(StrictBodyTest):
    def test_duplicate_model_past_allowed_models(self):
        self.configure({"allowedModels": [M_MINI]})
        r = self.raw_chat('{"model":"%s",%s,"model":"%s"}' % (M_MINI, MSG, M_DEAR))
        self.refused(r, "model", 'duplicate key "model"')

    def test_duplicate_max_tokens_past_the_cap(self):
        self.configure({"maxTokensPerRequest": 16})
        r = self.raw_chat('{"model":"%s",%s,"max_tokens":1,"max_tokens":40}' % (M_MINI, MSG))
        self.refused(r, "max_tokens", 'duplicate key "max_tokens"')

    def test_duplicate_stream(self):
        r = self.raw_chat('{"model":"%s",%s,"stream":false,"stream":true}' % (M_MINI, MSG))
        self.refused(r, "stream", 'duplicate key "stream"')

    def test_duplicate_key_deep_in_messages(self):
        r = self.raw_chat('{"model":"%s","messages":[{"role":"user","content":"a",'
                          '"content":"b"}]}' % M_MINI)
        self.refused(r, "messages[0].content", "at messages[0].content")

    def test_duplicate_key_spelled_with_an_escape(self):
        r = self.raw_chat('{"model":"%s",%s,"\\u006dodel":"%s"}' % (M_MINI, MSG, M_DEAR))
        self.refused(r, "model")

    def test_embeddings_duplicate_model(self):
        self.configure({"allowedModels": [M_EMB, M_MINI]})
        r = self.raw_embed('{"model":"%s","input":"x","model":"%s"}' % (M_EMB, M_DEAR))
        self.refused(r, "model", 'duplicate key "model"')

    def test_embeddings_duplicate_max_tokens(self):
        r = self.raw_embed('{"model":"%s","input":"x","max_tokens":1,"max_tokens":9}' % M_EMB)
        self.refused(r, "max_tokens", 'duplicate key "max_tokens"')

    def test_embeddings_duplicate_input_and_stream(self):
        r = self.raw_embed('{"model":"%s","input":"x","input":["a","b"]}' % M_EMB)
        self.refused(r, "input")
        r = self.raw_embed('{"model":"%s","input":"x","stream":false,"stream":true}' % M_EMB)
        self.refused(r, "stream")

    def test_config_put_duplicate(self):
        r = gw.put_config(self.app_id, self.admin,
                          '{"maxTokensPerRequest":10,"maxTokensPerRequest":20}',
                          content_type="application/json")
        self.assertError(r, 400, param="maxTokensPerRequest")
        self.assertIsNone(gw.get_config(self.app_id, self.admin).json()["maxTokensPerRequest"])

    def test_same_key_in_sibling_objects_is_accepted(self):
        r = self.raw_chat('{"model":"%s","messages":[{"role":"user","content":"a"},'
                          '{"role":"assistant","content":"b"},{"role":"user","content":"c"}]}'
                          % M_MINI)
        self.assertOkJson(r)


class SyntaxTest(StrictBodyTest):
    def test_nul_escape_refused_not_cut(self):
        r = self.raw_chat('{"model":"%s","messages":[{"role":"user","content":'
                          '"before\\u0000after"}]}' % M_MINI)
        self.refused(r, None, "\\u0000")

    def test_embeddings_nul_escape(self):
        self.refused(self.raw_embed('{"model":"%s","input":"a\\u0000b"}' % M_EMB), None)

    def test_trailing_bytes(self):
        self.refused(self.raw_chat('{"model":"%s",%s} xyz' % (M_MINI, MSG)), None,
                     "after the JSON value")
        self.refused(self.raw_embed('{"model":"%s","input":"x"}{}' % M_EMB), None,
                     "after the JSON value")

    def test_raw_control_characters(self):
        for c in ("\x01", "\x1f", "\n", "\t"):
            r = self.raw_chat('{"model":"%s","messages":[{"role":"user","content":"a%sb"}]}'
                              % (M_MINI, c))
            self.refused(r, None, "raw control character 0x%02x" % ord(c))

    def test_numbers_outside_the_grammar(self):
        for n in ("01", "1.", "+1", "1e999", "NaN"):
            r = self.raw_chat('{"model":"%s",%s,"max_tokens":%s}' % (M_MINI, MSG, n))
            self.refused(r, None, "malformed JSON")

    def test_nesting_too_deep(self):
        deep = "[" * 100 + "]" * 100
        r = self.raw_chat('{"model":"%s",%s,"metadata":%s}' % (M_MINI, MSG, deep))
        self.refused(r, None, "nested deeper than")

    def test_escaped_control_characters_and_unicode_pass_intact(self):
        content = "tab\there \u00e9 \U0001F600 \"q\" \\ \u001f"
        r = self.chat({"model": M_MINI, "messages": [{"role": "user", "content": content}]})
        self.assertOkJson(r)
        sent = self.one_upstream_call("chat")["body"]
        self.assertEqual(sent["messages"][0]["content"], content)


class FreeAppDuplicateRaceTest(gw.GatewayTest):
    """The billing bypass, raced: 200 requests at once on a free app, each
    with a cheap first model and token cap and a dear second pair."""

    def test_200_racing_duplicate_key_requests_settle_within_the_allowance(self):
        app_id, _admin, client = gw.proxy_app(plan="free")
        seq = gw.sim_last_seq()
        body = ('{"model":"%s",%s,"max_tokens":1,"model":"%s","max_tokens":2000}'
                % (M_MINI, MSG, M_DEAR))
        n = 200
        start = threading.Barrier(n, timeout=60)

        def one(_):
            start.wait()
            return gw.request("POST", gw.chat_path(app_id), body=body, token=client,
                              content_type="application/json", timeout=120)

        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
            answers = list(pool.map(one, range(n)))
        self.assertEqual(sorted({r.status for r in answers}), [400], repr(answers[:3]))
        time.sleep(0.3)
        self.assertEqual(gw.sim_api_requests(seq), [], "a duplicate-key body went upstream")
        rows = gw.db_query("SELECT COALESCE(SUM(cost), 0) AS s FROM usage_requests "
                           "WHERE app_id = '%s'" % checked(app_id))
        settled = Decimal(rows[0]["s"])
        self.assertLessEqual(settled, FREE_ALLOWANCE)
        self.assertEqual(settled, 0)
        for period in periods(app_id):  # none at all, unless one was opened
            self.assertEqual(Decimal(period["reserved_usd"]), 0, repr(period))
            self.assertEqual(Decimal(period["used_usd"]), 0, repr(period))
