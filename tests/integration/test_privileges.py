"""Least privilege in the stack: the runtime database account (aigw.conf) has
no DDL, the DBA reader account reads the views and usage tables but neither
key hashes nor sealed BYOK keys, aigw.fcgi and mariadbd do not run as root,
and the stack's logs and credential files are not world-readable."""

import os
import pwd
import re
import subprocess

import gw

# What the runtime account may hold (USAGE is "no privilege", on *.*).
RUNTIME_PRIVILEGES = {"SELECT", "INSERT", "UPDATE", "DELETE", "EXECUTE", "USAGE"}
ER_TABLEACCESS_DENIED = 1142
ER_COLUMNACCESS_DENIED = 1143
GRANT_RE = re.compile(r"^GRANT (.+?) ON (\S+) TO ")


def run_sql(args, sql, environ=None):
    """Runs one statement with the mariadb client; returns (rc, stdout, the
    server's error number or None)."""
    cmd = ["mariadb"] + args + ["--batch", "--skip-column-names", "-e", sql]
    p = subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL, timeout=60,
                       env=environ)
    err = p.stderr.decode("utf-8", "replace")
    m = re.search(r"ERROR (\d+)", err)
    return p.returncode, p.stdout.decode("utf-8", "replace"), int(m.group(1)) if m else None


def as_runtime(sql):
    """As aigw.conf's account, the one aigw.fcgi uses."""
    conf = gw.conf_values()
    environ = dict(os.environ, MYSQL_PWD=conf.get("db_password", ""))
    args = ["--no-defaults", "--protocol=socket", "--socket=" + gw.env("AIGW_DB_SOCKET"),
            "--user=" + conf.get("db_user", "aigw"), "--database=" + gw.env("AIGW_DB_NAME")]
    return run_sql(args, sql, environ)


def reader_cnf():
    return os.environ.get("AIGW_READER_CNF") or os.path.join(gw.env("AIGW_DIR"), "reader.cnf")


def as_reader(sql):
    """As the DBA reader account of DIR/reader.cnf (user, password, socket,
    database)."""
    return run_sql(["--defaults-file=" + reader_cnf()], sql)


def grants(run):
    """SHOW GRANTS of the connected account: [(privileges, level)]."""
    rc, out, errno = run("SHOW GRANTS")
    if rc != 0:
        raise AssertionError("SHOW GRANTS failed (%s)" % errno)
    found = []
    for line in out.splitlines():
        m = GRANT_RE.match(line)
        if not m:
            raise AssertionError("unexpected SHOW GRANTS line %r" % line)
        found.append((m.group(1), m.group(2), line))
    return found


def privilege_names(privs):
    """"SELECT, INSERT, SELECT (`a`, `b`)" -> {"SELECT", "INSERT"}."""
    privs = re.sub(r"\([^)]*\)", "", privs)
    return {p.strip().upper() for p in privs.split(",") if p.strip()}


def proc_status(pid):
    """/proc/PID/status as a dict of its fields (text after the colon)."""
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def gateway_pids():
    """The aigw.fcgi processes of this stack: the pool (its command line names
    the stack's aigw.conf) or mod_fcgid's responders (their AIGW_CONFIG does)."""
    conf = gw.env("AIGW_CONFIG")
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            exe = os.readlink("/proc/%s/exe" % name)
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmdline = f.read().split(b"\0")
            with open("/proc/%s/environ" % name, "rb") as f:
                environ = f.read().split(b"\0")
        except OSError:
            continue  # gone, or a kernel thread
        if not exe.split(" (deleted)")[0].endswith("/aigw.fcgi"):
            continue
        args = [a.decode("utf-8", "replace") for a in cmdline]
        ours = any(args[i] == "--config" and args[i + 1] == conf for i in range(len(args) - 1))
        ours = ours or ("AIGW_CONFIG=" + conf).encode() in environ
        if ours:
            pids.append(int(name))
    return pids


class RuntimeAccountTest(gw.GatewayTest):
    def test_runtime_account_has_data_rights_only(self):
        found = grants(as_runtime)
        on_schema = False
        for privs, level, line in found:
            self.assertNotIn("WITH GRANT OPTION", line)
            names = privilege_names(privs)
            self.assertFalse(names - RUNTIME_PRIVILEGES,
                             "the runtime account holds %s: %r"
                             % (sorted(names - RUNTIME_PRIVILEGES), line))
            if level.startswith("`%s`." % gw.env("AIGW_DB_NAME")):
                on_schema = True
                self.assertTrue({"SELECT", "INSERT", "UPDATE", "DELETE"} <= names, line)
        self.assertTrue(on_schema, "no grant on the gateway's database: %r" % found)

    def test_runtime_account_cannot_change_the_schema(self):
        # On a table that does not exist: "denied" (1142) proves the right is
        # missing, where "unknown table" would mean it is there, and nothing
        # real is at stake if it ever were.
        # Should a right be there after all, the probe does not stay behind.
        probe = "t_priv_probe_%s" % os.urandom(4).hex()
        self.addCleanup(gw.db_query, "DROP TABLE IF EXISTS %s" % probe)
        for sql in ("CREATE TABLE %s (x INT)" % probe,
                    "ALTER TABLE %s ADD COLUMN y INT" % probe,
                    "CREATE INDEX i_probe ON %s (x)" % probe,
                    "TRUNCATE TABLE %s" % probe,
                    "DROP TABLE %s" % probe):
            with self.subTest(sql=sql):
                rc, _, errno = as_runtime(sql)
                self.assertNotEqual(rc, 0, sql)
                self.assertEqual(errno, ER_TABLEACCESS_DENIED, sql)
        for sql in ("ALTER TABLE api_keys COMMENT = 'x'",):
            with self.subTest(sql=sql):
                rc, _, errno = as_runtime(sql)
                self.assertEqual((rc != 0, errno), (True, ER_TABLEACCESS_DENIED), sql)

    def test_runtime_account_cannot_create_triggers(self):
        rc, _, errno = as_runtime(
            "CREATE TRIGGER t_priv_probe BEFORE INSERT ON app_changes FOR EACH ROW "
            "SET NEW.changed_at = NEW.changed_at")
        self.assertEqual((rc != 0, errno), (True, ER_TABLEACCESS_DENIED))

    def test_runtime_writes_fire_the_admin_triggers(self):
        # The change feed's triggers were made by the migrations, as the
        # schema owner, and run with its rights: the runtime account's own
        # writes stamp the app without any right beyond data.
        rows = gw.db_query("SELECT DEFINER AS definer, EVENT_OBJECT_TABLE AS tbl "
                           "FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '%s'"
                           % gw.env("AIGW_DB_NAME"))
        self.assertEqual({r["tbl"] for r in rows}, {"apps", "api_keys", "ai_config", "plans"})
        runtime = gw.conf_values().get("db_user", "aigw")
        for r in rows:
            self.assertNotEqual(r["definer"].split("@")[0], runtime, r)
        app_id = gw.create_app()
        rc, _, errno = as_runtime("UPDATE apps SET name = name WHERE id = '%s'" % app_id)
        self.assertEqual((rc, errno), (0, None))
        rc, out, errno = as_runtime(
            "SELECT changed_at >= UTC_TIMESTAMP(6) - INTERVAL 60 SECOND FROM app_changes "
            "WHERE app_id = '%s'" % app_id)
        self.assertEqual((rc, errno, out.strip()), (0, None, "1"))

    def test_runtime_account_still_works(self):
        rc, out, errno = as_runtime("SELECT COUNT(*) FROM apps")
        self.assertEqual((rc, errno), (0, None))
        r = gw.request("GET", "/v1/health")
        self.assertEqual(r.status, 200, repr(r))


class ReaderAccountTest(gw.GatewayTest):
    @classmethod
    def setUpClass(cls):
        # Something to read: an app with a key and a BYOK key set.
        cls.app_id, cls.admin_key = gw.app_with_admin_key()
        r = gw.put_config(cls.app_id, cls.admin_key,
                          {"byokKey": "sk-or-v1-" + os.urandom(16).hex()})
        assert r.status == 200, repr(r)

    def test_reader_file_is_root_only(self):
        st = os.stat(reader_cnf())
        self.assertEqual((st.st_uid, st.st_mode & 0o077), (0, 0), oct(st.st_mode))

    def test_reader_reads_views_and_usage_tables(self):
        for table in ("v_spend_per_app_period", "v_spend_per_model_day", "v_top_apps",
                      "usage_requests", "usage_daily", "usage_monthly", "billing_periods",
                      "apps", "plans", "app_changes"):
            with self.subTest(table=table):
                rc, out, errno = as_reader("SELECT COUNT(*) FROM %s" % table)
                self.assertEqual((rc, errno), (0, None), table)
        rc, out, errno = as_reader(
            "SELECT id, role, prefix, revoked_at FROM api_keys WHERE app_id = '%s'" % self.app_id)
        self.assertEqual((rc, errno), (0, None))
        self.assertEqual(len(out.splitlines()), 1, out)
        rc, out, errno = as_reader(
            "SELECT byok_last4 FROM ai_config WHERE app_id = '%s'" % self.app_id)
        self.assertEqual((rc, errno), (0, None))
        self.assertEqual(len(out.strip()), 4, out)

    def test_reader_cannot_read_secrets(self):
        for sql in ("SELECT key_hash FROM api_keys",
                    "SELECT HEX(key_hash) FROM api_keys WHERE app_id = '%s'" % self.app_id,
                    "SELECT byok_sealed FROM ai_config",
                    "SELECT app_id FROM ai_config WHERE byok_sealed IS NOT NULL"):
            with self.subTest(sql=sql):
                rc, out, errno = as_reader(sql)
                self.assertNotEqual(rc, 0, sql)
                self.assertEqual(errno, ER_COLUMNACCESS_DENIED, sql)
                self.assertEqual(out, "")
        for sql in ("SELECT * FROM api_keys", "SELECT * FROM ai_config"):
            with self.subTest(sql=sql):
                rc, out, errno = as_reader(sql)
                self.assertIn(errno, (ER_TABLEACCESS_DENIED, ER_COLUMNACCESS_DENIED), sql)

    def test_reader_only_selects(self):
        for privs, level, line in grants(as_reader):
            self.assertNotIn("WITH GRANT OPTION", line)
            self.assertLessEqual(privilege_names(privs), {"SELECT", "USAGE"}, line)
        for sql in ("DELETE FROM usage_daily WHERE 1 = 0",
                    "UPDATE billing_periods SET used_usd = used_usd WHERE 1 = 0",
                    "DROP VIEW v_top_apps"):
            with self.subTest(sql=sql):
                rc, _, errno = as_reader(sql)
                self.assertEqual((rc != 0, errno), (True, ER_TABLEACCESS_DENIED), sql)


class ProcessUsersTest(gw.GatewayTest):
    def test_gateway_processes_are_not_root(self):
        # mod_fcgid spawns its responders on demand: ask for one first.
        r = gw.request("GET", "/v1/health")
        self.assertEqual(r.status, 200, repr(r))
        pids = gateway_pids()
        self.assertTrue(pids, "no aigw.fcgi process of this stack found")
        want = os.environ.get("AIGW_FCGI_USER")
        for pid in pids:
            st = proc_status(pid)
            uids = [int(u) for u in st["Uid"].split()]
            gids = [int(g) for g in st["Gid"].split()]
            with self.subTest(pid=pid):
                self.assertNotIn(0, uids, "aigw.fcgi pid %d runs as root: %s" % (pid, st["Uid"]))
                self.assertNotIn(0, gids, "aigw.fcgi pid %d has group root: %s" % (pid, st["Gid"]))
                self.assertEqual(int(st["CapEff"], 16), 0, "pid %d has capabilities" % pid)
                if want:
                    self.assertEqual(uids[0], pwd.getpwnam(want).pw_uid, st["Uid"])

    def test_mariadb_is_not_root(self):
        with open(os.path.join(gw.env("AIGW_DIR"), "run", "mariadb.pid")) as f:
            pid = int(f.read().split()[0])
        st = proc_status(pid)
        self.assertIn("mariadbd", st["Name"])
        uids = [int(u) for u in st["Uid"].split()]
        self.assertNotIn(0, uids, "mariadbd runs as root: %s" % st["Uid"])
        self.assertEqual(uids[0], pwd.getpwnam("mysql").pw_uid, st["Uid"])
        datadir = os.stat(os.path.join(gw.env("AIGW_DIR"), "mysql"))
        self.assertEqual(datadir.st_uid, uids[0], "the datadir is not mariadbd's")


class FileModesTest(gw.GatewayTest):
    def test_logs_are_not_world_readable(self):
        logdir = os.path.join(gw.env("AIGW_DIR"), "log")
        names = os.listdir(logdir)
        self.assertTrue(names, "no logs in %s" % logdir)
        for name in names:
            path = os.path.join(logdir, name)
            mode = os.stat(path).st_mode
            with self.subTest(path=path):
                self.assertEqual(mode & 0o007, 0, "%s has mode %o" % (path, mode & 0o777))

    def test_admin_credentials_are_root_only(self):
        path = os.environ.get("AIGW_ADMIN_CONFIG") or os.path.join(gw.env("AIGW_DIR"),
                                                                   "admin.conf")
        st = os.stat(path)
        self.assertEqual((st.st_uid, st.st_mode & 0o077), (0, 0), oct(st.st_mode))
        admin_user = None
        with open(path) as f:
            for line in f:
                k, sep, v = line.partition("=")
                if sep and k.strip() == "db_user":
                    admin_user = v.strip()
        self.assertTrue(admin_user, "admin.conf names no db_user")
        self.assertNotEqual(admin_user, gw.conf_values().get("db_user", "aigw"),
                            "aigw.conf and admin.conf name the same account")
