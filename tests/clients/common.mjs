// Shared setup for the real-client suite: where the official openai SDK points
// (the gateway, or the OpenRouter simulator directly to debug the tests), the
// simulator's control API, the app's config through the admin key, and the
// simulator's deterministic answers. Every test file imports this.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run tests/clients/run.sh)`);
  return v;
}

// TARGET is "gateway" (the default when AIGW_BASE_URL is set) or "sim": the
// SDK talks to the simulator itself, so gateway-only checks are skipped.
export const TARGET =
  process.env.AIGW_CLIENT_TARGET || (process.env.AIGW_BASE_URL ? 'gateway' : 'sim');
export const GATEWAY = TARGET === 'gateway';
export const SIM_URL = need('AIGW_SIM_URL').replace(/\/+$/, '');
export const SIM_KEY = 'sk-or-test';
export const APP = GATEWAY ? need('AIGW_TEST_APP') : null;
export const BASE_URL = GATEWAY
  ? `${need('AIGW_BASE_URL').replace(/\/+$/, '')}/v1/${APP}`
  : `${SIM_URL}/api/v1`;
export const CLIENT_KEY = GATEWAY ? need('AIGW_TEST_CLIENT_KEY') : SIM_KEY;
const ADMIN_KEY = GATEWAY ? need('AIGW_TEST_ADMIN_KEY') : null;

export const CHAT_MODEL = 'openai/gpt-4o-mini';
export const EMBED_MODEL = 'openai/text-embedding-3-small';
export const REQUEST_ID_RE = /^req_[0-9a-f]{24}$/;
export const GENERATION_ID_RE = /^gen-/;

// Prices of tests/sim/models.json (USD per token) used to check usage.cost.
export const PRICES = {
  'openai/gpt-4o-mini': { prompt: 0.00000015, completion: 0.0000006 },
};

// The simulator's answer: word i is WORDS[i % 16], one word per content delta.
const WORDS = ['Hello', ' from', ' the', ' OpenRouter', ' simulator', ':', ' a',
  ' deterministic', ' answer', ' made', ' of', ' one', ' word', ' per', ' delta', '.'];
export function answer(n = 8) {
  let s = '';
  for (let i = 0; i < n; i++) s += WORDS[i % WORDS.length];
  return s;
}

// The error type for each status (README: Calling aigw).
export const ERROR_TYPES = {
  400: 'invalid_request_error', 401: 'authentication_error', 402: 'insufficient_quota',
  403: 'permission_error', 404: 'not_found_error', 429: 'rate_limit_error',
  500: 'server_error', 502: 'upstream_error', 503: 'service_unavailable',
  504: 'upstream_error',
};

// A tag for the `user` field, passed upstream unchanged, to find a request in
// the simulator's log.
export function tag(name) {
  return `aigw-clients-${name}-${process.pid}-${Math.random().toString(16).slice(2, 10)}`;
}

// A fetch that hands the SDK the response unchanged and keeps a copy of the raw
// body (rec.raw once `await rec.done`), to see what was on the wire.
export function recordingFetch(rec) {
  return async (url, init) => {
    const res = await fetch(url, init);
    rec.status = res.status;
    rec.headers = res.headers;
    if (!res.body) {
      rec.raw = '';
      rec.done = Promise.resolve();
      return res;
    }
    const [mine, theirs] = res.body.tee();
    const parts = [];
    rec.done = (async () => {
      const reader = theirs.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parts.push(Buffer.from(value));
        }
      } catch (e) {
        rec.error = e;
      }
      rec.raw = Buffer.concat(parts).toString('utf8');
    })();
    return new Response(mine, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

export function client(opts = {}) {
  return new OpenAI({ baseURL: BASE_URL, apiKey: CLIENT_KEY, timeout: 20000, ...opts });
}

// ---- the simulator's control API -------------------------------------------------

export async function simControl(method, path, body) {
  const res = await fetch(`${SIM_URL}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `simulator ${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

export async function simLastSeq() {
  const log = await simControl('GET', '/_sim/requests');
  return log.length ? log[log.length - 1].seq : 0;
}

export async function simRequests(since = 0) {
  return simControl('GET', `/_sim/requests?since=${since}`);
}

// The first logged request after `since` that satisfies pred, polling every
// intervalMs for up to timeoutMs; null if none.
export async function simWaitFor(pred, { since = 0, timeoutMs = 3000, intervalMs = 10 } = {}) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    for (const e of await simRequests(since)) if (pred(e)) return e;
    if (performance.now() >= deadline) return null;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function byUser(user) {
  return (e) => e.body && typeof e.body === 'object' && e.body.user === user;
}

// Reference vectors: the simulator's float answer for the same input, asked of
// the simulator directly.
export async function simEmbeddings(input, model = EMBED_MODEL) {
  const res = await fetch(`${SIM_URL}/api/v1/embeddings`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SIM_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, input, encoding_format: 'float' }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.data.map((d) => d.embedding);
}

// CLOCK_MONOTONIC seconds, the clock of the simulator's started/closed_at
// (libuv's hrtime is CLOCK_MONOTONIC on Linux; tests check that before use).
export function monotonic() {
  return Number(process.hrtime.bigint()) / 1e9;
}

// ---- the gateway's admin API -----------------------------------------------------

export async function putConfig(cfg) {
  const res = await fetch(`${BASE_URL}/ai/config`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(cfg),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `PUT /ai/config ${JSON.stringify(cfg)}: ${res.status} ${text}`);
  return JSON.parse(text);
}

// Runs fn with the app's config changed, then clears what was set.
export async function withConfig(cfg, fn) {
  await putConfig(cfg);
  try {
    return await fn();
  } finally {
    const clear = {};
    for (const k of Object.keys(cfg)) clear[k] = null;
    await putConfig(clear);
  }
}

// Skips a gateway-only test when the SDK talks to the simulator directly.
export function gatewayOnly(t) {
  if (!GATEWAY) {
    t.skip('gateway only');
    return false;
  }
  return true;
}

// The checks every gateway error passes (README: Calling aigw, errors).
export function checkGatewayError(err, status) {
  assert.equal(err.status, status, `status: ${err.message}`);
  if (!GATEWAY) return;
  assert.equal(err.code, status, 'error.code is the integer status');
  assert.equal(typeof err.error?.message, 'string');
  if (ERROR_TYPES[status]) assert.equal(err.type, ERROR_TYPES[status], 'error.type');
  assert.match(err.requestID ?? '', REQUEST_ID_RE, 'x-request-id on the error');
}
