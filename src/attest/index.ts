import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assayHome } from '../home.js';
import { attestRun, bundleText, writeFileAtomic } from './bundle.js';
import { findKey, generateKey, listKeys, loadSigner } from './keys.js';
import { parseTrust, trustDocument } from './trust.js';
import { logReport } from './tlog.js';
import { hasLogConfig, initLog, readLogConfig } from '../tlog/config.js';
import { formatVerifyResult, verifyReport, type VerifyResult } from './verify.js';

/** The attestation module's public surface. */
export { attestRun, cosignBundle, bundleText, readBundle, type ReportBundle } from './bundle.js';
export { verifyReport, formatVerifyResult, EXIT, type VerifyResult } from './verify.js';
export { createDisclosure, disclosureBytes, verifyDisclosure } from './disclose.js';
export { renderReport } from './render.js';
export { logReport, checkReportInclusion, reportEntry } from './tlog.js';
export { loadTrustFile, parseTrust, trustDocument, issueAccreditation } from './trust.js';
export { generateKey, listKeys, findKey, loadSigner, generateSigner } from './keys.js';

/** Where `assay attest` writes a run's report by default: next to the log. */
export const defaultReportPath = (logPath: string): string => logPath.replace(/\.jsonl$/, '') + '.report.json';

/** Where the demo keeps its local transparency log, and the log's identity. */
export const DEMO_LOG_ORIGIN = 'assay.local/demo-log';

/**
 * The end of the demo: sign the run's report with the local demo tester key (created on first
 * use in $ASSAY_HOME/keys), append it to the local demo transparency log ($ASSAY_HOME/log,
 * created on first use) with the inclusion proof stored in the report, write a trust file that
 * trusts that key and that log, and verify the report offline against the run log (signatures,
 * trust, digests, transcript root, every metric, inclusion under the signed checkpoint).
 */
export async function attestAndVerifyDemo(
  logPath: string,
  opts: { home?: string; keyName?: string; tlogDir?: string } = {},
): Promise<{ reportPath: string; trustPath: string; keyId: string; tlogDir: string; result: VerifyResult; summary: string }> {
  const home = opts.home ?? assayHome();
  const name = opts.keyName ?? 'demo-tester';
  if (!listKeys(home).some((k) => k.name === name)) generateKey({ name, home });
  const info = findKey(name, home);
  const signer = loadSigner(info.keyId, home);
  const signed = await attestRun(logPath, { signer, testerName: `${name} (local demo key)` });
  const tlogDir = opts.tlogDir ?? join(home, 'log');
  const logVkey = hasLogConfig(tlogDir) ? readLogConfig(tlogDir).vkey : initLog(tlogDir, DEMO_LOG_ORIGIN, join(home, 'keys', 'tlog-demo-log.pem')).config.vkey;
  const { bundle } = await logReport(signed.bundle, { target: tlogDir });
  const reportPath = defaultReportPath(logPath);
  writeFileAtomic(reportPath, bundleText(bundle));
  const trustPath = join(home, 'demo-trust.json');
  const current = existsSync(trustPath) ? parseTrust(readFileSync(trustPath), trustPath) : null;
  if (!current || !current.testers.some((t) => t.keyId === info.keyId) || !current.logs.some((l) => l.vkey === logVkey))
    writeFileAtomic(trustPath, JSON.stringify(trustDocument({ testers: [{ name: `${name} (local demo key)`, publicKey: info.publicKey }], logs: [{ vkey: logVkey }] }), null, 2) + '\n');
  const trust = parseTrust(readFileSync(trustPath), trustPath);
  const result = await verifyReport(readFileSync(reportPath), { trust, runLogPath: logPath, source: reportPath, tlog: { require: true, log: tlogDir } });
  return { reportPath, trustPath, keyId: info.keyId, tlogDir, result, summary: formatVerifyResult(result) };
}
