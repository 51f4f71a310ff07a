import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { cli, tmp } from './helpers.js';
import { AssayError } from '../src/common/errors.js';
import { openCheckpoint } from '../src/tlog/checkpoint.js';
import {
  fetchCheckpoint, formatTlogProof, logSource, proveFromSource, serve, verifyCheckpointConsistency, verifyEntryInclusion, verifyTlogProof,
} from '../src/tlog/client.js';
import { cosigner, requireCosignatures } from '../src/tlog/cosignature.js';
import { attestationEntry } from '../src/tlog/entry.js';
import { ed25519Signer, ed25519Verifier } from '../src/tlog/note.js';
import { LocalLog } from '../src/tlog/storage.js';
import { TileReader } from '../src/tlog/tiles.js';
import { auditLog } from '../src/tlog/audit.js';
import { addCheckpoint, formatAddCheckpoint, parseAddCheckpoint, witnessLog, WitnessRefusal } from '../src/tlog/witness.js';

const ORIGIN = 'test.example/log';
const key = generateKeyPairSync('ed25519').privateKey;
const VKEY = ed25519Signer(ORIGIN, key).vkey;
const entry = (i: number) => attestationEntry(Buffer.from(`envelope ${i}`), { n: i });
const open = (dir: string) => LocalLog.open(dir, { origin: ORIGIN, signerKey: key });
const verifier = ed25519Verifier(VKEY);

async function fillLog(dir: string, from: number, to: number): Promise<string> {
  const log = await open(dir);
  for (let i = from; i < to; i += 100) await log.append(Array.from({ length: Math.min(100, to - i) }, (_, k) => entry(i + k)));
  const cp = log.checkpoint();
  log.close();
  return cp;
}

const rejects = async (p: Promise<unknown>, code: string, msg: RegExp) => {
  await assert.rejects(p, (e: unknown) => e instanceof AssayError && e.code === code && msg.test(e.message));
};

function get(url: string, path: string): Promise<number> {
  // Raw request so the path is sent exactly as written (fetch would normalise "..").
  return new Promise((ok, fail) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    });
    req.on('error', fail);
    req.end();
  });
}

test('serve a log over loopback HTTP; a client verifies checkpoint, inclusion, consistency from tiles alone', async () => {
  const dir = tmp('tlog-http-');
  const oldCp = await fillLog(dir, 0, 700);
  await fillLog(dir, 700, 1300);
  const s = await serve(dir);
  try {
    const src = logSource(s.url);
    const cp = await fetchCheckpoint(src, VKEY);
    assert.equal(cp.size, 1300);
    const r = await verifyEntryInclusion(src, cp, entry(777));
    assert.equal(r.index, 777);
    assert.equal((await verifyEntryInclusion(src, cp, entry(5), 5)).index, 5);
    await rejects(verifyEntryInclusion(src, cp, entry(5000)), 'NOT_IN_LOG', /not among the 1300 entries/);
    await verifyCheckpointConsistency(src, openCheckpoint(oldCp, [verifier]), cp);
    // The old checkpoint's tree can still be read: its partial tiles were replaced by full ones.
    const old = openCheckpoint(oldCp, [verifier]);
    assert.deepEqual(await new TileReader(src.fetch, old.size, {}, cp.size).root(), Buffer.from(old.root));
    // Offline proof: made over HTTP, verified with nothing but the log key.
    const { proof } = await proveFromSource(src, VKEY, 1234);
    const text = formatTlogProof(proof);
    assert.equal(verifyTlogProof(text, entry(1234), { logVkey: VKEY }).index, 1234);
    assert.throws(() => verifyTlogProof(text, entry(1235), { logVkey: VKEY }), /not proven included/);
    assert.throws(() => verifyTlogProof(text.replace('index 1234', 'index 1233'), entry(1234), { logVkey: VKEY }), /not proven included/);
    assert.throws(() => verifyTlogProof(text, entry(1234), { logVkey: ed25519Signer(ORIGIN, generateKeyPairSync('ed25519').privateKey).vkey }), /no signature from a known key/);
    // Only the checkpoint and tiles are served; traversal and private files are not.
    assert.equal(await get(s.url, '/checkpoint'), 200);
    assert.equal(await get(s.url, '/tile/0/000'), 200);
    // Entry bundles are served gzipped to clients that accept it; the audit reads them over HTTP.
    const gz = await fetch(new URL('tile/entries/000', s.url), { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    assert.deepEqual(Buffer.from(await gz.arrayBuffer()), readFileSync(join(dir, 'tile/entries/000')));
    const audit = await auditLog(src, VKEY, { checkpoints: [{ text: oldCp, source: 'old' }] });
    assert.deepEqual(audit.problems, []);
    assert.equal(audit.size, 1300);
    for (const p of ['/.assay-log.json', '/.writer.lock', '/.lock', '/../../etc/passwd', '/tile/0/../../checkpoint', '/tile/%2e%2e/checkpoint', '/tile/0/000/../../../x', '/tile/0/000.p/0', '/tile\\0\\000'])
      assert.equal(await get(s.url, p), 404, p);
  } finally {
    await s.close();
  }
});

test('split view: same size with different roots, or a later checkpoint that does not extend an earlier one', async () => {
  const a = tmp('tlog-fork-a-');
  await fillLog(a, 0, 500);
  const b = tmp('tlog-fork-b-');
  cpSync(a, b, { recursive: true });
  // The same log key signs two different continuations (a log that lies).
  const cpA = openCheckpoint(await fillLog(a, 500, 600), [verifier]);
  const bLog = await open(b);
  const cpB = openCheckpoint((await bLog.append(Array.from({ length: 100 }, (_, i) => entry(10_000 + i)))).checkpoint, [verifier]);
  const cpB2 = openCheckpoint((await bLog.append([entry(20_000)])).checkpoint, [verifier]);
  bLog.close();
  assert.equal(cpA.size, cpB.size);
  await rejects(verifyCheckpointConsistency(logSource(a), cpA, cpB), 'SPLIT_VIEW', /split view: log test\.example\/log signed two different trees of size 600/);
  await rejects(verifyCheckpointConsistency(logSource(b), cpA, cpB2), 'SPLIT_VIEW', /checkpoint of size 600 .* is not a prefix of checkpoint of size 601/);
  // Against its own history the forked log is consistent.
  await verifyCheckpointConsistency(logSource(b), cpB, cpB2);
});

test('witness: cosigns consistent checkpoints, refuses forks, rollbacks and same-size different roots', async () => {
  const a = tmp('tlog-wit-a-');
  const state = join(tmp('tlog-wit-state-'), 'state.json');
  const w = cosigner('witness.example', generateKeyPairSync('ed25519').privateKey);
  const cfg = { stateFile: state, cosigner: w, logs: new Map<string, string>(), logVkey: VKEY };
  await fillLog(a, 0, 300);
  const first = await witnessLog(logSource(a), cfg);
  assert.equal(first.oldSize, 0);
  assert.equal(requireCosignatures(first.cosigned, [w.vkey], 1).witnesses.length, 1);
  await fillLog(a, 300, 450);
  const second = await witnessLog(logSource(a), cfg);
  assert.equal(second.oldSize, 300);
  assert.equal(second.checkpoint.size, 450);
  assert.equal(JSON.parse(readFileSync(state, 'utf8')).logs[ORIGIN].size, 450);

  // A fork from size 300 (same first 300 entries, different continuation): first at the same
  // size 450 with another root, then at a larger size.
  const c = tmp('tlog-wit-c-');
  await fillLog(c, 0, 300);
  const cl = await open(c);
  const fork450 = (await cl.append(Array.from({ length: 150 }, (_, i) => entry(50_000 + i)))).checkpoint;
  cl.close();
  await assert.rejects(witnessLog(logSource(c), cfg), (e: unknown) => e instanceof WitnessRefusal && e.status === 422 && /split view: log test\.example\/log signed a second, different tree of size 450/.test(e.message));
  await fillLog(c, 50_150, 50_200);
  await assert.rejects(witnessLog(logSource(c), cfg), (e: unknown) => e instanceof WitnessRefusal && e.status === 422 && /inconsistent checkpoint: .* does not extend the tree of size 450/.test(e.message));
  // State did not move on refusal.
  assert.equal(JSON.parse(readFileSync(state, 'utf8')).logs[ORIGIN].size, 450);

  // Push protocol (add-checkpoint body), status codes as tlog-witness assigns them.
  const logs = new Map([[ORIGIN, VKEY]]);
  const req = (oldSize: number, note: string, proof: Uint8Array[] = []) => parseAddCheckpoint(formatAddCheckpoint({ oldSize, proof, note }));
  const status = async (f: () => Promise<unknown>) => {
    try {
      await f();
    } catch (e) {
      if (e instanceof WitnessRefusal) return e.status;
      throw e;
    }
    return 200;
  };
  const c300 = tmp('tlog-wit-d-');
  const small = await fillLog(c300, 0, 200);
  assert.equal(await status(() => addCheckpoint({ stateFile: state, cosigner: w, logs }, req(450, small))), 400); // old > new
  assert.equal(await status(() => addCheckpoint({ stateFile: state, cosigner: w, logs: new Map() }, req(450, fork450))), 404);
  assert.equal(await status(() => addCheckpoint({ stateFile: state, cosigner: w, logs: new Map([[ORIGIN, ed25519Signer(ORIGIN, generateKeyPairSync('ed25519').privateKey).vkey]]) }, req(450, fork450))), 403);
  assert.equal(await status(() => addCheckpoint({ stateFile: state, cosigner: w, logs }, req(100, fork450))), 409);
  assert.equal(await status(() => addCheckpoint({ stateFile: state, cosigner: w, logs }, req(0, small))), 409); // rollback to 200
  // Resubmitting the checkpoint it already cosigned is fine (same size, same root).
  assert.equal(await status(() => addCheckpoint({ stateFile: state, cosigner: w, logs }, req(450, second.checkpoint.noteText))), 200);
});

test('CLI: init, append, prove, verify offline and online, witness', { timeout: 300_000 }, async () => {
  const home = tmp('tlog-cli-home-');
  const work = tmp('tlog-cli-');
  const dir = join(work, 'log');
  const env = { ASSAY_HOME: home };
  const init = await cli(['log', 'init', dir, '--origin', 'cli.example/log'], env);
  assert.equal(init.code, 0, init.stderr);
  const vkey = init.stdout.trim();
  assert.match(vkey, /^cli\.example\/log\+[0-9a-f]{8}\+/);
  assert.doesNotMatch(init.stdout + init.stderr, /PRIVATE KEY/);
  writeFileSync(join(work, 'report.json'), '{"a":1}');
  const app = await cli(['log', 'append', dir, join(work, 'report.json')], env);
  assert.equal(app.code, 0, app.stderr);
  assert.match(app.stdout, /^0\tsha256:[0-9a-f]{64}\t/);
  const proof = join(work, 'proof.txt');
  assert.equal((await cli(['log', 'prove', dir, '--index', '0', '--out', proof], env)).code, 0);
  const off = await cli(['log', 'verify', '--vkey', vkey, '--proof', proof, '--entry-file', join(work, 'report.json')], env);
  assert.equal(off.code, 0, off.stderr);
  assert.match(off.stdout, /is entry 0 of cli\.example\/log at size 1 \(offline proof\)/);
  writeFileSync(join(work, 'report.json'), '{"a":2}');
  const bad = await cli(['log', 'verify', dir, '--vkey', vkey, '--entry-file', join(work, 'report.json')], env);
  assert.equal(bad.code, 6); // entry not in the log (distinct from usage, 2)
  assert.match(bad.stderr, /NOT_IN_LOG/);
  assert.equal((await cli(['log', 'verify', dir, '--vkey', vkey, '--index', 'x'], env)).code, 2);
  const wit = await cli(['log', 'witness', dir, '--state', join(work, 'w.json'), '--key', join(work, 'w.pem'), '--log-vkey', vkey, '--name', 'w.example', '--attach'], env);
  assert.equal(wit.code, 0, wit.stderr);
  const wvkey = /^(w\.example\+\S+)$/m.exec(wit.stderr)![1]!;
  const ok = await cli(['log', 'verify', dir, '--vkey', vkey, '--witness', wvkey, '--witnesses-required', '1'], env);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /cosigned by 1 of 1 witnesses/);
  const quorum = await cli(['log', 'verify', dir, '--vkey', vkey, '--witness', wvkey, '--witness', cosigner('w2.example', generateKeyPairSync('ed25519').privateKey).vkey, '--witnesses-required', '2'], env);
  assert.equal(quorum.code, 7, quorum.stderr);

  // Rollback: the log grows; presenting the newer checkpoint as the "old" one is refused (8).
  const cpOld = join(work, 'cp-1');
  writeFileSync(cpOld, readFileSync(join(dir, 'checkpoint')));
  writeFileSync(join(work, 'b.json'), '{"b":1}');
  assert.equal((await cli(['log', 'append', dir, join(work, 'b.json')], env)).code, 0);
  const cpNew = join(work, 'cp-2');
  writeFileSync(cpNew, readFileSync(join(dir, 'checkpoint')));
  const fwd = await cli(['log', 'verify', dir, '--vkey', vkey, '--old-checkpoint', cpOld], env);
  assert.equal(fwd.code, 0, fwd.stderr);
  assert.match(fwd.stdout, /extends the largest checkpoint seen \(size 1\)/);
  const copy = join(work, 'copy');
  cpSync(dir, copy, { recursive: true });
  writeFileSync(join(copy, 'checkpoint'), readFileSync(cpOld)); // an old copy of the log: size 1
  const back = await cli(['log', 'verify', copy, '--vkey', vkey, '--old-checkpoint', cpNew, '--seen-state', join(work, 'fresh-seen.json')], env);
  assert.equal(back.code, 8, back.stdout + back.stderr);
  assert.match(back.stderr, /ROLLBACK/);
  // The same old copy, with no --old-checkpoint: the state file of the largest seen catches it.
  const back2 = await cli(['log', 'verify', copy, '--vkey', vkey], env);
  assert.equal(back2.code, 8, back2.stdout + back2.stderr);
  assert.match(back2.stderr, /smaller than the size 2 this verifier has already seen/);

  // Tampering: log verify recomputes the root from the right-edge tiles; log audit every file.
  assert.equal((await cli(['log', 'audit', dir, '--vkey', vkey], env)).code, 0);
  const tile = join(dir, 'tile/0/000.p/2');
  const orig = readFileSync(tile);
  writeFileSync(tile, orig.subarray(0, 32)); // truncated
  const v1 = await cli(['log', 'verify', dir, '--vkey', vkey], env);
  assert.equal(v1.code, 5, v1.stdout + v1.stderr);
  writeFileSync(tile, orig);
  const bundle = join(dir, 'tile/entries/000.p/1');
  writeFileSync(bundle, Buffer.from(readFileSync(bundle).toString('latin1').replace('sha256:', 'sha256:'.toUpperCase()), 'latin1'));
  const au = await cli(['log', 'audit', dir, '--vkey', vkey], env);
  assert.equal(au.code, 5, au.stdout + au.stderr);
  assert.match(au.stdout, /CORRUPT tile\/entries\/000\.p\/1/);
});
