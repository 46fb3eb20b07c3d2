// Each error class as the official openai SDK sees it: the typed exception,
// the status, and (through the gateway) the OpenAI error shape with the
// integer code and x-request-id. Upstream failures come from the simulator's
// error_* scenarios; mid-stream failures must make the stream iteration throw.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  APIError, APIConnectionError, AuthenticationError, BadRequestError, InternalServerError,
  NotFoundError, PermissionDeniedError, RateLimitError,
} from 'openai';
import {
  GATEWAY, CHAT_MODEL, answer, client, tag, simLastSeq, simRequests, byUser, withConfig,
  gatewayOnly, checkGatewayError,
} from './common.mjs';

const MESSAGES = [{ role: 'user', content: 'Trigger an error.' }];

function chat(extra = {}, opts = {}) {
  return client({ maxRetries: 0, ...opts }).chat.completions.create({
    model: CHAT_MODEL, messages: MESSAGES, ...extra,
  });
}

// Asserts the promise rejects with an instance of cls and the given status.
async function rejectsWith(promise, cls, status) {
  let caught = null;
  await assert.rejects(promise, (err) => {
    caught = err;
    assert.ok(err instanceof cls, `${err.constructor.name} (${err.status}): ${err.message}`);
    checkGatewayError(err, status);
    return true;
  });
  return caught;
}

// How many requests carrying `user` reached the upstream since seq.
async function upstreamCount(user, seq) {
  return (await simRequests(seq)).filter(byUser(user)).length;
}

test('errors: 401 bad key is AuthenticationError', async () => {
  const user = tag('401');
  const seq = await simLastSeq();
  const bad = GATEWAY ? `aigw_${'A'.repeat(43)}` : 'not-a-key';
  await rejectsWith(chat({ user }, { apiKey: bad }), AuthenticationError, 401);
  if (GATEWAY) assert.equal(await upstreamCount(user, seq), 0, 'no upstream call');
});

test('errors: 403 model outside allowedModels is PermissionDeniedError', async (t) => {
  if (!gatewayOnly(t)) return;
  const user = tag('403');
  const seq = await simLastSeq();
  await withConfig({ allowedModels: ['openai/gpt-4o'] }, async () => {
    await rejectsWith(chat({ user }), PermissionDeniedError, 403);
    // The allowed model still works.
    const ok = await chat({ model: 'openai/gpt-4o' });
    assert.equal(ok.model, 'openai/gpt-4o');
  });
  assert.equal(await upstreamCount(user, seq), 0, 'no upstream call');
});

test('errors: 403 from upstream (moderation) is PermissionDeniedError', async () => {
  const err = await rejectsWith(chat({ sim: { scenario: 'error_403' } }), PermissionDeniedError, 403);
  assert.ok(err.message.length > 0);
});

test('errors: 400 max_tokens over the cap is BadRequestError', async (t) => {
  if (!gatewayOnly(t)) return;
  const user = tag('400');
  const seq = await simLastSeq();
  await withConfig({ maxTokensPerRequest: 50 }, async () => {
    await rejectsWith(chat({ user, max_tokens: 51 }), BadRequestError, 400);
    await rejectsWith(chat({ user, max_completion_tokens: 100 }), BadRequestError, 400);
    // At the cap it passes.
    const ok = await chat({ max_tokens: 50 });
    assert.equal(ok.choices[0].message.content, answer(8));
  });
  assert.equal(await upstreamCount(user, seq), 0, 'no upstream call');
});

test('errors: 400 from upstream is BadRequestError', async () => {
  await rejectsWith(chat({ max_tokens: 0 }), BadRequestError, 400);
});

test('errors: 404 unknown model from upstream is NotFoundError', async () => {
  const err = await rejectsWith(chat({ model: 'nope/no-such-model' }), NotFoundError, 404);
  assert.match(err.message, /not a valid model ID/, 'the upstream message is kept');
});

test('errors: 429 from upstream is RateLimitError with retry-after', async () => {
  const err = await rejectsWith(chat({ sim: { scenario: 'error_429' } }), RateLimitError, 429);
  assert.ok(err.headers.get('retry-after'), 'retry-after passed to the client');
});

test('errors: 502 from upstream is InternalServerError', async () => {
  const user = tag('502');
  const seq = await simLastSeq();
  const err = await rejectsWith(chat({ user, sim: { scenario: 'error_502' } }), InternalServerError, 502);
  assert.ok(err instanceof APIError);
  assert.equal(await upstreamCount(user, seq), 1, 'maxRetries 0: one upstream call');
});

// Through the gateway an upstream 402 on the platform key is the operator's
// account, not the app's quota: a 503 the SDK is told not to retry.
test('errors: 402 from upstream is not retried (503 through the gateway)', async () => {
  const user = tag('402');
  const seq = await simLastSeq();
  // Default retries: the SDK must still not retry it.
  const status = GATEWAY ? 503 : 402;
  const err = await rejectsWith(
    chat({ user, sim: { scenario: 'error_402' } }, { maxRetries: 2 }), APIError, status);
  assert.ok(!(err instanceof APIConnectionError));
  if (GATEWAY) assert.ok(err instanceof InternalServerError);
  assert.equal(await upstreamCount(user, seq), 1, 'one upstream call');
});

// Streams until the iteration throws; returns the content seen and the error.
async function streamUntilError(sim) {
  const stream = await chat({ stream: true, sim });
  let content = '';
  let error = null;
  try {
    for await (const chunk of stream) content += chunk.choices?.[0]?.delta?.content ?? '';
  } catch (e) {
    error = e;
  }
  return { content, error };
}

for (const scenario of ['mid_stream_error', 'mid_stream_error_string']) {
  test(`errors: ${scenario} makes the stream iteration throw`, async () => {
    const { content, error } = await streamUntilError({ scenario, after: 3 });
    assert.equal(content, answer(3), 'the deltas before the error arrived');
    assert.ok(error instanceof APIError, `iteration threw an APIError (got ${error})`);
    assert.equal(typeof error.error?.message, 'string', 'error event carries a message');
  });
}

test('errors: a cut upstream stream makes the iteration throw', async () => {
  const { content, error } = await streamUntilError({ scenario: 'cut', after: 2 });
  assert.equal(content, answer(2));
  assert.ok(error, 'iteration threw: never a silent end');
  if (GATEWAY) {
    // The gateway turns the cut into an error event, not a broken body.
    assert.ok(error instanceof APIError && !(error instanceof APIConnectionError),
      `an error event (got ${error?.constructor?.name}: ${error?.message})`);
  }
});
