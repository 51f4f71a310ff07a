import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT, tmp } from './helpers.js';
import { LocalLog } from '../src/tlog/storage.js';
import { decodeTileIndex, encodeTileIndex, entriesPath, parseEntryBundle, tilePath } from '../src/tlog/tiles.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../src/tlog/merkle.js';
import { openCheckpoint } from '../src/tlog/checkpoint.js';
import { ed25519Verifier, ed25519Signer } from '../src/tlog/note.js';

const ORIGIN = 'test.example/log';
const key = generateKeyPairSync('ed25519').privateKey;
const VKEY = ed25519Signer(ORIGIN, key).vkey;
const entry = (i: number) => Buffer.from(`{"n":${i}}`);

// Independent hashing straight from RFC 9162 with node:crypto, not our merkle module.
const sha = (...p: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const x of p) h.update(x);
  return h.digest();
};
const leaf = (d: Uint8Array) => sha(Buffer.of(0), d);
function mth(hs: Buffer[]): Buffer {
  if (hs.length === 1) return hs[0]!;
  let k = 1;
  while (k * 2 < hs.length) k *= 2;
  return sha(Buffer.of(1), mth(hs.slice(0, k)), mth(hs.slice(k)));
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

test('tile index path encoding', () => {
  assert.equal(encodeTileIndex(1234067), 'x001/x234/067');
  assert.equal(encodeTileIndex(5), '005');
  assert.equal(encodeTileIndex(0), '000');
  assert.equal(encodeTileIndex(1000), 'x001/000');
  assert.equal(tilePath(1, 1234067, 17), 'tile/1/x001/x234/067.p/17');
  assert.equal(entriesPath(273), 'tile/entries/273');
  assert.equal(decodeTileIndex('x001/x234/067'), 1234067);
  assert.equal(decodeTileIndex('x000/067'), null); // not canonical
  assert.equal(decodeTileIndex('1234'), null);
});

test('70,000 entries in batches: every tile and bundle matches hashes recomputed from the leaves', async () => {
  const dir = tmp('tlog-tiles-');
  const log = await LocalLog.open(dir, { origin: ORIGIN, signerKey: key });
  const N = 70_000;
  const entries = Array.from({ length: N }, (_, i) => entry(i));
  for (let at = 0; at < N; at += 7_000) await log.append(entries.slice(at, at + 7_000));
  // A few small batches so partial tiles are rewritten in place of narrower ones.
  const extra = [70_000, 70_001, 70_002].map(entry);
  for (const e of extra) await log.append([e]);
  entries.push(...extra);
  const n = entries.length;
  assert.equal(log.size, n);
  const leaves = entries.map(leaf);
  const roots = new Map<number, Buffer>();
  const rootOf = (size: number) => roots.get(size) ?? (roots.set(size, mth(leaves.slice(0, size))), roots.get(size)!);

  // Expected files: level-0 hashes are leaves; level L+1 hashes are roots of full level-L tiles.
  const expected = new Map<string, Buffer>();
  let row: Buffer[] = leaves;
  for (let L = 0; row.length > 0; L++) {
    const next: Buffer[] = [];
    for (let t = 0; t * 256 < row.length; t++) {
      const group = row.slice(t * 256, t * 256 + 256);
      expected.set(tilePath(L, t, group.length), Buffer.concat(group));
      if (group.length === 256) next.push(mth(group));
    }
    row = next;
  }
  for (let t = 0; t * 256 < n; t++) {
    const group = entries.slice(t * 256, t * 256 + 256);
    expected.set(entriesPath(t, group.length), Buffer.concat(group.flatMap((e) => [Buffer.of(e.length >> 8, e.length & 255), e])));
  }
  const present = listFiles(join(dir, 'tile')).map((p) => relative(dir, p));
  // Partial tiles of tiles now full are pruned; the latest partial of each level is present.
  assert.deepEqual(present.filter((p) => !expected.has(p) && !/\.p\/\d+$/.test(p)), []);
  for (const [p, want] of expected) assert.deepEqual(readFileSync(join(dir, p)), want, p);
  assert.deepEqual([...expected.keys()].filter((p) => p.includes('.p/')).sort(), ['tile/0/273.p/115', 'tile/1/001.p/17', 'tile/2/000.p/1', 'tile/entries/273.p/115']);
  // Older partial widths of the still-incomplete tiles may remain; none belongs to a full tile.
  for (const p of present.filter((x) => x.includes('.p/'))) assert.ok(!existsSync(join(dir, p.replace(/\.p\/\d+$/, ''))), p);

  const cp = openCheckpoint(log.checkpoint(), [ed25519Verifier(VKEY)]);
  assert.equal(cp.size, n);
  assert.deepEqual(Buffer.from(cp.root), rootOf(n));
  assert.deepEqual(parseEntryBundle(readFileSync(join(dir, 'tile/entries/273.p/115')))[114], entry(70_002));

  // Proofs read back from tiles verify against independently computed roots, old sizes too.
  for (const [i, size] of [[0, n], [65_535, n], [n - 1, n], [12_345, 50_000], [255, 256], [256, 257]] as const) {
    const root = rootOf(size);
    assert.deepEqual(Buffer.from(log.rootAt(size)), root);
    assert.ok(verifyInclusion(leaf(entries[i]!), i, size, log.inclusionProof(i, size), root), `${i}/${size}`);
  }
  for (const [m, size] of [[1, n], [65_536, n], [50_000, 69_999], [256, 70_000]] as const)
    assert.ok(verifyConsistency(m, size, log.consistencyProof(m, size), rootOf(m), rootOf(size)), `${m}→${size}`);
  assert.deepEqual(log.entry(12_345), entry(12_345));
  log.close();
});

test('appends are idempotent by entry bytes, within a batch and across reopen', async () => {
  const dir = tmp('tlog-idem-');
  let log = await LocalLog.open(dir, { origin: ORIGIN, signerKey: key });
  const r1 = await log.append([entry(1), entry(2), entry(1)]);
  assert.deepEqual(r1.indices, [0, 1, 0]);
  assert.equal(r1.size, 2);
  log.close();
  log = await LocalLog.open(dir, { origin: ORIGIN, signerKey: key });
  const cpBefore = log.checkpoint();
  const r2 = await log.append([entry(2)]);
  assert.deepEqual(r2.indices, [1]);
  assert.equal(r2.checkpoint, cpBefore); // nothing new: no new checkpoint
  assert.deepEqual((await log.append([entry(3), entry(1)])).indices, [2, 0]);
  assert.equal(log.find(entry(3)), 2);
  assert.equal(log.find(entry(9)), null);
  log.close();
});

test('open refuses another origin or another key; two handles on one log both append, each seeing the other', async () => {
  const dir = tmp('tlog-lock-');
  const a = await LocalLog.open(dir, { origin: ORIGIN, signerKey: key });
  const b = await LocalLog.open(dir, { origin: ORIGIN, signerKey: key });
  await a.append([entry(1)]);
  // b last saw size 0; under the lock it re-reads the disk, so its entry goes at index 1.
  assert.deepEqual((await b.append([entry(2), entry(1)])).indices, [1, 0]);
  assert.deepEqual((await a.append([entry(3)])).indices, [2]);
  assert.deepEqual(Buffer.from(a.root), mth([1, 2, 3].map((i) => leaf(entry(i)))));
  a.close();
  b.close();
  await assert.rejects(LocalLog.open(dir, { origin: 'other.example/log', signerKey: key }), /has origin/);
  await assert.rejects(LocalLog.open(dir, { origin: ORIGIN, signerKey: generateKeyPairSync('ed25519').privateKey }), /no signature from a known key/);
  // An old-style pid lock file (or any junk) beside the log means nothing.
  writeFileSync(join(dir, '.lock'), '');
  (await LocalLog.open(dir, { origin: ORIGIN, signerKey: key })).close();
});

test('interrupted batch (data files written, no checkpoint) is rolled back on reopen, never visible', async () => {
  for (const stage of ['journaled', 'data-written'] as const) {
    const dir = tmp('tlog-crash-');
    let log = await LocalLog.open(dir, { origin: ORIGIN, signerKey: key });
    await log.append(Array.from({ length: 300 }, (_, i) => entry(i)));
    const before = log.checkpoint();
    const filesBefore = listFiles(dir).map((p) => relative(dir, p)).sort();
    log.close();
    log = await LocalLog.open(dir, { origin: ORIGIN, signerKey: key, faultInjection: (s) => {
      if (s === stage) throw new Error(`simulated crash at ${s}`);
    } });
    await assert.rejects(log.append(Array.from({ length: 600 }, (_, i) => entry(1000 + i))), /simulated crash/);
    // The "dead" process: its files stay as they were, the checkpoint is the old one.
    assert.equal(readFileSync(join(dir, 'checkpoint'), 'utf8'), before);
    if (stage === 'data-written') assert.ok(existsSync(join(dir, 'tile/0/002')), 'batch tiles were written before the crash');
    log = await LocalLog.open(dir, { origin: ORIGIN, signerKey: key });
    assert.equal(log.size, 300);
    assert.deepEqual(listFiles(dir).map((p) => relative(dir, p)).sort(), filesBefore);
    // The retried batch lands exactly as it would have on a clean log.
    const r = await log.append(Array.from({ length: 600 }, (_, i) => entry(1000 + i)));
    assert.equal(r.firstIndex, 300);
    const all = [...Array.from({ length: 300 }, (_, i) => entry(i)), ...Array.from({ length: 600 }, (_, i) => entry(1000 + i))];
    assert.deepEqual(Buffer.from(log.root), mth(all.map(leaf)));
    log.close();
  }
});

test('a writer killed mid-append leaves a log that reopens at a signed, complete checkpoint', async () => {
  const dir = tmp('tlog-kill-');
  const keyFile = join(dir, '..', `${relative(join(dir, '..'), dir)}.pem`);
  writeFileSync(keyFile, key.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  const script = `
    import { createPrivateKey } from 'node:crypto';
    import { readFileSync } from 'node:fs';
    import { LocalLog } from ${JSON.stringify(join(ROOT, 'src/tlog/storage.ts'))};
    const log = await LocalLog.open(${JSON.stringify(dir)}, { origin: ${JSON.stringify(ORIGIN)}, signerKey: createPrivateKey(readFileSync(${JSON.stringify(keyFile)})) });
    for (let b = 0; ; b++) {
      const r = await log.append(Array.from({ length: 500 }, (_, i) => Buffer.from('{"n":' + (b * 500 + i) + '}')));
      process.stdout.write(r.size + '\\n');
    }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let seen = 0;
  await new Promise<void>((ok) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n').filter(Boolean);
      seen = Number(lines.at(-1));
      if (lines.length >= 4) {
        // Kill at a point inside a later batch, not at a batch boundary.
        setTimeout(() => child.kill('SIGKILL'), 3);
      }
    });
    child.on('exit', () => ok());
  });
  const log = await LocalLog.open(dir, { origin: ORIGIN, signerKey: key });
  assert.ok(log.size >= seen && log.size % 500 === 0, `size ${log.size} after seeing ${seen}`);
  const all = Array.from({ length: log.size }, (_, i) => entry(i));
  assert.deepEqual(Buffer.from(log.root), mth(all.map(leaf)));
  assert.ok(!existsSync(join(dir, '.pending')));
  // Nothing beyond the checkpoint is visible: every tile path belongs to the tree.
  for (const p of listFiles(join(dir, 'tile')).map((f) => relative(dir, f))) {
    const m = /^tile\/(entries|\d+)\/(.+?)(?:\.p\/(\d+))?$/.exec(p)!;
    const level = m[1] === 'entries' ? 0 : Number(m[1]);
    const index = decodeTileIndex(m[2]!)!;
    const width = m[3] ? Number(m[3]) : 256;
    assert.ok(index * 256 + width <= Math.floor(log.size / 256 ** level), `${p} lies beyond size ${log.size}`);
  }
  const again = await log.append([entry(0), entry(log.size)]);
  assert.deepEqual(again.indices, [0, log.size - 1]);
  log.close();
});
