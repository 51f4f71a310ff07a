import { canonicalJson, sha256Hex } from '../common/canonical.js';
import { decodeBase64Strict, findSigner, IN_TOTO_PAYLOAD_TYPE, MAX_ENVELOPE_SIGNATURES, parseEnvelope, signEnvelope, type Envelope } from '../attest/dsse.js';
import { parseStrictJson } from '../attest/json.js';
import type { Signer } from '../attest/keys.js';
import { STATEMENT_TYPE } from '../attest/statement.js';
import type { TrustPolicy } from '../attest/trust.js';
import type { TamperRecord } from './log.js';
import { buildTamperReport, type TamperReport } from './report.js';

/**
 * A signed tamper report: an in-toto Statement whose subject is the tamper log (by SHA-256) and
 * whose predicate is the report built from it. Verification needs no trust in the signer's
 * arithmetic: the report is rebuilt from the log (pure, seeded) and must equal the signed one;
 * each evaluation's run log, when present, must match the digest the tamper log recorded.
 */
export const TAMPER_PREDICATE_TYPE = 'https://assay.dev/attestation/tamper-report/v1';

export interface TamperPredicate {
  signer: { name: string; keyId: string };
  signedAt: string;
  resamples: number;
  report: TamperReport;
}

/** JSON cannot carry ∞: the signed report writes it as the string "Infinity" (as `--json` does). */
const jsonSafe = <T>(v: T): T => JSON.parse(JSON.stringify(v, (_k, x) => (x === Infinity ? 'Infinity' : x === -Infinity ? '-Infinity' : x))) as T;

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
    rebuilt = buildTamperReport(records, { resamples: Math.min(100_000, Math.max(1, Math.floor(st.predicate.resamples))) });
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
