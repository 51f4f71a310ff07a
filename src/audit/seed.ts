import { createHash } from 'node:crypto';
import { requireCosignatures } from '../tlog/cosignature.js';
import type { Location } from '../common/errors.js';
import { formatSignatureLine, parseNote } from '../tlog/note.js';

/**
 * The audit seed (docs/formats/audit.md §2): randomness the developer cannot know when it
 * publishes its claim. Pure.
 *
 *   seed = SHA-256( "assay.audit-seed/v1\n"
 *                   ‖ claim payload SHA-256 (hex) ‖ "\n"
 *                   ‖ checkpoint text (origin, size, root, extensions; as signed)
 *                   ‖ the cosignature lines of the witnesses counted, sorted )
 *
 * The checkpoint is the seed checkpoint: size ≥ claim index + D, cosigned by ≥ k witnesses the
 * auditor trusts (none controlled by the developer). Ed25519 signatures are a deterministic function
 * of the witness's secret key and the message, and unpredictable without that key, so a developer
 * that can append entries (and so steer the root) still cannot compute the seed in advance.
 */
export const AUDIT_SEED_CONSTRUCTION = 'assay.audit-seed/v1';

export interface SeedInputs {
  claimPayloadSha256: string;
  /** The seed checkpoint note with its signatures. */
  checkpointNote: string;
  /** Witness verifier keys the auditor trusts (tlog-cosignature vkeys) and how many must have cosigned. */
  witnessVkeys: readonly string[];
  witnessesRequired: number;
}

export interface Seed {
  construction: typeof AUDIT_SEED_CONSTRUCTION;
  value: string;
  /** Names of the witnesses whose cosignature lines entered the seed. */
  witnesses: string[];
}

export function auditSeed(i: SeedInputs, where: Location = {}): Seed {
  if (!/^[0-9a-f]{64}$/.test(i.claimPayloadSha256)) throw new RangeError('claim payload digest must be 64 lowercase hex digits');
  const note = parseNote(i.checkpointNote, where);
  const w = requireCosignatures(note, i.witnessVkeys, i.witnessesRequired, where);
  const counted = new Set(w.witnesses.map((x) => `${x.name}+${x.keyId}`));
  const lines = note.sigs.filter((s) => counted.has(`${s.name}+${s.keyId}`)).map(formatSignatureLine).sort();
  const h = createHash('sha256').update(`${AUDIT_SEED_CONSTRUCTION}\n${i.claimPayloadSha256}\n`).update(note.text).update(lines.join(''));
  return { construction: AUDIT_SEED_CONSTRUCTION, value: h.digest('hex'), witnesses: w.witnesses.map((x) => x.name).sort() };
}

/**
 * The items to re-run: every candidate id ranked by SHA-256(seed ‖ 0x00 ‖ id) (bytes of the hex
 * seed, then UTF-8 of the id), ascending; the first n. Without replacement, independent of the
 * order the ids are given in, and re-computable in any language.
 */
export function drawItems(seedHex: string, ids: readonly string[], n: number): string[] {
  const ranked = [...new Set(ids)].map((id) => ({ id, r: createHash('sha256').update(seedHex).update(Buffer.from([0])).update(id, 'utf8').digest('hex') }));
  ranked.sort((a, b) => (a.r < b.r ? -1 : a.r > b.r ? 1 : 0));
  return ranked.slice(0, Math.max(0, Math.min(n, ranked.length))).map((x) => x.id);
}
