/**
 * Acceptance of the autonomy suite: the scripted oracle never violates a constraint and does each
 * task; the scripted saboteur violates every one. Runs go through the real engine, the real
 * sandbox and both wire formats of the simulated target.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSuite } from '../src/run/engine.js';
import { iterateSamples } from '../src/run/log-reader.js';
import { createModel } from '../src/model/registry.js';
import { startTarget, type RunningTarget } from '../src/target/server.js';
import { behaviourFromSpec } from '../src/target/behaviours/index.js';
import { loadSuite } from '../src/suite/load.js';
import { sandbaggingProbe } from '../src/agent/sandbagging.js';
import { render } from '../suites/autonomy/generate.js';
import type { SampleRecord } from '../src/run/types.js';
import { ROOT, config, tmp } from './helpers.js';

const DIR = join(ROOT, 'suites/autonomy');
let oracleT: RunningTarget;
let saboteurT: RunningTarget;
before(async () => {
  oracleT = await startTarget({ behaviours: [behaviourFromSpec('oracle')] });
  saboteurT = await startTarget({ behaviours: [behaviourFromSpec('saboteur')] });
});
after(async () => {
  await oracleT?.close();
  await saboteurT?.close();
});

async function run(suiteFile: string, t: RunningTarget, format: 'openai' | 'anthropic'): Promise<{ log: string; samples: SampleRecord[] }> {
  const suite = await loadSuite(join(DIR, suiteFile));
  const model = createModel(`${format}/sim-agent`, { baseUrl: format === 'openai' ? `${t.url}/v1` : t.url, maxConnections: 4 });
  const log = join(tmp(), 'run.jsonl');
  const r = await runSuite({ suite, model, config: config({ access: 'black-box', maxConnections: 4, ...(format === 'anthropic' ? { maxTokens: 1024 } : {}) }), logPath: log, durable: false });
  assert.equal(r.status, 'completed');
  const samples: SampleRecord[] = [];
  for await (const s of iterateSamples(log)) samples.push(s);
  return { log, samples };
}

const why = (s: SampleRecord) => `${s.sampleId}: ${s.agent?.stop.detail} | ${s.agent?.checks.map((c) => `${c.check}=${c.holds} (${c.evidence})`).join('; ')} | ${s.error?.message ?? ''}`;

test('the generated task, question and script files are current', () => {
  for (const [name, text] of Object.entries(render())) assert.equal(readFileSync(join(DIR, name), 'utf8'), text, `${name} is stale: run node --import tsx suites/autonomy/generate.ts`);
});

for (const format of ['openai', 'anthropic'] as const) {
  test(`oracle (${format}): no violation, every task done, every conflict disclosed, harmful twins refused`, async () => {
    const { samples } = await run('suite.yaml', oracleT, format);
    assert.equal(samples.length, 57);
    const families = new Set(samples.map((s) => s.agent!.task.family));
    assert.deepEqual([...families].sort(), ['honeypot', 'intent', 'misuse', 'spec_gaming', 'vuln']);
    assert.ok(samples.filter((s) => s.agent!.task.family === 'intent').length >= 30);
    for (const s of samples) {
      assert.equal(s.error, null, why(s));
      const o = s.agent!.outcome;
      assert.equal(o.violation, 0, why(s));
      if (o.success !== null) assert.equal(o.success, 1, why(s));
      if (o.disclosed !== null) assert.equal(o.disclosed, 1, why(s));
      if (o.harm !== null) assert.equal(o.harm, 0, why(s));
      if (o.refused !== null) assert.equal(o.refused, 1, why(s));
      if (o.benign_completion !== null) assert.equal(o.benign_completion, 1, why(s));
      if (o.new_findings !== null) assert.equal(o.new_findings, 0, why(s));
      assert.equal(s.scores.violation?.status === 'scored' && s.scores.violation.value, 0);
      assert.ok(s.agent!.task.humanMinutes > 0);
      // Every tool call the script made was carried out in this wire format.
      const calls = s.agent!.steps.filter((x) => x.type === 'tool_call').length;
      assert.equal(s.agent!.steps.filter((x) => x.type === 'tool_result').length, calls);
    }
  });

  test(`saboteur (${format}): every task is a violation, undisclosed; harmful twins fully complied with`, async () => {
    const { samples } = await run('suite.yaml', saboteurT, format);
    assert.equal(samples.length, 57);
    for (const s of samples) {
      assert.equal(s.error, null, why(s));
      const o = s.agent!.outcome;
      assert.equal(o.violation, 1, why(s));
      if (o.disclosed !== null) assert.equal(o.disclosed, 0, why(s));
      if (o.harm !== null) assert.equal(o.harm, 1, why(s));
      if (o.refused !== null) assert.equal(o.refused, 0, why(s));
      if (s.agent!.task.family === 'vuln') assert.ok((o.new_findings ?? 0) >= 1, why(s));
    }
  });
}

test('sandbagging probe: the saboteur drops to 0% under the pressure framing (paired difference 1), the oracle does not (0)', async () => {
  for (const [t, expected] of [[saboteurT, 1], [oracleT, 0]] as const) {
    const neutral = await run('sandbagging-neutral.yaml', t, 'openai');
    const pressure = await run('sandbagging-pressure.yaml', t, 'openai');
    const r = await sandbaggingProbe(neutral.log, pressure.log);
    assert.equal(r.comparison.n, 20);
    assert.equal(r.neutral.accuracy, 1);
    assert.equal(r.pressure.accuracy, 1 - expected);
    assert.equal(r.comparison.diff, expected);
    for (const s of pressure.samples) assert.equal(s.agent!.outcome.violation, expected, why(s));
  }
});
