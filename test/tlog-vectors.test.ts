import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './helpers.js';
import {
  EMPTY_ROOT, MemoryTree, consistencyFailure, inclusionFailure, leafHash, merkleRoot, rangeNodes, verifyConsistency, verifyInclusion,
} from '../src/tlog/merkle.js';

// Vectors from transparency-dev/merkle (Apache-2.0), copied into test/fixtures (see PROVENANCE.md there).
const VECTORS = join(ROOT, 'test/fixtures/merkle-vectors');
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : n.endsWith('.json') ? [p] : [];
  });
}

interface InclusionVector { leafIdx: number; treeSize: number; root: string; leafHash: string; proof: string[] | null; desc: string; wantErr: boolean }
interface ConsistencyVector { size1: number; size2: number; root1: string; root2: string; proof: string[] | null; desc: string; wantErr: boolean }

test('every inclusion vector: happy paths verify, every tampered variant is rejected', () => {
  const all = files(join(VECTORS, 'inclusion'));
  assert.ok(all.length >= 60, `found only ${all.length} inclusion vectors`);
  let happy = 0;
  for (const f of all) {
    const v = JSON.parse(readFileSync(f, 'utf8')) as InclusionVector;
    const why = inclusionFailure(b64(v.leafHash), v.leafIdx, v.treeSize, (v.proof ?? []).map(b64), b64(v.root));
    const name = relative(VECTORS, f);
    if (v.wantErr) assert.notEqual(why, null, `${name} (${v.desc}) should be rejected`);
    else {
      assert.equal(why, null, `${name} (${v.desc}): ${why}`);
      happy++;
    }
  }
  assert.ok(happy >= 6);
});

test('every consistency vector: happy paths verify, every tampered variant is rejected', () => {
  const all = files(join(VECTORS, 'consistency'));
  assert.ok(all.length >= 80, `found only ${all.length} consistency vectors`);
  for (const f of all) {
    const v = JSON.parse(readFileSync(f, 'utf8')) as ConsistencyVector;
    const why = consistencyFailure(v.size1, v.size2, (v.proof ?? []).map(b64), b64(v.root1), b64(v.root2));
    const name = relative(VECTORS, f);
    if (v.wantErr) assert.notEqual(why, null, `${name} (${v.desc}) should be rejected`);
    else assert.equal(why, null, `${name} (${v.desc}): ${why}`);
  }
});

const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => new Uint8Array(Buffer.from(h, 'hex')));
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

test('canonical 8-leaf roots (RFC 6962 test leaves)', () => {
  const hashes = LEAVES.map(leafHash);
  const tree = new MemoryTree(hashes);
  for (let n = 0; n <= 8; n++) {
    assert.equal(hex(merkleRoot(hashes.slice(0, n))), ROOTS[n], `merkleRoot of ${n}`);
    assert.equal(hex(tree.root(n)), ROOTS[n], `MemoryTree root of ${n}`);
  }
  assert.equal(hex(EMPTY_ROOT), ROOTS[0]);
});

/** Straight recursion from RFC 9162 §2.1.1, as an independent check of the range machinery. */
function mth(d: Uint8Array[]): Uint8Array {
  if (d.length === 0) return EMPTY_ROOT;
  if (d.length === 1) return d[0]!;
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return new MemoryTree([mth(d.slice(0, k)), mth(d.slice(k))]).root();
}

test('generated proofs verify for every (index, size) and (m, n) up to 70, roots match the recursion', () => {
  const hashes = Array.from({ length: 70 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
  const tree = new MemoryTree(hashes);
  for (let n = 1; n <= 70; n++) {
    const root = tree.root(n);
    assert.deepEqual(root, mth(hashes.slice(0, n)));
    assert.deepEqual(merkleRoot(hashes.slice(0, n)), root);
    for (let i = 0; i < n; i++) {
      const p = tree.inclusionProof(i, n);
      assert.ok(verifyInclusion(hashes[i]!, i, n, p, root), `inclusion ${i}/${n}`);
      if (p.length) {
        const bad = p.map((x) => Uint8Array.from(x));
        bad[0]![0]! ^= 1;
        assert.ok(!verifyInclusion(hashes[i]!, i, n, bad, root));
      }
    }
    for (let m = 1; m <= n; m++) {
      const p = tree.consistencyProof(m, n);
      assert.ok(verifyConsistency(m, n, p, tree.root(m), root), `consistency ${m}→${n}`);
      if (m < n) assert.ok(!verifyConsistency(m, n, p, tree.root(m), tree.root(m)), `consistency ${m}→${n} wrong root`);
    }
  }
});

test('rangeNodes splits a range into aligned perfect subtrees', () => {
  assert.deepEqual(rangeNodes([0, 7]), [{ level: 2, index: 0 }, { level: 1, index: 2 }, { level: 0, index: 6 }]);
  assert.deepEqual(rangeNodes([8, 13]), [{ level: 2, index: 2 }, { level: 0, index: 12 }]);
});
