import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startTarget } from '../src/target/server.js';
import { createModel } from '../src/model/registry.js';
import { loadSuite } from '../src/suite/load.js';
import { runSuite } from '../src/run/engine.js';
import { observedAccess, observedAccessFromLog } from '../src/run/access.js';
import { evidenceFromRunLog } from '../src/policy/evidence.js';
import { ROOT, tmp, config } from './helpers.js';

const targets: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const t of targets) await t.close();
});

async function run(suite: string, noLogprobs: boolean, access: 'grey-box' | 'black-box' = 'grey-box'): Promise<string> {
  const t = await startTarget({ seed: 1, noLogprobs });
  targets.push(t);
  const log = join(tmp(), 'run.jsonl');
  const res = await runSuite({ suite: await loadSuite(join(ROOT, suite)), model: createModel('openai/sim', { baseUrl: `${t.url}/v1`, maxConnections: 8 }), config: config({ maxConnections: 8, access, limit: 12 }), logPath: log, simulated: true, durable: false });
  assert.equal(res.status, 'completed');
  return log;
}

test('access as observed: a grey-box run whose endpoint never returns logprobs is black-box in fact (reports and policy evidence), one that returns them is confirmed, one that never asks is "not exercised"', async () => {
  const silent = await run('suites/biosafety-literacy/suite.yaml', true);
  const a = await observedAccessFromLog(silent);
  assert.deepEqual([a.declared, a.effective, a.status, a.requested, a.returned], ['grey-box', 'black-box', 'not returned', 12, 0]);
  assert.match(a.note, /returned no logprobs in 12 answered request\(s\).*black-box in fact/);
  assert.equal((await evidenceFromRunLog(silent)).access, 'black-box');
  // The check after a run stops early only once logprobs came back: the 'not returned' status is the same.
  const aQuick = await observedAccessFromLog(silent, { untilConfirmed: true });
  assert.deepEqual([aQuick.status, aQuick.requested, aQuick.returned], ['not returned', 12, 0]);
  const okLog = await run('suites/biosafety-literacy/suite.yaml', false);
  const ok = await observedAccessFromLog(okLog);
  assert.deepEqual([ok.effective, ok.status, ok.returned], ['grey-box', 'confirmed', 12]);
  const okQuick = await observedAccessFromLog(okLog, { untilConfirmed: true });
  assert.deepEqual([okQuick.status, okQuick.returned], ['confirmed', 1]);
  // A suite without logprob scorers never asks: the claim is kept but marked unchecked.
  const gen = await observedAccessFromLog(await run('suites/over-refusal/suite.yaml', true));
  assert.deepEqual([gen.effective, gen.status, gen.requested], ['grey-box', 'not exercised', 0]);
  // Pure: errored and unanswered records do not count; black-box stays black-box.
  assert.equal(observedAccess('grey-box', [{ request: { logprobs: true } as never, output: null, error: { kind: 'server', message: 'x', status: 500, attempts: 1 } }]).status, 'not exercised');
  assert.equal(observedAccess('black-box', []).effective, 'black-box');
});
