import type { KeyObject } from 'node:crypto';
import * as z from 'zod';
import { AssayError } from '../common/errors.js';
import { canonicalJson, sha256Hex } from '../common/canonical.js';
import { IN_TOTO_PAYLOAD_TYPE, decodeBase64Strict, parseEnvelope, signEnvelope, findSigner, type Envelope } from '../attest/dsse.js';
import { parseStrictJson } from '../attest/json.js';
import { keyIdOf, type Signer } from '../attest/keys.js';
import { STATEMENT_TYPE } from '../attest/statement.js';

/**
 * Statements the registry accepts only when signed client-side by an organisation's key (the
 * server holds no private keys). Accreditation grants reuse `https://assay.dev/accreditation/v1`
 * (attest/trust.ts), which `assay verify` already understands; state changes and recognitions
 * are the two predicates below. Format: docs/formats/registry-api.md.
 */
export const ACCREDITATION_STATUS_PREDICATE = 'https://assay.dev/accreditation-status/v1';
export const RECOGNITION_PREDICATE = 'https://assay.dev/recognition/v1';

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);
const domains = z.array(z.string().min(1).max(64)).min(1).max(64);

export const accreditationStatusSchema = z.strictObject({
  /** Payload digest of the accreditation grant statement this changes. */
  accreditation: digest,
  state: z.enum(['suspended', 'granted', 'withdrawn']),
  reason: z.string().min(1).max(2000),
  at: z.iso.datetime({ offset: true }),
});
export const recognitionSchema = z.strictObject({
  recogniser: z.string().min(1).max(128),
  recognised: z.string().min(1).max(128),
  riskAreas: domains,
  issuedAt: z.iso.datetime({ offset: true }),
});

/** At most this many signatures are looked at on an uploaded statement: cost stays bounded. */
export const MAX_STATEMENT_SIGNATURES = 8;

export function signStatement(signer: Signer, subjectName: string, subjectSha256: string, predicateType: string, predicate: unknown): Envelope {
  const st = { _type: STATEMENT_TYPE, subject: [{ name: subjectName, digest: { sha256: subjectSha256 } }], predicateType, predicate };
  return signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(canonicalJson(st), 'utf8'), [signer]);
}

export interface CheckedStatement<T> {
  predicate: T;
  payloadDigest: string;
  subject: { name: string; sha256: string };
  signedBy: string;
  envelope: Envelope;
}

/**
 * Checks a signed in-toto statement: envelope shape, a signature by one of `keys`, the predicate
 * type and schema. Errors name the field.
 */
export function checkStatement<T>(envelope: unknown, keys: readonly KeyObject[], predicateType: string, schema: z.ZodType<T>, what: string): CheckedStatement<T> {
  const bad = (problem: string, field?: string): never => {
    throw new AssayError('INVALID', `${what}: ${problem}`, field ? { field } : {});
  };
  let env: Envelope;
  try {
    env = parseEnvelope(JSON.stringify(envelope), what);
  } catch (err) {
    return bad((err as Error).message, 'statement');
  }
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) bad(`payloadType must be ${IN_TOTO_PAYLOAD_TYPE}`, 'statement.payloadType');
  if (env.signatures.length > MAX_STATEMENT_SIGNATURES) bad(`more than ${MAX_STATEMENT_SIGNATURES} signatures`, 'statement.signatures');
  const payload = decodeBase64Strict(env.payload, 'payload');
  const signer = findSigner(env, payload, keys, (k) => k, MAX_STATEMENT_SIGNATURES);
  const signedBy = signer ? keyIdOf(signer) : null;
  if (!signedBy) return bad("not signed by any of the signing organisation's registered keys", 'statement.signatures');
  let st: Record<string, unknown>;
  try {
    st = parseStrictJson(payload, { file: `${what} payload` }) as Record<string, unknown>;
  } catch (err) {
    return bad((err as Error).message, 'statement.payload');
  }
  if (!st || st._type !== STATEMENT_TYPE) bad('payload is not an in-toto Statement v1', 'statement.payload._type');
  if (st.predicateType !== predicateType) bad(`predicateType must be ${predicateType}`, 'statement.payload.predicateType');
  const subj = Array.isArray(st.subject) ? (st.subject as { name?: unknown; digest?: { sha256?: unknown } }[]) : [];
  if (subj.length !== 1 || typeof subj[0]!.name !== 'string' || typeof subj[0]!.digest?.sha256 !== 'string') bad('must have exactly one subject with a sha256 digest', 'statement.payload.subject');
  const r = schema.safeParse(st.predicate);
  if (!r.success) {
    const i = r.error.issues[0]!;
    return bad(i.message, `statement.payload.predicate.${i.path.join('.')}`);
  }
  return {
    predicate: r.data,
    payloadDigest: `sha256:${sha256Hex(payload)}`,
    subject: { name: subj[0]!.name as string, sha256: subj[0]!.digest!.sha256 as string },
    signedBy: signedBy!,
    envelope: env,
  };
}
