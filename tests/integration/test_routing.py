"""Routing, app-id checks, 404/405, CORS and request ids through the real web
server."""

import gw
from gw import create_app, create_key, request

CONFIG_METHODS = {"GET", "PUT", "OPTIONS"}
EXPOSED = {"x-request-id", "x-generation-id", "retry-after", "retry-after-ms",
           "x-should-retry", "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests",
           "x-ratelimit-reset-requests", "x-aigw-credits-remaining"}


def tokens(value):
    return {t.strip() for t in (value or "").split(",") if t.strip()}


def cors_origin():
    return gw.conf_value("cors_origin", "*")


class RoutingTest(gw.GatewayTest):
    def setUp(self):
        self.app_id, self.token = gw.app_with_admin_key()

    # bad app ids -------------------------------------------------------------

    def assertAppIdRejected(self, path_app):
        for token in (self.token, None):
            r = request("GET", "/v1/%s/ai/config" % path_app, token=token)
            self.assertError(r, 400, param="app_id")
            r = request("PUT", "/v1/%s/ai/config" % path_app, token=token,
                        body={"maxTokensPerRequest": 5})
            self.assertError(r, 400, param="app_id")

    def test_app_id_sql_metacharacters_400(self):
        self.assertAppIdRejected("a'%3BDROP%20TABLE%20apps%3B--")
        # The apps table is still there and our app with it.
        self.assertEqual(gw.get_config(self.app_id, self.token).status, 200)
        _, rows = gw.parse_table(gw.admin_ok("app", "list"))
        self.assertIn(self.app_id, [row[0] for row in rows])

    def test_app_id_quote_only_400(self):
        self.assertAppIdRejected("x'")

    def test_app_id_65_chars_400(self):
        self.assertAppIdRejected("a" * 65)

    def test_app_id_64_chars_routed(self):
        app_id = ("r64_" + gw.unique_id("x") + "b" * 64)[:64]
        create_app(app_id)
        token = create_key(app_id, "admin")
        r = gw.get_config(app_id, token)
        self.assertEqual(self.assertOkJson(r)["appId"], app_id)

    def test_app_id_percent_encoded_400(self):
        # %41 is "A": ids are matched undecoded, so a percent sign is invalid.
        self.assertAppIdRejected("ab%41")

    def test_app_id_unicode_400(self):
        self.assertAppIdRejected("d%C3%A9j%C3%A0")

    # unknown routes, methods ----------------------------------------------------

    def test_unknown_route_404(self):
        for path in ("/v1/%s/nope" % self.app_id,
                     "/v1/%s/ai/config/extra" % self.app_id,
                     "/v1/%s/ai" % self.app_id,
                     "/v1/%s" % self.app_id,
                     "/v1/nope"):
            with self.subTest(path=path):
                r = request("GET", path, token=self.token)
                self.assertError(r, 404)

    def test_openai_path_without_app_id_explains_base_url(self):
        for method, path in (("POST", "/v1/chat/completions"), ("POST", "/v1/embeddings"),
                             ("GET", "/v1/models"), ("GET", "/v1/models/openai/gpt-4o")):
            with self.subTest(path=path):
                r = request(method, path, token=self.token,
                            body={"model": "x"} if method == "POST" else None)
                self.assertError(r, 404)
                msg = r.json()["error"]["message"]
                self.assertIn("has no app id", msg)
                self.assertIn("https://<host>/v1/<app_id>", msg)
                self.assertIn("/v1/<app_id>" + path[3:], msg)
        # other unknown paths keep the short answer
        r = request("GET", "/v1/nope", token=self.token)
        self.assertError(r, 404)
        self.assertEqual(r.json()["error"]["message"], "no such endpoint")

    def test_wrong_method_405_with_allow(self):
        for method in ("POST", "DELETE", "PATCH"):
            with self.subTest(method=method):
                r = request(method, gw.config_path(self.app_id), token=self.token,
                            body={"maxTokensPerRequest": 5})
                self.assertError(r, 405)
                self.assertEqual(tokens(r.header("allow")), CONFIG_METHODS, repr(r))
        self.assertIsNone(gw.get_config(self.app_id, self.token).json()["maxTokensPerRequest"])

    def test_wrong_method_on_health_405(self):
        r = request("POST", "/v1/health", body={})
        self.assertError(r, 405)
        allow = tokens(r.header("allow"))
        self.assertIn("GET", allow, repr(r))
        self.assertNotIn("POST", allow, repr(r))

    # CORS -----------------------------------------------------------------------

    def assertPreflight(self, r, methods):
        self.assertEqual(r.status, 204, repr(r))
        self.assertEqual(r.body, b"", repr(r))
        self.assertRequestId(r)
        self.assertEqual(r.header("access-control-allow-origin"), cors_origin(), repr(r))
        self.assertTrue(methods <= tokens(r.header("access-control-allow-methods")),
                        "allow-methods lacks %r: %r" % (methods, r))
        allow_headers = {h.lower() for h in tokens(r.header("access-control-allow-headers"))}
        self.assertIn("authorization", allow_headers, repr(r))
        self.assertIn("content-type", allow_headers, repr(r))
        self.assertEqual(r.header("access-control-max-age"), "600", repr(r))

    def test_preflight_config_204(self):
        r = request("OPTIONS", gw.config_path(self.app_id), headers={
            "Origin": "https://example.com",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, content-type"})
        self.assertPreflight(r, {"GET", "PUT"})

    def test_preflight_without_request_headers(self):
        r = request("OPTIONS", gw.config_path(self.app_id), headers={
            "Origin": "https://example.com", "Access-Control-Request-Method": "GET"})
        self.assertPreflight(r, {"GET", "PUT"})

    def test_preflight_echoes_sdk_headers(self):
        asked = "authorization, content-type, x-stainless-os, x-stainless-lang"
        r = request("OPTIONS", gw.config_path(self.app_id), headers={
            "Origin": "https://example.com",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": asked})
        self.assertPreflight(r, {"PUT"})
        allowed = {h.lower() for h in tokens(r.header("access-control-allow-headers"))}
        self.assertTrue(tokens(asked) <= allowed, "%r not all allowed: %r" % (asked, r))

    def test_preflight_health_204(self):
        r = request("OPTIONS", "/v1/health", headers={
            "Origin": "https://example.com", "Access-Control-Request-Method": "GET"})
        self.assertPreflight(r, {"GET"})

    def test_cors_on_success(self):
        r = gw.get_config(self.app_id, self.token)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("access-control-allow-origin"), cors_origin(), repr(r))
        exposed = {h.lower() for h in tokens(r.header("access-control-expose-headers"))}
        self.assertEqual(exposed, EXPOSED, repr(r))

    def test_cors_on_error(self):
        r = request("GET", gw.config_path(self.app_id))
        self.assertError(r, 401)
        self.assertEqual(r.header("access-control-allow-origin"), cors_origin(), repr(r))
        exposed = {h.lower() for h in tokens(r.header("access-control-expose-headers"))}
        self.assertIn("x-request-id", exposed, repr(r))

    # request ids ------------------------------------------------------------------

    def test_request_ids_unique(self):
        seen = set()
        for _ in range(20):
            r = request("GET", "/v1/health")
            self.assertRequestId(r)
            seen.add(r.header("x-request-id"))
        self.assertEqual(len(seen), 20)

    def test_request_id_single_header(self):
        r = gw.get_config(self.app_id, self.token)
        self.assertEqual(len(r.header_all("x-request-id")), 1, repr(r))
