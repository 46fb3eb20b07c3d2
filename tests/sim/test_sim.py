#!/usr/bin/python3
"""Self-tests of the OpenRouter simulator: starts it on a free port and checks every
scenario's wire shape, exact costs, the control API, abort detection and pacing.
Run: /usr/bin/python3 tests/sim/test_sim.py   (last line: "N passed, N failed")."""

import base64
import http.client
import json
import os
import re
import socket
import struct
import sys
import time
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sim_client import SimProcess, dechunk, sse_events, sse_json  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "sk-or-v1-selftest-0123456789"
BYOK = "sk-or-byok-selftest-abcdef"
MODELS = {m["id"]: m for m in json.load(open(os.path.join(HERE, "models.json")))["data"]}
WORDS = ["Hello", " from", " the", " OpenRouter", " simulator", ":", " a",
         " deterministic", " answer", " made", " of", " one", " word", " per",
         " delta", "."]
MSG = [{"role": "user", "content": "Hello there, simulator!"}]  # 23 chars -> 6 tokens
SIM = {}


def start_sim():
    SIM["sim"] = sim = SimProcess().start()
    SIM["port"] = sim.port


# -- helpers -------------------------------------------------------------------------
def call(method, path, body=None, key=KEY, headers=None, conn=None):
    """(status, headers with lowercase names, raw body bytes)."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", SIM["port"], timeout=10)
    h = {"Content-Type": "application/json"}
    if key:
        h["Authorization"] = "Bearer " + key
    h.update(headers or {})
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    conn.request(method, path, body=data, headers=h)
    resp = conn.getresponse()
    raw = resp.read()
    hdrs = {k.lower(): v for k, v in resp.getheaders()}
    if own:
        conn.close()
    return resp.status, hdrs, raw


def chat(body, **kw):
    body = dict(body)
    body.setdefault("messages", MSG)
    body.setdefault("model", "openai/gpt-4o-mini")
    return call("POST", "/api/v1/chat/completions", body, **kw)


def ctl(method, path, body=None):
    status, _, raw = call(method, path, body, key=None)
    return status, json.loads(raw) if raw else None


def raw_request(body, path="/api/v1/chat/completions", timeout=10):
    """Sends a request with Connection: close on a raw socket and reads to EOF.
    Returns (status, headers, raw body bytes)."""
    data = json.dumps(body).encode()
    s = socket.create_connection(("127.0.0.1", SIM["port"]), timeout=timeout)
    s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
              b"Content-Type: application/json\r\nConnection: close\r\n"
              b"Content-Length: %d\r\n\r\n" % (path.encode(), KEY.encode(), len(data)) + data)
    buf = b""
    while True:
        piece = s.recv(65536)
        if not piece:
            break
        buf += piece
    s.close()
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), hdrs, rest


def stream(body, **kw):
    """(status, headers, events, raw text) of a streamed chat via http.client."""
    body = dict(body, stream=True)
    status, hdrs, raw = chat(body, **kw)
    text = raw.decode()
    return status, hdrs, sse_events(text), text


datas = sse_json


def price_cost(model, prompt, completion):
    p = MODELS[model]["pricing"]
    return Decimal(p["prompt"]) * prompt + Decimal(p["completion"]) * completion


def cost_texts(raw):
    return re.findall(rb'"cost":(-?[0-9][0-9.eE+-]*)', raw)


def requests_log(since=0):
    return ctl("GET", "/_sim/requests?since=%d" % since)[1]


def last_seq():
    log = requests_log()
    return log[-1]["seq"] if log else 0


class SimTest(unittest.TestCase):
    def setUp(self):
        ctl("DELETE", "/_sim/scenario")

    def assert_exact_cost(self, raw, expected):
        texts = cost_texts(raw)
        self.assertTrue(texts, raw[:200])
        for t in texts:
            t = t.decode()
            self.assertNotRegex(t, "[eE]")
            decimals = len(t.split(".")[1]) if "." in t else 0
            self.assertLessEqual(decimals, 10)
            self.assertEqual(Decimal(t), expected, t)

    def assert_or_error(self, status, hdrs, raw, expected):
        self.assertEqual(status, expected)
        self.assertEqual(hdrs["content-type"], "application/json")
        err = json.loads(raw)["error"]
        self.assertEqual(err["code"], expected)
        self.assertIsInstance(err["message"], str)
        return err


# -- non-streaming ---------------------------------------------------------------------
class NonStreaming(SimTest):
    def test_ok_shape_and_cost(self):
        status, hdrs, raw = chat({})
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-type"], "application/json")
        obj = json.loads(raw)
        self.assertEqual(hdrs["x-generation-id"], obj["id"])
        self.assertRegex(obj["id"], r"^gen-\d+-[0-9a-f]+$")
        self.assertEqual(obj["object"], "chat.completion")
        self.assertEqual(obj["model"], "openai/gpt-4o-mini")
        ch = obj["choices"][0]
        self.assertEqual(ch["finish_reason"], "stop")
        self.assertEqual(ch["message"]["role"], "assistant")
        self.assertEqual(ch["message"]["content"], "".join(WORDS[:8]))
        u = obj["usage"]
        self.assertEqual((u["prompt_tokens"], u["completion_tokens"], u["total_tokens"]),
                         (6, 8, 14))
        self.assertEqual(u["prompt_tokens_details"]["cached_tokens"], 0)
        self.assertEqual(u["completion_tokens_details"]["reasoning_tokens"], 0)
        self.assertIs(u["is_byok"], False)
        self.assertIn("upstream_inference_cost", u["cost_details"])
        self.assert_exact_cost(raw, price_cost("openai/gpt-4o-mini", 6, 8))

    def test_costs_exact_for_every_model_and_size(self):
        for model, m in MODELS.items():
            if "embeddings" in m["architecture"]["output_modalities"]:
                continue
            for chars, words in ((1, 1), (7, 3), (401, 13)):
                body = {"model": model, "messages": [{"role": "user", "content": "x" * chars}],
                        "sim": {"words": words}}
                status, _, raw = chat(body)
                self.assertEqual(status, 200, raw)
                self.assert_exact_cost(raw, price_cost(model, max(1, (chars + 3) // 4), words))

    def test_free_model_cost_zero(self):
        status, _, raw = chat({"model": "meta-llama/llama-3.2-3b-instruct:free"})
        self.assertEqual(status, 200)
        self.assertEqual(cost_texts(raw), [b"0"])

    def test_prompt_tokens_from_parts(self):
        msgs = [{"role": "system", "content": "abcd"},
                {"role": "user", "content": [{"type": "text", "text": "abcdefgh"},
                                             {"type": "image_url", "image_url": {"url": "x"}}]}]
        _, _, raw = chat({"messages": msgs})
        self.assertEqual(json.loads(raw)["usage"]["prompt_tokens"], 3)

    def test_max_tokens_caps(self):
        for field in ("max_tokens", "max_completion_tokens"):
            _, _, raw = chat({field: 3})
            obj = json.loads(raw)
            self.assertEqual(obj["usage"]["completion_tokens"], 3)
            self.assertEqual(obj["choices"][0]["finish_reason"], "length")
        self.assertEqual(chat({"max_tokens": 0})[0], 400)

    def test_byok(self):
        _, _, raw = chat({}, key=BYOK)
        u = json.loads(raw)["usage"]
        self.assertIs(u["is_byok"], True)
        self.assertEqual(Decimal(str(u["cost_details"]["upstream_inference_cost"])),
                         price_cost("openai/gpt-4o-mini", 6, 8))

    def test_auth(self):
        self.assert_or_error(*chat({}, key=None), 401)
        self.assert_or_error(*chat({}, key="sk-proj-abc"), 401)

    def test_unknown_model_and_embedding_model(self):
        self.assert_or_error(*chat({"model": "nope/nothing"}), 404)
        self.assert_or_error(*chat({"model": "openai/text-embedding-3-small"}), 404)

    def test_bad_json_and_missing_messages(self):
        self.assert_or_error(*call("POST", "/api/v1/chat/completions", b"{nope"), 400)
        self.assert_or_error(*call("POST", "/api/v1/chat/completions", {"model": "x"}), 400)

    def test_unknown_scenario(self):
        self.assert_or_error(*chat({"sim": {"scenario": "bogus"}}), 400)

    def test_choices_error(self):
        status, _, raw = chat({"sim": {"scenario": "choices_error"}})
        self.assertEqual(status, 200)
        obj = json.loads(raw)
        ch = obj["choices"][0]
        self.assertEqual(ch["finish_reason"], "error")
        self.assertEqual(ch["error"]["code"], 502)
        self.assertEqual(ch["message"]["content"], "Hello from")
        self.assertEqual(obj["usage"]["completion_tokens"], 2)
        self.assert_exact_cost(raw, price_cost("openai/gpt-4o-mini", 6, 2))

    def test_fallback(self):
        body = {"models": ["openai/gpt-4o-mini", "openai/gpt-4o"],
                "sim": {"scenario": "fallback"}}
        _, hdrs, raw = chat(body)
        obj = json.loads(raw)
        self.assertEqual(obj["model"], "openai/gpt-4o")
        self.assert_exact_cost(raw, price_cost("openai/gpt-4o", 6, 8))
        _, _, raw = chat({"model": "openai/gpt-4o", "sim": "fallback"})
        self.assertEqual(json.loads(raw)["model"], "anthropic/claude-3.5-sonnet")

    def test_byte_by_byte_nonstream(self):
        status, _, raw = chat({"sim": {"scenario": "byte_by_byte"}})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(raw)["usage"]["completion_tokens"], 8)

    def test_cut_nonstream(self):
        with self.assertRaises(http.client.IncompleteRead):
            chat({"sim": {"scenario": "cut"}})

    def test_errors_each_status(self):
        for st in (400, 401, 402, 403, 404, 408, 413, 422, 429, 500, 502, 503, 504, 524, 529):
            for stream_flag in (False, True):
                status, hdrs, raw = chat({"stream": stream_flag,
                                          "sim": {"scenario": "error_%d" % st}})
                err = self.assert_or_error(status, hdrs, raw, st)
                if st in (429, 503):
                    self.assertEqual(hdrs.get("retry-after"), "1")
                else:
                    self.assertNotIn("retry-after", hdrs)
                if st == 403:
                    self.assertIsInstance(err["metadata"]["reasons"], list)

    def test_keep_alive(self):
        conn = http.client.HTTPConnection("127.0.0.1", SIM["port"], timeout=10)
        ports = set()
        for body in ({"messages": MSG, "model": "openai/gpt-4o-mini"},
                     {"messages": MSG, "model": "openai/gpt-4o-mini", "stream": True},
                     {"messages": MSG, "model": "openai/gpt-4o-mini",
                      "sim": {"scenario": "error_429"}},
                     {"messages": MSG, "model": "openai/gpt-4o-mini", "stream": True}):
            status, _, raw = call("POST", "/api/v1/chat/completions", body, conn=conn)
            self.assertIn(status, (200, 429))
            ports.add(conn.sock.getsockname()[1])
        conn.close()
        self.assertEqual(len(ports), 1)

    def test_slow_first_byte(self):
        t = time.monotonic()
        status, _, _ = chat({"sim": {"scenario": "slow_first_byte", "delay_ms": 300}})
        self.assertEqual(status, 200)
        self.assertGreaterEqual(time.monotonic() - t, 0.3)


# -- streaming -------------------------------------------------------------------------
class Streaming(SimTest):
    def check_full_stream(self, events, model="openai/gpt-4o-mini", words=8):
        self.assertEqual(events[-1]["data"], "[DONE]")
        chunks = datas(events)
        usage_chunk = chunks[-1]
        self.assertEqual(usage_chunk["choices"], [])
        self.assertEqual(usage_chunk["usage"]["completion_tokens"], words)
        content = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
        self.assertEqual("".join(c["choices"][0]["delta"]["content"] for c in content),
                         "".join((WORDS * 4)[:words]))
        for c in chunks:
            self.assertEqual(c["object"], "chat.completion.chunk")
            self.assertEqual(c["model"], model)
        self.assertEqual(sum(1 for c in chunks if "usage" in c), 1)
        self.assertIn(chunks[-2]["choices"][0]["finish_reason"], ("stop", "length"))
        return chunks

    def test_ok(self):
        status, hdrs, events, text = stream({})
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-type"], "text/event-stream")
        self.assertEqual(hdrs["transfer-encoding"], "chunked")
        self.assertTrue(events[0]["comments"] == ["OPENROUTER PROCESSING"])
        chunks = self.check_full_stream(events)
        self.assertEqual(hdrs["x-generation-id"], chunks[0]["id"])
        self.assert_exact_cost(text.encode(), price_cost("openai/gpt-4o-mini", 6, 8))
        self.assertNotIn("\r\n", text)
        self.assertNotRegex(text, r"data: *\n")

    def test_comments(self):
        _, _, events, text = stream({"sim": {"scenario": "comments"}})
        self.check_full_stream(events)
        self.assertGreaterEqual(text.count("\n: "), 8)
        self.assertTrue(any(e["comments"] and e["data"] for e in events))

    def test_crlf(self):
        _, _, events, text = stream({"sim": {"scenario": "crlf"}})
        self.check_full_stream(events)
        self.assertNotRegex(text, r"[^\r]\n")

    def test_byte_by_byte(self):
        status, hdrs, raw = raw_request({"model": "openai/gpt-4o-mini", "messages": MSG,
                                         "stream": True, "sim": "byte_by_byte"})
        payload, sizes, done = dechunk(raw)
        self.assertTrue(done)
        self.assertEqual(set(sizes), {1})
        self.check_full_stream(sse_events(payload.decode()))

    def test_framing_close(self):
        status, hdrs, raw = raw_request({"model": "openai/gpt-4o-mini", "messages": MSG,
                                         "stream": True, "sim": {"framing": "close"}})
        self.assertNotIn("transfer-encoding", hdrs)
        self.assertEqual(hdrs.get("connection"), "close")
        self.check_full_stream(sse_events(raw.decode()))

    def check_mid_error(self, scenario, code):
        _, _, events, text = stream({"sim": {"scenario": scenario}})
        self.assertNotIn("[DONE]", [e["data"] for e in events])
        chunks = datas(events)
        self.assertEqual([c["choices"][0]["delta"]["content"] for c in chunks[:-1]],
                         ["Hello", " from"])
        last = chunks[-1]
        self.assertEqual(last["error"]["code"], code)
        self.assertEqual(last["choices"][0]["finish_reason"], "error")
        self.assertNotIn("usage", text)

    def test_mid_stream_error(self):
        self.check_mid_error("mid_stream_error", 502)

    def test_mid_stream_error_with_usage_and_done(self):
        _, _, events, text = stream({"sim": {"scenario": "mid_stream_error", "usage": True,
                                             "done": True, "after": 3}})
        self.assertEqual(events[-1]["data"], "[DONE]")
        chunks = datas(events)
        self.assertEqual(chunks[-2]["error"]["code"], 502)
        self.assertEqual(chunks[-1]["usage"]["completion_tokens"], 3)

    def test_mid_stream_error_string(self):
        self.check_mid_error("mid_stream_error_string", "server_error")

    def test_cut(self):
        seq = last_seq()
        status, hdrs, raw = raw_request({"model": "openai/gpt-4o-mini", "messages": MSG,
                                         "stream": True, "sim": "cut"})
        payload, _, done = dechunk(raw)
        self.assertFalse(done)
        chunks = datas(sse_events(payload.decode()))
        self.assertEqual(len(chunks), 2)
        self.assertNotIn(b"[DONE]", payload)
        self.assertNotIn(b"usage", payload)
        e = requests_log(seq)[0]
        self.assertEqual(e["outcome"], "cut")
        self.assertIsNone(e["cost"])
        self.assertEqual(Decimal(e["billed_cost"]), price_cost("openai/gpt-4o-mini", 6, 2))
        # graceful: the body ends properly, still no usage / [DONE]
        _, _, raw = raw_request({"model": "openai/gpt-4o-mini", "messages": MSG,
                                 "stream": True, "sim": {"scenario": "cut", "graceful": True}})
        payload, _, done = dechunk(raw)
        self.assertTrue(done)
        self.assertNotIn(b"[DONE]", payload)

    def test_empty_first_chunk(self):
        _, _, events, _ = stream({"sim": "empty_first_chunk"})
        chunks = self.check_full_stream(events)
        self.assertEqual(chunks[0]["choices"], [])
        self.assertNotIn("usage", chunks[0])

    def test_fallback_stream(self):
        _, _, events, text = stream({"models": ["openai/gpt-4o-mini",
                                                "anthropic/claude-3.5-sonnet"],
                                     "sim": "fallback"})
        self.check_full_stream(events, model="anthropic/claude-3.5-sonnet")
        self.assert_exact_cost(text.encode(), price_cost("anthropic/claude-3.5-sonnet", 6, 8))

    def test_reasoning_and_cached(self):
        _, _, events, text = stream({"messages": [{"role": "user", "content": "x" * 40}],
                                     "sim": {"reasoning_tokens": 5, "cached_tokens": 4}})
        u = datas(events)[-1]["usage"]
        self.assertEqual(u["completion_tokens"], 13)
        self.assertEqual(u["completion_tokens_details"]["reasoning_tokens"], 5)
        self.assertEqual(u["prompt_tokens_details"]["cached_tokens"], 4)
        p = MODELS["openai/gpt-4o-mini"]["pricing"]
        want = (6 * Decimal(p["prompt"]) + 4 * Decimal(p["input_cache_read"])
                + 13 * Decimal(p["completion"]))
        self.assert_exact_cost(text.encode(), want)

    def timed_lines(self, body):
        conn = http.client.HTTPConnection("127.0.0.1", SIM["port"], timeout=10)
        conn.request("POST", "/api/v1/chat/completions", json.dumps(body),
                     {"Authorization": "Bearer " + KEY})
        resp = conn.getresponse()
        times = []
        while True:
            line = resp.readline()
            if not line:
                break
            if line.startswith(b"data: {") and b'"content":"' in line \
                    and b'"content":""' not in line:
                times.append(time.monotonic())
        conn.close()
        return times

    def test_pacing(self):
        times = self.timed_lines({"model": "openai/gpt-4o-mini", "messages": MSG,
                                  "stream": True, "sim": {"delay_ms": 100, "words": 5}})
        self.assertEqual(len(times), 5)
        gaps = [b - a for a, b in zip(times, times[1:])]
        for g in gaps:
            self.assertGreater(g, 0.07, gaps)
            self.assertLess(g, 0.5, gaps)  # generous: CI machines may be loaded
        self.assertLess(sum(gaps) / len(gaps), 0.2, gaps)

    def test_silence(self):
        times = self.timed_lines({"model": "openai/gpt-4o-mini", "messages": MSG,
                                  "stream": True,
                                  "sim": {"scenario": "silence", "silence_ms": 400}})
        self.assertEqual(len(times), 8)
        self.assertGreaterEqual(times[1] - times[0], 0.38)
        self.assertLess(times[7] - times[1], 0.35)


# -- aborts -----------------------------------------------------------------------------
class Aborts(SimTest):
    def open_stream(self, sim):
        body = json.dumps({"model": "openai/gpt-4o-mini", "messages": MSG, "stream": True,
                           "sim": sim}).encode()
        s = socket.create_connection(("127.0.0.1", SIM["port"]), timeout=10)
        s.sendall(b"POST /api/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                  b"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n"
                  % (KEY.encode(), len(body)) + body)
        return s

    def wait_aborted(self, seq, closed):
        deadline = closed + 1.0
        while time.monotonic() < deadline:
            log = requests_log(seq)
            if log and log[0]["client_aborted"]:
                return log[0]
            time.sleep(0.02)
        self.fail("no client_aborted within 1 s: %r" % (requests_log(seq),))

    def test_abort_mid_stream(self):
        seq = last_seq()
        s = self.open_stream({"delay_ms": 200, "words": 30})
        buf = b""
        while buf.count(b'"content":"') < 2:
            buf += s.recv(65536)
        s.close()
        closed = time.monotonic()
        e = self.wait_aborted(seq, closed)
        self.assertLess(e["closed_at"] - closed, 1.0)
        self.assertEqual(e["outcome"], "client_aborted")
        self.assertIsNone(e["cost"])
        time.sleep(0.05)
        status, _, raw = call("GET", "/api/v1/generation?id=" + e["generation_id"])
        rec = json.loads(raw)["data"]
        self.assertIs(rec["cancelled"], True)
        self.assertIs(rec["streamed"], True)
        self.assertLess(rec["tokens_completion"], 30)

    def test_abort_during_hang(self):
        seq = last_seq()
        s = self.open_stream({"scenario": "hang"})
        time.sleep(0.2)
        self.assertIsNone(requests_log(seq)[0]["status"])
        s.close()
        e = self.wait_aborted(seq, time.monotonic())
        self.assertTrue(e["client_aborted"])

    def test_abort_during_silence(self):
        seq = last_seq()
        s = self.open_stream({"scenario": "silence", "silence_ms": 5000})
        buf = b""
        while b'"content":"Hello"' not in buf:
            buf += s.recv(65536)
        s.close()
        self.wait_aborted(seq, time.monotonic())

    def test_hang_after_deltas(self):
        t = time.monotonic()
        status, hdrs, raw = raw_request({"model": "openai/gpt-4o-mini", "messages": MSG,
                                         "stream": True,
                                         "sim": {"scenario": "hang", "after": 1,
                                                 "max_ms": 300}})
        self.assertGreaterEqual(time.monotonic() - t, 0.29)
        payload, _, done = dechunk(raw)
        self.assertFalse(done)
        self.assertEqual(len(datas(sse_events(payload.decode()))), 1)

    def test_hang_bounded(self):
        t = time.monotonic()
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            chat({"sim": {"scenario": "hang", "max_ms": 300}})
        self.assertGreaterEqual(time.monotonic() - t, 0.29)


# -- embeddings, models, generation, key --------------------------------------------------
class Endpoints(SimTest):
    def emb(self, body, **kw):
        body = dict(body)
        body.setdefault("model", "openai/text-embedding-3-small")
        body.setdefault("input", ["hello world", "second input"])
        return call("POST", "/api/v1/embeddings", body, **kw)

    def test_embeddings_float_default(self):
        for fmt in (None, "float"):
            body = {} if fmt is None else {"encoding_format": fmt}
            status, hdrs, raw = self.emb(body)
            self.assertEqual(status, 200)
            obj = json.loads(raw)
            self.assertEqual(obj["object"], "list")
            self.assertEqual(hdrs["x-generation-id"], obj["id"])
            self.assertEqual([d["index"] for d in obj["data"]], [0, 1])
            vec = obj["data"][0]["embedding"]
            self.assertEqual(len(vec), 8)
            self.assertTrue(all(isinstance(v, float) and (v * 64).is_integer() for v in vec))
            self.assertEqual(obj["usage"]["prompt_tokens"], 3 + 3)
            self.assertEqual(obj["usage"]["total_tokens"], 6)
            self.assert_exact_cost(raw, price_cost("openai/text-embedding-3-small", 6, 0))

    def test_embeddings_base64(self):
        _, _, raw = self.emb({"dimensions": 16})
        floats = json.loads(raw)["data"][1]["embedding"]
        for sim in (None, "embeddings_base64_honoured"):
            body = {"dimensions": 16, "encoding_format": "base64"}
            if sim:
                body["sim"] = sim
            _, _, raw = self.emb(body)
            b64 = json.loads(raw)["data"][1]["embedding"]
            self.assertIsInstance(b64, str)
            self.assertEqual(list(struct.unpack("<16f", base64.b64decode(b64))), floats)
        _, _, raw = self.emb({"encoding_format": "base64", "sim": "embeddings_base64_ignored"})
        self.assertIsInstance(json.loads(raw)["data"][0]["embedding"], list)

    def test_embeddings_empty_and_404(self):
        status, _, raw = self.emb({"sim": "embeddings_empty"})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(raw)["data"], [])
        self.assert_or_error(*self.emb({"sim": "embeddings_404"}), 404)
        self.assert_or_error(*self.emb({"model": "openai/gpt-4o"}), 404)
        self.assert_or_error(*self.emb({"model": "x/unknown"}), 404)
        self.assert_or_error(*self.emb({"input": 5}), 400)

    def test_embeddings_token_arrays_byok(self):
        _, _, raw = self.emb({"input": [[1, 2, 3], [4, 5]]}, key=BYOK)
        u = json.loads(raw)["usage"]
        self.assertEqual(u["prompt_tokens"], 5)
        self.assertIs(u["is_byok"], True)

    def test_models(self):
        status, hdrs, raw = call("GET", "/api/v1/models", key=None)
        self.assertEqual(status, 200)
        data = json.loads(raw)["data"]
        ids = {m["id"] for m in data}
        for want in ("openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-3.5-sonnet",
                     "meta-llama/llama-3.1-8b-instruct", "openai/text-embedding-3-small"):
            self.assertIn(want, ids)
        self.assertTrue(any(i.endswith(":free") for i in ids))
        for m in data:
            for f in ("id", "name", "created", "context_length", "architecture",
                      "top_provider"):
                self.assertIn(f, m)
            for f in ("prompt", "completion", "request", "input_cache_read"):
                self.assertIsInstance(m["pricing"][f], str)
            self.assertIn("max_completion_tokens", m["top_provider"])
            # the fields OpenRouter's own SDK requires of every record
            for f in ("canonical_slug", "default_parameters", "per_request_limits",
                      "supported_parameters", "supported_voices"):
                self.assertIn(f, m)
            self.assertEqual(m["links"]["details"], "/api/v1/models/%s/endpoints" % m["id"])
            self.assertIsInstance(m["top_provider"]["is_moderated"], bool)

    def test_models_list_envelope(self):
        # OpenRouter's list: data, links.next (null: the whole list) and total_count.
        _, _, raw = call("GET", "/api/v1/models", key=None)
        doc = json.loads(raw)
        self.assertEqual(list(doc), ["data", "links", "total_count"])
        self.assertEqual(doc["links"], {"next": None})
        self.assertEqual(doc["total_count"], len(MODELS))
        self.assertEqual([m["id"] for m in doc["data"]], list(MODELS))

    def test_model_one(self):
        status, _, raw = call("GET", "/api/v1/model/openai/gpt-4o", key=None)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(raw), {"data": MODELS["openai/gpt-4o"]})
        status, _, raw = call("GET", "/api/v1/model/meta-llama/llama-3.2-3b-instruct%3Afree")
        self.assertEqual(json.loads(raw)["data"]["id"], "meta-llama/llama-3.2-3b-instruct:free")
        status, _, raw = call("GET", "/api/v1/model/no/such")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(raw)["error"]["code"], 404)

    def test_models_paged(self):
        ids = list(MODELS)
        status, _, raw = call("GET", "/api/v1/models?offset=2&limit=3", key=None)
        self.assertEqual(status, 200)
        doc = json.loads(raw)
        self.assertEqual([m["id"] for m in doc["data"]], ids[2:5])
        self.assertEqual(doc["links"]["next"], "/api/v1/models?offset=5&limit=3")
        self.assertEqual(doc["total_count"], len(ids))
        _, _, raw = call("GET", doc["links"]["next"], key=None)
        doc = json.loads(raw)
        self.assertEqual([m["id"] for m in doc["data"]], ids[5:8])
        self.assertIsNone(doc["links"]["next"])  # the last page
        _, _, raw = call("GET", "/api/v1/models?offset=1", key=None)
        self.assertEqual([m["id"] for m in json.loads(raw)["data"]], ids[1:])
        _, _, raw = call("GET", "/api/v1/models?offset=%d" % len(ids), key=None)
        self.assertEqual(json.loads(raw)["data"], [])
        for q in ("limit=0", "limit=1001", "offset=-1", "offset=x", "limit=1.5"):
            status, _, raw = call("GET", "/api/v1/models?" + q, key=None)
            self.assertEqual(status, 400, q)
            self.assertEqual(json.loads(raw)["error"]["code"], 400)

    def test_generation_found(self):
        _, hdrs, raw = chat({}, key=BYOK)
        gid = hdrs["x-generation-id"]
        status, _, raw = call("GET", "/api/v1/generation?id=" + gid)
        self.assertEqual(status, 200)
        rec = json.loads(raw)["data"]
        self.assertEqual(rec["id"], gid)
        self.assertEqual((rec["tokens_prompt"], rec["tokens_completion"]), (6, 8))
        self.assertIs(rec["cancelled"], False)
        self.assertIs(rec["is_byok"], True)
        self.assertEqual(Decimal(cost_texts(raw.replace(b"total_cost", b"cost"))[0].decode()),
                         price_cost("openai/gpt-4o-mini", 6, 8))
        self.assert_or_error(*call("GET", "/api/v1/generation?id=gen-0-none"), 404)
        self.assert_or_error(*call("GET", "/api/v1/generation"), 400)
        self.assert_or_error(*call("GET", "/api/v1/generation?id=" + gid, key=None), 401)

    def test_generation_404_times(self):
        status, hdrs, raw = raw_request({"model": "openai/gpt-4o-mini", "messages": MSG,
                                         "stream": True,
                                         "sim": {"scenario": "generation_404", "times": 2}})
        payload, _, done = dechunk(raw)
        self.assertFalse(done)  # behaves as cut on the wire by default
        gid = hdrs["x-generation-id"]
        got = [call("GET", "/api/v1/generation?id=" + gid)[0] for _ in range(3)]
        self.assertEqual(got, [404, 404, 200])

    def test_generation_404_wire_ok_and_queue(self):
        _, hdrs, events, _ = stream({"sim": {"scenario": "generation_404", "wire": "ok"}})
        self.assertEqual(events[-1]["data"], "[DONE]")
        gid = hdrs["x-generation-id"]
        ctl("POST", "/_sim/scenario", {"scenario": "error_500", "endpoint": "generation"})
        got = [call("GET", "/api/v1/generation?id=" + gid)[0] for _ in range(3)]
        self.assertEqual(got, [500, 404, 200])

    def test_generation_cancelled(self):
        _, hdrs, raw = chat({"sim": "generation_cancelled"})
        self.assertEqual(json.loads(raw)["usage"]["completion_tokens"], 8)
        _, _, raw = call("GET", "/api/v1/generation?id=" + hdrs["x-generation-id"])
        self.assertIs(json.loads(raw)["data"]["cancelled"], True)

    def test_key(self):
        status, _, raw = call("GET", "/api/v1/key", key="sk-or-v1-keytest-unique-1")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(raw)["data"]["usage"], 0)
        chat({}, key="sk-or-v1-keytest-unique-1")
        ctl("POST", "/_sim/scenario", {"scenario": "ok", "endpoint": "key",
                                       "options": {"limit": 1}})
        _, _, raw = call("GET", "/api/v1/key", key="sk-or-v1-keytest-unique-1")
        cost = price_cost("openai/gpt-4o-mini", 6, 8)
        self.assertEqual(Decimal(re.search(rb'"usage":([0-9.]+)', raw).group(1).decode()), cost)
        self.assertEqual(Decimal(re.search(rb'"limit_remaining":([0-9.]+)', raw)
                                 .group(1).decode()), 1 - cost)

    def test_unknown_route(self):
        self.assert_or_error(*call("GET", "/api/v1/nothing"), 404)
        status, hdrs, raw = call("GET", "/api/v1/chat/completions")
        self.assertEqual(status, 405)
        self.assertEqual(hdrs["allow"], "POST")

    def test_expect_continue_and_chunked_request(self):
        big = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user",
                                                            "content": "y" * 4000}]}
        status, _, raw = chat(big, headers={"Expect": "100-continue"})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(raw)["usage"]["prompt_tokens"], 1000)
        conn = http.client.HTTPConnection("127.0.0.1", SIM["port"], timeout=10)
        conn.request("POST", "/api/v1/chat/completions", iter([json.dumps(big).encode()]),
                     {"Authorization": "Bearer " + KEY}, encode_chunked=True)
        resp = conn.getresponse()
        self.assertEqual(json.loads(resp.read())["usage"]["prompt_tokens"], 1000)
        conn.close()


# -- control API -----------------------------------------------------------------------
class Control(SimTest):
    def test_queue_fifo_count_and_endpoints(self):
        self.assertEqual(ctl("POST", "/_sim/scenario",
                             {"scenario": "error_503", "count": 2})[0], 200)
        ctl("POST", "/_sim/scenario", [{"scenario": "embeddings_empty"},
                                       {"scenario": "choices_error"}])
        # the embeddings entry is skipped by chat requests
        self.assertEqual(chat({})[0], 503)
        self.assertEqual(chat({})[0], 503)
        _, _, raw = chat({})
        self.assertEqual(json.loads(raw)["choices"][0]["finish_reason"], "error")
        self.assertEqual(chat({})[0], 200)
        status, _, raw = call("POST", "/api/v1/embeddings",
                              {"model": "openai/text-embedding-3-small", "input": "x"})
        self.assertEqual(json.loads(raw)["data"], [])
        # the body field wins over the queue, which stays untouched
        ctl("POST", "/_sim/scenario", {"scenario": "error_500", "endpoint": "models"})
        self.assertEqual(chat({"sim": "ok"})[0], 200)
        self.assertEqual(call("GET", "/api/v1/models")[0], 500)
        ctl("POST", "/_sim/scenario", {"scenario": "error_502"})
        self.assertEqual(len(ctl("GET", "/_sim/scenario")[1]), 1)
        self.assertEqual(ctl("DELETE", "/_sim/scenario")[1], {"cleared": 1})
        self.assertEqual(chat({})[0], 200)
        self.assertEqual(ctl("POST", "/_sim/scenario", {"scenario": "bogus"})[0], 400)

    def test_requests_log_and_totals(self):
        ctl("DELETE", "/_sim/requests")
        chat({}, headers={"X-Title": "selftest"})
        chat({"model": "openai/gpt-4o", "stream": True, "max_tokens": 2})
        chat({"sim": "error_402"})
        chat({"model": "meta-llama/llama-3.2-3b-instruct:free"})
        log = ctl("GET", "/_sim/requests")[1]
        self.assertEqual(len(log), 4)
        e = log[0]
        self.assertEqual(e["method"], "POST")
        self.assertEqual(e["path"], "/api/v1/chat/completions")
        self.assertEqual(e["headers"]["x-title"], "selftest")
        self.assertEqual(e["headers"]["authorization"], "Bearer " + KEY)
        self.assertEqual(e["body"]["messages"], MSG)
        self.assertEqual(e["scenario"], "ok")
        self.assertEqual(e["status"], 200)
        self.assertIs(e["client_aborted"], False)
        self.assertIsNone(e["closed_at"])
        self.assertLessEqual(e["started"], e["ended"])
        self.assertEqual(log[1]["stream"], True)
        self.assertEqual(log[2]["status"], 402)
        self.assertIsNone(log[2]["generation_id"])
        t = ctl("GET", "/_sim/totals")[1]
        want = price_cost("openai/gpt-4o-mini", 6, 8) + price_cost("openai/gpt-4o", 6, 2)
        self.assertEqual(t["requests"], 4)
        self.assertEqual(Decimal(t["cost"]), want)
        self.assertEqual(t["by_model"]["openai/gpt-4o"]["requests"], 1)
        self.assertEqual(t["by_model"]["meta-llama/llama-3.2-3b-instruct:free"]["cost"], "0")
        self.assertEqual(len(ctl("GET", "/_sim/requests?since=%d" % log[1]["seq"])[1]), 2)
        self.assertEqual(ctl("DELETE", "/_sim/requests")[1], {"cleared": 4})
        self.assertEqual(ctl("GET", "/_sim/totals")[1]["cost"], "0")

    def test_generations_and_reset(self):
        _, hdrs, _ = chat({})
        gens = ctl("GET", "/_sim/generations")[1]
        self.assertIn(hdrs["x-generation-id"], [g["id"] for g in gens])
        ctl("POST", "/_sim/scenario", {"scenario": "ok"})
        r = ctl("POST", "/_sim/reset")[1]
        self.assertGreaterEqual(r["generations"], 1)
        self.assertEqual(r["queue"], 1)
        self.assertEqual(ctl("GET", "/_sim/generations")[1], [])
        self.assertEqual(call("GET", "/api/v1/generation?id=" + hdrs["x-generation-id"])[0],
                         404)

    def test_sim_client_helpers(self):
        sim = SIM["sim"]
        seq = sim.last_seq()
        sim.queue("error_502", count=1, endpoint="chat")
        self.assertEqual(chat({})[0], 502)
        e = sim.wait_for(lambda e: e["status"] == 502, since=seq, timeout=1)
        self.assertEqual(e["scenario"], "error_502")
        self.assertEqual(sim.base_url, "http://127.0.0.1:%d/api/v1" % SIM["port"])
        self.assertIsInstance(sim.totals()["cost"], str)

    def test_health(self):
        self.assertEqual(ctl("GET", "/_sim/health"), (200, {"ok": True}))


def main():
    try:
        start_sim()
    except (RuntimeError, OSError) as exc:
        print("simulator did not start: %s" % exc)
        print("0 passed, 1 failed")
        return 1
    passed = failed = 0
    try:
        suite = unittest.TestSuite()
        loader = unittest.TestLoader()
        for cls in (NonStreaming, Streaming, Aborts, Endpoints, Control):
            suite.addTests(loader.loadTestsFromTestCase(cls))
        t0 = time.monotonic()
        result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
        failed = len(result.failures) + len(result.errors)
        passed = result.testsRun - failed - len(result.skipped)
        sys.stdout.write("simulator self-tests took %.1f s\n" % (time.monotonic() - t0))
        if failed and os.environ.get("SIM_SHOW_LOG"):
            sys.stdout.write(SIM["sim"].log_text())
    finally:
        rc = SIM["sim"].stop()
    if rc == 0:
        passed += 1
    else:
        print("FAIL: simulator exit code %s after SIGTERM (want 0)" % rc)
        failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
