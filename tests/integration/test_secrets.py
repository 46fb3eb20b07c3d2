"""Secrets at rest: a dump of the database and the stack's log files hold
neither a BYOK key nor any API token in clear."""

import os
import secrets
import subprocess

import gw
from gw import create_app, create_key


def dump_database():
    """mariadb-dump of the aigw database over the stack's socket: as root
    through unix-socket auth, else with the aigw user's credentials."""
    sock = gw.env("AIGW_DB_SOCKET")
    name = gw.env("AIGW_DB_NAME")
    conf = gw.conf_values()
    with_password = dict(os.environ)
    if conf.get("db_password"):
        with_password["MYSQL_PWD"] = conf["db_password"]
    attempts = [("root", os.environ), (conf.get("db_user", "aigw"), with_password)]
    errors = []
    for user, env in attempts:
        cmd = ["mariadb-dump", "--socket=" + sock, "--user=" + user, "--skip-comments",
               "--single-transaction", "--databases", name]
        p = subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL,
                           timeout=120, env=env)
        if p.returncode == 0 and p.stdout:
            return p.stdout
        errors.append(p.stderr.decode("utf-8", "replace"))
    raise AssertionError("mariadb-dump failed: %r" % errors)


def log_files():
    """Every regular file under the stack's log directory (and *.log files
    anywhere under the stack directory)."""
    root = gw.env("AIGW_DIR")
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        # The database files are checked through the dump, not here.
        dirnames[:] = [d for d in dirnames if d != "mysql"]
        for fn in filenames:
            path = os.path.join(dirpath, fn)
            if os.path.basename(dirpath) == "log" or fn.endswith(".log"):
                if os.path.isfile(path):
                    found.add(path)
    return sorted(found)


class SecretsTest(gw.GatewayTest):
    def setUp(self):
        self.app_id = create_app()
        self.admin = create_key(self.app_id, "admin")
        self.client = create_key(self.app_id, "client")
        self.byok = "sk-or-v1-" + secrets.token_hex(32)
        r = gw.put_config(self.app_id, self.admin, {"byokKey": self.byok,
                                                    "maxTokensPerRequest": 64})
        self.assertEqual(r.status, 200, repr(r))
        # Failed attempts with secrets in them must not reach a log either.
        self.bad_token = "aigw_" + secrets.token_urlsafe(32)[:43]
        gw.request("GET", gw.config_path(self.app_id), token=self.bad_token)
        gw.request("GET", gw.config_path(self.app_id), token=self.client)
        gw.put_config(self.app_id, self.admin, {"byokKey": self.byok + "\u0002"})
        self.secrets = {
            "BYOK key": self.byok,
            "BYOK key without last 4": self.byok[:-4],
            "admin token": self.admin,
            "admin token secret part": self.admin[12:],
            "client token": self.client,
            "client token secret part": self.client[12:],
        }

    def test_database_dump_has_no_secret_in_clear(self):
        dump = dump_database()
        self.assertIn(self.app_id.encode(), dump, "the dump does not show the app")
        for what, value in self.secrets.items():
            self.assertNotIn(value.encode(), dump, "%s found in the dump" % what)
        self.assertNotIn(self.byok.encode().hex().encode(), dump.lower(),
                         "BYOK key found hex-encoded in the dump")

    def test_logs_have_no_secret(self):
        files = log_files()
        self.assertTrue(files, "no log files under %s" % gw.env("AIGW_DIR"))
        secrets_all = dict(self.secrets, **{"unknown token": self.bad_token[12:]})
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
            for what, value in secrets_all.items():
                self.assertNotIn(value.encode(), data, "%s found in %s" % (what, path))

    def test_config_file_and_keyring_private(self):
        # aigw.conf may be readable by the group of the account aigw.fcgi runs
        # as (root:aigw 0640); the keyring belongs to that account alone.
        path = gw.env("AIGW_CONFIG")
        mode = os.stat(path).st_mode & 0o777
        self.assertEqual(mode & 0o027, 0, "%s has mode %o" % (path, mode))
        path = os.path.join(gw.env("AIGW_DIR"), "keyring")
        mode = os.stat(path).st_mode & 0o777
        self.assertEqual(mode & 0o077, 0, "%s has mode %o" % (path, mode))
