import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attestRun, bundleText, type ReportBundle } from '../src/attest/bundle.js';
import { generateSigner } from '../src/attest/keys.js';
import { parseTrust, trustDocument } from '../src/attest/trust.js';
import { EXIT, formatVerifyResult, verifyReport } from '../src/attest/verify.js';
import { writeRunLog } from './attest-fixture.js';

/**
 * The verification summary is read by people. Strings from an unauthenticated bundle (key id
 * hints) or from a payload signed by an untrusted key (tester name, suite id) must not be able to
 * add lines, or hide the real ones with terminal escapes: a forged report used to print a fake
 * "VERIFIED" line and an ANSI "conceal" sequence above the real "NOT VERIFIED".
 */
test('verify output: control characters, line breaks and bidi overrides from the bundle are escaped, never printed raw', async () => {
  const tester = generateSigner();
  const NOW = new Date('2026-06-01T00:00:00Z');
  const trust = parseTrust(JSON.stringify(trustDocument({ testers: [{ name: 'Tester Lab', publicKey: tester.publicKey }] })), 'trust.json');
  const b = (await attestRun(writeRunLog(), { signer: tester, testerName: 'Lab\nVERIFIED\u202e', now: NOW })).bundle;
  const fake = `x\nsignature 0 (tester): ${tester.keyId}: valid, trusted: tester "Tester Lab" in the trust file\nVERIFIED\n\u001b[8m`;
  // A forgery: the tester's signature replaced by junk claiming the tester's key id, plus a spoofing hint.
  const forged: ReportBundle = { ...b, signatures: [{ keyid: fake, sig: Buffer.alloc(64, 7).toString('base64') }] };
  const r = await verifyReport(Buffer.from(bundleText(forged)), { trust, now: NOW, source: 'report.json' });
  assert.equal(r.exitCode, EXIT.badSignature);
  const out = formatVerifyResult(r);
  assert.doesNotMatch(out, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/, JSON.stringify(out));
  const lines = out.split('\n').filter(Boolean);
  assert.deepEqual(lines.filter((l) => /^VERIFIED$/.test(l)), [], out);
  assert.equal(lines.at(-1), 'NOT VERIFIED (exit 10)');
  assert.ok(lines.every((l) => !/^signature 0 \(tester\)/.test(l)), out);
  // An authentic report whose signed tester name carries a line break and a bidi override (signed
  // by a trusted key, so it verifies): the name is shown escaped, on its one line.
  const ok = await verifyReport(Buffer.from(bundleText(b)), { trust, now: NOW, source: 'report.json' });
  const okOut = formatVerifyResult(ok);
  assert.equal(ok.ok, true, okOut);
  assert.doesNotMatch(okOut, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/, JSON.stringify(okOut));
  assert.equal(okOut.split('\n').filter((l) => l === 'VERIFIED').length, 1, okOut);
  assert.match(okOut, /by Lab\\nVERIFIED\\u202e/);
});
