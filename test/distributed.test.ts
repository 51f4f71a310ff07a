import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { startTarget, type RunningTarget } from '../src/target/server.js';
import { loadSuite } from '../src/suite/load.js';
import { createModel } from '../src/model/registry.js';
import { runSuite } from '../src/run/engine.js';
import { parseQueueUrl, type QueueTarget } from '../src/queue/connection.js';
import { QueueCoordinator } from '../src/queue/coordinator.js';
import { startWorker } from '../src/queue/worker.js';
import { config, DEMO_SUITE, requireService, sampleLines, tmp } from './helpers.js';
import { dropPrefix, freePort, redisUp, samplesOf, scanForResume, spawnCli, startOwnRedis, testPrefix, waitFor } from './distributed-fixture.js';

const REDIS = 'redis://127.0.0.1:6379/0';
const up = await redisUp(REDIS);
const opts = { ...requireService('Redis', up), timeout: 120_000 };
const prefixes: string[] = [];
after(async () => {
  if (up === true) for (const p of prefixes) await dropPrefix(REDIS, p);
});

function queueTarget(url = REDIS): QueueTarget {
  const p = testPrefix();
  prefixes.push(p);
  return parseQueueUrl(url, p);
}

const sim = (t: RunningTarget, maxConnections = 8) => createModel('openai/sim', { baseUrl: `${t.url}/v1`, maxConnections });

async function distributedRun(t: RunningTarget, q: QueueTarget, cfg: ReturnType<typeof config>, logPath: string, workers: number, extra: { lostAfterMs?: number; resume?: boolean; concurrency?: number; sharedLimits?: boolean } = {}) {
  const suite = await loadSuite(DEMO_SUITE);
  const ws = await Promise.all(Array.from({ length: workers }, () => startWorker({ target: q, concurrency: extra.concurrency ?? 4, baseUrl: `${t.url}/v1`, lockDurationMs: 2000, ...(extra.sharedLimits === false ? { sharedLimits: false } : {}) })));
  const dispatch = await QueueCoordinator.open(q, { lostAfterMs: extra.lostAfterMs ?? 10_000, sweepMs: 200 });
  try {
    return await runSuite({ suite, model: sim(t, cfg.maxConnections), config: cfg, logPath, dispatch, simulated: true, durable: false, ...(extra.resume ? { resume: true } : {}) });
  } finally {
    await dispatch.close();
    for (const w of ws) await w.close();
  }
}

test('a distributed run (2 workers over BullMQ) records exactly what a local run records: same scores, outputs and prompts, one record per (sample, epoch)', opts, async () => {
  const target = await startTarget({ latencyMs: 2, jitterMs: 2, accuracy: 0.7, seed: 5 });
  try {
    const suite = await loadSuite(DEMO_SUITE);
    const cfg = config({ limit: 25, epochs: 2, seed: 11, maxConnections: 6 });
    const dir = tmp();
    const local = await runSuite({ suite, model: sim(target), config: cfg, logPath: join(dir, 'local.jsonl'), simulated: true, durable: false });
    const dist = await distributedRun(target, queueTarget(), cfg, join(dir, 'dist.jsonl'), 2);
    assert.equal(local.status, 'completed');
    assert.equal(dist.status, 'completed');
    const a = samplesOf(join(dir, 'local.jsonl'));
    const b = samplesOf(join(dir, 'dist.jsonl'));
    assert.equal(b.byKey.size, 50);
    assert.deepEqual(b.duplicates, []);
    assert.deepEqual([...b.byKey.keys()].sort(), [...a.byKey.keys()].sort());
    let correct = 0;
    for (const [key, ra] of a.byKey) {
      const rb = b.byKey.get(key)!;
      assert.deepEqual(rb.scores, ra.scores, `scores of ${key}`);
      assert.deepEqual(rb.messages, ra.messages, `prompt of ${key}`);
      assert.equal(rb.output?.content, ra.output?.content, `answer of ${key}`);
      assert.deepEqual(rb.sent?.body, ra.sent?.body, `request body of ${key}`);
      if (ra.scores['mcq_letter']?.status === 'scored' && (ra.scores['mcq_letter'] as { value: number }).value === 1) correct++;
    }
    // Not a degenerate comparison: some right, some wrong.
    assert.ok(correct > 5 && correct < 45, `correct ${correct}`);
    // The same log format: the header carries the same fields, and the reader used by stats/verify reads it.
    const ha = JSON.parse(readFileSync(join(dir, 'local.jsonl'), 'utf8').split('\n')[0]!);
    const hb = JSON.parse(readFileSync(join(dir, 'dist.jsonl'), 'utf8').split('\n')[0]!);
    assert.deepEqual(Object.keys(hb).sort(), Object.keys(ha).sort());
    assert.deepEqual(hb.config, ha.config);
    const scan = await scanForResume(join(dir, 'dist.jsonl'));
    assert.equal(scan.endStatus, 'completed');
    assert.equal(scan.doneKeys.size, 50);
  } finally {
    await target.close();
  }
});

test('a worker killed with SIGKILL mid-sample: its unit goes to another worker once the lock expires; recorded once, with the lost attempt in the log', opts, async () => {
  const target = await startTarget({ latencyMs: 600, accuracy: 0.8, seed: 2 });
  const q = queueTarget();
  const dir = tmp();
  const suite = await loadSuite(DEMO_SUITE);
  const cfg = config({ limit: 4, maxConnections: 4 });
  const dispatch = await QueueCoordinator.open(q, { sweepMs: 200 });
  const running = runSuite({ suite, model: sim(target), config: cfg, logPath: join(dir, 'run.jsonl'), dispatch, simulated: true, durable: false });
  // The doomed worker: another process, one unit at a time, a 1 s lock.
  const doomed = spawnCli(['worker', '--queue', REDIS, '--queue-prefix', q.prefix, '--concurrency', '1', '--lock-duration', '1', '--base-url', `${target.url}/v1`]);
  let rescuer: Awaited<ReturnType<typeof startWorker>> | null = null;
  try {
    await waitFor('the doomed worker to send a request', () => target.stats().requests >= 1);
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    rescuer = await startWorker({ target: q, concurrency: 4, baseUrl: `${target.url}/v1`, lockDurationMs: 1000 });
    const res = await running;
    assert.equal(res.status, 'completed');
    const s = samplesOf(join(dir, 'run.jsonl'));
    assert.equal(s.byKey.size, 4);
    assert.deepEqual(s.duplicates, []);
    for (const r of s.byKey.values()) assert.equal(r.error, null);
    const lost = s.events.filter((e) => e.kind === 'retry' && e.detail['kind'] === 'worker');
    assert.equal(lost.length, 1, `one unit was taken back from the killed worker: ${JSON.stringify(s.events)}`);
    assert.ok((lost[0]!.detail['stalled'] as number) >= 1);
  } finally {
    if (doomed.child.exitCode === null) doomed.child.kill('SIGKILL');
    await dispatch.close();
    await rescuer?.close();
    await target.close();
  }
});

test('the coordinator killed with SIGKILL: `assay run --resume --queue` continues; results finished meanwhile are collected, not sent again; nothing lost or duplicated', opts, async () => {
  const target = await startTarget({ latencyMs: 40, accuracy: 0.8, seed: 3 });
  const q = queueTarget();
  const dir = tmp();
  const log = join(dir, 'run.jsonl');
  const env = { ASSAY_HOME: join(dir, 'home') };
  const worker = await startWorker({ target: q, concurrency: 4, baseUrl: `${target.url}/v1`, lockDurationMs: 2000 });
  try {
    const args = ['--queue', REDIS, '--queue-prefix', q.prefix, '--no-progress'];
    const first = spawnCli(['run', DEMO_SUITE, '--model', 'openai/sim', '--base-url', `${target.url}/v1`, '--limit', '40', '-c', '4', '-o', log, ...args], env);
    await waitFor('a few records', () => sampleLines(log) >= 6);
    first.child.kill('SIGKILL');
    await first.exited;
    // The jobs in hand finish while no coordinator is listening.
    await new Promise((r) => setTimeout(r, 300));
    const second = spawnCli(['run', '--resume', log, ...args], env);
    const code = await second.exited;
    assert.equal(code, 0, second.out());
    const s = samplesOf(log);
    assert.equal(s.byKey.size, 40);
    assert.deepEqual(s.duplicates, []);
    assert.equal((await scanForResume(log)).endStatus, 'completed');
    // Exactly one model call per unit: what finished while the coordinator was dead was collected from Redis.
    assert.equal(target.stats().requests, 40);
  } finally {
    await worker.close();
    await target.close();
  }
});

test('Redis restarted (with AOF persistence) mid-run: the run continues and completes, every unit once', opts, async () => {
  const port = await freePort();
  const redis = await startOwnRedis(port);
  const target = await startTarget({ latencyMs: 20, accuracy: 0.8, seed: 4 });
  const q = queueTarget(redis.url);
  const dir = tmp();
  const log = join(dir, 'run.jsonl');
  let restarted: Awaited<ReturnType<typeof startOwnRedis>> | null = null;
  try {
    const running = distributedRun(target, q, config({ limit: 40, maxConnections: 4 }), log, 1);
    await waitFor('a few records', () => sampleLines(log) >= 8);
    await redis.stop();
    await new Promise((r) => setTimeout(r, 300));
    restarted = await startOwnRedis(port, redis.dir);
    const res = await running;
    assert.equal(res.status, 'completed');
    const s = samplesOf(log);
    assert.equal(s.byKey.size, 40);
    assert.deepEqual(s.duplicates, []);
  } finally {
    await restarted?.stop();
    await redis.stop();
    await target.close();
  }
});

test('Redis lost for good: the run stops with QUEUE_LOST naming the resume command; the log keeps every result and a resume on a new Redis finishes it', opts, async () => {
  const port = await freePort();
  const redis = await startOwnRedis(port);
  const target = await startTarget({ latencyMs: 20, accuracy: 0.8, seed: 6 });
  const q = queueTarget(redis.url);
  const dir = tmp();
  const log = join(dir, 'run.jsonl');
  let fresh: Awaited<ReturnType<typeof startOwnRedis>> | null = null;
  try {
    const cfg = config({ limit: 40, maxConnections: 4 });
    const running = distributedRun(target, q, cfg, log, 1, { lostAfterMs: 800 });
    await waitFor('a few records', () => sampleLines(log) >= 8);
    await redis.stop();
    await assert.rejects(running, (e: Error & { code?: string }) => e.code === 'QUEUE_LOST' && /assay run --resume/.test(e.message));
    const kept = await scanForResume(log);
    assert.equal(kept.endStatus, null);
    assert.ok(kept.doneKeys.size >= 8);
    // A new, empty Redis (the old one's data gone): the resume re-queues what the log lacks.
    fresh = await startOwnRedis(await freePort());
    const res = await distributedRun(target, parseQueueUrl(fresh.url, q.prefix), cfg, log, 1, { resume: true });
    assert.equal(res.status, 'completed');
    const s = samplesOf(log);
    assert.equal(s.byKey.size, 40);
    assert.deepEqual(s.duplicates, []);
  } finally {
    await fresh?.stop();
    await redis.stop();
    await target.close();
  }
});

test('shared limits: 3 workers against a target that refuses (429) above 4 concurrent requests draw about as many 429s as one worker, far fewer than workers adapting alone', opts, async () => {
  const cfg = config({ limit: 60, maxConnections: 16, maxRetries: 30, retryBaseMs: 5, retryMaxDelayMs: 50 });
  const count429 = async (workers: number, sharedLimits: boolean) => {
    const target = await startTarget({ latencyMs: 25, accuracy: 0.8, seed: 8, maxConcurrent: 4, retryAfterS: 0.05 });
    try {
      const res = await distributedRun(target, queueTarget(), cfg, join(tmp(), 'run.jsonl'), workers, { concurrency: 16, sharedLimits });
      assert.equal(res.status, 'completed');
      assert.equal(res.errored, 0);
      assert.ok(target.stats().maxInFlight <= 5 + (sharedLimits ? 0 : 48));
      return target.stats().byStatus['429'] ?? 0;
    } finally {
      await target.close();
    }
  };
  const one = await count429(1, true);
  const three = await count429(3, true);
  const alone = await count429(3, false);
  process.stderr.write(`429s: one worker ${one}, three sharing ${three}, three alone ${alone}\n`);
  assert.ok(one > 0, 'the capacity limit was reached');
  assert.ok(three <= 2 * one + 10, `3 workers sharing limits drew ${three} 429s; one worker ${one}`);
  assert.ok(alone > three, `workers adapting alone drew ${alone} 429s, shared ${three}`);
});

test('--max-cost across workers: the budget stops the run once, spent no further than a local run\'s window past the limit (not multiplied by the worker count)', opts, async () => {
  const target = await startTarget({ latencyMs: 5, accuracy: 0.8, seed: 9 });
  try {
    const probe = await runSuite({ suite: await loadSuite(DEMO_SUITE), model: sim(target), config: config({ limit: 1 }), logPath: join(tmp(), 'p.jsonl'), simulated: true, durable: false });
    const perSample = probe.progress.inputTokens + probe.progress.outputTokens;
    // Price 1e6 USD per million tokens: one token costs one dollar, so the budget is ~10 samples.
    const cfg = config({ limit: 200, maxConnections: 4, budget: { maxTokensTotal: null, maxCost: perSample * 10, pricePerMTok: { input: 1e6, output: 1e6 } } });
    const res = await distributedRun(target, queueTarget(), cfg, join(tmp(), 'run.jsonl'), 3, { concurrency: 8 });
    assert.equal(res.status, 'budget_exhausted');
    const window = cfg.maxConnections + Math.min(cfg.maxConnections, 16);
    assert.ok(res.totalSamples >= 10 && res.totalSamples <= 10 + window, `recorded ${res.totalSamples}`);
    assert.ok(target.stats().requests - 1 <= 10 + window, `sent ${target.stats().requests - 1}`); // less the probe run's one
  } finally {
    await target.close();
  }
});

test('a worker never sends its key to an endpoint named in Redis: a run for another base URL fails with the reason, and that endpoint gets no request', opts, async () => {
  const own = await startTarget({ latencyMs: 1, seed: 1 });
  const other = await startTarget({ latencyMs: 1, seed: 1 });
  const q = queueTarget();
  const worker = await startWorker({ target: q, concurrency: 2, baseUrl: `${own.url}/v1`, apiKey: 'sk-worker-secret' });
  const dispatch = await QueueCoordinator.open(q, { attempts: 1, sweepMs: 200 });
  try {
    const suite = await loadSuite(DEMO_SUITE);
    await assert.rejects(
      runSuite({ suite, model: sim(other), config: config({ limit: 3, maxConnections: 2 }), logPath: join(tmp(), 'run.jsonl'), dispatch, durable: false }),
      (e: Error & { code?: string }) => e.code === 'QUEUE_JOB_FAILED' && e.message.includes(`--base-url ${other.url}/v1`) && !e.message.includes('sk-worker-secret'),
    );
    assert.equal(other.stats().requests, 0);
    assert.equal(own.stats().requests, 0);
  } finally {
    await dispatch.close();
    await worker.close();
    await own.close();
    await other.close();
  }
});
