import type { KeyObject } from 'node:crypto';
import * as z from 'zod';
import { canonicalJson } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import { decodeBase64Strict, parseEnvelope, signEnvelope, findSigner, type Envelope } from '../attest/dsse.js';
import { parseStrictJson } from '../attest/json.js';
import { exportPublicJwk, keyIdOf, publicKeyFromJwk, type Signer } from '../attest/keys.js';
import { verifyTlogProof } from '../tlog/client.js';
import { encodeEntry, sha256Prefixed } from '../tlog/entry.js';
import { inclusionFailure, leafHash, merkleRoot } from '../tlog/merkle.js';
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
 *
 * Version 2 heads (`assay.gateway-head/v2`) add `root`: the RFC 9162 Merkle tree hash over the
 * records (leaf = SHA-256(0x00 ‖ record text), tree.ts), so one tester can be given inclusion
 * proofs for its own records (`assay.gateway-proofs/v1`) without seeing anyone else's. Every head
 * the gateway signs goes into the transparency log as an `access-log` entry; verifiers check it
 * there (checkAnchor). Version 1 heads and exports keep verifying.
 */

export const HEAD_PAYLOAD_TYPE = 'application/vnd.assay.gateway-head+json';
export const HEAD_SCHEMA = 'assay.gateway-head/v1';
export const EXPORT_SCHEMA = 'assay.gateway-log/v1';
export const SIGNED_HEAD_SCHEMA = 'assay.gateway-signed-head/v1';
export const HEAD_SCHEMA_V2 = 'assay.gateway-head/v2';
export const PROOFS_SCHEMA = 'assay.gateway-proofs/v1';
const sha = z.string().regex(/^sha256:[0-9a-f]{64}$/);

const headSchema = z.strictObject({
  schema: z.literal(HEAD_SCHEMA),
  gateway: z.string(),
  size: z.number().int().min(0),
  head: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  time: z.string(),
});
export type Head = z.infer<typeof headSchema>;
const headSchemaV2 = z.strictObject({ schema: z.literal(HEAD_SCHEMA_V2), gateway: z.string(), size: z.number().int().min(0), head: sha, root: sha, time: z.string() });
export type HeadV2 = z.infer<typeof headSchemaV2>;
export type AnyHead = Head | HeadV2;

export function signHeadV2(signer: Signer, h: Omit<HeadV2, 'schema'>): { head: HeadV2; envelope: Envelope; payload: Buffer } {
  const head: HeadV2 = { schema: HEAD_SCHEMA_V2, ...h };
  const payload = Buffer.from(canonicalJson(head), 'utf8');
  return { head, envelope: signEnvelope(HEAD_PAYLOAD_TYPE, payload, [signer]), payload };
}

/** The transparency-log entry that anchors a signed head (type `access-log`). */
export function headEntry(envelope: Envelope, head: AnyHead): Uint8Array {
  const payload = decodeBase64Strict(envelope.payload, 'payload');
  return encodeEntry({ type: 'access-log', digest: sha256Prefixed(payload), metadata: { gateway: head.gateway, size: head.size, head: head.head, ...('root' in head ? { root: head.root } : {}) } });
}

export function signHead(signer: Signer, h: Omit<Head, 'schema'>): { head: Head; envelope: Envelope; payload: Buffer } {
  const head: Head = { schema: HEAD_SCHEMA, ...h };
  const payload = Buffer.from(canonicalJson(head), 'utf8');
  return { head, envelope: signEnvelope(HEAD_PAYLOAD_TYPE, payload, [signer]), payload };
}

/** Verifies a signed head (v1 or v2) with a trusted key; throws naming the problem. */
export function openHead(envelope: Envelope, key: KeyObject): AnyHead {
  if (envelope.payloadType !== HEAD_PAYLOAD_TYPE) throw new AssayError('HEAD_FORMAT', `payload type ${envelope.payloadType} is not ${HEAD_PAYLOAD_TYPE}`);
  const payload = decodeBase64Strict(envelope.payload, 'payload');
  const keyId = keyIdOf(key);
  // Only signatures whose keyid hint is empty or names the trusted key are tried.
  const hinted = { ...envelope, signatures: envelope.signatures.filter((s) => s.keyid === '' || s.keyid === keyId) };
  if (!findSigner(hinted, payload, [key], (k) => k)) throw new AssayError('HEAD_SIGNATURE', `the log head is not signed by the trusted gateway key ${keyId}`);
  const raw = parseStrictJson(payload) as { schema?: unknown };
  const r = (raw?.schema === HEAD_SCHEMA_V2 ? headSchemaV2 : headSchema).safeParse(raw);
  if (!r.success) throw new AssayError('HEAD_FORMAT', `signed head: ${r.error.issues[0]!.message}`, { field: r.error.issues[0]!.path.join('.') });
  if (canonicalJson(r.data) !== payload.toString('utf8')) throw new AssayError('HEAD_FORMAT', 'signed head payload is not in canonical form');
  return r.data;
}

export function formatExport(o: { gateway: string; publicKey: KeyObject; records: Iterable<string>; signedHead: Envelope; tlogProof?: string | null; now?: Date }): string {
  const lines = [canonicalJson({ schema: EXPORT_SCHEMA, gateway: o.gateway, publicKey: exportPublicJwk(o.publicKey), exportedAt: (o.now ?? new Date()).toISOString() })];
  for (const r of o.records) lines.push(r);
  lines.push(canonicalJson({ schema: SIGNED_HEAD_SCHEMA, envelope: o.signedHead, ...(o.tlogProof ? { tlogProof: o.tlogProof } : {}) }));
  return lines.join('\n') + '\n';
}

export interface VerifiedLog {
  gateway: string;
  size: number;
  head: string;
  /** Record texts by sequence number (sparse for a per-tester proofs bundle). */
  records: string[];
  problems: ChainProblem[];
  /** The verified signed head and its transparency-log proof, when the export carries one. */
  signedHead: { envelope: Envelope; head: AnyHead; tlogProof: string | null };
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
  const tlogProof = typeof last.tlogProof === 'string' ? last.tlogProof : null;
  if (head.gateway !== header.gateway) throw new AssayError('EXPORT_FORMAT', `signed head is for gateway "${head.gateway}", the export says "${header.gateway}"`, { ...(file ? { file } : {}) });
  const records = lines.slice(1, -1);
  const chain = verifyChain(records.map((t) => ({ text: t })));
  const problems = [...chain.problems];
  if (chain.size !== head.size) problems.push({ seq: chain.size, problem: `the export holds ${chain.size} records, the signed head says ${head.size}` });
  else if (chain.head !== head.head) problems.push({ seq: Math.max(0, chain.size - 1), problem: `the chain ends in ${chain.head}, the signed head says ${head.head}: records were altered` });
  else if ('root' in head) {
    const root = `sha256:${Buffer.from(merkleRoot(records.map((t) => leafHash(Buffer.from(t, 'utf8'))))).toString('hex')}`;
    if (root !== head.root) problems.push({ seq: Math.max(0, chain.size - 1), problem: `the records' Merkle root is ${root}, the signed head says ${head.root}` });
  }
  return { gateway: head.gateway, size: chain.size, head: chain.head, records, problems, signedHead: { envelope, head, tlogProof } };
}

/** A tester's own records with inclusion proofs against one signed, anchored v2 head. */
export interface ProofsBundle {
  schema: typeof PROOFS_SCHEMA;
  gateway: string;
  publicKey: unknown;
  signedHead: Envelope;
  tlogProof: string | null;
  records: { seq: number; text: string; proof: string[] }[];
}

const bundleSchema = z.strictObject({
  schema: z.literal(PROOFS_SCHEMA),
  gateway: z.string(),
  publicKey: z.unknown(),
  signedHead: z.unknown(),
  tlogProof: z.string().nullable(),
  records: z.array(z.strictObject({ seq: z.number().int().min(0), text: z.string(), proof: z.array(z.string().regex(/^[A-Za-z0-9+/]{43}=$/)).max(63) })),
});

export function formatProofs(o: { gateway: string; publicKey: KeyObject; signedHead: Envelope; tlogProof: string | null; records: { seq: number; text: string; proof: Uint8Array[] }[] }): string {
  const b: ProofsBundle = { schema: PROOFS_SCHEMA, gateway: o.gateway, publicKey: exportPublicJwk(o.publicKey), signedHead: o.signedHead, tlogProof: o.tlogProof, records: o.records.map((r) => ({ seq: r.seq, text: r.text, proof: r.proof.map((h) => Buffer.from(h).toString('base64')) })) };
  return `${JSON.stringify(b, null, 1)}\n`;
}

export const isProofsBundle = (text: string): boolean => /^\s*\{\s*"schema"\s*:\s*"assay\.gateway-proofs\/v1"/.test(text);

/**
 * Verifies a proofs bundle with a trusted gateway key: the v2 head's signature, and each record's
 * inclusion under its Merkle root. Problems per record are returned; a bad head throws.
 */
export function verifyProofs(text: string, trustedKey: KeyObject, file?: string): VerifiedLog {
  const where = file ? { file } : {};
  const r = bundleSchema.safeParse(parseStrictJson(text, where));
  if (!r.success) throw new AssayError('EXPORT_FORMAT', `not an ${PROOFS_SCHEMA} bundle: ${r.error.issues[0]!.message}`, { ...where, field: r.error.issues[0]!.path.join('.') });
  const b = r.data;
  const envelope = parseEnvelope(JSON.stringify(b.signedHead));
  const head = openHead(envelope, trustedKey);
  if (!('root' in head)) throw new AssayError('EXPORT_FORMAT', `a proofs bundle needs an ${HEAD_SCHEMA_V2} head (with a Merkle root)`, where);
  if (head.gateway !== b.gateway) throw new AssayError('EXPORT_FORMAT', `signed head is for gateway "${head.gateway}", the bundle says "${b.gateway}"`, where);
  const root = Buffer.from(head.root.slice(7), 'hex');
  const records: string[] = [];
  const problems: ChainProblem[] = [];
  for (const rec of b.records) {
    const why = inclusionFailure(leafHash(Buffer.from(rec.text, 'utf8')), rec.seq, head.size, rec.proof.map((p) => Buffer.from(p, 'base64')), root);
    if (why) problems.push({ seq: rec.seq, problem: `not proven included under the signed head's root: ${why}` });
    else records[rec.seq] = rec.text;
  }
  return { gateway: head.gateway, size: head.size, head: head.head, records, problems, signedHead: { envelope, head, tlogProof: b.tlogProof } };
}

/** Reads either form a verifier may be given: a full export (JSON Lines) or a tester's proofs bundle. */
export const verifyLogFile = (text: string, trustedKey: KeyObject, file?: string): VerifiedLog => (isProofsBundle(text) ? verifyProofs(text, trustedKey, file) : verifyExport(text, trustedKey, file));

/**
 * Checks that the signed head is in the transparency log: the log's signature on the checkpoint
 * (and witness cosignatures when asked for), and the head's `access-log` entry included under it.
 * A head without a proof fails: an unanchored head could have been re-signed after a rewrite.
 */
export function checkAnchor(log: VerifiedLog, opts: { logVkey: string; witnessVkeys?: readonly string[]; witnessesRequired?: number }): string[] {
  const { envelope, head, tlogProof } = log.signedHead;
  if (!tlogProof) return [`the signed head (size ${head.size}) carries no transparency-log proof: it is not anchored, so a rewritten and re-signed log could not be told apart`];
  try {
    verifyTlogProof(tlogProof, headEntry(envelope, head), { logVkey: opts.logVkey, ...(opts.witnessVkeys ? { witnessVkeys: opts.witnessVkeys } : {}), ...(opts.witnessesRequired !== undefined ? { witnessesRequired: opts.witnessesRequired } : {}) });
    return [];
  } catch (err) {
    return [`the signed head is not in the transparency log: ${(err as Error).message}`];
  }
}

/**
 * Third-party check of a tester's opening: the log verifies (chain + signed head), the opened record
 * is the one at its sequence number, and the nonces and contents match its commitments.
 */
export function verifyOpening(opening: Opening, log: VerifiedLog): string[] {
  const problems = log.problems.map((p) => `log record ${p.seq}: ${p.problem}`);
  if (opening.record.seq >= log.size) problems.push(`record ${opening.record.seq} is beyond the signed head (size ${log.size})`);
  const seq = opening.record.seq;
  const inLog = log.records[seq];
  if (inLog === undefined) problems.push(`the log has no record ${seq}`);
  else if (canonicalJson(JSON.parse(inLog)) !== canonicalJson(opening.record) || recordHash(opening.record) !== recordHash(JSON.parse(inLog))) problems.push(`record ${seq} in the opening differs from record ${seq} in the log`);
  problems.push(...checkOpening(opening));
  return problems;
}
