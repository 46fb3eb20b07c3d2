#!/usr/bin/python3
"""OpenRouter simulator for aigw's tests and `deploy/stack up --upstream mock`: the
OpenRouter API under /api/v1 (deterministic answers, exact costs, scripted failure
scenarios) plus a control API under /_sim/.  See tests/sim/README.md.

    /usr/bin/python3 tests/sim/openrouter_sim.py --host 127.0.0.1 --port P [--models F]
"""

import argparse
import json
import os
import signal
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sim_api  # noqa: E402
import sim_chat  # noqa: E402
import sim_data  # noqa: E402
import sim_scenarios  # noqa: E402
from sim_call import Call  # noqa: E402
from sim_state import State, valid_endpoints  # noqa: E402
from sim_wire import ClientGone  # noqa: E402

MAX_BODY = 64 * 1024 * 1024
LOG_BODY_MAX = 4 * 1024 * 1024
API = "/api/v1"

# path -> (method, endpoint name)
ROUTES = {
    API + "/chat/completions": ("POST", "chat"),
    API + "/embeddings": ("POST", "embeddings"),
    API + "/models": ("GET", "models"),
    API + "/generation": ("GET", "generation"),
    API + "/key": ("GET", "key"),
    API + "/auth/key": ("GET", "key"),
}
MODEL_PREFIX = API + "/model/"

CORS = [("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS"),
        ("Access-Control-Allow-Headers",
         "Authorization, Content-Type, Accept, HTTP-Referer, X-Title, X-OpenRouter-Title")]


def log(msg):
    sys.stderr.write("openrouter-sim: %s\n" % msg)
    sys.stderr.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "openrouter-sim/1.0"
    sys_version = ""
    timeout = 900  # idle keep-alive connections are dropped after this

    def setup(self):
        super().setup()
        # Each event is its own write; do not let Nagle merge them.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):  # per-request lines come from dispatch()
        pass

    def log_error(self, fmt, *args):
        log(fmt % args)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_OPTIONS = \
        lambda self: self.dispatch()

    # -- plumbing -----------------------------------------------------------------
    def read_body(self):
        """The request body (Content-Length or chunked); None after answering 413/400."""
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            parts, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.plain(400, {"error": {"code": 400, "message": "bad chunk"}}, True)
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                total += size
                if total > MAX_BODY:
                    self.plain(413, {"error": {"code": 413, "message": "body too large"}}, True)
                    return None
                parts.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            self.plain(400, {"error": {"code": 400, "message": "bad Content-Length"}}, True)
            return None
        if n > MAX_BODY:
            self.plain(413, {"error": {"code": 413, "message": "body too large"}}, True)
            return None
        return self.rfile.read(n)

    def plain(self, status, obj, close=False, extra=()):
        data = (obj if isinstance(obj, str) else json.dumps(obj)).encode("utf-8")
        self.send_response(status, sim_scenarios.REASONS.get(status))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra:
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def dispatch(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        body = self.read_body()
        if body is None:
            return
        self.raw_body = body
        try:
            if url.path == "/_sim" or url.path.startswith("/_sim/"):
                self.control(url.path, query, body)
            elif self.command == "OPTIONS":
                self.send_response(204)
                for name, value in CORS:
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.api(url.path, query, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -- the OpenRouter API ---------------------------------------------------------
    def api(self, path, query, body):
        state, models = self.server.state, self.server.models
        method, endpoint = ROUTES.get(path, (None, None))
        if endpoint is None and path.startswith(MODEL_PREFIX):
            method, endpoint = "GET", "models"  # one model: /model/{author}/{slug}
        headers = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = headers[name] + ", " + value if name in headers else value
        logged = None
        if body:
            if len(body) > LOG_BODY_MAX:
                logged = {"_truncated": True, "size": len(body)}
            else:
                try:
                    logged = json.loads(body.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    logged = body.decode("utf-8", "replace")
        entry = state.begin(self.command, self.path, headers, logged, endpoint)
        call = Call(self, state, models, endpoint, entry)
        try:
            if endpoint is None:
                call.send_error(404, "Not Found: %s" % path)
            elif self.command != method:
                call.send_error(405, "Method %s not allowed on %s" % (self.command, path),
                                headers=[("Allow", method)])
            elif endpoint == "chat":
                sim_chat.handle(call)
            elif endpoint == "embeddings":
                sim_api.embeddings(call)
            elif endpoint == "models":
                sim_api.models(call, query, path[len(MODEL_PREFIX):]
                               if path.startswith(MODEL_PREFIX) else None)
            elif endpoint == "generation":
                sim_api.generation(call, query)
            else:
                sim_api.key(call)
        except ClientGone:
            call.on_client_gone()
        finally:
            state.update(entry, ended=time.monotonic())
            e = entry
            log("%s %s %s scenario=%s stream=%d gen=%s cost=%s outcome=%s %dms" % (
                e["method"], path, e["status"], e["scenario"], e["stream"],
                e["generation_id"], e["cost"], e["outcome"],
                (e["ended"] - e["started"]) * 1000))

    # -- control API ------------------------------------------------------------------
    def control(self, path, query, body):
        state = self.server.state
        m = self.command
        if path == "/_sim/health" and m == "GET":
            self.plain(200, {"ok": True})
        elif path == "/_sim/requests" and m == "GET":
            since = int((query.get("since") or ["0"])[0] or 0)
            self.plain(200, state.requests_json(since))
        elif path == "/_sim/requests" and m == "DELETE":
            self.plain(200, {"cleared": state.clear_requests()})
        elif path == "/_sim/totals" and m == "GET":
            self.plain(200, state.totals())
        elif path == "/_sim/scenario" and m == "GET":
            self.plain(200, state.queue_json())
        elif path == "/_sim/scenario" and m == "DELETE":
            self.plain(200, {"cleared": state.clear_queue()})
        elif path == "/_sim/scenario" and m == "POST":
            self.queue_post(body)
        elif path == "/_sim/generations" and m == "GET":
            self.plain(200, state.generations_dump())
        elif path == "/_sim/generations" and m == "DELETE":
            self.plain(200, {"cleared": state.clear_generations()})
        elif path == "/_sim/reset" and m == "POST":
            self.plain(200, {"requests": state.clear_requests(), "queue": state.clear_queue(),
                             "generations": state.clear_generations()})
        else:
            self.plain(404, {"error": {"code": 404, "message": "no control route %s %s"
                                       % (m, path)}})

    def queue_post(self, body):
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            doc = None
        items = doc if isinstance(doc, list) else [doc]
        checked = []
        for it in items:
            if not isinstance(it, dict) or not isinstance(it.get("scenario"), str):
                return self.plain(400, {"error": {"code": 400,
                                                  "message": "expected {\"scenario\": ...}"}})
            name = it["scenario"]
            opts = it.get("options") or {}
            count = it.get("count", 1)
            if not sim_scenarios.known(name) or not isinstance(opts, dict) \
                    or not isinstance(count, int) or count < 1:
                return self.plain(400, {"error": {"code": 400, "message":
                                                  "bad scenario entry %r" % (it,)}})
            try:
                endpoints = valid_endpoints(it.get("endpoint"), name)
            except ValueError as exc:
                return self.plain(400, {"error": {"code": 400, "message": str(exc)}})
            checked.append((name, opts, count, endpoints))
        queued = 0
        for name, opts, count, endpoints in checked:
            queued = self.server.state.enqueue(name, opts, count, endpoints)
        self.plain(200, {"queued": queued})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="OpenRouter simulator for aigw tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--models", default=os.path.join(here, "models.json"))
    ap.add_argument("--max-log", type=int, default=10000,
                    help="requests kept in /_sim/requests (oldest dropped)")
    args = ap.parse_args(argv)
    models = sim_data.ModelTable(args.models)
    server = Server((args.host, args.port), Handler)
    server.state = State(max_log=args.max_log)
    server.models = models

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    log("%d models from %s" % (len(models.by_id), args.models))
    print("listening on %s:%d" % (host, port), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
