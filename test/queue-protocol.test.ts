import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseQueueUrl } from '../src/queue/connection.js';
import { jobIdFor, parseJob, parseResult, queueJsonSchemas } from '../src/queue/protocol.js';
import type { WorkUnit } from '../src/run/types.js';
import { ROOT } from './helpers.js';

test('queue URLs: redis:// and rediss:// with db, user and password; anything else is a located error; the password is never displayed', () => {
  const t = parseQueueUrl('redis://user:s%3Acret@10.0.0.5:6380/3', 'p1');
  assert.deepEqual({ host: t.connection.host, port: t.connection.port, db: t.connection.db, user: t.connection.username, pw: t.connection.password }, { host: '10.0.0.5', port: 6380, db: 3, user: 'user', pw: 's:cret' });
  assert.ok(!t.display.includes('s%3Acret') && !t.display.includes('s:cret'));
  assert.ok(parseQueueUrl('rediss://h').connection.tls);
  assert.equal(parseQueueUrl('redis://h').connection.db, 0);
  for (const [url, prefix] of [['http://h:6379/0', 'assay'], ['redis://h/16', 'assay'], ['redis://h/1x', 'assay'], ['not a url', 'assay'], ['redis://h/0', 'a:b'], ['redis://h/0', ''], ['redis://h/0', 'x'.repeat(65)]] as const)
    assert.throws(() => parseQueueUrl(url, prefix), (e: Error & { code?: string }) => e.code === 'QUEUE_URL' || e.code === 'QUEUE_PREFIX', `${url} ${prefix}`);
});

test('job ids: one per (run, sample, epoch), never containing ":" whatever the sample id', () => {
  const keys = ['a#1', 'a#2', 'b:c#1', 'ü\u0000#1', '../../x#1', `${'z'.repeat(5000)}#1`];
  const ids = keys.map((k) => jobIdFor('r-1', k));
  assert.equal(new Set(ids).size, keys.length);
  for (const id of ids) assert.ok(!id.includes(':') && id.startsWith('r-1.') && id.length < 80);
  assert.equal(jobIdFor('r-1', 'a#1'), jobIdFor('r-1', 'a#1'));
  assert.notEqual(jobIdFor('r-1', 'a#1'), jobIdFor('r-2', 'a#1'));
});

const sample = { id: 's1', input: 'What is 1 + 1?', metadata: { op: 'add' }, target: '2', source: { file: 'd.jsonl', line: 1 } };
const unit: WorkUnit = { key: 's1#1', sample, epoch: 1 };

test('a worker refuses malformed jobs: wrong version, hostile run id, a key that is not sample#epoch', () => {
  const good = { v: 1, runId: 'r-1', key: 's1#1', epoch: 1, sample };
  assert.equal(parseJob(good).key, 's1#1');
  // The original object is kept, key order included (the record carries the sample as read).
  assert.deepEqual(Object.keys(parseJob(good).sample), Object.keys(sample));
  for (const bad of [{ ...good, v: 2 }, { ...good, runId: '../etc' }, { ...good, runId: 'a:b' }, { ...good, key: 's2#1' }, { ...good, epoch: 0 }, { ...good, sample: { ...sample, metadata: null } }, null, 'x'])
    assert.throws(() => parseJob(bad), /malformed unit job/);
});

test('a coordinator refuses a result for another unit, with another sample, or produced from another prompt', () => {
  const messages = [{ role: 'user', content: 'What is 1 + 1?' }];
  const { source: _s, ...recSample } = sample;
  const rec = { type: 'sample', key: 's1#1', sampleId: 's1', epoch: 1, sample: recSample, messages, scores: {}, error: null };
  const result = { v: 1, outcome: { rec, failure: null, answered: true, simulated: true, events: [] }, attempt: 1, stalled: 0, worker: 'w' };
  assert.equal(parseResult(JSON.stringify(result), unit, messages).outcome.rec.key, 's1#1');
  assert.throws(() => parseResult(result, { ...unit, key: 's1#2', epoch: 2 }, messages), /came back for unit/);
  assert.throws(() => parseResult({ ...result, outcome: { ...result.outcome, rec: { ...rec, sample: { ...recSample, target: '3' } } } }, unit, messages), /different sample/);
  assert.throws(() => parseResult(result, unit, [{ role: 'user', content: 'Ignore that. What is 1 + 1?' }]), /different prompt/);
  assert.throws(() => parseResult({ ...result, v: 2 }, unit, messages), /malformed result/);
  assert.throws(() => parseResult({ ...result, outcome: { ...result.outcome, events: [{ type: 'event', at: 'x', kind: 'resume', detail: {} }] } }, unit, messages), /malformed result/);
});

test('the published queue schemas are the ones the code validates with', () => {
  const s = queueJsonSchemas();
  assert.deepEqual(JSON.parse(readFileSync(join(ROOT, 'schemas/queue-job.v1.schema.json'), 'utf8')), s.job);
  assert.deepEqual(JSON.parse(readFileSync(join(ROOT, 'schemas/queue-result.v1.schema.json'), 'utf8')), s.result);
});

test('the coordinator recomputes each result\'s deterministic scores: a forged score, or a score on an errored record, is named and refused', async () => {
  const { startTarget } = await import('../src/target/server.js');
  const { loadSuite } = await import('../src/suite/load.js');
  const { createModel } = await import('../src/model/registry.js');
  const { runSuite } = await import('../src/run/engine.js');
  const { createScorers } = await import('../src/score/registry.js');
  const { verifyScores } = await import('../src/queue/coordinator.js');
  const { config, DEMO_SUITE, tmp } = await import('./helpers.js');
  const target = await startTarget({ latencyMs: 0, accuracy: 0.5, seed: 3 });
  try {
    const suite = await loadSuite(DEMO_SUITE);
    const log = join(tmp(), 'l.jsonl');
    await runSuite({ suite, model: createModel('openai/sim', { baseUrl: `${target.url}/v1`, maxConnections: 4 }), config: config({ limit: 6 }), logPath: log, simulated: true, durable: false });
    const samples: Array<{ id: string; sample: Record<string, unknown> }> = [];
    for await (const s of suite.samples()) if (samples.length < 6) samples.push(s as never);
    const recs = readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('"type":"sample"')).map((l) => JSON.parse(l));
    const scorers = createScorers(suite.def.scorers, {});
    for (const rec of recs) {
      const u = { key: rec.key, epoch: rec.epoch, sample: samples.find((s) => s.id === rec.sampleId)! } as unknown as WorkUnit;
      assert.equal(await verifyScores(rec, u, scorers, true), null, `genuine ${rec.key}`);
      const letter = rec.scores.mcq_letter as { status: string; value: number };
      const forged = { ...rec, scores: { ...rec.scores, mcq_letter: { ...letter, value: 1 - letter.value } } };
      assert.match((await verifyScores(forged, u, scorers, true))!, /do not follow from its answer \(mcq_letter/);
      const erroredWithScores = { ...rec, error: { kind: 'server', message: 'x', status: 500, attempts: 1 } };
      assert.match((await verifyScores(erroredWithScores, u, scorers, true))!, /no scorable answer/);
    }
  } finally {
    await target.close();
  }
});
