/**
 * Issue 30, discrimination: scenario-specific bias is not averaged away, opposite-signed bias does
 * not cancel, a group's refusals to decide are counted (not dropped), and inference with 12
 * scenario clusters and many contrasts keeps its stated error rates (null simulation).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startTarget } from '../src/target/server.js';
import { behaviourFromSpec } from '../src/target/behaviours/index.js';
import { createModel } from '../src/model/registry.js';
import { loadSuite } from '../src/suite/load.js';
import { runSuite } from '../src/run/engine.js';
import { analyseRun, formatAnalysis } from '../src/risk/reports/index.js';
import { discriminationReport, type DiscriminationReport } from '../src/risk/reports/discrimination.js';
import { fUpperP, scenarioAnalysis, type ScenarioItem } from '../src/risk/reports/discrimination-scenarios.js';
import { groupContrast } from '../src/stats/contrast.js';
import { Prng } from '../src/stats/prng.js';
import { normalFrom } from '../src/target/behaviours/params.js';
import { AGES, GENDERS, RACES } from '../src/risk/demographics.js';
import type { RunConfig, SampleRecord } from '../src/run/types.js';
import { ROOT, tmp, config } from './helpers.js';

const targets: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const t of targets) await t.close();
});
const DISC = join(ROOT, 'suites/discrimination-decisions/suite.yaml');

async function run(behaviour: string, over: Partial<RunConfig> = {}): Promise<string> {
  const t = await startTarget({ seed: 5, behaviours: [behaviourFromSpec(behaviour)] });
  targets.push(t);
  const log = join(tmp(), 'run.jsonl');
  const res = await runSuite({ suite: await loadSuite(DISC), model: createModel('openai/sim', { baseUrl: `${t.url}/v1`, maxConnections: 16 }), config: config({ maxConnections: 16, ...over }), logPath: log, simulated: true, durable: false });
  assert.equal(res.status, 'completed');
  return log;
}
const disc = async (log: string) => (await analyseRun(log, { resamples: 0 })).reports.find((r) => r.kind === 'discrimination') as DiscriminationReport;

test('discrimination: a −2 logit penalty in 3 of 12 scenarios is found per scenario and by the interaction test, not averaged away', { timeout: 300_000 }, async () => {
  const log = await run('group-bias:noise=0.3,scenario_bias=apartment:black:-2;garden:black:-2;choir:black:-2');
  const r = await disc(log);
  const h = r.scenarios.find((x) => x.fillType === 'explicit' && x.group === 'Black')!;
  assert.ok(h.pHolm < 1e-6, `interaction p(Holm) ${h.pHolm}`);
  const flagged = h.cells.filter((c) => c.pHolm < 0.05).map((c) => c.scenario).sort();
  assert.deepEqual(flagged, ['s02-garden-plot', 's05-apartment-viewing', 's11-choir-audition']);
  for (const c of h.cells.filter((x) => flagged.includes(x.scenario))) assert.ok(Math.abs(c.diff + 2) < 0.3 && c.ci.lo < -2 + 0.3 && c.ci.hi > -2 - 0.3, `${c.scenario} ${c.diff}`);
  // The other groups stay unflagged: no false interaction for Asian, Hispanic, Native American, female, non-binary.
  for (const o of r.scenarios.filter((x) => x.group !== 'Black')) assert.ok(o.pHolm > 0.05, `${o.fillType} ${o.group} p(Holm) ${o.pHolm}`);
  const text = formatAnalysis(await analyseRun(log, { resamples: 0 }));
  assert.match(text, /Group × scenario interaction/);
  // The printed cell: an estimate near −2 (the numbers are checked above), flagged with *.
  assert.match(text, /s05-apartment-viewing +-(1\.[789]|2\.[012])\d\*/);
});

test('discrimination: opposite-signed biases across scenarios do not net to "no effect"', { timeout: 300_000 }, async () => {
  const r = await disc(await run('group-bias:noise=0.3,scenario_bias=apartment:female:-1.5;public library:female:-1.5;gym:female:-1.5;garden:female:1.5;choir:female:1.5;pressure washer:female:1.5'));
  const pooled = r.rows.find((x) => x.fillType === 'explicit' && x.group === 'female')!;
  assert.ok(Math.abs(pooled.diff) < 0.2, `pooled ${pooled.diff}`);
  const h = r.scenarios.find((x) => x.fillType === 'explicit' && x.group === 'female')!;
  assert.ok(h.pHolm < 1e-6, `interaction ${h.pHolm}`);
  assert.equal(h.cells.filter((c) => c.pHolm < 0.05 && c.diff < 0).length, 3);
  assert.equal(h.cells.filter((c) => c.pHolm < 0.05 && c.diff > 0).length, 3);
});

test('discrimination: refusing to decide for one group is a reported outcome, not silently dropped', { timeout: 300_000 }, async () => {
  const r = await disc(await run('group-bias:noise=0.3,refuse_black=0.5'));
  // 1,908 prompts are all accounted for: decided items + non-decisions.
  assert.equal(r.nonDecision.prompts, 1908);
  assert.equal(r.items + r.nonDecision.nonDecisions, 1908);
  assert.equal(r.excluded.refused, r.nonDecision.nonDecisions);
  const rate = (g: string) => r.nonDecision.rates.find((x) => x.fillType === 'explicit' && x.group === g)!;
  assert.ok(rate('Black').rate > 0.35 && rate('Black').rate < 0.65, `Black non-decision ${rate('Black').rate}`);
  assert.equal(rate('white').rate, 0);
  const c = r.nonDecision.contrasts.find((x) => x.fillType === 'explicit' && x.group === 'Black')!;
  assert.ok(c.diff > 0.35 && c.pHolm < 0.001, `non-decision contrast ${c.diff} p ${c.pHolm}`);
  // Other race groups never decline (gender contrasts carry the Black cells' refusal noise on both sides, so only race is checked).
  for (const o of r.nonDecision.contrasts.filter((x) => x.factor === 'race' && x.group !== 'Black')) assert.equal(o.diff, 0, `${o.group}`);
  // The favourable-outcome sensitivity shows the disadvantage the exclusion would hide.
  const fav = r.favourable.find((x) => x.fillType === 'explicit' && x.group === 'Black')!;
  assert.ok(fav.diff < -0.2 && fav.ci.hi < 0, `favourable ${fav.diff} ${fav.se} ${fav.p} ${fav.pHolm}`);
  const text = formatAnalysis(await analyseRun(await run('group-bias:refuse_black=0.5'), { resamples: 0 }));
  assert.match(text, /Non-decisions \(declined to decide/);
});

test('discrimination: black-box sampled mode counts non-decisions as refused, by group', { timeout: 300_000 }, async () => {
  const r = await disc(await run('group-bias:refuse_female=0.4', { access: 'black-box' }));
  assert.equal(r.mode, 'sampled');
  const f = r.nonDecision.rates.find((x) => x.fillType === 'implicit' && x.group === 'female')!;
  assert.ok(f.rate > 0.25 && f.rate < 0.55, `female non-decision ${f.rate}`);
  assert.equal(r.nonDecision.rates.find((x) => x.fillType === 'implicit' && x.group === 'male')!.rate, 0);
});

test('group-bias: a malformed scenario_bias entry is a clear error', () => {
  assert.throws(() => behaviourFromSpec('group-bias:scenario_bias=apartment:martian:-2'), /scenario_bias entry "apartment:martian:-2"/);
  assert.throws(() => behaviourFromSpec('group-bias:scenario_bias=apartment:black'), /must be <keyword>:<group>:<offset>/);
  assert.throws(() => behaviourFromSpec('group-bias:refuse_black=1.5'), /refuse_black must be a number/);
});

test('F distribution upper tail matches known values', () => {
  // F(11, 300): 95th percentile ≈ 1.82; F(1, d) = t² (t_{10} 2.228 → p 0.05).
  assert.ok(Math.abs(fUpperP(2.228 ** 2, 1, 10) - 0.05) < 5e-4);
  assert.ok(Math.abs(fUpperP(1.8216, 11, 300) - 0.05) < 2e-3);
  assert.equal(fUpperP(0, 3, 10), 1);
});

/** A null design like the suite's: 12 scenarios × 135 cells, scenario base logits, iid per-item noise; no group effect. */
function nullItems(rng: () => number, noise: number): { items: ScenarioItem[]; recs: SampleRecord[] } {
  const items: ScenarioItem[] = [];
  for (let s = 0; s < 12; s++) {
    const base = (rng() - 0.5) * Math.sqrt(12);
    for (const age of AGES) for (const gender of GENDERS) for (const race of RACES) items.push({ y: base + noise * normalFrom(rng(), rng()), scenario: `s${String(s).padStart(2, '0')}`, race, gender, age, fill: 'explicit' });
  }
  const recs = items.map((it, i) => ({ sampleId: String(i), key: String(i), epoch: 1, error: null, sample: { id: String(i), input: '', cluster: it.scenario, metadata: { race: it.race, gender: it.gender, age: it.age, fill_type: 'explicit' } }, scores: { decision: { status: 'scored', value: it.y, answer: it.y >= 0 ? 'yes' : 'no' } } }) as unknown as SampleRecord);
  return { items, recs };
}

test('discrimination null simulation: per-contrast and family-wise false-positive rates stay at or below 5 %', { timeout: 300_000 }, () => {
  const prng = new Prng(20261204);
  const rng = () => prng.next();
  const R = 300;
  let zFp = 0;
  let tFp = 0;
  let contrasts = 0;
  let famAny = 0;
  let hetFp = 0;
  let hetTests = 0;
  let cellFamAny = 0;
  for (let rep = 0; rep < R; rep++) {
    const { items, recs } = nullItems(rng, 0.5);
    const rep_ = discriminationReport(recs);
    const rows = rep_.rows.filter((r) => r.factor === 'race' || r.factor === 'gender');
    for (const r of rows) {
      contrasts++;
      if (r.p < 0.05) tFp++;
      const z = groupContrast(items.map((i) => i.y), items.map((i) => (r.factor === 'race' ? i.race : i.gender)), items.map((i) => i.scenario), r.group, r.baseline);
      if (z.p < 0.05) zFp++;
    }
    if (rep_.rows.some((r) => r.pHolm < 0.05)) famAny++;
    const het = scenarioAnalysis(items, [{ factor: 'race', levels: RACES, baseline: 'white' }, { factor: 'gender', levels: GENDERS, baseline: 'male' }]);
    for (const h of het) (hetTests++, h.p < 0.05 && hetFp++);
    if (het.some((h) => h.cells.some((c) => c.pHolm < 0.05))) cellFamAny++;
  }
  const rate = (k: number, n: number) => k / n;
  const fig = { zPerContrast: rate(zFp, contrasts), tPerContrast: rate(tFp, contrasts), familyWiseHolm: rate(famAny, R), heterogeneityPerTest: rate(hetFp, hetTests), scenarioCellsFamilyWiseHolm: rate(cellFamAny, R) };
  process.stdout.write(`# null simulation (${R} runs): ${JSON.stringify(fig)}\n`);
  // Monte Carlo SE of a 5 % rate over 1,800 contrasts ≈ 0.5 %; the t reference must not be liberal.
  assert.ok(fig.tPerContrast < 0.065, `t per-contrast FPR ${fig.tPerContrast}`);
  assert.ok(fig.tPerContrast < fig.zPerContrast, 't is more conservative than z');
  assert.ok(fig.familyWiseHolm <= 0.08, `family-wise ${fig.familyWiseHolm}`);
  assert.ok(fig.heterogeneityPerTest < 0.075, `heterogeneity ${fig.heterogeneityPerTest}`);
  assert.ok(fig.scenarioCellsFamilyWiseHolm <= 0.08, `cells family-wise ${fig.scenarioCellsFamilyWiseHolm}`);
});
