"""The database goes away and comes back: 503 while it is unavailable (fail
closed), and the pool reconnects after the server restarts.
The steps run in order (test_1 ... test_6) against one stopped database;
run.py runs this module last, and the database is always restarted at the
end, whatever failed."""

import os
import re
import subprocess
import threading

import gw
from gw import request

DOWN_WITHIN = 15     # seconds for health to notice the database is gone
UP_WITHIN = 90       # seconds for the database to come back and health to see it
RECONNECT_WITHIN = 15


def stack(*args):
    """Runs deploy/stack (or $AIGW_STACK_CMD) on this stack's directory."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    prog = os.environ.get("AIGW_STACK_CMD") or os.path.join(root, "deploy", "stack")
    cmd = [prog] + list(args) + ["--dir", gw.env("AIGW_DIR")]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=180)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


class DatabaseRestartTest(gw.GatewayTest):
    db_stopped = False

    @classmethod
    def setUpClass(cls):
        cls.app_id, cls.admin = gw.app_with_admin_key()
        r = gw.put_config(cls.app_id, cls.admin, {"maxTokensPerRequest": 4242})
        if r.status != 200:
            raise AssertionError("setup PUT failed: %r" % r)
        cls.stop_rc, cls.stop_out = stack("db-stop")
        cls.db_stopped = True

    @classmethod
    def tearDownClass(cls):
        if cls.db_stopped:
            rc, out = stack("db-start")
            cls.db_stopped = False
            if rc != 0:
                raise AssertionError("deploy/stack db-start failed (%d): %s" % (rc, out))
            # Leave a working stack behind for whatever runs next.
            gw.wait_status(lambda: request("GET", "/v1/health"), 200, UP_WITHIN)

    def assertUnavailable(self, r):
        self.assertError(r, 503)

    def test_1_db_stop_worked(self):
        self.assertEqual(self.stop_rc, 0, "deploy/stack db-stop failed: %s" % self.stop_out)

    def test_2_health_503_while_db_down(self):
        r = gw.wait_status(lambda: request("GET", "/v1/health"), 503, DOWN_WITHIN)
        self.assertUnavailable(r)
        body = r.json()
        self.assertEqual(body.get("status"), "unavailable", repr(r))
        self.assertEqual(body.get("database"), "down", repr(r))

    def test_2_health_503_has_retry_after(self):
        r = gw.wait_status(lambda: request("GET", "/v1/health"), 503, DOWN_WITHIN)
        self.assertEqual(r.header("retry-after"), "1", repr(r))

    def test_2_live_200_ready_503_while_db_down(self):
        # liveness asks nobody: a probe must not restart a pool the database left
        for _ in range(5):
            r = request("GET", "/v1/health/live")
            self.assertEqual(self.assertOkJson(r), {"status": "ok"})
        r = gw.wait_status(lambda: request("GET", "/v1/health/ready"), 503, DOWN_WITHIN)
        self.assertUnavailable(r)
        self.assertEqual(r.header("retry-after"), "1", repr(r))
        body = r.json()
        self.assertEqual(body.get("database"), "down", repr(r))
        self.assertEqual(body.get("upstream"), "ok", repr(r))

    def test_2_database_errors_counted_while_db_down(self):
        def errors():
            r = request("GET", "/v1/metrics")
            self.assertEqual(r.status, 200, repr(r))  # the scrape needs no database
            m = re.search(r"^aigw_database_errors_total (\d+)$", r.text, re.M)
            self.assertIsNotNone(m, r.text[:2000])
            return int(m.group(1))
        before = errors()
        for _ in range(3):
            self.assertUnavailable(request("GET", "/v1/health"))
        self.assertGreaterEqual(errors() - before, 3)

    def test_3_config_get_503_while_db_down(self):
        r = gw.get_config(self.app_id, self.admin)
        self.assertUnavailable(r)
        self.assertEqual(r.header("retry-after"), "1", repr(r))

    def test_3_config_put_503_while_db_down(self):
        r = gw.put_config(self.app_id, self.admin, {"maxTokensPerRequest": 1})
        self.assertUnavailable(r)

    def test_3_unknown_token_503_while_db_down(self):
        # The key cannot be checked: fail closed with 503, not a 401 verdict.
        r = gw.get_config(self.app_id, "aigw_" + "Q" * 43)
        self.assertUnavailable(r)

    def test_4_repeated_requests_while_down_stay_503(self):
        for _ in range(10):
            r = request("GET", "/v1/health")
            self.assertUnavailable(r)

    def test_5_health_200_after_db_start(self):
        rc, out = stack("db-start")
        type(self).db_stopped = rc != 0
        self.assertEqual(rc, 0, "deploy/stack db-start failed: %s" % out)
        r = gw.wait_status(lambda: request("GET", "/v1/health"), 200, UP_WITHIN)
        self.assertEqual(self.assertOkJson(r), {"status": "ok", "database": "ok"})
        r = gw.wait_status(lambda: request("GET", "/v1/health/ready"), 200, UP_WITHIN)
        self.assertEqual(self.assertOkJson(r),
                         {"status": "ok", "database": "ok", "upstream": "ok"})

    def test_6_requests_work_after_restart(self):
        r = gw.wait_status(lambda: gw.get_config(self.app_id, self.admin), 200,
                           RECONNECT_WITHIN)
        self.assertEqual(self.assertOkJson(r)["maxTokensPerRequest"], 4242)
        # Every thread of every worker reconnects, not only the first one hit.
        n = 30
        results = [None] * n
        barrier = threading.Barrier(n)

        def call(i):
            try:
                barrier.wait(timeout=30)
                results[i] = gw.get_config(self.app_id, self.admin)
            except Exception as e:  # reported below
                results[i] = e

        threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=gw.HTTP_TIMEOUT * 3)
        bad = [x for x in results if not isinstance(x, gw.Response) or x.status != 200]
        self.assertEqual(bad, [], "%d of %d requests failed after the restart" % (len(bad), n))
        r = gw.put_config(self.app_id, self.admin, {"maxTokensPerRequest": 4343})
        self.assertEqual(self.assertOkJson(r)["maxTokensPerRequest"], 4343)
