import { test } from 'node:test';
import assert from 'node:assert/strict';
import { at, Interner, SampleTable } from '../src/stats/sample-table.js';

test('SampleTable: first record of a (sample, epoch) key wins, for mask epochs and odd ones', () => {
  const t = new SampleTable(1);
  const a = t.add('a', 1);
  assert.equal(a, 1);
  assert.equal(t.add('a', 1), -1, 'repeated key');
  assert.equal(t.add('a', 2), a, 'another epoch of the same sample');
  assert.equal(t.add('a', 32), a);
  assert.equal(t.add('a', 32), -1, 'bit 31 of the mask');
  assert.equal(t.add('a', 33), a, 'past the mask');
  assert.equal(t.add('a', 33), -1);
  assert.equal(t.add('a', 0), a);
  assert.equal(t.add('a', 0), -1);
  assert.equal(t.add('a', '1'), a, 'a string epoch is another key, as in a Map');
  assert.equal(t.add('a', '1'), -1);
  assert.equal(t.add('b', 1), 2);
  assert.equal(t.size, 2);
});

test('SampleTable: grows past its first capacity and keeps every column; sorted() is ascending id order', () => {
  const t = new SampleTable(2);
  const n = 5000;
  for (let i = 0; i < n; i++) {
    const s = t.add(`id-${(i * 7919) % n}`, 1);
    const col = t.metrics[i % 2]!;
    col.sum[s] = i;
    col.k[s] = 1;
    if (i % 3 === 0) col.writable('cluster')[s] = 7;
  }
  assert.equal(t.size, n);
  const ids = t.ids.values as string[];
  const order = Array.from(t.sorted(), (s) => ids[s]!);
  assert.deepEqual(order, [...order].sort());
  const s = t.ids.find('id-0');
  assert.equal(t.metrics[0]!.sum[s], 0);
  assert.equal(at(t.metrics[0]!.cluster, s), 7);
  const last = t.ids.find(`id-${((n - 1) * 7919) % n}`);
  assert.equal(t.metrics[(n - 1) % 2]!.sum[last], n - 1, 'values written before a resize survive it');
  assert.equal(at(t.metrics[1]!.missK, last), 0, 'an unallocated column reads 0');
});

test('Interner: 0 is undefined; values keep Map identity (1 and "1" differ, null is a value)', () => {
  const i = new Interner();
  assert.equal(i.id(undefined), 0);
  const one = i.id(1);
  assert.notEqual(i.id('1'), one);
  assert.equal(i.id(1), one);
  assert.ok(i.id(null) > 0);
  assert.equal(i.find('absent'), 0);
  assert.equal(i.values[one], 1);
});
