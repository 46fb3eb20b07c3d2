"""aigw-admin against the stack's real database: the stdout contract scripts
rely on (README: aigw-admin), errors, and key revocation
seen over HTTP."""

import gw
from gw import admin, admin_ok, create_app, create_key, parse_table, unique_id


class AdminCliTest(gw.GatewayTest):
    def assertCliError(self, r, rcs=(1,)):
        self.assertIn(r.rc, rcs, repr(r))
        self.assertEqual(r.out, "", "an error printed on stdout: %r" % r)
        self.assertTrue(r.err.startswith("aigw-admin: "), repr(r))

    def show(self, app_id):
        out = admin_ok("app", "show", app_id)
        fields = {}
        for line in out.splitlines():
            k, sep, v = line.partition(": ")
            self.assertTrue(sep, "app show line %r is not 'key: value'" % line)
            fields[k] = v
        return fields

    # app create ---------------------------------------------------------------

    def test_app_create_default_id(self):
        r = admin("app", "create")
        self.assertEqual(r.rc, 0, repr(r))
        self.assertRegex(r.out, r"^app_[0-9a-f]{16}\n$")
        app_id = r.out.strip()
        info = self.show(app_id)
        self.assertEqual(info.get("id"), app_id)
        self.assertEqual(info.get("plan"), "free", "default plan: %r" % info)
        self.assertEqual(info.get("name"), app_id, "default name: %r" % info)

    def test_app_create_default_ids_differ(self):
        a = admin_ok("app", "create").strip()
        b = admin_ok("app", "create").strip()
        self.assertNotEqual(a, b)

    def test_app_create_with_id(self):
        app_id = unique_id("my-App")
        r = admin("app", "create", "--id", app_id)
        self.assertEqual(r.rc, 0, repr(r))
        self.assertEqual(r.out, app_id + "\n")
        self.assertEqual(self.show(app_id)["id"], app_id)

    def test_app_create_id_64_chars(self):
        app_id = unique_id("x") + "a" * (64 - len(unique_id("x")))
        self.assertEqual(len(app_id), 64)
        r = admin("app", "create", "--id", app_id)
        self.assertEqual(r.rc, 0, repr(r))
        self.assertEqual(r.out, app_id + "\n")

    def test_app_create_duplicate_id_fails(self):
        app_id = create_app()
        r = admin("app", "create", "--id", app_id)
        self.assertCliError(r, rcs=(1,))

    def test_app_create_bad_id_rejected(self):
        for bad in ["a'b;DROP TABLE apps;--", "has space", "a" * 65, "", "ok%41",
                    "slash/id", "d\u00e9j\u00e0"]:
            with self.subTest(bad=bad):
                r = admin("app", "create", "--id", bad)
                self.assertCliError(r, rcs=(1, 2))
        _, rows = parse_table(admin_ok("app", "list"))
        ids = {row[0] for row in rows}
        self.assertNotIn("a" * 65, ids)
        self.assertNotIn("has space", ids)

    def test_app_create_with_plan_and_name(self):
        app_id = unique_id("plan")
        r = admin("app", "create", "--id", app_id, "--plan", "pro", "--name", "My App")
        self.assertEqual(r.rc, 0, repr(r))
        info = self.show(app_id)
        self.assertEqual(info.get("plan"), "pro")
        self.assertEqual(info.get("name"), "My App")

    def test_app_create_bad_plan_rejected(self):
        app_id = unique_id("badplan")
        r = admin("app", "create", "--id", app_id, "--plan", "gold")
        self.assertCliError(r, rcs=(1, 2))
        self.assertNotEqual(admin("app", "show", app_id).rc, 0, "app was created anyway")

    # app list / show ---------------------------------------------------------

    def test_app_list(self):
        app_id = create_app(plan="enterprise", name="listed")
        header, rows = parse_table(admin_ok("app", "list"))
        self.assertIsNotNone(header)
        mine = [row for row in rows if row[0] == app_id]
        self.assertEqual(len(mine), 1, "app %s not listed once: %r" % (app_id, rows))
        row = mine[0]
        self.assertEqual(len(row), 4, "row %r is not id, name, plan, created_at" % row)
        self.assertEqual(row[1], "listed")
        self.assertEqual(row[2], "enterprise")
        self.assertRegex(row[3], r"^\d{4}-\d\d-\d\d")
        for row in rows:
            self.assertEqual(len(row), 4, "row %r" % row)

    def test_app_show(self):
        app_id = create_app(name="shown")
        info = self.show(app_id)
        for field in ("id", "name", "plan", "created_at", "keys"):
            self.assertIn(field, info, "app show lacks %s: %r" % (field, info))
        self.assertEqual(info["id"], app_id)
        self.assertEqual(info["name"], "shown")
        self.assertEqual(info["plan"], "free")
        self.assertEqual(info["keys"], "0")

    def test_app_show_counts_active_keys(self):
        app_id = create_app()
        create_key(app_id)
        t2 = create_key(app_id, "admin")
        self.assertEqual(self.show(app_id)["keys"], "2")
        admin_ok("key", "revoke", gw.key_id_of(app_id, t2))
        self.assertEqual(self.show(app_id)["keys"], "1")

    def test_app_show_unknown_fails(self):
        self.assertCliError(admin("app", "show", unique_id("nosuch")))

    # set-plan ---------------------------------------------------------------

    def test_set_plan_valid(self):
        app_id = create_app()
        r = admin("app", "set-plan", app_id, "pro")
        self.assertEqual(r.rc, 0, repr(r))
        self.assertEqual(r.out, "%s: pro\n" % app_id)
        self.assertEqual(self.show(app_id)["plan"], "pro")
        admin_ok("app", "set-plan", app_id, "enterprise")
        self.assertEqual(self.show(app_id)["plan"], "enterprise")

    def test_set_plan_invalid(self):
        app_id = create_app(plan="pro")
        self.assertCliError(admin("app", "set-plan", app_id, "gold"), rcs=(1, 2))
        self.assertEqual(self.show(app_id)["plan"], "pro")

    def test_set_plan_unknown_app(self):
        self.assertCliError(admin("app", "set-plan", unique_id("nosuch"), "pro"))

    # keys -------------------------------------------------------------------

    def test_key_create_token_shape(self):
        app_id = create_app()
        r = admin("key", "create", "--app", app_id)
        self.assertEqual(r.rc, 0, repr(r))
        self.assertRegex(r.out, r"^aigw_[A-Za-z0-9_-]{43}\n$")
        self.assertEqual(len(r.out.strip()), 48)

    def test_key_create_tokens_differ(self):
        app_id = create_app()
        self.assertNotEqual(create_key(app_id), create_key(app_id))

    def test_key_create_unknown_app(self):
        self.assertCliError(admin("key", "create", "--app", unique_id("nosuch")))

    def test_key_create_bad_role(self):
        app_id = create_app()
        self.assertCliError(admin("key", "create", "--app", app_id, "--role", "root"),
                            rcs=(1, 2))
        self.assertEqual(gw.key_rows(app_id), [])

    def test_key_list(self):
        app_id = create_app()
        client = create_key(app_id, "client", name="ci-client")
        adm = create_key(app_id, "admin", name="ci-admin")
        out = admin_ok("key", "list", "--app", app_id)
        self.assertNotIn(client, out)
        self.assertNotIn(adm, out)
        self.assertNotIn(client[12:], out)
        self.assertNotIn(adm[12:], out)
        header, rows = parse_table(out)
        self.assertIsNotNone(header)
        self.assertEqual(len(rows), 2, repr(out))
        by_prefix = {}
        for row in rows:
            self.assertEqual(len(row), 7, "row %r is not id, role, name, prefix, "
                             "created_at, revoked_at, rpm" % row)
            by_prefix[row[3]] = row
        self.assertIn(client[:12], by_prefix, "prefix %r not shown: %r" % (client[:12], out))
        self.assertIn(adm[:12], by_prefix, "prefix %r not shown: %r" % (adm[:12], out))
        c, a = by_prefix[client[:12]], by_prefix[adm[:12]]
        self.assertEqual((c[1], c[2], c[5], c[6]), ("client", "ci-client", "-", "none"))
        self.assertEqual((a[1], a[2], a[5], a[6]), ("admin", "ci-admin", "-", "none"))
        self.assertNotEqual(c[0], a[0])
        self.assertRegex(c[4], r"^\d{4}-\d\d-\d\d")

    def test_key_list_only_that_app(self):
        a = create_app()
        b = create_app()
        create_key(a)
        tb = create_key(b)
        rows = gw.key_rows(a)
        self.assertEqual(len(rows), 1)
        self.assertNotIn(tb[:12], [row[3] for row in rows])

    def test_key_revoke(self):
        app_id = create_app()
        token = create_key(app_id, "admin")
        self.assertEqual(gw.get_config(app_id, token).status, 200)
        key_id = gw.key_id_of(app_id, token)
        r = admin("key", "revoke", key_id)
        self.assertEqual(r.rc, 0, repr(r))
        self.assertEqual(r.out, "revoked %s\n" % key_id)
        row = [row for row in gw.key_rows(app_id) if row[0] == key_id][0]
        self.assertNotEqual(row[5], "-", "revoked_at not shown: %r" % row)
        # The per-thread auth cache may keep it for auth_cache_ttl_s seconds.
        limit = gw.auth_cache_ttl() + 3
        last = gw.wait_status(lambda: gw.get_config(app_id, token), 401, limit)
        self.assertError(last, 401, message="invalid or revoked API key")

    def test_key_revoke_unknown_id(self):
        r = admin("key", "revoke", "987654321")
        self.assertCliError(r)

    # migrate ----------------------------------------------------------------

    def test_migrate_rerun_up_to_date(self):
        r = admin("migrate")
        self.assertEqual(r.rc, 0, repr(r))
        self.assertEqual(r.out, "up to date\n")

    # errors -----------------------------------------------------------------

    def test_usage_error_exit_2(self):
        r = admin("frobnicate")
        self.assertEqual(r.rc, 2, repr(r))
        self.assertTrue(r.err.startswith("aigw-admin: "), repr(r))
