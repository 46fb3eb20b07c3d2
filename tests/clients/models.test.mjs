// Models through the official openai SDK: the list (OpenAI shape, OpenRouter's
// fields kept), retrieve with a slash in the id (the SDK percent-encodes it),
// an unknown id, and the list filtered by the app's allowedModels. Needs
// `aigw-admin models sync` to have filled the gateway's models table.
import test from 'node:test';
import assert from 'node:assert/strict';
import { NotFoundError } from 'openai';
import { GATEWAY, REQUEST_ID_RE, client, gatewayOnly, withConfig, checkGatewayError } from './common.mjs';

async function listIds(c) {
  const ids = [];
  for await (const m of c.models.list()) ids.push(m.id);
  return ids;
}

test('models: list', async () => {
  const models = [];
  for await (const m of client().models.list()) models.push(m);
  const ids = models.map((m) => m.id);
  for (const id of ['openai/gpt-4o', 'openai/gpt-4o-mini', 'openai/text-embedding-3-small'])
    assert.ok(ids.includes(id),
      `${id} listed (got [${ids.join(', ')}]; did \`aigw-admin models sync\` run?)`);
  const m = models.find((x) => x.id === 'openai/gpt-4o');
  assert.equal(m.pricing?.prompt, '0.0000025', 'pricing kept as strings');
  assert.equal(m.pricing?.completion, '0.00001');
  assert.equal(typeof m.context_length, 'number');
  if (GATEWAY) {
    for (const x of models) {
      assert.equal(x.object, 'model', `${x.id}: object`);
      assert.equal(typeof x.owned_by, 'string', `${x.id}: owned_by`);
    }
  }
});

test('models: retrieve openai/gpt-4o (percent-encoded)', async (t) => {
  if (!gatewayOnly(t)) return;
  const { data, response } = await client().models.retrieve('openai/gpt-4o').withResponse();
  assert.match(response.url, /\/models\/openai%2Fgpt-4o$/, 'the SDK encoded the slash');
  assert.equal(data.id, 'openai/gpt-4o');
  assert.equal(data.object, 'model');
  assert.equal(data.pricing?.prompt, '0.0000025');
  assert.match(data._request_id ?? '', REQUEST_ID_RE);
});

test('models: retrieve an unknown id is NotFoundError', async () => {
  await assert.rejects(client().models.retrieve('nope/no-such-model'), (err) => {
    assert.ok(err instanceof NotFoundError, `${err.constructor.name}: ${err.message}`);
    checkGatewayError(err, 404);
    return true;
  });
});

test('models: list filtered by allowedModels', async (t) => {
  if (!gatewayOnly(t)) return;
  const c = client();
  await withConfig({ allowedModels: ['openai/gpt-4o', 'anthropic/claude-3.5-sonnet'] }, async () => {
    const ids = await listIds(c);
    assert.deepEqual(ids.sort(), ['anthropic/claude-3.5-sonnet', 'openai/gpt-4o']);
    // The contract says only "unknown -> 404" for retrieve: a synced model outside
    // allowedModels may be either hidden (404) or refused (403).
    await assert.rejects(c.models.retrieve('openai/gpt-4o-mini'), (err) => {
      assert.ok([403, 404].includes(err.status), `status ${err.status}: ${err.message}`);
      return true;
    });
  });
  assert.ok((await listIds(c)).includes('openai/gpt-4o-mini'), 'list restored');
});
