import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { attestRun, bundleText, cosignBundle, type ReportBundle } from '../src/attest/bundle.js';
import { generateSigner } from '../src/attest/keys.js';
import { logReport, reportEntry } from '../src/attest/tlog.js';
import { parseTrust, trustDocument, type TrustPolicy } from '../src/attest/trust.js';
import { EXIT, formatVerifyResult, verifyReport, type VerifyResult } from '../src/attest/verify.js';
import { AssayError } from '../src/common/errors.js';
import { formatTlogProof, parseTlogProof, serve, submitEntry } from '../src/tlog/client.js';
import { initLog, openConfiguredLog } from '../src/tlog/config.js';
import { attestationEntry } from '../src/tlog/entry.js';
import { cosigner } from '../src/tlog/cosignature.js';
import { ed25519Signer, parseNote, signNote } from '../src/tlog/note.js';
import { LocalLog } from '../src/tlog/storage.js';
import { serveWitness } from '../src/tlog/witness-http.js';
import { defaultRecords, header, writeRunLog } from './attest-fixture.js';
import { cli, tmp } from './helpers.js';

const tester = generateSigner();
const NOW = new Date('2026-06-01T00:00:00Z');
const ORIGIN = 'test.example/reports';

function newLog(origin = ORIGIN): { dir: string; vkey: string; keyFile: string } {
  const home = tmp('assay-tlog-att-');
  const dir = join(home, 'log');
  const keyFile = join(home, 'log.pem');
  const { config } = initLog(dir, origin, keyFile);
  return { dir, vkey: config.vkey, keyFile };
}

const trustWith = (logs: { vkey: string; witnesses?: string[]; witnessesRequired?: number }[]): TrustPolicy =>
  parseTrust(JSON.stringify(trustDocument({ testers: [{ name: 'Tester Lab', publicKey: tester.publicKey }], logs })), 'trust.json');

let runs = 0;
/** A report on a fresh run log (distinct run id, so distinct payload and log entry). */
const report = async (): Promise<ReportBundle> =>
  (await attestRun(writeRunLog(defaultRecords(), { header: header({ runId: `r-tlog-${++runs}` }) }), { signer: tester, testerName: 'Tester Lab', now: NOW })).bundle;
const bytes = (b: ReportBundle) => Buffer.from(bundleText(b));
const verify = (b: ReportBundle, trust: TrustPolicy, tlog: Parameters<typeof verifyReport>[1]['tlog'] = { require: true }) =>
  verifyReport(bytes(b), { trust, now: NOW, source: 'report.json', tlog });

const failedTlog = (r: VerifyResult, message: RegExp, exit: number = EXIT.tlog) => {
  assert.equal(r.ok, false, formatVerifyResult(r));
  assert.equal(r.exitCode, exit, formatVerifyResult(r));
  const f = r.failures.find((x) => x.check === 'tlog');
  assert.ok(f, formatVerifyResult(r));
  assert.match(f.message, message, formatVerifyResult(r));
};

/** A proof text with one line replaced. */
function editProof(b: ReportBundle, edit: (lines: string[]) => void): ReportBundle {
  const text = b.tlog!.proof;
  const split = text.indexOf('\n\n');
  const lines = text.slice(0, split).split('\n');
  edit(lines);
  return { ...b, tlog: { proof: `${lines.join('\n')}${text.slice(split)}` } };
}

test('a logged report carries a tlog-proof that verifies offline against the trusted log key', async () => {
  const log = newLog();
  const first = await logReport(await report(), { target: log.dir });
  assert.equal(first.index, 0);
  const second = await logReport(await report(), { target: log.dir }); // different run log → different payload
  assert.equal(second.index, 1);
  const p = parseTlogProof(second.bundle.tlog!.proof);
  assert.equal(p.index, 1);
  assert.match(p.checkpoint, new RegExp(`^${ORIGIN}\\n2\\n`));

  const r = await verify(second.bundle, trustWith([{ vkey: log.vkey }]));
  assert.equal(r.ok, true, formatVerifyResult(r));
  assert.deepEqual({ ...r.tlog, root: undefined }, { origin: ORIGIN, index: 1, size: 2, root: undefined, witnesses: [], consistentWith: [] });
  assert.match(formatVerifyResult(r), /transparency log test\.example\/reports: entry 1 of 2/);

  // Logging the same report again is idempotent: same entry, same index.
  assert.equal((await logReport(first.bundle, { target: log.dir })).index, 0);
  // The entry is recomputed from the signed payload alone.
  const payload = Buffer.from(first.bundle.payload, 'base64');
  const l = await openConfiguredLog(log.dir);
  assert.equal(l.size, 2);
  l.close();
  assert.deepEqual(JSON.parse(Buffer.from(reportEntry(payload, 'https://assay.dev/run-report/v1')).toString()).type, 'attestation');
});

test('co-signing after logging keeps the inclusion valid: the entry names the payload, not the envelope', async () => {
  const log = newLog();
  const { bundle } = await logReport(await report(), { target: log.dir });
  const cos = cosignBundle(bundle, generateSigner());
  const r = await verify(cos, trustWith([{ vkey: log.vkey }]));
  assert.equal(r.ok, true, formatVerifyResult(r));
  assert.equal(r.tlog?.index, 0);
});

test('tampered proofs, foreign checkpoints and untrusted logs fail with exit 17 and say why', async () => {
  const log = newLog();
  await logReport(await report(), { target: log.dir });
  const { bundle } = await logReport(await report(), { target: log.dir });
  const trust = trustWith([{ vkey: log.vkey }]);

  // An audit-path hash flipped.
  const flipped = editProof(bundle, (lines) => {
    const h = Buffer.from(lines[2]!, 'base64');
    h[0]! ^= 1;
    lines[2] = h.toString('base64');
  });
  failedTlog(await verify(flipped, trust), /not proven included at index 1 of checkpoint size 2/);
  // Another index.
  failedTlog(await verify(editProof(bundle, (lines) => (lines[1] = 'index 0')), trust), /not proven included at index 0/);
  // A proof about a different report: the entry is recomputed from this payload.
  const other = await report();
  failedTlog(await verify({ ...other, tlog: bundle.tlog }, trust), /not proven included/);
  // A checkpoint with the right origin signed by another key (a forged log).
  const forgedKey = generateKeyPairSync('ed25519').privateKey;
  const impostor = { vkey: ed25519Signer(ORIGIN, forgedKey).vkey };
  failedTlog(await verify(bundle, trustWith([impostor])), /signature|signed|verif/i);
  // Garbage in the slot.
  failedTlog(await verify({ ...bundle, tlog: { proof: 'not a proof' } }, trust), /first line must be "c2sp\.org\/tlog-proof@v1"|blank line/);
  failedTlog(await verify({ ...bundle, tlog: 42 as never }, trust), /must be null or an object/);

  // A log not in the trust file: a warning normally, a failure when a log is required.
  const lax = await verify(bundle, trustWith([]), { require: false });
  assert.equal(lax.ok, true, formatVerifyResult(lax));
  assert.equal(lax.tlog, null);
  assert.match(lax.warnings.join('\n'), /log "test\.example\/reports", which the trust file does not list/);
  failedTlog(await verify(bundle, trustWith([])), /does not list/);
  // No proof at all.
  failedTlog(await verify({ ...bundle, tlog: null }, trust), /carries no transparency-log inclusion proof/);
  const none = await verify({ ...bundle, tlog: null }, trust, { require: false });
  assert.equal(none.ok, true, formatVerifyResult(none));
});

test('witness policy from the trust file: k of n cosignatures on the proof checkpoint', async () => {
  const log = newLog();
  const { bundle } = await logReport(await report(), { target: log.dir });
  // A real witness key (cosignature type 0x04) that has not cosigned this checkpoint: quorum not met.
  const w1 = cosigner('witness.example/w1', generateKeyPairSync('ed25519').privateKey);
  const w2 = cosigner('witness.example/w2', generateKeyPairSync('ed25519').privateKey);
  const policy = (k: number) => trustWith([{ vkey: log.vkey, witnesses: [w1.vkey, w2.vkey], witnessesRequired: k }]);
  failedTlog(await verify(bundle, policy(1)), /valid cosignatures from 0 of the required 1 witnesses/);
  // The same proof with w1's cosignature added to its checkpoint: 1 of 2 passes, 2 of 2 does not.
  const text = bundle.tlog!.proof;
  const split = text.indexOf('\n\n');
  const note = parseNote(text.slice(split + 2));
  const cosigned: ReportBundle = { ...bundle, tlog: { proof: `${text.slice(0, split)}\n\n${signNote(note.text, [w1], note.sigs)}` } };
  const ok = await verify(cosigned, policy(1));
  assert.equal(ok.ok, true, formatVerifyResult(ok));
  assert.deepEqual(ok.tlog?.witnesses, ['witness.example/w1']);
  failedTlog(await verify(cosigned, policy(2)), /1 of the required 2 witnesses \(witness\.example\/w1\); missing: witness\.example\/w2/);
  assert.throws(
    () => trustWith([{ vkey: log.vkey, witnesses: [], witnessesRequired: 1 }]),
    (e: unknown) => e instanceof AssayError && /logs\[0\]\.witnessesRequired/.test(e.message) && /requires 1 witnesses but lists 0/.test(e.message),
  );
  assert.throws(() => trustWith([{ vkey: 'not a vkey' }]), (e: unknown) => e instanceof AssayError && /logs\[0\]\.vkey/.test(e.message));
});

test('newer checkpoints: consistency proven from the tiles; a split view or fork is caught', async () => {
  const log = newLog();
  const { bundle } = await logReport(await report(), { target: log.dir });
  const trust = trustWith([{ vkey: log.vkey }]);
  // The log grows; the proof's checkpoint (size 1) must be a prefix of the current one.
  const l = await openConfiguredLog(log.dir);
  await l.append(Array.from({ length: 300 }, (_, i) => attestationEntry(Buffer.from(`other ${i}`))));
  const newer = l.checkpoint();
  l.close();
  const ok = await verify(bundle, trust, { require: true, log: log.dir, checkpoints: [{ text: newer, source: 'witness.cp' }] });
  assert.equal(ok.ok, true, formatVerifyResult(ok));
  assert.deepEqual(ok.tlog?.consistentWith, [{ source: 'witness.cp', size: 301 }, { source: log.dir, size: 301 }]);
  // Without the log, a newer checkpoint of another size cannot be proven: a warning, not a pass claim.
  const offline = await verify(bundle, trust, { require: true, checkpoints: [{ text: newer, source: 'witness.cp' }] });
  assert.equal(offline.ok, true);
  assert.deepEqual(offline.tlog?.consistentWith, []);
  assert.match(offline.warnings.join('\n'), /pass --log/);

  // A fork: the same key signs a different tree of size 1 (split view at equal size) …
  const { keyFile } = log;
  const forkDir = join(tmp('assay-fork-'), 'log');
  const key = (await import('../src/tlog/keyfile.js')).loadPrivateKey(keyFile);
  const fork = await LocalLog.open(forkDir, { origin: ORIGIN, signerKey: key });
  await fork.append([attestationEntry(Buffer.from('a different first entry'))]);
  const forkCp1 = fork.checkpoint();
  await fork.append(Array.from({ length: 300 }, (_, i) => attestationEntry(Buffer.from(`fork ${i}`))));
  fork.close();
  failedTlog(await verify(bundle, trust, { require: true, checkpoints: [{ text: forkCp1, source: 'fork.cp' }] }), /split view: log test\.example\/reports signed two different trees of size 1/);
  // … and a later checkpoint from the forked log is not an extension of the proof's tree.
  failedTlog(await verify(bundle, trust, { require: true, log: forkDir }), /split view: checkpoint of size 1 .* is not a prefix of checkpoint of size 301/);
  // A checkpoint with a bad signature is named by its source.
  const bad = newer.replace(/\n— (\S+) (\S+)\n/, (_m, n, s: string) => `\n— ${n} ${Buffer.from(Buffer.from(s, 'base64').map((x, i) => (i === 10 ? x ^ 1 : x))).toString('base64')}\n`);
  const r = await verify(bundle, trust, { require: true, checkpoints: [{ text: bad, source: 'bad.cp' }] });
  failedTlog(r, /./);
  assert.equal(r.failures[0]!.where, 'bad.cp');
});

test('remote log: entries submitted over HTTP with a bearer token; hostile submissions are refused and nothing is appended', async () => {
  const log = newLog();
  const writer = await openConfiguredLog(log.dir);
  const token = 'a-long-enough-test-token-0123456789';
  const s = await serve(log.dir, { submit: { log: writer, token } });
  try {
    const { bundle, index } = await logReport(await report(), { target: s.url, vkey: log.vkey, token });
    assert.equal(index, 0);
    const r = await verify(bundle, trustWith([{ vkey: log.vkey }]), { require: true, log: s.url });
    assert.equal(r.ok, true, formatVerifyResult(r));

    const refused = async (p: Promise<unknown>, re: RegExp) => assert.rejects(p, (e: unknown) => e instanceof AssayError && e.code === 'LOG_SUBMIT' && re.test(e.message));
    const entry = attestationEntry(Buffer.from('x'));
    await refused(submitEntry(s.url, entry, 'wrong-token-wrong-token-wrong-token'), /HTTP 401/);
    await refused(submitEntry(s.url, Buffer.from('{"schema":"assay.tlog-entry/v1"}'), token), /HTTP 400/);
    await refused(submitEntry(s.url, Buffer.from(' ' + Buffer.from(entry).toString()), token), /HTTP 400/); // not canonical
    await refused(submitEntry(s.url, new Uint8Array(70_000), token), /HTTP 413/);
    await writer.refresh();
    assert.equal(writer.size, 1, 'refused submissions append nothing');
    // A remote log without its key or token is a usage error, before anything is sent.
    await assert.rejects(logReport(bundle, { target: s.url, token }), (e: unknown) => e instanceof AssayError && e.code === 'USAGE' && /--log-vkey/.test(e.message));
    await assert.rejects(logReport(bundle, { target: s.url, vkey: log.vkey }), (e: unknown) => e instanceof AssayError && e.code === 'USAGE' && /token/.test(e.message));
  } finally {
    await s.close();
    writer.close();
  }
  // Reads stay plain files: the proof can be rebuilt from the directory alone.
  assert.ok(existsSync(join(log.dir, 'checkpoint')));
});

test('CLI: attest --log, trust add-log, verify --require-log / --log / --checkpoint with exit codes', { timeout: 300_000 }, async () => {
  const home = tmp('assay-tlog-cli-');
  const env = { ASSAY_HOME: home };
  const runLog = writeRunLog();
  const logDir = join(home, 'pub');
  const init = await cli(['log', 'init', logDir, '--origin', 'cli.example/log'], env);
  assert.equal(init.code, 0, init.stderr);
  const vkey = init.stdout.trim();
  assert.equal((await cli(['keys', 'generate', '--name', 'lab'], env)).code, 0);
  const att = await cli(['attest', runLog, '--log', logDir, '--out', join(home, 'r.json')], env);
  assert.equal(att.code, 0, att.stderr);
  assert.match(att.stdout, /logged as entry 0 of cli\.example\/log \(checkpoint size 1\)/);
  const trustFile = join(home, 't.json');
  assert.equal((await cli(['trust', 'add', 'lab', '--name', 'Lab', '--file', trustFile], env)).code, 0);

  // Trusted tester, log not yet trusted: --require-log fails with 17.
  let v = await cli(['verify', join(home, 'r.json'), '--trust', trustFile, '--require-log'], env);
  assert.equal(v.code, 17, v.stdout + v.stderr);
  assert.match(v.stdout, /does not list/);
  const add = await cli(['trust', 'add-log', vkey, '--file', trustFile], env);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /log cli\.example\/log trusted/);
  v = await cli(['verify', join(home, 'r.json'), '--trust', trustFile, '--require-log', '--log', logDir, '--checkpoint', join(logDir, 'checkpoint')], env);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /transparency log cli\.example\/log: entry 0 of 1; consistent with .*checkpoint \(size 1\); consistent with .*pub \(size 1\)/);

  // A tampered proof in the file: exit 17.
  const doc = JSON.parse(readFileSync(join(home, 'r.json'), 'utf8')) as { tlog: { proof: string } };
  doc.tlog.proof = doc.tlog.proof.replace(/\nindex 0\n/, '\nindex 3\n');
  writeFileSync(join(home, 'bad.json'), JSON.stringify(doc));
  v = await cli(['verify', join(home, 'bad.json'), '--trust', trustFile], env);
  assert.equal(v.code, 17, v.stdout);
  assert.match(v.stdout, /FAIL \[tlog, exit 17\] .*bad\.json: tlog\.proof: entry is not proven included at index 3/);

  // Witnesses through the CLI: two push-mode witnesses, a 2-of-2 trust policy. The report logged
  // without them fails the policy until `report refresh-proof` gets both cosignatures.
  const ws = ['w1.example', 'w2.example'].map((n) => cosigner(n, generateKeyPairSync('ed25519').privateKey));
  const served = await Promise.all(ws.map((w, i) => serveWitness({ stateFile: join(home, `w${i}.json`), cosigner: w, logs: new Map([['cli.example/log', vkey]]) })));
  try {
    const t2 = join(home, 't2.json');
    assert.equal((await cli(['trust', 'add', 'lab', '--name', 'Lab', '--file', t2], env)).code, 0);
    const addW = await cli(['trust', 'add-log', vkey, '--file', t2, ...ws.flatMap((w) => ['--witness', w.vkey])], env);
    assert.equal(addW.code, 0, addW.stderr);
    v = await cli(['verify', join(home, 'r.json'), '--trust', t2, '--require-log'], env);
    assert.equal(v.code, 17, v.stdout);
    const ref = await cli(['report', 'refresh-proof', join(home, 'r.json'), '--log', logDir, ...served.flatMap((x) => ['--witness-url', x.url])], env);
    assert.equal(ref.code, 0, ref.stdout + ref.stderr);
    assert.match(ref.stdout, /entry 0 of cli\.example\/log, proof now against checkpoint size 1 \(was 1; consistency proven\), 2 cosignature\(s\)/);
    v = await cli(['verify', join(home, 'r.json'), '--trust', t2, '--require-log', '--log', logDir], env);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /cosigned by w1\.example, w2\.example|cosigned by w2\.example, w1\.example/);
    const att2 = await cli(['attest', writeRunLog(defaultRecords(), { header: header({ runId: 'r-cli-wit' }) }), '--log', logDir, '--out', join(home, 'r2.json'), ...served.flatMap((x) => ['--witness-url', x.url])], env);
    assert.equal(att2.code, 0, att2.stderr);
    assert.equal((await cli(['verify', join(home, 'r2.json'), '--trust', t2, '--require-log'], env)).code, 0);

    // The tester retires its key in the log: the earlier reports stand, a later one fails (11).
    const ret = await cli(['keys', 'retire', 'lab', '--log', logDir], env);
    assert.equal(ret.code, 0, ret.stderr);
    assert.match(ret.stdout, /revoked at entry 2 of cli\.example\/log/);
    const att3 = await cli(['attest', writeRunLog(defaultRecords(), { header: header({ runId: 'r-cli-late' }) }), '--log', logDir, '--out', join(home, 'r3.json')], env);
    assert.equal(att3.code, 0, att3.stderr);
    assert.equal((await cli(['verify', join(home, 'r2.json'), '--trust', trustFile, '--log', logDir], env)).code, 0);
    const late = await cli(['verify', join(home, 'r3.json'), '--trust', trustFile, '--log', logDir], env);
    assert.equal(late.code, 11, late.stdout);
    assert.match(late.stdout, /revoked by entry 2 of log cli\.example\/log, before this report's entry 3/);
  } finally {
    await Promise.all(served.map((x) => x.close()));
  }
});

test('the demo runs end to end on a fresh home: results table, signed report, logged and verified offline', async () => {
  const home = tmp('assay-demo-');
  const r = await cli(['demo', '--latency', '2'], { ASSAY_HOME: home });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SIMULATED target/);
  assert.match(r.stdout, /^accuracy\s+0\.\d+ \[0\.\d+, 0\.\d+\] (clopper-pearson|korn-graubard)\s+(n=)?200\s/m);
  assert.match(r.stdout, /transparency log assay\.local\/demo-log: entry 0 of 1/);
  // The screen of the example two-stage policy on this run, with its stage-2 plan when it escalates.
  assert.match(r.stdout, /^demo\.screen-accuracy\s+screen\s+demo\.arithmetic:accuracy\s+0\.\d+ \[0\.\d+, 0\.\d+\]\s+200\s+≥ 0\.8\s+(inconclusive|rule-in|rule-out)[ \t]*$/m);
  assert.match(r.stdout, /^SCREEN: (ESCALATE to stage 2|CLEARED|THRESHOLD CROSSED)/m);
  assert.match(r.stdout, /run log .*: checked file digest, header facts, transcript root, counts and metrics/);
  assert.match(r.stdout, /^\s+VERIFIED$/m);
  // The suggested verify command works as printed.
  const next = /assay (verify .*)$/m.exec(r.stdout)![1]!.split(' ');
  const v = await cli(next, { ASSAY_HOME: home });
  assert.equal(v.code, 0, v.stdout + v.stderr);
  // The log directory can be served and verified from elsewhere (a plain static copy).
  const again = await cli(['demo', '--latency', '2'], { ASSAY_HOME: home });
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /entry 1 of 2/);
});

test('a run the engine found to be against the simulated target is reported and verified as simulated', async () => {
  const path = writeRunLog(defaultRecords(), { header: header({ runId: 'r-sim-event' }) });
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.splice(2, 0, JSON.stringify({ type: 'event', at: '2026-01-02T03:04:30.000Z', kind: 'simulated', detail: { reason: 'responses carry x-assay-simulated: true' } }));
  writeFileSync(path, lines.join('\n'));
  const { bundle, statement } = await attestRun(path, { signer: tester, testerName: 'Tester Lab', now: NOW });
  assert.equal(statement.predicate.model.simulated, true);
  const r = await verifyReport(bytes(bundle), { trust: trustWith([]), runLogPath: path, now: NOW });
  assert.equal(r.ok, true, formatVerifyResult(r));
  assert.match(formatVerifyResult(r), /\(SIMULATED target\)/);
});

test('rollback: a copy of the log older than the proof fails; with the largest-seen state a smaller current tree fails, and an older report still passes by a consistency proof', async () => {
  const log = newLog();
  const early = await logReport(await report(), { target: log.dir }); // entry 0, checkpoint size 1
  const copyDir = join(tmp('assay-rollback-'), 'log');
  const { cpSync } = await import('node:fs');
  cpSync(log.dir, copyDir, { recursive: true }); // the log as it was at size 1
  const l = await openConfiguredLog(log.dir);
  await l.append(Array.from({ length: 300 }, (_, i) => attestationEntry(Buffer.from(`filler ${i}`))));
  const late = await logReport(await report(), { target: log.dir }); // entry 301, size 302
  const trust = trustWith([{ vkey: log.vkey }]);

  // The old copy does not contain the late report: its tree is smaller than the proof's.
  failedTlog(await verify(late.bundle, trust, { require: true, log: copyDir }), /rollback: .* presents a tree of size 1, smaller than the earlier checkpoint of size 302/);

  // With the state file: the real log is seen at size 302 …
  const seenFile = join(tmp('assay-seen-'), 'seen.json');
  const ok = await verify(late.bundle, trust, { require: true, log: log.dir, seenFile });
  assert.equal(ok.ok, true, formatVerifyResult(ok));
  assert.deepEqual(ok.tlog?.seen, { size: 302, proven: true });
  // … so the old copy, presented later as the log's current tree, fails even for the early
  // report (which it does contain).
  failedTlog(await verify(early.bundle, trust, { require: true, log: copyDir, seenFile }), /rollback: log test\.example\/reports presents a tree of size 1, smaller than the size 302 this verifier has already seen/);
  // The early report against the real log: its proof names size 1, proven consistent with 302.
  const old = await verify(early.bundle, trust, { require: true, log: log.dir, seenFile });
  assert.equal(old.ok, true, formatVerifyResult(old));
  // Offline (no log to build the proof from): passes its own inclusion, with a warning.
  const offline = await verify(early.bundle, trust, { require: true, seenFile });
  assert.equal(offline.ok, true, formatVerifyResult(offline));
  assert.match(offline.warnings.join('\n'), /not checked against the largest this verifier has seen \(size 302\)/);
});
