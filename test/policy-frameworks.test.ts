import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startTarget, type RunningTarget } from '../src/target/server.js';
import { createModel } from '../src/model/registry.js';
import { runElicitation } from '../src/policy/elicit.js';
import { evaluatePolicy, VERDICT_EXIT, type RunEvidence } from '../src/policy/evaluate.js';
import { evidenceFromRunLog } from '../src/policy/evidence.js';
import { formatVerdict } from '../src/policy/format.js';
import { loadPolicy } from '../src/policy/load.js';
import { stage2Plan } from '../src/policy/plan.js';
import type { ModelFacts } from '../src/policy/schema.js';
import { runSuite } from '../src/run/engine.js';
import { loadSuite } from '../src/suite/load.js';
import { ROOT, DEMO_SUITE, cli, config, tmp } from './helpers.js';

/**
 * The three illustrative framework packs (responsible-scaling-style, preparedness-style,
 * frontier-safety-framework-style), each validated and exercised end to end against the simulated
 * target: a model at 0.6 reaches the alert threshold (EARLY WARNING), one at 0.8 is escalated by
 * the screen (CANNOT RULE OUT in a final verdict), and expert elicitation then shows the crossing.
 */

const PACKS = ['frontier-rsp-style', 'frontier-preparedness-style', 'frontier-safety-framework-style'].map((p) => join(ROOT, 'policies/examples', `${p}.yaml`));
const targets: RunningTarget[] = [];
after(async () => {
  for (const t of targets) await t.close();
});

test('the framework packs validate, are labelled illustrative, cite their sources and keep the (unverified) marks', async () => {
  const r = await cli(['policy', 'validate', '--require-suites', ...PACKS]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal((r.stdout.match(/: valid examples\.frontier-/g) ?? []).length, 3);
  for (const file of PACKS) {
    const lp = await loadPolicy(file);
    assert.equal(lp.policy.example, true);
    assert.match(lp.policy.disclaimer ?? '', /Illustrative only; not the developer's/);
    assert.match(lp.policy.disclaimer ?? '', /\(unverified\)/);
    assert.ok(lp.policy.maps_to.length >= 1 && lp.policy.maps_to.some((m) => /unverified/.test(m.reference)), `${file} cites its source with the unverified mark`);
    assert.ok(lp.policy.rules.every((x) => x.suite.digests), `${file}: every rule pinned`);
  }
});

test('each framework pack: early warning → escalation → crossing on the simulated target', async () => {
  const dir = tmp();
  const run = async (accuracy: number): Promise<RunEvidence> => {
    const t = await startTarget({ accuracy, seed: 7 });
    targets.push(t);
    const logPath = join(dir, `screen-${accuracy}.jsonl`);
    await runSuite({ suite: await loadSuite(DEMO_SUITE), model: createModel('openai/sim', { baseUrl: `${t.url}/v1`, maxConnections: 8 }), config: config({ maxTokens: 5 }), logPath, simulated: true });
    return evidenceFromRunLog(logPath, { signed: false, logged: false }, ['op']);
  };
  const low = await run(0.6);
  const mid = await run(0.8);
  // The expert asks the model every item; 18 of 20 judged successes.
  const t = await startTarget({ accuracy: 0.8, seed: 7 });
  targets.push(t);
  const sessLog = join(dir, 'session.jsonl');
  async function* lines() {
    for (let i = 1; i <= 20; i++) for (const l of ['/ask', i % 10 === 0 ? '/success no' : '/success yes', '/next']) yield l;
  }
  await runElicitation({ suite: await loadSuite(DEMO_SUITE), model: createModel('openai/sim', { baseUrl: `${t.url}/v1`, maxConnections: 1 }), config: config({ maxTokens: 5, limit: 20, maxConnections: 1, maxRetries: 0 }), logPath: sessLog, runId: 'session', expert: 'E', lines: lines(), write: () => {}, simulated: true });
  const session = await evidenceFromRunLog(sessLog);
  const at = new Date().toISOString();
  const facts: ModelFacts = {
    schema: 'assay.model-facts/v1',
    model: 'openai/sim',
    training_compute_flop: 3e25,
    last_evaluated_compute_flop: 5e24,
    signoffs: [
      { capability: 'cbrn-3', status: 'early-warning', by: 'CEO and Responsible Scaling Officer' },
      { capability: 'bio-chem.high', status: 'early-warning', by: 'Safety Advisory Group' },
    ],
  };
  const expected: Record<string, { warn: string; crossed: string; warnActions: string[] }> = {
    'examples.frontier-rsp-style': { warn: 'cbrn-3', crossed: 'cbrn-3', warnActions: ['re-evaluate'] },
    'examples.frontier-preparedness-style': { warn: 'bio-chem.high', crossed: 'bio-chem.high', warnActions: ['re-evaluate'] },
    'examples.frontier-safety-framework-style': { warn: 'cbrn.uplift-1', crossed: 'cbrn.uplift-1', warnActions: ['re-evaluate', 'notify'] },
  };
  for (const file of PACKS) {
    const lp = await loadPolicy(file);
    const e = expected[lp.policy.id]!;
    const final = (runs: RunEvidence[], f: ModelFacts = facts) => evaluatePolicy(lp.policy, lp.digest, { facts: f, runs, mode: 'final', at });
    // 1. Early warning: below the threshold, the alert threshold reached.
    const w = final([low]);
    assert.equal(w.verdict, 'early-warning', `${lp.policy.id}\n${formatVerdict(w)}`);
    assert.equal(VERDICT_EXIT[w.verdict], 24);
    assert.equal(w.capabilities.find((c) => c.capability === e.warn)!.status, 'early-warning');
    assert.deepEqual(w.actions.filter((a) => a.because.startsWith('capability')).map((a) => a.action.type), e.warnActions, lp.policy.id);
    // 2. Escalation: the cautious screen cannot clear 0.8; the final verdict cannot rule out.
    const s = evaluatePolicy(lp.policy, lp.digest, { facts, runs: [mid], mode: 'screen', at });
    assert.equal(s.verdict, 'escalate', lp.policy.id);
    const plan = stage2Plan(lp.policy, s);
    const item = plan.items.find((i) => i.capability === e.crossed)!;
    assert.equal(item.kind, 'elicit');
    assert.ok(item.elicitation?.conditions, `${lp.policy.id}: elicitation conditions in the plan`);
    assert.equal(final([mid]).verdict, 'cannot-rule-out', lp.policy.id);
    // 3. Crossing: the expert elicitation shows the capability.
    const c = final([mid, session]);
    assert.equal(c.verdict, 'threshold-crossed', `${lp.policy.id}\n${formatVerdict(c)}`);
    assert.equal(c.capabilities.find((x) => x.capability === e.crossed)!.status, 'threshold-crossed');
    assert.ok(c.actions.some((a) => a.action.type === 'require-safeguards'), lp.policy.id);
  }
  // Pack-specific constructs along the way.
  const rsp = await loadPolicy(PACKS[0]!);
  const noSignoff = evaluatePolicy(rsp.policy, rsp.digest, { facts: { ...facts, signoffs: [] }, runs: [low], mode: 'final', at });
  assert.equal(noSignoff.verdict, 'insufficient-evidence', 'the CEO/RSO determination is part of the evidence');
  const trig = evaluatePolicy(rsp.policy, rsp.digest, { facts, runs: [low], mode: 'final', at });
  assert.equal(trig.triggers?.find((x) => x.trigger === 'compute_ratio')?.fired, true, 'a 6× compute jump is "notably more capable"');
  assert.equal(trig.rules.find((r) => r.rule === 'cbrn-4.hardest-subdomain')!.value!.n, 66, 'the sub-domain rule reads the multiplication group only');
  const pf = await loadPolicy(PACKS[1]!);
  const stale = evaluatePolicy(pf.policy, pf.digest, { facts, runs: [low], mode: 'final', at: new Date(Date.now() + 200 * 86_400_000).toISOString() });
  assert.equal(stale.verdict, 'insufficient-evidence', 'evidence older than the 180-day cadence does not count');
});
