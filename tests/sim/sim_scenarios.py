"""Scenario names of the OpenRouter simulator: which exist, which endpoints a queued
entry applies to by default, and the OpenRouter-shaped error answers of error_<status>."""

import re

ERROR_STATUSES = (400, 401, 402, 403, 404, 408, 413, 422, 429, 500, 502, 503, 504, 524, 529)

# Endpoint names used by the queue: the API path they stand for.
ENDPOINTS = ("chat", "embeddings", "models", "generation", "key")

GENERIC = {"ok", "slow_first_byte", "hang"}
CHAT = {"comments", "crlf", "byte_by_byte", "mid_stream_error", "mid_stream_error_string",
        "cut", "choices_error", "fallback", "empty_first_chunk", "silence",
        "generation_404", "generation_cancelled"}
EMBEDDINGS = {"embeddings_base64_honoured", "embeddings_base64_ignored", "embeddings_empty",
              "embeddings_404"}

_ERROR_RE = re.compile(r"^error_([45]\d\d)$")

# HTTP reason phrases Python lacks.
REASONS = {524: "A Timeout Occurred", 529: "Site Is Overloaded"}

ERROR_TEXT = {
    400: "Invalid request: the upstream provider rejected the request",
    401: "User not found.",
    402: "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
    403: "Input flagged by moderation",
    404: "No endpoints found for %(model)s.",
    408: "Request timed out",
    413: "Request payload too large for %(model)s",
    422: "Unprocessable entity: the provider could not process the input",
    429: "Rate limit exceeded: %(model)s is temporarily rate-limited upstream",
    500: "Internal Server Error",
    502: "Provider returned error",
    503: "No available providers for %(model)s",
    504: "Gateway timeout",
    524: "Provider timed out",
    529: "Provider is overloaded",
}


def error_status(name):
    """The status of an error_<status> scenario name, else None."""
    m = _ERROR_RE.match(name or "")
    return int(m.group(1)) if m else None


def known(name):
    return name in GENERIC or name in CHAT or name in EMBEDDINGS or error_status(name) is not None


def default_endpoints(name):
    """Endpoints a queued entry applies to when the POST did not name them."""
    if name in EMBEDDINGS:
        return ["embeddings"]
    if name in CHAT:
        return ["chat"]
    return ["chat", "embeddings"]


def error_answer(status, model, options):
    """(status, extra headers, body) of an OpenRouter error.  Options: message,
    metadata, retry_after (null = no header)."""
    message = options.get("message") or (ERROR_TEXT.get(status, "Upstream error %d" % status)
                                         % {"model": model or "the model"})
    metadata = options.get("metadata")
    if metadata is None and status == 403:
        metadata = {"reasons": ["harassment"], "flagged_input": "[simulated flagged input]",
                    "provider_name": "OpenAI", "model_slug": model}
    if metadata is None and status == 429:
        # A model's provider limiting us; OpenRouter's own limits on a key
        # come without provider_name (ask with "metadata": {}).
        metadata = {"provider_name": "OpenAI", "raw": "simulated provider rate limit"}
    if metadata is None and status == 502:
        metadata = {"provider_name": "OpenAI", "raw": "simulated provider failure"}
    err = {"code": status, "message": message}
    if metadata is not None:
        err["metadata"] = metadata
    headers = []
    retry_after = options.get("retry_after", 1 if status in (429, 503) else None)
    if retry_after is not None:
        headers.append(("Retry-After", str(retry_after)))
    return status, headers, {"error": err}
