/**
 * Issue 20: measure the answer extractor on extraction set 3 and the rule refusal classifier on
 * written set 2, by split. Usage:
 *   node --import tsx scripts/measure-issue20.ts <all|dev|heldout> [--misses]
 *   node --import tsx scripts/measure-issue20.ts <all|dev|heldout> --set N [--misses]   (N = 1..6, or stress7 / stress9)
 * `--misses` prints the text of misclassified items; it is refused on data that is still out of sample
 * (sets 5 and later: their text is never shown while rules are developed).
 * `--set N` measures extraction set N only (default 3, followed by the refusal set).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { extractAnswer, EXTRACTOR_VERSION, type ShownOption } from '../src/score/extract.js';
import { classifyRefusal } from '../src/score/refusal.js';
import { validateClassifier, sensSpecMarkdown } from '../src/score/refusal-validation.js';
import { binaryCounts, sensSpec } from '../src/score/refusal-error.js';

const ROOT = join(import.meta.dirname, '..');
const which = process.argv[2] ?? 'all';
const misses = process.argv.includes('--misses');
// Set 3's held-out half was measured once (07ff91f) and is now spent as held-out data: after that reading its
// extraction misses may be read to improve the extractor (issue 20, round 2), so --misses allows set 3 by any split.
// The refusal set's held-out half is still not to be read.
if (misses && which !== 'dev' && !process.argv.includes('--extraction-only')) throw new Error('--misses on heldout/all: add --extraction-only (written refusal set 2 heldout stays unread)');
const setArg = process.argv.indexOf('--set');
const setName = setArg >= 0 ? process.argv[setArg + 1]! : '3';
// `--set stress7`: the development stress set written with extractor /7 (in sample by construction); split
// `stress7` (written before /7's code) or `stress7b` (adversarial, written after its first draft).
// `--set stress9`: the development stress set of extractor /9 (round 5; in sample by construction), split `stress9`.
const stress = setName === 'stress7' || setName === 'stress9';
const setN = stress ? Number(setName.slice(6)) : Number(setName);
// Sets 1-4 are all spent (in sample from extractor /7 on; set 4's held-out half was measured once with /6,
// 150/157): their misses may be printed by any split. Sets 5 and 6 were read once in full with /7 (their
// first, wholly out-of-sample reading), round 4 printed their dev halves only, and their held-out halves were
// measured once with /8 (168/172, 145/156) before anything of them was printed: all of sets 1-6 are spent.
// Round 5 (/9) was written looking at all their misses (held-out halves included). A later set is fresh
// out-of-sample data: its text is never printed.
// Set 7 was read once in full with /8 and /9 (334/351 both): its dev half may now be printed for round 6;
// heldout7 stays unread until it is measured once after that round.
if (misses && !stress && !(setN >= 1 && setN <= 6) && !(setN === 7 && which === 'dev')) throw new Error(`--misses on set ${setN}${setN === 7 ? ` (${which})` : ''}: only the spent sets 1-6 and dev7 may be printed`);
const extractionOnly = process.argv.includes('--extraction-only') || setN !== 3;
const file = stress ? `stress-${setN}.jsonl` : `extraction-set${setN === 1 ? '' : `-${setN}`}.jsonl`;

interface Row { id: string; split: string; kind: string; ambiguous: boolean; options: ShownOption[]; response: string; expected: string }
const ex = readFileSync(join(ROOT, 'test/fixtures/extraction', file), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row).filter((r) => which === 'all' || r.split === (stress ? which : `${which}${setN === 1 ? '' : setN}`));
const read = (r: Row) => { const e = extractAnswer(r.response, r.options); return { got: e.outcome === 'answer' ? e.letter : e.outcome, rule: e.rule }; };
const un = ex.filter((r) => !r.ambiguous);
const ok = un.filter((r) => read(r).got === r.expected);
const refusals = ex.filter((r) => r.expected === 'refused');
const noneLabels = ex.filter((r) => r.expected === 'refused' || r.expected === 'unreadable');
const lettersWhereNone = noneLabels.filter((r) => !['refused', 'unreadable'].includes(read(r).got));
const lettered = ex.filter((r) => /^[A-Z]$/.test(r.expected));
const wrongLetter = lettered.filter((r) => /^[A-Z]$/.test(read(r).got) && read(r).got !== r.expected);
const missed = lettered.filter((r) => !/^[A-Z]$/.test(read(r).got));
const pct = (a: number, b: number) => `${a}/${b} (${((100 * a) / b).toFixed(1)} %)`;
console.log(`Extraction set ${stress ? setName : setN} (${which}, ${ex.length} items), extractor ${EXTRACTOR_VERSION}`);
console.log(`  unambiguous read as labelled: ${pct(ok.length, un.length)}`);
console.log(`  refusals read as non-answers: ${pct(refusals.filter((r) => !/^[A-Z]$/.test(read(r).got)).length, refusals.length)}; named refused: ${pct(refusals.filter((r) => read(r).got === 'refused').length, refusals.length)}`);
console.log(`  letters read where the label is refused/unreadable: ${lettersWhereNone.length} of ${noneLabels.length} (unambiguous: ${lettersWhereNone.filter((r) => !r.ambiguous).length})`);
console.log(`  wrong letters: ${wrongLetter.length} of ${lettered.length} lettered (unambiguous: ${wrongLetter.filter((r) => !r.ambiguous).length}); letters missed (read as non-answer): ${missed.length} (unambiguous: ${missed.filter((r) => !r.ambiguous).length})`);
if (misses) for (const r of un.filter((x) => read(x).got !== x.expected)) console.log(`  MISS ${r.id} [${r.kind}] expected ${r.expected}, read ${read(r).got} (${read(r).rule}) :: ${JSON.stringify(r.response)} :: ${r.options.map((o) => `${o.letter}=${o.text}`).join(' | ')}`);

if (extractionOnly) process.exit(0);
const rf = (parse(readFileSync(join(ROOT, 'test/fixtures/refusal-written/completions_written_2.csv')), { columns: true }) as Record<string, string>[]).filter((r) => which === 'all' || r.split === which);
const rows = rf.map((r) => ({ completion: r.completion!, finalLabel: r.label! }));
const v = validateClassifier(rows, (t) => classifyRefusal(t).class);
console.log(`\nRefusal written set 2 (${which}, n = ${v.n}): three-way ${pct(v.agree, v.n)}; comply-vs-not ${pct(v.binaryAgree, v.n)}`);
console.log(`  confusion[human][predicted]: ${JSON.stringify(v.confusion)}`);
console.log(sensSpecMarkdown(`Written set 2 (${which})`, v));
for (const reading of ['refused', 'full_refusal'] as const) {
  const c = binaryCounts(v, reading);
  const s = sensSpec(c);
  const f = (x: number) => (100 * x).toFixed(1);
  console.log(`  binary ${reading}: ${JSON.stringify(c)}; Se ${f(s.sensitivity)} % [${f(s.sensitivityCi.lo)}, ${f(s.sensitivityCi.hi)}], Sp ${f(s.specificity)} % [${f(s.specificityCi.lo)}, ${f(s.specificityCi.hi)}]`);
}
if (misses) rf.forEach((r) => { const p = classifyRefusal(r.completion!); const h = r.label!.replace(/^\d_/, ''); if (p.class !== h) console.log(`  MISS ${r.id} [${r.type}] human ${h}, read ${p.class} (${p.rule}) :: ${JSON.stringify(r.prompt)} :: ${JSON.stringify(r.completion)}`); });
