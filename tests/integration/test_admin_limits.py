"""aigw-admin's request limits: `app limits ID [--max-in-flight N|none]
[--rpm N|none]`, `key create ... --rpm N`, `key limit KEY_ID --rpm N|none`,
their output, their refusals (nothing changed), and the key's limit shown by
`key list`."""

import gw
from gw import admin, admin_ok, create_app, create_key, key_id_of, key_rows


class AdminLimitsTest(gw.GatewayTest):
    def assertCliError(self, r, rcs=(1,)):
        self.assertIn(r.rc, rcs, repr(r))
        self.assertEqual(r.out, "", "an error printed on stdout: %r" % r)
        self.assertTrue(r.err.startswith("aigw-admin: "), repr(r))

    def show(self, app_id):
        out = admin_ok("app", "show", app_id)
        return dict(line.split(": ", 1) for line in out.splitlines())

    def key_rpm(self, app_id, key_id):
        return [row for row in key_rows(app_id) if row[0] == key_id][0][6]

    # app limits ---------------------------------------------------------------

    def test_app_limits_show_set_clear(self):
        app_id = create_app()
        self.assertEqual(admin_ok("app", "limits", app_id), "max_in_flight: none\nrpm: none\n")
        self.assertEqual(admin_ok("app", "limits", app_id, "--max-in-flight", "5"),
                         "max_in_flight: 5\nrpm: none\n")
        self.assertEqual(admin_ok("app", "limits", app_id, "--rpm=10000000"),
                         "max_in_flight: 5\nrpm: 10000000\n")
        info = self.show(app_id)
        self.assertEqual((info["max_in_flight"], info["rpm"]), ("5", "10000000"))
        self.assertEqual(admin_ok("app", "limits", app_id, "--max-in-flight", "none"),
                         "max_in_flight: none\nrpm: 10000000\n")
        self.assertEqual(admin_ok("app", "limits", app_id, "--rpm", "none",
                                  "--max-in-flight", "100000"),
                         "max_in_flight: 100000\nrpm: none\n")

    def test_app_limits_bad_values_change_nothing(self):
        app_id = create_app()
        admin_ok("app", "limits", app_id, "--max-in-flight", "2", "--rpm", "60")
        for args in (["--max-in-flight", "0"], ["--max-in-flight", "100001"],
                     ["--rpm", "10000001"], ["--rpm", "-5"], ["--rpm", "1.5"],
                     ["--rpm", ""], ["--rpm", "ten"], ["--rpm", "5", "--max-in-flight", "x"],
                     ["--burst", "5"], ["--rpm"]):
            with self.subTest(args=args):
                self.assertCliError(admin("app", "limits", app_id, *args), rcs=(2,))
        self.assertEqual(admin_ok("app", "limits", app_id), "max_in_flight: 2\nrpm: 60\n")

    def test_app_limits_unknown_app(self):
        self.assertCliError(admin("app", "limits", gw.unique_id("nope"), "--rpm", "5"))
        self.assertCliError(admin("app", "limits", gw.unique_id("nope")))
        self.assertCliError(admin("app", "limits", "bad id", "--rpm", "5"), rcs=(2,))

    def test_app_limits_keep_the_other_settings(self):
        app_id, token = gw.app_with_admin_key()
        gw.put_config(app_id, token, {"maxTokensPerRequest": 77, "allowedModels": ["a/b"]})
        admin_ok("app", "limits", app_id, "--rpm", "30")
        cfg = gw.get_config(app_id, token).json()
        self.assertEqual((cfg["maxTokensPerRequest"], cfg["allowedModels"],
                          cfg["requestsPerMinute"]), (77, ["a/b"], 30))

    # key limits ---------------------------------------------------------------

    def test_key_create_with_rpm(self):
        app_id = create_app()
        r = admin("key", "create", "--app", app_id, "--role", "admin", "--rpm", "45")
        self.assertEqual(r.rc, 0, repr(r))
        token = r.out.strip()
        self.assertRegex(token, gw.TOKEN_RE)
        self.assertEqual(self.key_rpm(app_id, key_id_of(app_id, token)), "45")
        # the key works
        self.assertEqual(gw.get_config(app_id, token).status, 200)

    def test_key_create_bad_rpm_creates_nothing(self):
        app_id = create_app()
        for bad in ("0", "10000001", "x", "none5"):
            with self.subTest(rpm=bad):
                self.assertCliError(admin("key", "create", "--app", app_id, "--rpm", bad),
                                    rcs=(2,))
        self.assertEqual(key_rows(app_id), [])

    def test_key_limit_set_and_clear(self):
        app_id = create_app()
        token = create_key(app_id)
        key_id = key_id_of(app_id, token)
        self.assertEqual(self.key_rpm(app_id, key_id), "none")
        r = admin("key", "limit", key_id, "--rpm", "120")
        self.assertEqual((r.rc, r.out), (0, "%s: rpm 120\n" % key_id), repr(r))
        self.assertEqual(self.key_rpm(app_id, key_id), "120")
        r = admin("key", "limit", key_id, "--rpm", "none")
        self.assertEqual((r.rc, r.out), (0, "%s: rpm none\n" % key_id), repr(r))
        self.assertEqual(self.key_rpm(app_id, key_id), "none")

    def test_key_limit_refusals(self):
        app_id = create_app()
        key_id = key_id_of(app_id, create_key(app_id))
        admin_ok("key", "limit", key_id, "--rpm", "7")
        for args in ([key_id], [key_id, "--rpm", "0"], [key_id, "--rpm", "10000001"],
                     ["0", "--rpm", "5"], ["abc", "--rpm", "5"]):
            with self.subTest(args=args):
                self.assertCliError(admin("key", "limit", *args), rcs=(2,))
        self.assertCliError(admin("key", "limit", "987654321", "--rpm", "5"))
        self.assertEqual(self.key_rpm(app_id, key_id), "7")

    def test_help_lists_the_commands(self):
        out = admin_ok("--help")
        self.assertIn("app limits ID [--max-in-flight N|none] [--rpm N|none]", out)
        self.assertIn("key limit KEY_ID --rpm N|none", out)
        self.assertIn("[--rpm N]", out)
