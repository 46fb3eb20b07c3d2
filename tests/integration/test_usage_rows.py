"""Usage recording of proxied requests: one
usage_requests row per request answered by the upstream path, with the
upstream's tokens and exact cost and where the cost came from; the
usage_daily rollup equal to the sums of the rows; cut streams settled from
the generation record; client aborts still recorded. Costs are compared as
Decimal, exactly, with what the simulator says it billed."""

import datetime
import json
import os
import time
from collections import defaultdict
from decimal import Decimal

import gw

M_MINI = "openai/gpt-4o-mini"
M_4O = "openai/gpt-4o"
M_SONNET = "anthropic/claude-3.5-sonnet"
M_EMB = "openai/text-embedding-3-small"
MESSAGES = [{"role": "user", "content": "Count my tokens, please"}]
SUM_FIELDS = ("prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens")


def price_table():
    with open(os.path.join(gw.SIM_DIR, "models.json")) as f:
        return {m["id"]: m["pricing"] for m in json.load(f)["data"]}


def ask(scenario=None, model=M_MINI, **fields):
    body = {"model": model, "messages": MESSAGES}
    if scenario is not None:
        body["sim"] = scenario if isinstance(scenario, dict) else {"scenario": scenario}
    body.update(fields)
    return body


def parse_utc(text):
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f")


class UsageRowTest(gw.ProxyTest):
    def call_for(self, gen):
        return self.finished_call(gen)

    def assertCostMatches(self, row, call):
        self.assertEqual(Decimal(row["cost"]), gw.sim_entry_cost(call),
                         "row cost differs from what the simulator billed: %r %r"
                         % (row, call))

    def read_stream(self, body):
        s = self.stream(body)
        self.assertEqual(s.status, 200)
        events = s.read_all()
        self.assertIsNone(s.error, repr(s.error))
        return s.header("x-generation-id"), events

    def test_chat_row_fields(self):
        before = datetime.datetime.utcnow()
        r = self.chat(ask())
        self.assertOkJson(r)
        gen = r.header("x-generation-id")
        row = self.row_for(gen)
        call = self.call_for(gen)
        self.assertEqual(row["request_id"], r.header("x-request-id"))
        self.assertEqual(row["app_id"], self.app_id)
        self.assertIsNone(row["error"])  # not an error answer
        self.assertEqual(row["key_id"], gw.key_id_of(self.app_id, self.client))
        self.assertEqual(row["endpoint"], "chat")
        self.assertEqual(row["model_requested"], M_MINI)
        self.assertEqual(row["model_billed"], M_MINI)
        self.assertEqual(row["model"], M_MINI)
        self.assertEqual(int(row["prompt_tokens"]), call["prompt_tokens"])
        self.assertEqual(int(row["completion_tokens"]), call["completion_tokens"])
        self.assertEqual((row["cached_tokens"], row["reasoning_tokens"]), ("0", "0"))
        self.assertCostMatches(row, call)
        self.assertGreater(Decimal(row["cost"]), 0)
        self.assertEqual(row["cost_source"], "upstream")
        self.assertEqual((row["is_byok"], row["status"], row["streamed"], row["aborted"]),
                         ("0", "200", "0", "0"))
        self.assertIsNone(row["ttft_us"])
        self.assertGreater(int(row["duration_us"]), 0)
        created = parse_utc(row["created_at"])
        self.assertLess(abs((created - before).total_seconds()), 60,
                        "created_at %s is not UTC now (%s)" % (created, before))

    def test_stream_row_fields(self):
        gen, _ = self.read_stream(ask())
        row = self.row_for(gen)
        call = self.call_for(gen)
        self.assertCostMatches(row, call)
        self.assertEqual(row["cost_source"], "upstream")
        self.assertEqual((row["streamed"], row["aborted"], row["status"]), ("1", "0", "200"))
        self.assertIsNotNone(row["ttft_us"], repr(row))
        self.assertGreater(int(row["ttft_us"]), 0)
        self.assertLessEqual(int(row["ttft_us"]), int(row["duration_us"]))
        self.assertEqual(int(row["completion_tokens"]), call["completion_tokens"])

    def test_cached_and_reasoning_tokens(self):
        r = self.chat(ask({"scenario": "ok", "cached_tokens": 2, "reasoning_tokens": 3}))
        self.assertOkJson(r)
        gen = r.header("x-generation-id")
        row = self.row_for(gen)
        call = self.call_for(gen)
        self.assertEqual(row["cached_tokens"], "2", repr(row))
        self.assertEqual(row["reasoning_tokens"], "3", repr(row))
        self.assertEqual(int(row["completion_tokens"]), call["completion_tokens"])
        self.assertCostMatches(row, call)

    def test_embeddings_row(self):
        r = self.embed({"model": M_EMB, "input": ["one", "two three"],
                        "encoding_format": "base64"})
        self.assertOkJson(r)
        gen = r.header("x-generation-id")
        row = self.row_for(gen)
        call = self.call_for(gen)
        self.assertEqual(row["endpoint"], "embeddings")
        self.assertEqual(row["model_billed"], M_EMB)
        self.assertEqual(int(row["prompt_tokens"]), call["prompt_tokens"])
        self.assertEqual(row["cost_source"], "upstream")
        self.assertCostMatches(row, call)

    def test_upstream_error_row(self):
        r = self.chat(ask("error_429"))
        self.assertEqual(r.status, 429)
        row = self.row_for(request_id=r.header("x-request-id"))
        self.assertEqual(row["status"], "429")
        self.assertEqual(row["error"], "rate_limit_error")  # what the client got
        self.assertEqual(Decimal(row["cost"]), 0)
        self.assertEqual(row["cost_source"], "none")
        self.assertIsNone(row["generation_id"])

    def test_choices_error_recorded(self):
        r = self.chat(ask("choices_error"))
        self.assertOkJson(r)
        gen = r.header("x-generation-id")
        row = self.row_for(gen)
        call = self.call_for(gen)
        self.assertEqual(row["status"], "200")
        self.assertEqual(row["cost_source"], "upstream")
        self.assertEqual(int(row["completion_tokens"]), 2)
        self.assertCostMatches(row, call)

    def test_fallback_billed_model(self):
        r = self.chat(ask("fallback", models=[M_MINI, M_SONNET]))
        self.assertOkJson(r)
        gen = r.header("x-generation-id")
        row = self.row_for(gen)
        call = self.call_for(gen)
        self.assertEqual(row["model_requested"], M_MINI)
        self.assertEqual(row["model_billed"], M_SONNET)
        self.assertCostMatches(row, call)
        p = price_table()[M_SONNET]
        want = (Decimal(p["prompt"]) * call["prompt_tokens"] +
                Decimal(p["completion"]) * call["completion_tokens"] + Decimal(p["request"]))
        self.assertEqual(Decimal(row["cost"]), want, "not billed at the other model's price")
        daily = [d for d in gw.usage_daily(self.app_id) if d["model"] == M_SONNET]
        self.assertEqual(len(daily), 1, repr(gw.usage_daily(self.app_id)))
        self.assertEqual(Decimal(daily[0]["cost"]), want)

    def test_cut_stream_settled_from_generation(self):
        gen, events = self.read_stream(ask("cut"))
        row = self.row_for(gen)
        call = self.call_for(gen)
        self.assertEqual(call["outcome"], "cut")
        self.assertEqual(row["cost_source"], "generation", repr(row))
        self.assertCostMatches(row, call)
        self.assertGreater(Decimal(row["cost"]), 0)
        self.assertEqual((row["streamed"], row["aborted"]), ("1", "0"))
        self.assertEqual(int(row["completion_tokens"]), 2)

    def test_mid_stream_error_settled(self):
        gen, _ = self.read_stream(ask("mid_stream_error"))
        row = self.row_for(gen)
        call = self.call_for(gen)
        self.assertIn(row["cost_source"], ("generation", "upstream"), repr(row))
        self.assertCostMatches(row, call)
        self.assertEqual(row["streamed"], "1")
        # the stream's closing error event: its code (502) is the row's error
        self.assertEqual((row["status"], row["error"]), ("502", "upstream_error"))

    def test_byok_row_and_rollup(self):
        self.configure({"byokKey": "sk-or-byok-" + "cd" * 20})
        r = self.chat(ask())
        self.assertOkJson(r)
        gen = r.header("x-generation-id")
        row = self.row_for(gen)
        self.assertEqual(row["is_byok"], "1")
        self.assertCostMatches(row, self.call_for(gen))
        daily = gw.usage_daily(self.app_id)
        self.assertEqual([(d["model"], d["is_byok"], d["requests"]) for d in daily],
                         [(M_MINI, "1", "1")])

    def test_no_row_for_gateway_rejections(self):
        self.configure({"maxTokensPerRequest": 50, "allowedModels": [M_MINI]})
        self.assertEqual(self.chat(ask(max_tokens=51)).status, 400)
        self.assertEqual(self.chat(ask(model=M_4O)).status, 403)
        self.assertEqual(self.embed({"model": M_EMB, "input": "x"}).status, 403)
        self.assertEqual(self.chat("not json", content_type="application/json").status, 400)
        r = self.chat(ask())
        self.assertOkJson(r)
        self.row_for(r.header("x-generation-id"))
        time.sleep(0.3)
        rows = gw.usage_rows(self.app_id)
        self.assertEqual(len(rows), 1, "rows for requests never sent upstream: %r" % rows)


class UsageAcceptanceTest(gw.ProxyTest):
    """Usage rows = requests answered through the upstream path, and the sum
    of recorded cost equals the sum the simulator billed, exactly."""

    def send_mix(self, marker):
        """Sends the mix; returns the number of requests that reached the
        upstream path. Every request carries user=marker to find its log
        entry."""
        chat = lambda body, **kw: self.chat(dict(body, user=marker), **kw)
        embed = lambda body: self.embed(dict(body, user=marker))
        expect_status = []

        def expect(r, status):
            expect_status.append((r, status))

        expect(chat(ask()), 200)
        expect(chat(ask(model=M_4O)), 200)
        expect(chat(ask({"scenario": "ok", "cached_tokens": 3, "reasoning_tokens": 2})), 200)
        expect(chat(ask("choices_error")), 200)
        expect(chat(ask("fallback", models=[M_MINI, M_SONNET])), 200)
        expect(chat(ask("error_429")), 429)
        expect(chat(ask("error_500")), 500)
        expect(chat(ask("error_402")), 503)  # the platform account's, not the app's
        expect(embed({"model": M_EMB, "input": "float please"}), 200)
        expect(embed({"model": M_EMB, "input": ["a", "bb"], "encoding_format": "base64"}), 200)
        expect(embed({"model": M_EMB, "input": "nothing", "sim": "embeddings_empty"}), 502)
        expect(embed({"model": M_EMB, "input": "nope", "sim": "embeddings_404"}), 404)
        upstream = len(expect_status)
        for r, status in expect_status:
            self.assertEqual(r.status, status, repr(r))

        # streams: complete, byte by byte, cut, mid-stream error, abort
        for scenario in ("ok", "byte_by_byte", "cut", "mid_stream_error"):
            s = self.stream(dict(ask(scenario), user=marker))
            self.assertEqual(s.status, 200)
            s.read_all()
            self.assertIsNone(s.error, "%s: %r" % (scenario, s.error))
            upstream += 1
        s = self.stream(dict(ask({"scenario": "ok", "pace_ms": 150, "words": 30}), user=marker))
        self.assertEqual(s.status, 200)
        for e in s.events():
            if e.kind == "data" and '"content":"H' in e.text.replace(" ", ""):
                break
        s.close()
        upstream += 1

        # refused by the gateway itself: never sent, never recorded
        self.assertEqual(chat(ask(max_tokens=100001)).status, 400)
        self.assertEqual(gw.request("POST", gw.chat_path(self.app_id), body=ask(),
                                    token="aigw_" + "x" * 43).status, 401)
        return upstream

    def test_rows_and_costs_match_the_simulator(self):
        self.configure({"maxTokensPerRequest": 100000})
        marker = "acc-" + self.app_id
        sent = self.send_mix(marker)

        # every upstream request finished (the abort included), then its row
        def mine():
            return [e for e in gw.sim_api_requests(self.seq)
                    if isinstance(e.get("body"), dict) and e["body"].get("user") == marker]
        deadline = time.monotonic() + 10
        while True:
            calls = mine()
            if (len(calls) >= sent and all(c.get("ended") is not None for c in calls)) \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(len(calls), sent, "the simulator got %d requests, expected %d"
                         % (len(calls), sent))
        aborted = [c for c in calls if c.get("client_aborted")]
        self.assertEqual(len(aborted), 1, "the abort was not seen upstream: %r" % calls)

        rows = gw.wait_usage_rows(self.app_id, sent, timeout=15)
        time.sleep(0.5)  # nothing more may come
        rows = gw.usage_rows(self.app_id)
        self.assertEqual(len(rows), sent, "usage rows %d != requests answered upstream %d: %r"
                         % (len(rows), sent, rows))
        self.assertEqual(len({r["request_id"] for r in rows}), sent)

        # per request, where the simulator gave a generation id
        by_gen = {r["generation_id"]: r for r in rows if r["generation_id"]}
        for c in calls:
            if c.get("generation_id"):
                row = by_gen.get(c["generation_id"])
                self.assertIsNotNone(row, "no row for %r" % c)
                self.assertEqual(Decimal(row["cost"]), gw.sim_entry_cost(c),
                                 "cost of %s (%s): row %r" % (c["generation_id"],
                                                              c["scenario"], row))
        self.assertEqual(len([r for r in rows if r["aborted"] == "1"]), 1, repr(rows))
        cut = [by_gen[c["generation_id"]] for c in calls if c["outcome"] == "cut"]
        self.assertEqual([r["cost_source"] for r in cut], ["generation"])

        # the acceptance sums, exact
        rows_cost = sum((Decimal(r["cost"]) for r in rows), Decimal(0))
        sim_cost = sum((gw.sim_entry_cost(c) for c in calls), Decimal(0))
        self.assertEqual(rows_cost, sim_cost, "sum of recorded cost != sum billed upstream")
        self.assertGreater(rows_cost, 0)

        # the rollup equals the rows, per model and BYOK flag
        want = defaultdict(lambda: defaultdict(Decimal))
        for r in rows:
            key = (r["model"], r["is_byok"])
            want[key]["requests"] += 1
            want[key]["cost"] += Decimal(r["cost"])
            for f in SUM_FIELDS:
                want[key][f] += int(r[f])
        daily = gw.usage_daily(self.app_id)
        got = {}
        for d in daily:
            key = (d["model"], d["is_byok"])
            self.assertNotIn(key, got, "two daily rows for %r (test ran over midnight?)" % (key,))
            got[key] = {"requests": int(d["requests"]), "cost": Decimal(d["cost"]),
                        **{f: int(d[f]) for f in SUM_FIELDS}}
        self.assertEqual(got, {k: dict(v) for k, v in want.items()})
        self.assertEqual(sum(v["cost"] for v in got.values()), sim_cost)
