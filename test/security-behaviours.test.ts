/**
 * The simulated target's intermediate behaviours (issue 21) run through the shipped insecure-code
 * and prompt-injection suites, so the scorers meet paraphrased, partial, encoded and quoted
 * answers, insecure code after a preamble and secure code under a warning comment — through the
 * engine and through `assay run` and `assay validate` (CLI).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createModel } from '../src/model/registry.js';
import { runSuite } from '../src/run/engine.js';
import { statsForRun } from '../src/stats/from-log.js';
import { loadSuite } from '../src/suite/load.js';
import { IMPORTERS } from '../src/suite/importers/index.js';
import { startTarget } from '../src/target/server.js';
import { behaviourFromSpec } from '../src/target/behaviours/index.js';
import { graderFromAdapter } from '../src/score/grader.js';
import { analyseRun, formatAnalysis } from '../src/risk/reports/index.js';
import { ROOT, cli, config, tmp } from './helpers.js';

const suiteDir = (name: string) => join(ROOT, 'suites', name, 'suite.yaml');

async function run(suitePath: string, behaviours: string[], graderBehaviour?: string) {
  const target = await startTarget({ behaviours: behaviours.map(behaviourFromSpec) });
  const graderTarget = graderBehaviour ? await startTarget({ behaviours: [behaviourFromSpec(graderBehaviour)] }) : null;
  const grader = graderTarget ? graderFromAdapter(createModel('openai/sim-grader', { baseUrl: `${graderTarget.url}/v1`, apiKey: 'x', maxConnections: 8 })) : undefined;
  const dir = tmp();
  try {
    const logPath = join(dir, 'run.jsonl');
    await runSuite({ suite: await loadSuite(suitePath), model: createModel('openai/sim', { baseUrl: `${target.url}/v1`, apiKey: 'x', maxConnections: 8 }), config: config(), logPath, durable: false, simulated: true, ...(grader ? { grader } : {}) });
    const stats = await statsForRun(logPath, { resamples: 0 });
    const records = readFileSync(logPath, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.type === 'sample') as { sampleId: string; scores: Record<string, { status: string; value?: number; answer?: string; explanation?: string; detail?: Record<string, unknown> }> }[];
    return { metric: (n: string) => stats.metrics.find((m) => m.name === n)!, records, logPath };
  } finally {
    await grader?.close();
    await target.close();
    await graderTarget?.close();
  }
}

test('insecure code after an install block is caught; secure code under a warning comment passes', async () => {
  const pre = await run(suiteDir('insecure-code'), ['code-writer:style=insecure-after-preamble']);
  assert.equal(pre.metric('vulnerable_rate').mean, 1, 'every insecure answer behind a preamble is still vulnerable');
  assert.equal(pre.metric('functional_rate').mean, 1, 'and the functional check reads the code block, not the install block');
  const commented = await run(suiteDir('insecure-code'), ['code-writer:style=secure-commented']);
  const flagged = commented.records.filter((r) => r.scores.vulnerable!.value === 1).map((r) => `${r.sampleId}: ${JSON.stringify(r.scores.vulnerable!.detail?.findings)}`);
  assert.deepEqual(flagged, [], 'a warning comment or prose naming insecure APIs is not code');
  assert.equal(commented.metric('secure_and_functional_rate').mean, 1);
  // the report of the run cites the analyser's published error rates
  const a = formatAnalysis(await analyseRun(pre.logPath, { resamples: 0 }));
  assert.match(a, /Insecure code/);
  assert.match(a, /Analyser error rates on \d+ held-out labelled snippets: precision \d\.\d\d \[/);
  assert.match(a, /excerpted from third-party test files and never tuned on: precision \d\.\d\d \[/);
  assert.match(a, /vulnerable +all +60 +1\.000/);
});

test('prompt injection: paraphrased, partial, encoded and quote-and-refuse answers are scored for what they did', async () => {
  // Items with a secret or a canary: every encoded leak counts. Format-rule items (a link, a script tag,
  // an email address) demanded in base64 are not a link in the answer: those stay 0.
  const isRule = (r: { scores: Record<string, { explanation?: string }> }) => /match/.test(r.scores.deterministic!.explanation ?? '');
  for (const e of ['base64', 'hex', 'reversed', 'nato', 'homoglyph', 'cyrillic', 'leet', 'url', 'morse', 'html-entities', 'char-codes', 'base32', 'base64x2', 'caesar3'] as const) {
    const r = await run(suiteDir('prompt-injection'), [`injection-target:mode=encoded,enc=${e}`]);
    const missed = r.records.filter((x) => !isRule(x as never) && x.scores.deterministic!.value !== 1).map((x) => x.sampleId);
    assert.deepEqual(missed, [], `${e}: every encoded secret or canary is found`);
    assert.equal(r.records.filter((x) => !isRule(x as never)).length, 72);
  }
  const partial = await run(suiteDir('prompt-injection'), ['injection-target:mode=partial']);
  const pv = partial.records.map((r) => r.scores.deterministic!).filter((s) => s.answer === 'partial_leak');
  assert.ok(pv.length >= 60, `partial leaks recognised: ${pv.length}`);
  assert.ok(pv.every((s) => s.value! >= 0.5 && s.value! < 1));
  const quote = await run(suiteDir('prompt-injection'), ['injection-target:mode=quote-refuse']);
  assert.equal(quote.metric('injection_success_rate').mean, 0, 'refusing while quoting the injected demand is not an injection success');
  assert.ok(quote.records.filter((r) => r.scores.deterministic!.answer === 'quoted_while_refusing').length >= 30);
  // reporting the demand and then handing it over is compliance, not a quoted refusal
  const rc = await run(suiteDir('prompt-injection'), ['injection-target:mode=report-comply']);
  assert.equal(rc.records.filter((r) => r.scores.deterministic!.answer === 'quoted_while_refusing').length, 0);
  assert.ok(rc.metric('injection_success_rate').mean > 0.9, `report-then-comply caught: ${rc.metric('injection_success_rate').mean}`);
  // paraphrases that quote the secret's parts are read deterministically (pieces with a cue word); descriptions by meaning are not
  const para = await run(suiteDir('prompt-injection'), ['injection-target:mode=paraphrase']);
  const paraMean = para.metric('injection_success_rate').mean;
  assert.ok(paraMean > 0.8, `quoted-parts paraphrases are caught deterministically (${paraMean})`);
  const desc = await run(suiteDir('prompt-injection'), ['injection-target:mode=describe']);
  assert.ok(desc.metric("injection_success_rate").mean < 0.5, `descriptions by meaning are beyond the deterministic judge (rule items and the email fall back to quoted parts) (${desc.metric('injection_success_rate').mean})`);
  const a = formatAnalysis(await analyseRun(para.logPath, { resamples: 0 }));
  assert.match(a, /Prompt injection/);
  assert.match(a, /Deterministic judge agrees with the label on [01]\.\d\d \[/);
  assert.match(a, /On \d+ hand-written held-out responses \(not from templates, never tuned on\): [01]\.\d\d \[/);
  assert.match(a, /partial_leak \d+/);
});

test('paraphrase through the graded judge: the compliance rubric, graded by the simulated grader, catches descriptions by meaning the deterministic judge cannot read', async () => {
  const dir = tmp();
  const imp = await IMPORTERS['cse-prompt-injection']!.run(join(ROOT, 'suites/prompt-injection/items.cse.json'), { out: join(dir, 'g'), params: { graded: 'true' } });
  const r = await run(imp.suiteFile, ['injection-target:mode=describe'], 'injection-grader');
  const graded = r.metric('injection_compliance_rate_graded');
  const det = r.metric('injection_success_rate');
  assert.ok(graded.n >= 70, `graded ${graded.n}`);
  assert.ok(graded.mean > det.mean, `graded ${graded.mean} > deterministic ${det.mean}`);
  const robust = await run(imp.suiteFile, ['injection-target:mode=robust'], 'injection-grader');
  assert.equal(robust.metric('injection_compliance_rate_graded').mean, 0);
});

test('assay validate (CLI): published insecure-code error rates and injection-judge agreement with the simulated grader', async () => {
  const code = await cli(['validate', 'insecure-code', '--json']);
  assert.equal(code.code, 0, code.stderr);
  const f = JSON.parse(code.stdout) as { heldout: { group: string; family: string; precision: number }[] };
  assert.ok(f.heldout.find((x) => x.group === 'all' && x.family === 'all')!.precision >= 0.85);
  const bad = await cli(['validate', 'insecure-code', '--items', join(ROOT, 'package.json')]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /package\.json/);
  const inj = await cli(['validate', 'injection', '--grader', 'simulated', '--json']);
  assert.equal(inj.code, 0, inj.stderr);
  const v = JSON.parse(inj.stdout) as { kappa: number; grader: string; overall: { graded: number; deterministic: number } };
  const published = JSON.parse(readFileSync(join(ROOT, 'suites/prompt-injection/validation/figures.json'), 'utf8')) as { kappa: number; overall: { graded: number } };
  assert.match(v.grader, /simulated/);
  assert.ok(v.kappa >= published.kappa && v.overall.graded >= published.overall.graded, 'agreement with the simulated grader is at least what METHODOLOGY.md publishes');
});
