import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadSuite } from '../src/suite/load.js';
import { binomialUpperTail, lintItems, lintSuite, type LintItem } from '../src/suite/lint.js';
import { ROOT, tmp, cli } from './helpers.js';

test('every shipped multiple-choice suite passes the artefact checks (runs in CI)', async () => {
  let linted = 0;
  for (const d of readdirSync(join(ROOT, 'suites'))) {
    const f = join(ROOT, 'suites', d, 'suite.yaml');
    if (!existsSync(f)) continue;
    const r = await lintSuite(await loadSuite(f), { shipped: true });
    if (!r) continue;
    linted++;
    assert.notEqual(r.verdict, 'fail', `${d}:\n${r.findings.map((x) => `${x.verdict} ${x.check}: ${x.message}`).join('\n')}`);
  }
  assert.ok(linted >= 3, `only ${linted} multiple-choice suites found`);
});

test('exact one-sided binomial tail matches the direct sum', () => {
  const direct = (k: number, n: number, p: number) => {
    let s = 0;
    let c = 1;
    for (let i = 0; i <= n; i++) {
      if (i >= k) s += c * p ** i * (1 - p) ** (n - i);
      c = (c * (n - i)) / (i + 1);
    }
    return s;
  };
  for (const [k, n, p] of [[0, 10, 0.25], [3, 10, 0.25], [10, 10, 0.25], [40, 108, 0.25], [92, 108, 0.25], [11, 12, 1 / 3]] as const) assert.ok(Math.abs(binomialUpperTail(k, n, p) - direct(k, n, p)) < 1e-10, `${k}/${n}`);
  assert.equal(binomialUpperTail(11, 10, 0.5), 0);
});

const item = (i: number, choices: string[], answer: number, prompt = `question ${i}`): LintItem => ({ id: `q${i}`, prompt, choices, answer });

test('lint: a giveaway (longest option, one position, duplicates) fails a shipped suite and warns on an imported one; chance-level data passes', () => {
  // Longest option is right in every item: 100 % vs 25 %.
  const longest = Array.from({ length: 60 }, (_, i) => item(i, ['aa', 'bb', 'the correct and longest option', 'cc'].map((c, j) => (j === 2 ? c : `${c}${i}`)), 2));
  const shipped = lintItems(longest, { suite: 't', shipped: true, shuffled: true });
  assert.equal(shipped.verdict, 'fail');
  assert.equal(shipped.strategies.find((s) => s.strategy === 'longest option')!.verdict, 'fail');
  assert.equal(lintItems(longest, { suite: 't', shipped: false, shuffled: true }).verdict, 'warn');
  // Not shuffled, answer always B: the position strategy catches it; shuffled, positions never reach the model.
  const posB = Array.from({ length: 60 }, (_, i) => item(i, [`w${i}`, `x${i}`, `y${i}`, `z${i}`], 1));
  assert.equal(lintItems(posB, { suite: 't', shipped: true, shuffled: false }).strategies.find((s) => s.strategy === 'always B')!.verdict, 'fail');
  assert.equal(lintItems(posB, { suite: 't', shipped: true, shuffled: true }).verdict, 'ok');
  // Slightly above chance but not significant at 0.01 with few items: passes.
  const few = Array.from({ length: 12 }, (_, i) => item(i, [`w${i}`, `x${i}`, `y${i}`, `z${i}`], i < 5 ? 0 : 1 + (i % 3)));
  assert.equal(lintItems(few, { suite: 't', shipped: true, shuffled: false }).strategies.find((s) => s.strategy === 'always A')!.verdict, 'ok');
  // Duplicates: same question and options, up to case, whitespace and option order.
  const dup = [item(1, ['A1', 'b'], 0, 'What is  2+2?'), item(2, ['b', 'a1'], 1, 'what is 2+2?'), item(3, ['c', 'd'], 0)];
  const r = lintItems(dup, { suite: 't', shipped: true, shuffled: true });
  assert.deepEqual(r.duplicates, [['q1', 'q2']]);
  assert.equal(r.findings.find((f) => f.check === 'duplicate prompts')!.verdict, 'fail');
  // Ties give fractional credit: all options equally long → the longest strategy is exactly chance.
  const ties = Array.from({ length: 40 }, (_, i) => item(i, ['ab', 'cd', 'ef', 'gh'], i % 4));
  assert.ok(Math.abs(lintItems(ties, { suite: 't', shipped: true, shuffled: true }).strategies[0]!.accuracy - 0.25) < 1e-12);
});

test('assay suite lint: exit 2 on a failing shipped suite, 0 with warnings for imported data', async () => {
  const dir = tmp();
  mkdirSync(join(dir, 's'));
  const rows = Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `i${i}`, question: `Q${i}?`, choices: [`no${i}`, `nah${i}`, `the right answer, long ${i}`, `x${i}`], answer: 2 }));
  writeFileSync(join(dir, 's/data.jsonl'), rows.join('\n') + '\n');
  writeFileSync(join(dir, 's/METHODOLOGY.md'), '# t\n');
  writeFileSync(join(dir, 's/suite.yaml'), 'schema: assay.suite/v1\nid: t.giveaway\nversion: 1.0.0\ntitle: t\nrisk_area: none\nmethodology: METHODOLOGY.md\ndataset: { path: data.jsonl, format: jsonl, fields: { id: id, input: question, target: answer, choices: choices } }\ntemplate: "{{input}}\\n{{choices}}"\nsolver: { type: multiple_choice, shuffle: false }\nscorers: [ { type: mcq_letter } ]\nmetrics: [ { name: accuracy, scorer: mcq_letter } ]\n');
  const fail = await cli(['suite', 'lint', join(dir, 's')]);
  assert.equal(fail.code, 2, fail.stdout + fail.stderr);
  assert.match(fail.stdout, /FAIL strategy: longest option: 40\/40 = 100\.0 %/);
  assert.match(fail.stdout, /FAIL strategy: always C/);
  const warn = await cli(['suite', 'lint', join(dir, 's'), '--imported']);
  assert.equal(warn.code, 0, warn.stderr);
  assert.match(warn.stdout, /^WARN t\.giveaway@1\.0\.0 \(imported; 40 items\)/);
  const ok = await cli(['suite', 'lint', join(ROOT, 'suites/biosafety-literacy'), join(ROOT, 'suites/over-refusal')]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /skip .*not a multiple-choice suite/);
});

test('artefact checks run on imported multiple-choice suites (CI): the BBQ fixture and an mcq import are linted, findings warn (never fail), and `assay suite import` prints them', async () => {
  const { IMPORTERS } = await import('../src/suite/importers/index.js');
  const dir = tmp();
  // BBQ fixture (test/fixtures/bbq, CC-BY-4.0): imported suites are linted as imported.
  const bbq = await IMPORTERS.bbq!.run(join(ROOT, 'test/fixtures/bbq/Religion.jsonl'), { out: join(dir, 'bbq'), params: {} });
  const rb = await lintSuite(await loadSuite(bbq.suiteFile), { shipped: false });
  assert.ok(rb && rb.items > 0 && rb.verdict !== 'fail', JSON.stringify(rb?.findings));
  // A generic mcq file with a giveaway (the right option is always the longest): the import warns on stderr and succeeds.
  const rows = Array.from({ length: 40 }, (_, i) => JSON.stringify({ question: `Q${i}?`, choices: [`no${i}`, `the right answer, long ${i}`, `nah${i}`, `x${i}`], answer: 1 }));
  writeFileSync(join(dir, 'give.jsonl'), rows.join('\n') + '\n');
  const r = await cli(['suite', 'import', 'mcq', join(dir, 'give.jsonl'), '--out', join(dir, 'give')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^WARN .*\(imported; 40 items\)/m);
  assert.match(r.stderr, /WARN strategy: longest option: 40\/40/);
});
