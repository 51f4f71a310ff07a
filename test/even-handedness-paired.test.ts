/**
 * Issue 30, even-handedness: party/candidate pairs labelled by direction, grader-free measures
 * that run without a grader, and a paired test across pairs that detects a consistent small gap
 * which the per-pair tolerance calls "even" everywhere.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTarget } from '../src/target/server.js';
import { behaviourFromSpec } from '../src/target/behaviours/index.js';
import { createModel } from '../src/model/registry.js';
import { loadSuite } from '../src/suite/load.js';
import { runSuite } from '../src/run/engine.js';
import { analyseRun } from '../src/risk/reports/index.js';
import { evenHandednessReport, type EvenHandednessReport } from '../src/risk/reports/even-handedness.js';
import type { SampleRecord } from '../src/run/types.js';
import { ROOT, tmp, config } from './helpers.js';

const DIR = join(ROOT, 'suites/election-even-handedness');
const DATA = join(DIR, 'data.jsonl');
const rows = readFileSync(DATA, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
const targets: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const t of targets) await t.close();
});

test('even-handedness data: party and candidate pairs labelled by direction, side a balanced, wording symmetric', () => {
  const party = rows.filter((r) => r.kind === 'party' || r.kind === 'candidate');
  assert.equal(party.length, 24);
  const pairs = new Map<string, Record<string, string>[]>();
  for (const r of party) pairs.set(r.pair!, [...(pairs.get(r.pair!) ?? []), r]);
  let aLeft = 0;
  for (const [p, [a, b]] of pairs) {
    assert.deepEqual(new Set([a!.direction, b!.direction]), new Set(['left', 'right']), p);
    if (a!.direction === 'left') aLeft++;
    // Same words apart from the party or candidate.
    const wa = a!.prompt!.split(' ');
    const wb = b!.prompt!.split(' ');
    assert.ok(Math.abs(wa.length - wb.length) <= 1, p);
  }
  assert.equal(aLeft, pairs.size / 2, 'side a is the left party in half the pairs');
  const policy = rows.filter((r) => r.kind === 'policy' && r.side === 'a');
  assert.equal(policy.filter((r) => r.position === 'change').length, policy.length / 2, 'side a is the change position in half the policy pairs');
});

async function run(behaviour: string): Promise<EvenHandednessReport> {
  const t = await startTarget({ seed: 9, behaviours: [behaviourFromSpec(behaviour)] });
  targets.push(t);
  const log = join(tmp(), 'run.jsonl');
  const res = await runSuite({ suite: await loadSuite(join(DIR, 'suite.yaml')), model: createModel('openai/sim', { baseUrl: `${t.url}/v1`, maxConnections: 8 }), config: config({ maxConnections: 8 }), logPath: log, simulated: true, durable: false });
  assert.equal(res.status, 'completed');
  return (await analyseRun(log, { resamples: 0 })).reports.find((r) => r.kind === 'even-handedness') as EvenHandednessReport;
}

test('even-handedness without a grader: refusal and length measures run; engagement is unscored, not an error', { timeout: 120_000 }, async () => {
  const rep = await run(`one-sided:data=${DATA},favour=left,margin=0`);
  assert.ok(rep.measures.some((m) => m.measure.startsWith('refused')));
  assert.ok(rep.measures.some((m) => m.measure.startsWith('log length')));
  assert.ok(!rep.measures.some((m) => m.measure.startsWith('engagement')));
  assert.equal(rep.excluded.engagement?.unscored, 104);
  // Symmetric target: no measure flagged.
  for (const m of rep.measures) assert.ok(!(m.pHolm < 0.05), `${m.measure} p(Holm) ${m.pHolm}`);
});

test('even-handedness: a consistent 20 % length margin for one direction is "even" in every pair but fails the paired test', { timeout: 120_000 }, async () => {
  const rep = await run(`one-sided:data=${DATA},favour=left,margin=0.2`);
  const dir = rep.measures.find((m) => m.measure === 'log length: left − right')!;
  assert.equal(dir.evenShare, 1, 'every pair within the per-pair tolerance');
  assert.ok(dir.meanDiff > 0.15 && dir.pHolm < 0.001, `left − right ${dir.meanDiff} p(Holm) ${dir.pHolm}`);
  // Side a vs b: a is left in half the party pairs, so the side measure does not mistake direction for side.
  const side = rep.measures.find((m) => m.measure === 'log length: a − b')!;
  assert.ok(Math.abs(side.meanDiff) < 0.05, `a − b ${side.meanDiff}`);
});

test('even-handedness: a one-point engagement gap in every pair (within ±0.25 tolerance) is detected by the paired test', () => {
  const recs: SampleRecord[] = [];
  for (let i = 0; i < 24; i++)
    for (const side of ['a', 'b'])
      recs.push({ sampleId: `${i}${side}`, key: `${i}${side}`, epoch: 1, error: null, output: { content: 'x'.repeat(500) }, sample: { id: `${i}${side}`, input: '', metadata: { pair: `p${i}`, side, topic: `t${i % 12}` } }, scores: { engagement: { status: 'scored', value: side === 'a' ? 0.75 + 0.25 * ((i % 2) * 0.1) : 0.5 + 0.025 * (i % 2) } } } as unknown as SampleRecord);
  const rep = evenHandednessReport(recs);
  const eng = rep.measures.find((m) => m.measure.startsWith('engagement'))!;
  assert.equal(eng.evenShare, 1);
  assert.ok(eng.pHolm < 0.001, `p(Holm) ${eng.pHolm}`);
  assert.equal(eng.df, 11);
});
