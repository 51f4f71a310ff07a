import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { canonicalJson, sha256Hex } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';

/**
 * in-toto DigestSet: algorithm → lowercase hex. Assay always fills `sha256` and never reads any
 * other algorithm, so a DigestSet with only unknown algorithms cannot match anything.
 */
export interface DigestSet {
  sha256: string;
  [alg: string]: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

export const isSha256Hex = (s: unknown): s is string => typeof s === 'string' && HEX64.test(s);

export function digestOfBytes(data: string | Uint8Array): DigestSet {
  return { sha256: sha256Hex(data) };
}

/** Digest of a JSON value's RFC 8785 canonical UTF-8 bytes. */
export function digestOfJson(value: unknown): DigestSet {
  return { sha256: sha256Hex(canonicalJson(value)) };
}

/** Streams a file through SHA-256 (constant memory: run logs can be gigabytes). */
export async function digestOfFile(path: string): Promise<DigestSet> {
  const h = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  } catch (err) {
    throw new AssayError('IO', `cannot read: ${(err as Error).message}`, { file: path });
  }
  return { sha256: h.digest('hex') };
}

/** Assay's other formats write digests as "sha256:<hex>"; convert to and from DigestSets. */
export function fromPrefixed(s: string, field = 'digest'): DigestSet {
  const m = /^sha256:([0-9a-f]{64})$/.exec(s);
  if (!m) throw new AssayError('DIGEST_FORMAT', `expected "sha256:<64 lowercase hex>", got ${JSON.stringify(s)}`, { field });
  return { sha256: m[1]! };
}

export const toPrefixed = (d: DigestSet): string => `sha256:${d.sha256}`;

/** Two DigestSets match when their sha256 entries are present and equal. */
export function sameDigest(a: Partial<DigestSet> | null | undefined, b: Partial<DigestSet> | null | undefined): boolean {
  return !!a && !!b && isSha256Hex(a.sha256) && a.sha256 === b.sha256;
}
