"""POST /v1/{app}/chat/completions without streaming, through the real web
server and the OpenRouter simulator: answers passed
through, upstream errors re-shaped with their status and message kept,
request shaping (model, max_tokens, allowedModels, unknown fields and
attribution headers passed through), platform key or BYOK, x-generation-id."""

import secrets
import time
from decimal import Decimal

import gw

WORDS = gw.sim_module("sim_data").WORDS
M_MINI = "openai/gpt-4o-mini"
M_4O = "openai/gpt-4o"
M_SONNET = "anthropic/claude-3.5-sonnet"
MESSAGES = [{"role": "user", "content": "Say hello"}]
GEN_RE = r"^gen-[A-Za-z0-9-]+$"

# Every pre-request error status OpenRouter answers with.
ERROR_STATUSES = [400, 401, 402, 403, 404, 408, 413, 422, 429, 500, 502, 503, 504, 524, 529]
RETRY_AFTER_STATUSES = (429, 503)  # the simulator sends Retry-After: 1 on these
PLATFORM_ACCOUNT_STATUSES = (401, 402)  # about the platform key: 503 for tenants


def answer_text(words=8):
    return "".join(WORDS[i % len(WORDS)] for i in range(words))


def ask(model=M_MINI, scenario=None, **fields):
    body = {"messages": MESSAGES}
    if model is not None:
        body["model"] = model
    if scenario is not None:
        body["sim"] = scenario if isinstance(scenario, dict) else {"scenario": scenario}
    body.update(fields)
    return body


class ChatAnswerTest(gw.ProxyTest):
    """What the client gets back for each non-stream scenario."""

    def test_ok_passed_through(self):
        r = self.chat(ask())
        body = self.assertOkJson(r)
        gen = r.header("x-generation-id")
        self.assertIsNotNone(gen, "no x-generation-id: %r" % r)
        self.assertRegex(gen, GEN_RE)
        self.assertEqual(body["id"], gen)
        self.assertEqual(body["object"], "chat.completion")
        self.assertEqual(body["model"], M_MINI)
        self.assertEqual(len(body["choices"]), 1, repr(body))
        self.assertEqual(body["choices"][0]["message"]["content"], answer_text())
        self.assertEqual(body["choices"][0]["finish_reason"], "stop")
        call = self.one_upstream_call("chat")
        self.assertEqual(call["generation_id"], gen)
        self.assertIs(call["stream"], False)
        usage = gw.decimal_json(r)["usage"]
        self.assertEqual(usage["cost"], Decimal(call["cost"]))
        self.assertEqual(usage["prompt_tokens"], call["prompt_tokens"])
        self.assertEqual(usage["completion_tokens"], call["completion_tokens"])
        self.assertIs(usage["is_byok"], False)

    def test_byte_by_byte_non_stream(self):
        r = self.chat(ask(scenario="byte_by_byte"))
        body = self.assertOkJson(r)
        self.assertEqual(body["choices"][0]["message"]["content"], answer_text())
        self.assertEqual(body["id"], r.header("x-generation-id"))
        self.assertIn("usage", body)

    def test_slow_first_byte(self):
        start = time.monotonic()
        r = self.chat(ask(scenario={"scenario": "slow_first_byte", "delay_ms": 1200}))
        took = time.monotonic() - start
        body = self.assertOkJson(r)
        self.assertEqual(body["choices"][0]["message"]["content"], answer_text())
        self.assertGreaterEqual(took, 1.2, "answered before the upstream did")

    def test_choices_error_passed_through_200(self):
        r = self.chat(ask(scenario="choices_error"))
        body = self.assertOkJson(r)
        choice = body["choices"][0]
        self.assertEqual(choice["finish_reason"], "error", repr(body))
        self.assertIsInstance(choice.get("error"), dict, repr(body))
        self.assertEqual(choice["error"]["code"], 502, repr(body))
        self.assertEqual(choice["message"]["content"], answer_text(2))
        self.assertEqual(body["id"], r.header("x-generation-id"))
        call = self.one_upstream_call("chat")
        self.assertEqual(gw.decimal_json(r)["usage"]["cost"], Decimal(call["cost"]))

    def test_fallback_answers_other_model(self):
        r = self.chat(ask(models=[M_MINI, M_SONNET], scenario="fallback"))
        body = self.assertOkJson(r)
        self.assertEqual(body["model"], M_SONNET)
        call = self.one_upstream_call("chat")
        self.assertEqual(call["model"], M_SONNET)
        self.assertEqual(call["body"]["models"], [M_MINI, M_SONNET])

    def test_cut_non_stream_is_502(self):
        # Headers with the full Content-Length, half the body, then a close:
        # the client must get an error, never half a JSON document.
        r = self.chat(ask(scenario="cut"))
        err = self.assertError(r, 502)
        self.assertEqual(err["type"], "upstream_error")


class ChatUpstreamErrorTest(gw.ProxyTest):
    """error_<status>: the status kept, OpenAI error shape with an integer
    code, the upstream's message kept, Retry-After forwarded for 429/503,
    x-should-retry: false on 402. One test per status (added below)."""

    def check_error(self, status):
        message = "simulated %d for %s" % (status, self.app_id)
        r = self.chat(ask(scenario={"scenario": "error_%d" % status, "message": message}))
        if status in PLATFORM_ACCOUNT_STATUSES:
            # the platform key's own trouble: not the tenant's (test_platform_errors)
            err = self.assertError(r, 503)
            self.assertNotIn(message, r.text)
            self.assertIn("temporarily unavailable", err["message"])
            self.assertEqual(r.header("x-should-retry"), "false", repr(r))
            return
        self.assertUpstreamError(r, status, message)
        if status in RETRY_AFTER_STATUSES:
            self.assertEqual(r.header("retry-after"), "1", repr(r))
        else:
            self.assertIsNone(r.header("retry-after"), repr(r))
        calls = self.upstream_calls("chat")
        self.assertTrue(calls, "the simulator got no request")
        self.assertTrue(all(c["scenario"] == "error_%d" % status for c in calls), repr(calls))

    def test_error_429_without_retry_after(self):
        r = self.chat(ask(scenario={"scenario": "error_429", "retry_after": None}))
        self.assertUpstreamError(r, 429)
        self.assertIsNone(r.header("retry-after"), repr(r))

    def test_error_403_moderation_message(self):
        r = self.chat(ask(scenario="error_403"))
        err = self.assertUpstreamError(r, 403)
        self.assertNotEqual(err["message"], "", repr(r))


def _error_case(status):
    def test(self):
        self.check_error(status)
    test.__doc__ = "upstream %d → %d in our error shape" % (status, status)
    return test


for _status in ERROR_STATUSES:
    setattr(ChatUpstreamErrorTest, "test_error_%d" % _status, _error_case(_status))


class ChatShapingTest(gw.ProxyTest):
    """The body and headers the upstream receives."""

    def sent(self):
        return self.one_upstream_call("chat")

    def test_model_from_app_default(self):
        self.configure({"defaultModel": M_4O})
        r = self.chat(ask(model=None))
        self.assertEqual(self.assertOkJson(r)["model"], M_4O)
        self.assertEqual(self.sent()["body"]["model"], M_4O)

    def test_model_from_operator_default(self):
        r = self.chat(ask(model=None))
        self.assertOkJson(r)
        want = gw.conf_value("default_model", gw.DEFAULT_OPERATOR_MODEL)
        self.assertEqual(self.sent()["body"]["model"], want)

    def test_model_null_uses_default(self):
        self.configure({"defaultModel": M_4O})
        body = ask(model=None)
        body["model"] = None
        r = self.chat(body)
        self.assertOkJson(r)
        self.assertEqual(self.sent()["body"]["model"], M_4O)

    def test_cleared_default_falls_back_to_operator(self):
        self.configure({"defaultModel": M_4O})
        self.configure({"defaultModel": None})
        self.assertOkJson(self.chat(ask(model=None)))
        want = gw.conf_value("default_model", gw.DEFAULT_OPERATOR_MODEL)
        self.assertEqual(self.sent()["body"]["model"], want)

    def test_given_model_wins_over_default(self):
        self.configure({"defaultModel": M_SONNET})
        self.assertOkJson(self.chat(ask(model=M_4O)))
        self.assertEqual(self.sent()["body"]["model"], M_4O)

    def test_max_tokens_filled_from_cap(self):
        self.configure({"maxTokensPerRequest": 5})
        r = self.chat(ask())
        body = self.assertOkJson(r)
        self.assertEqual(self.sent()["body"].get("max_tokens"), 5)
        self.assertEqual(body["choices"][0]["message"]["content"], answer_text(5))
        self.assertEqual(body["choices"][0]["finish_reason"], "length")

    def test_max_tokens_not_filled_without_cap(self):
        self.assertOkJson(self.chat(ask()))
        sent = self.sent()["body"]
        self.assertNotIn("max_tokens", sent)
        self.assertNotIn("max_completion_tokens", sent)

    def test_max_tokens_under_cap_kept(self):
        self.configure({"maxTokensPerRequest": 10})
        self.assertOkJson(self.chat(ask(max_tokens=4)))
        self.assertEqual(self.sent()["body"]["max_tokens"], 4)

    def test_max_tokens_equal_to_cap_kept(self):
        self.configure({"maxTokensPerRequest": 10})
        self.assertOkJson(self.chat(ask(max_tokens=10)))
        self.assertEqual(self.sent()["body"]["max_tokens"], 10)

    def test_max_completion_tokens_not_doubled(self):
        self.configure({"maxTokensPerRequest": 10})
        self.assertOkJson(self.chat(ask(max_completion_tokens=3)))
        sent = self.sent()["body"]
        self.assertEqual(sent["max_completion_tokens"], 3)
        self.assertNotIn("max_tokens", sent)

    def test_max_tokens_over_cap_400(self):
        self.configure({"maxTokensPerRequest": 5})
        r = self.chat(ask(max_tokens=6))
        self.assertError(r, 400, param="max_tokens")
        self.assertEqual(self.upstream_calls(), [])

    def test_max_completion_tokens_over_cap_400(self):
        self.configure({"maxTokensPerRequest": 5})
        r = self.chat(ask(max_completion_tokens=6))
        self.assertError(r, 400, param="max_completion_tokens")
        self.assertEqual(self.upstream_calls(), [])

    def test_model_outside_allowed_403(self):
        self.configure({"allowedModels": [M_MINI]})
        r = self.chat(ask(model=M_4O))
        self.assertError(r, 403, param="model")
        self.assertEqual(self.upstream_calls(), [])

    def test_model_inside_allowed_passes(self):
        self.configure({"allowedModels": [M_MINI, M_4O]})
        self.assertOkJson(self.chat(ask(model=M_4O)))
        self.assertEqual(self.sent()["body"]["model"], M_4O)

    def test_default_model_inside_allowed_used(self):
        self.configure({"allowedModels": [M_4O], "defaultModel": M_4O})
        self.assertOkJson(self.chat(ask(model=None)))
        self.assertEqual(self.sent()["body"]["model"], M_4O)

    def test_unknown_fields_passed_verbatim(self):
        extra = {
            "provider": {"order": ["OpenAI", "Azure"], "allow_fallbacks": False,
                         "data_collection": "deny"},
            "models": [M_MINI, M_4O],
            "plugins": [{"id": "web", "max_results": 3}],
            "reasoning": {"effort": "high", "exclude": True},
            "transforms": ["middle-out"],
            "user": "user-\u00e9\u4e2d-1",
            "session_id": "s-" + secrets.token_hex(4),
            "temperature": 0.7,
            "top_p": 1,
            "seed": 42,
            "stop": ["\n\n", "END"],
            "tools": [{"type": "function", "function": {
                "name": "get_weather", "parameters": {"type": "object", "properties": {
                    "city": {"type": "string"}}, "required": ["city"]}}}],
            "response_format": {"type": "json_object"},
            "metadata": {"nested": {"deep": [1, 2, {"x": None}]}},
        }
        messages = [{"role": "system", "content": "Be brief."},
                    {"role": "user", "content": [{"type": "text", "text": "Hi \"there\""}]}]
        self.assertOkJson(self.chat(ask(messages=messages, **extra)))
        sent = self.sent()["body"]
        for k, v in extra.items():
            self.assertEqual(sent.get(k), v, "field %s changed on the way up" % k)
        self.assertEqual(sent["messages"], messages)
        self.assertEqual(sent["model"], M_MINI)
        self.assertEqual(set(sent) - {"sim"}, set(extra) | {"messages", "model"})

    def test_attribution_headers_forwarded(self):
        headers = {"HTTP-Referer": "https://example.com/app?x=1",
                   "X-Title": "Old Title",
                   "X-OpenRouter-Title": "My App (integration)",
                   "X-OpenRouter-Categories": "cli-agent,programming"}
        self.assertOkJson(self.chat(ask(), headers=headers))
        got = self.sent()["headers"]
        self.assertEqual(got.get("http-referer"), headers["HTTP-Referer"], repr(got))
        self.assertEqual(got.get("x-title"), headers["X-Title"], repr(got))
        self.assertEqual(got.get("x-openrouter-title"), headers["X-OpenRouter-Title"], repr(got))
        self.assertEqual(got.get("x-openrouter-categories"), headers["X-OpenRouter-Categories"],
                         repr(got))

    def test_no_attribution_headers_when_client_sent_none(self):
        self.assertOkJson(self.chat(ask()))
        got = self.sent()["headers"]
        for h in ("http-referer", "x-title", "x-openrouter-title"):
            self.assertNotIn(h, got)

    def test_platform_key_used(self):
        r = self.chat(ask())
        self.assertIs(self.assertOkJson(r)["usage"]["is_byok"], False)
        auth = self.sent()["headers"].get("authorization")
        self.assertEqual(auth, "Bearer " + gw.conf_value("upstream_key", ""))
        self.assertNotIn(self.client, str(self.sent()))

    def test_byok_key_used(self):
        byok = "sk-or-byok-" + secrets.token_hex(24)
        cfg = self.configure({"byokKey": byok})
        self.assertTrue(cfg["byok"]["configured"])
        r = self.chat(ask())
        self.assertIs(self.assertOkJson(r)["usage"]["is_byok"], True)
        self.assertEqual(self.sent()["headers"].get("authorization"), "Bearer " + byok)
        row = self.row_for(r.header("x-generation-id"))
        self.assertEqual(row["is_byok"], "1", repr(row))

    def test_byok_answer_tells_the_truth(self):
        # The upstream reports is_byok about its own accounts (false here: the
        # simulator says true only for its "sk-or-byok-" keys); the answer
        # must say the app's own key paid, in every shape.
        byok = "sk-or-v1-" + secrets.token_hex(32)
        self.configure({"byokKey": byok})
        r = self.chat(ask())
        self.assertIs(self.assertOkJson(r)["usage"]["is_byok"], True)
        self.assertEqual(self.sent()["headers"].get("authorization"), "Bearer " + byok)
        s = self.stream(dict(ask(), stream=True))
        usage = [e.json()["usage"] for e in s.events()
                 if e.kind == "data" and e.text != "[DONE]" and "usage" in e.json()]
        self.assertEqual(len(usage), 1, usage)
        self.assertIs(usage[0]["is_byok"], True)
        r = self.embed({"model": "openai/text-embedding-3-small", "input": "x"})
        self.assertIs(self.assertOkJson(r)["usage"]["is_byok"], True)

    def test_byok_cleared_back_to_platform_key(self):
        self.configure({"byokKey": "sk-or-byok-" + secrets.token_hex(24)})
        self.configure({"byokKey": None})
        self.assertOkJson(self.chat(ask()))
        self.assertEqual(self.sent()["headers"].get("authorization"),
                         "Bearer " + gw.conf_value("upstream_key", ""))

    def test_client_key_needed(self):
        r = gw.request("POST", gw.chat_path(self.app_id), body=ask())
        self.assertError(r, 401)
        self.assertEqual(self.upstream_calls(), [])

    def test_admin_key_may_chat(self):
        r = self.chat(ask(), token=self.admin)
        self.assertOkJson(r)
