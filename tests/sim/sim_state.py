"""Shared state of the OpenRouter simulator, guarded by one lock: the log of requests
received (read by tests through /_sim/requests), the scenario queue, and the generation
records served by /generation."""

import collections
import json
import secrets
import threading
import time
from decimal import Decimal

import sim_data
import sim_scenarios


class Generation:
    """One generation record.  `record` is the public /generation body (Decimal money);
    `misses` is how many more lookups answer 404 (scenario generation_404)."""

    def __init__(self, gen_id, key, record, misses):
        self.id = gen_id
        self.key = key
        self.record = record
        self.misses = misses


class State:
    def __init__(self, max_log=10000, max_generations=100000):
        self.lock = threading.Lock()
        self.log = collections.deque(maxlen=max_log)
        self.seq = 0
        self.queue = []
        self.generations = collections.OrderedDict()
        self.max_generations = max_generations
        self.gen_counter = 0

    # -- request log ------------------------------------------------------------
    def begin(self, method, path, headers, body, endpoint):
        """A new log entry for a request just read; the caller updates it with update()."""
        with self.lock:
            self.seq += 1
            entry = {
                "seq": self.seq, "method": method, "path": path, "endpoint": endpoint,
                "headers": headers, "body": body, "scenario": None, "options": {},
                "stream": False, "generation_id": None, "model": None, "status": None,
                "cost": None, "billed_cost": None, "prompt_tokens": None,
                "completion_tokens": None, "outcome": None, "client_aborted": False,
                "closed_at": None, "started": time.monotonic(), "ended": None,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            self.log.append(entry)
            return entry

    def update(self, entry, **fields):
        with self.lock:
            entry.update(fields)

    def requests_json(self, since=0):
        with self.lock:
            return json.dumps([e for e in self.log if e["seq"] > since])

    def clear_requests(self):
        with self.lock:
            n = len(self.log)
            self.log.clear()
            return n

    def totals(self):
        """Sums over the logged requests; money as exact decimal strings."""
        with self.lock:
            entries = list(self.log)
        cost = Decimal(0)
        billed = Decimal(0)
        by_model = {}
        for e in entries:
            if e["cost"] is not None:
                cost += Decimal(e["cost"])
            if e["billed_cost"] is not None:
                billed += Decimal(e["billed_cost"])
            if e["model"] is None or e["generation_id"] is None:
                continue
            m = by_model.setdefault(e["model"], {"requests": 0, "cost": Decimal(0),
                                                 "billed_cost": Decimal(0),
                                                 "prompt_tokens": 0, "completion_tokens": 0})
            m["requests"] += 1
            m["cost"] += Decimal(e["cost"] or 0)
            m["billed_cost"] += Decimal(e["billed_cost"] or 0)
            m["prompt_tokens"] += e["prompt_tokens"] or 0
            m["completion_tokens"] += e["completion_tokens"] or 0
        for m in by_model.values():
            m["cost"] = sim_data.dec_text(m["cost"])
            m["billed_cost"] = sim_data.dec_text(m["billed_cost"])
        return {"requests": len(entries), "cost": sim_data.dec_text(cost),
                "billed_cost": sim_data.dec_text(billed), "by_model": by_model}

    # -- scenario queue ---------------------------------------------------------
    def enqueue(self, scenario, options, count, endpoints):
        with self.lock:
            self.queue.append({"scenario": scenario, "options": options,
                               "endpoints": endpoints, "remaining": count})
            return sum(q["remaining"] for q in self.queue)

    def take(self, endpoint):
        """(scenario, options) of the first queued entry for this endpoint, or None."""
        with self.lock:
            for i, q in enumerate(self.queue):
                if endpoint in q["endpoints"] or "any" in q["endpoints"]:
                    q["remaining"] -= 1
                    if q["remaining"] <= 0:
                        del self.queue[i]
                    return q["scenario"], dict(q["options"])
            return None

    def queue_json(self):
        with self.lock:
            return json.dumps(self.queue)

    def clear_queue(self):
        with self.lock:
            n = sum(q["remaining"] for q in self.queue)
            self.queue.clear()
            return n

    # -- generations ------------------------------------------------------------
    def new_generation_id(self):
        with self.lock:
            self.gen_counter += 1
            return "gen-%d-%s" % (self.gen_counter, secrets.token_hex(6))

    def put_generation(self, gen):
        with self.lock:
            self.generations[gen.id] = gen
            while len(self.generations) > self.max_generations:
                self.generations.popitem(last=False)

    def update_generation(self, gen_id, **fields):
        with self.lock:
            gen = self.generations.get(gen_id)
            if gen is not None:
                gen.record.update(fields)

    def lookup_generation(self, gen_id):
        """The record (a copy) or None; consumes one forced miss if any are left."""
        with self.lock:
            gen = self.generations.get(gen_id)
            if gen is None:
                return None
            if gen.misses > 0:
                gen.misses -= 1
                return None
            return dict(gen.record)

    def generations_dump(self):
        with self.lock:
            return sim_data.dumps([dict(g.record) for g in self.generations.values()])

    def key_usage(self, key):
        with self.lock:
            total = Decimal(0)
            for g in self.generations.values():
                if g.key == key:
                    total += g.record.get("total_cost") or Decimal(0)
            return total

    def clear_generations(self):
        with self.lock:
            n = len(self.generations)
            self.generations.clear()
            return n


def valid_endpoints(value, scenario):
    """Normalise the `endpoint` of a queue POST: a name, a list, "any", or None (default
    for the scenario).  Returns the list or raises ValueError."""
    if value is None:
        return sim_scenarios.default_endpoints(scenario)
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names:
        raise ValueError("endpoint must be a name or a non-empty list")
    for n in names:
        if n != "any" and n not in sim_scenarios.ENDPOINTS:
            raise ValueError("unknown endpoint %r" % (n,))
    return list(names)
