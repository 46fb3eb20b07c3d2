"""GET /v1/health, /v1/health/live and /v1/health/ready while the database
is up (the database-down half is in test_db_restart.py, which runs last)."""

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

    def test_live_200(self):
        r = request("GET", "/v1/health/live")
        self.assertEqual(self.assertOkJson(r), {"status": "ok"})

    def test_ready_200_database_and_upstream(self):
        r = request("GET", "/v1/health/ready")
        self.assertEqual(self.assertOkJson(r),
                         {"status": "ok", "database": "ok", "upstream": "ok"})

    def test_live_ready_post_405(self):
        for path in ("/v1/health/live", "/v1/health/ready", "/v1/metrics"):
            self.assertError(request("POST", path, body={}), 405)
