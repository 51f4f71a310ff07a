import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { viewOpenApi, sampleQuery } from '../src/view/api-schema.js';
import { filterRows, perSampleMean, type SampleRow } from '../src/view/samples.js';
import { ROOT } from './helpers.js';

const row = (i: number, o: Partial<SampleRow> = {}): SampleRow => ({ i, key: `s${i}#1`, sampleId: `s${i}`, epoch: 1, scores: { acc: i % 2 }, errored: false, unscored: false, outcome: null, input: `question ${i}`, output: `answer ${i}`, metadata: { band: i < 5 ? 'low' : 'high' }, latencyMs: 1, tokens: 3, ...o });
const rows = [...Array.from({ length: 10 }, (_, i) => row(i)), row(10, { errored: true, scores: {}, outcome: 'http_500' }), row(11, { unscored: true, scores: {}, outcome: 'empty', output: 'ÉCOLE <script>' })];

test('view API: schemas/view-api.v1.openapi.json is the generated document (UPDATE_SCHEMAS=1 rewrites it)', () => {
  const text = JSON.stringify(viewOpenApi(), null, 2) + '\n';
  const file = join(ROOT, 'schemas/view-api.v1.openapi.json');
  if (process.env.UPDATE_SCHEMAS === '1') writeFileSync(file, text);
  assert.ok(readFileSync(file, 'utf8') === text, 'stale: re-run with UPDATE_SCHEMAS=1'); // a boolean: assert.equal's diff of two large texts can take minutes
});

test('samples filter: each criterion narrows; all hold together; text search is case-insensitive over input and output', () => {
  assert.equal(filterRows(rows, {}).length, 12);
  assert.deepEqual(filterRows(rows, { errored: true }).map((r) => r.i), [10]);
  assert.deepEqual(filterRows(rows, { unscored: true }).map((r) => r.i), [11]);
  assert.deepEqual(filterRows(rows, { score: 'acc', min: 1 }).map((r) => r.i), [1, 3, 5, 7, 9]);
  assert.deepEqual(filterRows(rows, { score: 'acc', max: 0 }).map((r) => r.i), [0, 2, 4, 6, 8], 'records without the score are not "≤ 0"');
  assert.deepEqual(filterRows(rows, { group: 'band', value: 'low', score: 'acc', min: 1 }).map((r) => r.i), [1, 3]);
  assert.deepEqual(filterRows(rows, { q: 'école' }).map((r) => r.i), [11]);
  assert.deepEqual(filterRows(rows, { q: 'QUESTION 7' }).map((r) => r.i), [7]);
  assert.deepEqual(filterRows(rows, { q: '<script>' }).map((r) => r.i), [11]);
});

test('per-item means average epochs and skip unscored records', () => {
  const m = perSampleMean([row(0, { scores: { acc: 1 } }), row(0, { epoch: 2, key: 's0#2', scores: { acc: 0 } }), row(1, { scores: {} })], 'acc');
  assert.deepEqual([...m], [['s0', 0.5]]);
});

test('sample queries: bounds and types are checked, unknown parameters refused', () => {
  assert.deepEqual(sampleQuery.parse({ errored: 'true', min: '0.5', limit: '50' }), { errored: true, min: 0.5, offset: 0, limit: 50 });
  for (const bad of [{ limit: '0' }, { limit: '100000' }, { offset: '-1' }, { min: 'NaN' }, { errored: 'yes' }, { q: 'x'.repeat(501) }, { sort: 'x' }]) assert.equal(sampleQuery.safeParse(bad).success, false, JSON.stringify(bad).slice(0, 40));
});
