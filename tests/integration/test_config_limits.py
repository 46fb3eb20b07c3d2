"""The request limits of an app's AI settings: maxConcurrentRequests and
requestsPerMinute in GET/PUT /v1/{app}/ai/config (integers in range, or null
for unlimited), refused values answered 400 naming the field with nothing
stored, and the same settings seen through aigw-admin app limits."""

import gw
from gw import admin, admin_ok, get_config, put_config

FIELDS = {"maxConcurrentRequests": 100000, "requestsPerMinute": 10000000}


class ConfigLimitsTest(gw.GatewayTest):
    def setUp(self):
        self.app_id, self.token = gw.app_with_admin_key()

    def get(self):
        return self.assertOkJson(get_config(self.app_id, self.token))

    def put_ok(self, body):
        cfg = self.assertOkJson(put_config(self.app_id, self.token, body))
        self.assertEqual(cfg, self.get(), "PUT answer differs from the GET after it")
        return cfg

    def limits_shown(self):
        out = admin_ok("app", "limits", self.app_id)
        return dict(line.split(": ", 1) for line in out.splitlines())

    def test_fresh_app_unlimited(self):
        cfg = self.get()
        self.assertIsNone(cfg["maxConcurrentRequests"])
        self.assertIsNone(cfg["requestsPerMinute"])

    def test_set_read_back_and_clear(self):
        cfg = self.put_ok({"maxConcurrentRequests": 4, "requestsPerMinute": 120})
        self.assertEqual((cfg["maxConcurrentRequests"], cfg["requestsPerMinute"]), (4, 120))
        self.assertEqual(self.limits_shown(), {"max_in_flight": "4", "rpm": "120"})
        # absent keeps, null clears one without the other
        cfg = self.put_ok({"maxTokensPerRequest": 50})
        self.assertEqual((cfg["maxConcurrentRequests"], cfg["requestsPerMinute"]), (4, 120))
        cfg = self.put_ok({"requestsPerMinute": None})
        self.assertEqual((cfg["maxConcurrentRequests"], cfg["requestsPerMinute"]), (4, None))
        cfg = self.put_ok({"maxConcurrentRequests": None})
        self.assertIsNone(cfg["maxConcurrentRequests"])
        self.assertEqual(cfg["maxTokensPerRequest"], 50)
        self.assertEqual(self.limits_shown(), {"max_in_flight": "none", "rpm": "none"})

    def test_boundaries_accepted(self):
        for field, top in FIELDS.items():
            with self.subTest(field=field):
                self.assertEqual(self.put_ok({field: 1})[field], 1)
                self.assertEqual(self.put_ok({field: top})[field], top)
                self.assertEqual(self.put_ok({field: 2e1})[field], 20)

    def test_bad_values_400_nothing_stored(self):
        before = self.put_ok({"maxConcurrentRequests": 3, "requestsPerMinute": 30})
        for field, top in FIELDS.items():
            for bad in (0, -1, top + 1, 1.5, 1e300, "10", True, [5], {}):
                with self.subTest(field=field, value=bad):
                    r = put_config(self.app_id, self.token,
                                   {field: bad, "maxTokensPerRequest": 7})
                    err = self.assertError(r, 400, param=field)
                    self.assertIn(field, err["message"])
                    self.assertEqual(self.get(), before)

    def test_unknown_field_names_the_new_ones(self):
        r = put_config(self.app_id, self.token, {"maxConcurrent": 3})
        err = self.assertError(r, 400, param="maxConcurrent")
        self.assertIn("maxConcurrentRequests", err["message"])
        self.assertIn("requestsPerMinute", err["message"])

    def test_client_key_cannot_set_limits(self):
        client = gw.create_key(self.app_id, "client")
        r = put_config(self.app_id, client, {"requestsPerMinute": 100000})
        self.assertError(r, 403)
        self.assertIsNone(self.get()["requestsPerMinute"])

    def test_admin_limits_seen_by_get(self):
        r = admin("app", "limits", self.app_id, "--max-in-flight", "9", "--rpm", "600")
        self.assertEqual(r.rc, 0, repr(r))
        self.assertEqual(r.out, "max_in_flight: 9\nrpm: 600\n")
        cfg = self.get()
        self.assertEqual((cfg["maxConcurrentRequests"], cfg["requestsPerMinute"]), (9, 600))
        self.assertRegex(cfg["updatedAt"], gw.TIME_RE)
