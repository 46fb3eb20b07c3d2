"""Helpers for tests that drive the OpenRouter simulator (stdlib only): start/stop it on
a free port, use its control API, and parse what goes over the wire (SSE events,
chunked bodies).  Used by test_sim.py; integration tests may import it too:

    sys.path.insert(0, "tests/sim"); from sim_client import SimProcess
    sim = SimProcess().start(); sim.queue("error_429"); ...; sim.stop()
"""

import http.client
import json
import os
import re
import signal
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"


class SimProcess:
    """A simulator child process.  start() returns self once it listens."""

    def __init__(self, host="127.0.0.1", port=0, models=None, log_path=None):
        self.host, self.port, self.models = host, port, models
        self.log_path = log_path
        self.proc = None
        self.log = None

    def start(self, timeout=10):
        cmd = [PYTHON, os.path.join(HERE, "openrouter_sim.py"), "--host", self.host,
               "--port", str(self.port)]
        if self.models:
            cmd += ["--models", self.models]
        # stderr gets a line per request: a file, never an unread pipe.
        self.log = open(self.log_path, "w+") if self.log_path else tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.monotonic() + timeout
        line = self.proc.stdout.readline()
        m = re.match(r"listening on (\S+):(\d+)$", line.strip())
        if not m or time.monotonic() > deadline:
            self.stop()
            raise RuntimeError("simulator did not start: %r\n%s" % (line, self.log_text()))
        self.port = int(m.group(2))
        return self

    @property
    def base_url(self):
        """The upstream base URL to configure in the gateway."""
        return "http://%s:%d/api/v1" % (self.host, self.port)

    def stop(self):
        """SIGTERM, wait; returns the exit code (0 on a clean stop)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def log_text(self):
        if self.log is None:
            return ""
        self.log.seek(0)
        return self.log.read()

    # -- control API ---------------------------------------------------------------
    def control(self, method, path, body=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            data = json.dumps(body) if body is not None else None
            conn.request(method, path, body=data,
                         headers={"Content-Type": "application/json"} if data else {})
            resp = conn.getresponse()
            raw = resp.read()
            if resp.status != 200:
                raise RuntimeError("%s %s -> %d %s" % (method, path, resp.status, raw[:200]))
            return json.loads(raw)
        finally:
            conn.close()

    def requests(self, since=0):
        return self.control("GET", "/_sim/requests?since=%d" % since)

    def last_seq(self):
        log = self.requests()
        return log[-1]["seq"] if log else 0

    def clear_requests(self):
        return self.control("DELETE", "/_sim/requests")

    def queue(self, scenario, options=None, count=1, endpoint=None):
        entry = {"scenario": scenario, "options": options or {}, "count": count}
        if endpoint is not None:
            entry["endpoint"] = endpoint
        return self.control("POST", "/_sim/scenario", entry)

    def clear_queue(self):
        return self.control("DELETE", "/_sim/scenario")

    def totals(self):
        return self.control("GET", "/_sim/totals")

    def reset(self):
        return self.control("POST", "/_sim/reset")

    def wait_for(self, predicate, since=0, timeout=5.0, interval=0.02):
        """The first logged request (seq > since) for which predicate(entry) is true,
        polling up to timeout seconds; None if none."""
        deadline = time.monotonic() + timeout
        while True:
            for e in self.requests(since):
                if predicate(e):
                    return e
            if time.monotonic() >= deadline:
                return None
            time.sleep(interval)


# -- wire parsing ----------------------------------------------------------------------
def dechunk(raw):
    """(payload, chunk sizes, terminated) of a chunked HTTP body."""
    out, sizes, pos = b"", [], 0
    while pos < len(raw):
        eol = raw.find(b"\r\n", pos)
        if eol < 0:
            break
        size = int(raw[pos:eol].split(b";")[0], 16)
        if size == 0:
            return out, sizes, True
        out += raw[eol + 2:eol + 2 + size]
        sizes.append(size)
        pos = eol + 2 + size + 2
    return out, sizes, False


def sse_events(text):
    """Events of an SSE text: [{"comments": [...], "data": str or None}], comment-only
    blocks included; lines may end in \\n or \\r\\n."""
    events, cur = [], {"comments": [], "data": None}
    for line in re.split(r"\r\n|\n", text):
        if line == "":
            if cur["comments"] or cur["data"] is not None:
                events.append(cur)
            cur = {"comments": [], "data": None}
        elif line.startswith(":"):
            cur["comments"].append(line[1:].strip())
        elif line.startswith("data:"):
            value = line[5:][1:] if line[5:6] == " " else line[5:]
            cur["data"] = value if cur["data"] is None else cur["data"] + "\n" + value
    if cur["comments"] or cur["data"] is not None:
        events.append(cur)
    return events


def sse_json(events):
    """The JSON objects of the data events (not [DONE])."""
    return [json.loads(e["data"]) for e in events if e["data"] not in (None, "[DONE]")]
