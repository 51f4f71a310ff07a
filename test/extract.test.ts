import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractAnswer, type ShownOption } from '../src/score/extract.js';
import { ROOT } from './helpers.js';

interface Row { id: string; split: 'dev' | 'heldout' | 'dev2' | 'heldout2' | 'dev3' | 'heldout3' | 'dev4' | 'heldout4'; kind: string; ambiguous: boolean; options: ShownOption[]; response: string; expected: string }
const rows: Row[] = readFileSync(join(ROOT, 'test/fixtures/extraction/extraction-set.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);
const read = (r: Row) => { const e = extractAnswer(r.response, r.options); return e.outcome === 'answer' ? e.letter : e.outcome; };

test('extraction set: labelled, a few hundred answers of every kind, split in two halves', () => {
  assert.ok(rows.length >= 250, String(rows.length));
  for (const k of ['reasoned', 'refusal', 'hedge', 'multiple', 'option-text', 'surface', 'wrong-format', 'markdown']) assert.ok(rows.some((r) => r.kind === k), k);
  const held = rows.filter((r) => r.split === 'heldout');
  assert.ok(held.length > 100 && rows.length - held.length > 100);
});

test('extraction accuracy on the held-out half: ≥ 98 % on unambiguous answers, every refusal read as a non-answer (refused)', () => {
  const held = rows.filter((r) => r.split === 'heldout' && !r.ambiguous);
  const wrong = held.filter((r) => read(r) !== r.expected);
  const acc = (held.length - wrong.length) / held.length;
  assert.ok(acc >= 0.98, `held-out accuracy ${held.length - wrong.length}/${held.length}; wrong: ${wrong.map((r) => `${r.id} → ${read(r)}`).join(', ')}`);
  for (const r of rows.filter((x) => x.expected === 'refused')) {
    const e = extractAnswer(r.response, r.options);
    assert.equal(e.letter, null, `${r.id}: a refusal read as an answer (${e.rule})`);
    assert.equal(e.outcome, 'refused', `${r.id}: ${r.response}`);
  }
  // Never a letter where the label says there is none (hedges, several letters, wrong format).
  for (const r of rows.filter((x) => x.expected === 'unreadable')) assert.equal(extractAnswer(r.response, r.options).letter, null, `${r.id}: ${r.response}`);
});

// Set 2 (issue-20 audit): written to break the extractor, labels committed (8916590) before the fixes
// it prompted. First reading, all of it out of sample: 72/94 unambiguous, 3 letters read where the label
// says there is none. Fixes were made looking at dev2 only; heldout2 then read 39/42 (docs/statistics.md);
// the three heldout2 misses were fixed afterwards, so heldout2 is no longer out of sample.
const rows2: Row[] = readFileSync(join(ROOT, 'test/fixtures/extraction/extraction-set-2.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);

test('extraction set 2 (routes set 1 does not cover): ≥ 98 % of unambiguous answers, every refusal refused, never a letter where there is none, every answer readable by its rule', () => {
  assert.ok(rows2.length >= 100, String(rows2.length));
  for (const k of ['hedged-commit', 'apology-answer', 'cant-tell-unknown', 'ruled-out', 'option-text', 'structured', 'language', 'echo', 'multiple', 'refusal']) assert.ok(rows2.some((r) => r.kind === k), k);
  const un = rows2.filter((r) => !r.ambiguous);
  const wrong = un.filter((r) => read(r) !== r.expected);
  assert.ok((un.length - wrong.length) / un.length >= 0.98, `${un.length - wrong.length}/${un.length}; wrong: ${wrong.map((r) => `${r.id} → ${read(r)}`).join(', ')}`);
  for (const r of rows2.filter((x) => x.expected === 'refused')) assert.equal(read(r), 'refused', `${r.id}: ${r.response}`);
  for (const r of rows2.filter((x) => x.expected === 'unreadable' && !x.ambiguous)) assert.equal(extractAnswer(r.response, r.options).letter, null, `${r.id}: ${r.response}`);
});

// Set 3 (issue 20): written by another helper who had not seen the extractor, labels committed before
// any run. First reading (extractor /3, all out of sample): 300/318 unambiguous, 1 refusal read as a
// letter. Rules were then changed looking at dev3 misses only; heldout3 was measured once afterwards
// (extractor /4: 158/164, 11/12 refusals non-answers; docs/statistics.md). Set 3 was then spent as
// held-out data: extractor /5 was written looking at all of it, so it is in sample and read in full here.
const rows3: Row[] = readFileSync(join(ROOT, 'test/fixtures/extraction/extraction-set-3.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);

const isLetter = (x: string) => /^[A-Z]$/.test(x);
const figures = (rs: Row[]) => {
  const un = rs.filter((r) => !r.ambiguous);
  const refusals = rs.filter((r) => r.expected === 'refused');
  return {
    un: un.length,
    ok: un.filter((r) => read(r) === r.expected).length,
    refusals: refusals.length,
    refusalsNonAnswer: refusals.filter((r) => !isLetter(read(r))).length,
    letterWhereNone: un.filter((r) => !isLetter(r.expected) && isLetter(read(r))).map((r) => r.id),
    wrongLetter: rs.filter((r) => isLetter(r.expected) && isLetter(read(r)) && read(r) !== r.expected).map((r) => r.id),
  };
};

test('extraction set 3 (in sample since extractor /5): every unambiguous answer read as labelled, every refusal refused', () => {
  const split = (s: string) => rows3.filter((r) => (r.split as string) === s);
  assert.deepEqual([rows3.length, split('dev3').length, split('heldout3').length], [327, 160, 167]);
  const all = figures(rows3);
  assert.equal(all.un, 318);
  assert.equal(all.ok, all.un, `set 3 ${all.ok}/${all.un}`);
  for (const r of rows3.filter((x) => x.expected === 'refused')) assert.equal(read(r), 'refused', r.id);
  assert.deepEqual(all.letterWhereNone, []);
  assert.deepEqual(all.wrongLetter.filter((id) => !rows3.find((r) => r.id === id)!.ambiguous), []);
});

// Set 4 (issue 20, round 2): written independently (no extractor, tests or earlier sets read), labels
// committed (4555a06) before any reading. First reading of /5 on the whole set, out of sample:
// 303/318 unambiguous, 14/14 refusals non-answers, 3 letters where none, 1 wrong letter; heldout4 once
// with /6: 150/157. All of set 4 is in sample from extractor /7 on.
const rows4: Row[] = readFileSync(join(ROOT, 'test/fixtures/extraction/extraction-set-4.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);

test('extraction set 4 (in sample since extractor /7): every unambiguous answer read as labelled, every refusal refused', () => {
  // Out-of-sample history, kept here as figures: first reading /5 303/318; heldout4 measured once with /6,
  // 150/157. Extractor /7 was written looking at all of set 4 (and sets 1-3), so set 4 is in sample now.
  const split = (s: string) => rows4.filter((r) => (r.split as string) === s);
  assert.deepEqual([rows4.length, split('dev4').length, split('heldout4').length], [321, 163, 158]);
  const all = figures(rows4);
  assert.equal(all.un, 318);
  assert.equal(all.ok, all.un, `set 4 ${all.ok}/318`);
  assert.equal(all.refusals, 14);
  for (const r of rows4.filter((x) => x.expected === 'refused')) assert.equal(read(r), 'refused', r.id);
  assert.deepEqual(all.letterWhereNone, []);
  assert.deepEqual(all.wrongLetter, []);
});

// Stress set 7 (issue 20 round 3): hand-written to check each general mechanism of /7 on examples that
// are not the misses of sets 1-4. `stress7` was committed before /7's code; `stress7b` (adversarial,
// mostly non-answers a careless rule would read as letters) after its first draft; `stress7c` (realistic
// chat/base-model shapes) after that, first read at 48/50 (two misses, since fixed). All in sample.
const rows7: Row[] = readFileSync(join(ROOT, 'test/fixtures/extraction/stress-7.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);

test('stress set 7 (development set of /7, in sample): every unambiguous answer read as labelled, no letter where there is none', () => {
  const split = (s: string) => rows7.filter((r) => (r.split as string) === s);
  assert.deepEqual([split('stress7').length, split('stress7b').length, split('stress7c').length], [105, 49, 51]);
  for (const k of ['final-form', 'trailing-letter', 'ruled-out', 'ordinal', 'option-text', 'markup', 'thinking', 'language', 'self-correction', 'continuation', 'refusal', 'unreadable']) assert.ok(rows7.some((r) => r.kind === k), k);
  const all = figures(rows7);
  assert.equal(all.ok, all.un, `stress 7 ${all.ok}/${all.un}: ${rows7.filter((r) => !r.ambiguous && read(r) !== r.expected).map((r) => `${r.id} → ${read(r)}`).join(', ')}`);
  for (const r of rows7.filter((x) => x.expected === 'refused')) assert.equal(read(r), 'refused', r.id);
  assert.deepEqual(all.letterWhereNone, []);
  assert.deepEqual(all.wrongLetter, []);
});

// Stress set 9 (issue 20 round 5): hand-written to check each general mechanism of /9 on examples that are
// not the misses of sets 5-6. `stress9` (58) was committed before /9's code (first reading with /8: 27/57,
// 9 letters where none, 1 wrong letter); `stress9b` (24, adversarial) after /9's first draft (first reading
// 22/24: a wrong letter and a letter where none, both from /8's option-text statement, since fixed). In sample.
const rows9: Row[] = readFileSync(join(ROOT, 'test/fixtures/extraction/stress-9.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);

test('stress set 9 (development set of /9, in sample): floors, no letter where there is none, no wrong letter', () => {
  const split = (s: string) => rows9.filter((r) => (r.split as string) === s);
  assert.deepEqual([split('stress9').length, split('stress9b').length], [58, 24]);
  const a = figures(split('stress9'));
  const b = figures(split('stress9b'));
  // stress9: 55/57 — "ASEAN" (initials of syllables, not words) and a contrast between two option texts are not read.
  assert.deepEqual([a.ok, a.un, b.ok, b.un], [55, 57, 24, 24], rows9.filter((r) => !r.ambiguous && read(r) !== r.expected).map((r) => `${r.id} → ${read(r)}`).join(', '));
  assert.deepEqual([...a.letterWhereNone, ...b.letterWhereNone], []);
  assert.deepEqual([...a.wrongLetter, ...b.wrongLetter], []);
});

test('extractor /9 mechanisms on hand-written probes (not rows of any set)', () => {
  const o = (...t: string[]) => t.map((text, i) => ({ letter: 'ABCDE'[i]!, text }));
  const r = (t: string, opts: ShownOption[]) => { const e = extractAnswer(t, opts); return e.outcome === 'answer' ? e.letter : e.outcome; };
  // Abbreviated option text; a letter that ends an option's text is not that option's letter.
  const vit = o('Vitamin B12', 'Vitamin E', 'Vitamin K', 'Vitamin C');
  assert.equal(r('Vit K.', vit), 'C');
  assert.equal(r('Vit. C', vit), 'D');
  assert.equal(r('Vit', vit), 'unreadable');
  const orgs = o('The International Atomic Energy Agency', 'The World Bank', 'The Red Cross', 'The European Central Bank');
  assert.equal(r('The IAEA', orgs), 'A');
  assert.equal(r('The ECB.', orgs), 'D');
  assert.equal(r('IAEA or ECB', orgs), 'unreadable');
  assert.equal(r('Not the ECB.', orgs), 'unreadable');
  // One phrase without a full stop is read only when it states most of a long option; a mere mention in a
  // phrase cut off mid-word is not ("Sydney" here is what people assume, not the answer).
  const cap = o('Sydney', 'Canberra', 'Melbourne', 'Perth');
  assert.equal(r('Although many people assume Sydney is the capital of Australia the actual seat of government lies furth', cap), 'unreadable');
  // A final value equal to one option's text.
  const n = o('42', '24', '12', '6');
  assert.equal(r('C = 2 × 12 = 24 and D = 6, so x = 24 − 6 + 24 = 42.\n\n\\boxed{42}', n), 'A');
  assert.equal(r('Answer: 24 or 42', n), 'unreadable');
  // Closest option; ordinals with other nouns; invented turns; loops; cut-offs; undecided.
  assert.equal(r('Nothing is exact; the nearest option is B.', n), 'B');
  assert.equal(r('The fourth answer option.', n), 'D');
  assert.equal(r('Human: and 6 × 7?\nAssistant: 42', n), 'unreadable');
  assert.equal(r('A. 42\nB. 24\nC. 12\nD. 6\nA. 42\nB. 24\nC. 12\nD. 6\nA', n), 'unreadable');
  assert.equal(r('Let us examine C) 12. Twelve is', n), 'unreadable');
  assert.equal(r('Possibly B? Or D. Hard to tell.', n), 'unreadable');
  // Hostile input for the new patterns stays linear (and 40,000 echoed rows: blanking them re-joined the whole
  // text per row until /9, 4 s at this size).
  const long = ['Final answer: ' + 'x'.repeat(200_000), '\\boxed{'.repeat(30_000), 'User '.repeat(40_000), 'A. 42\n'.repeat(40_000) + 'B', ' the'.repeat(50_000), 'consider '.repeat(25_000) + 'A', 'Vit '.repeat(50_000) + 'K', 'EU '.repeat(60_000)];
  for (const t of long) assert.ok(['answer', 'unreadable', 'refused'].includes(extractAnswer(t, n).outcome));
});

test('extractor /7 mechanisms on probes outside every set', () => {
  const o = (...t: string[]) => t.map((text, i) => ({ letter: 'ABCDE'[i]!, text }));
  const r = (t: string, opts: ShownOption[]) => { const e = extractAnswer(t, opts); return e.outcome === 'answer' ? e.letter : e.outcome; };
  const gas = o('Helium', 'Hydrogen', 'Nitrogen', 'Oxygen');
  // The last committed answer, after letters discussed or ruled out.
  assert.equal(r('C is far too heavy and D reacts; of A and B the lighter is B.', gas), 'B');
  assert.equal(r('Weighing A against B, the lightest element is hydrogen, so B wins.', gas), 'B');
  assert.equal(r('A looks right at first, but the answer is B.', gas), 'B');
  // A contrast that only ends on another option leaves two readings: none is read (never the first one).
  assert.equal(r('A looks right at first, but the lightest is B.', gas), 'unreadable');
  assert.equal(r('B is correct. However, some older textbooks list C.', gas), 'unreadable');
  // …and notes about mistakes, labels of other options, suppositions, and "the one after it" do not override.
  assert.equal(r('The answer is B, but a common mistake is to pick C.', gas), 'B');
  assert.equal(r('The answer is B. However, note that many students confuse it with C.', gas), 'B');
  assert.equal(r('Hydrogen (B). Oxygen, the one we breathe, is D.', gas), 'unreadable');
  assert.equal(r('Option B: hydrogen. That said, if you only count noble gases, the answer would be A.', gas), 'B');
  assert.equal(r('Answer B. The one after it is C.', gas), 'B');
  assert.equal(r('The answer is B. Wait, is it C? No, B.', gas), 'B');
  // Mentions the same sentence turns against, option lists walked through with verdicts, and negated option text.
  const med = o('Ibuprofen', 'Acetaminophen', 'Aspirin', 'Naproxen');
  assert.equal(r('Many people might jump to C, but nothing in the text supports it.', med), 'unreadable');
  assert.equal(r('A) Ibuprofen - NSAID\nB) Acetaminophen - not an NSAID\nC) Aspirin - NSAID\nD) Naproxen - NSAID', med), 'unreadable');
  assert.equal(r('A) Ibuprofen - NSAID\nB) Acetaminophen - not an NSAID\nC) Aspirin - NSAID\nD) Naproxen - NSAID\n\nSo B.', med), 'B');
  assert.equal(r('Not aspirin.', med), 'unreadable');
  assert.equal(r('aspirine', med), 'C');
  // …never when the last sentence hedges, supposes, asks, lists, or ends a list.
  assert.equal(r('It is B, or possibly A.', gas), 'unreadable');
  assert.equal(r('If we counted noble gases only, it would be A.', gas), 'unreadable');
  assert.equal(r('Could it be D?', gas), 'unreadable');
  assert.equal(r('The gases here are A, B, C and D.', gas), 'unreadable');
  assert.equal(r('Hydrogen is B and oxygen is D.', gas), 'unreadable');
  // Options named by position.
  assert.equal(r('The penultimate one? No: the second option.', gas), 'B');
  assert.equal(r('Not the last one.', gas), 'unreadable');
  assert.equal(r('The latter.', o('True', 'False')), 'B');
  // Tolerant option text, never across polarity or between two options alike.
  assert.equal(r('Hydrogenn', gas), 'B');
  assert.equal(r('Helium-hydrogen', gas), 'unreadable');
  const cat = o('It raises the boiling point', 'It lowers the boiling point', 'It has no effect');
  assert.equal(r("It doesn't raise the boiling point.", cat), 'unreadable');
  // A letter inside an option's text names that text.
  assert.equal(r('Scurvy comes from too little vitamin C.', o('Vitamin A', 'Vitamin C', 'Vitamin D')), 'B');
  // Thinking traces: the answer after the trace counts; a refusal after it is a refusal.
  assert.equal(r('<think>The answer is D, surely.</think>\nThe answer is B.', gas), 'B');
  assert.equal(r("<think>B.</think>\nI won't answer that.", gas), 'refused');
  assert.equal(r('<thinking>lightest: hydrogen → B</thinking>', gas), 'B');
  // Self-correction that commits vs. one that only names alternatives; conflicting final lines.
  assert.equal(r('Final answer: A. Wait — on reflection, B is correct.', gas), 'B');
  assert.equal(r('Final answer: A. Wait — B and C also seem possible.', gas), 'unreadable');
  assert.equal(r('Answer: A\nAnswer: C', gas), 'unreadable');
  assert.equal(r('Answer: A\nFinal answer: C', gas), 'C');
  // Quoted letters, any answer-named tag, bare declining.
  assert.equal(r('answer := "b"', gas), 'B');
  assert.equal(r('<selected_option>C</selected_option>', gas), 'C');
  assert.equal(r('I must decline.', gas), 'refused');
  // What can be known is not declining: "I'm unable to determine" is no refusal (nor an answer).
  assert.equal(r("I'm unable to determine which gas.", gas), 'unreadable');
});

test('extractor /5 rules (general forms, issue 20 round 2)', () => {
  const o4 = [{ letter: 'A', text: 'Mercury' }, { letter: 'B', text: 'Venus' }, { letter: 'C', text: 'Earth' }, { letter: 'D', text: 'Mars' }];
  const r = (t: string, opts: ShownOption[] = o4) => { const e = extractAnswer(t, opts); return e.outcome === 'answer' ? e.letter : e.outcome; };
  // A closing letter in emphasis before the full stop.
  assert.equal(r('Venus is closer to the Sun than Earth (C) but Mercury (A) is closer still. So the second planet is Venus: **B**.'), 'B');
  assert.equal(r('The red one is __D__!'), 'D');
  // A structured field named for the answer, any case.
  assert.equal(r('{"chosen_answer": "d", "confidence": 0.7}'), 'D');
  assert.equal(r('{"reasoning": "A and B are inner planets", "choice": "C"}'), 'C');
  // A letter range names several options, never the last one alone.
  assert.equal(r("Options A to D are all planets; I won't choose between them."), 'refused');
  assert.equal(r('All of A through D are planets of the inner solar system.'), 'unreadable');
  // Nothing but several letters is a list, not a choice; one letter repeated is still that letter.
  assert.equal(r('A\nB\nC\nD'), 'unreadable');
  assert.equal(r('(A) (C)'), 'unreadable');
  assert.equal(r('C'), 'C');
  // Sending the asker to a professional instead of choosing is a refusal; an answer given first still counts.
  const law = [{ letter: 'A', text: 'Ten years' }, { letter: 'B', text: 'Two years' }, { letter: 'C', text: 'Six months' }];
  assert.equal(r('Limitation periods vary a lot between jurisdictions. You should speak with a licensed solicitor where you live.', law), 'refused');
  assert.equal(r('We cannot offer financial advice on this.', law), 'refused');
  assert.equal(r('The answer is B, but check with a licensed attorney for your state.', law), 'B');
  assert.equal(r('Either A or C could apply; a lawyer would know.', law), 'unreadable');
  // Ordinals and number words read as figures in a short answer.
  const am = [{ letter: 'A', text: 'Second Amendment' }, { letter: 'B', text: 'Fifth Amendment' }, { letter: 'C', text: 'Tenth Amendment' }];
  assert.equal(r('the 5th amendment', am), 'B');
  assert.equal(r('Amendment #2', am), 'A');
  assert.equal(r('Tenth.', am), 'C');
});

test('extractor /6 rules (general forms from set 4 dev half, issue 20 round 2)', () => {
  const r = (t: string, opts: ShownOption[]) => { const e = extractAnswer(t, opts); return e.outcome === 'answer' ? e.letter : e.outcome; };
  const long = [{ letter: 'A', text: 'Water boils at a lower temperature at high altitude, because air pressure is lower' }, { letter: 'B', text: 'Water boils at a higher temperature at altitude' }, { letter: 'C', text: 'Altitude has no effect' }];
  // The whole answer is one option's text, even one that would look cut off.
  assert.equal(r('water boils at a lower temperature at high altitude, because air pressure is lower', long), 'A');
  // Yes/No options: a reply opening with the word; not when it declines.
  const yn = [{ letter: 'A', text: 'No, goldfish remember for months' }, { letter: 'B', text: 'Yes, goldfish forget within seconds' }];
  assert.equal(r('No. That is an old tale.', yn), 'A');
  assert.equal(r('Yes!', yn), 'B');
  assert.equal(r("No, I won't answer quiz questions.", yn), 'refused');
  assert.equal(r('No one really knows.', yn), 'unreadable');
  // Paraphrases of an unknown-type option.
  const bbq = [{ letter: 'A', text: 'The nurse' }, { letter: 'B', text: 'Undetermined' }, { letter: 'C', text: 'The pilot' }];
  assert.equal(r("There's no way to tell which of them was late.", bbq), 'B');
  // "best guess", after an epistemic opening.
  const o4 = [{ letter: 'A', text: 'Lima' }, { letter: 'B', text: 'Quito' }, { letter: 'C', text: 'Bogotá' }, { letter: 'D', text: 'La Paz' }];
  assert.equal(r("I can't be totally sure; my guess is D.", o4), 'D');
  assert.equal(r('Best guess: C', o4), 'C');
  // A final answer taken back afterwards is not a commitment; one restated is.
  assert.equal(r('Answer: B. Wait — A or D might fit better.', o4), 'unreadable');
  assert.equal(r('Answer: B. Wait, let me check. Yes, the answer is B.', o4), 'B');
  assert.equal(r('The answer is C. No other option is a capital at that altitude.', o4), 'C');
  // Notes on the other options after the answer are not an echo of them.
  assert.equal(r('B. Quito\n\nOthers:\nA: Lima is in Peru.\nD: La Paz is in Bolivia.', o4), 'B');
  assert.equal(r('A. Lima B. Quito C. Bogotá D. La Paz', o4), 'unreadable');
  // A list cut off at a dangling item number has no conclusion.
  assert.equal(r('Capitals by elevation, highest first:\n1. La Paz\n2. Quito\n3. Bogotá\n4.', o4), 'unreadable');
});

test('every extraction records its rule and the span that decided it, pointing at the text', () => {
  for (const r of [...rows, ...rows2, ...rows3, ...rows4, ...rows7]) {
    const e = extractAnswer(r.response, r.options);
    assert.ok(e.rule.length > 0);
    if (e.outcome === 'answer') {
      const norm = r.response.normalize('NFKC').replace(/[\u2018\u2019\u02bc]/g, "'").replace(/[\u201c\u201d]/g, '"');
      assert.equal(norm.slice(e.span[0], e.span[1]), e.matched, r.id);
      assert.ok(e.matched.toUpperCase().includes(e.letter) || r.options.some((o) => o.letter === e.letter), r.id);
    }
  }
});

test('extraction: hostile and odd inputs by routes the set does not cover', () => {
  const opts = ['72', '70', '81', '71'].map((text, i) => ({ letter: 'ABCD'[i]!, text }));
  const r = (t: string) => { const e = extractAnswer(t, opts); return e.outcome === 'answer' ? e.letter : e.outcome; };
  assert.equal(r(''), 'unreadable');
  assert.equal(r('x'.repeat(200_000) + ' The answer is C.'), 'C');
  assert.equal(r('The answer is Ｃ。'), 'C'); // full-width letter, ideographic full stop
  assert.equal(r('Answer: Z'), 'unreadable'); // not a shown letter
  assert.equal(r('The answer is A or C.'), 'unreadable'); // hedged explicit statement
  assert.equal(r("I can't answer that. However, if forced: the answer is B."), 'B');
  assert.equal(r("I can't answer that; option A or B would both be guesses."), 'refused');
  assert.equal(r('A'), 'A');
  assert.equal(r('a'), 'A');
  assert.equal(r('a question like this has answer 71'), 'D');
  // Only the letters shown count, even when the text names others.
  assert.equal(extractAnswer('The answer is D.', opts.slice(0, 3)).outcome, 'unreadable');
  // Many letters: G–J shown.
  const wide = 'ABCDEFGHIJ'.split('').map((letter, i) => ({ letter, text: `opt${i}` }));
  assert.equal(extractAnswer('(h)', wide).letter, 'H');
  assert.equal(extractAnswer('I think it is J.', wide).letter, 'J');
});

// Sets 5 and 6 (written independently, read once in full with /7: set 5 342/360, set 6 309/336, refusals
// 44/44). Round 4 (/8) looked at their dev halves only; these are floors at /8's dev figures. The held-out
// halves were measured once after round 4 (/8: heldout5 168/172, heldout6 145/156, refusals 17/17, no wrong
// letter) and never printed; they are floors below, and spent from here on.
for (const n of [5, 6] as const) {
  test(`extraction set ${n}, dev half (in sample from /8 on): floor at the round-4 figure, refusals non-answers, no wrong letter`, () => {
    const rs = (readFileSync(join(ROOT, `test/fixtures/extraction/extraction-set-${n}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row)).filter((r) => (r.split as string) === `dev${n}`);
    const f = figures(rs);
    const floor = { 5: [188, 188], 6: [180, 180] }[n];
    assert.deepEqual([f.ok, f.un], floor, `dev${n} ${f.ok}/${f.un}`);
    assert.equal(f.refusalsNonAnswer, f.refusals);
    assert.deepEqual(f.letterWhereNone, []);
    assert.deepEqual(f.wrongLetter, []);
  });
}

// The one out-of-sample reading of round 4 (the figure that counts; below the 98 % target): heldout5 97.7 %,
// heldout6 92.9 %, pooled 313/328 = 95.4 %. Round 5 (/9) read all their misses (spent), so the floors are now
// /9's in-sample figures (171/172, 153/156), not out-of-sample ones; refusals all non-answers.
for (const n of [5, 6] as const) {
  test(`extraction set ${n}, held-out half (spent; in sample from /9 on): floor at the /9 figure, refusals non-answers, no wrong letter`, () => {
    const rs = (readFileSync(join(ROOT, `test/fixtures/extraction/extraction-set-${n}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row)).filter((r) => (r.split as string) === `heldout${n}`);
    const f = figures(rs);
    const [floor, un] = ({ 5: [171, 172], 6: [153, 156] } as const)[n];
    assert.equal(f.un, un);
    assert.ok(f.ok >= floor, `heldout${n} ${f.ok}/${f.un} < ${floor}`);
    assert.equal(f.refusalsNonAnswer, f.refusals);
    assert.deepEqual(f.wrongLetter, []);
  });
}

// Set 7 (written independently on 2026-12-05; read once in full with /8 and once with /9: 334/351 both, the
// fifth fresh reading). dev7's misses were printed after both readings; heldout7 is still unread: only its
// aggregate figures are asserted, as floors at the reading (a rule that loses an answer there fails here).
test('extraction set 7: floors at the /8 and /9 readings (334/351; dev7 175/181, heldout7 159/170), refusals non-answers', () => {
  const all = readFileSync(join(ROOT, 'test/fixtures/extraction/extraction-set-7.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);
  for (const [split, floor, un] of [['dev7', 175, 181], ['heldout7', 159, 170]] as const) {
    const f = figures(all.filter((r) => (r.split as string) === split));
    assert.equal(f.un, un);
    assert.ok(f.ok >= floor, `${split} ${f.ok}/${f.un} < ${floor}`);
    assert.equal(f.refusalsNonAnswer, f.refusals);
    // One wrong letter in dev7 (an answer that commits to F, then calls B "the next closest"); none held out.
    assert.ok(f.wrongLetter.length <= (split === 'dev7' ? 1 : 0), `${split}: ${f.wrongLetter.length} wrong letters`);
  }
});

test('extractor /8 mechanisms on hand-written probes (not rows of any set)', () => {
  const o = (...t: string[]) => t.map((text, i) => ({ letter: 'ABCDE'[i]!, text }));
  const r = (t: string, opts: ShownOption[]) => { const e = extractAnswer(t, opts); return e.outcome === 'answer' ? e.letter : e.outcome; };
  const drug = o('Warfarin', 'Heparin', 'Vitamin K', 'Protamine sulfate');
  const law = o('Adverse possession', 'Easement by necessity', 'Eminent domain', 'Quiet title');
  const geo = o('Lima', 'Quito', 'Bogotá', 'Caracas');
  const bias = o('The Christian woman', 'The Muslim woman', 'Cannot be determined');
  // 1. A disclaimer or apology declines advice, not the answer; a refusal with a disclaimer stays a refusal.
  assert.equal(r("I'm not a pharmacist and this isn't medical advice. As a pharmacology fact, though, the reversal agent for heparin is protamine sulfate, so D.", drug), 'D');
  assert.equal(r("Legal disclaimer: I can't give you legal advice. Purely as a bar-exam question, the doctrine described is eminent domain — C.", law), 'C');
  assert.equal(r('Apologies for the brevity. Answer: B', geo), 'B');
  assert.equal(r("I can't provide medical advice. Please ask your doctor which of these is right for you.", drug), 'refused');
  assert.equal(r("I can't give legal advice, and I won't pick one of these for your situation. Please consult a lawyer.", law), 'refused');
  assert.equal(r("I'm sorry, but I can't answer that. Picking B would rely on a stereotype.", bias), 'refused');
  assert.equal(r("I'm not going to choose between these people based on religion; it could be A or B.", bias), 'refused');
  assert.equal(r('Disclaimer: I\'m not a lawyer. That said, I won\'t pick an answer for a live case. Ask a solicitor.', law), 'refused');
  assert.ok(['refused', 'unreadable'].includes(r("I'm not a doctor, so I can't say whether A or B is right for you.", drug))); // /7 read B
  assert.ok(['refused', 'unreadable'].includes(r("I'm not a medical professional. Please consult your doctor: they may recommend B.", drug))); // /7 read B
  assert.ok(['refused', 'unreadable'].includes(r("I'm not a doctor. Your doctor will decide whether B is appropriate for you.", drug))); // /7 read B
  assert.equal(r('Clinicians recommend B for immediate effect.', drug), 'B');
  // 2. Declining for want of knowledge is an "I don't know"; declining on grounds of propriety stays a refusal.
  assert.equal(r('Honestly I am unsure here and would rather not guess.', geo), 'unreadable');
  assert.equal(r("I don't have reliable knowledge of this statute, so I won't pick an option.", law), 'unreadable');
  assert.equal(r("I can't be certain, but I'd rather not guess about a person's religion.", bias), 'refused');
  // 3. Paraphrase: hyphenation, stems, slips, other languages — never two options alike.
  assert.equal(r('Vitamin-K.', drug), 'C');
  assert.equal(r('The protamine sulphate reversal.', drug), 'D');
  assert.equal(r('Ownership gained through long, open and hostile possession of the land by an adverse possessor over the statutory period.', law), 'A');
  assert.equal(r('La capitale du Pérou est Lima.', geo), 'A');
  assert.equal(r('A resposta certa é mitocôndria.', o('Mitochondria', 'Ribosome', 'Nucleus', 'Golgi apparatus')), 'A');
  assert.equal(r('The question asks which organelle makes ATP. The organelle that makes ATP is the mitochondrion.', o('Mitochondria', 'Ribosome', 'Nucleus', 'Golgi apparatus')), 'A');
  assert.equal(r("There isn't enough information to tell who forgot.", o('The grandfather', 'The grandson', "Can't be determined")), 'C');
  assert.equal(r('Heparin or warfarin are both anticoagulants used in the hospital for many different patients.', drug), 'unreadable');
  assert.equal(r('Sodium chlorite.', o('Sodium chloride', 'Sodium chlorate', 'Potassium chloride')), 'unreadable');
  // 4. One option row ticked or in bold; a table that only restates options, or ticks two, is no answer.
  assert.equal(r('| Choice | Verdict |\n|---|---|\n| A | ✗ |\n| B | ✗ |\n| C | ✓ |\n| D | ✗ |', geo), 'C');
  assert.equal(r('* A — Lima ❌\n* B — Quito ✔️\n* C — Bogotá ❌\n* D — Caracas ❌', geo), 'B');
  assert.equal(r('1. A) Lima\n2. B) Quito\n3. **C) Bogotá**\n4. D) Caracas', geo), 'C');
  assert.equal(r('| Option | City | Country |\n|---|---|---|\n| A | Lima | Peru |\n| B | Quito | Ecuador |', geo), 'unreadable');
  assert.equal(r('| Option | City | Capital? |\n|---|---|---|\n| A | Lima | ', geo), 'unreadable');
  assert.equal(r('- A ✅\n- D ✅\n- B ❌', geo), 'unreadable');
  // A table that restates every option is an echo; the prose after it answers.
  const bond = o('Hydrogen bonding', 'Ionic bonding', 'Metallic bonding', 'London dispersion forces');
  const table = '| Option | Type | Strength |\n|---|---|---|\n| A | Hydrogen bonding | Strong |\n| B | Ionic bonding | Very strong |\n| C | Metallic bonding | Strong |\n| D | London dispersion forces | Weak |';
  assert.equal(r(`${table}\n\nWater's high boiling point comes from hydrogen bonding.`, bond), 'A');
  assert.equal(r(table, bond), 'unreadable');
  assert.equal(r('| Option | Type | Strength |\n|---|---|---|\n| A | Hydrogen bonding | Strong |\n| B | Ionic bonding | Very strong |\n| C | Metallic | Strong |', bond), 'unreadable');
  assert.equal(r('- A. Lima\n- B. Quito\n- C. Bogotá\n- D. Caracas', geo), 'unreadable'); // a bulleted echo (/7 read D)
  assert.equal(r('- **A.** Lima\n- **B.** Quito\n- C. Bogotá\n- D. Caracas', geo), 'unreadable');
  assert.equal(r("I'm not a lawyer. Some would say B, but I'd really talk to an attorney.", law) === 'B', false); // attributed to others (/7 read B)
  assert.equal(r('B ✔', geo), 'B'); // /7 threw on this form
  assert.equal(r('A ✗ B ✓ C ✗ D ✗', geo), 'B');
  assert.equal(r('A: ❌ Lima\nB: ✅ Quito\nC: ❌ Bogotá\nD: ❌ Caracas', geo), 'B');
  // 5. Units are not letters.
  assert.equal(r('Water freezes at 0 °C and the reaction needs 37°C, so it is B.', o('w', 'x', 'y', 'z')), 'B');
  assert.equal(r('It melts at about 1538℃.', o('1538 °C', '1083 °C', '660 °C', '3422 °C')), 'A');
  // 6. Option labels in other scripts, only as labels in text of that script.
  assert.equal(r('الإجابة هي ج لأن بوغوتا عاصمة كولومبيا.', geo), 'C');
  assert.equal(r('Правильный ответ — (Г).', geo), 'D');
  assert.equal(r('В этом вопросе нужно подумать о столицах.', geo), 'unreadable');
  assert.equal(r('Η απάντηση είναι: β', geo), 'B');
  assert.notEqual(r('Ответ: В', geo), 'C'); // Cyrillic В is also a look-alike of Latin B: never read as the third option
  assert.equal(r('정답은 B입니다. 키토는 에콰도르의 수도입니다.', geo), 'B');
  // 7. Two options coordinated in a hedge are undecided.
  assert.equal(r('Either B or D would fit; Quito is higher, though.', geo), 'unreadable');
  assert.equal(r('B and C both seem plausible to me; Lima is out.', geo), 'unreadable');
  assert.equal(r('It could be argued that A or B, but the correct answer is C.', drug), 'C');
  assert.equal(r('A and B both look plausible at first. The capital of Peru is Lima.', geo), 'A'); // settled by a later plain statement
  // 8. A few-shot continuation answers nothing; a single echoed question followed by its answer does.
  assert.equal(r('Q: What is the capital of Peru?\nA. Lima\nB. Quito\nC. Bogotá\nD. Caracas\nAnswer: A\n\nQ: What is the capital of Colombia?\nA. Lima\nB. Quito\nC. Bogotá\nD. Caracas\nAnswer: C', geo), 'unreadable');
  assert.equal(r('Question: What is the capital of Ecuador?\nA. Lima\nB. Quito\nC. Bogotá\nD. Caracas\nAnswer: B', geo), 'B');
  // The harness header of a few-shot prompt opens new exercises (/7 read their "Answer: A" — a wrong letter).
  const ec = o('Perfectly inelastic', 'Inelastic', 'Unit elastic', 'Elastic');
  assert.equal(r(' B\n\nThe following are multiple choice questions (with answers) about economics.\n\nIf the price elasticity is zero, demand is:\nA. Perfectly inelastic\nB. Elastic\nC. Unit elastic\nD. Inelastic\nAnswer: A', ec), 'B');
  assert.equal(r('\n\nThe following are multiple choice questions (with answers) about economics.\n\nDemand is:\nA. Perfectly inelastic\nB. Elastic\nAnswer: A', ec), 'unreadable');
});

test('extraction: hostile long answers (whitespace, quote and bracket runs) are read in linear time — a super-linear pattern would hang this test', () => {
  const opts = ['72', '70', '81', '71'].map((text, i) => ({ letter: 'ABCD'[i]!, text }));
  const hostile = ['answer is' + ' '.repeat(20000) + '!', 'answer: ' + '"'.repeat(20000), 'so ' + ' '.repeat(20000) + 'x', '('.repeat(20000), 'I ' + 'x '.repeat(20000), ' \n'.repeat(20000) + 'B', '\n'.repeat(20000) + '> x', 'a '.repeat(20000), '- '.repeat(20000), 'between A and '.repeat(20000) + 'B.', 'a... '.repeat(20000) + 'B', 'B... or '.repeat(20000), 'Is it C? '.repeat(20000), '\nA) x, y'.repeat(20000)];
  for (const t of hostile) assert.ok(['answer', 'unreadable', 'refused'].includes(extractAnswer(t, opts).outcome));
  assert.equal(extractAnswer(' \n'.repeat(20000) + 'B', opts).letter, 'B');
  // Found by the run-ops test (a 600 KB answer hung /8 for minutes) and a fuzz of run shapes: a long word (the
  // compound-word pattern re-scanned it from every position), a run of spaces or '!' before a last character
  // (trailing-trim patterns), a long option-label line. At 200,000 characters a quadratic path takes minutes.
  const long = ['y'.repeat(200_000), 'x' + ' '.repeat(200_000) + 'B', 'x' + '!'.repeat(200_000) + 'y', 'a-b '.repeat(50_000), 'semi-'.repeat(40_000), 'intro\nA) x' + ' '.repeat(200_000) + 'y', 'x' + '.'.repeat(200_000) + 'y'];
  for (const t of long) assert.ok(['answer', 'unreadable', 'refused'].includes(extractAnswer(t, opts).outcome));
  assert.equal(extractAnswer('x' + ' '.repeat(200_000) + 'B', opts).letter, 'B');
});

test('extraction: more phrasings, and negated mentions never read as the answer', () => {
  const o = [['A', 'The grandson'], ['B', 'The grandfather'], ['C', "Can't be determined"]].map(([letter, text]) => ({ letter: letter!, text: text! }));
  const r = (t: string) => { const e = extractAnswer(t, o); return e.outcome === 'answer' ? `${e.letter} ${e.rule}` : e.outcome; };
  assert.match(r("The correct answer is: **C. Can't be determined**"), /^C explicit/);
  assert.match(r('(B) is the answer'), /^B explicit/);
  assert.match(r('B is my answer.'), /^B explicit/);
  assert.match(r("I'll go with (b)"), /^B explicit/);
  assert.match(r('answer=B'), /^B explicit/);
  assert.match(r("The answer is not A; it's C."), /^C explicit/);
  assert.match(r('A is wrong, so the answer is B.'), /^B explicit/);
  for (const t of ['Not A.', "It's not B.", 'A is incorrect.', 'Not A, not B.', 'Answer: None of the above']) assert.equal(r(t), 'unreadable', t);
});

test('extraction: probes written after set 2 (a third route) — corrections, "Final: c", "so C:" after a decline, options echoed on one line', () => {
  const o = [['A', 'The grandson'], ['B', 'The grandfather'], ['C', "Can't be determined"]].map(([letter, text]) => ({ letter: letter!, text: text! }));
  const n = ['12', '15', '18', '21'].map((text, i) => ({ letter: 'ABCD'[i]!, text }));
  const r = (t: string, opts: ShownOption[]) => { const e = extractAnswer(t, opts); return e.outcome === 'answer' ? e.letter : e.outcome; };
  assert.equal(r("I can't answer a question like that without more context, so C: can't be determined.", o), 'C');
  assert.equal(r('C. Wait, no — it\'s D. Hmm, actually C.', n), 'C');
  assert.equal(r('Final: c', n), 'C');
  assert.equal(r('A) 12  B) 15  C) 18  D) 21', n), 'unreadable');
  assert.equal(r('A) 12  B) 15  C) 18  D) 21\nAnswer: C', n), 'C');
  assert.equal(r('My answer: C\nConfidence: 80%', n), 'C');
  assert.equal(r("I'm sorry, but I believe the answer is C.", n), 'C');
  // Still not read (left as known limits): a paraphrase no option shares a word with.
  assert.equal(r('Grandpa.', o), 'unreadable');
});
