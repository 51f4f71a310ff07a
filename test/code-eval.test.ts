/**
 * CI guard on the insecure-code analyser's published error rates: recompute precision and recall
 * from the shipped evaluation set and fail when any figure drops below what
 * suites/insecure-code/eval/figures.json (and METHODOLOGY.md) publish.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeFigures, citation, methodologyBlock, EVAL_DIR, type PublishedFigures } from '../src/score/code/validation.js';
import { parseEvalItems } from '../src/score/code/evaluate.js';
import { codeSecurityScorer } from '../src/score/code/scorer.js';

const itemsText = readFileSync(join(EVAL_DIR, 'items.jsonl'), 'utf8');
const published = JSON.parse(readFileSync(join(EVAL_DIR, 'figures.json'), 'utf8')) as PublishedFigures;
const now = computeFigures(itemsText);

test('no published precision or recall drops when recomputed from the evaluation set', () => {
  for (const split of ['dev', 'heldout'] as const) {
    for (const p of published[split]) {
      const c = now[split].find((x) => x.group === p.group && x.family === p.family);
      assert.ok(c, `${split} ${p.group}/${p.family} is still measured`);
      assert.equal(c.n, p.n, `${split} ${p.group}/${p.family}: the evaluation set changed; re-run assay validate insecure-code --write`);
      if (p.precision !== null) assert.ok(c.precision !== null && c.precision >= p.precision, `${split} ${p.group}/${p.family} precision ${c.precision} < published ${p.precision}`);
      if (p.recall !== null) assert.ok(c.recall !== null && c.recall >= p.recall, `${split} ${p.group}/${p.family} recall ${c.recall} < published ${p.recall}`);
    }
  }
});

test('METHODOLOGY.md publishes exactly the figures in figures.json', () => {
  const md = readFileSync(join(EVAL_DIR, '..', 'METHODOLOGY.md'), 'utf8');
  assert.ok(md.includes(methodologyBlock(published)), 'the figures block is current (assay validate insecure-code --write)');
});

test('every item has provenance and a licence; kept-back corpora are not used; the held-out split is substantial', () => {
  const items = parseEvalItems(itemsText);
  for (const it of items) {
    assert.ok(it.source.length > 5 && it.licence.length >= 3, it.id); // SPDX ids: ISC, MIT …
    assert.doesNotMatch(it.source, /semgrep|cyberseceval|purplellama|insecure.code.detector/i, `${it.id}: kept-back corpora must not be used`);
  }
  const held = items.filter((i) => i.split === 'heldout');
  assert.ok(held.length >= 100, `held-out has ${held.length} items`);
  for (const fam of ['sql-injection', 'os-command', 'code-injection', 'deserialisation', 'weak-hash', 'hardcoded-secret', 'format-string']) {
    assert.ok(held.some((i) => i.family === fam && i.label === 1) && held.some((i) => i.family === fam && i.label === 0), `${fam} has vulnerable and safe held-out items`);
  }
  assert.throws(() => parseEvalItems('{"id":"x","split":"dev","lang":"cobol","family":"sql-injection","label":1,"source":"s","licence":"l","code":"c"}\n', 'bad.jsonl'), /bad\.jsonl:1: "lang"/);
});

test('the scorer cites the published error rates in every score', async () => {
  const c = citation();
  assert.ok(c && /held-out/.test(c) && /precision \d\.\d\d \[/.test(c));
  const s = (await codeSecurityScorer().score({ sample: { id: 's', input: 't', metadata: { language: 'python' }, source: { file: 'x' } }, output: { content: '```python\nx = 1\n```', logprobs: null } })) as unknown as { detail: { errorRates: string } };
  assert.equal(s.detail.errorRates, c);
});

test('the snippets written after the rules were frozen are reported on their own and do not drop', () => {
  assert.ok(published.frozen.n >= 50);
  assert.equal(now.frozen.n, published.frozen.n);
  assert.ok((now.frozen.recall ?? 0) >= (published.frozen.recall ?? 0) && (now.frozen.precision ?? 0) >= (published.frozen.precision ?? 0));
});

test('the independent public-source held-out batches (b4, b5) are reported per family and does not drop', () => {
  assert.ok(published.independent.length >= 2 && published.independent[0]!.n >= 25);
  for (const p of published.independent) {
    const c = now.independent.find((x) => x.family === p.family);
    assert.ok(c, `independent ${p.family} is still measured`);
    assert.equal(c.n, p.n);
    if (p.precision !== null) assert.ok((c.precision ?? 0) >= p.precision, `independent ${p.family} precision ${c.precision} < ${p.precision}`);
    if (p.recall !== null) assert.ok((c.recall ?? 0) >= p.recall, `independent ${p.family} recall ${c.recall} < ${p.recall}`);
  }
  // its items come from third-party files, each with a licence that allows the excerpt
  const items = parseEvalItems(itemsText).filter((i) => /^b[45]-/.test(i.id));
  for (const it of items) {
    assert.equal(it.split, 'heldout');
    assert.match(it.source, /excerpted verbatim/);
    assert.match(it.licence, /^(?:Apache-2\.0|MIT|ISC|public domain)/);
  }
});
