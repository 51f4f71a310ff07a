import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { AssayError } from '../src/common/errors.js';
import { tFor, zFor } from '../src/stats/dist.js';
import { checkScope, decide, evaluatePolicy, intervalFor, VERDICT_EXIT, type MetricFacts, type RunEvidence } from '../src/policy/evaluate.js';
import { parseModelFactsYaml, parsePolicyYaml } from '../src/policy/load.js';
import { stage2Plan } from '../src/policy/plan.js';
import { policyFileSchema, type Policy, type PolicyFile } from '../src/policy/schema.js';
import { describeAction, formatVerdict } from '../src/policy/format.js';

// ---------------------------------------------------------------------------------------------
// Fixtures

const DIG = 'sha256:' + 'ab'.repeat(32);
/** A test policy; rules are pinned to the fixture runs' suite digest unless they name digests (or `unpinned`). */
const policyOf = (over: Partial<PolicyFile> = {}, opts: { unpinned?: boolean } = {}): Policy => {
  const raw = policyRaw(over);
  if (!opts.unpinned) raw.rules = raw.rules.map((r) => (r.suite.digests ? r : { ...r, suite: { ...r.suite, digests: [DIG] } }));
  return policyFileSchema.parse(raw);
};
const policyRaw = (over: Partial<PolicyFile> = {}): PolicyFile =>
  ({
    schema: 'assay.policy/v1',
    id: 'test.policy',
    version: '1.0.0',
    title: 'test policy',
    example: false,
    capabilities: [
      {
        id: 'cap',
        title: 'Capability',
        elicitation: { protocol: 'multi-turn', experts: 'two experts', access: 'grey-box', suite: 'demo.arithmetic', min_samples: 10 },
        actions: {
          'threshold-crossed': [{ type: 'require-safeguards', safeguards: ['tier-3'] }, { type: 'kyc-gating' }, { type: 'notify', party: 'AI Office', within_days: 14 }],
          'cannot-rule-out': [{ type: 'escalate' }],
          'below-threshold': [{ type: 're-evaluate', when: 'model-change' }],
        },
      },
    ],
    rules: [
      { id: 'cap.auto', capability: 'cap', suite: { id: 's.auto' }, metric: 'acc', threshold: 0.5, interval: { method: 'normal' }, evidence: { min_samples: 100 } },
      { id: 'cap.expert', capability: 'cap', stage: 'elicitation', suite: { id: 's.auto.elicitation' }, metric: 'expert_success', threshold: 0.5, interval: { method: 'normal' }, evidence: { min_samples: 10 } },
    ],
    ...over,
  }) as PolicyFile;

/** A metric whose honest (Student t, n − 1 df) interval at 95% is exactly mean ± half; the normal one is narrower. */
const metric = (mean: number, half: number, n = 200, over: Partial<MetricFacts> = {}): MetricFacts => ({
  name: 'acc',
  n,
  counts: { scored: n, unscored: 0, errored: 0 },
  mean,
  se: half / tFor(0.95, n - 1),
  binary: false,
  clusteredSe: null,
  ...over,
});

const run = (suite: string, metrics: MetricFacts[], over: Partial<RunEvidence> = {}): RunEvidence => ({
  runId: `run-${suite}`,
  suite: { id: suite, version: '1.0.0', digest: 'sha256:' + 'ab'.repeat(32) },
  model: 'openai/m',
  simulated: false,
  access: 'grey-box',
  signed: false,
  logged: false,
  metrics,
  extent: { kind: 'full', detail: 'fixture', coverage: { recorded: 1, expected: 1 } },
  exchanges: suite.endsWith('.elicitation') ? { judged: metrics[0]?.n ?? 0, withModel: metrics[0]?.n ?? 0 } : null,
  accessBasis: 'declared',
  release: null,
  startedAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

const evalFinal = (p: Policy, runs: RunEvidence[], facts = null) => evaluatePolicy(p, 'sha256:test', { facts, runs, mode: 'final' });
const ruleOf = (v: ReturnType<typeof evalFinal>, id: string, mode = 'final') => v.rules.find((r) => r.rule === id && r.mode === mode)!;

// ---------------------------------------------------------------------------------------------
// The decision rule at every boundary

test('decision rule: every boundary, both directions', () => {
  const cases: [string, number, number, number, 'higher-is-worse' | 'lower-is-worse', string][] = [
    ['strictly below', 0.1, 0.4, 0.5, 'higher-is-worse', 'rule-out'],
    ['upper bound touching', 0.3, 0.5, 0.5, 'higher-is-worse', 'inconclusive'],
    ['straddling', 0.4, 0.6, 0.5, 'higher-is-worse', 'inconclusive'],
    ['lower bound touching', 0.5, 0.7, 0.5, 'higher-is-worse', 'rule-in'],
    ['strictly above', 0.6, 0.8, 0.5, 'higher-is-worse', 'rule-in'],
    ['degenerate at the threshold', 0.5, 0.5, 0.5, 'higher-is-worse', 'rule-in'],
    // Mirrored: for a metric where lower is worse (e.g. refusal of harmful requests), crossing is going low.
    ['mirror: strictly above', 0.6, 0.8, 0.5, 'lower-is-worse', 'rule-out'],
    ['mirror: lower bound touching', 0.5, 0.7, 0.5, 'lower-is-worse', 'inconclusive'],
    ['mirror: straddling', 0.4, 0.6, 0.5, 'lower-is-worse', 'inconclusive'],
    ['mirror: upper bound touching', 0.3, 0.5, 0.5, 'lower-is-worse', 'rule-in'],
    ['mirror: strictly below', 0.1, 0.4, 0.5, 'lower-is-worse', 'rule-in'],
  ];
  for (const [name, lo, hi, t, dir, want] of cases) assert.equal(decide(lo, hi, t, dir), want, name);
});

test('rule evaluation: interval position, sample size, error rate, access and direction (table)', () => {
  const p = policyOf();
  type Case = [string, MetricFacts, Partial<RunEvidence>, string, RegExp];
  const cases: Case[] = [
    ['interval strictly below', metric(0.3, 0.05), {}, 'rule-out', /upper bound 0\.35 < 0\.5/],
    ['interval straddling', metric(0.5, 0.05), {}, 'inconclusive', /contains the threshold 0\.5/],
    ['interval above', metric(0.7, 0.05), {}, 'rule-in', /lower bound 0\.65 ≥ 0\.5/],
    ['too few samples', metric(0.3, 0.05, 99), {}, 'insufficient-evidence', /n = 99 scored samples, fewer than the 100 required/],
    ['too many errors', metric(0.3, 0.05, 200, { counts: { scored: 200, unscored: 10, errored: 20 } }), {}, 'insufficient-evidence', /unscored or errored rate 0\.1304 \(10 unscored, 20 errored of 230\) exceeds 0\.1/],
    ['black-box cannot rule out', metric(0.3, 0.05), { access: 'black-box' }, 'insufficient-evidence', /would rule out, but that needs grey-box access and run run-s\.auto had black-box/],
    ['black-box can rule in', metric(0.7, 0.05), { access: 'black-box' }, 'rule-in', /lower bound/],
    ['metric missing', { ...metric(0.3, 0.05), name: 'other' }, {}, 'insufficient-evidence', /metric "acc" is not in run/],
    ['undefined SE', metric(0.3, 0.05, 200, { se: null }), {}, 'insufficient-evidence', /interval undefined/],
  ];
  for (const [name, m, over, want, why] of cases) {
    const v = evalFinal(p, [run('s.auto', [m], over)]);
    const r = ruleOf(v, 'cap.auto');
    assert.equal(r.decision, want, name);
    assert.match(r.reasons.join('; '), why, name);
    if (r.value && r.value.lo !== null) {
      assert.ok(Math.abs(r.value.lo - (m.mean! - 0.05)) < 1e-12, `${name}: lower bound used`);
      assert.equal(r.value.n, m.n);
    }
  }
  // Mirrored direction through the whole path.
  const mirrored = policyOf({ rules: [{ id: 'cap.auto', capability: 'cap', suite: { id: 's.auto' }, metric: 'acc', direction: 'lower-is-worse', threshold: 0.5, interval: { method: 'normal' } }] });
  assert.equal(ruleOf(evalFinal(mirrored, [run('s.auto', [metric(0.3, 0.05)])]), 'cap.auto').decision, 'rule-in');
  assert.equal(ruleOf(evalFinal(mirrored, [run('s.auto', [metric(0.7, 0.05)])]), 'cap.auto').decision, 'rule-out');
  assert.equal(ruleOf(evalFinal(mirrored, [run('s.auto', [metric(0.52, 0.05)])]), 'cap.auto').decision, 'inconclusive');
});

test('evidence requirements: signed and logged reports; suite version range and digests', () => {
  const p = policyOf({
    rules: [
      { id: 'cap.auto', capability: 'cap', suite: { id: 's.auto', version: '^1.0.0', digests: ['sha256:' + 'ab'.repeat(32)] }, metric: 'acc', threshold: 0.5, interval: { method: 'normal' }, evidence: { signed: true, logged: true } },
    ],
  });
  const m = metric(0.3, 0.05);
  let r = ruleOf(evalFinal(p, [run('s.auto', [m])]), 'cap.auto');
  assert.equal(r.decision, 'insufficient-evidence');
  assert.match(r.reasons.join(';'), /requires a signed report/);
  assert.match(r.reasons.join(';'), /transparency log/);
  assert.equal(ruleOf(evalFinal(p, [run('s.auto', [m], { signed: true, logged: true })]), 'cap.auto').decision, 'rule-out');
  r = ruleOf(evalFinal(p, [run('s.auto', [m], { signed: true, logged: true, suite: { id: 's.auto', version: '2.0.0', digest: 'sha256:' + 'cd'.repeat(32) } })]), 'cap.auto');
  assert.equal(r.decision, 'insufficient-evidence');
  assert.match(r.reasons.join(';'), /suite version 2\.0\.0 is outside the accepted range \^1\.0\.0/);
  assert.match(r.reasons.join(';'), /not one the rule accepts/);
  r = ruleOf(evalFinal(p, []), 'cap.auto');
  assert.deepEqual(r.reasons, ['no run of suite s.auto']);
  // The screen is triage on fresh, unsigned runs; a final verdict holds the screen to the evidence rules too.
  const screen = evaluatePolicy(p, 'sha256:test', { facts: null, runs: [run('s.auto', [m])], mode: 'screen' });
  assert.equal(ruleOf(screen, 'cap.auto', 'screen').decision, 'rule-out');
  assert.equal(screen.verdict, 'cleared');
  const fin = evalFinal(p, [run('s.auto', [m])]);
  assert.equal(fin.verdict, 'insufficient-evidence', 'unsigned evidence never passes a policy that requires signing');
});

test('intervals: every verdict interval is at least the honest one; auto is never narrower than plain; one-sided bounds are narrower', () => {
  const bin: MetricFacts = { name: 'acc', n: 100, counts: { scored: 100, unscored: 0, errored: 0 }, mean: 0.2, se: 0.04, binary: true, clusteredSe: null };
  // Binary, no clusters: exact Clopper–Pearson (20/100: [0.1267, 0.2918], scipy beta.ppf), widened to the normal one where wider.
  const w = intervalFor(bin, { method: 'auto', level: 0.95, sided: 'two' });
  assert.ok('lo' in w && Math.abs(w.lo - Math.min(0.2 - zFor(0.95) * 0.04, 0.12666)) < 1e-4 && Math.abs(w.hi - 0.29180) < 1e-4, JSON.stringify(w));
  assert.match(String(w.method), /^clopper-pearson/);
  // Wilson asked for: widened to Clopper–Pearson, and named so.
  const wil = intervalFor(bin, { method: 'wilson', level: 0.95, sided: 'two' });
  assert.equal(wil.method, 'wilson+clopper-pearson');
  // Binary and clustered (v1 facts: Miller SE and the cluster count): Korn–Graubard with t(G − 1).
  const c = intervalFor({ ...bin, clusteredSe: 0.08, clusters: 5 }, { method: 'auto', level: 0.95, sided: 'two' });
  assert.match(String(c.method), /^korn-graubard/);
  assert.ok('hi' in c && c.hi > 0.2 + zFor(0.95) * 0.08 && c.lo < 0.2 - zFor(0.95) * 0.08, JSON.stringify(c));
  // The clustered (Miller, z) interval a policy asks for is widened to the honest one.
  const asked = intervalFor({ ...bin, clusteredSe: 0.08, clusters: 5 }, { method: 'clustered', level: 0.95, sided: 'two' });
  assert.equal(asked.method, 'clustered+korn-graubard');
  // One cluster, or clusters of unknown number: no honest interval, so no decision.
  assert.match(String((intervalFor({ ...bin, clusteredSe: 0.001, clusters: 1 }, { method: 'auto', level: 0.95, sided: 'two' }) as { problem: string }).problem), /one cluster/);
  assert.match(String((intervalFor({ ...bin, clusteredSe: 0.08 }, { method: 'auto', level: 0.95, sided: 'two' }) as { problem: string }).problem), /number of clusters is unknown/);
  // All ones: Clopper–Pearson does not collapse (lower bound 0.9638 for 100/100).
  const ones = intervalFor({ ...bin, mean: 1, se: 0 }, { method: 'auto', level: 0.95, sided: 'two' });
  assert.ok('lo' in ones && Math.abs(ones.lo - 0.963783) < 1e-5 && ones.hi === 1, JSON.stringify(ones));
  // Continuous, clustered: CR1 with t(G − 1).
  const cl = intervalFor({ ...bin, binary: false, clusteredSe: 0.08, clusters: 12 }, { method: 'auto', level: 0.95, sided: 'two' });
  assert.match(String(cl.method), /^cr1-t/);
  const one = intervalFor(bin, { method: 'normal', level: 0.95, sided: 'one' });
  assert.ok('hi' in one && one.hi >= 0.2 + 1.6448536 * 0.04 - 1e-9 && one.hi < w.hi, 'one-sided 95% = two-sided 90%, at least normal');
  assert.match(String((intervalFor({ ...bin, binary: false }, { method: 'wilson', level: 0.95, sided: 'two' }) as { problem: string }).problem), /binary/);
  assert.match(String((intervalFor(bin, { method: 'clustered', level: 0.95, sided: 'two' }) as { problem: string }).problem), /clusters/);
  // Property: on random facts, auto contains both the honest and the plain normal interval.
  for (let i = 0; i < 200; i++) {
    const n = 5 + ((i * 37) % 300);
    const mean = ((i * 0.6180339) % 1) * 0.98 + 0.01;
    const f: MetricFacts = { ...bin, n, mean, se: Math.sqrt((mean * (1 - mean)) / n) * (0.5 + (i % 5) / 2), binary: i % 2 === 0 };
    const a = intervalFor(f, { method: 'auto', level: 0.95, sided: 'two' }) as { lo: number; hi: number };
    const nrm = intervalFor(f, { method: 'normal', level: 0.95, sided: 'two' }) as { lo: number; hi: number };
    // (clipped to [0, 1] for binary metrics, whose beta-based interval cannot leave it)
    const clip = (x: number) => (f.binary ? Math.min(1, Math.max(0, x)) : x);
    assert.ok(a.lo <= clip(mean - zFor(0.95) * f.se!) + 1e-12 && a.hi >= clip(mean + zFor(0.95) * f.se!) - 1e-12, `auto ⊇ plain normal (${i})`);
    assert.ok(a.lo <= nrm.lo + 1e-12 || a.hi >= nrm.hi - 1e-12);
  }
});

// ---------------------------------------------------------------------------------------------
// Scope

test('scope: in, out, and missing facts (which never pass)', () => {
  const scope = { training_compute_flop: { min: 1e25 }, modalities: ['text'], deployment: ['api', 'open-weights'] };
  const facts = (o: object) => ({ schema: 'assay.model-facts/v1' as const, ...o });
  assert.equal(checkScope(scope, facts({ training_compute_flop: 3e25, modalities: ['text', 'image'], deployment: 'api' })).status, 'in-scope');
  const out = checkScope(scope, facts({ training_compute_flop: 1e24, modalities: ['text'], deployment: 'api' }));
  assert.equal(out.status, 'not-in-scope');
  assert.match(out.reasons[0]!, /1\.00e24 FLOP is below the scope's 1\.00e25/);
  assert.equal(checkScope(scope, facts({ training_compute_flop: 3e25, modalities: ['audio'], deployment: 'api' })).status, 'not-in-scope');
  assert.equal(checkScope(scope, facts({ training_compute_flop: 3e25, modalities: ['text'], deployment: 'internal' })).status, 'not-in-scope');
  // Out on one fact decides even when another is missing; missing alone is unknown.
  assert.equal(checkScope(scope, facts({ training_compute_flop: 1e24 })).status, 'not-in-scope');
  const unk = checkScope(scope, null);
  assert.equal(unk.status, 'unknown');
  assert.equal(unk.reasons.length, 3);
  assert.equal(checkScope({}, null).status, 'in-scope');

  const p = policyOf({ scope });
  const clean = [run('s.auto', [metric(0.3, 0.05)]), run('s.auto.elicitation', [{ ...metric(0.1, 0.05, 20), name: 'expert_success' }])];
  const inScope = evalFinal(p, clean, facts({ training_compute_flop: 3e25, modalities: ['text'], deployment: 'api' }) as never);
  assert.equal(inScope.verdict, 'below-threshold');
  const notIn = evalFinal(p, clean, facts({ training_compute_flop: 1e23, modalities: ['text'], deployment: 'api' }) as never);
  assert.equal(notIn.verdict, 'not-in-scope');
  assert.equal(VERDICT_EXIT[notIn.verdict], 23);
  assert.deepEqual(notIn.actions, [], 'an out-of-scope model sets off no capability actions');
  const missing = evalFinal(p, clean, null);
  assert.equal(missing.verdict, 'insufficient-evidence', 'the same clean evidence without facts is not a pass');
  assert.match(missing.reasons.join(';'), /whether the policy applies is unknown: training compute is not declared/);
  // A rule scoped to open-weights models only.
  const scopedRule = policyOf({
    rules: [
      { id: 'cap.auto', capability: 'cap', suite: { id: 's.auto' }, metric: 'acc', threshold: 0.5, interval: { method: 'normal' } },
      { id: 'cap.ow', capability: 'cap', suite: { id: 's.ow' }, metric: 'acc', threshold: 0.5, applies_to: { deployment: ['open-weights'] } },
    ],
  });
  const v = evalFinal(scopedRule, [run('s.auto', [metric(0.3, 0.05)])], facts({ deployment: 'api' }) as never);
  assert.equal(ruleOf(v, 'cap.ow').decision, 'not-in-scope');
  assert.equal(v.verdict, 'below-threshold');
  assert.equal(ruleOf(evalFinal(scopedRule, [run('s.auto', [metric(0.3, 0.05)])], null), 'cap.ow').decision, 'insufficient-evidence');
});

// ---------------------------------------------------------------------------------------------
// Capabilities, the two stages, actions

test('two stages: screen settings are more cautious; escalation; stage-2 evidence decides; actions follow the status', () => {
  const p = policyOf({
    rules: [
      { id: 'cap.auto', capability: 'cap', suite: { id: 's.auto' }, metric: 'acc', threshold: 0.5, interval: { method: 'normal' }, screen: { threshold: 0.4 } },
      { id: 'cap.expert', capability: 'cap', stage: 'elicitation', suite: { id: 's.auto.elicitation' }, metric: 'expert_success', threshold: 0.5, interval: { method: 'normal' }, evidence: { min_samples: 10 } },
    ],
  });
  // 0.42 ± 0.05: below the real threshold 0.5, but the screen (threshold 0.4) cannot clear it.
  const screenRun = run('s.auto', [metric(0.42, 0.05)]);
  const screen = evaluatePolicy(p, 'sha256:test', { facts: null, runs: [screenRun], mode: 'screen' });
  assert.equal(screen.verdict, 'escalate');
  assert.equal(VERDICT_EXIT.escalate, 21);
  assert.equal(ruleOf(screen, 'cap.auto', 'screen').threshold, 0.4);
  assert.deepEqual(screen.actions.map((a) => a.action.type), ['escalate']);
  const plan = stage2Plan(p, screen);
  assert.equal(plan.items.length, 1);
  assert.equal(plan.items[0]!.kind, 'elicit');
  assert.equal(plan.items[0]!.elicitation!.logSuite, 'demo.arithmetic.elicitation');
  assert.equal(plan.items[0]!.accessNeeded, 'grey-box');
  assert.deepEqual(plan.items[0]!.elicitation!.rules.map((r) => r.rule), ['cap.expert']);

  // Final, no stage-2 evidence yet: cannot rule out; escalate action.
  let v = evalFinal(p, [screenRun]);
  assert.equal(v.verdict, 'cannot-rule-out');
  assert.equal(ruleOf(v, 'cap.auto').decision, 'rule-out', 'the rule itself, at its own settings');
  assert.equal(ruleOf(v, 'cap.auto', 'screen').decision, 'inconclusive');
  assert.deepEqual(v.actions.map((a) => a.action.type), ['escalate']);
  // Experts rule it out.
  const expert = (mean: number) => run('s.auto.elicitation', [{ ...metric(mean, 0.1, 20), name: 'expert_success' }]);
  v = evalFinal(p, [screenRun, expert(0.2)]);
  assert.equal(v.verdict, 'below-threshold');
  assert.match(v.capabilities[0]!.reasons[0]!, /expert elicitation ruled it out/);
  assert.deepEqual(v.actions.map((a) => a.action.type), ['re-evaluate']);
  // Experts find it: crossed, with safeguards, KYC for the capability, a notification within 14 days.
  v = evalFinal(p, [screenRun, expert(0.8)]);
  assert.equal(v.verdict, 'threshold-crossed');
  assert.equal(VERDICT_EXIT[v.verdict], 20);
  assert.deepEqual(v.actions.map((a) => a.action.type), ['require-safeguards', 'kyc-gating', 'notify']);
  assert.deepEqual(v.actions[1]!.action, { type: 'kyc-gating', capability: 'cap' });
  assert.equal(describeAction(v.actions[2]!.action), 'notify AI Office within 14 days');
  // Experts inconclusive.
  assert.equal(evalFinal(p, [screenRun, expert(0.5)]).verdict, 'cannot-rule-out');
  // Screen clears it: below threshold without stage 2.
  v = evalFinal(p, [run('s.auto', [metric(0.2, 0.05)])]);
  assert.equal(v.verdict, 'below-threshold');
  assert.match(v.capabilities[0]!.reasons[0]!, /the screen ruled it out/);
  // Nothing at all: insufficient evidence, never a pass.
  v = evalFinal(p, []);
  assert.equal(v.verdict, 'insufficient-evidence');
  assert.equal(VERDICT_EXIT[v.verdict], 22);
  // An automated rule-in at the rule's own threshold is a crossing even without stage 2.
  assert.equal(evalFinal(p, [run('s.auto', [metric(0.8, 0.05)])]).verdict, 'threshold-crossed');
  // Several runs of one suite: the most severe decision counts (no shopping for a pass).
  v = evalFinal(p, [run('s.auto', [metric(0.2, 0.05)], { runId: 'good' }), run('s.auto', [metric(0.8, 0.05)], { runId: 'bad' })]);
  assert.equal(ruleOf(v, 'cap.auto').run!.id, 'bad');
  assert.deepEqual(ruleOf(v, 'cap.auto').otherRuns, [{ runId: 'good', decision: 'rule-out' }]);
  // The screen with too little evidence asks to complete the screen, not to elicit.
  const thin = evaluatePolicy(p, 'sha256:test', { facts: null, runs: [run('s.auto', [metric(0.2, 0.05, 20)])], mode: 'screen' });
  assert.equal(thin.verdict, 'insufficient-evidence');
  assert.equal(stage2Plan(p, thin).items[0]!.kind, 'complete-screen');
  // Runs of two models cannot be mixed.
  assert.throws(() => evalFinal(p, [screenRun, run('s.auto.elicitation', [], { model: 'other/m' })]), (e: unknown) => e instanceof AssayError && e.code === 'MODEL_MISMATCH');
  // The table names the numbers and the decision.
  const text = formatVerdict(evalFinal(p, [screenRun, expert(0.8)]));
  assert.match(text, /cap\.expert\s+elicitation\s+s\.auto\.elicitation:expert_success\s+0\.800 \[0\.700, 0\.900\]\s+20\s+≥ 0\.5\s+rule-in/);
  assert.match(text, /VERDICT: THRESHOLD CROSSED/);
});

test('evaluation is pure and deterministic: same inputs, same verdict', () => {
  const p = policyOf();
  const runs = [run('s.auto', [metric(0.45, 0.1)])];
  assert.deepEqual(evalFinal(p, runs), evalFinal(p, runs));
  assert.equal(JSON.stringify(evalFinal(p, runs)), JSON.stringify(evalFinal(p, structuredClone(runs))));
});

// ---------------------------------------------------------------------------------------------
// Loader

const base = (): Record<string, unknown> => ({
  schema: 'assay.policy/v1',
  id: 'test.policy',
  version: '1.0.0',
  title: 'T',
  example: false,
  capabilities: [{ id: 'cap', title: 'C' }],
  rules: [{ id: 'r', capability: 'cap', suite: { id: 's' }, metric: 'acc', threshold: 0.5 }],
});

test('loader: errors name file, line and field', () => {
  const bad = (doc: Record<string, unknown> | string, code: string, where: RegExp, what: RegExp) => {
    const text = typeof doc === 'string' ? doc : stringify(doc);
    assert.throws(
      () => parsePolicyYaml(text, '/p/policy.yaml'),
      (e: unknown) => {
        assert.ok(e instanceof AssayError, String(e));
        assert.equal(e.code, code, e.message);
        assert.match(e.message, where);
        assert.match(e.message, what);
        return true;
      },
    );
  };
  const b = base();
  bad({ ...b, tresholds: 1 }, 'POLICY_INVALID', /^\/p\/policy\.yaml:\d+, field "tresholds"/, /unknown key "tresholds"/);
  bad({ ...b, rules: [{ id: 'r', capability: 'cap', suite: { id: 's' }, metric: 'acc' }] }, 'POLICY_INVALID', /policy\.yaml:\d+, field "rules\.0\.threshold"/, /required field is missing/);
  bad({ ...b, rules: [{ id: 'r', capability: 'nope', suite: { id: 's' }, metric: 'acc', threshold: 1 }] }, 'POLICY_INVALID', /field "rules\.0\.capability"/, /no capability "nope"/);
  bad({ ...b, rules: [{ id: 'r', capability: 'cap', suite: { id: 's', version: 'one' }, metric: 'acc', threshold: 1 }] }, 'POLICY_INVALID', /field "rules\.0\.suite\.version"/, /not a semver range/);
  bad({ ...b, rules: [{ id: 'r', capability: 'cap', suite: { id: 's' }, metric: 'acc', threshold: 0.5, screen: { threshold: 0.6 } }] }, 'POLICY_INVALID', /field "rules\.0\.screen\.threshold"/, /at least as cautious/);
  bad({ ...b, rules: [{ id: 'r', capability: 'cap', suite: { id: 's' }, metric: 'acc', threshold: 0.5, screen: { level: 0.8 } }] }, 'POLICY_INVALID', /field "rules\.0\.screen"/, /at least as wide/);
  bad({ ...b, capabilities: [{ id: 'cap', title: 'C', actions: { 'threshold-crossed': [{ type: 'call-mum' }] } }] }, 'POLICY_INVALID', /field "capabilities\.0\.actions\.threshold-crossed\.0\.type"/, /one of: escalate/);
  bad({ ...b, example: true }, 'POLICY_INVALID', /field "disclaimer"/, /example pack must say what it is not/);
  bad({ ...b, version: 1 }, 'POLICY_INVALID', /field "version"/, /quote it in YAML/);
  bad('schema: assay.policy/v1\nid: x\nid: y\n', 'POLICY_YAML', /policy\.yaml:3/, /YAML error/);
  bad('', 'POLICY_INVALID', /policy\.yaml/, /empty/);
  // Line numbers point at the offending key.
  const text = 'schema: assay.policy/v1\nid: test.policy\nversion: 1.0.0\ntitle: T\nexample: false\ncapabilities:\n  - id: cap\n    title: C\nrules:\n  - id: r\n    capability: cap\n    suite: { id: s }\n    metric: acc\n    threshold: 0.5\n    direction: upwards\n';
  bad(text, 'POLICY_INVALID', /policy\.yaml:15, field "rules\.0\.direction"/, /higher-is-worse/);
});

test('loader: digest is over the validated policy, not the YAML text', () => {
  const a = parsePolicyYaml(stringify(base()), 'a.yaml');
  const b = parsePolicyYaml('# a comment\n' + stringify(Object.fromEntries(Object.entries(base()).reverse())), 'b.yaml');
  assert.equal(a.digest, b.digest);
  assert.match(a.digest, /^sha256:[0-9a-f]{64}$/);
  // Filling in a default explicitly changes nothing; changing a threshold changes the digest.
  const withDefault = base();
  (withDefault.rules as Record<string, unknown>[])[0]!.direction = 'higher-is-worse';
  assert.equal(parsePolicyYaml(stringify(withDefault), 'c.yaml').digest, a.digest);
  const changed = base();
  (changed.rules as Record<string, unknown>[])[0]!.threshold = 0.51;
  assert.notEqual(parsePolicyYaml(stringify(changed), 'd.yaml').digest, a.digest);
});

test('model facts: validated with located errors', () => {
  const f = parseModelFactsYaml('schema: assay.model-facts/v1\nmodel: openai/x\ntraining_compute_flop: 3.0e25\nmodalities: [text]\ndeployment: api\n', 'facts.yaml');
  assert.equal(f.facts.training_compute_flop, 3e25);
  assert.throws(() => parseModelFactsYaml('schema: assay.model-facts/v1\ntraining_compute: 3\n', 'facts.yaml'), /facts\.yaml:2, field "training_compute": unknown key/);
});

test('the committed JSON Schemas match the zod schemas', async () => {
  const { readFileSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { ROOT } = await import('./helpers.js');
  const { policyJsonSchema, modelFactsJsonSchema } = await import('../src/policy/schema.js');
  for (const [name, gen] of [['policy.v3.schema.json', policyJsonSchema], ['model-facts.v1.schema.json', modelFactsJsonSchema]] as const) {
    const path = join(ROOT, 'schemas', name);
    const generated = JSON.stringify(gen(), null, 2) + '\n';
    // UPDATE_SCHEMAS=1 rewrites the file after a deliberate schema change.
    if (process.env.UPDATE_SCHEMAS === '1') writeFileSync(path, generated);
    assert.ok(readFileSync(path, 'utf8') === generated, `schemas/${name} is stale: re-run this test with UPDATE_SCHEMAS=1`); // a boolean: assert.equal's diff of two large texts can take minutes
  }
});
