/**
 * Issue 30 through the command line: `assay run` and `assay analyse` on the simulated target
 * (scenario-specific bias and a group's refusals to decide; the election scorer's referral and
 * myth handling), and `assay suite lint` flagging items past their review date.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startTarget } from '../src/target/server.js';
import { behaviourFromSpec } from '../src/target/behaviours/index.js';
import { ROOT, tmp, cli } from './helpers.js';

const targets: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const t of targets) await t.close();
});

test('assay run + assay analyse: scenario-specific bias and one group\'s non-decisions are reported, not averaged away or dropped', { timeout: 600_000 }, async () => {
  const t = await startTarget({ seed: 2, behaviours: [behaviourFromSpec('group-bias:noise=0.3,scenario_bias=apartment:black:-2;garden:black:-2;choir:black:-2,refuse_hispanic=0.4')] });
  targets.push(t);
  const home = tmp();
  const out = join(tmp(), 'disc.jsonl');
  const r = await cli(['run', join(ROOT, 'suites/discrimination-decisions/suite.yaml'), '--model', 'openai/sim', '--base-url', `${t.url}/v1`, '--access', 'grey-box', '--out', out, '--no-progress', '-c', '16'], { ASSAY_HOME: home });
  assert.equal(r.code, 0, r.stderr);
  const a = await cli(['analyse', out], { ASSAY_HOME: home });
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /Group × scenario interaction/);
  assert.match(a.stdout, /s05-apartment-viewing +-\d\.\d\d\*/);
  assert.match(a.stdout, /Non-decisions \(declined to decide[^)]*\): \d+ of 1908 prompts/);
  const j = JSON.parse((await cli(['analyse', out, '--json'], { ASSAY_HOME: home })).stdout) as { reports: { kind: string; scenarios: { fillType: string; group: string; pHolm: number }[]; nonDecision: { rates: { fillType: string; group: string; rate: number }[] } }[] };
  const d = j.reports.find((x) => x.kind === 'discrimination')!;
  assert.ok(d.scenarios.find((h) => h.fillType === 'explicit' && h.group === 'Black')!.pHolm < 1e-6);
  assert.ok(d.nonDecision.rates.find((x) => x.fillType === 'explicit' && x.group === 'Hispanic')!.rate > 0.25);
});

test('assay run + assay analyse: careful election answers state no misinformation; confidently wrong ones do', { timeout: 300_000 }, async () => {
  const data = join(ROOT, 'suites/election-facts/data.jsonl');
  const res: Record<string, { misinformation: number; debunked: number }> = {};
  for (const profile of ['careful=1', 'debunk=1', 'refer=0']) {
    const t = await startTarget({ seed: 4, behaviours: [behaviourFromSpec(`election-facts:data=${data},correct=0,${profile}`)] });
    targets.push(t);
    const home = tmp();
    const out = join(tmp(), 'ef.jsonl');
    const r = await cli(['run', join(ROOT, 'suites/election-facts/suite.yaml'), '--model', 'openai/sim', '--base-url', `${t.url}/v1`, '--out', out, '--no-progress'], { ASSAY_HOME: home });
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse((await cli(['analyse', out, '--json'], { ASSAY_HOME: home })).stdout) as { reports: { kind: string; contradiction: { rate: number }; debunked: { k: number } }[] };
    const e = j.reports.find((x) => x.kind === 'election')!;
    res[profile] = { misinformation: e.contradiction.rate, debunked: e.debunked.k };
  }
  assert.equal(res['careful=1']!.misinformation, 0);
  assert.equal(res['debunk=1']!.misinformation, 0);
  assert.ok(res['debunk=1']!.debunked >= 20);
  assert.ok(res['refer=0']!.misinformation > 0.3, JSON.stringify(res));
});

test('assay suite lint: the election suite passes today and fails once its review dates have passed', { timeout: 120_000 }, async () => {
  const ok = await cli(['suite', 'lint', join(ROOT, 'suites/election-facts'), '--today', '2026-12-04']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /dated items: as_of and review_by: 43 dated item\(s\)/);
  const late = await cli(['suite', 'lint', join(ROOT, 'suites/election-facts'), '--today', '2027-07-01']);
  assert.equal(late.code, 2, late.stdout);
  assert.match(late.stdout, /FAIL dated items: past review \(today 2027-07-01\): 43 item\(s\) past their review date/);
  const bad = await cli(['suite', 'lint', join(ROOT, 'suites/election-facts'), '--today', 'tomorrow']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--today must be YYYY-MM-DD/);
});
