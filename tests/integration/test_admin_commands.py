"""aigw-admin for scripts and humans (README: aigw-admin): options anywhere,
help per command, --version, --json listings, models list, app delete,
usage, migrate status, the missing-config hint, and the config checks of
aigw-admin and aigw.fcgi (a secret in a file others may read is refused)."""

import json
from decimal import Decimal
import os
import shutil
import subprocess
import tempfile

import gw
from gw import admin, admin_ok, create_app, create_key, parse_table


def run_admin(*args, env=None):
    """aigw-admin with exactly these arguments (no --config put first)."""
    p = subprocess.run([gw.env("AIGW_ADMIN")] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=gw.CLI_TIMEOUT, env=env)
    return gw.CliResult(list(args), p.returncode, p.stdout.decode("utf-8", "replace"),
                        p.stderr.decode("utf-8", "replace"))


def admin_json(*args):
    out = admin_ok(*args)
    self_lines = out.splitlines()
    if len(self_lines) != 1:
        raise AssertionError("--json printed %d lines: %r" % (len(self_lines), out))
    return json.loads(out)


class AdminCommandsTest(gw.GatewayTest):

    # options, help, version --------------------------------------------------

    def test_config_after_the_subcommand(self):
        app_id = create_app()
        r = run_admin("app", "show", app_id, "--config", gw.env("AIGW_CONFIG"))
        self.assertEqual(r.rc, 0, repr(r))
        self.assertIn("id: %s\n" % app_id, r.out)
        r = run_admin("app", "--config=" + gw.env("AIGW_CONFIG"), "list", "--json")
        self.assertEqual(r.rc, 0, repr(r))
        self.assertIn(app_id, [a["id"] for a in json.loads(r.out)["apps"]])

    def test_help_per_command(self):
        cases = [
            (("app", "--help"), "app delete", "keyring rotate"),
            (("key", "create", "-h"), "key create --app ID", "key revoke"),
            (("migrate", "--help"), "Apply the database migrations", "app create"),
            (("usage", "--help"), "usage --app ID", "models sync"),
        ]
        for args, has, lacks in cases:
            with self.subTest(args=args):
                r = run_admin(*args)
                self.assertEqual(r.rc, 0, repr(r))
                self.assertIn(has, r.out)
                self.assertNotIn(lacks, r.out, "the global usage, not the command's")
                self.assertEqual(r.err, "")

    def test_global_help_lists_every_command(self):
        r = run_admin("--help")
        self.assertEqual(r.rc, 0, repr(r))
        for cmd in ("migrate status", "app delete", "models list", "usage --app",
                    "config check", "check [--app ID]"):
            self.assertIn(cmd, r.out)

    def test_version(self):
        for args in (("--version",), ("app", "list", "--version")):
            with self.subTest(args=args):
                r = run_admin(*args)
                self.assertEqual(r.rc, 0, repr(r))
                self.assertRegex(r.out, r"^aigw-admin \d+\.\d+\.\d+\n$")

    def test_unknown_option_exit_2_with_synopsis(self):
        r = admin("app", "list", "--bogus")
        self.assertEqual(r.rc, 2, repr(r))
        self.assertEqual(r.out, "")
        self.assertIn("unknown option --bogus", r.err)
        self.assertIn("aigw-admin app list [--json]", r.err)
        self.assertNotIn("keyring rotate", r.err)

    def test_missing_config_names_the_way_to_name_one(self):
        env = dict(os.environ)
        env.pop("AIGW_CONFIG", None)
        r = run_admin("app", "list", "--config", "/tmp/admin-none/aigw.conf", env=env)
        self.assertEqual(r.rc, 1, repr(r))
        self.assertEqual(r.out, "")
        self.assertIn("/tmp/admin-none/aigw.conf: No such file or directory", r.err)
        self.assertIn("--config FILE or $AIGW_CONFIG", r.err)

    # JSON listings -------------------------------------------------------------

    def test_app_list_json(self):
        app_id = create_app(plan="pro", name="json listed")
        doc = admin_json("app", "list", "--json")
        mine = [a for a in doc["apps"] if a["id"] == app_id]
        self.assertEqual(len(mine), 1, doc)
        self.assertEqual(set(mine[0]), {"id", "name", "plan", "created_at"})
        self.assertEqual((mine[0]["name"], mine[0]["plan"]), ("json listed", "pro"))
        self.assertRegex(mine[0]["created_at"], gw.TIME_RE)

    def test_app_show_json(self):
        app_id = create_app()
        create_key(app_id)
        admin_ok("app", "limits", app_id, "--rpm", "60")
        doc = admin_json("app", "show", app_id, "--json")
        self.assertEqual(doc["id"], app_id)
        self.assertEqual(doc["keys"], 1)
        self.assertIsNone(doc["deleted_at"])
        self.assertIsNone(doc["max_in_flight"])
        self.assertEqual(doc["rpm"], 60)

    def test_key_list_json(self):
        app_id = create_app()
        token = create_key(app_id, "admin", name="ops")
        doc = admin_json("key", "list", "--json", "--app", app_id)
        self.assertEqual(doc["app_id"], app_id)
        self.assertEqual(len(doc["keys"]), 1)
        k = doc["keys"][0]
        self.assertEqual(set(k), {"id", "role", "name", "prefix", "created_at",
                                  "revoked_at", "rpm"})
        self.assertEqual((k["role"], k["name"], k["prefix"]), ("admin", "ops", token[:12]))
        self.assertIsNone(k["revoked_at"])
        self.assertIsNone(k["rpm"])
        self.assertNotIn(token[12:], json.dumps(doc))

    def test_models_list(self):
        header, rows = parse_table(admin_ok("models", "list"))
        self.assertEqual(header, "id\tname\tcontext_length\tprompt_price\tcompletion_price")
        self.assertTrue(rows, "the stack syncs the simulator's models")
        ids = [row[0] for row in rows]
        self.assertEqual(ids, sorted(ids))
        for row in rows:
            self.assertEqual(len(row), 5, row)
        doc = admin_json("models", "list", "--json")
        self.assertEqual([m["id"] for m in doc["models"]], ids)
        m = doc["models"][0]
        self.assertEqual(set(m), {"id", "name", "context_length", "prompt_price",
                                  "completion_price"})

    def test_migrate_status(self):
        header, rows = parse_table(admin_ok("migrate", "status"))
        self.assertEqual(header, "version\tname\tstate\tapplied_at")
        self.assertTrue(rows)
        for row in rows:
            self.assertEqual(row[2], "applied", row)
            self.assertRegex(row[3], gw.TIME_RE)
        self.assertIn("014_apps_deleted", [row[1] for row in rows])
        doc = admin_json("migrate", "status", "--json")
        self.assertEqual(doc["pending"], 0)
        self.assertEqual([m["name"] for m in doc["migrations"]], [row[1] for row in rows])

    def test_migrate_status_shows_pending(self):
        """A database without one of the rows shows it pending (the row is
        put back as it was)."""
        row = gw.db_query("SELECT version, name, applied_at FROM schema_migrations "
                          "WHERE version = 14")
        self.assertEqual(len(row), 1, row)
        gw.db_query("DELETE FROM schema_migrations WHERE version = 14")
        try:
            doc = admin_json("migrate", "status", "--json")
        finally:
            gw.db_query("INSERT INTO schema_migrations (version, name, applied_at) "
                        "VALUES (14, '014_apps_deleted', UTC_TIMESTAMP(6))")
        self.assertEqual(doc["pending"], 1)
        states = {m["name"]: (m["state"], m["applied_at"]) for m in doc["migrations"]}
        self.assertEqual(states["014_apps_deleted"], ("pending", None))

    # usage ---------------------------------------------------------------------

    def chat_once(self, app_id, token):
        r = gw.request("POST", gw.chat_path(app_id), token=token,
                       body={"model": "openai/gpt-4o-mini",
                             "messages": [{"role": "user", "content": "hi"}]})
        self.assertEqual(r.status, 200, repr(r))
        return r.json()

    def test_usage_report(self):
        app_id, _, client = gw.proxy_app()
        answers = [self.chat_once(app_id, client) for _ in range(2)]
        self.assertEqual(len(gw.wait_usage_rows(app_id, 2)), 2)
        header, rows = parse_table(admin_ok("usage", "--app", app_id))
        self.assertEqual(header, "kind\tmodel\trequests\tprompt_tokens\tcompletion_tokens\tcost")
        kinds = {(row[0], row[1]): row[2:] for row in rows}
        model = kinds[("model", "openai/gpt-4o-mini")]
        self.assertEqual(model[0], "2")
        prompt = sum(a["usage"]["prompt_tokens"] for a in answers)
        self.assertEqual(int(model[1]), prompt)
        self.assertEqual(kinds[("total", "-")], model)
        self.assertEqual(kinds[("byok", "-")], ["0", "0", "0", "0"])
        doc = json.loads(admin_ok("usage", "--json", "--app", app_id), parse_float=Decimal)
        self.assertEqual(doc["total"]["cost"], Decimal(model[3]))
        self.assertEqual(doc["app_id"], app_id)
        self.assertEqual(doc["total"]["requests"], 2)
        self.assertEqual(doc["by_model"][0]["model"], "openai/gpt-4o-mini")
        self.assertEqual(set(doc), {"app_id", "from", "to", "total", "byok", "by_model"})

    def test_usage_range_outside_is_empty(self):
        app_id, _, client = gw.proxy_app()
        self.chat_once(app_id, client)
        gw.wait_usage_rows(app_id, 1)
        doc = json.loads(admin_ok("usage", "--app", app_id, "--json",
                                  "--from", "2020-01-01", "--to", "2020-01-31"))
        self.assertEqual((doc["from"], doc["to"]), ("2020-01-01", "2020-01-31"))
        self.assertEqual(doc["total"]["requests"], 0)
        self.assertEqual(doc["by_model"], [])

    def test_usage_bad_arguments(self):
        app_id = create_app()
        for args in (["--from", "2023-02-29"], ["--to", "2026-1-01"],
                     ["--from", "2026-02-01", "--to", "2026-01-01"],
                     ["--from", "2000-01-01", "--to", "2026-01-01"]):
            with self.subTest(args=args):
                r = admin("usage", "--app", app_id, *args)
                self.assertEqual(r.rc, 2, repr(r))
                self.assertEqual(r.out, "")
        r = admin("usage")
        self.assertEqual(r.rc, 2, repr(r))
        r = admin("usage", "--app", gw.unique_id("nosuch"))
        self.assertEqual(r.rc, 1, repr(r))
        self.assertIn("no app", r.err)

    # app delete ----------------------------------------------------------------

    def test_app_delete_without_usage_removes_it(self):
        app_id = create_app()
        create_key(app_id, "admin")
        admin_ok("app", "limits", app_id, "--rpm", "5")
        r = admin("app", "delete", app_id)
        self.assertEqual(r.rc, 0, repr(r))
        self.assertEqual(r.out, "deleted %s\n" % app_id)
        self.assertEqual(admin("app", "show", app_id).rc, 1)
        self.assertEqual(gw.db_query("SELECT id FROM api_keys WHERE app_id = '%s'" % app_id),
                         [])
        # the id is free again
        self.assertEqual(create_app(app_id), app_id)

    def test_app_delete_with_usage_needs_force_and_keeps_usage(self):
        app_id, adm, client = gw.proxy_app()
        self.chat_once(app_id, client)
        self.assertEqual(len(gw.wait_usage_rows(app_id, 1)), 1)

        r = admin("app", "delete", app_id)
        self.assertEqual(r.rc, 1, repr(r))
        self.assertEqual(r.out, "")
        self.assertIn("has usage (1 requests recorded", r.err)
        self.assertIn("--force", r.err)
        self.assertIsNone(admin_json("app", "show", app_id, "--json")["deleted_at"])
        self.assertEqual(gw.get_config(app_id, adm).status, 200)

        r = admin("app", "delete", "--force", app_id)
        self.assertEqual(r.rc, 0, repr(r))
        self.assertEqual(r.out, "deleted %s\n" % app_id)
        self.assertIn("kept", r.err)

        # kept: the app row (marked), its usage rows and rollups
        self.assertEqual(len(gw.usage_rows(app_id)), 1)
        self.assertEqual(len(gw.usage_daily(app_id)), 1)
        doc = json.loads(admin_ok("usage", "--app", app_id, "--json"))
        self.assertEqual(doc["total"]["requests"], 1)
        shown = admin_json("app", "show", app_id, "--json")
        self.assertRegex(shown["deleted_at"], gw.TIME_RE)
        self.assertEqual(shown["keys"], 0)
        # gone: the listing, the keys, the settings
        self.assertNotIn(app_id, [a["id"] for a in admin_json("app", "list", "--json")["apps"]])
        for k in admin_json("key", "list", "--app", app_id, "--json")["keys"]:
            self.assertIsNotNone(k["revoked_at"], k)
        self.assertEqual(gw.db_query("SELECT app_id FROM ai_config WHERE app_id = '%s'"
                                     % app_id), [])
        limit = gw.auth_cache_ttl() + 3
        last = gw.wait_status(lambda: gw.get_config(app_id, adm), 401, limit)
        self.assertError(last, 401)
        # nothing more can be done with it
        for args in (("key", "create", "--app", app_id), ("app", "set-plan", app_id, "pro"),
                     ("app", "limits", app_id, "--rpm", "5"), ("app", "delete", app_id)):
            with self.subTest(args=args):
                r = admin(*args)
                self.assertEqual(r.rc, 1, repr(r))
                self.assertEqual(r.out, "")
        self.assertEqual(gw.admin_check(app_id)[0], 0)

    def test_app_delete_unknown(self):
        r = admin("app", "delete", gw.unique_id("nosuch"))
        self.assertEqual(r.rc, 1, repr(r))
        self.assertIn("no app", r.err)


class ConfigCheckTest(gw.GatewayTest):
    """The stack's aigw.conf (root:aigw 0640) is checked as it is; copies
    with another mode or content show what is refused. Runs as root (the
    keyring belongs to aigw, mode 0400)."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="admin-conf-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.dir)

    def copy(self, mode, extra=""):
        path = os.path.join(self.dir, "aigw.conf")
        with open(gw.env("AIGW_CONFIG")) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text + extra)
        os.chmod(path, mode)
        return path

    def fcgi(self, *args):
        p = subprocess.run([gw.env("AIGW_FCGI")] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=gw.CLI_TIMEOUT)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def test_stack_config_ok(self):
        conf = gw.env("AIGW_CONFIG")
        r = run_admin("config", "check", "--config", conf)
        self.assertEqual(r.rc, 0, repr(r))
        self.assertIn("%s: ok\n" % conf, r.out)
        self.assertEqual(self.fcgi("--check-config", "--config", conf),
                         (0, "%s: ok\n" % conf, ""))

    def test_secret_in_world_readable_file_refused(self):
        self.assertTrue(gw.conf_value("db_password", ""), "the stack's config has a password")
        path = self.copy(0o644)
        want = "%s holds db_password but its mode 0644 lets others read or change it: " \
               "chmod 0640 %s" % (path, path)
        r = run_admin("config", "check", "--config", path, "--admin-config",
                      gw.env("AIGW_ADMIN_CONFIG"))
        self.assertEqual(r.rc, 1, repr(r))
        self.assertIn(want, r.err)
        rc, out, err = self.fcgi("--check-config", "--config", path)
        self.assertEqual((rc, out), (1, ""))
        self.assertIn(want, err)
        self.assertNotIn(gw.conf_value("db_password", ""), err)
        os.chmod(path, 0o640)
        self.assertEqual(self.fcgi("--check-config", "--config", path)[0], 0)

    def test_bad_upstream_url_refused(self):
        conf = gw.conf_values()
        self.assertIn("upstream_url", conf)
        path = self.copy(0o600)
        with open(path) as f:
            text = f.read().replace("upstream_url = " + conf["upstream_url"],
                                    "upstream_url = https://")
        with open(path, "w") as f:
            f.write(text)
        rc, out, err = self.fcgi("--check-config", "--config", path)
        self.assertEqual(rc, 1)
        self.assertIn("upstream_url: 'https://' has no host", err)

    def test_upstream_url_trailing_slash(self):
        """models sync against the simulator through a URL ending in '/':
        the request goes to .../api/v1/models, not .../api/v1//models."""
        url = gw.conf_value("upstream_url", "")
        path = self.copy(0o600)
        with open(path) as f:
            text = f.read().replace("upstream_url = " + url, "upstream_url = " + url + "/")
        with open(path, "w") as f:
            f.write(text)
        r = run_admin("models", "sync", "--config", path, "--admin-config",
                      gw.env("AIGW_ADMIN_CONFIG"))
        self.assertEqual(r.rc, 0, repr(r))
        self.assertRegex(r.out, r"^synced \d+ models\n$")

    def test_inline_comment_accepted(self):
        path = self.copy(0o600, "cors_origin = https://shop.example   # the shop's origin\n")
        rc, out, err = self.fcgi("--check-config", "--config", path)
        self.assertEqual((rc, err), (0, ""))
