"""The OpenRouter simulator's other API endpoints: POST /embeddings, GET /models,
GET /generation?id= and GET /key (chat completions live in sim_chat.py)."""

from decimal import Decimal
from urllib.parse import unquote

import sim_data

EMBEDDING_MODEL = "openai/text-embedding-3-small"
MAX_DIMENSIONS = 4096
MAX_PAGE = 1000  # /models `limit`, as OpenRouter documents it


def embeddings(call):
    if not call.auth() or not call.json_body() or not call.pick_scenario():
        return
    body, s = call.body, call.scenario
    model = body.get("model") or EMBEDDING_MODEL
    if not call.pre_answer(model if isinstance(model, str) else None):
        return
    if s == "hang":
        call.hang()
        return
    if s == "embeddings_404":
        call.send_error(404, "No endpoints found for %s." % model)
        return
    kind = call.models.kind(model) if isinstance(model, str) else None
    if kind is None:
        call.send_error(404, "%s is not a valid model ID" % (model,))
        return
    if kind != "embeddings":
        call.send_error(404, "No endpoints found for %s that support embeddings." % model)
        return
    items = sim_data.embedding_items(body.get("input"))
    if items is None:
        call.send_error(400, "Input required: \"input\" must be a non-empty string, array "
                        "of strings, or array of token arrays")
        return
    dims = body.get("dimensions", sim_data.DEFAULT_DIMENSIONS)
    if not isinstance(dims, int) or isinstance(dims, bool) or not 1 <= dims <= MAX_DIMENSIONS:
        call.send_error(400, "dimensions must be an integer from 1 to %d" % MAX_DIMENSIONS)
        return
    enc = body.get("encoding_format")
    if enc not in (None, "float", "base64"):
        call.send_error(400, "encoding_format must be \"float\" or \"base64\"")
        return
    tokens = sim_data.embedding_tokens(items)
    call.gen_id = call.state.new_generation_id()
    call.gen_info = {"model": model, "stream": False, "words": 0, "prompt_tokens": tokens,
                     "reasoning_tokens": 0, "cached_tokens": 0, "api_type": "embeddings"}
    call.state.update(call.entry, generation_id=call.gen_id, model=model)
    if s == "silence":
        call.wire.wait(call.opt_ms("silence_ms", 2000))
    if s == "embeddings_empty":
        call.record_generation(model, tokens, 0, "stop", False, api_type="embeddings")
        call.finish_entry("empty")
        call.send_json(200, {"id": call.gen_id, "object": "list", "data": [], "model": model})
        return
    base64 = enc == "base64" and s != "embeddings_base64_ignored"
    data = []
    for i, item in enumerate(items):
        vec = sim_data.embedding_vector(item, dims)
        data.append({"object": "embedding", "index": i,
                     "embedding": sim_data.vector_base64(vec) if base64 else vec})
    cost = call.record_generation(model, tokens, 0, "stop", False, api_type="embeddings")
    obj = {"id": call.gen_id, "object": "list", "data": data, "model": model,
           "provider": sim_data.provider_name(model),
           "usage": {"prompt_tokens": tokens, "total_tokens": tokens, "cost": cost,
                     "is_byok": call.is_byok}}
    cut = s == "cut"
    call.finish_entry("cut" if cut else "complete",
                      cost=None if cut else sim_data.dec_text(cost), completion_tokens=0)
    call.send_json(200, obj, byte_by_byte=(s == "byte_by_byte"), cut=cut)


def _page_param(query, name, low, high):
    """A paging parameter as an int, None when absent; ValueError unless it is
    decimal digits within [low, high]."""
    values = query.get(name)
    if not values:
        return None
    text = values[0]
    if not text.isdigit() or not text.isascii() or not low <= int(text) <= high:
        raise ValueError("%s must be an integer from %d to %d" % (name, low, high))
    return int(text)


def models_list(doc, offset, limit):
    """The /models answer for the table doc: OpenRouter's list envelope, `data` then
    `links` ({next: the next page's path, or null}) and `total_count` (every model,
    whatever the page); any other top-level field of the table file is kept. Without
    offset and limit the whole list; with either, data[offset:offset+limit]."""
    everything = doc["data"]
    start = offset or 0
    end = len(everything) if limit is None else min(len(everything), start + limit)
    nxt = None
    if limit is not None and end < len(everything):
        nxt = "/api/v1/models?offset=%d&limit=%d" % (end, limit)
    out = {"data": everything[start:end] if start < len(everything) else []}
    for k, v in doc.items():
        if k not in ("data", "links", "total_count"):
            out[k] = v
    out["links"] = {"next": nxt}
    out["total_count"] = len(everything)
    return out


def models(call, query, one=None):
    """GET /models, or GET /model/{author}/{slug} when one is the raw
    "{author}/{slug}" (answered {"data": record}). Public like OpenRouter's: no
    key needed (a key, if sent, is not checked). `offset` / `limit` page the
    list; other query parameters (filters, sort) are ignored: the simulator
    lists every model of its table."""
    if not call.pick_scenario() or not call.pre_answer():
        return
    if call.scenario == "hang":
        call.hang()
        return
    if one is not None:
        model_id = "/".join(unquote(part) for part in one.split("/"))
        record = call.models.get(model_id)
        if record is None:
            call.send_error(404, "Model %s not found" % model_id)
            return
        call.finish_entry("complete")
        call.send_json(200, {"data": record})
        return
    try:
        offset = _page_param(query, "offset", 0, 10 ** 9)
        limit = _page_param(query, "limit", 1, MAX_PAGE)
    except ValueError as e:
        call.send_error(400, str(e))
        return
    call.finish_entry("complete")
    call.send_json(200, models_list(call.models.doc, offset, limit),
                   byte_by_byte=(call.scenario == "byte_by_byte"),
                   cut=(call.scenario == "cut"))


def generation(call, query):
    if not call.auth() or not call.pick_scenario() or not call.pre_answer():
        return
    ids = query.get("id") or []
    if not ids or not ids[0]:
        call.send_error(400, "Missing required query parameter: id")
        return
    record = call.state.lookup_generation(ids[0])
    if record is None:
        call.send_error(404, "Generation %s not found" % ids[0])
        return
    call.finish_entry("complete")
    call.send_json(200, {"data": record})


def key(call):
    if not call.auth() or not call.pick_scenario() or not call.pre_answer():
        return
    usage = call.state.key_usage(call.key)
    limit = call.opts.get("limit")
    k = call.key
    data = {"label": "%s...%s" % (k[:10], k[-3:]) if len(k) > 16 else "sk-or-...",
            "limit": limit, "limit_remaining": None, "limit_reset": None,
            "include_byok_in_limit": False, "usage": usage, "usage_daily": usage,
            "usage_weekly": usage, "usage_monthly": usage,
            "byok_usage": usage if call.is_byok else 0,
            "is_free_tier": False, "is_provisioning_key": False,
            "rate_limit": {"requests": -1, "interval": "10s"}}
    if isinstance(limit, (int, float)) and not isinstance(limit, bool):
        data["limit_remaining"] = Decimal(str(limit)) - usage
    call.finish_entry("complete")
    call.send_json(200, {"data": data})
