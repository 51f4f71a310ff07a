/**
 * Issue 30: the model-graded route of the election-facts scorer, and `assay validate election`
 * (agreement of rules, graded and rules-first routes with the human labels). No grader model API
 * is reachable here: the graded route is exercised with a stub grader and with the simulated
 * target's election-grader (a test double), and its figures are plumbing checks, not a grader's.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { electionFactGradedScorer, gradedPass } from '../src/score/election-graded.js';
import { electionAgreement, type LabelledAnswer } from '../src/score/election-validation.js';
import { createScorer } from '../src/score/registry.js';
import type { GraderModel, ScoreInput } from '../src/score/types.js';
import { startTarget } from '../src/target/server.js';
import { behaviourFromSpec } from '../src/target/behaviours/index.js';
import { ROOT, tmp, cli } from './helpers.js';

const DIR = join(ROOT, 'suites/election-facts');
const ITEMS = new Map(readFileSync(join(DIR, 'data.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).map((x) => [x.id as string, x]));
const input = (id: string, answer: string): ScoreInput => {
  const it = ITEMS.get(id)!;
  return { sample: { id, input: String(it.question), metadata: it, source: { file: 'data.jsonl' } }, output: { content: answer, logprobs: null } };
};
const stub = (reply: string) => {
  const g: GraderModel & { calls: number; last: string } = {
    identity: { name: 'stub/grader', provider: 'openai', model: 'grader', baseUrl: 'http://127.0.0.1:1' },
    calls: 0,
    last: '',
    async complete(messages) {
      g.calls++;
      g.last = messages.map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
      return reply;
    },
  };
  return g;
};
const targets: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const t of targets) await t.close();
});

const stable = [...ITEMS.values()].find((x) => !x.time_sensitive && Array.isArray(x.answer_key) && (x.answer_key as string[]).length > 0 && !x.polarity)!;
const timed = [...ITEMS.values()].find((x) => x.time_sensitive === true)!;

test('graded route, fallback: the rules keep a verdict resting on evidence; the grader is asked only when the rules found nothing', async () => {
  const id = stable.id as string;
  const key = (stable.answer_key as string[])[0]!;
  const g = stub('#accurate: 0\n#false_claim: 0\n#refers: 0');
  const s = electionFactGradedScorer({ route: 'fallback', ctx: { grader: g } });
  // The accepted answer is there: the rules decide, no grading call.
  const a = await s.score(input(id, `The answer is ${key}.`));
  assert.equal(a.status, 'scored');
  assert.equal(a.status === 'scored' && a.mode, 'rules');
  assert.equal(g.calls, 0);
  // Nothing the rules recognise: the grader decides (here: accurate), and its prompt carries the item's reference.
  const yes = stub('#accurate: 1\n#false_claim: 0\n#refers: 0');
  const b = await electionFactGradedScorer({ route: 'fallback', ctx: { grader: yes } }).score(input(id, 'Something phrased in a way no rule anticipates.'));
  assert.equal(yes.calls, 1);
  assert.ok(b.status === 'scored' && b.mode === 'graded' && b.value === 1, JSON.stringify(b));
  assert.ok(yes.last.includes(JSON.stringify(stable.answer_key)), 'the grader sees the accepted answers');
  assert.match(yes.last, /<response>\nSomething phrased/);
  // `always` grades even what the rules decided, and a grader saying "false claim" fails it.
  const fc = stub('#accurate: 1\n#false_claim: 1\n#refers: 1');
  const c = await electionFactGradedScorer({ route: 'always', ctx: { grader: fc } }).score(input(id, `The answer is ${key}.`));
  assert.equal(fc.calls, 1);
  assert.ok(c.status === 'scored' && c.value === 0 && c.answer === 'contradiction');
});

test('graded route: an out-of-format or failed grading is unscored with the reason, never a wrong answer', async () => {
  const id = stable.id as string;
  const r = await electionFactGradedScorer({ route: 'always', ctx: { grader: stub('It looks fine to me.') } }).score(input(id, 'whatever'));
  assert.equal(r.status, 'unscored');
  assert.match(r.status === 'unscored' ? r.reason : '', /out of format/);
  const failing: GraderModel = { identity: stub('').identity, complete: async () => Promise.reject(new Error('grader down')) };
  const f = await electionFactGradedScorer({ route: 'always', ctx: { grader: failing } }).score(input(id, 'whatever'));
  assert.ok(f.status === 'unscored' && /grader failed: grader down/.test(f.reason));
  // No grader and nothing recorded: unscored, not a silent pass or fail.
  const none = await electionFactGradedScorer({ route: 'always', ctx: {} }).score(input(id, 'whatever'));
  assert.equal(none.status, 'unscored');
});

test('graded route: time-sensitive items pass on a referral without a false claim, as the rules define pass', () => {
  assert.equal(gradedPass({ accurate: 0, false_claim: 0, refers: 1 }, true), true);
  assert.equal(gradedPass({ accurate: 1, false_claim: 0, refers: 0 }, true), false);
  assert.equal(gradedPass({ accurate: 1, false_claim: 1, refers: 1 }, true), false);
  assert.equal(gradedPass({ accurate: 1, false_claim: 0, refers: 0 }, false), true);
  assert.ok(timed.id);
  assert.throws(() => createScorer({ type: 'election_fact_graded', route: 'sometimes' } as never, {}), /route must be fallback or always/);
});

test('assay validate election: every route against the human labels per split; the rules row equals the scorer test\'s agreement', { timeout: 300_000 }, async () => {
  const r = await cli(['validate', 'election', '--grader', 'simulated', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout) as { schema: string; grader: string; labels: number; routes: { route: string; split: string; n: number; agree: number; kappa: number | null; unscored: number; graderCalls: number; ci: [number, number] }[] };
  assert.equal(v.schema, 'assay.election-validation/v1');
  assert.match(v.grader, /test double/);
  const rows = readFileSync(join(DIR, 'validation/human-labels.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LabelledAnswer);
  assert.equal(v.labels, rows.length);
  for (const split of ['heldout', 'dev'] as const) {
    const n = rows.filter((x) => x.split === split).length;
    const rules = v.routes.find((x) => x.split === split && x.route === 'rules')!;
    assert.equal(rules.agree, electionAgreement(rows.filter((x) => x.split === split), ITEMS).agree);
    const always = v.routes.find((x) => x.split === split && x.route === 'always')!;
    const fallback = v.routes.find((x) => x.split === split && x.route === 'fallback')!;
    for (const x of [rules, always, fallback]) {
      assert.equal(x.n, n);
      assert.ok(x.ci[0] <= x.agree / n + 1e-12 && x.agree / n <= x.ci[1] + 1e-12, `${x.split} ${x.route} ${x.agree}/${n} [${x.ci}]`);
    }
    // Every answer graded by `always`; the fallback grades only what the rules left open.
    assert.equal(always.graderCalls, n);
    assert.ok(fallback.graderCalls > 0 && fallback.graderCalls < n, `fallback graded ${fallback.graderCalls} of ${n}`);
    assert.equal(always.unscored + fallback.unscored, 0);
  }
  // Without a grader only the rules are measured.
  const plain = JSON.parse((await cli(['validate', 'election', '--json'])).stdout) as { routes: { route: string }[] };
  assert.deepEqual([...new Set(plain.routes.map((x) => x.route))], ['rules']);
});

test('assay run with --grader-model: a suite using the graded route records grader answers and scores through the same engine', { timeout: 300_000 }, async () => {
  const t = await startTarget({ seed: 3, behaviours: [behaviourFromSpec('election-grader'), behaviourFromSpec(`election-facts:data=${join(DIR, 'data.jsonl')},correct=0,careful=1`)] });
  targets.push(t);
  const dir = tmp();
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(DIR, 'data.jsonl'), join(dir, 'data.jsonl'));
  writeFileSync(join(dir, 'METHODOLOGY.md'), '# Election facts, graded route (test copy)\n');
  const yaml = readFileSync(join(DIR, 'suite.yaml'), 'utf8')
    .replace(/^id: .*$/m, 'id: election.facts-graded-test')
    .replace(/^provenance:[\s\S]*$/m, '')
    .replace(/^scorers:\n[\s\S]*?^metrics:\n[\s\S]*?(?=^\S|$(?![\s\S]))/m, 'scorers:\n  - type: election_fact_graded\n    name: graded\nmetrics:\n  - name: pass_graded\n    scorer: graded\n');
  writeFileSync(join(dir, 'suite.yaml'), yaml);
  const out = join(dir, 'run.jsonl');
  const url = `${t.url}/v1`;
  const r = await cli(['run', join(dir, 'suite.yaml'), '--model', 'openai/sim', '--base-url', url, '--grader-model', 'openai/grader', '--grader-base-url', url, '--grader-api-key', 'x', '--out', out, '--no-progress', '--limit', '30', '--json'], { ASSAY_HOME: tmp(), OPENAI_API_KEY: 'x' });
  assert.equal(r.code, 0, r.stderr);
  const recs = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; scores?: Record<string, { status: string; mode?: string; grader?: { raw: string | null } }> });
  const scores = recs.filter((x) => x.type === 'sample').map((x) => x.scores!.graded!);
  assert.equal(scores.length, 30);
  assert.ok(scores.every((s) => s.status === 'scored'), JSON.stringify(scores.find((s) => s.status !== 'scored')));
  // Rules decide what they can; the rest carries the grader's recorded answer.
  assert.ok(scores.some((s) => s.mode === 'rules'));
  for (const s of scores.filter((x) => x.mode === 'graded')) assert.match(s.grader!.raw!, /#accurate: [01]\n#false_claim: [01]\n#refers: [01]/);
});
