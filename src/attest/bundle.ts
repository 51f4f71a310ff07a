import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { AssayError } from '../common/errors.js';
import type { DigestSet } from './digest.js';
import { cosign, IN_TOTO_PAYLOAD_TYPE, parseEnvelope, signEnvelope, type Envelope } from './dsse.js';
import { exportPublicJwk, type PublicJwk, type Signer } from './keys.js';
import { buildRunReport, parseStatement, statementBytes, type BuildOptions, type RunReportStatement } from './statement.js';

/**
 * The report file: a DSSE envelope (payloadType, payload, signatures) plus optional fields that
 * DSSE consumers ignore and that are NOT signed:
 *  - publicKeys: [{keyid, jwk}] — public keys of the signers, so a verifier can tell "valid
 *    signature by an untrusted key" from "bad signature"; never a reason to trust a key;
 *  - accreditations: accreditation envelopes for the tester key (each verified on its own);
 *  - tlog: the transparency-log inclusion proof (c2sp tlog-proof text with the signed
 *    checkpoint), or null when the report was not logged (src/attest/tlog.ts).
 */
export interface ReportBundle extends Envelope {
  publicKeys: { keyid: string; jwk: PublicJwk }[];
  accreditations: Envelope[];
  tlog: null | { proof: string };
}

export interface AttestOptions {
  signer: Signer;
  testerName: string;
  /** A developer's claim (issue 27): signed in the developer role, with the audit seed delay D. */
  claim?: { seedDelay: number };
  level?: number;
  groupBy?: string;
  releaseStatement?: DigestSet | null;
  accreditations?: Envelope[];
  now?: Date;
  /** Fills the predicate's `policy` slot (see BuildOptions.policy). */
  policy?: BuildOptions['policy'];
}

const hintFor = (s: Signer) => {
  const { kid: _kid, ...jwk } = exportPublicJwk(s.publicKey);
  return { keyid: s.keyId, jwk };
};

/** Builds the run report statement from a run log and signs it as the tester. */
export async function attestRun(logPath: string, opts: AttestOptions): Promise<{ bundle: ReportBundle; statement: RunReportStatement }> {
  const statement = await buildRunReport(logPath, {
    tester: { name: opts.testerName, keyId: opts.signer.keyId, ...(opts.claim ? { role: 'developer' as const, seedDelay: opts.claim.seedDelay } : {}) },
    ...(opts.level !== undefined ? { level: opts.level } : {}),
    ...(opts.groupBy ? { groupBy: opts.groupBy } : {}),
    releaseStatement: opts.releaseStatement ?? null,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.policy ? { policy: opts.policy } : {}),
  });
  const payload = statementBytes(statement);
  parseStatement(payload); // never sign what a verifier would call malformed
  const env = signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, [opts.signer]);
  return { bundle: { ...env, publicKeys: [hintFor(opts.signer)], accreditations: opts.accreditations ?? [], tlog: null }, statement };
}

/** Adds a co-signature over the same payload bytes (and the co-signer's public key hint). */
export function cosignBundle(bundle: ReportBundle, signer: Signer): ReportBundle {
  const env = cosign(bundle, signer);
  const publicKeys = bundle.publicKeys.some((k) => k.keyid === signer.keyId) ? bundle.publicKeys : [...bundle.publicKeys, hintFor(signer)];
  return { ...bundle, signatures: env.signatures, publicKeys };
}

export const bundleText = (b: ReportBundle): string =>
  JSON.stringify({ payloadType: b.payloadType, payload: b.payload, signatures: b.signatures, publicKeys: b.publicKeys, accreditations: b.accreditations, tlog: b.tlog }, null, 2) + '\n';

/** Reads a report file for co-signing (strict JSON; optional fields defaulted). */
export function readBundle(file: string): ReportBundle {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new AssayError('IO', `cannot read report: ${(err as Error).message}`, { file });
  }
  const e = parseEnvelope(bytes, file);
  return {
    ...e,
    publicKeys: Array.isArray(e.publicKeys) ? (e.publicKeys as ReportBundle['publicKeys']) : [],
    accreditations: Array.isArray(e.accreditations) ? (e.accreditations as Envelope[]) : [],
    tlog: (e.tlog as ReportBundle['tlog']) ?? null,
  };
}

/** Writes a file atomically (temp + rename), so a reader never sees half a report. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}
