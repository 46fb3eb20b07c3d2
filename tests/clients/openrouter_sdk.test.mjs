// Models through OpenRouter's own TypeScript SDK (@openrouter/sdk), which
// validates every answer against its schema: the list must keep OpenRouter's
// envelope (links, total_count) and every record's fields, or models.list()
// throws. Also the list filtered by the app's allowedModels (total_count
// counts what the app gets), and paging with limit/offset as the SDK's page
// iterator does it. Needs `aigw-admin models sync` to have filled the
// gateway's models table from the simulator.
import test from 'node:test';
import assert from 'node:assert/strict';
import { OpenRouter } from '@openrouter/sdk';
import { BASE_URL, CLIENT_KEY, GATEWAY, gatewayOnly, withConfig } from './common.mjs';

const KNOWN = ['openai/gpt-4o', 'openai/gpt-4o-mini', 'openai/text-embedding-3-small'];

function sdk() {
  // No retries: a 5xx must fail the test now, not after the SDK's hour of backoff.
  return new OpenRouter({
    apiKey: CLIENT_KEY, serverURL: BASE_URL, timeoutMs: 20000, retryConfig: { strategy: 'none' },
  });
}

// Every page of a list call, as the SDK's page iterator yields them.
async function pages(request) {
  const out = [];
  for await (const page of await sdk().models.list(request)) {
    out.push(page.result);
    assert.ok(out.length <= 50, 'the page iterator does not stop');
  }
  return out;
}

test('openrouter sdk: models.list validates, with the synced models', async () => {
  const res = await sdk().models.list();
  const list = res.result;
  const ids = list.data.map((m) => m.id);
  for (const id of KNOWN)
    assert.ok(ids.includes(id),
      `${id} listed (got [${ids.join(', ')}]; did \`aigw-admin models sync\` run?)`);
  assert.equal(list.totalCount, list.data.length, 'total_count counts the whole list');
  assert.equal(list.links.next, null, 'the whole list: no next page');
  const m = list.data.find((x) => x.id === 'openai/gpt-4o');
  // the SDK's own (camelCased) view of the record the upstream sent
  assert.equal(m.pricing.prompt, '0.0000025');
  assert.equal(m.pricing.completion, '0.00001');
  assert.equal(m.contextLength, 128000);
  assert.equal(m.canonicalSlug, 'openai/gpt-4o');
  assert.equal(m.topProvider.maxCompletionTokens, 16384);
  assert.equal(m.links.details, '/api/v1/models/openai/gpt-4o/endpoints');
  assert.deepEqual(m.architecture.outputModalities, ['text']);
});

test('openrouter sdk: models.list filtered by allowedModels', async (t) => {
  if (!gatewayOnly(t)) return;
  const allowed = ['openai/gpt-4o', 'anthropic/claude-3.5-sonnet', 'not/synced'];
  await withConfig({ allowedModels: allowed }, async () => {
    const list = (await sdk().models.list()).result;
    assert.deepEqual(list.data.map((m) => m.id).sort(),
      ['anthropic/claude-3.5-sonnet', 'openai/gpt-4o']);
    assert.equal(list.totalCount, 2, 'total_count counts what the app may use');
    assert.equal(list.links.next, null);
  });
});

test('openrouter sdk: paging with limit follows every page', async () => {
  const whole = (await sdk().models.list()).result;
  const got = await pages({ limit: 2 });
  assert.equal(got.length, Math.ceil(whole.data.length / 2) + (whole.data.length % 2 ? 0 : 1),
    'pages of 2, then the empty or short page that ends the iteration');
  for (const p of got) {
    assert.ok(p.data.length <= 2);
    assert.equal(p.totalCount, whole.data.length, 'total_count is the whole list on every page');
  }
  assert.deepEqual(got.flatMap((p) => p.data.map((m) => m.id)), whole.data.map((m) => m.id));
  assert.match(got[0].links.next ?? '', /[?&]offset=2&limit=2$/, 'links.next names the next page');
  assert.equal(got[got.length - 1].links.next, null);
});

test('openrouter sdk: models.list with an offset past the end is empty', async () => {
  const list = (await sdk().models.list({ offset: 1000 })).result;
  assert.deepEqual(list.data, []);
  assert.ok(list.totalCount >= KNOWN.length);
});

test('openrouter sdk: a bad limit is a 400', async () => {
  await assert.rejects(sdk().models.list({ limit: 0 }), (err) => {
    assert.equal(err.statusCode, 400, `${err.constructor.name}: ${err.message}`);
    return true;
  });
});

// The SDK's single-model call is GET /model/{author}/{slug} answered
// {"data": record}: OpenRouter's route, not the OpenAI-style
// /models/{id} the gateway serves (the openai SDK's models.retrieve, in
// models.test.mjs). The gateway has no such route, so this runs against the
// simulator only.
test('openrouter sdk: models.get one model', async (t) => {
  if (GATEWAY) {
    t.skip('the gateway has no /v1/{app}/model/{author}/{slug} route');
    return;
  }
  const res = await sdk().models.get({ author: 'openai', slug: 'gpt-4o' });
  assert.equal(res.data.id, 'openai/gpt-4o');
  assert.equal(res.data.pricing.prompt, '0.0000025');
});

test('openrouter sdk: the raw list keeps OpenAI\'s object fields for the openai SDK', async (t) => {
  if (!gatewayOnly(t)) return;
  const res = await fetch(`${BASE_URL}/models`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.equal(doc.object, 'list');
  assert.equal(doc.total_count, doc.data.length);
  assert.deepEqual(doc.links, { next: null });
  for (const m of doc.data) {
    assert.equal(m.object, 'model', `${m.id}: object`);
    assert.equal(typeof m.owned_by, 'string', `${m.id}: owned_by`);
  }
  assert.ok(GATEWAY);
});
