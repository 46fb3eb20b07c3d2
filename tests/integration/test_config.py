"""GET/PUT /v1/{app}/ai/config (the rules: domain/config_rules.c): defaults,
partial updates, null clears, BYOK display, body limits and content types. Every rejected PUT must leave the stored
config exactly as it was."""

import json
import secrets

import gw
from gw import TIME_RE, get_config, put_config

DEFAULTS = {
    "defaultModel": None,
    "maxTokensPerRequest": None,
    "allowedModels": [],
    "maxConcurrentRequests": None,
    "requestsPerMinute": None,
    "byok": {"configured": False, "last4": None, "updatedAt": None},
    "updatedAt": None,
}

M1 = "openai/gpt-4o-mini"
M2 = "anthropic/claude-3.5-sonnet"


def byok_key():
    return "sk-or-v1-" + secrets.token_hex(32)


class ConfigTest(gw.GatewayTest):
    def setUp(self):
        self.app_id, self.token = gw.app_with_admin_key()

    def get(self):
        return self.assertOkJson(get_config(self.app_id, self.token))

    def put(self, body, **kw):
        return put_config(self.app_id, self.token, body, **kw)

    def put_ok(self, body):
        r = self.put(body)
        cfg = self.assertOkJson(r)
        self.assertEqual(cfg, self.get(), "PUT answer differs from the GET after it")
        return cfg

    def assertShape(self, cfg):
        self.assertEqual(set(cfg), set(DEFAULTS) | {"appId"}, repr(cfg))
        self.assertEqual(cfg["appId"], self.app_id)
        self.assertEqual(set(cfg["byok"]), {"configured", "last4", "updatedAt"})
        self.assertIsInstance(cfg["allowedModels"], list)
        if cfg["updatedAt"] is not None:
            self.assertRegex(cfg["updatedAt"], TIME_RE)
        if cfg["byok"]["updatedAt"] is not None:
            self.assertRegex(cfg["byok"]["updatedAt"], TIME_RE)

    # reading ------------------------------------------------------------------

    def test_fresh_app_defaults(self):
        cfg = self.get()
        self.assertEqual(cfg, dict(DEFAULTS, appId=self.app_id))

    def test_config_isolated_between_apps(self):
        self.put_ok({"maxTokensPerRequest": 321, "allowedModels": [M1]})
        other, token = gw.app_with_admin_key()
        self.assertEqual(gw.get_config(other, token).json(), dict(DEFAULTS, appId=other))

    def test_query_string_ignored(self):
        r = gw.request("GET", gw.config_path(self.app_id) + "?x=1&y=%20", token=self.token)
        self.assertEqual(self.assertOkJson(r)["appId"], self.app_id)

    # writing ------------------------------------------------------------------

    def test_put_full(self):
        cfg = self.put_ok({"defaultModel": M1, "maxTokensPerRequest": 4096,
                           "allowedModels": [M1, M2]})
        self.assertShape(cfg)
        self.assertEqual(cfg["defaultModel"], M1)
        self.assertEqual(cfg["maxTokensPerRequest"], 4096)
        self.assertEqual(cfg["allowedModels"], [M1, M2])
        self.assertEqual(cfg["byok"], DEFAULTS["byok"])
        self.assertRegex(cfg["updatedAt"], TIME_RE)

    def test_put_partial_keeps_other_fields(self):
        self.put_ok({"defaultModel": M1, "maxTokensPerRequest": 4096,
                     "allowedModels": [M1, M2]})
        cfg = self.put_ok({"maxTokensPerRequest": 10})
        self.assertEqual(cfg["maxTokensPerRequest"], 10)
        self.assertEqual(cfg["defaultModel"], M1)
        self.assertEqual(cfg["allowedModels"], [M1, M2])
        cfg = self.put_ok({"defaultModel": M2})
        self.assertEqual((cfg["defaultModel"], cfg["maxTokensPerRequest"],
                          cfg["allowedModels"]), (M2, 10, [M1, M2]))

    def test_empty_object_is_noop(self):
        before = self.put_ok({"defaultModel": M1, "maxTokensPerRequest": 7})
        cfg = self.put_ok({})
        self.assertEqual(cfg["defaultModel"], M1)
        self.assertEqual(cfg["maxTokensPerRequest"], 7)
        self.assertEqual(cfg["allowedModels"], before["allowedModels"])
        self.assertEqual(cfg["byok"], before["byok"])

    def test_empty_object_on_fresh_app(self):
        r = self.put({})
        cfg = self.assertOkJson(r)
        for k in ("defaultModel", "maxTokensPerRequest", "allowedModels", "byok"):
            self.assertEqual(cfg[k], DEFAULTS[k])

    def test_null_clears_default_model(self):
        self.put_ok({"defaultModel": M1, "maxTokensPerRequest": 5})
        cfg = self.put_ok({"defaultModel": None})
        self.assertIsNone(cfg["defaultModel"])
        self.assertEqual(cfg["maxTokensPerRequest"], 5)

    def test_null_clears_max_tokens(self):
        self.put_ok({"defaultModel": M1, "maxTokensPerRequest": 5})
        cfg = self.put_ok({"maxTokensPerRequest": None})
        self.assertIsNone(cfg["maxTokensPerRequest"])
        self.assertEqual(cfg["defaultModel"], M1)

    def test_null_clears_allowed_models(self):
        self.put_ok({"allowedModels": [M1, M2], "defaultModel": M1})
        cfg = self.put_ok({"allowedModels": None})
        self.assertEqual(cfg["allowedModels"], [])
        self.assertEqual(cfg["defaultModel"], M1)

    def test_empty_array_clears_allowed_models(self):
        self.put_ok({"allowedModels": [M1, M2]})
        cfg = self.put_ok({"allowedModels": []})
        self.assertEqual(cfg["allowedModels"], [])

    def test_null_clears_everything_at_once(self):
        self.put_ok({"defaultModel": M1, "maxTokensPerRequest": 5, "allowedModels": [M1],
                     "byokKey": byok_key()})
        cfg = self.put_ok({"defaultModel": None, "maxTokensPerRequest": None,
                           "allowedModels": None, "byokKey": None})
        for k in ("defaultModel", "maxTokensPerRequest", "allowedModels", "byok"):
            self.assertEqual(cfg[k], DEFAULTS[k], k)

    def test_default_model_any_known_model_when_allowed_empty(self):
        cfg = self.put_ok({"defaultModel": M2})
        self.assertEqual(cfg["defaultModel"], M2)

    def test_default_model_unknown_refused(self):
        before = self.put_ok({"defaultModel": M1})
        for model in ("any/model-at-all", "openai/gpt-4o-mini-typo", "m/" + "x" * 254):
            with self.subTest(model=model):
                r = self.put({"defaultModel": model, "maxTokensPerRequest": 77})
                self.assertError(r, 400, param="defaultModel")
                self.assertIn("is not a model this gateway knows", r.json()["error"]["message"])
                self.assertEqual(self.get(), before)

    def test_default_model_and_new_allowed_list_together(self):
        self.put_ok({"allowedModels": [M1], "defaultModel": M1})
        cfg = self.put_ok({"allowedModels": [M2], "defaultModel": M2})
        self.assertEqual((cfg["allowedModels"], cfg["defaultModel"]), ([M2], M2))

    def test_boundaries_accepted(self):
        cfg = self.put_ok({"maxTokensPerRequest": 1})
        self.assertEqual(cfg["maxTokensPerRequest"], 1)
        cfg = self.put_ok({"maxTokensPerRequest": 100000})
        self.assertEqual(cfg["maxTokensPerRequest"], 100000)


    def test_allowed_models_500_accepted(self):
        models = ["vendor/model-%03d" % i for i in range(500)]
        cfg = self.put_ok({"allowedModels": models})
        self.assertEqual(cfg["allowedModels"], models)

    def test_allowed_models_256_byte_entry_accepted(self):
        models = ["m/" + "y" * 254, M1]
        cfg = self.put_ok({"allowedModels": models})
        self.assertEqual(cfg["allowedModels"], models)

    def test_unicode_model_name_round_trip(self):
        name = "vendor/mod\u00e8le-\u6a21\u578b"
        cfg = self.put_ok({"allowedModels": [name]})
        self.assertEqual(cfg["allowedModels"], [name])

    def test_updated_at_changes(self):
        a = self.put_ok({"maxTokensPerRequest": 1})["updatedAt"]
        b = self.put_ok({"maxTokensPerRequest": 2})["updatedAt"]
        self.assertRegex(a, TIME_RE)
        self.assertRegex(b, TIME_RE)
        self.assertGreaterEqual(b, a)

    # BYOK ---------------------------------------------------------------------

    def test_byok_set_shows_last4_never_key(self):
        key = byok_key()
        r = self.put({"byokKey": key})
        cfg = self.assertOkJson(r)
        self.assertNotIn(key, r.text)
        self.assertNotIn(key[:-4], r.text)
        self.assertEqual(cfg["byok"]["configured"], True)
        self.assertEqual(cfg["byok"]["last4"], key[-4:])
        self.assertRegex(cfg["byok"]["updatedAt"], TIME_RE)
        g = get_config(self.app_id, self.token)
        self.assertNotIn(key, g.text)
        self.assertNotIn(key[:-4], g.text)
        self.assertEqual(g.json(), cfg)

    def test_byok_kept_by_other_updates(self):
        key = byok_key()
        self.put_ok({"byokKey": key})
        cfg = self.put_ok({"maxTokensPerRequest": 9, "defaultModel": M1})
        self.assertEqual(cfg["byok"]["configured"], True)
        self.assertEqual(cfg["byok"]["last4"], key[-4:])

    def test_byok_replace_updates_last4(self):
        self.put_ok({"byokKey": byok_key() + "aaaa"})
        key = byok_key() + "zz99"
        cfg = self.put_ok({"byokKey": key})
        self.assertEqual(cfg["byok"]["last4"], "zz99")

    def test_byok_null_clears(self):
        self.put_ok({"byokKey": byok_key(), "maxTokensPerRequest": 3})
        cfg = self.put_ok({"byokKey": None})
        self.assertEqual(cfg["byok"], DEFAULTS["byok"])
        self.assertEqual(cfg["maxTokensPerRequest"], 3)

    def test_byok_512_bytes_accepted(self):
        key = "sk-" + secrets.token_hex(256)[:509]
        self.assertEqual(len(key), 512)
        r = self.put({"byokKey": key})
        cfg = self.assertOkJson(r)
        self.assertNotIn(key, r.text)
        self.assertEqual(cfg["byok"]["last4"], key[-4:])

    def test_byok_not_echoed_in_errors(self):
        key = byok_key()
        for body in ({"byokKey": key + "\u0001"}, {"byokKey": key, "nope": 1},
                     {"byokKey": key * 8}):
            r = self.put(body)
            self.assertEqual(r.status, 400, repr(r))
            self.assertNotIn(key[:24], r.text)

    # limits and content types ---------------------------------------------------

    def test_body_2mib_413_nothing_stored(self):
        self.put_ok({"maxTokensPerRequest": 11})
        before = self.get()
        pad = "x" * (2 * 1024 * 1024)
        body = '{"maxTokensPerRequest": 12, "defaultModel": "%s"}' % pad
        r = self.put(body, content_type="application/json")
        self.assertError(r, 413)
        self.assertEqual(self.get(), before)

    def test_body_at_limit_accepted_over_limit_413(self):
        limit = int(gw.conf_value("max_body_bytes", "1048576"))
        head, tail = '{"maxTokensPerRequest": 77', "}"
        exact = head + " " * (limit - len(head) - len(tail)) + tail
        self.assertEqual(len(exact), limit)
        r = self.put(exact, content_type="application/json")
        self.assertEqual(self.assertOkJson(r)["maxTokensPerRequest"], 77)
        over = head.replace("77", "78") + " " * (limit - len(head) - len(tail) + 1) + tail
        r = self.put(over, content_type="application/json")
        self.assertError(r, 413)
        self.assertEqual(self.get()["maxTokensPerRequest"], 77)

    def test_form_encoded_415(self):
        r = self.put("maxTokensPerRequest=5", content_type="application/x-www-form-urlencoded")
        self.assertError(r, 415)
        self.assertIsNone(self.get()["maxTokensPerRequest"])

    def test_text_plain_415(self):
        r = self.put('{"maxTokensPerRequest": 5}', content_type="text/plain")
        self.assertError(r, 415)
        self.assertIsNone(self.get()["maxTokensPerRequest"])

    def test_no_content_type_415(self):
        r = self.put('{"maxTokensPerRequest": 5}')
        self.assertError(r, 415)
        self.assertIsNone(self.get()["maxTokensPerRequest"])

    def test_json_with_charset_accepted(self):
        r = self.put('{"maxTokensPerRequest": 5}',
                     content_type="application/json; charset=utf-8")
        self.assertEqual(self.assertOkJson(r)["maxTokensPerRequest"], 5)

    def test_body_too_big_checked_before_auth(self):
        body = '{"maxTokensPerRequest": 12, "pad": "%s"}' % ("p" * (2 * 1024 * 1024))
        r = gw.request("PUT", gw.config_path(self.app_id), body=body,
                       content_type="application/json")
        self.assertError(r, 413)

    def test_chunked_body_accepted(self):
        r = self.put('{"maxTokensPerRequest": 31, "defaultModel": "%s"}' % M1,
                     content_type="application/json", chunked=True)
        cfg = self.assertOkJson(r)
        self.assertEqual((cfg["maxTokensPerRequest"], cfg["defaultModel"]), (31, M1))

    def test_chunked_body_over_limit_413(self):
        body = '{"maxTokensPerRequest": 12, "pad": "%s"}' % ("c" * (2 * 1024 * 1024))
        r = self.put(body, content_type="application/json", chunked=True)
        self.assertError(r, 413)
        self.assertIsNone(self.get()["maxTokensPerRequest"])

    def test_content_type_case_insensitive(self):
        r = self.put('{"maxTokensPerRequest": 6}', content_type="Application/JSON")
        self.assertEqual(self.assertOkJson(r)["maxTokensPerRequest"], 6)

    def test_deeply_nested_json_400(self):
        depth = 100000
        body = '{"allowedModels": ' + "[" * depth + "]" * depth + "}"
        r = self.put(body, content_type="application/json")
        self.assertError(r, 400)
        self.assertEqual(self.get()["allowedModels"], [])

    def test_invalid_utf8_400(self):
        body = b'{"defaultModel": "vendor/\xff\xfe-model"}'
        r = self.put(body, content_type="application/json")
        self.assertError(r, 400)
        self.assertIsNone(self.get()["defaultModel"])

    def test_nul_in_model_not_truncated(self):
        # Either rejected, or stored exactly: never silently cut at the NUL.
        r = self.put({"defaultModel": "vendor/abc\u0000def"})
        if r.status == 200:
            self.assertEqual(self.get()["defaultModel"], "vendor/abc\u0000def")
        else:
            err = self.assertError(r, 400)
            self.assertIn(err["param"], (None, "defaultModel"))
            self.assertIsNone(self.get()["defaultModel"])

    def test_keep_alive_connection_reused(self):
        conn = gw.connection()
        try:
            socks = set()
            for i in range(5):
                r = gw.request("PUT", gw.config_path(self.app_id), conn=conn,
                               token=self.token, body={"maxTokensPerRequest": 40 + i})
                self.assertEqual(self.assertOkJson(r)["maxTokensPerRequest"], 40 + i)
                r = gw.request("GET", gw.config_path(self.app_id), conn=conn, token=self.token)
                self.assertEqual(self.assertOkJson(r)["maxTokensPerRequest"], 40 + i)
                self.assertIsNotNone(conn.sock, "server closed the connection: %r" % r)
                socks.add(id(conn.sock))
            self.assertEqual(len(socks), 1, "the connection was not kept alive")
        finally:
            conn.close()

    def test_auth_checked_before_content_type(self):
        r = gw.request("PUT", gw.config_path(self.app_id), body="a=b",
                       content_type="application/x-www-form-urlencoded")
        self.assertError(r, 401)


# ---- the validation table: every rule, one test each -----------------------------

BASELINE = {"defaultModel": M1, "maxTokensPerRequest": 1000, "allowedModels": [M1, M2]}

# name -> (body: str is sent raw, else JSON-encoded; expected param or Ellipsis)
INVALID = {
    "malformed_json": ('{"maxTokensPerRequest": 5', Ellipsis),
    "trailing_garbage": ('{"maxTokensPerRequest": 5} x', Ellipsis),
    "empty_body": ("", Ellipsis),
    "not_object_array": ("[]", Ellipsis),
    "not_object_string": ('"maxTokensPerRequest"', Ellipsis),
    "not_object_number": ("5", Ellipsis),
    "not_object_null": ("null", Ellipsis),
    "unknown_field": ({"foo": 1}, "foo"),
    "unknown_field_case": ({"DefaultModel": M1}, "DefaultModel"),
    "unknown_field_response_name": ({"appId": "x"}, "appId"),
    "unknown_field_with_valid": ({"maxTokensPerRequest": 50, "byok": {}}, "byok"),
    "max_tokens_zero": ({"maxTokensPerRequest": 0}, "maxTokensPerRequest"),
    "max_tokens_100001": ({"maxTokensPerRequest": 100001}, "maxTokensPerRequest"),
    "max_tokens_negative": ({"maxTokensPerRequest": -1}, "maxTokensPerRequest"),
    "max_tokens_fraction": ({"maxTokensPerRequest": 1.5}, "maxTokensPerRequest"),
    "max_tokens_string": ({"maxTokensPerRequest": "10"}, "maxTokensPerRequest"),
    "max_tokens_bool": ({"maxTokensPerRequest": True}, "maxTokensPerRequest"),
    "max_tokens_huge": ('{"maxTokensPerRequest": 18446744073709551617}',
                        "maxTokensPerRequest"),
    "max_tokens_array": ({"maxTokensPerRequest": [10]}, "maxTokensPerRequest"),
    "allowed_not_array": ({"allowedModels": M1}, "allowedModels"),
    "allowed_object": ({"allowedModels": {"a": M1}}, "allowedModels"),
    "allowed_number_entry": ({"allowedModels": [M1, 5]}, "allowedModels"),
    "allowed_null_entry": ({"allowedModels": [M1, None]}, "allowedModels"),
    "allowed_duplicates": ({"allowedModels": [M1, M2, M1]}, "allowedModels"),
    "allowed_empty_string": ({"allowedModels": [M1, ""]}, "allowedModels"),
    "allowed_501": ({"allowedModels": ["v/m-%d" % i for i in range(501)]}, "allowedModels"),
    "allowed_entry_257_bytes": ({"allowedModels": ["m/" + "z" * 255]}, "allowedModels"),
    "default_model_number": ({"defaultModel": 5}, "defaultModel"),
    "default_model_empty": ({"defaultModel": ""}, "defaultModel"),
    "default_model_bool": ({"defaultModel": False}, "defaultModel"),
    "default_model_array": ({"defaultModel": [M1]}, "defaultModel"),
    "default_model_257_bytes": ({"defaultModel": "m/" + "d" * 255}, "defaultModel"),
    "default_not_in_allowed_same_body": ({"allowedModels": ["x/a"], "defaultModel": "x/b"},
                                         "defaultModel"),
    "default_not_in_existing_allowed": ({"defaultModel": "other/model"}, "defaultModel"),
    "allowed_excludes_existing_default": ({"allowedModels": [M2]}, "defaultModel"),
    "byok_empty": ({"byokKey": ""}, "byokKey"),
    "byok_513_bytes": ({"byokKey": "k" * 513}, "byokKey"),
    "byok_number": ({"byokKey": 12345}, "byokKey"),
    "byok_object": ({"byokKey": {"key": "sk-x"}}, "byokKey"),
    "byok_control_char": ({"byokKey": "sk-or-abc\ndef"}, "byokKey"),
    # A NUL may be refused by the JSON reader itself (param null) or by the rule.
    "byok_nul": ({"byokKey": "sk-or-abc\u0000def"}, Ellipsis),
    "byok_del_char": ({"byokKey": "sk-or-abc\u007fdef"}, "byokKey"),
    "byok_too_short": ({"byokKey": "short"}, "byokKey"),
    "byok_not_a_key": ({"byokKey": "my openrouter key goes here"}, "byokKey"),
    "byok_other_prefix": ({"byokKey": "pk-" + "0" * 40}, "byokKey"),
    "valid_field_then_bad_byok": ({"maxTokensPerRequest": 50, "byokKey": ""}, "byokKey"),
    "valid_byok_then_bad_field": ({"byokKey": "sk-or-v1-replacement", "maxTokensPerRequest": 0},
                                  "maxTokensPerRequest"),
}


def make_invalid_test(name, body, param):
    def test(self):
        initial_key = byok_key()
        self.put_ok(dict(BASELINE, byokKey=initial_key))
        before = self.get()
        r = self.put(body, content_type="application/json")
        err = self.assertError(r, 400, param=param)
        if name in ("malformed_json", "trailing_garbage"):
            self.assertIn("malformed JSON", err["message"])
        self.assertNotIn(initial_key, r.text)
        self.assertEqual(self.get(), before, "a rejected PUT changed the config")
    return test


for _name, (_body, _param) in INVALID.items():
    if not isinstance(_body, str):
        _body = json.dumps(_body)
    setattr(ConfigTest, "test_reject_" + _name, make_invalid_test(_name, _body, _param))
