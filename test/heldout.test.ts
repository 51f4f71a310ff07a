import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../src/common/canonical.js';
import { loadSuite } from '../src/suite/load.js';
import { commitment, keyIdOf, openItems, sealItems } from '../src/suite/heldout.js';
import { contaminationTest } from '../src/audit/contamination.js';
import { arithmeticSuite, runAgainst } from './audit-fixture.js';
import { cli, tmp } from './helpers.js';

const rows = Array.from({ length: 6 }, (_, i) => ({ id: `h${i}`, question: `What is ${i} + ${i + 1}?`, answer: String(2 * i + 1), difficulty: i % 2 ? 'hard' : 'easy' }));

test('seal/open: items decrypt only with the key, in place, and only if they match the published salted commitments', () => {
  const key = randomBytes(32);
  const s = sealItems(rows, key, 'fixture.held');
  const suite = { id: 'fixture.held', heldOut: { keyId: s.keyId, commitments: s.commitments } };
  assert.deepEqual(openItems(s.lines, key, suite), rows);
  // Ciphertext reveals no item text.
  for (const l of s.lines) assert.ok(!l.includes('What is'));
  // Salted: the bare digest of a guessed item is not a published commitment, and sealing twice gives new commitments.
  const bare = `sha256:${createHash('sha256').update(canonicalJson(rows[0])).digest('hex')}`;
  assert.ok(!s.commitments.includes(bare));
  assert.notDeepEqual(sealItems(rows, key, 'fixture.held').commitments, s.commitments);
  // Wrong key; items reordered; an item from another suite; a swapped item with its own valid encryption.
  assert.throws(() => openItems(s.lines, randomBytes(32), suite), /is not the one the suite names/);
  const swapped = [s.lines[1]!, s.lines[0]!, ...s.lines.slice(2)];
  assert.throws(() => openItems(swapped, key, suite), (e: Error & { code?: string }) => e.code === 'HELD_OUT_TAMPERED' && /item 1/.test(e.message));
  const other = sealItems(rows, key, 'other.suite');
  assert.throws(() => openItems(other.lines, key, suite), /does not decrypt/);
  const fake = sealItems([{ ...rows[0], answer: '999' }], key, 'fixture.held');
  assert.throws(() => openItems([fake.lines[0]!, ...s.lines.slice(1)], key, suite), (e: Error & { code?: string }) => e.code === 'HELD_OUT_COMMITMENT' && /held_out\.commitments\[0\]/.test(e.message));
  assert.throws(() => openItems(s.lines.slice(1), key, suite), /commits to 6/);
  // The commitment is recomputable from (salt, item) alone.
  assert.match(commitment(Buffer.alloc(32), rows[0]), /^sha256:[0-9a-f]{64}$/);
  assert.equal(keyIdOf(key), s.keyId);
});

test('CLI: seal a held-out split into a suite (committed by its digest), unseal it as the tester, run both splits, and test contamination by difficulty', async () => {
  const dir = tmp('assay-heldout-');
  const suiteFile = arithmeticSuite(160, dir);
  // Split: the first 80 items stay public; the last 80 become the held-out split.
  const data = readFileSync(join(dir, 'data.jsonl'), 'utf8').trim().split('\n');
  writeFileSync(join(dir, 'data.jsonl'), data.slice(0, 80).join('\n') + '\n');
  const items = join(tmp('assay-heldout-items-'), 'held.jsonl');
  writeFileSync(items, data.slice(80).join('\n') + '\n');
  const before = (await loadSuite(suiteFile)).digest;
  const key = join(tmp('assay-heldout-key-'), 'held.key');
  const s = await cli(['suite', 'seal', suiteFile, '--items', items, '--key-out', key, '--pair-by', 'difficulty']);
  assert.equal(s.code, 0, s.stderr);
  const sealed = await loadSuite(suiteFile);
  assert.equal(sealed.def.heldOut?.commitments.length, 80);
  assert.notEqual(sealed.digest, before);
  assert.ok(!readFileSync(join(dir, 'held-out.sealed.jsonl'), 'utf8').includes('What is'));
  const out = tmp('assay-heldout-open-');
  const u = await cli(['suite', 'unseal', suiteFile, '--key', key, '--out', out]);
  assert.equal(u.code, 0, u.stderr);
  assert.match(u.stdout, /80 held-out items .* all match their commitments/);
  // A changed commitment in the suite file: unseal refuses, naming the item.
  const text = readFileSync(suiteFile, 'utf8');
  const first = sealed.def.heldOut!.commitments[3]!;
  writeFileSync(suiteFile, text.replace(first, `sha256:${'0'.repeat(64)}`));
  const bad = await cli(['suite', 'unseal', suiteFile, '--key', key, '--out', tmp('assay-heldout-bad-')]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /held_out\.commitments\[3\]/);
  writeFileSync(suiteFile, text);
  // A model trained on the public split (0.95 there, 0.65 on unseen items): flagged, stratified by the declared field.
  const pub = await runAgainst(suiteFile, { accuracy: 0.95, seed: 3 });
  const held = await runAgainst(join(out, 'suite.yaml'), { accuracy: 0.65, seed: 3 });
  const r = await contaminationTest(pub, held);
  assert.equal(r.by, 'difficulty');
  assert.equal(r.flagged, true);
  assert.ok(r.difference > 0.15 && r.p < 0.01, `${r.difference} p=${r.p}`);
  // The same model on both: not flagged.
  const held2 = await runAgainst(join(out, 'suite.yaml'), { accuracy: 0.95, seed: 3 });
  assert.equal((await contaminationTest(pub, held2)).flagged, false);
});
