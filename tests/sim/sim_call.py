"""One API call of the OpenRouter simulator: authentication, scenario choice, the steps
every endpoint shares (first-byte delay, hang, error_<status>), JSON answers, and the
bookkeeping of the log entry and the generation record when the call ends."""

import json
import time

import sim_data
import sim_scenarios
from sim_state import Generation
from sim_wire import Wire

HANG_MAX_S = 300.0


class Call:
    def __init__(self, handler, state, models, endpoint, entry):
        self.h = handler
        self.state = state
        self.models = models
        self.endpoint = endpoint
        self.entry = entry
        self.wire = Wire(handler, sim_scenarios.REASONS)
        self.key = None
        self.is_byok = False
        self.body = None
        self.scenario = "ok"
        self.opts = {}
        self.gen_id = None
        self.gen_done = False
        # Filled by the endpoint once it knows what it answers; used on client abort.
        self.gen_info = None
        self.sent_words = 0
        self.t0 = time.monotonic()

    # -- common steps; each returns False when it has already answered ------------
    def auth(self):
        value = self.h.headers.get("Authorization", "")
        if value[:7].lower() != "bearer " or not value[7:].strip():
            self.send_error(401, "No auth credentials found")
            return False
        key = value[7:].strip()
        if not key.startswith("sk-or-"):
            self.send_error(401, "User not found.")
            return False
        self.key = key
        self.is_byok = key.startswith("sk-or-byok-")
        return True

    def json_body(self):
        raw = self.h.raw_body
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            body = None
        if not isinstance(body, dict):
            self.send_error(400, "Invalid JSON body: expected a JSON object")
            return False
        self.body = body
        return True

    def pick_scenario(self):
        """From the body's `sim` field, else the queue, else "ok"."""
        sim = self.body.get("sim") if isinstance(self.body, dict) else None
        if sim is not None:
            if isinstance(sim, str):
                sim = {"scenario": sim}
            if not isinstance(sim, dict):
                self.send_error(400, "simulator: `sim` must be an object")
                return False
            opts = {k: v for k, v in sim.items() if k not in ("scenario", "options")}
            if isinstance(sim.get("options"), dict):
                opts.update(sim["options"])
            name = sim.get("scenario", "ok")
        else:
            taken = self.state.take(self.endpoint)
            name, opts = taken if taken else ("ok", {})
        if not isinstance(name, str) or not sim_scenarios.known(name):
            self.send_error(400, "simulator: unknown scenario %r" % (name,))
            return False
        self.scenario = name
        self.opts = opts
        self.state.update(self.entry, scenario=name, options=opts)
        return True

    def opt_int(self, name, default):
        v = self.opts.get(name, default)
        return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else default

    def opt_ms(self, name, default):
        v = self.opts.get(name, default)
        return float(v) / 1000.0 if isinstance(v, (int, float)) and v > 0 else 0.0

    def pre_answer(self, model=None):
        """First-byte delay, hang before headers, error_<status>.  Returns False when the
        call has been answered (or abandoned) here."""
        first = self.opt_ms("first_byte_ms", 0)
        if self.scenario == "slow_first_byte":
            first = self.opt_ms("delay_ms", 1000)
        if first:
            self.wire.wait(first)
        if self.scenario == "hang" and "after" not in self.opts:
            self.hang()
            return False
        status = sim_scenarios.error_status(self.scenario)
        if status is not None:
            status, headers, body = sim_scenarios.error_answer(status, model, self.opts)
            self.send_json(status, body, headers)
            self.finish_entry("error")
            return False
        return True

    def hang(self):
        """Answer nothing until the client closes; after max_ms (<= 300 s) close."""
        limit = min(self.opt_ms("max_ms", HANG_MAX_S * 1000) or HANG_MAX_S, HANG_MAX_S)
        self.wire.wait(limit)
        self.finish_entry("hang_timeout")
        self.wire.hard_close()

    # -- answers ------------------------------------------------------------------
    def headers_common(self, content_type):
        hdrs = [("Content-Type", content_type), ("Access-Control-Allow-Origin", "*")]
        if self.gen_id:
            hdrs.append(("X-Generation-Id", self.gen_id))
        return hdrs

    def send_json(self, status, obj, headers=(), byte_by_byte=False, cut=False):
        """A JSON answer with Content-Length.  cut: send half the body, then close."""
        data = sim_data.dumps(obj).encode("utf-8")
        self.state.update(self.entry, status=status)
        self.wire.start(status, self.headers_common("application/json") + list(headers),
                        "length", len(data))
        if cut:
            self.wire.write(data[:len(data) // 2])
            self.wire.hard_close()
            return
        self.wire.write(data, byte_by_byte, self.opt_ms("byte_delay_ms", 0))

    def send_error(self, status, message, metadata=None, headers=()):
        err = {"code": status, "message": message}
        if metadata is not None:
            err["metadata"] = metadata
        self.send_json(status, {"error": err}, headers)
        if self.entry["outcome"] is None:
            self.finish_entry("error")

    # -- bookkeeping ----------------------------------------------------------------
    def finish_entry(self, outcome, **fields):
        self.state.update(self.entry, outcome=outcome, **fields)

    def record_generation(self, model, prompt_tokens, completion_tokens, finish_reason,
                          streamed, cancelled=False, cached_tokens=0, reasoning_tokens=0,
                          api_type="completions"):
        """Stores the generation record (once) and returns its exact cost."""
        m = self.models.get(model)
        cost = sim_data.cost_of(m, prompt_tokens, completion_tokens, cached_tokens)
        if self.gen_done:
            return cost
        self.gen_done = True
        ms = int((time.monotonic() - self.t0) * 1000)
        record = {
            "id": self.gen_id, "upstream_id": "sim-" + self.gen_id, "total_cost": cost,
            "cache_discount": None,
            "upstream_inference_cost": cost if self.is_byok else None,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "model": model, "app_id": None, "streamed": streamed, "cancelled": cancelled,
            "provider_name": sim_data.provider_name(model), "latency": ms,
            "moderation_latency": None, "generation_time": ms, "finish_reason": finish_reason,
            "native_finish_reason": finish_reason, "tokens_prompt": prompt_tokens,
            "tokens_completion": completion_tokens, "native_tokens_prompt": prompt_tokens,
            "native_tokens_completion": completion_tokens,
            "native_tokens_reasoning": reasoning_tokens, "native_tokens_cached": cached_tokens,
            "num_media_prompt": None, "num_media_completion": None,
            "num_search_results": None, "origin": "", "usage": cost, "is_byok": self.is_byok,
            "api_type": api_type,
        }
        misses = self.opt_int("times", 1) if self.scenario == "generation_404" else 0
        misses = self.opt_int("generation_404_times", misses)
        if self.scenario == "generation_cancelled" or self.opts.get("generation_cancelled"):
            record["cancelled"] = True
        self.state.put_generation(Generation(self.gen_id, self.key, record, misses))
        self.state.update(self.entry, generation_id=self.gen_id, model=model,
                          billed_cost=sim_data.dec_text(cost), prompt_tokens=prompt_tokens,
                          completion_tokens=completion_tokens)
        return cost

    def on_client_gone(self):
        """The client closed early: log it and settle the generation as OpenRouter would
        (streams: tokens sent so far, cancelled; non-streams: billed in full)."""
        # Whatever was about to be sent (usage included) did not surely arrive.
        self.state.update(self.entry, client_aborted=True, closed_at=self.wire.closed_at,
                          outcome="client_aborted", cost=None)
        info = self.gen_info
        if info is None or self.gen_done:
            return
        if info["stream"] and not self.opts.get("abort_bills_full"):
            words = self.sent_words
        elif self.scenario == "hang":
            words = 0
        else:
            words = info["words"]
        cancelled = info["stream"] or self.scenario == "hang"
        self.record_generation(info["model"], info["prompt_tokens"],
                               words + (info["reasoning_tokens"] if words else 0),
                               None, info["stream"], cancelled=cancelled,
                               cached_tokens=info["cached_tokens"],
                               reasoning_tokens=info["reasoning_tokens"] if words else 0,
                               api_type=info.get("api_type", "completions"))
