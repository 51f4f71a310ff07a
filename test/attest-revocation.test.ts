import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { attestRun, bundleText, type ReportBundle } from '../src/attest/bundle.js';
import { generateSigner, type Signer } from '../src/attest/keys.js';
import { rotationEntry } from '../src/attest/revocation.js';
import { logReport, retireKey } from '../src/attest/tlog.js';
import { parseTrust, trustDocument, type TrustPolicy } from '../src/attest/trust.js';
import { EXIT, formatVerifyResult, verifyReport } from '../src/attest/verify.js';
import { initLog, openConfiguredLog } from '../src/tlog/config.js';
import { encodeEntry } from '../src/tlog/entry.js';
import { defaultRecords, header, writeRunLog } from './attest-fixture.js';
import { tmp } from './helpers.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const ORIGIN = 'keys.example/log';
let runs = 0;
const report = async (signer: Signer): Promise<ReportBundle> =>
  (await attestRun(writeRunLog(defaultRecords(), { header: header({ runId: `r-rev-${++runs}` }) }), { signer, testerName: 'Tester Lab', now: NOW })).bundle;

function setup(tester: Signer) {
  const home = tmp('assay-rev-');
  const dir = join(home, 'log');
  const { config } = initLog(dir, ORIGIN, join(home, 'log.pem'));
  const trust: TrustPolicy = parseTrust(JSON.stringify(trustDocument({ testers: [{ name: 'Tester Lab', publicKey: tester.publicKey }], logs: [{ vkey: config.vkey }] })), 'trust.json');
  return { dir, trust };
}
const verify = (b: ReportBundle, trust: TrustPolicy, log?: string) => verifyReport(Buffer.from(bundleText(b)), { trust, now: NOW, source: 'report.json', tlog: { require: !!log, ...(log ? { log } : {}) } });

test('key revocation by log order: reports logged before the revocation entry verify, those after (or not logged) fail; forged or foreign revocations are ignored', async () => {
  const tester = generateSigner();
  const { dir, trust } = setup(tester);
  const before = await logReport(await report(tester), { target: dir }); // entry 0

  // Forged retirements: signed by another key, or by the right key for another log. Ignored.
  const other = generateSigner();
  const forged = JSON.parse(Buffer.from(rotationEntry(other, ORIGIN, 'revoke')).toString()) as { metadata: Record<string, string> };
  forged.metadata.keyId = tester.keyId;
  const l = await openConfiguredLog(dir);
  await l.append([encodeEntry({ type: 'key-rotation', digest: (forged as unknown as { digest: string }).digest, metadata: forged.metadata }), rotationEntry(tester, 'elsewhere.example/log', 'revoke')]);
  const mid = await logReport(await report(tester), { target: dir }); // entry 3
  assert.equal((await verify(mid.bundle, trust, dir)).ok, true, 'forged revocations must not count');

  const r = await retireKey(tester, { target: dir }, 'rotate', other.keyId); // entry 4
  assert.equal(r.index, 4);
  const after = await logReport(await report(tester), { target: dir }); // entry 5

  const v0 = await verify(before.bundle, trust, dir);
  assert.equal(v0.ok, true, formatVerifyResult(v0));
  assert.match(v0.warnings.join('\n'), /rotated to .* by entry 4 .*this report is entry 0, before it, so its signature 0 stands/);
  const v1 = await verify(after.bundle, trust, dir);
  assert.equal(v1.exitCode, EXIT.untrusted, formatVerifyResult(v1));
  assert.match(formatVerifyResult(v1), /key .* was rotated to .* by entry 4 of log keys\.example\/log, before this report's entry 5/);
  // A report never logged cannot be shown to precede the retirement.
  const unlogged = await report(tester);
  const v2 = await verify(unlogged, trust, dir);
  assert.equal(v2.exitCode, EXIT.untrusted, formatVerifyResult(v2));
  assert.match(formatVerifyResult(v2), /not in that log/);
  // Without the log, the verifier cannot know of the retirement (documented): signature alone passes.
  assert.equal((await verify(after.bundle, trust)).ok, true);
});
