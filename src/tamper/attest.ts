import { canonicalJson, sha256Hex } from '../common/canonical.js';
import { decodeBase64Strict, findSigner, IN_TOTO_PAYLOAD_TYPE, MAX_ENVELOPE_SIGNATURES, parseEnvelope, signEnvelope, type Envelope } from '../attest/dsse.js';
import { parseStrictJson } from '../attest/json.js';
import type { Signer } from '../attest/keys.js';
import { STATEMENT_TYPE } from '../attest/statement.js';
import type { TrustPolicy } from '../attest/trust.js';
import type { ReportBundle } from '../attest/bundle.js';
import { bundleOf } from '../attest/open.js';
import { checkReportInclusion, TAMPER_PREDICATE_TYPE, type TlogVerification, type TlogVerifyOptions } from '../attest/tlog.js';
import type { TamperRecord } from './log.js';
import { buildTamperReport, TAMPER_REPORT_SCHEMA, type TamperReport } from './report.js';

/**
 * A signed tamper report: an in-toto Statement whose subject is the tamper log (by SHA-256) and
 * whose predicate is the report built from it. Verification needs no trust in the signer's
 * arithmetic: the report is rebuilt from the log (pure, seeded) and must equal the signed one;
 * each evaluation's run log, when present, must match the digest the tamper log recorded.
 */
export { TAMPER_PREDICATE_TYPE };

export interface TamperPredicate {
  signer: { name: string; keyId: string };
  signedAt: string;
  resamples: number;
  report: TamperReport;
}

/** JSON cannot carry ∞: the signed report writes it as the string "Infinity" (as `--json` does). */
const jsonSafe = <T>(v: T): T => JSON.parse(JSON.stringify(v, (_k, x) => (x === Infinity ? 'Infinity' : x === -Infinity ? '-Infinity' : x))) as T;

/**
 * The signed report as a file: the envelope plus the signer's public key and a `tlog` slot (outside
 * the signature) for a transparency-log inclusion proof — the shape of signed run reports and
 * verdicts, so `assay tamper report --sign --log` logs it the same way.
 */
export const tamperBundle = (env: Envelope, signer: Signer): ReportBundle => bundleOf(env, signer);

export function signTamperReport(logBytes: Uint8Array, records: readonly TamperRecord[], signer: Signer & { name: string }, o: { resamples: number; now?: Date }): Envelope {
  const report = buildTamperReport(records, { resamples: o.resamples });
  const statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: 'tamper.jsonl', digest: { sha256: sha256Hex(logBytes) } }],
    predicateType: TAMPER_PREDICATE_TYPE,
    predicate: jsonSafe({ signer: { name: signer.name, keyId: signer.keyId }, signedAt: (o.now ?? new Date()).toISOString(), resamples: o.resamples, report } satisfies TamperPredicate),
  };
  return signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(canonicalJson(statement), 'utf8'), [signer]);
}

export interface TamperCheck {
  ok: boolean;
  /** 0 verified; 11 no trusted signature; 13 malformed; 14 the log is not the signed one; 15 the report does not follow from the log or a run log differs. */
  exitCode: number;
  problems: string[];
  keyId: string | null;
  report: TamperReport | null;
  /** SHA-256 (hex) of the signed payload: what a signed verdict cites and the transparency log entry names. */
  payloadSha256?: string;
  /** The transparency-log inclusion checked by verifyTamperReportLogged (null: no proof, or not checked). */
  tlog?: TlogVerification | null;
  warnings?: string[];
}

export function verifyTamperReport(envelopeBytes: Uint8Array, logBytes: Uint8Array, records: readonly TamperRecord[], trust: TrustPolicy, runLogDigest: (relPath: string) => string | null, source = 'tamper report'): TamperCheck {
  const res: TamperCheck = { ok: false, exitCode: 0, problems: [], keyId: null, report: null };
  const fail = (code: number, msg: string) => {
    if (!res.exitCode) res.exitCode = code;
    res.problems.push(msg);
    return res;
  };
  let env: ReturnType<typeof parseEnvelope>;
  let payload: Buffer;
  try {
    env = parseEnvelope(envelopeBytes, source);
    payload = decodeBase64Strict(env.payload, 'payload');
    if (env.signatures.length > MAX_ENVELOPE_SIGNATURES) return fail(13, `${source}: carries ${env.signatures.length} signatures; at most ${MAX_ENVELOPE_SIGNATURES}`);
  } catch (e) {
    return fail(13, `${source}: ${(e as Error).message}`);
  }
  // Only tester keys sign results (not accreditation bodies or cosigners).
  const hit = findSigner(env, payload, trust.testers, (t) => t.publicKey);
  if (!hit) return fail(11, `${source}: no signature verifies under a tester key in the trust file`);
  res.keyId = hit.keyId;
  res.payloadSha256 = sha256Hex(payload);
  let st: { _type?: unknown; predicateType?: unknown; subject?: { digest?: { sha256?: unknown } }[]; predicate?: TamperPredicate };
  try {
    st = parseStrictJson(payload, { file: `${source} payload` }) as typeof st;
  } catch (e) {
    return fail(13, (e as Error).message);
  }
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE || st?._type !== STATEMENT_TYPE || st.predicateType !== TAMPER_PREDICATE_TYPE || !st.predicate || typeof st.predicate.resamples !== 'number')
    return fail(13, `${source}: not a ${TAMPER_PREDICATE_TYPE} statement`);
  const signedLog = st.subject?.[0]?.digest?.sha256;
  if (signedLog !== sha256Hex(logBytes)) return fail(14, `the tamper log given is not the signed one (signed sha256 ${String(signedLog)})`);
  for (const r of records)
    if (r.type === 'eval' && r.runLogSha256) {
      const got = runLogDigest(r.runLog);
      if (got !== null && got !== r.runLogSha256) fail(15, `run log ${r.runLog} (evaluation ${r.key}) differs from the digest the tamper log recorded`);
    }
  let rebuilt: TamperReport;
  try {
    // A report signed as v1 is rebuilt as v1 (the format it was signed in), anything else as v2.
    const version = (st.predicate.report as { schema?: unknown } | undefined)?.schema === TAMPER_REPORT_SCHEMA ? 1 : 2;
    rebuilt = buildTamperReport(records, { resamples: Math.min(100_000, Math.max(1, Math.floor(st.predicate.resamples))), version });
  } catch (e) {
    return fail(13, `the tamper log: ${(e as Error).message}`);
  }
  if (canonicalJson(jsonSafe(rebuilt)) !== canonicalJson(st.predicate.report)) fail(15, 'the signed report does not follow from the tamper log (recomputed figures differ)');
  res.report = rebuilt;
  res.ok = res.problems.length === 0;
  if (res.ok) res.exitCode = 0;
  if (!res.ok && !res.exitCode) res.exitCode = 15;
  return res;
}

/**
 * verifyTamperReport, then the report's transparency-log inclusion proof (the `tlog` slot of the
 * file, c2sp.org/tlog-proof@v1) against the logs of the trust file, as `assay verify` checks a run
 * report's: exit 17 when the proof is invalid, from an untrusted log with `require`, or a newer
 * checkpoint does not extend it; 2 when the log cannot be reached.
 */
export async function verifyTamperReportLogged(envelopeBytes: Uint8Array, logBytes: Uint8Array, records: readonly TamperRecord[], trust: TrustPolicy, runLogDigest: (relPath: string) => string | null, tlog: TlogVerifyOptions, source = 'tamper report'): Promise<TamperCheck> {
  const res = verifyTamperReport(envelopeBytes, logBytes, records, trust, runLogDigest, source);
  res.warnings = [];
  res.tlog = null;
  if (res.exitCode === 13 || res.exitCode === 11) return res;
  const env = parseEnvelope(envelopeBytes, source);
  const payload = decodeBase64Strict(env.payload, 'payload');
  const t = await checkReportInclusion((env as Record<string, unknown>).tlog, payload, TAMPER_PREDICATE_TYPE, trust.logs, tlog, source);
  res.warnings.push(...t.warnings);
  res.tlog = t.result;
  for (const f of t.failures) {
    if (!res.exitCode) res.exitCode = f.io ? 2 : 17;
    res.problems.push(`${f.where}: ${f.message}`);
  }
  res.ok = res.problems.length === 0;
  return res;
}
