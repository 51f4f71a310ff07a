import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { attestRun, bundleText, cosignBundle, type ReportBundle } from '../src/attest/bundle.js';
import { canonicalJson } from '../src/common/canonical.js';
import { digestOfFile } from '../src/attest/digest.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../src/attest/dsse.js';
import { exportPublicJwk, generateSigner, type Signer } from '../src/attest/keys.js';
import { buildRunReport, statementBytes, type RunReportStatement } from '../src/attest/statement.js';
import { emptyTrust, issueAccreditation, parseTrust, trustDocument, type TrustPolicy } from '../src/attest/trust.js';
import { EXIT, formatVerifyResult, verifyReport, type VerifyResult } from '../src/attest/verify.js';
import { defaultRecords, header, sample, writeRunLog } from './attest-fixture.js';

const tester = generateSigner();
const developer = generateSigner();
const stranger = generateSigner();
const bodyA = generateSigner();
const bodyB = generateSigner();
const NOW = new Date('2026-06-01T00:00:00Z');

const trustTester = (): TrustPolicy => parseTrust(JSON.stringify(trustDocument({ testers: [{ name: 'Tester Lab', publicKey: tester.publicKey }] })), 'trust.json');
const bytes = (b: ReportBundle) => Buffer.from(bundleText(b));

async function report(logPath: string, signer: Signer = tester): Promise<ReportBundle> {
  return (await attestRun(logPath, { signer, testerName: 'Tester Lab', now: NOW })).bundle;
}

/** Re-signs a statement edited by `edit` (the tester signing false claims). */
function resign(st: RunReportStatement, edit: (s: RunReportStatement) => void, signer: Signer = tester): ReportBundle {
  const copy = JSON.parse(JSON.stringify(st)) as RunReportStatement;
  edit(copy);
  const env = signEnvelope(IN_TOTO_PAYLOAD_TYPE, statementBytes(copy), [signer]);
  return { ...env, publicKeys: [], accreditations: [], tlog: null };
}

const failed = (r: VerifyResult, exit: number, where: RegExp, message?: RegExp) => {
  assert.equal(r.ok, false, formatVerifyResult(r));
  assert.equal(r.exitCode, exit, formatVerifyResult(r));
  const f = r.failures[0]!;
  assert.match(f.where, where, formatVerifyResult(r));
  if (message) assert.match(f.message, message, formatVerifyResult(r));
};

test('a fresh report verifies offline, with the run log recomputed', async () => {
  const log = writeRunLog();
  const b = await report(log);
  const r = await verifyReport(bytes(b), { trust: trustTester(), runLogPath: log, now: NOW, source: 'report.json' });
  assert.equal(r.ok, true, formatVerifyResult(r));
  assert.equal(r.exitCode, EXIT.ok);
  assert.deepEqual(r.runLog?.checked, ['file digest', 'header facts', 'transcript root', 'counts and metrics']);
  const s = r.signatures[0]!;
  assert.equal(s.keyId, tester.keyId);
  assert.equal(s.role, 'tester');
  assert.deepEqual(s.trust, { trusted: true, how: 'direct', entry: 'Tester Lab' });
  const p = r.statement!.predicate;
  assert.deepEqual(p.counts, { records: 6, samples: 6, scored: 4, unscored: 1, errored: 1 });
  assert.equal(p.metrics[0]!.mean, 0.75);
  assert.equal(p.metrics[0]!.n, 4);
  assert.deepEqual(p.metrics[0]!.counts, { scored: 4, unscored: 1, errored: 1 });
  assert.equal(p.transcripts.size, 6);
  assert.equal(p.run.status, 'completed');
  assert.equal(p.model.releaseStatement, null);
  assert.equal(p.policy, null);
  assert.deepEqual(r.statement!.subject.map((x) => x.name), ['assay/run-log', 'assay/suite', 'assay/model']);
  assert.equal(r.statement!.subject[0]!.digest.sha256, (await digestOfFile(log)).sha256);
  assert.match(formatVerifyResult(r), /VERIFIED\n$/);
});

test('the signed payload is the RFC 8785 form of the statement', async () => {
  const log = writeRunLog();
  const st = await buildRunReport(log, { tester: { name: 'T', keyId: tester.keyId }, now: NOW });
  const b = await report(log);
  const payload = Buffer.from(b.payload, 'base64').toString('utf8');
  assert.equal(payload, canonicalJson(JSON.parse(payload)));
  // Same log, same options, same time: byte-identical statement (order of records in the file does not matter).
  assert.equal(canonicalJson(st), canonicalJson({ ...JSON.parse(payload), predicate: { ...JSON.parse(payload).predicate, tester: { name: 'T', keyId: tester.keyId } } }));
  const shuffled = writeRunLog([...defaultRecords()].reverse());
  const st2 = await buildRunReport(shuffled, { tester: { name: 'T', keyId: tester.keyId }, now: NOW });
  assert.equal(st2.predicate.transcripts.root, st.predicate.transcripts.root, 'root is independent of completion order');
  assert.deepEqual(st2.predicate.metrics, st.predicate.metrics);
});

test('a valid signature by a key not in the trust file fails (11), naming the key', async () => {
  const log = writeRunLog();
  const b = await report(log, stranger);
  const r = await verifyReport(bytes(b), { trust: trustTester(), now: NOW });
  failed(r, EXIT.untrusted, /signatures\[0\]/, new RegExp(`key ${stranger.keyId} is not in the trust file trust\\.json`));
  assert.equal(r.signatures[0]!.valid, true, 'the signature itself is fine');
  const none = await verifyReport(bytes(b), { trust: emptyTrust(), now: NOW });
  assert.equal(none.exitCode, EXIT.untrusted);
});

test('co-signatures: the developer acknowledges receipt over the same bytes', async () => {
  const log = writeRunLog();
  const b = cosignBundle(await report(log), developer);
  assert.equal(b.signatures.length, 2);
  assert.equal(b.publicKeys.length, 2);
  // Not in the trust file: reported, not required.
  const r1 = await verifyReport(bytes(b), { trust: trustTester(), runLogPath: log, now: NOW });
  assert.equal(r1.ok, true, formatVerifyResult(r1));
  assert.equal(r1.signatures[1]!.role, 'co-signer');
  assert.equal(r1.signatures[1]!.trust?.trusted, false);
  assert.match(r1.warnings.join('\n'), /co-signature 1 .* is valid but not trusted/);
  // Recognised developer key.
  const trust = parseTrust(JSON.stringify(trustDocument({ testers: [{ name: 'Tester Lab', publicKey: tester.publicKey }], cosigners: [{ name: 'Model Dev', publicKey: developer.publicKey, role: 'developer' }] })));
  const r2 = await verifyReport(bytes(b), { trust, now: NOW });
  assert.deepEqual(r2.signatures[1]!.trust, { trusted: true, how: 'direct-cosigner', entry: 'Model Dev', role: 'developer' });
  // A developer signature alone does not make a report: the tester named in it must sign.
  const onlyDev = { ...b, signatures: [b.signatures[1]!] };
  const r3 = await verifyReport(bytes(onlyDev), { trust, now: NOW });
  failed(r3, EXIT.badSignature, /tester\.keyId/, /did not sign it/);
  // A broken co-signature does not count, and does not undo the tester's valid signature: it is
  // reported as unverifiable (anyone can append a signature; it adds no claim).
  const bad = Buffer.from(b.signatures[1]!.sig, 'base64');
  bad[10] = bad[10]! ^ 1;
  const broken = { ...b, signatures: [b.signatures[0]!, { ...b.signatures[1]!, sig: bad.toString('base64') }] };
  const r4 = await verifyReport(bytes(broken), { trust, now: NOW });
  assert.equal(r4.ok, true, formatVerifyResult(r4));
  assert.equal(r4.signatures[1]!.valid, false);
  assert.match(r4.warnings.join('\n'), /signatures\[1\]\.sig: signature 1 does not verify under key .*; unverifiable, so it counts for nothing/);
  // With the tester's signature broken too, every unverifiable signature is a failure (10).
  const both = { ...broken, signatures: [{ ...b.signatures[0]!, sig: bad.toString('base64') }, broken.signatures[1]!] };
  failed(await verifyReport(bytes(both), { trust, now: NOW }), EXIT.badSignature, /signatures\[0\]\.sig/, /does not verify under key/);
});

test('bounded verification: junk signatures appended by anyone leave an authentic report verified; over the caps it is refused unchecked (13) in a few lines', async () => {
  const log = writeRunLog();
  const b = await report(log);
  const trust = trustTester();
  const junk = (i: number) => ({ keyid: i % 2 ? tester.keyId : `junk-${i}`, sig: Buffer.alloc(64, i).toString('base64') });
  const stranger = generateSigner();
  const hint = { keyid: stranger.keyId, jwk: exportPublicJwk(stranger.publicKey) };
  // Up to the caps: 15 junk signatures (half claiming the tester's key id) and 16 key hints.
  const padded = { ...b, signatures: [...Array.from({ length: 7 }, (_, i) => junk(i)), b.signatures[0]!, ...Array.from({ length: 8 }, (_, i) => junk(100 + i))], publicKeys: Array.from({ length: 16 }, () => hint) };
  const ok = await verifyReport(bytes(padded), { trust, now: NOW });
  assert.equal(ok.ok, true, formatVerifyResult(ok));
  assert.equal(ok.signatures.filter((s) => s.valid).length, 1);
  assert.equal(ok.warnings.filter((w) => /unverifiable/.test(w)).length, 15);
  // Beyond them: 20,000 junk signatures, or 400 signatures × 400 key hints.
  for (const [name, bundle] of [
    ['20,000 signatures', { ...b, signatures: [b.signatures[0]!, ...Array.from({ length: 20_000 }, (_, i) => junk(i))] }],
    ['400 × 400', { ...b, signatures: [b.signatures[0]!, ...Array.from({ length: 399 }, (_, i) => junk(i))], publicKeys: Array.from({ length: 400 }, () => hint) }],
    ['17 key hints', { ...b, publicKeys: Array.from({ length: 17 }, () => hint) }],
    ['17 accreditations', { ...b, accreditations: Array.from({ length: 17 }, () => ({})) }],
  ] as const) {
    const r = await verifyReport(bytes(bundle as ReportBundle), { trust, now: NOW });
    assert.equal(r.exitCode, EXIT.malformed, `${name}: ${formatVerifyResult(r)}`);
    assert.match(r.failures[0]!.message, /a report may carry at most 16/, name);
    assert.ok(formatVerifyResult(r).split('\n').length < 10, `${name}: ${formatVerifyResult(r).split('\n').length} lines of output`);
  }
});

test('the keyid is only a hint: a wrong hint still verifies, with a warning', async () => {
  const log = writeRunLog();
  const b = await report(log);
  const r = await verifyReport(bytes({ ...b, signatures: [{ ...b.signatures[0]!, keyid: 'whatever' }] }), { trust: trustTester(), now: NOW });
  assert.equal(r.ok, true, formatVerifyResult(r));
  assert.match(r.warnings.join('\n'), /keyid hint "whatever" differs/);
});

test('tamper: every single payload byte changed fails (10), naming the payload/signature', async () => {
  const log = writeRunLog();
  const b = await report(log);
  const payload = Buffer.from(b.payload, 'base64');
  const trust = trustTester();
  for (let i = 0; i < payload.length; i++) {
    const p = Buffer.from(payload);
    p[i] = p[i]! ^ (1 << i % 8);
    const r = await verifyReport(bytes({ ...b, payload: p.toString('base64') }), { trust, now: NOW });
    assert.equal(r.exitCode, EXIT.badSignature, `byte ${i}: ${formatVerifyResult(r)}`);
    assert.match(r.failures[0]!.message, /does not verify under key .* \(payload, payloadType or signature altered\)/);
  }
  // Changing a base64 character of the payload string: invalid (13) or a different payload (10), never accepted.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < b.payload.length; i += 7) {
    const c = b.payload[i]!;
    const repl = alphabet[(alphabet.indexOf(c) + 1 + (i % 60)) % 64]!;
    const s = b.payload.slice(0, i) + (c === '=' ? 'A' : repl) + b.payload.slice(i + 1);
    const r = await verifyReport(bytes({ ...b, payload: s }), { trust, now: NOW });
    assert.ok(r.exitCode === EXIT.badSignature || r.exitCode === EXIT.malformed, `char ${i}: ${formatVerifyResult(r)}`);
    assert.match(r.failures[0]!.where, /payload|signatures\[0\]\.sig/);
  }
  // payloadType is covered by the signature too.
  failed(await verifyReport(bytes({ ...b, payloadType: 'application/vnd.in-toto+jsoN' }), { trust, now: NOW }), EXIT.badSignature, /signatures\[0\]\.sig/);
});

test('tamper: every single signature byte and character changed fails (10)', async () => {
  const log = writeRunLog();
  const b = await report(log);
  const trust = trustTester();
  const sig = Buffer.from(b.signatures[0]!.sig, 'base64');
  for (let i = 0; i < sig.length; i++) {
    for (const bit of [0, 7]) {
      const s = Buffer.from(sig);
      s[i] = s[i]! ^ (1 << bit);
      const r = await verifyReport(bytes({ ...b, signatures: [{ ...b.signatures[0]!, sig: s.toString('base64') }] }), { trust, now: NOW });
      failed(r, EXIT.badSignature, /signatures\[0\]\.sig/);
    }
  }
  const str = b.signatures[0]!.sig;
  for (let i = 0; i < str.length; i++) {
    for (const c of ['A', 'z', '+', '=', '-']) {
      if (str[i] === c) continue;
      // Both base64 alphabets are accepted (as DSSE implementations do): '+'/'-' and '/'/'_' spell the
      // same bytes, so that swap is no change to the signature (it made this test fail on some keys).
      if ((str[i] === '+' && c === '-') || (str[i] === '-' && c === '+') || (str[i] === '/' && c === '_') || (str[i] === '_' && c === '/')) continue;
      const s = str.slice(0, i) + c + str.slice(i + 1);
      const r = await verifyReport(bytes({ ...b, signatures: [{ ...b.signatures[0]!, sig: s }] }), { trust, now: NOW });
      failed(r, EXIT.badSignature, /signatures\[0\]\.sig/);
    }
  }
  failed(await verifyReport(bytes({ ...b, signatures: [{ ...b.signatures[0]!, sig: str + 'AA' }] }), { trust, now: NOW }), EXIT.badSignature, /signatures\[0\]\.sig/);
});

test('tamper: any single byte changed in the run log fails (14), naming the log', async () => {
  const log = writeRunLog();
  const b = await report(log);
  const trust = trustTester();
  const orig = readFileSync(log);
  const step = Math.max(1, Math.floor(orig.length / 600)); // every byte of a small log; evenly sampled beyond
  let n = 0;
  for (let i = 0; i < orig.length; i += step) {
    const t = Buffer.from(orig);
    t[i] = t[i] === 0x30 ? 0x31 : t[i] === 0x0a ? 0x20 : 0x30;
    writeFileSync(log, t);
    const r = await verifyReport(bytes(b), { trust, runLogPath: log, now: NOW });
    failed(r, EXIT.dataMismatch, new RegExp(log.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), /run log file differs from the signed subject "assay\/run-log"/);
    n++;
  }
  assert.ok(n >= Math.min(orig.length, 600));
  writeFileSync(log, orig);
  assert.equal((await verifyReport(bytes(b), { trust, runLogPath: log, now: NOW })).ok, true);
  // Truncation and an appended record are caught too.
  writeFileSync(log, orig.subarray(0, orig.length - 1));
  failed(await verifyReport(bytes(b), { trust, runLogPath: log, now: NOW }), EXIT.dataMismatch, /run\.jsonl/);
});

test('a report whose numbers differ from its transcripts fails (15), naming the field', async () => {
  const log = writeRunLog();
  const st = await buildRunReport(log, { tester: { name: 'Tester Lab', keyId: tester.keyId }, now: NOW });
  const trust = trustTester();
  const inflated = resign(st, (s) => (s.predicate.metrics[0]!.mean = 0.95));
  const r = await verifyReport(bytes(inflated), { trust, runLogPath: log, now: NOW });
  failed(r, EXIT.numbersMismatch, /payload \$\.predicate\.metrics\[0\]\.mean/, /signed 0\.95 but recomputed from the transcripts: 0\.75/);
  const ci = resign(st, (s) => (s.predicate.metrics[0]!.ci.hi = 0.99));
  failed(await verifyReport(bytes(ci), { trust, runLogPath: log, now: NOW }), EXIT.numbersMismatch, /metrics\[0\]\.ci\.hi/);
  const counts = resign(st, (s) => (s.predicate.counts.errored = 0));
  failed(await verifyReport(bytes(counts), { trust, runLogPath: log, now: NOW }), EXIT.numbersMismatch, /counts\.errored/);
  const dropped = resign(st, (s) => s.predicate.metrics.pop());
  failed(await verifyReport(bytes(dropped), { trust, runLogPath: log, now: NOW }), EXIT.numbersMismatch, /metrics\.length/);
  // Without the log, the signature alone is fine: the numbers are only as good as the check.
  assert.equal((await verifyReport(bytes(inflated), { trust, now: NOW })).ok, true);
});

test('a log edited after signing, with a re-signed digest but the old root and numbers, fails (14, 15)', async () => {
  const log = writeRunLog();
  const st = await buildRunReport(log, { tester: { name: 'Tester Lab', keyId: tester.keyId }, now: NOW });
  const recs = defaultRecords();
  recs[3] = sample('s2', 1); // flip a wrong answer to right
  const edited = writeRunLog(recs);
  const d = await digestOfFile(edited);
  const b = resign(st, (s) => (s.subject[0]!.digest = d));
  const r = await verifyReport(bytes(b), { trust: trustTester(), runLogPath: edited, now: NOW });
  assert.equal(r.exitCode, EXIT.dataMismatch, formatVerifyResult(r));
  assert.equal(r.failures[0]!.where, 'payload $.predicate.transcripts.root');
  for (const w of ['mean', 'se', 'ci.lo', 'ci.hi', 'wilson.lo', 'wilson.hi', 'zeroEvent']) assert.ok(r.failures.some((f) => f.where === `payload $.predicate.metrics[0].${w}`), w);
  assert.match(r.failures[0]!.message, /transcript Merkle root recomputed from the run log is [0-9a-f]{64}, signed [0-9a-f]{64}: some sample record differs/);
  assert.ok(r.failures.some((f) => f.exit === EXIT.numbersMismatch && /metrics\[0\]\.mean/.test(f.where)));
});

test('header facts are checked against the log (14)', async () => {
  const log = writeRunLog();
  const st = await buildRunReport(log, { tester: { name: 'Tester Lab', keyId: tester.keyId }, now: NOW });
  const b = resign(st, (s) => (s.predicate.config.temperature = 0.7));
  failed(await verifyReport(bytes(b), { trust: trustTester(), runLogPath: log, now: NOW }), EXIT.dataMismatch, /\$\.predicate\.config\.temperature$/, /signed 0\.7 but the run log says 0$/);
  const m = resign(st, (s) => (s.predicate.model.name = 'openai/gpt-x'));
  failed(await verifyReport(bytes(m), { trust: trustTester(), runLogPath: log, now: NOW }), EXIT.dataMismatch, /\$\.predicate\.model\.name$/, /signed "openai\/gpt-x" but the run log says "openai\/sim"/);
});

test('malformed statements fail (13) with the JSON path', async () => {
  const trust = trustTester();
  const log = writeRunLog();
  const st = await buildRunReport(log, { tester: { name: 'Tester Lab', keyId: tester.keyId }, now: NOW });
  const sign = (payload: string): ReportBundle => ({ ...signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(payload), [tester]), publicKeys: [], accreditations: [], tlog: null });
  const text = canonicalJson(st);
  const dup = text.replace('"_type":', '"_type":"x","_type":');
  failed(await verifyReport(bytes(sign(dup)), { trust, now: NOW }), EXIT.malformed, /payload \$\._type/, /duplicate key "_type"/);
  const big = text.replace('"epochs":1', '"epochs":9007199254740993');
  failed(await verifyReport(bytes(sign(big)), { trust, now: NOW }), EXIT.malformed, /payload \$\.predicate\.config\.epochs/, /outside the safe range/);
  const wrongType = text.replace('run-report/v1', 'run-report/v9');
  failed(await verifyReport(bytes(sign(wrongType)), { trust, now: NOW }), EXIT.malformed, /predicateType/);
  const missing = canonicalJson({ ...st, predicate: { ...st.predicate, counts: undefined } });
  failed(await verifyReport(bytes(sign(missing)), { trust, now: NOW }), EXIT.malformed, /payload \$\.predicate\.counts/);
  const noDigest = canonicalJson({ ...st, subject: [...st.subject.slice(0, 2), { name: 'assay/model', digest: {} }] });
  failed(await verifyReport(bytes(sign(noDigest)), { trust, now: NOW }), EXIT.malformed, /subject\[2\]\.digest/);
  failed(await verifyReport('{"payload":"e30=","payloadType":"x"', { trust, now: NOW, source: 'r.json' }), EXIT.malformed, /^r\.json/);
  const wrongPt = { ...signEnvelope('text/plain', Buffer.from(text), [tester]), publicKeys: [], accreditations: [], tlog: null };
  failed(await verifyReport(bytes(wrongPt), { trust, now: NOW }), EXIT.malformed, /payloadType/);
});

test('accreditation: a trusted body vouches for the tester within validity and scope', async () => {
  const log = writeRunLog();
  const bodies = parseTrust(JSON.stringify(trustDocument({ bodies: [{ name: 'Body A', publicKey: bodyA.publicKey }, { name: 'Body B', publicKey: bodyB.publicKey }] })), 'trust.json');
  const acc = (body: Signer, scopes: { riskAreas?: string[]; suites?: string[] }, from: string, to: string) =>
    issueAccreditation({ body, bodyName: body === bodyA ? 'Body A' : 'Body B', tester: { name: 'Tester Lab', publicKey: tester.publicKey }, scopes, notBefore: new Date(from), notAfter: new Date(to), now: new Date(from) });
  const withAcc = async (a: ReturnType<typeof acc>[]) => ({ ...(await report(log)), accreditations: a });

  const ok = await verifyReport(bytes(await withAcc([acc(bodyA, { riskAreas: ['cyber'] }, '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z')])), { trust: bodies, runLogPath: log, now: NOW });
  assert.equal(ok.ok, true, formatVerifyResult(ok));
  assert.deepEqual(ok.signatures[0]!.trust, { trusted: true, how: 'accredited', body: 'Body A', source: 'report accreditations[0]', notAfter: '2027-01-01T00:00:00.000Z' });
  // Mutual recognition: body B is listed too, so its accreditation counts.
  const viaB = await verifyReport(bytes(await withAcc([acc(bodyB, { suites: ['fixture.qa@1.2.0'] }, '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z')])), { trust: bodies, now: NOW });
  assert.equal(viaB.ok, true, formatVerifyResult(viaB));
  // Held by the verifier in the trust file instead of attached to the report.
  const held = parseTrust(JSON.stringify({ ...trustDocument({ bodies: [{ name: 'Body A', publicKey: bodyA.publicKey }] }), accreditations: [acc(bodyA, { riskAreas: ['*'] }, '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z')] }), 't.json');
  assert.equal((await verifyReport(bytes(await report(log)), { trust: held, now: NOW })).ok, true);

  const expired = await verifyReport(bytes(await withAcc([acc(bodyA, { riskAreas: ['cyber'] }, '2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z')])), { trust: bodies, now: NOW });
  failed(expired, EXIT.accreditation, /signatures\[0\]/, /accreditation by "Body A" \(report accreditations\[0\]\): expired at 2026-01-01T00:00:00\.000Z/);
  const early = await verifyReport(bytes(await withAcc([acc(bodyA, { riskAreas: ['cyber'] }, '2026-09-01T00:00:00Z', '2027-01-01T00:00:00Z')])), { trust: bodies, now: NOW });
  failed(early, EXIT.accreditation, /signatures\[0\]/, /not valid before 2026-09-01/);
  const scope = await verifyReport(bytes(await withAcc([acc(bodyA, { riskAreas: ['bio'], suites: ['fixture.qa@2.0.0'] }, '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z')])), { trust: bodies, now: NOW });
  failed(scope, EXIT.accreditation, /signatures\[0\]/, /suite fixture\.qa@1\.2\.0 \(risk area "cyber"\) is outside the accredited scopes \(risk areas: bio; suites: fixture\.qa@2\.0\.0\)/);
  // The same accreditation checked at a time when it was valid (e.g. the time a log recorded).
  assert.equal((await verifyReport(bytes(await withAcc([acc(bodyA, { riskAreas: ['cyber'] }, '2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z')])), { trust: bodies, now: new Date('2025-06-01T00:00:00Z') })).ok, true);

  // A body the verifier does not list vouches for nobody.
  const unknownBody = await verifyReport(bytes(await withAcc([acc(bodyA, { riskAreas: ['cyber'] }, '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z')])), { trust: parseTrust(JSON.stringify(trustDocument({ bodies: [{ name: 'Body B', publicKey: bodyB.publicKey }] }))), now: NOW });
  failed(unknownBody, EXIT.untrusted, /signatures\[0\]/);
  assert.match(unknownBody.accreditations.rejected[0]!.reason, /not signed by any accreditation body in the trust file/);
  // A tampered accreditation vouches for nobody either.
  const a = acc(bodyA, { riskAreas: ['cyber'] }, '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z');
  const p = Buffer.from(a.payload, 'base64').toString().replace('"bio"', '"x"').replace('2027-01-01', '2099-01-01');
  const forged = await verifyReport(bytes(await withAcc([{ ...a, payload: Buffer.from(p).toString('base64') }])), { trust: bodies, now: NOW });
  failed(forged, EXIT.untrusted, /signatures\[0\]/);
  // A body's accreditation for another key does not cover this tester.
  const other = issueAccreditation({ body: bodyA, bodyName: 'Body A', tester: { name: 'Other', publicKey: stranger.publicKey }, scopes: { riskAreas: ['*'] }, notBefore: new Date('2026-01-01'), notAfter: new Date('2027-01-01') });
  failed(await verifyReport(bytes(await withAcc([other])), { trust: bodies, now: NOW }), EXIT.untrusted, /signatures\[0\]/);
});

test('direct trust entries honour validity and scopes (12)', async () => {
  const log = writeRunLog();
  const b = await report(log);
  const t = (over: object) => parseTrust(JSON.stringify(trustDocument({ testers: [{ name: 'Tester Lab', publicKey: tester.publicKey, ...over }] })));
  failed(await verifyReport(bytes(b), { trust: t({ notAfter: '2026-02-01T00:00:00Z' }), now: NOW }), EXIT.accreditation, /signatures\[0\]/, /expired at 2026-02-01/);
  failed(await verifyReport(bytes(b), { trust: t({ scopes: { riskAreas: ['bio'] } }), now: NOW }), EXIT.accreditation, /signatures\[0\]/, /outside its scopes/);
  assert.equal((await verifyReport(bytes(b), { trust: t({ scopes: { suites: ['fixture.qa'] } }), now: NOW })).ok, true);
});

test('trust files are validated with located errors', () => {
  const doc = trustDocument({ testers: [{ name: 'T', publicKey: tester.publicKey }] });
  assert.throws(() => parseTrust(JSON.stringify({ ...doc, testers: [{ ...doc.testers[0], keyId: stranger.keyId }] }), 'trust.json'), /trust\.json, field "\$\.testers\[0\]\.keyId": keyId .* does not match the public key/);
  assert.throws(() => parseTrust('{"schema":"assay.trust/v2"}', 'trust.json'), /trust\.json, field "\$\.schema"/);
  assert.throws(() => parseTrust('{"schema":"assay.trust/v1","testers":[],"testers":[]}', 'trust.json'), /duplicate key "testers"/);
});

test('empty run: zero transcripts, root of the empty tree', async () => {
  const log = writeRunLog([], { end: false });
  const b = await report(log);
  const r = await verifyReport(bytes(b), { trust: trustTester(), runLogPath: log, now: NOW });
  assert.equal(r.ok, true, formatVerifyResult(r));
  assert.equal(r.statement!.predicate.transcripts.root, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(r.statement!.predicate.run.status, null);
  assert.equal(r.statement!.predicate.metrics[0]!.mean, null, 'undefined statistics are null');
});

test('epochs and a header with rescoreOf round-trip', async () => {
  const recs = [sample('a', 1, { epoch: 1 }), sample('a', 0, { epoch: 2 }), sample('b', 1, { epoch: 1 }), sample('b', 1, { epoch: 2 })];
  const log = writeRunLog(recs, { header: header({ rescoreOf: { runId: 'r0', logDigest: `sha256:${'1'.repeat(64)}` } }) });
  const b = await report(log);
  const r = await verifyReport(bytes(b), { trust: trustTester(), runLogPath: log, now: NOW });
  assert.equal(r.ok, true, formatVerifyResult(r));
  assert.deepEqual(r.statement!.predicate.counts, { records: 4, samples: 2, scored: 4, unscored: 0, errored: 0 });
  assert.equal(r.statement!.predicate.metrics[0]!.mean, 0.75);
  void join;
});
