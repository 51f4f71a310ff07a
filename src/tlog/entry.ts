import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { canonicalJson } from '../common/canonical.js';
import { AssayError, type Location } from '../common/errors.js';
import { parseStrictJson } from '../attest/json.js';
import { leafHash } from './merkle.js';
import { MAX_ENTRY_SIZE } from './tiles.js';

/**
 * Log entry format `assay.tlog-entry/v1`: the RFC 8785 canonical JSON (UTF-8) of
 *
 *   {"digest":"sha256:<64 lowercase hex>","metadata":{…},"schema":"assay.tlog-entry/v1","type":"<type>"}
 *
 * - `type`: what the digest names, `^[a-z][a-z0-9-]{0,62}$`; Assay uses `attestation` (for run
 *   reports, a DSSE envelope's signed payload bytes), `file` (any file's bytes), and reserves `eval-run`, `verdict`,
 *   `model-release`, `flaw-report`, `access-grant`, `key-rotation`.
 * - `digest`: SHA-256 of the exact bytes of the logged object (which lives beside the log, not in it).
 * - `metadata`: flat object of short scalars (string ≤ 256 chars, finite number, boolean, null),
 *   at most 16 members; public, so never secrets.
 * The leaf hash is SHA-256(0x00 ‖ entry bytes). Identical entries are logged once (appends are
 * idempotent), so anything that must be logged twice has to differ in metadata.
 */

export const ENTRY_SCHEMA = 'assay.tlog-entry/v1';
export const ENTRY_TYPES = ['attestation', 'file', 'eval-run', 'verdict', 'model-release', 'flaw-report', 'access-grant', 'key-rotation'] as const;
export type MetadataValue = string | number | boolean | null;

export interface LogEntry {
  type: string;
  digest: string;
  metadata: Record<string, MetadataValue>;
}

const TYPE = /^[a-z][a-z0-9-]{0,62}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const KEY = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

function check(e: LogEntry, where: Location): void {
  if (typeof e.type !== 'string' || !TYPE.test(e.type)) throw new AssayError('ENTRY_FORMAT', `entry type ${JSON.stringify(e.type)} must match ${TYPE.source}`, { ...where, field: 'type' });
  if (typeof e.digest !== 'string' || !DIGEST.test(e.digest)) throw new AssayError('ENTRY_FORMAT', 'entry digest must be "sha256:" and 64 lowercase hex digits', { ...where, field: 'digest' });
  if (!e.metadata || typeof e.metadata !== 'object' || Array.isArray(e.metadata)) throw new AssayError('ENTRY_FORMAT', 'entry metadata must be an object', { ...where, field: 'metadata' });
  const keys = Object.keys(e.metadata);
  if (keys.length > 16) throw new AssayError('ENTRY_FORMAT', `entry metadata has ${keys.length} members, at most 16`, { ...where, field: 'metadata' });
  for (const k of keys) {
    const v = e.metadata[k];
    const field = `metadata.${k}`;
    if (!KEY.test(k)) throw new AssayError('ENTRY_FORMAT', `metadata key must match ${KEY.source}`, { ...where, field });
    const ok = v === null || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.length <= 256);
    if (!ok) throw new AssayError('ENTRY_FORMAT', 'metadata values must be strings of ≤ 256 characters, finite numbers, booleans or null', { ...where, field });
  }
}

/** Canonical bytes of an entry (what the log stores and hashes). */
export function encodeEntry(e: LogEntry, where: Location = {}): Uint8Array {
  check(e, where);
  const bytes = new TextEncoder().encode(canonicalJson({ schema: ENTRY_SCHEMA, type: e.type, digest: e.digest, metadata: e.metadata }));
  if (bytes.length > MAX_ENTRY_SIZE) throw new AssayError('ENTRY_FORMAT', `entry is ${bytes.length} bytes, more than ${MAX_ENTRY_SIZE}`, where);
  return bytes;
}

/** Strict decode: the bytes must be exactly the canonical encoding of a valid entry. */
export function decodeEntry(bytes: Uint8Array, where: Location = {}): LogEntry {
  const v = parseStrictJson(bytes, { file: where.file }) as Record<string, unknown>;
  if (!v || typeof v !== 'object' || Array.isArray(v) || v.schema !== ENTRY_SCHEMA)
    throw new AssayError('ENTRY_FORMAT', `not an ${ENTRY_SCHEMA} entry`, { ...where, field: 'schema' });
  const extra = Object.keys(v).filter((k) => !['schema', 'type', 'digest', 'metadata'].includes(k));
  if (extra.length) throw new AssayError('ENTRY_FORMAT', `unknown entry member(s): ${extra.join(', ')}`, where);
  const e: LogEntry = { type: v.type as string, digest: v.digest as string, metadata: v.metadata as LogEntry['metadata'] };
  const again = encodeEntry(e, where);
  if (Buffer.compare(Buffer.from(again), Buffer.from(bytes)) !== 0) throw new AssayError('ENTRY_FORMAT', 'entry bytes are not in canonical form (RFC 8785)', where);
  return e;
}

export const entryLeafHash = (e: LogEntry | Uint8Array): Uint8Array => leafHash(e instanceof Uint8Array ? e : encodeEntry(e));

export const sha256Prefixed = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/**
 * Entry for an attestation: the digest is over the bytes given. Run reports pass the DSSE
 * envelope's signed payload (src/attest/tlog.ts), so later co-signatures keep the same entry.
 */
export function attestationEntry(bytes: Uint8Array, metadata: Record<string, MetadataValue> = {}): Uint8Array {
  return encodeEntry({ type: 'attestation', digest: sha256Prefixed(bytes), metadata });
}

/** Entry for a file's bytes (what `assay log append` logs). */
export async function fileEntry(path: string, metadata: Record<string, MetadataValue> = {}): Promise<Uint8Array> {
  const h = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  } catch (err) {
    throw new AssayError('FILE_READ', `cannot read: ${(err as Error).message}`, { file: path });
  }
  return encodeEntry({ type: 'file', digest: `sha256:${h.digest('hex')}`, metadata }, { file: path });
}
