import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import { canonicalJson } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import { parseStrictJson } from '../attest/json.js';

/**
 * The confidential, tamper-evident access log (docs/formats/gateway.md).
 *
 * Commitment to one body (request or response) of request `id`:
 *   nonce = HKDF-SHA256(ikm = commitment key, salt = "assay/gateway/nonce/v1", info = dir "\n" id, 32 bytes)
 *   c     = "sha256:" hex SHA-256("assay/commit/v1\n" ‖ nonce ‖ SHA-256(content))
 * dir is "req" or "resp"; content is the RFC 8785 form of the body when it is JSON ("jcs": a
 * tester can rebuild it from what they sent or got, however serialised) and the exact bytes
 * otherwise ("bytes": event streams). The nonce makes the commitment hiding (prompts are guessable),
 * SHA-256 makes it binding; revealing one nonce reveals nothing about the others.
 *
 * Records (`assay.gateway-record/v1`) carry the commitments plus what the developer may see (time,
 * grant, tester, endpoint, model, release digest, status, parameter names, token counts, cost).
 * Each names the previous record's hash (`prev`; the first names 64 zeros); a record's hash is
 * SHA-256 of its RFC 8785 form. Changing any record breaks the link from the next one, and
 * rewriting the tail changes the head, which signed heads and transparency-log checkpoints fix.
 */

export const RECORD_SCHEMA = 'assay.gateway-record/v1';
export const OPENING_SCHEMA = 'assay.gateway-opening/v1';
export const GENESIS = `sha256:${'0'.repeat(64)}`;
const DOMAIN = Buffer.from('assay/commit/v1\n');
const NONCE_SALT = Buffer.from('assay/gateway/nonce/v1');

export type Form = 'jcs' | 'bytes';
const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);
const commitment = z.strictObject({ form: z.enum(['jcs', 'bytes']), commitment: digest });

export const recordSchema = z.strictObject({
  schema: z.literal(RECORD_SCHEMA),
  seq: z.number().int().min(0),
  prev: digest,
  time: z.string(),
  requestId: z.string().min(1).max(128),
  grant: z.string(),
  tester: z.string(),
  endpoint: z.string(),
  model: z.string().nullable(),
  release: digest.nullable(),
  status: z.number().int(),
  refusal: z.string().nullable(),
  stream: z.boolean(),
  params: z.array(z.string()),
  usage: z.strictObject({ input: z.number().min(0), output: z.number().min(0), reported: z.boolean() }).nullable(),
  costUsd: z.number().min(0).nullable(),
  request: commitment,
  response: commitment.nullable(),
});
export type AccessRecord = z.infer<typeof recordSchema>;

// HKDF (RFC 5869) with SHA-256 for a 32-byte output is Extract (PRK = HMAC(salt, ikm)) then one
// Expand block (HMAC(PRK, info ‖ 0x01)); the PRK depends only on the key, so it is kept per key.
const prks = new Map<string, Buffer>();
export function nonceFor(commitKey: Uint8Array, dir: 'req' | 'resp', requestId: string): Buffer {
  const id = Buffer.from(commitKey).toString('base64');
  let prk = prks.get(id);
  if (!prk) {
    prk = createHmac('sha256', NONCE_SALT).update(commitKey).digest();
    if (prks.size >= 10_000) prks.clear();
    prks.set(id, prk);
  }
  return createHmac('sha256', prk).update(`${dir}\n${requestId}`, 'utf8').update(ONE).digest();
}
const ONE = Buffer.from([1]);

/** The same nonce through node:crypto's HKDF, for tests and independent verifiers. */
export const nonceForHkdf = (commitKey: Uint8Array, dir: 'req' | 'resp', requestId: string): Buffer => Buffer.from(hkdfSync('sha256', commitKey, NONCE_SALT, Buffer.from(`${dir}\n${requestId}`, 'utf8'), 32));

/** The bytes a body commits to: canonical JSON when it parses strictly as JSON, else the bytes as they are. */
export function commitContent(body: Uint8Array | string, form?: Form): { form: Form; bytes: Buffer } {
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  if (form === 'bytes') return { form, bytes: raw };
  try {
    return { form: 'jcs', bytes: Buffer.from(canonicalJson(parseStrictJson(raw, { allowLargeNumbers: true })), 'utf8') };
  } catch (err) {
    if (form === 'jcs') throw err;
    return { form: 'bytes', bytes: raw };
  }
}

export function commitmentOf(nonce: Uint8Array, content: Uint8Array): string {
  const inner = createHash('sha256').update(content).digest();
  return `sha256:${createHash('sha256').update(DOMAIN).update(nonce).update(inner).digest('hex')}`;
}

/** Commitment from an already computed SHA-256 of the content (streams hash as they pass). */
export function commitmentFromDigest(nonce: Uint8Array, contentSha256: Uint8Array): string {
  return `sha256:${createHash('sha256').update(DOMAIN).update(nonce).update(contentSha256).digest('hex')}`;
}

export const recordText = (r: AccessRecord): string => canonicalJson(r);
export const recordHash = (r: AccessRecord): string => `sha256:${createHash('sha256').update(recordText(r)).digest('hex')}`;

export interface ChainProblem {
  seq: number;
  problem: string;
}

/**
 * Checks a run of records: schema, contiguous sequence numbers, each `prev` naming the hash of the
 * record before (the first naming `startPrev`). Returns the head hash and every problem found.
 */
export function verifyChain(records: Iterable<{ text: string; storedHash?: string }>, start: { seq: number; prev: string } = { seq: 0, prev: GENESIS }): { size: number; head: string; problems: ChainProblem[] } {
  let prev = start.prev;
  let seq = start.seq;
  const problems: ChainProblem[] = [];
  for (const { text, storedHash } of records) {
    let rec: AccessRecord;
    try {
      rec = recordSchema.parse(parseStrictJson(text));
    } catch (err) {
      problems.push({ seq, problem: `not a valid ${RECORD_SCHEMA} record: ${(err as Error).message.split('\n')[0]}` });
      prev = `sha256:${createHash('sha256').update(text).digest('hex')}`;
      seq++;
      continue;
    }
    if (recordText(rec) !== text) problems.push({ seq, problem: 'record text is not in canonical form (RFC 8785)' });
    if (rec.seq !== seq) problems.push({ seq, problem: `sequence number ${rec.seq}, expected ${seq}` });
    if (rec.prev !== prev) problems.push({ seq, problem: `prev ${rec.prev} does not name the previous record's hash ${prev}: a record before it was altered, removed or inserted` });
    const h = recordHash(rec);
    if (storedHash !== undefined && storedHash !== h) problems.push({ seq, problem: `stored hash ${storedHash} is not the record's hash ${h}: the record was altered` });
    prev = h;
    seq++;
  }
  return { size: seq, head: prev, problems };
}

/** A tester's opening of one record: the nonces and contents behind its commitments. */
export const openingSchema = z.strictObject({
  schema: z.literal(OPENING_SCHEMA),
  record: recordSchema,
  request: z.strictObject({ nonce: z.string().regex(/^[A-Za-z0-9_-]{43}$/), content: z.string() }),
  response: z.strictObject({ nonce: z.string().regex(/^[A-Za-z0-9_-]{43}$/), content: z.string() }).nullable(),
});
export type Opening = z.infer<typeof openingSchema>;

/**
 * Content travels as text: for "jcs" any JSON text of the body (it is canonicalised again), for
 * "bytes" base64 of the exact bytes.
 */
function encodeContent(form: Form, bytes: Uint8Array): string {
  return form === 'jcs' ? Buffer.from(bytes).toString('utf8') : Buffer.from(bytes).toString('base64');
}

/** Builds an opening; checks it before returning so a tester never publishes one that fails. */
export function openRecord(record: AccessRecord, commitKey: Uint8Array, request: Uint8Array | string, response: Uint8Array | string | null): Opening {
  const side = (dir: 'req' | 'resp', c: { form: Form }, body: Uint8Array | string) => {
    const nonce = nonceFor(commitKey, dir, record.requestId);
    const content = commitContent(body, c.form);
    return { nonce: nonce.toString('base64url'), content: encodeContent(content.form, content.bytes) };
  };
  const o: Opening = {
    schema: OPENING_SCHEMA,
    record,
    request: side('req', record.request, request),
    response: record.response && response !== null ? side('resp', record.response, response) : null,
  };
  const problems = checkOpening(o);
  if (problems.length) throw new AssayError('OPENING_MISMATCH', problems.join('; '));
  return o;
}

const eq = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** Checks an opening's contents against its record's commitments (not yet against a log: see verifyOpening). */
export function checkOpening(o: Opening): string[] {
  const problems: string[] = [];
  const side = (name: 'request' | 'response', c: { form: Form; commitment: string }, open: { nonce: string; content: string }) => {
    let bytes: Buffer;
    try {
      bytes = c.form === 'jcs' ? commitContent(open.content, 'jcs').bytes : Buffer.from(open.content, 'base64');
    } catch (err) {
      problems.push(`${name}: content is not JSON as its "jcs" commitment requires: ${(err as Error).message}`);
      return;
    }
    if (!eq(commitmentOf(Buffer.from(open.nonce, 'base64url'), bytes), c.commitment)) problems.push(`${name}: nonce and content do not match the record's commitment ${c.commitment}`);
  };
  side('request', o.record.request, o.request);
  if (o.response) {
    if (!o.record.response) problems.push('response: the record has no response commitment');
    else side('response', o.record.response, o.response);
  }
  return problems;
}

export function parseOpening(text: string | Uint8Array, file?: string): Opening {
  const v = parseStrictJson(text, file ? { file } : {});
  const r = openingSchema.safeParse(v);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new AssayError('OPENING_FORMAT', `${i.message}`, { ...(file ? { file } : {}), field: i.path.join('.') });
  }
  return r.data;
}
