"""POST /api/v1/chat/completions of the OpenRouter simulator: validation, the answer
plan (model billed, prompt tokens, words), and the non-streaming and SSE answers for
every chat scenario."""

import time

import sim_data

STOP_AFTER_DEFAULT = 2
FALLBACK_DEFAULTS = ("anthropic/claude-3.5-sonnet", "openai/gpt-4o")


def _int_opt(opts, name, default):
    v = opts.get(name, default)
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else default


def _max_tokens(body):
    """(limit or None, error text or None) from max_completion_tokens / max_tokens."""
    for name in ("max_completion_tokens", "max_tokens"):
        v = body.get(name)
        if v is None:
            continue
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            return None, "%s must be a positive integer" % name
        return v, None
    return None, None


def _fallback_model(call, requested):
    models = call.models
    explicit = call.opts.get("model")
    if explicit is not None:
        return explicit if models.kind(explicit) == "chat" else None
    listed = call.body.get("models")
    if isinstance(listed, list) and len(listed) >= 2 and models.kind(listed[1]) == "chat":
        return listed[1]
    return FALLBACK_DEFAULTS[1] if requested == FALLBACK_DEFAULTS[0] else FALLBACK_DEFAULTS[0]


def handle(call):
    if not call.auth() or not call.json_body() or not call.pick_scenario():
        return
    body, opts = call.body, call.opts
    stream = body.get("stream") is True
    call.state.update(call.entry, stream=stream)
    requested = body.get("model")
    if requested is None and isinstance(body.get("models"), list) and body["models"]:
        requested = body["models"][0]
    if requested is None:
        requested = sim_data.DEFAULT_MODEL
    if not call.pre_answer(requested if isinstance(requested, str) else None):
        return
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        call.send_error(400, "Input required: specify \"messages\" as a non-empty array")
        return
    if not isinstance(requested, str) or call.models.kind(requested) is None:
        call.send_error(404, "%s is not a valid model ID" % (requested,))
        return
    if call.models.kind(requested) != "chat":
        call.send_error(404, "No endpoints found that support chat completions for %s."
                        % requested)
        return
    limit, err = _max_tokens(body)
    if err:
        call.send_error(400, err)
        return
    model = requested
    if call.scenario == "fallback":
        model = _fallback_model(call, requested)
        if model is None:
            call.send_error(400, "simulator: fallback model %r is not a chat model"
                            % (opts.get("model"),))
            return
    want = _int_opt(opts, "words", sim_data.DEFAULT_WORDS)
    n = min(want, limit) if limit else want
    plan = {
        "model": model, "stream": stream, "words": n,
        "finish": "length" if limit is not None and limit < want else "stop",
        "prompt_tokens": sim_data.chat_prompt_tokens(messages),
        "reasoning_tokens": _int_opt(opts, "reasoning_tokens", 0),
        "created": int(time.time()),
    }
    plan["cached_tokens"] = min(_int_opt(opts, "cached_tokens", 0), plan["prompt_tokens"])
    call.gen_id = call.state.new_generation_id()
    call.gen_info = plan
    call.state.update(call.entry, generation_id=call.gen_id, model=model)
    if stream:
        _stream(call, plan)
    else:
        _whole(call, plan)


# -- shared pieces --------------------------------------------------------------------
def _usage(call, plan, words):
    completion = words + plan["reasoning_tokens"]
    m = call.models.get(plan["model"])
    cost = call.record_generation(plan["model"], plan["prompt_tokens"], completion,
                                  plan.get("finish_now"), plan["stream"],
                                  cached_tokens=plan["cached_tokens"],
                                  reasoning_tokens=plan["reasoning_tokens"])
    prompt_part, completion_part = sim_data.split_cost(m, plan["prompt_tokens"], completion,
                                                       plan["cached_tokens"])
    usage = {
        "prompt_tokens": plan["prompt_tokens"], "completion_tokens": completion,
        "total_tokens": plan["prompt_tokens"] + completion, "cost": cost,
        "is_byok": call.is_byok,
        "prompt_tokens_details": {"cached_tokens": plan["cached_tokens"],
                                  "cache_write_tokens": 0, "audio_tokens": 0},
        "cost_details": {"upstream_inference_cost": cost if call.is_byok else None,
                         "upstream_inference_prompt_cost": prompt_part,
                         "upstream_inference_completions_cost": completion_part},
        "completion_tokens_details": {"reasoning_tokens": plan["reasoning_tokens"],
                                      "image_tokens": 0},
    }
    return usage, cost


def _sent(call, usage, cost, outcome):
    call.finish_entry(outcome, cost=sim_data.dec_text(cost) if usage else None,
                      completion_tokens=usage["completion_tokens"] if usage else None)


def _error_obj(call, plan, string_code):
    code = call.opts.get("code", "server_error" if string_code else 502)
    message = call.opts.get("message", "Provider disconnected unexpectedly")
    return {"code": code, "message": message,
            "metadata": {"provider_name": sim_data.provider_name(plan["model"]),
                         "raw": "simulated upstream failure"}}


def _stop_after(call, n):
    """Deltas sent before the stream stops (error, cut, hang), or None for a full one."""
    s = call.scenario
    cut_like = s in ("cut", "mid_stream_error", "mid_stream_error_string", "choices_error")
    if s in ("generation_404", "generation_cancelled"):
        cut_like = call.opts.get("wire", "cut" if call.gen_info["stream"] else "ok") == "cut"
    if s == "hang" and "after" in call.opts:
        cut_like = True
    if not cut_like:
        return None
    return min(_int_opt(call.opts, "after", STOP_AFTER_DEFAULT), n)


# -- non-streaming ------------------------------------------------------------------
def _whole(call, plan):
    s = call.scenario
    words = plan["words"]
    finish = plan["finish"]
    error = None
    if s in ("mid_stream_error", "mid_stream_error_string", "choices_error"):
        words = min(_int_opt(call.opts, "after", STOP_AFTER_DEFAULT), words)
        finish = "error"
        error = _error_obj(call, plan, s == "mid_stream_error_string")
    if s == "silence":
        call.wire.wait(call.opt_ms("silence_ms", 2000))
    if s == "hang":
        call.hang()
        return
    plan["finish_now"] = finish
    usage, cost = _usage(call, plan, words)
    choice = {"logprobs": None, "finish_reason": finish, "native_finish_reason": finish,
              "index": 0,
              "message": {"role": "assistant",
                          "content": "".join(sim_data.completion_words(words)),
                          "refusal": None, "reasoning": None}}
    if error is not None:
        choice["error"] = error
    obj = {"id": call.gen_id, "provider": sim_data.provider_name(plan["model"]),
           "model": plan["model"], "object": "chat.completion", "created": plan["created"],
           "choices": [choice], "system_fingerprint": "fp_sim", "usage": usage}
    cut = s == "cut"
    _sent(call, None if cut else usage, cost, "cut" if cut else
          ("choices_error" if error else "complete"))
    call.send_json(200, obj, byte_by_byte=(s == "byte_by_byte"), cut=cut)


# -- streaming ----------------------------------------------------------------------
class _Sse:
    def __init__(self, call):
        self.call = call
        self.nl = b"\r\n" if call.scenario == "crlf" else b"\n"
        self.bbb = call.scenario == "byte_by_byte"
        self.byte_delay = call.opt_ms("byte_delay_ms", 0)

    def _out(self, data):
        self.call.wire.write(data, self.bbb, self.byte_delay)

    def comment(self, text="OPENROUTER PROCESSING"):
        self._out(b": " + text.encode() + self.nl + self.nl)

    def data(self, obj, leading_comment=False):
        head = b": OPENROUTER PROCESSING" + self.nl if leading_comment else b""
        text = obj if isinstance(obj, str) else sim_data.dumps(obj)
        self._out(head + b"data: " + text.encode("utf-8") + self.nl + self.nl)


def _chunk(call, plan, choices, **extra):
    obj = {"id": call.gen_id, "provider": sim_data.provider_name(plan["model"]),
           "model": plan["model"], "object": "chat.completion.chunk",
           "created": plan["created"], "choices": choices, "system_fingerprint": "fp_sim"}
    obj.update(extra)
    return obj


def _stream(call, plan):
    s, opts, wire = call.scenario, call.opts, call.wire
    framing = opts.get("framing", "chunked")
    if call.h.request_version == "HTTP/1.0":
        framing = "close"  # HTTP/1.0 has no chunked encoding
    elif framing not in ("chunked", "close"):
        framing = "chunked"
    call.state.update(call.entry, status=200)
    wire.start(200, call.headers_common("text/event-stream") +
               [("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")], framing)
    sse = _Sse(call)
    comments = s == "comments"
    sse.comment()
    if comments:
        sse.comment()
        sse.comment("keep-alive")
    if s == "empty_first_chunk":
        sse.data(_chunk(call, plan, []))
    n = plan["words"]
    stop = _stop_after(call, n)
    # Pacing: delay_ms, except in slow_first_byte where delay_ms is the first-byte wait;
    # pace_ms works in every scenario.
    delay = call.opt_ms("pace_ms", 0 if s == "slow_first_byte" else opts.get("delay_ms", 0))
    silence_at = _int_opt(opts, "after", 1) if s == "silence" else None
    words = sim_data.completion_words(n)
    for i, word in enumerate(words):
        if stop is not None and i >= stop:
            break
        if i > 0 and delay:
            wire.wait(delay)
        if silence_at is not None and i == silence_at:
            wire.wait(call.opt_ms("silence_ms", 2000))
        if comments and i > 0:
            sse.comment()
        delta = {"role": "assistant", "content": word}
        sse.data(_chunk(call, plan, [{"index": 0, "delta": delta, "finish_reason": None,
                                      "native_finish_reason": None, "logprobs": None}]),
                 leading_comment=comments and i % 2 == 1)
        call.sent_words = i + 1
    sent = call.sent_words
    if stop is None:
        plan["finish_now"] = plan["finish"]
        usage, cost = _usage(call, plan, sent)
        _sent(call, usage, cost, "complete")
        fin = plan["finish"]
        sse.data(_chunk(call, plan, [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                      "finish_reason": fin, "native_finish_reason": fin,
                                      "logprobs": None}]))
        if comments:
            sse.comment()
        sse.data(_chunk(call, plan, [], usage=usage))
        sse.data("[DONE]")
        wire.end()
        return
    if s == "hang":
        call.hang()
        return
    if s in ("mid_stream_error", "mid_stream_error_string", "choices_error"):
        plan["finish_now"] = "error"
        usage, cost = _usage(call, plan, sent)
        with_usage = bool(opts.get("usage"))
        _sent(call, usage if with_usage else None, cost, "mid_stream_error")
        err = _error_obj(call, plan, s == "mid_stream_error_string")
        sse.data(_chunk(call, plan, [{"index": 0, "delta": {"content": ""},
                                      "finish_reason": "error",
                                      "native_finish_reason": "error"}], error=err))
        if with_usage:
            sse.data(_chunk(call, plan, [], usage=usage))
        if opts.get("done"):
            sse.data("[DONE]")
        wire.end()
        return
    # cut (and generation_404 / generation_cancelled with wire "cut")
    plan["finish_now"] = None
    _usage(call, plan, sent)
    call.finish_entry("cut")
    if opts.get("graceful"):
        wire.end()
    else:
        wire.hard_close()
