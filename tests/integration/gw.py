"""Shared helpers for the integration tests: the stack's environment, HTTP
calls against the real web server, the aigw-admin CLI, and the checks every
error response must pass (SPEC §2, DECISIONS). Standard library only: this
runs under Debian's /usr/bin/python3 with nothing installed."""

import http.client
import json
import os
import re
import secrets
import subprocess
import time
import unittest
import urllib.parse

HTTP_TIMEOUT = 30  # seconds for any single HTTP exchange
CLI_TIMEOUT = 60   # seconds for any single aigw-admin run

TOKEN_RE = re.compile(r"^aigw_[A-Za-z0-9_-]{43}$")
REQUEST_ID_RE = re.compile(r"^req_[0-9a-f]{24}$")
APP_ID_RE = re.compile(r"^app_[0-9a-f]{16}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

# The type each status maps to (DECISIONS: error body).
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "upstream_error",
    503: "service_unavailable",
    504: "upstream_error",
}


def env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError("%s is not set: run through tests/integration/run.py "
                           "--env DIR/stack.env" % name)
    return value


def base_url():
    return urllib.parse.urlsplit(env("AIGW_BASE_URL"))


class Response:
    """One HTTP answer: status, headers (case-insensitive get), raw body."""

    def __init__(self, status, headers, body):
        self.status = status
        self._headers = headers  # list of (name, value)
        self.body = body

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self._headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self._headers if k.lower() == name]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        body = self.text
        if len(body) > 600:
            body = body[:600] + "...(%d bytes)" % len(self.body)
        return "<HTTP %s %s headers=%r body=%r>" % (
            self.status, self.header("content-type"), self._headers, body)


def request(method, path, body=None, headers=None, token=None, content_type=None,
            timeout=HTTP_TIMEOUT, chunked=False, conn=None):
    """Sends one request on a fresh connection and reads the whole answer.
    body may be bytes, str, or a JSON-able object (then Content-Type defaults
    to application/json). A server that answers before reading the whole body
    (413) and resets the connection still yields its answer when possible.
    chunked sends the body with Transfer-Encoding: chunked; conn reuses a
    kept-alive connection (the caller closes it)."""
    u = base_url()
    hdrs = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        if content_type is None:
            content_type = "application/json"
    if isinstance(body, str):
        body = body.encode("utf-8")
    if content_type is not None:
        hdrs["Content-Type"] = content_type
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    own = conn is None
    if own:
        conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        if body is not None and chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        elif body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        send_error = None
        if body is not None and chunked:
            for off in range(0, len(body), 7):
                piece = body[off:off + 7]
                conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
            conn.send(b"0\r\n\r\n")
        elif body:
            try:
                view = memoryview(body)
                for off in range(0, len(body), 65536):
                    conn.send(view[off:off + 65536])
            except (BrokenPipeError, ConnectionResetError) as e:
                send_error = e  # the server may have answered early: read it
        try:
            resp = conn.getresponse()
            data = resp.read()
        except (ConnectionResetError, http.client.RemoteDisconnected) as e:
            if send_error is not None:
                raise AssertionError("%s %s: connection closed while sending the "
                                     "body (%r) and no answer could be read (%r)"
                                     % (method, path, send_error, e))
            raise
        return Response(resp.status, resp.getheaders(), data)
    finally:
        if own:
            conn.close()


def connection(timeout=HTTP_TIMEOUT):
    """A persistent HTTP/1.1 connection to the stack (caller closes it)."""
    u = base_url()
    return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)


def config_path(app_id):
    return "/v1/%s/ai/config" % app_id


def get_config(app_id, token):
    return request("GET", config_path(app_id), token=token)


def put_config(app_id, token, body, **kw):
    return request("PUT", config_path(app_id), body=body, token=token, **kw)


# ---- aigw-admin -------------------------------------------------------------

class CliResult:
    def __init__(self, args, rc, out, err):
        self.args, self.rc, self.out, self.err = args, rc, out, err

    def __repr__(self):
        return "<aigw-admin %s: exit %s stdout=%r stderr=%r>" % (
            " ".join(self.args), self.rc, self.out, self.err)


def admin(*args, timeout=CLI_TIMEOUT):
    """Runs aigw-admin with the stack's config; returns a CliResult."""
    cmd = [env("AIGW_ADMIN"), "--config", env("AIGW_CONFIG")] + list(args)
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout)
    return CliResult(list(args), p.returncode, p.stdout.decode("utf-8", "replace"),
                     p.stderr.decode("utf-8", "replace"))


def admin_ok(*args):
    r = admin(*args)
    if r.rc != 0:
        raise AssertionError("aigw-admin failed: %r" % r)
    return r.out


def unique_id(prefix="t"):
    return "%s_%s" % (prefix, secrets.token_hex(8))


def create_app(app_id=None, plan=None, name=None):
    """Creates an app through the CLI and returns its id (from stdout)."""
    args = ["app", "create"]
    if app_id is None:
        app_id = unique_id("it")
    args += ["--id", app_id]
    if plan:
        args += ["--plan", plan]
    if name:
        args += ["--name", name]
    out = admin_ok(*args)
    got = out.strip()
    if got != app_id:
        raise AssertionError("app create printed %r, expected %r" % (out, app_id))
    return app_id


def create_key(app_id, role="client", name=None):
    args = ["key", "create", "--app", app_id, "--role", role]
    if name:
        args += ["--name", name]
    out = admin_ok(*args)
    token = out.strip()
    if not TOKEN_RE.match(token):
        raise AssertionError("key create printed %r, not a token" % out)
    return token


def app_with_admin_key():
    app_id = create_app()
    return app_id, create_key(app_id, "admin")


def parse_table(out):
    """Parses `header\\nrow\\t...` CLI output into (header, rows)."""
    lines = [l for l in out.split("\n") if l != ""]
    if not lines:
        return None, []
    return lines[0], [l.split("\t") for l in lines[1:]]


def key_rows(app_id):
    _, rows = parse_table(admin_ok("key", "list", "--app", app_id))
    return rows


def key_id_of(app_id, token):
    """The key id whose display prefix is the token's first 12 characters."""
    for row in key_rows(app_id):
        if len(row) >= 4 and row[3] == token[:12]:
            return row[0]
    raise AssertionError("no key with prefix %r in key list of %s" % (token[:12], app_id))


def conf_values():
    """The stack's aigw.conf as a dict (`key = value` lines)."""
    values = {}
    with open(env("AIGW_CONFIG")) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            k, sep, v = line.partition("=")
            if sep:
                values[k.strip()] = v.strip()
    return values


def conf_value(name, default):
    """One setting of the stack's aigw.conf, or its documented default."""
    return conf_values().get(name, default)


def auth_cache_ttl():
    """auth_cache_ttl_s: how long a revoked key may still be accepted."""
    return int(conf_value("auth_cache_ttl_s", "2"))


def wait_status(fn, status, timeout, interval=0.25):
    """Calls fn (returning a Response) until it answers `status` or timeout
    seconds pass; returns the last Response either way."""
    deadline = time.monotonic() + timeout
    while True:
        r = fn()
        if r.status == status or time.monotonic() >= deadline:
            return r
        time.sleep(interval)


# ---- assertions -------------------------------------------------------------

class GatewayTest(unittest.TestCase):
    maxDiff = 4000

    def assertRequestId(self, r):
        rid = r.header("x-request-id")
        self.assertIsNotNone(rid, "no x-request-id: %r" % r)
        self.assertRegex(rid, REQUEST_ID_RE)

    def assertJsonType(self, r):
        ct = r.header("content-type") or ""
        self.assertEqual(ct.split(";")[0].strip().lower(), "application/json",
                         "content type %r: %r" % (ct, r))

    def assertError(self, r, status, param=Ellipsis, message=None, etype=None):
        """The SPEC error shape with code == status; param checked unless Ellipsis."""
        self.assertEqual(r.status, status, "expected %d: %r" % (status, r))
        self.assertJsonType(r)
        self.assertRequestId(r)
        try:
            body = r.json()
        except ValueError:
            self.fail("error body is not JSON: %r" % r)
        self.assertIsInstance(body, dict, repr(r))
        self.assertIn("error", body, repr(r))
        err = body["error"]
        self.assertIsInstance(err, dict, repr(r))
        self.assertEqual(set(err), {"message", "type", "param", "code"}, repr(r))
        self.assertIsInstance(err["message"], str)
        self.assertTrue(err["message"], "empty message: %r" % r)
        self.assertEqual(err["type"], etype or ERROR_TYPES[status], repr(r))
        self.assertIs(type(err["code"]), int, "code is not an integer: %r" % r)
        self.assertEqual(err["code"], status, repr(r))
        self.assertTrue(err["param"] is None or isinstance(err["param"], str), repr(r))
        if param is not Ellipsis:
            self.assertEqual(err["param"], param, repr(r))
        if message is not None:
            self.assertEqual(err["message"], message, repr(r))
        return err

    def assertOkJson(self, r, status=200):
        self.assertEqual(r.status, status, repr(r))
        self.assertJsonType(r)
        self.assertRequestId(r)
        return r.json()
