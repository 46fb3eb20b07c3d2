"""GET /v1/health while the database is up (the database-down half is in
test_db_restart.py, which runs last)."""

import gw
from gw import request


class HealthTest(gw.GatewayTest):
    def test_health_ok(self):
        r = request("GET", "/v1/health")
        self.assertEqual(self.assertOkJson(r), {"status": "ok", "database": "ok"})

    def test_health_ignores_authorization(self):
        r = request("GET", "/v1/health", token="aigw_" + "A" * 43)
        self.assertEqual(self.assertOkJson(r), {"status": "ok", "database": "ok"})

    def test_health_put_405(self):
        r = request("PUT", "/v1/health", body={})
        self.assertError(r, 405)
