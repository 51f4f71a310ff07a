import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunLogWriter, sampleLine, sampleLineParts, scanForResume, dropTornTail } from '../src/run/log-writer.js';
import { iterateRunLog } from '../src/run/log-reader.js';
import { RUN_LOG_SCHEMA, type RunHeader, type SampleRecord } from '../src/run/types.js';
import { tmp, config } from './helpers.js';

const header = (): RunHeader => ({
  type: 'header',
  schema: RUN_LOG_SCHEMA,
  runId: 'r-test',
  suite: { id: 't.s', version: '1.0.0', digest: 'sha256:00', file: '/x/suite.yaml', definition: {} as RunHeader['suite']['definition'], dataDigests: {} },
  model: { name: 'openai/sim', provider: 'openai', model: 'sim', baseUrl: 'http://127.0.0.1:1/v1', simulated: true },
  config: config(),
  assayVersion: '0.0.0',
  startedAt: '2026-01-01T00:00:00.000Z',
});

const sample = (key: string, content: string): SampleRecord => ({
  type: 'sample',
  key,
  sampleId: key.split('#')[0]!,
  epoch: 1,
  sample: { id: key.split('#')[0]!, input: 'q', metadata: {} },
  messages: [{ role: 'user', content: 'q' }],
  request: { maxTokens: 5 },
  sent: { url: 'http://127.0.0.1:1/v1/chat/completions', body: { model: 'sim', messages: [{ role: 'user', content: 'q' }], max_tokens: 5 } },
  output: { content, logprobs: null, finishReason: 'stop', requestId: null, model: 'sim', raw: { choices: [{ message: { content } }] } },
  usage: { inputTokens: 1, outputTokens: 1 },
  timing: { startedAt: '2026-01-01T00:00:00.000Z', latencyMs: 1, attempts: 1 },
  scores: {},
  error: null,
});

test('sample lines embed the wire texts verbatim and parse to the same record', () => {
  // Hostile content that looks like the placeholder must not confuse the splice.
  for (const content of ['A', '\u0000assay-x-sent', '"},{"evil":1', 'line\nbreak']) {
    const rec = sample('s1#1', content);
    const wire = { request: JSON.stringify(rec.sent!.body), response: JSON.stringify(rec.output!.raw) };
    const line = sampleLine(rec, wire);
    assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
    assert.deepEqual(JSON.parse(line), JSON.parse(JSON.stringify(rec)));
    assert.ok(line.includes(wire.response), 'response bytes appear verbatim');
  }
  // A pretty-printed response (with line breaks) is re-serialised so the log stays one record per line.
  const rec = sample('s2#1', 'B');
  const line = sampleLine(rec, { request: '{"a":1}', response: '{\n "x": 1\n}' });
  assert.deepEqual(JSON.parse(line), JSON.parse(JSON.stringify(rec)));
});

test('writer refuses to overwrite; reader skips a torn tail but rejects corruption mid-file', async () => {
  const dir = tmp();
  const path = join(dir, 'log.jsonl');
  const w = await RunLogWriter.create(path);
  w.write(header());
  w.writeLine(sampleLine(sample('a#1', 'A')));
  w.writeLine(sampleLine(sample('b#1', 'B')));
  await w.close();
  await assert.rejects(RunLogWriter.create(path), /already exists/);

  appendFileSync(path, '{"type":"sample","key":"c#1"'); // torn tail from a crash
  const keys: string[] = [];
  for await (const r of iterateRunLog(path)) if (r.type === 'sample') keys.push(r.key);
  assert.deepEqual(keys, ['a#1', 'b#1']);

  const scan = await scanForResume(path);
  assert.deepEqual([...scan.doneKeys], ['a#1', 'b#1']);
  assert.ok(scan.tornBytes > 0);
  await dropTornTail(path, scan);
  assert.ok(readFileSync(path, 'utf8').endsWith('}\n'));

  // Garbage in the middle is corruption, named with its line.
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.splice(1, 0, 'not json');
  writeFileSync(path, lines.join('\n'));
  await assert.rejects(async () => {
    for await (const _ of iterateRunLog(path));
  }, /log\.jsonl:2: line is not valid JSON/);
  await assert.rejects(scanForResume(path), /log\.jsonl.*:2: line is not a valid record/);
});

test('writer: multi-byte text, a record larger than its buffer, and many batches come back byte for byte', async () => {
  const dir = tmp();
  const path = join(dir, 'log.jsonl');
  const w = await RunLogWriter.create(path);
  const lines: string[] = [JSON.stringify(header()) + '\n'];
  w.write(header());
  // 3-byte (CJK) and 4-byte (surrogate pair) characters; a 1.2 MB record; then bursts across many drains.
  const texts = ['Ünïcödé', '漢字かな'.repeat(50), '🧪🔬'.repeat(100)];
  const big: Record<number, string> = { 700: 'x'.repeat(1_200_000), 701: '中'.repeat(300_000), 1201: '🧪'.repeat(200_000) };
  for (let i = 0; i < 3000; i++) {
    const rec = sample(`k${i}#1`, big[i] ?? texts[i % texts.length]!);
    // Odd records go in as pieces with verbatim wire texts (the engine's path), even ones as whole lines.
    const wire = { request: JSON.stringify(rec.sent!.body), response: JSON.stringify(rec.output!.raw) };
    const parts = i % 2 ? sampleLineParts(rec, wire) : [sampleLine(rec)];
    lines.push(parts.join(''));
    w.writeParts(parts);
    if (i % 500 === 0) await new Promise((r) => setImmediate(r));
  }
  await w.close();
  assert.equal(readFileSync(path, 'utf8'), lines.join(''));
});

test('a log whose first line is not a header, or of another schema, is refused with the field named', async () => {
  const dir = tmp();
  const a = join(dir, 'a.jsonl');
  writeFileSync(a, JSON.stringify(sample('a#1', 'A')) + '\n');
  await assert.rejects(async () => {
    for await (const _ of iterateRunLog(a));
  }, /a\.jsonl:1: first line is not a run header/);
  const b = join(dir, 'b.jsonl');
  writeFileSync(b, JSON.stringify({ ...header(), schema: 'assay.run-log/v9' }) + '\n');
  await assert.rejects(async () => {
    for await (const _ of iterateRunLog(b));
  }, /b\.jsonl:1, field "schema": unsupported run log schema/);
  const c = join(dir, 'c.jsonl');
  writeFileSync(c, JSON.stringify(header()) + '\n' + JSON.stringify(sample('a#1', 'A')) + '\n' + JSON.stringify(sample('a#1', 'A')) + '\n');
  await assert.rejects(scanForResume(c), /sample key "a#1" appears twice/);
});
