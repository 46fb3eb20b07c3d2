// Embeddings through the official openai SDK: its default (it asks for base64
// and decodes little-endian float32 itself), explicit floats, and an upstream
// that ignores base64 (the gateway must still hand the SDK what it asked for).
// Reference vectors come from the simulator directly, as floats.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  GATEWAY, EMBED_MODEL, GENERATION_ID_RE, REQUEST_ID_RE, client, simEmbeddings,
  simLastSeq, simWaitFor, byUser, tag,
} from './common.mjs';

const INPUTS = ['The quick brown fox', 'jumps over the lazy dog.'];

function checkVectors(res, want) {
  assert.equal(res.object, 'list');
  assert.equal(res.data.length, want.length);
  res.data.forEach((d, i) => {
    assert.equal(d.object, 'embedding');
    assert.equal(d.index, i);
    assert.ok(Array.isArray(d.embedding), `embedding ${i} is an array`);
    assert.deepEqual(d.embedding, want[i], `embedding ${i} equals the upstream floats`);
  });
  assert.equal(typeof res.usage?.prompt_tokens, 'number');
}

test('embeddings: SDK default format (base64 asked and decoded)', async () => {
  const want = await simEmbeddings(INPUTS);
  const user = tag('emb');
  const seq = await simLastSeq();
  const { data, response } = await client()
    .embeddings.create({ model: EMBED_MODEL, input: INPUTS, user })
    .withResponse();
  checkVectors(data, want);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  assert.match(response.headers.get('x-generation-id') ?? '', GENERATION_ID_RE);
  if (GATEWAY) {
    assert.match(data._request_id ?? '', REQUEST_ID_RE);
    // Floats are always asked upstream; the gateway encodes base64 itself.
    const e = await simWaitFor(byUser(user), { since: seq });
    assert.ok(e, 'the simulator logged the request');
    assert.notEqual(e.body.encoding_format, 'base64', 'upstream asked for floats');
  }
});

test('embeddings: encoding_format float', async () => {
  const want = await simEmbeddings('float please');
  const res = await client().embeddings.create({
    model: EMBED_MODEL, input: 'float please', encoding_format: 'float',
  });
  checkVectors(res, want);
});

test('embeddings: dimensions pass through', async () => {
  const want = await simEmbeddings('sixteen');
  assert.equal(want[0].length, 8);
  const res = await client().embeddings.create({
    model: EMBED_MODEL, input: 'sixteen', dimensions: 16, encoding_format: 'float',
  });
  assert.equal(res.data[0].embedding.length, 16);
});

test('embeddings: upstream ignoring base64 still decodes right', async () => {
  const input = 'base64 ignored upstream';
  const want = await simEmbeddings(input);
  const res = await client().embeddings.create({
    model: EMBED_MODEL, input, sim: { scenario: 'embeddings_base64_ignored' },
  });
  if (GATEWAY) {
    checkVectors(res, want);
  } else {
    // Straight from the simulator the SDK decodes the float array as if it
    // were base64: silent garbage. This is what the gateway prevents.
    assert.notDeepEqual(res.data[0].embedding, want[0]);
  }
});
