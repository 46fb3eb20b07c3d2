"""Deterministic pieces of the OpenRouter simulator: the price table, token counts,
completion words, exact decimal costs, embedding vectors, and JSON whose money numbers
are written from Decimal text (never through binary floating point)."""

import base64
import json
import re
import struct
import zlib
from decimal import Decimal

MAX_COST_DECIMALS = 10
DEFAULT_MODEL = "openai/gpt-4o-mini"
DEFAULT_WORDS = 8
DEFAULT_DIMENSIONS = 8

# Completion word i (0-based) is WORDS[i % len(WORDS)]; one word per delta, so
# completion_tokens == number of content deltas.  Tests may import this list.
WORDS = ["Hello", " from", " the", " OpenRouter", " simulator", ":", " a",
         " deterministic", " answer", " made", " of", " one", " word", " per",
         " delta", "."]

PROVIDERS = {"openai": "OpenAI", "anthropic": "Anthropic", "meta-llama": "Meta",
             "google": "Google", "mistralai": "Mistral", "sim": "Simulator"}


class ModelTable:
    """The price table served on /models, indexed by id.  Prices are validated at load
    so that every cost (integer tokens x price) has at most MAX_COST_DECIMALS decimals."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        self.doc = doc
        self.by_id = {}
        for m in doc["data"]:
            for name in ("prompt", "completion", "request", "input_cache_read"):
                text = m["pricing"][name]
                if decimals(Decimal(text)) > MAX_COST_DECIMALS:
                    raise ValueError("%s: price %s=%s has more than %d decimals"
                                     % (m["id"], name, text, MAX_COST_DECIMALS))
            self.by_id[m["id"]] = m

    def get(self, model_id):
        return self.by_id.get(model_id)

    def kind(self, model_id):
        """'embeddings' or 'chat' (None when unknown)."""
        m = self.by_id.get(model_id)
        if m is None:
            return None
        outs = m.get("architecture", {}).get("output_modalities", ["text"])
        return "embeddings" if "embeddings" in outs else "chat"


def decimals(d):
    """Number of decimal places of d once trailing zeros are dropped."""
    exp = d.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def dec_text(d):
    """Plain decimal text, no exponent, no trailing zeros: 0.0000069, 0, 12.5."""
    if d == 0:
        return "0"
    return format(d.normalize(), "f")


def provider_name(model_id):
    prefix = model_id.split("/", 1)[0]
    return PROVIDERS.get(prefix, prefix)


def cost_of(model, prompt_tokens, completion_tokens, cached_tokens=0):
    """Exact USD cost of a generation at the model's list prices (Decimal)."""
    p = model["pricing"]
    cached = min(cached_tokens, prompt_tokens)
    total = (Decimal(prompt_tokens - cached) * Decimal(p["prompt"])
             + Decimal(cached) * Decimal(p.get("input_cache_read", p["prompt"]))
             + Decimal(completion_tokens) * Decimal(p["completion"])
             + Decimal(p.get("request", "0")))
    if decimals(total) > MAX_COST_DECIMALS:
        raise ValueError("cost %s is not exact with %d decimals" % (total, MAX_COST_DECIMALS))
    return total.normalize() if total != 0 else Decimal(0)


def split_cost(model, prompt_tokens, completion_tokens, cached_tokens=0):
    """(prompt part, completion part) of the cost, for cost_details."""
    whole = cost_of(model, prompt_tokens, completion_tokens, cached_tokens)
    completion = (Decimal(completion_tokens) * Decimal(model["pricing"]["completion"]))
    completion = completion.normalize() if completion != 0 else Decimal(0)
    prompt = whole - completion
    return (prompt.normalize() if prompt != 0 else Decimal(0)), completion


def content_chars(content):
    """Characters of a message content: a string, or an array of parts (text parts count)."""
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        n = 0
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                n += len(part["text"])
            elif isinstance(part, str):
                n += len(part)
        return n
    return 0


def chat_prompt_tokens(messages):
    """ceil(total characters of every message content / 4), at least 1."""
    chars = sum(content_chars(m.get("content")) for m in messages if isinstance(m, dict))
    return max(1, (chars + 3) // 4)


def embedding_items(inp):
    """The list of inputs of an embeddings request: each a string or a token list.
    Returns None when the shape is not one OpenAI accepts."""
    if isinstance(inp, str):
        return [inp]
    if isinstance(inp, list) and inp:
        if all(isinstance(x, int) and not isinstance(x, bool) for x in inp):
            return [inp]
        if all(isinstance(x, str) for x in inp):
            return list(inp)
        if all(isinstance(x, list) and all(isinstance(t, int) for t in x) for x in inp):
            return list(inp)
    return None


def embedding_tokens(items):
    """Strings: ceil(chars / 4) each (at least 1); token arrays: their length."""
    n = 0
    for it in items:
        n += len(it) if isinstance(it, list) else max(1, (len(it) + 3) // 4)
    return max(1, n)


def embedding_vector(item, dims):
    """Deterministic vector; every value is k/64 with -64 <= k <= 64, exact in float32,
    so base64 (little-endian float32) round trips give back the same numbers."""
    text = item if isinstance(item, str) else json.dumps(item)
    seed = zlib.crc32(text.encode("utf-8"))
    return [(((seed >> (i % 24)) + 37 * i) % 129 - 64) / 64 for i in range(dims)]


def vector_base64(vec):
    return base64.b64encode(struct.pack("<%df" % len(vec), *vec)).decode("ascii")


def completion_words(n):
    return [WORDS[i % len(WORDS)] for i in range(n)]


_PLACEHOLDER = re.compile(r'"\\u0000(\d+)\\u0000"')


def dumps(obj):
    """JSON text (compact, UTF-8) where every Decimal becomes a JSON number written from
    its exact decimal text."""
    found = []

    def walk(o):
        if isinstance(o, Decimal):
            found.append(dec_text(o))
            return "\u0000%d\u0000" % (len(found) - 1)
        if isinstance(o, dict):
            return {k: walk(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [walk(v) for v in o]
        return o

    text = json.dumps(walk(obj), separators=(",", ":"), ensure_ascii=False)
    if found:
        text = _PLACEHOLDER.sub(lambda m: found[int(m.group(1))], text)
    return text
