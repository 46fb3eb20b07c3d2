// Chat completions through the official openai SDK: a plain answer with usage
// and cost, and streams in every wire shape the simulator produces (CRLF,
// comments, one byte per write, an empty first chunk), each assembled exactly
// and ended by [DONE].
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  GATEWAY, CHAT_MODEL, PRICES, REQUEST_ID_RE, GENERATION_ID_RE, answer, client,
  recordingFetch, tag, simLastSeq, simWaitFor, byUser,
} from './common.mjs';

const MESSAGES = [{ role: 'user', content: 'Say hello to the client suite.' }];
const PROMPT_TOKENS = Math.ceil(MESSAGES[0].content.length / 4);

function expectedCost(prompt, completion, model = CHAT_MODEL) {
  const p = PRICES[model];
  return prompt * p.prompt + completion * p.completion;
}

function checkUsage(usage, completion = 8) {
  assert.ok(usage, 'usage present');
  assert.equal(usage.prompt_tokens, PROMPT_TOKENS);
  assert.equal(usage.completion_tokens, completion);
  assert.equal(usage.total_tokens, PROMPT_TOKENS + completion);
  assert.equal(typeof usage.cost, 'number', 'usage.cost is a number');
  const want = expectedCost(PROMPT_TOKENS, completion);
  assert.ok(Math.abs(usage.cost - want) < 1e-12, `usage.cost ${usage.cost} != ${want}`);
}

test('chat: non-streaming answer, usage with cost, request id', async () => {
  const user = tag('chat');
  const seq = await simLastSeq();
  const { data, response, request_id: rid } = await client()
    .chat.completions.create({ model: CHAT_MODEL, messages: MESSAGES, user })
    .withResponse();
  assert.equal(data.object, 'chat.completion');
  assert.equal(data.model, CHAT_MODEL);
  assert.equal(data.choices.length, 1);
  assert.equal(data.choices[0].message.role, 'assistant');
  assert.equal(data.choices[0].message.content, answer(8));
  assert.equal(data.choices[0].finish_reason, 'stop');
  checkUsage(data.usage);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const gen = response.headers.get('x-generation-id');
  assert.match(gen ?? '', GENERATION_ID_RE, 'x-generation-id');
  assert.equal(gen, data.id, 'x-generation-id is the body id');
  if (GATEWAY) {
    assert.match(data._request_id ?? '', REQUEST_ID_RE, '_request_id (x-request-id)');
    assert.equal(rid, data._request_id);
  }
  // The upstream saw the request once, with the fields the client sent.
  const e = await simWaitFor(byUser(user), { since: seq });
  assert.ok(e, 'the simulator logged the request');
  assert.equal(e.body.model, CHAT_MODEL);
  assert.deepEqual(e.body.messages, MESSAGES);
  assert.equal(e.generation_id, data.id);
});

// Streams `sim` and checks the assembled answer, the usage chunk, and that the
// wire carried [DONE] and then ended (the iteration finished).
async function streamCase(sim, words = 8) {
  const rec = {};
  const { data: stream, response } = await client({ fetch: recordingFetch(rec) })
    .chat.completions.create({
      model: CHAT_MODEL, messages: MESSAGES, stream: true, user: tag('stream'),
      ...(sim ? { sim } : {}),
    })
    .withResponse();
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  if (GATEWAY) {
    assert.match(response.headers.get('x-request-id') ?? '', REQUEST_ID_RE);
    assert.match(response.headers.get('cache-control') ?? '', /no-cache/);
  }
  const chunks = [];
  let content = '';
  let finish = null;
  for await (const chunk of stream) {
    chunks.push(chunk);
    assert.equal(chunk.object, 'chat.completion.chunk');
    const c = chunk.choices?.[0];
    if (c?.delta?.content) content += c.delta.content;
    if (c?.finish_reason) finish = c.finish_reason;
  }
  assert.equal(content, answer(words));
  assert.equal(finish, 'stop');
  const last = chunks[chunks.length - 1];
  assert.deepEqual(last.choices, [], 'the usage chunk has choices: []');
  checkUsage(last.usage, words);
  assert.equal(chunks.filter((c) => c.usage).length, 1, 'usage arrives once');
  await rec.done;
  assert.equal(rec.error, undefined, `body read: ${rec.error}`);
  assert.match(rec.raw, /data: \[DONE\]\r?\n\r?\n\s*$/, '[DONE] is the last event');
  return { chunks, raw: rec.raw };
}

test('chat stream: ok', async () => {
  const { chunks } = await streamCase(null);
  assert.ok(chunks.length >= 10, `${chunks.length} chunks: deltas, finish, usage`);
});

test('chat stream: crlf line endings', async () => {
  await streamCase({ scenario: 'crlf' });
});

test('chat stream: comment lines', async () => {
  await streamCase({ scenario: 'comments' });
});

test('chat stream: byte by byte', async () => {
  await streamCase({ scenario: 'byte_by_byte' });
});

test('chat stream: empty first chunk', async () => {
  const { chunks } = await streamCase({ scenario: 'empty_first_chunk' });
  assert.deepEqual(chunks[0].choices, [], 'the first chunk has no choices');
  assert.equal(chunks[0].usage ?? null, null);
});

test('chat stream: more words, capped by max_tokens', async () => {
  const rec = {};
  const stream = await client({ fetch: recordingFetch(rec) }).chat.completions.create({
    model: CHAT_MODEL, messages: MESSAGES, stream: true, max_tokens: 5,
    sim: { scenario: 'ok', words: 20 },
  });
  let content = '';
  let finish = null;
  for await (const chunk of stream) {
    content += chunk.choices?.[0]?.delta?.content ?? '';
    finish = chunk.choices?.[0]?.finish_reason ?? finish;
  }
  assert.equal(content, answer(5));
  assert.equal(finish, 'length');
});
