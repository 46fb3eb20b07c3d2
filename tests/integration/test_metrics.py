"""GET /v1/metrics: every line of the scrape is valid Prometheus text
exposition; the counters rise by exactly the requests made, spread over the
pool's processes; the histograms count the upstream calls and streams;
metrics_token protects it; log_format = json gives one JSON object per line
with the request's fields. The token and JSON cases change aigw.conf and
reload the stack (deploy/stack reload), and put both back at the end."""

import glob
import json
import math
import os
import re
import subprocess
import threading
import time

import gw
from gw import request

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_VALUE = r'(?:[^"\\\n]|\\[\\"n])*'
LABELS = r"\{(?:[a-zA-Z_][a-zA-Z0-9_]*=\"%s\"(?:,[a-zA-Z_][a-zA-Z0-9_]*=\"%s\")*)?\}" % (
    LABEL_VALUE, LABEL_VALUE)
VALUE = r"(?:[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?Inf|NaN)"
SAMPLE_RE = re.compile(r"^(%s)(%s)? (%s)(?: -?\d+)?$" % (NAME, LABELS, VALUE))
HELP_RE = re.compile(r"^# HELP (%s) (?:[^\\\n]|\\[\\n])*$" % NAME)
TYPE_RE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % NAME)
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="(%s)"' % LABEL_VALUE)
M_MINI = "openai/gpt-4o-mini"
M_EMB = "openai/text-embedding-3-small"
MESSAGES = [{"role": "user", "content": "hi"}]
RELOAD_WITHIN = 60


def parse_exposition(test, text):
    """Checks every line strictly; returns {(name, ((label, value), ...)): float}."""
    samples, types = {}, {}
    test.assertTrue(text.endswith("\n"), "the scrape does not end with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("#"):
            m = HELP_RE.match(line) or TYPE_RE.match(line)
            test.assertIsNotNone(m, "line %d is not exposition format: %r" % (n, line))
            if m.re is TYPE_RE:
                test.assertNotIn(m.group(1), types, "TYPE twice for %s" % m.group(1))
                types[m.group(1)] = m.group(2)
            continue
        m = SAMPLE_RE.match(line)
        test.assertIsNotNone(m, "line %d is not exposition format: %r" % (n, line))
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        test.assertTrue(name in types or (family in types and types[family] == "histogram"),
                        "line %d: %s has no TYPE before it" % (n, name))
        key = (name, tuple(sorted(LABEL_RE.findall(labels))))
        test.assertNotIn(key, samples, "line %d: the same series twice: %r" % (n, line))
        samples[key] = float(value)
    # histograms: buckets cumulative, +Inf equal to _count
    for (name, labels), v in samples.items():
        if not name.endswith("_count"):
            continue
        base = name[:-len("_count")]
        buckets = sorted(((float(dict(l)["le"]) if dict(l)["le"] != "+Inf" else math.inf), bv)
                         for (bn, l), bv in samples.items()
                         if bn == base + "_bucket"
                         and tuple(x for x in l if x[0] != "le") == labels)
        test.assertTrue(buckets, "no buckets for %s%r" % (base, labels))
        counts = [c for _, c in buckets]
        test.assertEqual(counts, sorted(counts), "buckets of %s%r not cumulative" % (base, labels))
        test.assertEqual(buckets[-1][0], math.inf)
        test.assertEqual(buckets[-1][1], v, "%s%r: +Inf != _count" % (base, labels))
    return samples


def scrape(test, token=None):
    r = request("GET", "/v1/metrics", token=token)
    test.assertEqual(r.status, 200, repr(r))
    test.assertTrue((r.header("content-type") or "").startswith("text/plain; version=0.0.4"),
                    repr(r))
    return parse_exposition(test, r.body.decode("utf-8"))


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def stack(*args):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    prog = os.environ.get("AIGW_STACK_CMD") or os.path.join(root, "deploy", "stack")
    p = subprocess.run([prog] + list(args) + ["--dir", gw.env("AIGW_DIR")],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def log_lines_with(request_id):
    """Every line of the stack's logs that names the request id."""
    out = []
    for path in glob.glob(os.path.join(gw.env("AIGW_DIR"), "log", "*.log")):
        with open(path, errors="replace") as f:
            out += [(path, line.rstrip("\n")) for line in f if request_id in line]
    return out


def run_parallel(calls, width=8):
    """Runs the callables on `width` threads; returns their results in order."""
    results = [None] * len(calls)
    it = iter(range(len(calls)))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                i = next(it, None)
            if i is None:
                return
            try:
                results[i] = calls[i]()
            except Exception as e:  # reported by the caller
                results[i] = e

    threads = [threading.Thread(target=worker) for _ in range(width)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=gw.HTTP_TIMEOUT * 4)
    return results


class MetricsCountTest(gw.ProxyTest):
    def test_scrape_is_valid_exposition(self):
        s = scrape(self)
        self.assertEqual(value(s, "aigw_metrics_host_wide"), 1.0,
                         "the scrape does not cover the host")
        for name in ("aigw_database_errors_total", "aigw_requests_in_flight",
                     "aigw_streams_in_flight", "aigw_usage_queue_depth", "aigw_journal_bytes",
                     "aigw_app_cache_hits_total", "aigw_usage_rows_written_total"):
            self.assertIn((name, ()), s)

    def test_counters_rise_by_exactly_the_requests(self):
        n_chat, n_stream, n_emb, n_models, n_404, n_401 = 24, 6, 5, 10, 7, 4

        def stream_one():
            st = gw.stream(gw.chat_path(self.app_id),
                           {"model": M_MINI, "messages": MESSAGES, "stream": True},
                           self.client)
            try:
                st.read_all()
                return st
            finally:
                st.close()

        calls = ([lambda: self.chat({"model": M_MINI, "messages": MESSAGES})] * n_chat +
                 [stream_one] * n_stream +
                 [lambda: self.embed({"model": M_EMB, "input": "x"})] * n_emb +
                 [lambda: request("GET", "/v1/%s/models" % self.app_id,
                                  token=self.client)] * n_models +
                 [lambda: request("GET", "/v1/no/such/endpoint")] * n_404 +
                 [lambda: request("GET", "/v1/%s/models" % self.app_id)] * n_401)
        before = scrape(self)
        results = run_parallel(calls)
        after = scrape(self)

        bad = [r for r in results if isinstance(r, Exception)]
        self.assertEqual(bad, [])
        statuses = [r.status for r in results]
        self.assertEqual(statuses, [200] * (n_chat + n_stream + n_emb + n_models) +
                         [404] * n_404 + [401] * n_401)

        def delta(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)

        req = "aigw_http_requests_total"
        self.assertEqual(delta(req, endpoint="chat", status="200", plan="enterprise"),
                         n_chat + n_stream)
        self.assertEqual(delta(req, endpoint="embeddings", status="200", plan="enterprise"),
                         n_emb)
        self.assertEqual(delta(req, endpoint="models", status="200", plan="none"), n_models)
        self.assertEqual(delta(req, endpoint="other", status="404", plan="none"), n_404)
        self.assertEqual(delta(req, endpoint="models", status="401", plan="none"), n_401)
        # the first scrape itself, counted once it was answered
        self.assertEqual(delta(req, endpoint="metrics", status="200", plan="none"), 1)
        total = sum(v for (name, _), v in after.items() if name == req) - \
            sum(v for (name, _), v in before.items() if name == req)
        self.assertEqual(total, len(calls) + 1)
        fb = "aigw_upstream_first_byte_seconds_count"
        self.assertEqual(delta(fb, endpoint="chat"), n_chat + n_stream)
        self.assertEqual(delta(fb, endpoint="embeddings"), n_emb)
        self.assertEqual(delta("aigw_time_to_first_token_seconds_count"), n_stream)
        self.assertGreater(delta("aigw_upstream_first_byte_seconds_sum", endpoint="chat"), 0)
        self.assertEqual(value(after, "aigw_streams_in_flight"), 0)

        # spread over the pool: the access lines come from more than one process
        pids = set()
        for r in results[:n_chat]:
            for _, line in log_lines_with(r.header("x-request-id")):
                m = re.search(r"Z (?:INFO|WARN|ERROR|DEBUG) (\d+) req_", line) or \
                    re.search(r'"pid":(\d+)', line)
                if m:
                    pids.add(m.group(1))
        self.assertGreaterEqual(len(pids), 2, "all requests went to one process: %r" % pids)

    def test_access_line_fields(self):
        r = self.chat({"model": M_MINI, "messages": MESSAGES})
        self.assertEqual(r.status, 200, repr(r))
        rid = r.header("x-request-id")
        key_id = gw.key_id_of(self.app_id, self.client)
        lines = []
        for _ in range(40):
            lines = [l for _, l in log_lines_with(rid) if "prompt_tokens" in l]
            if lines:
                break
            time.sleep(0.05)
        self.assertTrue(lines, "no access line for %s" % rid)
        line = lines[0]
        if line[line.find("{"):].startswith('{"time"'):
            return  # a JSON stack: MetricsTokenAndJsonTest checks those
        for want in ("app=%s" % self.app_id, "key_id=%s" % key_id, "model=%s" % M_MINI,
                     "plan=enterprise", "prompt_tokens=", "completion_tokens=", "cost=0.",
                     "streamed=0", "path=/v1/%s/chat/completions" % self.app_id):
            self.assertIn(want, line)
        self.assertNotIn(self.client, line)
        # the web server's access log names the request too (lighttpd
        # buffers its access log and writes it out about once a second)
        servers = []
        for _ in range(100):
            servers = [p for p, _ in log_lines_with(rid) if "access" in os.path.basename(p)]
            if servers:
                break
            time.sleep(0.1)
        self.assertTrue(servers, "the web server's access log lacks %s" % rid)


class MetricsTokenAndJsonTest(gw.ProxyTest):
    """metrics_token and log_format = json, set in aigw.conf and reloaded."""
    TOKEN = "metrics-" + "k" * 24
    ADDED = "\n# test_metrics\nmetrics_token = %s\nlog_format = json\n" % TOKEN

    @classmethod
    def setUpClass(cls):
        cls.conf = gw.env("AIGW_CONFIG")
        with open(cls.conf) as f:
            cls.original = f.read()
        with open(cls.conf, "a") as f:
            f.write(cls.ADDED)
        rc, out = stack("reload")
        if rc != 0:
            cls.restore()
            raise AssertionError("deploy/stack reload failed (%d): %s" % (rc, out))
        # every process answers with the new settings once the old ones are gone
        deadline = time.monotonic() + RELOAD_WITHIN
        while time.monotonic() < deadline:
            if all(request("GET", "/v1/metrics").status == 401 for _ in range(8)):
                break
            time.sleep(0.25)

    @classmethod
    def restore(cls):
        with open(cls.conf, "w") as f:
            f.write(cls.original)
        rc, out = stack("reload")
        if rc != 0:
            raise AssertionError("deploy/stack reload failed (%d): %s" % (rc, out))
        deadline = time.monotonic() + RELOAD_WITHIN
        while time.monotonic() < deadline:
            if all(request("GET", "/v1/metrics").status == 200 for _ in range(8)):
                return
            time.sleep(0.25)
        raise AssertionError("the metrics token still applies after the restore")

    @classmethod
    def tearDownClass(cls):
        cls.restore()

    def test_token_needed(self):
        r = request("GET", "/v1/metrics")
        self.assertError(r, 401)
        self.assertEqual(r.header("www-authenticate"), "Bearer")
        self.assertError(request("GET", "/v1/metrics", token=self.TOKEN + "x"), 401)
        s = scrape(self, token=self.TOKEN)
        self.assertIn(("aigw_metrics_host_wide", ()), s)

    def test_json_log_lines(self):
        r = self.chat({"model": M_MINI, "messages": MESSAGES})
        self.assertEqual(r.status, 200, repr(r))
        rid = r.header("x-request-id")
        key_id = gw.key_id_of(self.app_id, self.client)
        access = None
        for _ in range(40):
            objs = []
            for path, line in log_lines_with(rid):
                if "access" in os.path.basename(path):
                    continue
                start = line.find('{"time"')
                self.assertGreaterEqual(start, 0, "not a JSON line: %r" % line)
                objs.append(json.loads(line[start:]))
            access = [o for o in objs if o.get("msg") == "request"]
            if access:
                break
            time.sleep(0.05)
        self.assertTrue(access, "no JSON access line for %s" % rid)
        o = access[0]
        for k in ("time", "level", "pid"):
            self.assertIn(k, o)
        self.assertEqual(o["request_id"], rid)
        self.assertEqual(o["method"], "POST")
        self.assertEqual(o["path"], "/v1/%s/chat/completions" % self.app_id)
        self.assertEqual(o["status"], 200)
        self.assertIsInstance(o["duration_us"], int)
        self.assertEqual(o["app"], self.app_id)
        self.assertEqual(o["key_id"], int(key_id))
        self.assertEqual(o["plan"], "enterprise")
        self.assertEqual(o["model"], M_MINI)
        self.assertGreater(o["prompt_tokens"], 0)
        self.assertGreater(o["completion_tokens"], 0)
        self.assertRegex(o["cost"], r"^\d+\.\d+$")
        self.assertIs(o["streamed"], False)
        self.assertNotIn(self.client, json.dumps(o))
