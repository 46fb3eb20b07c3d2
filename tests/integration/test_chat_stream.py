"""Streamed chat completions ("stream": true) through the real web server and
the OpenRouter simulator: headers, events
relayed in order up to [DONE], upstream framing quirks (comments, CRLF, one
byte per write, an empty first chunk), mid-stream errors and cut streams
ending with an error event and never an invented [DONE], keep-alive comments
during long silences, and a client that goes away aborting the upstream."""

import json
import time
from decimal import Decimal

import gw

WORDS = gw.sim_module("sim_data").WORDS
M_MINI = "openai/gpt-4o-mini"
M_SONNET = "anthropic/claude-3.5-sonnet"
MESSAGES = [{"role": "user", "content": "Stream me something"}]


def answer_text(words=8):
    return "".join(WORDS[i % len(WORDS)] for i in range(words))


def ask(scenario=None, model=M_MINI, **fields):
    body = {"model": model, "messages": MESSAGES}
    if scenario is not None:
        body["sim"] = scenario if isinstance(scenario, dict) else {"scenario": scenario}
    body.update(fields)
    return body


def data_events(events):
    return [e for e in events if e.kind == "data"]


def empty_data(events):
    """Data events with nothing in them: the openai SDK fails on those."""
    return [e for e in events if e.kind == "data" and not e.text.strip()]


def content_of(chunks):
    text = ""
    for c in chunks:
        for ch in c.get("choices") or []:
            text += (ch.get("delta") or {}).get("content") or ""
    return text


class StreamTest(gw.ProxyTest):
    def open(self, body, headers=None, timeout=gw.HTTP_TIMEOUT):
        s = self.stream(body, headers, timeout)
        if s.status != 200:
            self.fail("stream answered %s: %r" % (s.status, s.read_rest()))
        return s

    def assertStreamHeaders(self, s):
        ct = (s.header("content-type") or "").split(";")[0].strip().lower()
        self.assertEqual(ct, "text/event-stream")
        self.assertEqual((s.header("cache-control") or "").lower(), "no-cache")
        self.assertEqual((s.header("x-accel-buffering") or "").lower(), "no")
        self.assertRegex(s.header("x-request-id") or "", gw.REQUEST_ID_RE)
        gen = s.header("x-generation-id")
        self.assertIsNotNone(gen, "no x-generation-id on the stream")
        self.assertRegex(gen, r"^gen-")
        return gen

    def assertCompleteStream(self, s, events, words=8, model=M_MINI, finish="stop"):
        """Content chunks, finish chunk, usage chunk (choices: []), [DONE],
        then a clean end of the body; returns the usage chunk's usage (costs
        as Decimal)."""
        self.assertIsNone(s.error, "reading the stream failed: %r; events %r"
                          % (s.error, events))
        self.assertTrue(s.clean_end)
        self.assertEqual(empty_data(events), [], "empty data events: %r" % events)
        data = data_events(events)
        self.assertTrue(data, "no data events: %r" % events)
        self.assertEqual(data[-1].text, "[DONE]", "last event: %r" % data[-1])
        self.assertEqual([e.text for e in data].count("[DONE]"), 1)
        chunks = []
        for e in data[:-1]:
            try:
                chunks.append(json.loads(e.text, parse_float=Decimal))
            except ValueError:
                self.fail("a data event is not JSON: %r" % e)
        for c in chunks:
            self.assertNotIn("error", c, "error event in a good stream: %r" % c)
            self.assertEqual(c.get("object"), "chat.completion.chunk", repr(c))
            self.assertEqual(c.get("id"), s.header("x-generation-id"), repr(c))
        self.assertEqual(content_of(chunks), answer_text(words))
        usage_chunk = chunks[-1]
        self.assertEqual(usage_chunk["choices"], [], repr(usage_chunk))
        self.assertIsInstance(usage_chunk.get("usage"), dict, repr(usage_chunk))
        self.assertEqual([c for c in chunks if "usage" in c], [usage_chunk],
                         "usage must come once, last")
        finish_chunk = chunks[-2]
        self.assertEqual(finish_chunk["choices"][0]["finish_reason"], finish,
                         repr(finish_chunk))
        for c in chunks:
            self.assertEqual(c.get("model"), model, repr(c))
        return usage_chunk["usage"]

    def assertUsageMatchesSim(self, gen, usage):
        call = self.finished_call(gen)
        self.assertEqual(usage["cost"], Decimal(call["cost"]))
        self.assertEqual(usage["completion_tokens"], call["completion_tokens"])
        return call

    def assertErrorEnd(self, s, events):
        """The stream ended cleanly with an error event last and no [DONE];
        returns that event's error object."""
        self.assertIsNone(s.error, "reading the stream failed: %r; events %r"
                          % (s.error, events))
        self.assertTrue(s.clean_end, "the body did not end properly")
        self.assertEqual(empty_data(events), [], "empty data events: %r" % events)
        data = data_events(events)
        self.assertTrue(data, "no data events: %r" % events)
        self.assertNotIn("[DONE]", [e.text for e in data], "[DONE] after a failure: %r"
                         % events)
        last = data[-1]
        try:
            obj = last.json()
        except ValueError:
            self.fail("last event is not JSON: %r" % last)
        self.assertIsInstance(obj.get("error"), dict, "last event is not an error: %r" % last)
        self.assertTrue(obj["error"].get("message"), repr(last))
        return obj["error"]

    # ---- complete streams ---------------------------------------------------

    def test_ok_stream_and_headers(self):
        s = self.open(ask())
        gen = self.assertStreamHeaders(s)
        events = s.read_all()
        usage = self.assertCompleteStream(s, events)
        call = self.assertUsageMatchesSim(gen, usage)
        self.assertIs(call["stream"], True)
        self.assertIs(call["body"]["stream"], True)

    def test_accept_json_still_streams(self):
        # The openai SDK sends Accept: application/json even when streaming.
        s = self.open(ask(), headers={"Accept": "application/json"})
        self.assertStreamHeaders(s)
        self.assertCompleteStream(s, s.read_all())

    def test_comments(self):
        s = self.open(ask("comments"))
        gen = self.assertStreamHeaders(s)
        usage = self.assertCompleteStream(s, s.read_all())
        self.assertUsageMatchesSim(gen, usage)

    def test_crlf(self):
        s = self.open(ask("crlf"))
        gen = self.assertStreamHeaders(s)
        usage = self.assertCompleteStream(s, s.read_all())
        self.assertUsageMatchesSim(gen, usage)

    def test_byte_by_byte(self):
        s = self.open(ask("byte_by_byte"))
        gen = self.assertStreamHeaders(s)
        usage = self.assertCompleteStream(s, s.read_all())
        self.assertUsageMatchesSim(gen, usage)

    def test_byte_by_byte_long(self):
        s = self.open(ask({"scenario": "byte_by_byte", "words": 24}))
        self.assertCompleteStream(s, s.read_all(), words=24)

    def test_close_framed_upstream(self):
        s = self.open(ask({"scenario": "ok", "framing": "close"}))
        self.assertCompleteStream(s, s.read_all())

    def test_empty_first_chunk(self):
        s = self.open(ask("empty_first_chunk"))
        gen = self.assertStreamHeaders(s)
        events = s.read_all()
        usage = self.assertCompleteStream(s, events)
        first = data_events(events)[0].json()
        self.assertEqual(first["choices"], [], "the empty first chunk was not relayed: %r"
                         % first)
        self.assertUsageMatchesSim(gen, usage)

    def test_slow_first_byte(self):
        start = time.monotonic()
        s = self.open(ask({"scenario": "slow_first_byte", "delay_ms": 1200}))
        self.assertGreaterEqual(time.monotonic() - start, 1.2)
        self.assertCompleteStream(s, s.read_all())

    def test_fallback_stream(self):
        s = self.open(ask("fallback", models=[M_MINI, M_SONNET]))
        gen = self.assertStreamHeaders(s)
        usage = self.assertCompleteStream(s, s.read_all(), model=M_SONNET)
        self.assertEqual(self.assertUsageMatchesSim(gen, usage)["model"], M_SONNET)

    def test_max_tokens_cap_stream(self):
        self.configure({"maxTokensPerRequest": 3})
        s = self.open(ask())
        self.assertCompleteStream(s, s.read_all(), words=3, finish="length")

    def test_events_flushed_as_they_arrive(self):
        # Paced 250 ms apart upstream: the first word must reach the client
        # well before the last one is even sent.
        s = self.open(ask({"scenario": "ok", "pace_ms": 250, "words": 5}))
        events = s.read_all()
        self.assertCompleteStream(s, events, words=5)
        content = [e for e in data_events(events)
                   if e.text != "[DONE]" and content_of([e.json()])]
        self.assertEqual(len(content), 5)
        spread = content[-1].t - content[0].t
        self.assertGreaterEqual(spread, 0.75, "events were held back and sent together "
                                "(first-to-last %.3fs)" % spread)

    # ---- failures -------------------------------------------------------------

    def test_mid_stream_error_numeric_code(self):
        s = self.open(ask("mid_stream_error"))
        events = s.read_all()
        err = self.assertErrorEnd(s, events)
        self.assertEqual(err.get("code"), 502, repr(err))
        self.assertEqual(content_of([e.json() for e in data_events(events)]), answer_text(2))

    def test_mid_stream_error_string_code(self):
        s = self.open(ask("mid_stream_error_string"))
        events = s.read_all()
        err = self.assertErrorEnd(s, events)
        self.assertEqual(err.get("code"), "server_error", repr(err))
        self.assertEqual(content_of([e.json() for e in data_events(events)]), answer_text(2))

    def test_mid_stream_error_only_once(self):
        s = self.open(ask("mid_stream_error"))
        events = s.read_all()
        self.assertErrorEnd(s, events)
        errors = [e for e in data_events(events) if "error" in e.json()]
        self.assertEqual(len(errors), 1, "expected one error event: %r" % errors)

    def test_choices_error_stream(self):
        s = self.open(ask("choices_error"))
        self.assertErrorEnd(s, s.read_all())

    def test_cut_stream_ends_with_error_event(self):
        s = self.open(ask("cut"))
        events = s.read_all()
        err = self.assertErrorEnd(s, events)
        self.assertIs(type(err.get("code")), int, repr(err))
        self.assertIn(err["code"], (502, 504), repr(err))
        self.assertEqual(content_of([e.json() for e in data_events(events)[:-1]]),
                         answer_text(2))

    def test_cut_graceful_without_done_ends_with_error_event(self):
        # The body ends properly but without usage or [DONE]: still a failure.
        s = self.open(ask({"scenario": "cut", "graceful": True}))
        err = self.assertErrorEnd(s, s.read_all())
        self.assertIs(type(err.get("code")), int, repr(err))

    def test_error_before_stream_is_json(self):
        r = self.stream(ask({"scenario": "error_429", "message": "slow down"})).read_rest()
        self.assertUpstreamError(r, 429, "slow down")
        self.assertEqual(r.header("retry-after"), "1")

    def test_error_503_before_stream_is_json(self):
        r = self.stream(ask("error_503")).read_rest()
        self.assertUpstreamError(r, 503)
        self.assertEqual(r.header("retry-after"), "1")

    # ---- silences and aborts --------------------------------------------------

    def test_keepalive_comment_during_silence(self):
        # One delta, then the upstream says nothing for longer than the
        # keep-alive interval (sse_keepalive_s, 15 s by default).
        interval = int(gw.conf_value("sse_keepalive_s", "15"))
        silence_ms = interval * 1000 + 1500
        s = self.open(ask({"scenario": "silence", "silence_ms": silence_ms, "after": 1,
                           "words": 3}), timeout=silence_ms / 1000 + 30)
        events = s.read_all()
        self.assertCompleteStream(s, events, words=3)
        first = next(i for i, e in enumerate(events)
                     if e.kind == "data" and content_of([e.json()]))
        keepalives = [e for e in events[first + 1:]
                      if e.kind == "comment" and e.text.strip() == "keep-alive"]
        self.assertTrue(keepalives, "no ': keep-alive' during a %d ms silence: %r"
                        % (silence_ms, events))
        nxt = next(e for e in events[first + 1:] if e.kind == "data")
        k = keepalives[0]
        self.assertLess(k.t, nxt.t, "keep-alive came only after the silence")
        gap = k.t - events[first].t
        self.assertGreaterEqual(gap, interval - 1.5, "keep-alive too early (%.1fs)" % gap)
        self.assertLessEqual(gap, interval + 1.4, "keep-alive too late (%.1fs)" % gap)

    def test_client_abort_stops_upstream_and_is_recorded(self):
        s = self.open(ask({"scenario": "ok", "pace_ms": 200, "words": 40}))
        gen = self.assertStreamHeaders(s)
        seen = 0
        for e in s.events():
            if e.kind == "data" and e.text != "[DONE]" and content_of([e.json()]):
                seen += 1
                if seen == 2:
                    break
        self.assertEqual(seen, 2, "the stream ended early: %r" % s.error)
        t_close = time.monotonic()
        s.close()
        e = gw.sim_wait(lambda e: e.get("generation_id") == gen and e.get("client_aborted"),
                        self.seq, timeout=5)
        self.assertIsNotNone(e, "the simulator never saw the client abort (5 s)")
        self.assertEqual(e["outcome"], "client_aborted")
        lag = e["closed_at"] - t_close
        self.assertLessEqual(lag, 1.0, "upstream closed %.3fs after the client" % lag)
        row = self.row_for(gen, timeout=10)
        self.assertEqual(row["aborted"], "1", repr(row))
        self.assertEqual(row["streamed"], "1", repr(row))
        self.assertIn(row["cost_source"], ("generation", "upstream"), repr(row))
        call = self.finished_call(gen)
        self.assertEqual(Decimal(row["cost"]), gw.sim_entry_cost(call), repr((row, call)))
        self.assertLess(call["completion_tokens"], 40)

    def test_client_abort_during_upstream_silence(self):
        # A client disconnect aborts the upstream transfer at once,
        # also while the upstream is quiet (a model thinking): no write of
        # ours is due then, so the gateway has to notice by other means.
        s = self.open(ask({"scenario": "hang", "after": 2, "max_ms": 4000}))
        gen = self.assertStreamHeaders(s)
        seen = 0
        for e in s.events():
            if e.kind == "data" and content_of([e.json()]):
                seen += 1
                if seen == 2:
                    break
        self.assertEqual(seen, 2, "the stream ended early: %r" % s.error)
        t_close = time.monotonic()
        s.close()
        e = gw.sim_wait(lambda e: e.get("generation_id") == gen and e.get("ended") is not None,
                        self.seq, timeout=10)
        self.assertIsNotNone(e, "the upstream request never ended")
        self.assertTrue(e.get("client_aborted"),
                        "the upstream connection stayed open until the simulator gave up "
                        "(%.1fs after the client left; outcome %s)"
                        % (e["ended"] - t_close, e.get("outcome")))
        lag = e["closed_at"] - t_close
        self.assertLessEqual(lag, 1.0, "upstream closed %.3fs after the client" % lag)
        row = self.row_for(gen, timeout=10)
        self.assertEqual(row["aborted"], "1", repr(row))
