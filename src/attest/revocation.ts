import { verify as edVerify, type KeyObject } from 'node:crypto';
import { AssayError } from '../common/errors.js';
import type { LogSource } from '../tlog/client.js';
import { decodeEntry, encodeEntry, sha256Prefixed } from '../tlog/entry.js';
import { bytesEqual, leafHash, merkleRoot } from '../tlog/merkle.js';
import { TILE_WIDTH, entriesPath, parseEntryBundle } from '../tlog/tiles.js';
import type { Signer } from './keys.js';

/**
 * Key lifecycle in the transparency log (docs/formats/attestation.md, "Key lifecycle").
 *
 * A `key-rotation` entry retires a signing key from its position in the log onwards:
 *
 *   {"digest":"sha256:<hex of the message>","metadata":{"action":"revoke"|"rotate","keyId":"sha256:…",
 *    "replacement":"sha256:…" (rotate only),"sig":"<base64 Ed25519 by the retired key over the message>"},
 *    "schema":"assay.tlog-entry/v1","type":"key-rotation"}
 *
 *   message = "assay.key-rotation/v1\n" ‖ action ‖ "\n" ‖ keyId ‖ "\n" ‖ (replacement or "-") ‖ "\n" ‖ log origin ‖ "\n"
 *
 * The entry is signed by the key it retires (proof of possession; whoever holds a stolen key can
 * only ever use it to retire the key, the safe direction) and names the log, so it cannot be
 * replayed into another log to shift its position. A rotation names the successor for people
 * updating trust files; it does not make the successor trusted.
 *
 * Rule: a report signature by key K is valid iff the report's entry precedes, in the same log,
 * the first valid retirement entry of K (entry index of the report < index of the retirement).
 * Checkpoints carry no time, so log order is the only clock both parties share.
 */

export const ROTATION_CONTEXT = 'assay.key-rotation/v1';
export type RotationAction = 'revoke' | 'rotate';

export function rotationMessage(action: RotationAction, keyId: string, origin: string, replacement?: string): Uint8Array {
  return Buffer.from(`${ROTATION_CONTEXT}\n${action}\n${keyId}\n${replacement ?? '-'}\n${origin}\n`, 'utf8');
}

/** The log entry that retires `signer`'s key in the log `origin`. */
export function rotationEntry(signer: Signer, origin: string, action: RotationAction, replacement?: string): Uint8Array {
  if (action === 'rotate' && !replacement) throw new AssayError('USAGE', 'a rotation names the replacement key id');
  const msg = rotationMessage(action, signer.keyId, origin, replacement);
  return encodeEntry({
    type: 'key-rotation',
    digest: sha256Prefixed(msg),
    metadata: { action, keyId: signer.keyId, ...(replacement ? { replacement } : {}), sig: signer.sign(msg).toString('base64') },
  });
}

export interface Retirement {
  index: number;
  action: RotationAction;
  replacement: string | null;
}

interface RawRotation {
  index: number;
  action: RotationAction;
  keyId: string;
  replacement: string | null;
  sig: Buffer;
}

/**
 * Every `key-rotation` entry among the first `size` entries of the log (reads all entry bundles;
 * cost linear in the log). Signatures are checked later, per key, by `retirementOf`.
 */
export async function scanRotations(src: LogSource, cp: { size: number; root: Uint8Array }): Promise<RawRotation[]> {
  const size = cp.size;
  const out: RawRotation[] = [];
  const leaves: Uint8Array[] = [];
  for (let n = 0; n * TILE_WIDTH < size; n++) {
    const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
    const data = (await src.fetch(entriesPath(n, width))) ?? (await src.fetch(entriesPath(n)));
    if (!data) throw new AssayError('TILE_MISSING', `entry bundle ${entriesPath(n, width)} is missing: key rotations cannot be checked`, { file: src.target });
    const entries = parseEntryBundle(data, { file: src.target }).slice(0, width);
    if (entries.length < width) throw new AssayError('LOG_CORRUPT', `entry bundle ${entriesPath(n, width)} holds ${entries.length} entries, expected ${width}`, { file: src.target });
    entries.forEach((bytes, k) => {
      leaves.push(leafHash(bytes));
      // Cheap filter before parsing: only key-rotation entries matter.
      if (!Buffer.from(bytes).includes('"type":"key-rotation"')) return;
      const index = n * TILE_WIDTH + k;
      let e;
      try {
        e = decodeEntry(bytes);
      } catch {
        return;
      }
      const m = e.metadata;
      if ((m.action !== 'revoke' && m.action !== 'rotate') || typeof m.keyId !== 'string' || typeof m.sig !== 'string') return;
      out.push({ index, action: m.action, keyId: m.keyId, replacement: typeof m.replacement === 'string' ? m.replacement : null, sig: Buffer.from(m.sig, 'base64') });
    });
  }
  // The bundles must be exactly the signed tree, or a log could hide a retirement by omitting it.
  if (!bytesEqual(merkleRoot(leaves), cp.root)) throw new AssayError('LOG_CORRUPT', `the entry bundles do not reproduce the checkpoint root at size ${size}: key rotations cannot be trusted`, { file: src.target });
  return out;
}

/** The first valid retirement of `keyId` (signed by `key`, for log `origin`), or null. */
export function retirementOf(rotations: readonly RawRotation[], keyId: string, key: KeyObject, origin: string): Retirement | null {
  for (const r of rotations) {
    if (r.keyId !== keyId) continue;
    const msg = rotationMessage(r.action, keyId, origin, r.replacement ?? undefined);
    let ok = false;
    try {
      ok = edVerify(null, msg, key, r.sig);
    } catch {
      ok = false;
    }
    if (ok) return { index: r.index, action: r.action, replacement: r.replacement };
  }
  return null;
}
