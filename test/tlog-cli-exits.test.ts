import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultRecords, header, writeRunLog } from './attest-fixture.js';
import { cli, tmp } from './helpers.js';
import { ed25519Signer } from '../src/tlog/note.js';

/**
 * Routes the first hardening pass did not cover: `assay log witness` on a log that shrank is a
 * rollback (exit 8, not the witness-refused 7), and checkpoint / vkey files given to `assay
 * verify --checkpoint` and `assay log … --vkey <file>` are read with a bound, refused unread
 * beyond it (a 50 MB planted file used to be read whole).
 */
test('CLI: log witness on a rolled-back copy exits 8 (fork/rollback); oversized --checkpoint, --vkey and report files are refused unread; an OS error on the log exits 3', { timeout: 120_000 }, async () => {
  const home = tmp('tlog-exits-home-');
  const work = tmp('tlog-exits-');
  const dir = join(work, 'log');
  const env = { ASSAY_HOME: home };
  const init = await cli(['log', 'init', dir, '--origin', 'exits.example/log'], env);
  assert.equal(init.code, 0, init.stderr);
  const vkey = init.stdout.trim();
  writeFileSync(join(work, 'a.json'), '{"a":1}');
  writeFileSync(join(work, 'b.json'), '{"b":1}');
  assert.equal((await cli(['log', 'append', dir, join(work, 'a.json')], env)).code, 0);
  const copy = join(work, 'copy'); // the log at size 1
  cpSync(dir, copy, { recursive: true });
  assert.equal((await cli(['log', 'append', dir, join(work, 'b.json')], env)).code, 0);
  const w = ['--state', join(work, 'w.json'), '--key', join(work, 'w.pem'), '--log-vkey', vkey, '--name', 'w.example'];
  const first = await cli(['log', 'witness', dir, ...w], env);
  assert.equal(first.code, 0, first.stderr);
  const back = await cli(['log', 'witness', copy, ...w], env);
  assert.equal(back.code, 8, back.stdout + back.stderr);
  assert.match(back.stderr, /WITNESS_ROLLBACK.*smaller than the size 2 this witness already cosigned/);

  // A 50 MB "checkpoint" (sparse): refused by size, exit 2, before any of it is parsed.
  const big = join(work, 'big.cp');
  writeFileSync(big, readFileSync(join(dir, 'checkpoint')));
  truncateSync(big, 50 * 1024 * 1024);
  writeFileSync(join(work, 'report.json'), '{}');
  const v = await cli(['verify', join(work, 'report.json'), '--checkpoint', big], env);
  assert.equal(v.code, 2, v.stdout + v.stderr);
  assert.match(v.stderr, /--checkpoint: file is larger than 65536 bytes/);
  // A 50 MB report: refused unchecked (13) after reading just past the 16 MiB cap.
  const bigReport = join(work, 'big-report.json');
  writeFileSync(bigReport, '{"payload":"');
  truncateSync(bigReport, 50 * 1024 * 1024);
  const rep = await cli(['verify', bigReport], env);
  assert.equal(rep.code, 13, rep.stdout + rep.stderr);
  assert.match(rep.stdout, /report is larger than 16777216 bytes; refused unchecked/);
  const bigKey = join(work, 'big.vkey');
  writeFileSync(bigKey, vkey);
  truncateSync(bigKey, 50 * 1024 * 1024);
  const k = await cli(['log', 'verify', dir, '--vkey', bigKey], env);
  assert.equal(k.code, 2, k.stdout + k.stderr);
  assert.match(k.stderr, /larger than 4096 bytes/);

  // An operating-system error on the log (here `tile` is a file, not a directory): exit 3 in
  // one line, not a stack trace and exit 1.
  rmSync(join(copy, 'tile'), { recursive: true });
  writeFileSync(join(copy, 'tile'), 'x');
  const io = await cli(['log', 'append', copy, join(work, 'b.json')], env);
  assert.equal(io.code, 3, io.stdout + io.stderr);
  assert.match(io.stderr, /^assay: error \[IO\]: ENOTDIR/);
  assert.doesNotMatch(io.stderr, /\n\s+at /);
});

test('CLI: concurrent `assay attest --log` processes on one log all wait their turn and succeed; the log audits clean', { timeout: 180_000 }, async () => {
  const home = tmp('tlog-conc-attest-');
  const env = { ASSAY_HOME: home };
  const logDir = join(home, 'pub');
  const init = await cli(['log', 'init', logDir, '--origin', 'conc-attest.example/log'], env);
  assert.equal(init.code, 0, init.stderr);
  assert.equal((await cli(['keys', 'generate', '--name', 'lab'], env)).code, 0);
  const runs = Array.from({ length: 4 }, (_, i) => writeRunLog(defaultRecords(), { header: header({ runId: `r-conc-attest-${i}` }) }));
  const res = await Promise.all(runs.map((r, i) => cli(['attest', r, '--log', logDir, '--out', join(home, `r${i}.json`)], env)));
  res.forEach((r, i) => assert.equal(r.code, 0, `attest ${i}: ${r.stdout}${r.stderr}`));
  const indices = res.map((r) => Number(/logged as entry (\d+) /.exec(r.stdout)![1])).sort((a, b) => a - b);
  assert.deepEqual(indices, [0, 1, 2, 3]);
  const audit = await cli(['log', 'audit', logDir, '--vkey', init.stdout.trim()], env);
  assert.equal(audit.code, 0, audit.stdout + audit.stderr);
  assert.match(audit.stdout, /4 entries/);
});

test('CLI: concurrent `assay trust add-log` / `trust add` edits of one trust file all land (read-modify-write under the shared lock)', { timeout: 120_000 }, async () => {
  const home = tmp('trust-conc-');
  const env = { ASSAY_HOME: home };
  const file = join(home, 'trust.json');
  const vkeys = Array.from({ length: 4 }, (_, i) => ed25519Signer(`log${i}.example/log`, generateKeyPairSync('ed25519').privateKey).vkey);
  const pems = Array.from({ length: 2 }, (_, i) => {
    const f = join(home, `t${i}.pem`);
    writeFileSync(f, generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }));
    return f;
  });
  const res = await Promise.all([
    ...vkeys.map((v) => cli(['trust', 'add-log', v, '--file', file], env)),
    ...pems.map((p, i) => cli(['trust', 'add', p, '--name', `Lab ${i}`, '--file', file], env)),
  ]);
  res.forEach((r, i) => assert.equal(r.code, 0, `edit ${i}: ${r.stdout}${r.stderr}`));
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { logs: { vkey: string }[]; testers: unknown[] };
  assert.deepEqual(doc.logs.map((l) => l.vkey).sort(), [...vkeys].sort());
  assert.equal(doc.testers.length, 2);
});
