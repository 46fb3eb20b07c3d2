"""Bearer authentication and roles on the admin route: 401/403 messages and
the order of the checks (handlers/dispatch.c)."""

import secrets

import gw
from gw import create_app, create_key, get_config, request

MALFORMED = "malformed Authorization header (expected 'Bearer aigw_...')"
UNKNOWN = "invalid or revoked API key"


def random_token():
    # Same shape as a real token, never issued.
    return "aigw_" + secrets.token_urlsafe(32)[:43]


class AuthTest(gw.GatewayTest):
    def setUp(self):
        self.app_id = create_app()
        self.path = gw.config_path(self.app_id)

    def test_missing_header_401(self):
        r = request("GET", self.path)
        self.assertError(r, 401, message="missing Authorization header")

    def test_basic_scheme_401_malformed(self):
        r = request("GET", self.path, headers={"Authorization": "Basic dXNlcjpwYXNz"})
        self.assertError(r, 401, message=MALFORMED)

    def test_bearer_without_aigw_prefix_401_malformed(self):
        r = request("GET", self.path, headers={"Authorization": "Bearer sk-or-v1-abcdef"})
        self.assertError(r, 401, message=MALFORMED)

    def test_bearer_empty_401(self):
        r = request("GET", self.path, headers={"Authorization": "Bearer "})
        self.assertError(r, 401)

    def test_truncated_token_401(self):
        token = create_key(self.app_id, "admin")
        r = request("GET", self.path, token=token[:-1])
        self.assertError(r, 401)

    def test_token_with_garbage_401(self):
        r = request("GET", self.path, token="aigw_" + "%00'\";--" * 6)
        self.assertError(r, 401)

    def test_unknown_token_401(self):
        r = request("GET", self.path, token=random_token())
        self.assertError(r, 401, message=UNKNOWN)

    def test_revoked_token_401(self):
        token = create_key(self.app_id, "admin")
        self.assertEqual(get_config(self.app_id, token).status, 200)
        gw.admin_ok("key", "revoke", gw.key_id_of(self.app_id, token))
        limit = gw.auth_cache_ttl() + 3
        r = gw.wait_status(lambda: get_config(self.app_id, token), 401, limit)
        self.assertError(r, 401, message=UNKNOWN)

    def test_revoked_key_leaves_other_keys_working(self):
        t1 = create_key(self.app_id, "admin")
        t2 = create_key(self.app_id, "admin")
        gw.admin_ok("key", "revoke", gw.key_id_of(self.app_id, t1))
        self.assertEqual(get_config(self.app_id, t2).status, 200)

    def test_client_key_on_config_get_403(self):
        token = create_key(self.app_id, "client")
        r = get_config(self.app_id, token)
        self.assertError(r, 403, message="this endpoint needs an admin key")

    def test_client_key_on_config_put_403(self):
        token = create_key(self.app_id, "client")
        r = gw.put_config(self.app_id, token, {"maxTokensPerRequest": 10})
        self.assertError(r, 403, message="this endpoint needs an admin key")
        admin_token = create_key(self.app_id, "admin")
        self.assertIsNone(get_config(self.app_id, admin_token).json()["maxTokensPerRequest"])

    def test_other_apps_admin_key_403(self):
        other = create_app()
        token = create_key(other, "admin")
        r = get_config(self.app_id, token)
        self.assertError(r, 403, message="this key belongs to another app")

    def test_other_apps_admin_key_put_403_nothing_stored(self):
        other = create_app()
        token = create_key(other, "admin")
        r = gw.put_config(self.app_id, token, {"maxTokensPerRequest": 10})
        self.assertError(r, 403, message="this key belongs to another app")
        mine = create_key(self.app_id, "admin")
        self.assertIsNone(get_config(self.app_id, mine).json()["maxTokensPerRequest"])
        self.assertIsNone(get_config(other, token).json()["maxTokensPerRequest"])

    def test_other_apps_client_key_403(self):
        other = create_app()
        token = create_key(other, "client")
        r = get_config(self.app_id, token)
        self.assertEqual(r.status, 403, repr(r))
        self.assertError(r, 403)

    def test_admin_key_200(self):
        token = create_key(self.app_id, "admin")
        r = get_config(self.app_id, token)
        body = self.assertOkJson(r)
        self.assertEqual(body["appId"], self.app_id)

    def test_health_needs_no_key(self):
        r = request("GET", "/v1/health")
        self.assertOkJson(r)
