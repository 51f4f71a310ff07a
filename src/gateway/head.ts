import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import { decodeBase64Strict, parseEnvelope, signEnvelope, verifySignature, type Envelope } from '../attest/dsse.js';
import { parseStrictJson } from '../attest/json.js';
import { exportPublicJwk, keyIdOf, publicKeyFromJwk, type Signer } from '../attest/keys.js';
import { checkOpening, recordHash, verifyChain, type ChainProblem, type Opening } from './commit.js';

/**
 * Signed heads and log exports.
 *
 * A signed head is a DSSE envelope (payload type `application/vnd.assay.gateway-head+json`) over
 * the RFC 8785 form of {"schema":"assay.gateway-head/v1","gateway","size","head","time"}, signed
 * by the gateway's key: the gateway vouches that its log had `size` records ending in `head`.
 *
 * An export (`assay.gateway-log/v1`, JSON Lines) is what the developer hands a verifier:
 *   line 1   {"schema":"assay.gateway-log/v1","gateway","publicKey":<JWK>,"exportedAt"}
 *   then     each record's RFC 8785 text, in sequence order from 0
 *   last     {"schema":"assay.gateway-signed-head/v1","envelope":<signed head>}
 * The public key in line 1 is a hint; trust comes from the key the verifier was given.
 */

export const HEAD_PAYLOAD_TYPE = 'application/vnd.assay.gateway-head+json';
export const HEAD_SCHEMA = 'assay.gateway-head/v1';
export const EXPORT_SCHEMA = 'assay.gateway-log/v1';
export const SIGNED_HEAD_SCHEMA = 'assay.gateway-signed-head/v1';

const headSchema = z.strictObject({
  schema: z.literal(HEAD_SCHEMA),
  gateway: z.string(),
  size: z.number().int().min(0),
  head: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  time: z.string(),
});
export type Head = z.infer<typeof headSchema>;

export function signHead(signer: Signer, h: Omit<Head, 'schema'>): { head: Head; envelope: Envelope; payload: Buffer } {
  const head: Head = { schema: HEAD_SCHEMA, ...h };
  const payload = Buffer.from(canonicalJson(head), 'utf8');
  return { head, envelope: signEnvelope(HEAD_PAYLOAD_TYPE, payload, [signer]), payload };
}

/** Verifies a signed head with a trusted key; throws naming the problem. */
export function openHead(envelope: Envelope, key: KeyObject): Head {
  if (envelope.payloadType !== HEAD_PAYLOAD_TYPE) throw new AssayError('HEAD_FORMAT', `payload type ${envelope.payloadType} is not ${HEAD_PAYLOAD_TYPE}`);
  const payload = decodeBase64Strict(envelope.payload, 'payload');
  const keyId = keyIdOf(key);
  const ok = envelope.signatures.some((s) => (s.keyid === '' || s.keyid === keyId) && (() => {
    try {
      return verifySignature(envelope.payloadType, payload, decodeBase64Strict(s.sig, 'sig'), key);
    } catch {
      return false;
    }
  })());
  if (!ok) throw new AssayError('HEAD_SIGNATURE', `the log head is not signed by the trusted gateway key ${keyId}`);
  const r = headSchema.safeParse(parseStrictJson(payload));
  if (!r.success) throw new AssayError('HEAD_FORMAT', `signed head: ${r.error.issues[0]!.message}`, { field: r.error.issues[0]!.path.join('.') });
  if (canonicalJson(r.data) !== payload.toString('utf8')) throw new AssayError('HEAD_FORMAT', 'signed head payload is not in canonical form');
  return r.data;
}

export function formatExport(o: { gateway: string; publicKey: KeyObject; records: Iterable<string>; signedHead: Envelope; now?: Date }): string {
  const lines = [canonicalJson({ schema: EXPORT_SCHEMA, gateway: o.gateway, publicKey: exportPublicJwk(o.publicKey), exportedAt: (o.now ?? new Date()).toISOString() })];
  for (const r of o.records) lines.push(r);
  lines.push(canonicalJson({ schema: SIGNED_HEAD_SCHEMA, envelope: o.signedHead }));
  return lines.join('\n') + '\n';
}

export interface VerifiedLog {
  gateway: string;
  size: number;
  head: string;
  /** Record texts by sequence number. */
  records: string[];
  problems: ChainProblem[];
}

/**
 * Verifies an export with a trusted gateway key: the chain from genesis, and the signed head
 * naming exactly that chain's size and head. Chain problems are returned; a bad head throws.
 */
export function verifyExport(text: string, trustedKey: KeyObject, file?: string): VerifiedLog {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length < 2) throw new AssayError('EXPORT_FORMAT', 'an export needs a header line and a signed head line', { ...(file ? { file } : {}) });
  const header = parseStrictJson(lines[0]!, { ...(file ? { file } : {}) }) as Record<string, unknown>;
  if (header?.schema !== EXPORT_SCHEMA || typeof header.gateway !== 'string') throw new AssayError('EXPORT_FORMAT', `line 1 is not an ${EXPORT_SCHEMA} header`, { ...(file ? { file } : {}), line: 1 });
  if (header.publicKey !== undefined) publicKeyFromJwk(header.publicKey, { ...(file ? { file } : {}), field: 'publicKey' });
  const last = parseStrictJson(lines[lines.length - 1]!) as Record<string, unknown>;
  if (last?.schema !== SIGNED_HEAD_SCHEMA) throw new AssayError('EXPORT_FORMAT', `last line is not an ${SIGNED_HEAD_SCHEMA}`, { ...(file ? { file } : {}), line: lines.length });
  const envelope = parseEnvelope(JSON.stringify(last.envelope));
  const head = openHead(envelope, trustedKey);
  if (head.gateway !== header.gateway) throw new AssayError('EXPORT_FORMAT', `signed head is for gateway "${head.gateway}", the export says "${header.gateway}"`, { ...(file ? { file } : {}) });
  const records = lines.slice(1, -1);
  const chain = verifyChain(records.map((t) => ({ text: t })));
  const problems = [...chain.problems];
  if (chain.size !== head.size) problems.push({ seq: chain.size, problem: `the export holds ${chain.size} records, the signed head says ${head.size}` });
  else if (chain.head !== head.head) problems.push({ seq: Math.max(0, chain.size - 1), problem: `the chain ends in ${chain.head}, the signed head says ${head.head}: records were altered` });
  return { gateway: head.gateway, size: chain.size, head: chain.head, records, problems };
}

/**
 * Third-party check of a tester's opening: the log verifies (chain + signed head), the opened record
 * is the one at its sequence number, and the nonces and contents match its commitments.
 */
export function verifyOpening(opening: Opening, log: VerifiedLog): string[] {
  const problems = log.problems.map((p) => `log record ${p.seq}: ${p.problem}`);
  const seq = opening.record.seq;
  const inLog = log.records[seq];
  if (inLog === undefined) problems.push(`the log has no record ${seq}`);
  else if (canonicalJson(JSON.parse(inLog)) !== canonicalJson(opening.record) || recordHash(opening.record) !== recordHash(JSON.parse(inLog))) problems.push(`record ${seq} in the opening differs from record ${seq} in the log`);
  problems.push(...checkOpening(opening));
  return problems;
}
