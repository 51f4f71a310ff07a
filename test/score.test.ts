import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractLetter, mcqLetterScorer, mcqLogprobScorer } from '../src/score/mcq.js';
import { exactScorer, includesScorer, regexScorer } from '../src/score/match.js';
import { createScorer, createScorers } from '../src/score/registry.js';
import type { ScoreInput } from '../src/score/types.js';
import { AssayError } from '../src/common/errors.js';

const shown = ['85', '84', '95', '75'].map((text, i) => ({ letter: 'ABCD'[i]!, text, index: i }));
const mcq = (content: string, logprobs: ScoreInput['output']['logprobs'] = null): ScoreInput => ({
  sample: { id: 's1', input: 'What is 37 + 48?', metadata: {}, source: { file: 'x' } },
  output: { content, logprobs },
  shownChoices: shown,
  targetLetter: 'A',
});

test('extractLetter reads common answer phrasings and only shown letters', () => {
  const L = ['A', 'B', 'C', 'D'];
  assert.equal(extractLetter('A', L), 'A');
  assert.equal(extractLetter(' (C) because…', L), 'C');
  assert.equal(extractLetter('The answer is B.', L), 'B');
  assert.equal(extractLetter('Answer: d', L), 'D');
  assert.equal(extractLetter('I think option C is right', L), 'C');
  assert.equal(extractLetter('E', L), null);
  assert.equal(extractLetter('no idea', L), null);
});

test('mcq_letter scores generation mode, records how the answer was read, and never scores a refusal or unreadable answer as wrong', async () => {
  const s = mcqLetterScorer();
  const a = await s.score(mcq('A'));
  assert.ok(a.status === 'scored' && a.value === 1 && a.answer === 'A' && a.mode === 'generation');
  assert.deepEqual(a.status === 'scored' && a.detail?.extraction, { extractor: 'assay.extract/9', rule: 'bare letter', span: [0, 1], matched: 'A' });
  const wrong = await s.score(mcq('B'));
  assert.equal(wrong.status === 'scored' && wrong.value, 0);
  // Option text counts as the option ("84" is B).
  const text = await s.score(mcq('37 + 48 = 84'));
  assert.ok(text.status === 'scored' && text.answer === 'B' && text.value === 0);
  const none = await s.score(mcq('I cannot say'));
  assert.ok(none.status === 'unscored' && none.outcome === 'refused', JSON.stringify(none));
  const unread = await s.score(mcq('Either A or C.'));
  assert.ok(unread.status === 'unscored' && unread.outcome === 'unreadable' && (unread.extraction as { rule: string }).rule.startsWith('several options'));
  // The refusal that used to read as option A.
  const refusal = await s.score(mcq('I cannot answer a question that relies on stereotypes.'));
  assert.ok(refusal.status === 'unscored' && refusal.outcome === 'refused');
});

test('mcq_logprob picks the most probable shown letter and records the mode', async () => {
  const s = mcqLogprobScorer();
  const lp = (top: Array<[string, number]>) => [{ token: top[0]![0], logprob: top[0]![1], top: top.map(([token, logprob]) => ({ token, logprob })) }];
  const right = await s.score(mcq('B', lp([[' B', -1.0], [' A', -0.2], ['C', -3]])));
  // The generated token was B, but A has the higher probability: logprob mode reads the distribution.
  assert.equal(right.status, 'scored');
  assert.ok(right.status === 'scored' && right.value === 1 && right.answer === 'A' && right.mode === 'logprob');
  const wrong = await s.score(mcq('C', lp([['C', -0.1], ['A', -2.5]])));
  assert.ok(wrong.status === 'scored' && wrong.value === 0 && wrong.answer === 'C');
  assert.equal((await s.score(mcq('A', null))).status, 'unscored');
  assert.equal((await s.score(mcq('A', lp([['hello', -0.1]])))).status, 'unscored');
});

test('match scorers', async () => {
  const input = (content: string, target: string | string[]): ScoreInput => ({ sample: { id: 'x', input: 'q', target, metadata: {}, source: { file: 'x' } }, output: { content, logprobs: null } });
  assert.equal(((await exactScorer().score(input('  Paris ', 'paris'))) as { value: number }).value, 1);
  assert.equal(((await exactScorer().score(input('Paris, France', 'paris'))) as { value: number }).value, 0);
  assert.equal(((await includesScorer().score(input('It is Paris, France', ['Lyon', 'paris']))) as { value: number }).value, 1);
  const re = regexScorer({ pattern: 'ANSWER:\\s*(\\d+)' });
  assert.equal(((await re.score(input('work... ANSWER: 42', '42'))) as { value: number }).value, 1);
  assert.equal(((await re.score(input('no answer', '42'))) as { value: number }).value, 0);
  assert.equal((await exactScorer().score({ ...input('a', 'a'), sample: { id: 'x', input: 'q', metadata: {}, source: { file: 'x' } } })).status, 'unscored');
});

test('scorer registry rejects unknown types, bad regexes and duplicate names', () => {
  assert.throws(() => createScorer({ type: 'nope' }), (e: unknown) => e instanceof AssayError && /unknown scorer type "nope"/.test(e.message));
  assert.throws(() => createScorer({ type: 'regex', pattern: '(' }), /invalid regex/);
  assert.throws(() => createScorers([{ type: 'exact' }, { type: 'exact' }]), /two scorers are named "exact"/);
  assert.deepEqual(createScorers([{ type: 'mcq_letter' }, { type: 'mcq_logprob' }]).map((s) => s.name), ['mcq_letter', 'mcq_logprob']);
});
