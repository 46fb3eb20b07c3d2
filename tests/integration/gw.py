"""Shared helpers for the integration tests: the stack's environment, HTTP
calls against the real web server, the aigw-admin CLI, and the checks every
error response must pass (README: Calling aigw). Standard library only: this
runs under Debian's /usr/bin/python3 with nothing installed."""

import http.client
import json
import os
import re
import secrets
import shlex
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

# The type each status maps to in the error body.
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


def load_env(path):
    """Reads KEY=VALUE lines (optionally `export`ed, shell-quoted)."""
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("export "):
                line = line[len("export "):]
            key, sep, value = line.partition("=")
            if not sep:
                continue
            try:
                parts = shlex.split(value)
                value = parts[0] if len(parts) == 1 else " ".join(parts)
            except ValueError:
                pass
            os.environ[key.strip()] = value


def env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError("%s is not set: run through tests/integration/run.py "
                           "--env DIR/stack.env" % name)
    return value


def pool_socket():
    """The aigw pool's FastCGI socket, or None when the web server starts the
    aigw.fcgi processes itself (mod_fcgid: one request per process)."""
    path = os.path.join(env("AIGW_DIR"), "run", "aigw", "aigw.sock")
    return path if os.path.exists(path) else None


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


def admin_check(app=None, json_out=False):
    """Runs `aigw-admin check` (the billing and usage invariants, README:
    aigw-admin) and returns (rc, output): 0 clean, 1 drift (one line per
    drift, then the summary), 2 error; output is stdout then stderr. Fault
    tests call it after each fault with their own app: other tests seed
    amounts by hand (test_billing's used_usd), so the whole database need
    not be clean."""
    args = ["check"]
    if app is not None:
        args += ["--app", app]
    if json_out:
        args.append("--json")
    r = admin(*args)
    return r.rc, r.out + r.err


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


# A change made outside a gateway process (SQL, aigw-admin) reaches every
# process's cache within about a second: the change feed is read once a
# second (handlers/app_cache.h). Tests that make such a change wait this long.
CACHE_BOUND_S = 1.5


def wait_for_caches():
    """Waits until a change made in the database is seen by every process."""
    time.sleep(CACHE_BOUND_S)


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
        """The OpenAI error shape with code == status; param checked unless Ellipsis."""
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


# ---- proxied endpoints: simulator, streams, usage rows -------------

APP_ID_SAFE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SIM_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sim")
DEFAULT_OPERATOR_MODEL = "openai/gpt-4o-mini"  # base/conffile.c default_model


def chat_path(app_id):
    return "/v1/%s/chat/completions" % app_id


def embeddings_path(app_id):
    return "/v1/%s/embeddings" % app_id


def proxy_app(plan="enterprise"):
    """A fresh app with an admin and a client key: (app_id, admin, client).
    Enterprise by default so that credit checks stay out of the way
    of tests about proxying and recording."""
    app_id = create_app(plan=plan)
    return app_id, create_key(app_id, "admin"), create_key(app_id, "client")


def sim_url():
    """The simulator's base URL (without /api/v1): AIGW_SIM_URL of stack.env."""
    return env("AIGW_SIM_URL").rstrip("/")


def sim_control(method, path, body=None, timeout=HTTP_TIMEOUT):
    """One call to the simulator's control API (/_sim/...); returns the JSON."""
    u = urllib.parse.urlsplit(sim_url())
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode("utf-8")
        hdrs = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        if resp.status != 200:
            raise AssertionError("simulator %s %s: HTTP %d %r" % (method, path, resp.status,
                                                                  raw[:300]))
        return json.loads(raw.decode("utf-8"))
    finally:
        conn.close()


def sim_requests(since=0):
    """The simulator's log entries with seq > since, oldest first."""
    return sim_control("GET", "/_sim/requests?since=%d" % since)


def sim_last_seq():
    entries = sim_requests()
    return entries[-1]["seq"] if entries else 0


def sim_api_requests(since, endpoint=None):
    """Log entries after `since` for the proxied endpoints (chat, embeddings),
    leaving out the gateway's own /generation and /models lookups."""
    wanted = {endpoint} if endpoint else {"chat", "embeddings"}
    return [e for e in sim_requests(since) if e.get("endpoint") in wanted]


def sim_wait(predicate, since=0, timeout=5.0, interval=0.05):
    """Polls the simulator's log until an entry after `since` satisfies
    predicate; returns it, or None after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        for e in sim_requests(since):
            if predicate(e):
                return e
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def sim_entry_cost(entry):
    """What the simulator says it billed for one request, as a Decimal: the
    generation record's cost, else the usage.cost it sent, else 0."""
    from decimal import Decimal
    for field in ("billed_cost", "cost"):
        if entry.get(field) is not None:
            return Decimal(entry[field])
    return Decimal(0)


def sim_module(name):
    """Imports one of the simulator's modules (e.g. sim_data: WORDS, vectors)."""
    import importlib
    import sys
    if SIM_DIR not in sys.path:
        sys.path.insert(0, SIM_DIR)
    return importlib.import_module(name)


# ---- database (read-only checks) -------------------------------------------

_db_user = []  # the user that worked, once known


def db_query(sql, timeout=60):
    """Runs one SQL statement on the stack's database over AIGW_DB_SOCKET, as
    root (unix-socket auth) or else as the aigw user; returns the rows as
    dicts of strings (None for NULL). Callers interpolate only values they
    checked (app ids, generation ids)."""
    sock = env("AIGW_DB_SOCKET")
    name = env("AIGW_DB_NAME")
    conf = conf_values()
    with_password = dict(os.environ)
    if conf.get("db_password"):
        with_password["MYSQL_PWD"] = conf["db_password"]
    attempts = [("root", os.environ), (conf.get("db_user", "aigw"), with_password)]
    if _db_user:
        attempts = [a for a in attempts if a[0] == _db_user[0]]
    errors = []
    for user, environ in attempts:
        cmd = ["mariadb", "--socket=" + sock, "--user=" + user, "--batch",
               "--default-character-set=utf8mb4", "-e", sql, name]
        p = subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL,
                           timeout=timeout, env=environ)
        if p.returncode == 0:
            if not _db_user:
                _db_user.append(user)
            return _parse_batch(p.stdout.decode("utf-8"))
        errors.append(p.stderr.decode("utf-8", "replace"))
    raise AssertionError("mariadb query failed: %r: %r" % (sql, errors))


def _parse_batch(out):
    lines = out.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return []
    names = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        values = [None if v == "NULL" else
                  v.replace("\\t", "\t").replace("\\n", "\n").replace("\\\\", "\\")
                  for v in line.split("\t")]
        rows.append(dict(zip(names, values)))
    return rows


def _checked_app(app_id):
    if not APP_ID_SAFE_RE.match(app_id):
        raise AssertionError("unexpected app id %r" % app_id)
    return app_id


def usage_rows(app_id):
    """Every usage_requests row of the app, in recording order."""
    return db_query("SELECT * FROM usage_requests WHERE app_id = '%s' ORDER BY id"
                    % _checked_app(app_id))


def usage_daily(app_id):
    return db_query("SELECT * FROM usage_daily WHERE app_id = '%s' ORDER BY day, model, is_byok"
                    % _checked_app(app_id))


def wait_usage_rows(app_id, count, timeout=10.0, interval=0.1):
    """Polls until the app has at least `count` usage rows (they are written
    after the answer ends); returns the rows found at the end either way."""
    deadline = time.monotonic() + timeout
    while True:
        rows = usage_rows(app_id)
        if len(rows) >= count or time.monotonic() >= deadline:
            return rows
        time.sleep(interval)


def wait_usage_row(app_id, predicate, timeout=10.0, interval=0.1):
    """Polls until one of the app's usage rows satisfies predicate; returns it or None."""
    deadline = time.monotonic() + timeout
    while True:
        for row in usage_rows(app_id):
            if predicate(row):
                return row
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


# ---- streams ----------------------------------------------------------------

class SseEvent:
    """One server-sent event as the client saw it: kind "data" (the data
    lines joined by \\n) or "comment" (a comment block's text without the
    colon), and the monotonic time its last line arrived."""

    def __init__(self, kind, text, t):
        self.kind, self.text, self.t = kind, text, t

    def json(self):
        return json.loads(self.text)

    def __repr__(self):
        text = self.text if len(self.text) <= 200 else self.text[:200] + "..."
        return "<%s %r>" % (self.kind, text)


class Stream:
    """A POST whose answer is read line by line as it arrives. open() sends
    the request and reads the head; events() yields SseEvents until the end
    (or a read error, kept in .error); close() drops the connection, as a
    client that goes away would."""

    def __init__(self, path, body, token, headers=None, timeout=HTTP_TIMEOUT):
        self.path, self.body, self.token = path, body, token
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.conn = self.resp = None
        self.status = None
        self.raw_lines = []
        self.error = None       # exception that ended the reading, if any
        self.clean_end = False  # the body ended properly (EOF, not an error)

    def open(self):
        u = base_url()
        self.conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=self.timeout)
        data = json.dumps(self.body).encode("utf-8")
        hdrs = {"Content-Type": "application/json", "Authorization": "Bearer " + self.token,
                "Content-Length": str(len(data))}
        hdrs.update(self.headers)
        self.conn.request("POST", self.path, body=data, headers=hdrs)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.t_head = time.monotonic()
        return self

    def header(self, name, default=None):
        return self.resp.getheader(name, default)

    def read_rest(self):
        """The whole body (for non-stream answers such as errors) as a Response."""
        data = self.resp.read()
        return Response(self.resp.status, self.resp.getheaders(), data)

    def events(self):
        data_lines, comment_lines = [], []
        while True:
            try:
                line = self.resp.readline()
            except Exception as e:  # IncompleteRead, reset, timeout...
                self.error = e
                return
            now = time.monotonic()
            if not line:
                self.clean_end = True
                if data_lines:
                    yield SseEvent("data", "\n".join(data_lines), now)
                return
            self.raw_lines.append(line)
            text = line.decode("utf-8", "replace")
            if text.endswith("\n"):
                text = text[:-1]
            if text.endswith("\r"):
                text = text[:-1]
            if text == "":
                if data_lines:
                    yield SseEvent("data", "\n".join(data_lines), now)
                elif comment_lines:
                    yield SseEvent("comment", "\n".join(comment_lines), now)
                data_lines, comment_lines = [], []
            elif text.startswith(":"):
                comment_lines.append(text[1:].lstrip(" "))
            elif text.startswith("data:"):
                value = text[5:]
                data_lines.append(value[1:] if value.startswith(" ") else value)
            else:
                data_lines.append(text)  # not SSE: kept so a test sees it

    def read_all(self):
        return list(self.events())

    def close(self):
        if self.conn is not None:
            try:
                self.conn.sock and self.conn.sock.shutdown(2)
            except OSError:
                pass
            if self.resp is not None:
                self.resp.close()
            self.conn.close()
            self.conn = None


def stream(path, body, token, headers=None, timeout=HTTP_TIMEOUT):
    """Opens a Stream (see there); the caller closes it."""
    return Stream(path, body, token, headers, timeout).open()


def decimal_json(r):
    """The JSON body with every non-integer number as a Decimal (exact costs)."""
    from decimal import Decimal
    return json.loads(r.body.decode("utf-8"), parse_float=Decimal)


class ProxyTest(GatewayTest):
    """Base for tests of the proxied endpoints: a fresh enterprise app with an
    admin and a client key, and the simulator log position at the start, so
    each test looks only at what it caused."""

    def setUp(self):
        self.app_id, self.admin, self.client = proxy_app()
        self.seq = sim_last_seq()

    def chat(self, body, headers=None, token=None, **kw):
        return request("POST", chat_path(self.app_id), body=body, headers=headers,
                       token=token or self.client, **kw)

    def embed(self, body, headers=None, token=None, **kw):
        return request("POST", embeddings_path(self.app_id), body=body, headers=headers,
                       token=token or self.client, **kw)

    def stream(self, body, headers=None, timeout=HTTP_TIMEOUT):
        body = dict(body, stream=True)
        s = stream(chat_path(self.app_id), body, self.client, headers, timeout)
        self.addCleanup(s.close)
        return s

    def configure(self, body):
        r = put_config(self.app_id, self.admin, body)
        self.assertEqual(r.status, 200, repr(r))
        return r.json()

    def upstream_calls(self, endpoint=None):
        """The chat/embeddings requests the simulator received since setUp."""
        return sim_api_requests(self.seq, endpoint)

    def one_upstream_call(self, endpoint=None):
        calls = self.upstream_calls(endpoint)
        self.assertEqual(len(calls), 1, "expected one upstream request, got %r" % calls)
        return calls[0]

    def finished_call(self, generation_id, timeout=5.0):
        """The simulator's entry for a generation once it has ended."""
        e = sim_wait(lambda e: e.get("generation_id") == generation_id and
                     e.get("ended") is not None, self.seq, timeout)
        self.assertIsNotNone(e, "the simulator has no finished request %s" % generation_id)
        return e

    def row_for(self, generation_id=None, request_id=None, timeout=10.0):
        """The app's usage row for a generation id (or request id), waited for."""
        def match(row):
            if request_id is not None:
                return row["request_id"] == request_id
            return row["generation_id"] == generation_id
        row = wait_usage_row(self.app_id, match, timeout)
        self.assertIsNotNone(row, "no usage row for %s within %.0fs; rows: %r"
                             % (generation_id or request_id, timeout,
                                usage_rows(self.app_id)))
        return row

    def assertUpstreamError(self, r, status, message=None):
        """Our error shape for an upstream error: the status kept, integer
        code, param null, the upstream's message kept, optional metadata."""
        self.assertEqual(r.status, status, "expected %d: %r" % (status, r))
        self.assertJsonType(r)
        self.assertRequestId(r)
        try:
            body = r.json()
        except ValueError:
            self.fail("error body is not JSON: %r" % r)
        self.assertIsInstance(body, dict, repr(r))
        err = body.get("error")
        self.assertIsInstance(err, dict, repr(r))
        self.assertTrue({"message", "type", "param", "code"} <= set(err), repr(r))
        self.assertTrue(set(err) <= {"message", "type", "param", "code", "metadata"}, repr(r))
        self.assertIs(type(err["code"]), int, "code is not an integer: %r" % r)
        self.assertEqual(err["code"], status, repr(r))
        self.assertIsNone(err["param"], repr(r))
        self.assertIsInstance(err["type"], str)
        self.assertTrue(err["type"], repr(r))
        if status in ERROR_TYPES:
            self.assertEqual(err["type"], ERROR_TYPES[status], repr(r))
        self.assertIsInstance(err["message"], str)
        self.assertTrue(err["message"], repr(r))
        if message is not None:
            self.assertEqual(err["message"], message, repr(r))
        return err
