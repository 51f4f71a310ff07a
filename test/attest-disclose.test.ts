import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attestRun, bundleText } from '../src/attest/bundle.js';
import { createDisclosure, disclosureBytes, verifyDisclosure } from '../src/attest/disclose.js';
import { generateSigner } from '../src/attest/keys.js';
import { parseStatement } from '../src/attest/statement.js';
import { parseTrust, trustDocument } from '../src/attest/trust.js';
import { EXIT, formatVerifyResult, verifyReport } from '../src/attest/verify.js';
import { defaultRecords, sample, writeRunLog } from './attest-fixture.js';

const tester = generateSigner();
const trust = parseTrust(JSON.stringify(trustDocument({ testers: [{ name: 'Tester Lab', publicKey: tester.publicKey }] })));

async function setup(records = defaultRecords()) {
  const log = writeRunLog(records);
  const { bundle } = await attestRun(log, { signer: tester, testerName: 'Tester Lab' });
  return { log, bundle, statement: parseStatement(Buffer.from(bundle.payload, 'base64')) };
}

test('every sample can be disclosed and verified against the signed root', async () => {
  const { log, statement } = await setup();
  const keys = ['s1#1', 's2#1', 's3#1', 's4#1', 's5#1', 's6#1'];
  for (const [i, key] of keys.entries()) {
    const d = await createDisclosure(log, key);
    assert.equal(d.key, key);
    assert.equal(d.proof.index, i, 'leaves are in key order');
    assert.equal(d.proof.size, 6);
    assert.equal(d.root, statement.predicate.transcripts.root);
    const c = verifyDisclosure(disclosureBytes(d), statement, `${key}.json`);
    assert.equal(c.ok, true, c.reason ?? '');
  }
  // A sample id with one epoch is enough.
  assert.equal((await createDisclosure(log, 's3')).key, 's3#1');
  await assert.rejects(createDisclosure(log, 'nope'), /no sample record with key or sample id "nope"/);
});

test('a sample id with several epochs must be given as a key', async () => {
  const log = writeRunLog([sample('a', 1, { epoch: 1 }), sample('a', 0, { epoch: 2 })]);
  await assert.rejects(createDisclosure(log, 'a'), /sample "a" has 2 epochs; give a key: a#1, a#2/);
  assert.equal((await createDisclosure(log, 'a#2')).proof.index, 1);
});

test('tamper: any single byte changed in a disclosure (record or proof) fails, naming what broke', async () => {
  const { log, statement } = await setup();
  const good = disclosureBytes(await createDisclosure(log, 's4#1'));
  assert.equal(verifyDisclosure(good, statement).ok, true);
  const reasons = new Set<string>();
  for (let i = 0; i < good.length; i++) {
    for (const v of [good[i]! ^ 0x01, good[i]! ^ 0x20]) {
      const t = Buffer.from(good);
      t[i] = v;
      const c = verifyDisclosure(t, statement, 'd.json');
      assert.equal(c.ok, false, `byte ${i} (${JSON.stringify(String.fromCharCode(good[i]!))} → ${JSON.stringify(String.fromCharCode(v))}) accepted`);
      assert.match(c.reason!, /^d\.json: /);
      reasons.add(c.reason!.replace(/\d+/g, 'N').slice(0, 60));
    }
  }
  assert.ok(reasons.size > 3, [...reasons].join('\n'));
});

test('a proof that is consistent but for the wrong tree or record fails', async () => {
  const { log, statement } = await setup();
  const d = await createDisclosure(log, 's2#1');
  const edit = (f: (x: typeof d) => void) => {
    const c = structuredClone(d);
    f(c);
    return verifyDisclosure(disclosureBytes(c), statement, 'd.json');
  };
  assert.match(edit((c) => (c.record.scores = { match: { status: 'scored', value: 1 } })).reason!, /inclusion proof for record "s2#1" .* does not lead to the signed transcript root/);
  assert.match(edit((c) => (c.proof.index = 2)).reason!, /does not lead to the signed transcript root/);
  assert.match(edit((c) => c.proof.hashes.pop()).reason!, /does not lead/);
  assert.match(edit((c) => c.proof.hashes.push('0'.repeat(64))).reason!, /does not lead/);
  assert.match(edit((c) => (c.proof.size = 7)).reason!, /field "proof\.size" 7 is not the signed transcript count 6/);
  assert.match(edit((c) => (c.runId = 'other')).reason!, /field "runId" "other" is not the report's run/);
  assert.match(edit((c) => (c.key = 's3#1')).reason!, /field "record\.key" "s2#1" differs from "key" "s3#1"/);
  // Pretty-printed (same content, different bytes): rejected as non-canonical.
  assert.match(verifyDisclosure(Buffer.from(JSON.stringify(d, null, 2)), statement, 'd.json').reason!, /not in canonical form/);
  // A disclosure from another run does not verify against this report.
  const other = await setup([...defaultRecords(), sample('s7', 1)]);
  const foreign = disclosureBytes(await createDisclosure(other.log, 's2#1'));
  assert.equal(verifyDisclosure(foreign, statement).ok, false);
});

test('verify --disclosure: exit 16 with the file named; fine disclosures are listed', async () => {
  const { log, bundle } = await setup();
  const d = disclosureBytes(await createDisclosure(log, 's1#1'));
  const ok = await verifyReport(Buffer.from(bundleText(bundle)), { trust, disclosures: [{ bytes: d, source: 's1.json' }] });
  assert.equal(ok.ok, true, formatVerifyResult(ok));
  assert.match(formatVerifyResult(ok), /disclosure s1\.json: sample s1#1 \(leaf 0\) is in the signed transcript tree/);
  const bad = Buffer.from(d);
  bad[bad.indexOf('question s1')] = 0x51; // "Question s1"
  const r = await verifyReport(Buffer.from(bundleText(bundle)), { trust, disclosures: [{ bytes: bad, source: 's1.json' }] });
  assert.equal(r.exitCode, EXIT.disclosure);
  assert.equal(r.failures[0]!.where, 's1.json');
  assert.match(r.failures[0]!.message, /^s1\.json: inclusion proof for record "s1#1"/);
});
