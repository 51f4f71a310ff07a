import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmp } from './helpers.js';
import { auditLog } from '../src/tlog/audit.js';
import { openCheckpoint } from '../src/tlog/checkpoint.js';
import { logSource, verifyCheckpointConsistency } from '../src/tlog/client.js';
import { ed25519Signer, ed25519Verifier } from '../src/tlog/note.js';
import { observeCheckpoint } from '../src/tlog/seen.js';
import { LocalLog } from '../src/tlog/storage.js';

const ORIGIN = 'audit.example/log';
const key = generateKeyPairSync('ed25519').privateKey;
const VKEY = ed25519Signer(ORIGIN, key).vkey;
const entry = (i: number) => Buffer.from(`{"n":${i}}`);
const cpOf = (text: string) => openCheckpoint(text, [ed25519Verifier(VKEY)]);

/** A log of `n` entries appended in batches of 100; returns its dir and each batch's checkpoint. */
async function makeLog(n: number, from = 0, dir = join(tmp('tlog-audit-'), 'log')): Promise<{ dir: string; cps: string[] }> {
  const log = await LocalLog.open(dir, { origin: ORIGIN, signerKey: key });
  const cps: string[] = [];
  for (let i = from; i < from + n; i += 100) cps.push((await log.append(Array.from({ length: Math.min(100, from + n - i) }, (_, k) => entry(i + k)))).checkpoint);
  return { dir, cps };
}

const audit = (dir: string, checkpoints: { text: string; source: string }[] = []) => auditLog(logSource(dir), VKEY, { localDir: dir, checkpoints });

test('audit: a healthy log recomputes; every kind of tampering with tiles or bundles is named', async () => {
  const { dir, cps } = await makeLog(1000);
  const clean = await audit(dir, cps.map((text, i) => ({ text, source: `cp${i}` })));
  assert.deepEqual(clean.problems, []);
  assert.equal(clean.size, 1000);
  assert.equal(clean.checkpoints.length, 10);
  assert.ok(clean.checkpoints.every((c) => c.ok));

  const cases: [string, (d: string) => void, RegExp][] = [
    ['flip a byte in a full level-0 tile in the middle', (d) => {
      const f = join(d, 'tile/0/001');
      const b = readFileSync(f);
      b[100]! ^= 1;
      writeFileSync(f, b);
    }, /tile\/0\/001: hash tile differs/],
    ['truncate a full tile', (d) => writeFileSync(join(d, 'tile/0/000'), readFileSync(join(d, 'tile/0/000')).subarray(0, 64)), /tile\/0\/000: hash tile has 64 bytes/],
    ['delete a full tile', (d) => rmSync(join(d, 'tile/0/002')), /tile\/0\/002(\.p\/\d+)?: hash tile is missing/],
    ['edit an entry in a full bundle (tiles left alone)', (d) => {
      const f = join(d, 'tile/entries/001');
      writeFileSync(f, Buffer.from(readFileSync(f).toString('latin1').replace('{"n":300}', '{"n":399}'), 'latin1'));
    }, /tile\/0\/001: hash tile differs/],
    ['delete an entry bundle', (d) => rmSync(join(d, 'tile/entries/000')), /tile\/entries\/000: entry bundle is missing/],
    ['a level-1 tile edited', (d) => {
      const f = join(d, 'tile/1/000.p/3');
      const b = readFileSync(f);
      b[0]! ^= 1;
      writeFileSync(f, b);
    }, /tile\/1\/000\.p\/3: hash tile differs/],
    ['a file beyond the checkpoint (a crashed batch not rolled back)', (d) => writeFileSync(join(d, 'tile/0/005'), Buffer.alloc(256 * 32)), /tile\/0\/005: lies beyond the checkpoint's tree of size 1000/],
  ];
  for (const [name, tamper, re] of cases) {
    const d = join(tmp('tlog-audit-t-'), 'log');
    cpSync(dir, d, { recursive: true });
    tamper(d);
    const r = await audit(d);
    assert.ok(r.problems.length > 0, `${name}: not detected`);
    assert.match(r.problems.map((p) => `${p.where}: ${p.message}`).join('\n'), re, name);
    assert.ok(r.problems.every((p) => p.kind === 'corrupt'), name);
  }
});

test('audit: held checkpoints from a fork or from a larger tree (rollback) are named', async () => {
  const { dir, cps } = await makeLog(300);
  const fork = join(tmp('tlog-audit-f-'), 'log');
  cpSync(dir, fork, { recursive: true });
  // The real log grows; a copy gets a different continuation from size 300 under the same key.
  const real = await makeLog(100, 300, dir);
  const forked = await makeLog(100, 9000, fork);
  const r = await audit(dir, [{ text: forked.cps[0]!, source: 'fork.cp' }, { text: cps[2]!, source: 'old.cp' }]);
  assert.deepEqual(r.problems.map((p) => [p.where, p.kind]), [['fork.cp', 'fork']]);
  assert.match(r.problems[0]!.message, /split view: checkpoint of size 400/);
  // The real log's size-400 checkpoint shown to the (older) copy of size 300: a rollback.
  const old = join(tmp('tlog-audit-o-'), 'log');
  cpSync(dir, old, { recursive: true });
  writeFileSync(join(old, 'checkpoint'), cps[2]!);
  const rb = await audit(old, [{ text: real.cps[0]!, source: 'newer.cp' }]);
  // (The copy also still holds the newer tiles, beyond its checkpoint: those are named as corrupt.)
  assert.deepEqual(rb.problems.filter((p) => p.kind !== 'corrupt').map((p) => [p.where, p.kind]), [['newer.cp', 'rollback']]);
});

test('consistency is directional: a "newer" checkpoint smaller than the older one is a rollback, never swapped', async () => {
  const { dir, cps } = await makeLog(300);
  const small = cpOf(cps[0]!);
  const big = cpOf(cps[2]!);
  await verifyCheckpointConsistency(logSource(dir), small, big);
  await assert.rejects(verifyCheckpointConsistency(logSource(dir), big, small), (e: Error & { code?: string }) => e.code === 'ROLLBACK' && /smaller than the earlier checkpoint of size 300/.test(e.message));
});

test('largest-seen state: records larger consistent trees, refuses a smaller current tree or a split view, accepts older checkpoints by proof', async () => {
  const { dir, cps } = await makeLog(500);
  const seen = join(tmp('tlog-seen-'), 'seen.json');
  const src = logSource(dir);
  const [c100, c200, , , c500] = cps.map(cpOf);
  assert.equal((await observeCheckpoint(seen, VKEY, c200!, { current: true, src })).status, 'first');
  assert.deepEqual(await observeCheckpoint(seen, VKEY, c500!, { current: true, src }), { status: 'consistent', size: 500, seenSize: 200, recorded: true });
  // An older checkpoint (e.g. a report's proof) passes by a consistency proof to the largest seen.
  assert.deepEqual(await observeCheckpoint(seen, VKEY, c100!, { current: false, src }), { status: 'consistent', size: 100, seenSize: 500, recorded: false });
  // Without the log's tiles it cannot be proven: reported, nothing recorded.
  assert.equal((await observeCheckpoint(seen, VKEY, c100!, { current: false })).status, 'unproven');
  // The log presenting size 200 as its current tree: rollback.
  await assert.rejects(observeCheckpoint(seen, VKEY, c200!, { current: true, src }), (e: Error & { code?: string }) => e.code === 'ROLLBACK' && /smaller than the size 500/.test(e.message));
  // A fork at the seen size, and a fork beyond it.
  const fork = join(tmp('tlog-seen-f-'), 'log');
  cpSync(dir, fork, { recursive: true });
  writeFileSync(join(fork, 'checkpoint'), cps[3]!);
  rmSync(join(fork, 'tile'), { recursive: true });
  const f = await makeLog(1000, 7000, join(tmp('tlog-seen-g-'), 'log'));
  await assert.rejects(observeCheckpoint(seen, VKEY, cpOf(f.cps[4]!), { current: true, src: logSource(join(tmp(), 'x')) }), (e: Error & { code?: string }) => e.code === 'SPLIT_VIEW');
  await assert.rejects(observeCheckpoint(seen, VKEY, cpOf(f.cps[8]!), { current: true, src: logSource(f.dir) }), (e: Error & { code?: string }) => e.code === 'SPLIT_VIEW' && /not a prefix/.test(e.message));
  // State unchanged by all the refusals.
  assert.equal(JSON.parse(readFileSync(seen, 'utf8')).logs[VKEY].size, 500);
});

test('checkpoint reads are bounded: a planted huge checkpoint is refused before it is read whole', async () => {
  const { dir } = await makeLog(10);
  const { fetchCheckpoint } = await import('../src/tlog/client.js');
  writeFileSync(join(dir, 'checkpoint'), Buffer.alloc(2 << 20, 0x41));
  await assert.rejects(fetchCheckpoint(logSource(dir), VKEY), (e: Error & { code?: string }) => e.code === 'LOG_FETCH' && /larger than 1048576 bytes/.test(e.message));
  writeFileSync(join(dir, 'checkpoint'), Buffer.alloc(100_000, 0x41));
  await assert.rejects(fetchCheckpoint(logSource(dir), VKEY), (e: Error & { code?: string }) => e.code === 'CHECKPOINT_FORMAT');
  await assert.rejects(LocalLog.open(dir, { origin: ORIGIN, signerKey: key }), (e: Error & { code?: string }) => e.code === 'LOG_CORRUPT' && /larger than 65536 bytes/.test(e.message));
});

test('monitor: log audit --watch follows a growing log and raises ALERT (exit 8) when the log switches to a fork', { timeout: 300_000 }, async () => {
  const { spawn } = await import('node:child_process');
  const { cliEntry } = await import('./helpers.js');
  const { dir } = await makeLog(300);
  const fork = join(tmp('tlog-watch-f-'), 'log');
  cpSync(dir, fork, { recursive: true });
  const forked = await makeLog(100, 9000, fork); // same key, another continuation from 300
  const home = tmp('tlog-watch-home-');
  const p = spawn(process.execPath, [cliEntry(), 'log', 'audit', dir, '--vkey', VKEY, '--watch', '1', '--polls', '30'], { env: { ...process.env, ASSAY_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let grown = false;
  let forkedNow = false;
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (!grown && /^OK   audit\.example\/log: 300 entries/m.test(out)) {
      grown = true;
      void makeLog(100, 300, dir); // honest growth: 300 → 400
    }
    if (!forkedNow && /grew from 300 to 400/.test(out)) {
      forkedNow = true;
      // The log now presents the fork's tree of size 400 (another root at a size already seen).
      writeFileSync(join(dir, 'checkpoint'), forked.cps[0]!);
    }
  });
  const code = await new Promise<number | null>((ok) => p.on('exit', ok));
  assert.equal(code, 8, out);
  assert.match(out, /OK   audit\.example\/log grew from 300 to 400 entries, consistently/);
  assert.match(out, /^ALERT .*split view: log audit\.example\/log signed two different trees of size 400/m);
});
