// Run operations under faults (deadlines, Ctrl-C, pre-flight, circuit breaker, errored samples): split from
// run-ops.test.ts so that each file stays well inside the 120 s per-file timeout on a loaded machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createModel } from '../src/model/registry.js';
import { loadSuite } from '../src/suite/load.js';
import { runSuite } from '../src/run/engine.js';
import { ROOT, DEMO_SUITE, tmp, config, cli, faultyProxy, openaiBody } from './helpers.js';
import { closers, records, samplesOf, target, spawnCli, suiteWithData } from './run-ops-fixture.js';

test('deadlines: a trickled body times out as a whole; a huge Retry-After is capped; the run has a wall-clock limit', async () => {
  const t = await target();
  // Trickle: one byte every 20 ms of a long body; the per-call deadline is 300 ms.
  const trickle = await faultyProxy(t.url, () => ({ trickle: openaiBody({ content: 'x'.repeat(2000) }), everyMs: 20 }));
  closers.push(trickle);
  const m = createModel('openai/sim', { baseUrl: `${trickle.url}/v1`, maxConnections: 1 });
  const t0 = Date.now();
  await assert.rejects(m.generate({ messages: [{ role: 'user', content: 'hi' }] }, { timeoutMs: 300 }), (e: Error & { kind?: string }) => e.kind === 'timeout');
  assert.ok(Date.now() - t0 < 20_000, 'gave up long before the body ended (40 s)');
  await m.close();
  // Retry-After: 3600 on the second request; capped at 50 ms the run completes.
  const slow = await faultyProxy(t.url, (n) => (n === 1 ? { status: 429, headers: { 'retry-after': '3600' }, body: '{}' } : 'pass'));
  closers.push(slow);
  const suite = await loadSuite(DEMO_SUITE);
  const log = join(tmp(), 'ra.jsonl');
  const res = await runSuite({ suite, model: createModel('openai/sim', { baseUrl: `${slow.url}/v1`, maxConnections: 2 }), config: config({ limit: 4, retryAfterMaxMs: 50, maxConnections: 2 }), logPath: log });
  assert.equal(res.status, 'completed');
  assert.equal(res.errored, 0);
  const retry = (await records(log)).find((r) => r.type === 'event' && r.kind === 'retry');
  assert.ok(retry && retry.type === 'event' && retry.detail.retryAfterCappedFromMs === 3_600_000 && (retry.detail.delayMs as number) <= 50);
  // Wall clock: a run against a slow target stops at its limit, resumably, and says why.
  const slowT = await target({ latencyMs: 200 });
  const wlog = join(tmp(), 'wall.jsonl');
  const w = await runSuite({ suite, model: createModel('openai/sim', { baseUrl: `${slowT.url}/v1`, maxConnections: 1 }), config: config({ maxConnections: 1 }), logPath: wlog, maxDurationMs: 500 });
  assert.equal(w.status, 'interrupted');
  assert.equal(w.reason, 'time_limit');
  assert.ok(w.totalSamples < 200);
  const end = (await records(wlog)).at(-1)!;
  assert.ok(end.type === 'end' && end.status === 'interrupted' && end.reason === 'time_limit');
  const rest = await runSuite({ suite, model: createModel('openai/sim', { baseUrl: `${slowT.url}/v1`, maxConnections: 16 }), config: config(), logPath: wlog, resume: true });
  assert.equal(rest.status, 'completed');
  assert.equal(rest.totalSamples, 200);
});

test('Ctrl-C during a long Retry-After wait stops the run at once, with a truthful message; the log closes as interrupted', async () => {
  const t = await target();
  // After the probe, every request is 429 with Retry-After: 3600 (obeyed: --max-retry-after 7200).
  const p = await faultyProxy(t.url, (n) => (n === 0 ? 'pass' : { status: 429, headers: { 'retry-after': '3600' }, body: '{}' }));
  closers.push(p);
  const dir = tmp();
  const log = join(dir, 'c.jsonl');
  const run = spawnCli(['run', DEMO_SUITE, '--model', 'openai/sim', '--base-url', `${p.url}/v1`, '--out', log, '-c', '2', '--max-retry-after', '7200', '--no-progress'], { ASSAY_HOME: join(dir, 'home') });
  await run.waitFor(/started run/);
  while (p.requests() < 3) await new Promise((r) => setTimeout(r, 20));
  run.child.kill('SIGINT');
  const code = await run.exited;
  assert.equal(code, 3, run.out().stderr);
  assert.match(run.out().stderr, /in-flight requests are cancelled \(not recorded, they run again on --resume\)/);
  assert.doesNotMatch(run.out().stderr, /finishing in-flight/);
  assert.doesNotMatch(run.out().stderr, /MaxListenersExceededWarning/);
  const end = (await records(log)).at(-1)!;
  assert.ok(end.type === 'end' && end.status === 'interrupted');
});

test('pre-flight: invalid UTF-8 or a bad record anywhere, a wrong port, Anthropic without --max-tokens: refused before any request, nothing written', async () => {
  const t = await target();
  const good = readFileSync(join(ROOT, 'suites/demo-arithmetic/data.jsonl'));
  const lines = good.toString('utf8').split('\n').filter(Boolean);
  // Line 150 carries a Latin-1 byte (0xE9, "é" in Latin-1) inside its first string: not UTF-8.
  const at = lines[149]!.indexOf('": "') + 4;
  const badFile = Buffer.concat([Buffer.from(lines.slice(0, 149).join('\n') + '\n' + lines[149]!.slice(0, at) + 'Qu'), Buffer.from([0xe9]), Buffer.from(lines[149]!.slice(at) + '\n' + lines.slice(150).join('\n') + '\n')]);
  const dir = tmp();
  const env = { ASSAY_HOME: join(dir, 'home') };
  const sentBefore = t.stats().requests;
  const enc = await cli(['run', suiteWithData(badFile), '--model', 'openai/sim', '--base-url', `${t.url}/v1`, '--out', join(dir, 'enc.jsonl'), '--no-progress'], env);
  assert.equal(enc.code, 2);
  assert.match(enc.stderr, /DATASET_ENCODING.*data\.jsonl.*150|DATASET_ENCODING[\s\S]*line 150/);
  assert.equal(existsSync(join(dir, 'enc.jsonl')), false);
  // A malformed record on the last line.
  const tail = await cli(['run', suiteWithData(good.toString('utf8') + '{"id": \n'), '--model', 'openai/sim', '--base-url', `${t.url}/v1`, '--out', join(dir, 'tail.jsonl'), '--no-progress'], env);
  assert.equal(tail.code, 2);
  assert.match(tail.stderr, /DATASET_INVALID/);
  assert.equal(t.stats().requests, sentBefore, 'no request sent for a dataset that cannot finish');
  // Wrong port: one probe (with at most two retries), then a clear error; no log.
  const wrong = await cli(['run', DEMO_SUITE, '--model', 'openai/sim', '--base-url', 'http://127.0.0.1:9/v1', '--out', join(dir, 'port.jsonl'), '--retry-base-ms', '5', '--no-progress'], env);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /PREFLIGHT_FAILED.*connection.*nothing was written/);
  assert.equal(existsSync(join(dir, 'port.jsonl')), false);
  // Anthropic needs max_tokens: refused before any request.
  const ant = await cli(['run', DEMO_SUITE, '--model', 'anthropic/sim', '--base-url', t.url, '--access', 'black-box', '--api-key', 'k', '--out', join(dir, 'ant.jsonl'), '--no-progress'], env);
  assert.equal(ant.code, 2);
  assert.match(ant.stderr, /requires max_tokens: pass --max-tokens/);
  assert.equal(t.stats().requests, sentBefore);
});

test('circuit breaker: an endpoint that goes down mid-run stops the run (resumable) instead of erroring every sample', async () => {
  const t = await target();
  const p = await faultyProxy(t.url, (n) => (n < 10 ? 'pass' : 'reset'));
  closers.push(p);
  const suite = await loadSuite(DEMO_SUITE);
  const log = join(tmp(), 'down.jsonl');
  const res = await runSuite({ suite, model: createModel('openai/sim', { baseUrl: `${p.url}/v1`, maxConnections: 2 }), config: config({ maxConnections: 2, maxRetries: 1 }), logPath: log, breakerThreshold: 5 });
  assert.equal(res.status, 'interrupted');
  assert.equal(res.reason, 'endpoint_down');
  assert.ok(res.errored <= 8, `${res.errored} errored samples`);
  assert.ok(res.totalSamples < 30);
  assert.ok((await records(log)).some((r) => r.type === 'event' && r.kind === 'circuit_open'));
});

test('--retry-errored re-runs errored samples once each; --max-error-rate makes the exit code non-zero', async () => {
  const t = await target();
  // Requests 3–8 fail with 500 (no retries): six errored samples.
  const p = await faultyProxy(t.url, (n) => (n >= 3 && n < 9 ? { status: 500, body: '{}' } : 'pass'));
  closers.push(p);
  const dir = tmp();
  const env = { ASSAY_HOME: join(dir, 'home') };
  const log = join(dir, 'r.jsonl');
  const first = await cli(['run', DEMO_SUITE, '--model', 'openai/sim', '--base-url', `${p.url}/v1`, '-c', '1', '--max-retries', '0', '--limit', '40', '--out', log, '--no-progress', '--max-error-rate', '0.1', '--json'], env);
  assert.equal(first.code, 4, first.stderr);
  assert.match(first.stderr, /6 of 40 samples errored \(15\.0%\), above --max-error-rate 0\.1/);
  assert.equal((JSON.parse(first.stdout) as { errored: number }).errored, 6);
  const ok = await cli(['run', '--resume', log, '--no-progress', '--max-error-rate', '0.2'], env);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /already complete/);
  const retried = await cli(['run', '--resume', log, '--retry-errored', '--no-progress', '--json', '--max-error-rate', '0'], env);
  assert.equal(retried.code, 0, retried.stderr);
  const out = JSON.parse(retried.stdout) as { status: string; samples: number; errored: number };
  assert.deepEqual([out.status, out.samples, out.errored], ['completed', 40, 0]);
  const recs = await records(log);
  const keys = samplesOf(recs).map((s) => s.key);
  assert.equal(keys.length, 40);
  assert.equal(new Set(keys).size, 40);
  assert.ok(recs.some((r) => r.type === 'event' && r.kind === 'retry-errored' && r.detail.dropped === 6));
});
