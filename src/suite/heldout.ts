import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { canonicalJson } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';

/**
 * Held-out splits (docs/formats/audit.md §8). Pure (no file I/O): the CLI reads and writes.
 *
 * Each held-out item (one dataset row, a JSON object) is
 *  - committed: c_i = SHA-256("assay.held-out-commitment/v1" ‖ 0x00 ‖ salt_i ‖ JCS(row_i)), salt_i
 *    32 random bytes; the list of c_i is published in the suite file (`held_out.commitments`), so
 *    the set is fixed by the suite digest. A bare digest would let anyone confirm a guessed item;
 *    the secret salt makes a commitment reveal nothing until the item is opened.
 *  - encrypted at rest with AES-256-GCM under the tester's 256-bit key: plaintext
 *    JCS({salt, row}), a fresh 96-bit IV per item, additional data
 *    "assay.held-out/v1\n<suite id>\n<index>" so items cannot be reordered or moved between suites.
 * Decryption checks the GCM tag, then recomputes c_i and compares it with the published one.
 */
export const HELD_OUT_FORMAT = 'assay.held-out/v1';
const COMMIT_TAG = 'assay.held-out-commitment/v1';

export interface SealedItem {
  v: 1;
  iv: string;
  ct: string;
  tag: string;
}

export const keyIdOf = (key: Uint8Array): string => `sha256:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;

export function commitment(salt: Uint8Array, row: unknown): string {
  return `sha256:${createHash('sha256').update(COMMIT_TAG).update(Buffer.from([0])).update(salt).update(canonicalJson(row)).digest('hex')}`;
}

const aad = (suiteId: string, index: number) => Buffer.from(`${HELD_OUT_FORMAT}\n${suiteId}\n${index}`, 'utf8');

export function checkKey(key: Uint8Array, where: { file?: string } = {}): void {
  if (key.length !== 32) throw new AssayError('HELD_OUT_KEY', `a held-out key is 32 bytes (AES-256); this one has ${key.length}`, where);
}

/** Seals rows: the encrypted JSONL lines and the commitments, in row order. */
export function sealItems(rows: readonly unknown[], key: Uint8Array, suiteId: string, rand: (n: number) => Buffer = randomBytes): { lines: string[]; commitments: string[]; keyId: string } {
  checkKey(key);
  const lines: string[] = [];
  const commitments: string[] = [];
  rows.forEach((row, i) => {
    if (!row || typeof row !== 'object' || Array.isArray(row)) throw new AssayError('HELD_OUT_ITEM', 'each held-out item is a JSON object (a dataset row)', { row: i + 1 });
    const salt = rand(32);
    const iv = rand(12);
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(aad(suiteId, i));
    const ct = Buffer.concat([c.update(canonicalJson({ salt: salt.toString('base64'), row }), 'utf8'), c.final()]);
    const item: SealedItem = { v: 1, iv: iv.toString('base64'), ct: ct.toString('base64'), tag: c.getAuthTag().toString('base64') };
    lines.push(JSON.stringify(item));
    commitments.push(commitment(salt, row));
  });
  return { lines, commitments, keyId: keyIdOf(key) };
}

/** Opens sealed lines with the key; every item must decrypt and match its published commitment. */
export function openItems(lines: readonly string[], key: Uint8Array, suite: { id: string; heldOut: { keyId: string; commitments: readonly string[] } }, file = 'held-out'): unknown[] {
  checkKey(key, { file });
  if (keyIdOf(key) !== suite.heldOut.keyId) throw new AssayError('HELD_OUT_KEY', `this key (${keyIdOf(key)}) is not the one the suite names (${suite.heldOut.keyId})`, { file });
  const items = lines.filter((l) => l.trim() !== '');
  if (items.length !== suite.heldOut.commitments.length)
    throw new AssayError('HELD_OUT_COUNT', `${items.length} sealed items, but the suite commits to ${suite.heldOut.commitments.length}: items were added or removed`, { file });
  return items.map((line, i) => {
    const at = { file, line: i + 1 };
    let it: SealedItem;
    try {
      it = JSON.parse(line) as SealedItem;
    } catch {
      throw new AssayError('HELD_OUT_FORMAT', 'not JSON', at);
    }
    if (it?.v !== 1 || typeof it.iv !== 'string' || typeof it.ct !== 'string' || typeof it.tag !== 'string') throw new AssayError('HELD_OUT_FORMAT', `expected {"v":1,"iv","ct","tag"} (${HELD_OUT_FORMAT})`, at);
    let plain: string;
    try {
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(it.iv, 'base64'));
      d.setAAD(aad(suite.id, i));
      d.setAuthTag(Buffer.from(it.tag, 'base64'));
      plain = Buffer.concat([d.update(Buffer.from(it.ct, 'base64')), d.final()]).toString('utf8');
    } catch {
      throw new AssayError('HELD_OUT_TAMPERED', `item ${i + 1} does not decrypt (wrong key, or the item was altered or moved from another position or suite)`, at);
    }
    const { salt, row } = JSON.parse(plain) as { salt: string; row: unknown };
    if (commitment(Buffer.from(salt, 'base64'), row) !== suite.heldOut.commitments[i])
      throw new AssayError('HELD_OUT_COMMITMENT', `item ${i + 1} does not match the commitment the suite publishes for it: the held-out set was swapped`, { file, field: `held_out.commitments[${i}]` });
    return row;
  });
}
