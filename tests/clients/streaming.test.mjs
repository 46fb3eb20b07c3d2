// Streaming behaviour that needs a clock: deltas paced 100 ms apart upstream
// reach the SDK 100 ± 30 ms apart (nothing on the way buffers them), and a
// client that aborts mid-stream makes the upstream connection close within 1 s.
// tests/run runs this suite once per web server kind.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  CHAT_MODEL, answer, client, tag, simLastSeq, simWaitFor, byUser, monotonic,
} from './common.mjs';

const MESSAGES = [{ role: 'user', content: 'Stream slowly, please.' }];

test('stream pacing: deltas 100 ms apart arrive 100 ± 30 ms apart', async (t) => {
  const stream = await client().chat.completions.create({
    model: CHAT_MODEL, messages: MESSAGES, stream: true,
    sim: { scenario: 'ok', delay_ms: 100, words: 10 },
  });
  const times = [];
  let content = '';
  for await (const chunk of stream) {
    const piece = chunk.choices?.[0]?.delta?.content;
    if (piece) {
      times.push(performance.now());
      content += piece;
    }
  }
  assert.equal(content, answer(10));
  assert.equal(times.length, 10, 'one chunk per word');
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  const shown = gaps.map((g) => g.toFixed(1)).join(', ');
  t.diagnostic(`gaps (ms): ${shown}`);
  // The first gap may absorb connection set-up jitter: skip it.
  for (const [i, g] of gaps.entries()) {
    if (i === 0) continue;
    assert.ok(g >= 70 && g <= 130, `gap ${i + 1} is ${g.toFixed(1)} ms (gaps: ${shown})`);
  }
});

test('stream abort: the upstream connection closes within 1 s', async (t) => {
  const user = tag('abort');
  const seq = await simLastSeq();
  const sentMono = monotonic();
  const stream = await client({ maxRetries: 0 }).chat.completions.create({
    model: CHAT_MODEL, messages: MESSAGES, stream: true, user,
    sim: { scenario: 'ok', delay_ms: 200, words: 50 },
  });
  let content = '';
  let seen = 0;
  let abortMono = 0;
  let abortWall = 0;
  for await (const chunk of stream) {
    const piece = chunk.choices?.[0]?.delta?.content;
    if (!piece) continue;
    content += piece;
    if (++seen === 2) {
      abortMono = monotonic();
      abortWall = performance.now();
      stream.controller.abort();
      break;
    }
  }
  assert.equal(seen, 2, 'two deltas before the abort');
  assert.equal(content, answer(2));

  const e = await simWaitFor((x) => byUser(user)(x) && x.client_aborted, {
    since: seq, timeoutMs: 3000, intervalMs: 10,
  });
  const noticedWall = performance.now();
  assert.ok(e, 'the simulator saw the client abort within 3 s');
  assert.equal(e.outcome, 'client_aborted');
  assert.equal(typeof e.closed_at, 'number');
  assert.ok(e.completion_tokens < 50, `billed ${e.completion_tokens} of 50 words`);

  // closed_at is CLOCK_MONOTONIC, like process.hrtime on Linux: use it when the
  // request's own start time proves the clocks agree; otherwise fall back to
  // the wall time until the polling saw it (an upper bound).
  const clocksAgree = e.started >= sentMono - 0.05 && e.started <= abortMono + 0.05;
  if (clocksAgree) {
    const dt = e.closed_at - abortMono;
    t.diagnostic(`upstream closed ${(dt * 1000).toFixed(1)} ms after the abort (closed_at)`);
    assert.ok(dt > -0.05 && dt < 1.0, `upstream closed ${(dt * 1000).toFixed(0)} ms after the abort`);
  } else {
    const dt = noticedWall - abortWall;
    t.diagnostic(`upstream close seen ${dt.toFixed(1)} ms after the abort (polling)`);
    assert.ok(dt < 1000, `upstream close noticed ${dt.toFixed(0)} ms after the abort`);
  }
});
