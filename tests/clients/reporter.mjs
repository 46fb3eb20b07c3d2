// node --test reporter for tests/run: one "PASS: clients[KIND]: name" /
// "FAIL: ..." / "SKIP: ..." line per test (failures followed by their error,
// indented), then "N passed, N failed". KIND comes from AIGW_CLIENTS_KIND.
const KIND = process.env.AIGW_CLIENTS_KIND || 'sim';

function indent(text) {
  return String(text)
    .split('\n')
    .filter((l) => !/\(node:|at node:/.test(l)) // node's own frames say nothing
    .slice(0, 30)
    .map((l) => `    ${l}`)
    .join('\n');
}

function describeError(err) {
  // node:test wraps the test's error: show the cause (assertion, SDK error).
  const e = err?.cause ?? err;
  if (!e) return 'unknown error';
  let s = e.stack || e.message || String(e);
  if (e.cause && e.cause !== e) s += `\ncaused by: ${e.cause.stack || e.cause}`;
  return s;
}

export default async function* reporter(source) {
  let passed = 0;
  let failed = 0;
  for await (const event of source) {
    const d = event.data;
    if (event.type === 'test:diagnostic') {
      // A test's t.diagnostic() lines follow its PASS/FAIL line; they name
      // their file, the run's summary lines do not.
      if (d.file) yield `    note: ${d.message}\n`;
    } else if (event.type === 'test:pass' && d.details?.type !== 'suite') {
      if (d.skip || d.todo) {
        yield `SKIP: clients[${KIND}]: ${d.name}${typeof d.skip === 'string' ? ` (${d.skip})` : ''}\n`;
      } else {
        passed++;
        yield `PASS: clients[${KIND}]: ${d.name} (${Math.round(d.details?.duration_ms ?? 0)} ms)\n`;
      }
    } else if (event.type === 'test:fail' && d.details?.type !== 'suite') {
      failed++;
      yield `FAIL: clients[${KIND}]: ${d.name}\n${indent(describeError(d.details?.error))}\n`;
    } else if (event.type === 'test:stderr' || event.type === 'test:stdout') {
      // Output of a test process (e.g. the SDK's own logging) goes to stderr.
      process.stderr.write(d.message);
    }
  }
  yield `${passed} passed, ${failed} failed\n`;
}
