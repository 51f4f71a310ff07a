import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { startTarget } from '../src/target/server.js';
import { createModel } from '../src/model/registry.js';
import { loadSuite } from '../src/suite/load.js';
import { runSuite } from '../src/run/engine.js';
import { iterateRunLog } from '../src/run/log-reader.js';
import { rescoreRun } from '../src/run/rescore.js';
import type { RunLogRecord, SampleRecord } from '../src/run/types.js';
import { ROOT, DEMO_SUITE, cliEntry, tmp, config, cli, faultyProxy, sampleLines } from './helpers.js';

async function records(path: string): Promise<RunLogRecord[]> {
  const out: RunLogRecord[] = [];
  for await (const r of iterateRunLog(path)) out.push(r);
  return out;
}
const samplesOf = (recs: RunLogRecord[]) => recs.filter((r): r is SampleRecord => r.type === 'sample');

const targets: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const t of targets) await t.close();
});

test('a clean run scores both MCQ modes against the simulated target and records everything', async () => {
  const target = await startTarget({ latencyMs: 1, accuracy: 0.8, seed: 1 });
  targets.push(target);
  const suite = await loadSuite(DEMO_SUITE);
  const dir = tmp();
  const log = join(dir, 'run.jsonl');
  const res = await runSuite({ suite, model: createModel('openai/sim-test', { baseUrl: `${target.url}/v1`, apiKey: 'sk-test-SECRET-123', maxConnections: 8 }), config: config(), logPath: log, simulated: true });
  assert.equal(res.status, 'completed');
  const recs = await records(log);
  const samples = samplesOf(recs);
  assert.equal(samples.length, 200);
  assert.equal(new Set(samples.map((s) => s.key)).size, 200);
  for (const s of samples) {
    assert.equal(s.error, null);
    assert.equal(s.scores.mcq_letter?.status, 'scored');
    assert.equal(s.scores.mcq_letter.status === 'scored' && s.scores.mcq_letter.mode, 'generation');
    assert.equal(s.scores.mcq_logprob?.status, 'scored');
    assert.equal(s.scores.mcq_logprob.status === 'scored' && s.scores.mcq_logprob.mode, 'logprob');
    assert.ok(s.sent && s.sent.body.logprobs === true, 'grey-box run asks for logprobs');
    assert.equal('temperature' in s.sent!.body, false, 'unset parameters are not sent');
    assert.ok(s.shownChoices && s.targetLetter);
  }
  const acc = samples.reduce((a, s) => a + (s.scores.mcq_letter!.status === 'scored' ? (s.scores.mcq_letter as { value: number }).value : 0), 0) / samples.length;
  assert.ok(acc > 0.7 && acc < 0.9, `accuracy ${acc} near the target's 0.8`);
  // The API key is in no record, and not in the file at all.
  assert.equal(readFileSync(log, 'utf8').includes('SECRET'), false);
});

test('black-box access: grey-box suites are refused; on a black-box suite the logprob scorer is unscored, never wrong', async () => {
  const target = await startTarget({ latencyMs: 0, accuracy: 0.8, seed: 1 });
  targets.push(target);
  const suite = await loadSuite(DEMO_SUITE);
  // The demo suite declares grey-box; a black-box tester is refused with a clear error.
  await assert.rejects(
    runSuite({ suite, model: createModel('openai/sim', { baseUrl: `${target.url}/v1`, maxConnections: 4 }), config: config({ access: 'black-box', limit: 5 }), logPath: join(tmp(), 'x.jsonl') }),
    /needs grey-box access; this run has black-box/,
  );
  // The same suite declared black-box, run through the Anthropic adapter (which has no logprobs).
  const dir = tmp();
  for (const f of ['data.jsonl', 'METHODOLOGY.md']) writeFileSync(join(dir, f), readFileSync(join(ROOT, 'suites/demo-arithmetic', f)));
  writeFileSync(join(dir, 'suite.yaml'), readFileSync(DEMO_SUITE, 'utf8').replace('access: grey-box', 'access: black-box'));
  const bb = await loadSuite(join(dir, 'suite.yaml'));
  const log = join(dir, 'bb.jsonl');
  const res = await runSuite({ suite: bb, model: createModel('anthropic/sim', { baseUrl: target.url, apiKey: 'sk-ant-SECRET-456', maxConnections: 4 }), config: config({ access: 'black-box', limit: 20, maxTokens: 5 }), logPath: log });
  assert.equal(res.status, 'completed');
  const samples = samplesOf(await records(log));
  assert.equal(samples.length, 20);
  for (const s of samples) {
    assert.equal(s.error, null);
    assert.equal(s.scores.mcq_letter?.status, 'scored');
    assert.deepEqual(s.scores.mcq_logprob, { status: 'unscored', reason: 'access level does not allow logprobs' });
    assert.equal('logprobs' in s.sent!.body, false);
    assert.ok(s.sent!.url.endsWith('/v1/messages'));
  }
  assert.equal(readFileSync(log, 'utf8').includes('SECRET'), false);
  assert.equal(target.stats().byFormat.anthropic, 20);
});

test('a 429/5xx/timeout/malformed storm completes with the same results as a clean run', async () => {
  const clean = await startTarget({ latencyMs: 0, accuracy: 0.7, seed: 7 });
  const stormy = await startTarget({ latencyMs: 0, accuracy: 0.7, seed: 7, rate429: 0.3, retryAfterS: 0, rate5xx: 0.2, rateMalformed: 0.05, rateTimeout: 0.03, faultsPerKey: 'first-attempt' });
  targets.push(clean, stormy);
  const suite = await loadSuite(DEMO_SUITE);
  const dir = tmp();
  const a = await runSuite({ suite, model: createModel('openai/sim', { baseUrl: `${clean.url}/v1`, maxConnections: 16 }), config: config({ maxConnections: 16 }), logPath: join(dir, 'a.jsonl') });
  const b = await runSuite({ suite, model: createModel('openai/sim', { baseUrl: `${stormy.url}/v1`, maxConnections: 16 }), config: config({ maxConnections: 16, timeoutMs: 300 }), logPath: join(dir, 'b.jsonl') });
  assert.equal(a.status, 'completed');
  assert.equal(b.status, 'completed');
  assert.equal(b.errored, 0, 'every sample eventually succeeded');
  const recsB = await records(join(dir, 'b.jsonl'));
  const byKey = (recs: RunLogRecord[]) => new Map(samplesOf(recs).map((s) => [s.key, JSON.stringify(s.scores)]));
  assert.deepEqual(byKey(recsB), byKey(await records(join(dir, 'a.jsonl'))), 'same scores per sample with and without faults');
  const events = recsB.filter((r) => r.type === 'event');
  assert.ok(events.some((e) => e.type === 'event' && e.kind === 'retry'), 'retries recorded');
  assert.ok(events.some((e) => e.type === 'event' && e.kind === 'concurrency' && e.detail.reason === 'rate_limited'), 'limit cut recorded');
  assert.ok(samplesOf(recsB).some((s) => s.timing.attempts > 1));
});

test('persistent failures are recorded as errors, excluded from scores, never scored wrong', async () => {
  const target = await startTarget({ latencyMs: 0, accuracy: 1, seed: 3 });
  // The pre-flight probe (the first request) passes; every later request is a 500.
  const proxy = await faultyProxy(target.url, (n) => (n === 0 ? 'pass' : { status: 500, body: '{"error":{"message":"boom"}}' }));
  targets.push(target, proxy);
  const suite = await loadSuite(DEMO_SUITE);
  const log = join(tmp(), 'err.jsonl');
  const res = await runSuite({ suite, model: createModel('openai/sim', { baseUrl: `${proxy.url}/v1`, maxConnections: 4 }), config: config({ limit: 6, maxRetries: 2 }), logPath: log });
  assert.equal(res.errored, 5);
  const samples = samplesOf(await records(log));
  assert.equal(samples.length, 6);
  for (const s of samples.filter((x) => x.error)) {
    assert.equal(s.error?.kind, 'server');
    assert.equal(s.error?.attempts, 3);
    assert.deepEqual(s.scores, {});
  }
});

test('token budget stops dispatch; resume keeps the budget unless raised, then completes without duplicates', async () => {
  const target = await startTarget({ latencyMs: 0, accuracy: 0.8, seed: 5 });
  targets.push(target);
  const suite = await loadSuite(DEMO_SUITE);
  const log = join(tmp(), 'budget.jsonl');
  const model = () => createModel('openai/sim', { baseUrl: `${target.url}/v1`, maxConnections: 2 });
  const first = await runSuite({ suite, model: model(), config: config({ maxConnections: 2, limit: 50, budget: { maxTokensTotal: 1500, maxCost: null, pricePerMTok: null } }), logPath: log });
  assert.equal(first.status, 'budget_exhausted');
  assert.ok(first.totalSamples > 0 && first.totalSamples < 50);
  const recs = await records(log);
  assert.ok(recs.some((r) => r.type === 'event' && r.kind === 'budget'));
  // Resuming under the same budget sends nothing: the budget covers the whole run.
  const again = await runSuite({ suite, model: model(), config: config(), logPath: log, resume: true });
  assert.equal(again.status, 'budget_exhausted');
  assert.equal(again.newSamples, 0);
  // With a raised budget it finishes, each sample recorded once.
  const done = await runSuite({ suite, model: model(), config: config(), logPath: log, resume: true, budgetOverride: { maxTokensTotal: 1e9, maxCost: null, pricePerMTok: null } });
  assert.equal(done.status, 'completed');
  const keys = samplesOf(await records(log)).map((s) => s.key);
  assert.equal(keys.length, 50);
  assert.equal(new Set(keys).size, 50);
});

test('a malformed dataset row fails the run with the file, line and field named', async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'METHODOLOGY.md'), '# m\n');
  writeFileSync(join(dir, 'data.jsonl'), '{"id":"a","question":"What is 1 + 1?","choices":["2","3"],"answer":0}\n{"id":"b","choices":["2","3"],"answer":0}\n');
  writeFileSync(
    join(dir, 'suite.yaml'),
    'schema: assay.suite/v1\nid: t.bad\nversion: 1.0.0\ntitle: t\nrisk_area: none\nmethodology: METHODOLOGY.md\ndataset: { path: data.jsonl, format: jsonl, fields: { id: id, input: question, target: answer, choices: choices } }\ntemplate: "{{input}}\\n{{choices}}"\nsolver: { type: multiple_choice, shuffle: false }\nscorers: [ { type: mcq_letter } ]\nmetrics: [ { name: accuracy, scorer: mcq_letter } ]\n',
  );
  const r = await cli(['run', join(dir, 'suite.yaml'), '--model', 'openai/sim', '--base-url', 'http://127.0.0.1:9/v1', '--out', join(dir, 'run.jsonl'), '--no-progress']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /data\.jsonl:2/);
  assert.match(r.stderr, /question|input/);
});

test('SIGKILL mid-run, then --resume: no sample lost, none duplicated', async () => {
  const target = await startTarget({ latencyMs: 20, accuracy: 0.8, seed: 11 });
  targets.push(target);
  const dir = tmp();
  const log = join(dir, 'killed.jsonl');
  const home = join(dir, 'home');
  const child = spawn(process.execPath, [cliEntry(), 'run', DEMO_SUITE, '--model', 'openai/sim-kill', '--base-url', `${target.url}/v1`, '--out', log, '-c', '4', '--no-progress'], {
    env: { ...process.env, ASSAY_HOME: home },
    stdio: 'ignore',
  });
  // Wait until some, but not all, samples are durable, then kill without warning.
  const count = () => sampleLines(log);
  const t0 = Date.now();
  while (count() < 40) {
    if (Date.now() - t0 > 30_000) throw new Error('run did not progress');
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const before = count();
  assert.ok(before >= 40 && before < 200, `killed mid-way (${before} recorded)`);
  // Simulate the worst case of a crash during a write: a torn, partial last line.
  writeFileSync(log, readFileSync(log, 'utf8') + '{"type":"sample","key":"arith-9', { flag: 'w' });

  const r = await cli(['run', '--resume', log, '--no-progress'], { ASSAY_HOME: home });
  assert.equal(r.code, 0, r.stderr);
  const recs = await records(log);
  const keys = samplesOf(recs).map((s) => s.key);
  assert.equal(keys.length, 200, 'every sample recorded');
  assert.equal(new Set(keys).size, 200, 'no sample recorded twice');
  const suite = await loadSuite(DEMO_SUITE);
  const expected: string[] = [];
  for await (const s of suite.samples()) expected.push(`${s.id}#1`);
  assert.deepEqual([...keys].sort(), expected.sort());
  const resume = recs.find((x) => x.type === 'event' && x.kind === 'resume');
  assert.ok(resume && resume.type === 'event' && (resume.detail.droppedTornBytes as number) > 0);
  assert.equal(recs.at(-1)!.type, 'end');
  // Resuming a completed run sends nothing.
  const sentBefore = target.stats().requests;
  const again = await cli(['run', '--resume', log, '--no-progress'], { ASSAY_HOME: home });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(target.stats().requests, sentBefore);
});

test('re-scoring writes a new linked log and leaves the original untouched', async () => {
  const target = await startTarget({ latencyMs: 0, accuracy: 0.8, seed: 2 });
  targets.push(target);
  const suite = await loadSuite(DEMO_SUITE);
  const dir = tmp();
  const log = join(dir, 'src.jsonl');
  const res = await runSuite({ suite, model: createModel('openai/sim', { baseUrl: `${target.url}/v1`, maxConnections: 8 }), config: config({ limit: 30 }), logPath: log });
  const original = readFileSync(log);
  const sentBefore = target.stats().requests;
  const rs = await rescoreRun(log, { out: join(dir, 'rescored.jsonl') });
  assert.equal(target.stats().requests, sentBefore, 're-scoring calls no model');
  assert.deepEqual(readFileSync(log), original);
  const recs = await records(rs.logPath);
  const h = recs[0]!;
  assert.ok(h.type === 'header' && h.rescoreOf?.runId === res.runId && h.rescoreOf.logDigest.startsWith('sha256:'));
  assert.notEqual(h.type === 'header' && h.runId, res.runId);
  const a = samplesOf(await records(log)).map((s) => [s.key, s.scores]);
  const b = samplesOf(recs).map((s) => [s.key, s.scores]);
  assert.deepEqual(b, a, 'same scorers on the same outputs give the same scores');
});

test('SIGINT stops dispatch, closes the log as interrupted, and resume finishes it', async () => {
  const target = await startTarget({ latencyMs: 20, accuracy: 0.8, seed: 13 });
  targets.push(target);
  const dir = tmp();
  const log = join(dir, 'int.jsonl');
  const home = join(dir, 'home');
  const child = spawn(process.execPath, [cliEntry(), 'run', DEMO_SUITE, '--model', 'openai/sim-int', '--base-url', `${target.url}/v1`, '--out', log, '-c', '4', '--no-progress'], {
    env: { ...process.env, ASSAY_HOME: home },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const count = () => sampleLines(log);
  while (count() < 20) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGINT');
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(code, 3, stderr);
  assert.match(stderr, /SIGINT received/);
  const recs = await records(log);
  const end = recs.at(-1)!;
  assert.ok(end.type === 'end' && end.status === 'interrupted');
  const r = await cli(['run', '--resume', log, '--no-progress', '--json'], { ASSAY_HOME: home });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { status: string; samples: number; stats: { simulated: boolean; metrics: Array<{ name: string; n: number }> } };
  assert.equal(out.status, 'completed');
  assert.equal(out.samples, 200);
  // Started as a real model, but the engine saw the simulated target's marker: statistics say so.
  assert.equal(out.stats.simulated, true);
  assert.equal(out.stats.metrics[0]!.n, 200);
  const keys = samplesOf(await records(log)).map((s) => s.key);
  assert.equal(new Set(keys).size, keys.length);
  assert.equal(keys.length, 200);
  // The index knows the run; `runs show` reads it back.
  const runId = (recs[0] as { runId: string }).runId;
  const show = await cli(['runs', 'show', runId.slice(0, 20), '--json'], { ASSAY_HOME: home });
  assert.equal(show.code, 0, show.stderr);
  assert.equal((JSON.parse(show.stdout) as { header: { model: { simulated: boolean } } }).header.model.simulated, false);
});

test('a cost budget needs prices, and stops the run when spent', async () => {
  const target = await startTarget({ latencyMs: 0, accuracy: 0.8, seed: 17 });
  targets.push(target);
  const dir = tmp();
  const noPrice = await cli(['run', DEMO_SUITE, '--model', 'openai/sim', '--base-url', `${target.url}/v1`, '--out', join(dir, 'a.jsonl'), '--max-cost', '1', '--no-progress'], { ASSAY_HOME: dir });
  assert.equal(noPrice.code, 2);
  assert.match(noPrice.stderr, /--max-cost needs --price/);
  const r = await cli(['run', DEMO_SUITE, '--model', 'openai/sim', '--base-url', `${target.url}/v1`, '--out', join(dir, 'b.jsonl'), '--max-cost', '0.05', '--price', '1000,1000', '-c', '2', '--no-progress', '--json'], { ASSAY_HOME: dir });
  assert.equal(r.code, 3, r.stderr);
  const out = JSON.parse(r.stdout) as { status: string; samples: number };
  assert.equal(out.status, 'budget_exhausted');
  assert.ok(out.samples > 0 && out.samples < 200);
});
