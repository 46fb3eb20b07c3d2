"""POST /v1/{app}/embeddings through the real web server and the OpenRouter
simulator: floats always asked upstream;
number arrays when the client gave no format or "float"; base64 of
little-endian float32 built by the gateway when the client asked for it,
also when the upstream ignores base64; empty data and 404 passed on."""

import base64
import struct
from decimal import Decimal

import gw

sim_data = gw.sim_module("sim_data")
M_EMB = "openai/text-embedding-3-small"
DIMS = sim_data.DEFAULT_DIMENSIONS


def vector(item, dims=DIMS):
    """The simulator's vector for one input (exact in float32)."""
    return sim_data.embedding_vector(item, dims)


def decode_b64(text):
    raw = base64.b64decode(text, validate=True)
    if len(raw) % 4:
        raise AssertionError("base64 of %d bytes is not float32s" % len(raw))
    return list(struct.unpack("<%df" % (len(raw) // 4), raw))


class EmbeddingsTest(gw.ProxyTest):
    def ask(self, inp="the quick brown fox", scenario=None, **fields):
        body = {"model": M_EMB, "input": inp}
        if scenario is not None:
            body["sim"] = scenario if isinstance(scenario, dict) else {"scenario": scenario}
        body.update(fields)
        return body

    def sent(self):
        return self.one_upstream_call("embeddings")

    def assertList(self, r, inputs):
        body = self.assertOkJson(r)
        self.assertEqual(body["object"], "list", repr(body))
        self.assertEqual(body["model"], M_EMB, repr(body))
        self.assertEqual(len(body["data"]), len(inputs), repr(body))
        for i, item in enumerate(body["data"]):
            self.assertEqual(item["object"], "embedding")
            self.assertEqual(item["index"], i)
        return body

    def assertFloats(self, r, inputs, dims=DIMS):
        body = self.assertList(r, inputs)
        for item, inp in zip(body["data"], inputs):
            emb = item["embedding"]
            self.assertIsInstance(emb, list, "expected a number array: %r" % item)
            self.assertTrue(all(type(x) in (int, float) for x in emb), repr(emb))
            self.assertEqual(emb, vector(inp, dims))
        return body

    def assertBase64(self, r, inputs, dims=DIMS):
        body = self.assertList(r, inputs)
        for item, inp in zip(body["data"], inputs):
            emb = item["embedding"]
            self.assertIsInstance(emb, str, "expected base64: %r" % item)
            self.assertEqual(decode_b64(emb), vector(inp, dims))
        return body

    def assertAskedFloats(self):
        self.assertEqual(self.sent()["body"].get("encoding_format"), "float")

    def test_default_format_is_float(self):
        r = self.embed(self.ask())
        self.assertFloats(r, ["the quick brown fox"])
        self.assertAskedFloats()

    def test_float_format(self):
        r = self.embed(self.ask(encoding_format="float"))
        self.assertFloats(r, ["the quick brown fox"])
        self.assertAskedFloats()

    def test_base64_format(self):
        r = self.embed(self.ask(encoding_format="base64"))
        self.assertBase64(r, ["the quick brown fox"])
        self.assertAskedFloats()

    def test_base64_when_upstream_ignores_it(self):
        r = self.embed(self.ask(scenario="embeddings_base64_ignored", encoding_format="base64"))
        self.assertBase64(r, ["the quick brown fox"])

    def test_base64_when_upstream_honours_it(self):
        r = self.embed(self.ask(scenario="embeddings_base64_honoured", encoding_format="base64"))
        self.assertBase64(r, ["the quick brown fox"])

    def test_array_input_base64(self):
        inputs = ["alpha", "beta gamma", "\u00e9t\u00e9 \u4e2d\u6587"]
        r = self.embed(self.ask(inputs, encoding_format="base64"))
        self.assertBase64(r, inputs)

    def test_array_input_float(self):
        inputs = ["alpha", "beta gamma"]
        r = self.embed(self.ask(inputs))
        self.assertFloats(r, inputs)

    def test_token_array_input(self):
        r = self.embed(self.ask([[1, 2, 3], [4, 5]], encoding_format="float"))
        self.assertFloats(r, [[1, 2, 3], [4, 5]])
        self.assertEqual(self.sent()["body"]["input"], [[1, 2, 3], [4, 5]])

    def test_dimensions_passed_through(self):
        r = self.embed(self.ask(dimensions=16, encoding_format="base64", user="u-1"))
        self.assertBase64(r, ["the quick brown fox"], dims=16)
        sent = self.sent()["body"]
        self.assertEqual(sent["dimensions"], 16)
        self.assertEqual(sent["user"], "u-1")

    def test_usage_and_generation_id(self):
        r = self.embed(self.ask())
        body = self.assertOkJson(r)
        gen = r.header("x-generation-id")
        self.assertIsNotNone(gen, "no x-generation-id: %r" % r)
        call = self.sent()
        self.assertEqual(call["generation_id"], gen)
        usage = gw.decimal_json(r)["usage"]
        self.assertEqual(usage["prompt_tokens"], call["prompt_tokens"])
        self.assertEqual(usage["cost"], Decimal(call["cost"]))
        self.assertIs(body["usage"]["is_byok"], False)

    def test_empty_data_is_a_bad_upstream_answer(self):
        r = self.embed(self.ask(scenario="embeddings_empty", encoding_format="base64"))
        err = self.assertError(r, 502)
        self.assertIn("one embedding per input", err["message"])
        self.assertEqual(err["type"], gw.ERROR_TYPES[502])

    def test_404_for_non_embedding_model(self):
        r = self.embed(self.ask(scenario="embeddings_404"))
        self.assertUpstreamError(r, 404, "No endpoints found for %s." % M_EMB)

    def test_upstream_error_kept(self):
        r = self.embed(self.ask(scenario={"scenario": "error_429", "message": "emb slow"}))
        self.assertUpstreamError(r, 429, "emb slow")
        self.assertEqual(r.header("retry-after"), "1")

    def test_bad_encoding_format_400(self):
        r = self.embed(self.ask(encoding_format="int8"))
        self.assertError(r, 400, param="encoding_format")
        self.assertEqual(self.upstream_calls(), [])

    def test_model_outside_allowed_403(self):
        self.configure({"allowedModels": ["openai/gpt-4o-mini"]})
        r = self.embed(self.ask())
        self.assertError(r, 403, param="model")
        self.assertEqual(self.upstream_calls(), [])

    def test_byok_key_used(self):
        byok = "sk-or-byok-" + "ab" * 20
        self.configure({"byokKey": byok})
        r = self.embed(self.ask())
        self.assertIs(self.assertOkJson(r)["usage"]["is_byok"], True)
        self.assertEqual(self.sent()["headers"].get("authorization"), "Bearer " + byok)
