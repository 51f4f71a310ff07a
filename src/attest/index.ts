import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assayHome } from '../home.js';
import { attestRun, bundleText, writeFileAtomic } from './bundle.js';
import { findKey, generateKey, listKeys, loadSigner } from './keys.js';
import { parseTrust, trustDocument } from './trust.js';
import { formatVerifyResult, verifyReport, type VerifyResult } from './verify.js';

/** The attestation module's public surface. */
export { attestRun, cosignBundle, bundleText, readBundle, type ReportBundle } from './bundle.js';
export { verifyReport, formatVerifyResult, EXIT, type VerifyResult } from './verify.js';
export { createDisclosure, disclosureBytes, verifyDisclosure } from './disclose.js';
export { renderReport } from './render.js';
export { loadTrustFile, parseTrust, trustDocument, issueAccreditation } from './trust.js';
export { generateKey, listKeys, findKey, loadSigner, generateSigner } from './keys.js';

/** Where `assay attest` writes a run's report by default: next to the log. */
export const defaultReportPath = (logPath: string): string => logPath.replace(/\.jsonl$/, '') + '.report.json';

/**
 * The end of the demo: sign the run's report with the local demo tester key (created on first
 * use in $ASSAY_HOME/keys), write a trust file that trusts that key, and verify the report
 * offline against the run log (signatures, trust, digests, transcript root, every metric).
 */
export async function attestAndVerifyDemo(logPath: string, opts: { home?: string; keyName?: string } = {}): Promise<{ reportPath: string; trustPath: string; keyId: string; result: VerifyResult; summary: string }> {
  const home = opts.home ?? assayHome();
  const name = opts.keyName ?? 'demo-tester';
  if (!listKeys(home).some((k) => k.name === name)) generateKey({ name, home });
  const info = findKey(name, home);
  const signer = loadSigner(info.keyId, home);
  const { bundle } = await attestRun(logPath, { signer, testerName: `${name} (local demo key)` });
  const reportPath = defaultReportPath(logPath);
  writeFileAtomic(reportPath, bundleText(bundle));
  const trustPath = join(home, 'demo-trust.json');
  if (!existsSync(trustPath) || !parseTrust(readFileSync(trustPath), trustPath).testers.some((t) => t.keyId === info.keyId))
    writeFileAtomic(trustPath, JSON.stringify(trustDocument({ testers: [{ name: `${name} (local demo key)`, publicKey: info.publicKey }] }), null, 2) + '\n');
  const trust = parseTrust(readFileSync(trustPath), trustPath);
  const result = await verifyReport(readFileSync(reportPath), { trust, runLogPath: logPath, source: reportPath });
  return { reportPath, trustPath, keyId: info.keyId, result, summary: formatVerifyResult(result) };
}
