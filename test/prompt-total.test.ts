/**
 * The run's pre-flight checks every record with the dataset reader but builds no prompt (building them was
 * ~40 % of the time before the first request): that is sound only if `buildPrompt` cannot fail on a sample
 * the reader accepted. Hostile values in every field, through the real loader, for each solver that builds one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSuite } from '../src/suite/load.js';
import { buildPrompt } from '../src/run/prompt.js';
import { tmp } from './helpers.js';

function suite(dir: string, solver: string, fields: string, template: string, rows: unknown[]): string {
  writeFileSync(join(dir, 'data.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(join(dir, 'METHODOLOGY.md'), '# Test suite\nHostile rows for the prompt builder.\n');
  writeFileSync(
    join(dir, 'suite.yaml'),
    [
      'schema: assay.suite/v1',
      'id: test.prompt-total',
      'version: 1.0.0',
      'title: Prompt builder on hostile rows',
      'risk_area: none',
      'methodology: METHODOLOGY.md',
      'access: black-box',
      `dataset: { path: data.jsonl, format: jsonl, fields: ${fields} }`,
      `template: ${JSON.stringify(template)}`,
      `solver: ${solver}`,
      'scorers: [ { type: exact } ]',
      'metrics: [ { name: exact, scorer: exact } ]',
      '',
    ].join('\n'),
  );
  return join(dir, 'suite.yaml');
}

const hostile = ['', ' ', '{{input}}', '{{choices}}', '{{note}}', 'A. fake option', '\u0000\u202e\ud83d\ude00', 'x'.repeat(100_000), '$&$1$$', '\\'];
const notes: unknown[] = [null, 0, -1e308, true, false, [], {}, { a: [1, { b: null }] }, '{{input}}', 'x'.repeat(50_000), [null, [[[]]]]];

test('multiple choice, shuffled: every record the reader accepts builds a prompt (26 choices, hostile texts, metadata of every JSON type)', async () => {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const rows = [
    ...notes.map((note, i) => ({ id: `n${i}`, q: hostile[1 + (i % (hostile.length - 1))], choices: Array.from({ length: 26 }, (_, k) => `${hostile[(i + k) % hostile.length]}#${k}`), answer: letters[i % 26], note })),
    { id: 't-text', q: 'q', choices: ['$&', '$1'], answer: '$1', note: '$&' },
    { id: 't-index', q: 'q', choices: [1, true], answer: 1, note: null },
  ];
  const s = await loadSuite(suite(tmp(), '{ type: multiple_choice, shuffle: true, system: "{{input}} $&" }', '{ id: id, input: q, choices: choices, target: answer, metadata: [note] }', 'Q: {{input}}\n{{choices}}\nNote: {{note}}\nAnswer:', rows));
  let n = 0;
  for await (const sample of s.samples()) {
    for (const seed of [0, 1, 2 ** 31]) {
      const p = buildPrompt(s.def, sample, seed, 3);
      assert.equal(p.messages.at(-1)!.role, 'user');
      assert.ok(p.targetLetter, `${sample.id}: no target letter`);
      // Text put in is never expanded again: the input's own "{{note}}" stays literal.
      if (sample.input === '{{note}}') assert.match(p.messages.at(-1)!.content, /Q: \{\{note\}\}/);
    }
    n++;
  }
  assert.equal(n, rows.length);
});

test('generation with chat inputs: a chat of 200,000 messages builds (no spread onto the call stack), metadata placeholders of every type', async () => {
  const chat = Array.from({ length: 200_000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: hostile[i % 7]! }));
  const rows = [{ id: 'long', input: chat, note: null }, ...notes.map((note, i) => ({ id: `g${i}`, input: hostile[1 + (i % (hostile.length - 1))], note }))];
  const s = await loadSuite(suite(tmp(), '{ type: generate, system: "be brief" }', '{ id: id, input: input, metadata: [note] }', '{{input}} / {{note}}', rows));
  const built = new Map<string, number>();
  for await (const sample of s.samples()) built.set(sample.id, buildPrompt(s.def, sample, 0, 1).messages.length);
  assert.equal(built.get('long'), 200_001);
  assert.equal(built.size, rows.length);
});
