import { hash } from 'node:crypto';
import type { Sample } from './types.js';
import type { ShownChoice } from './template.js';

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * Deterministic permutation for (seed, sample id, epoch): Fisher–Yates driven by SHA-256 in
 * counter mode, so the order is the same on every machine and independent of dataset order.
 * Block b is sha256(`${seed}:${sampleId}:${epoch}:${b}`); each draw reads the next 6 bytes of
 * the stream (five per block, the last 2 bytes of a block unused) as a big-endian integer r,
 * and step i (from n−1 down to 1) swaps position i with r mod (i+1).
 */
export function permutation(n: number, seed: number, sampleId: string, epoch: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  let block: Buffer | null = null;
  for (let i = n - 1, k = 0; i > 0; i--, k++) {
    if (k % 5 === 0) block = hash('sha256', `${seed}:${sampleId}:${epoch}:${k / 5}`, 'buffer') as Buffer;
    const r = block!.readUIntBE((k % 5) * 6, 6) % (i + 1);
    [p[i], p[r]] = [p[r]!, p[i]!];
  }
  return p;
}

/** Index of the correct choice, from a target given as 0-based index, letter, or the choice text. */
export function targetIndex(sample: Sample): number | null {
  const choices = sample.choices ?? [];
  const t = Array.isArray(sample.target) ? sample.target[0] : sample.target;
  if (t === undefined) return null;
  if (/^\d+$/.test(t) && Number(t) < choices.length) return Number(t);
  if (/^[A-Z]$/.test(t) && LETTERS.indexOf(t) < choices.length) return LETTERS.indexOf(t);
  const byText = choices.indexOf(t);
  return byText >= 0 ? byText : null;
}

/** The choices as shown to the model (shuffled or not) and the letter of the correct one. */
export function showChoices(sample: Sample, shuffle: boolean, seed: number, epoch: number): { shown: ShownChoice[]; targetLetter: string | null } {
  const choices = sample.choices ?? [];
  if (choices.length > LETTERS.length) throw new Error(`sample ${sample.id}: at most ${LETTERS.length} choices`);
  const order = shuffle ? permutation(choices.length, seed, sample.id, epoch) : choices.map((_, i) => i);
  const shown = order.map((index, pos) => ({ letter: LETTERS[pos]!, text: choices[index]!, index }));
  const ti = targetIndex(sample);
  const targetLetter = ti === null ? null : (shown.find((c) => c.index === ti)?.letter ?? null);
  return { shown, targetLetter };
}

/** Most options a multiple-choice sample may have: one per letter A–Z. */
export const MAX_CHOICES = LETTERS.length;

/**
 * Resolve a multiple-choice target, as written in the dataset, to a 0-based choice index.
 * A JSON number is an index. A string may be a 0-based index ("2"), a letter ("C") or the exact
 * text of a choice; a string that reads two ways naming different choices (e.g. "1" when the
 * text of choice 3 is also "1") is ambiguous and rejected rather than guessed.
 * Returns the index, or a message saying what is wrong.
 */
export function resolveTarget(raw: unknown, choices: readonly string[]): { index: number } | { problem: string } {
  const n = choices.length;
  const range = `a 0-based index below ${n}, a letter A–${LETTERS[n - 1] ?? 'A'}, or the exact text of a choice`;
  if (typeof raw === 'number') {
    return Number.isInteger(raw) && raw >= 0 && raw < n ? { index: raw } : { problem: `target ${raw} is not a valid choice index (expected ${range})` };
  }
  if (typeof raw !== 'string') return { problem: `target must be ${range}` };
  const readings = new Set<number>();
  if (/^\d+$/.test(raw) && Number(raw) < n) readings.add(Number(raw));
  if (/^[A-Z]$/.test(raw) && LETTERS.indexOf(raw) < n) readings.add(LETTERS.indexOf(raw));
  choices.forEach((c, i) => {
    if (c === raw) readings.add(i);
  });
  if (readings.size === 1) return { index: [...readings][0]! };
  if (readings.size === 0) return { problem: `target ${JSON.stringify(raw)} matches no choice (expected ${range})` };
  return { problem: `target ${JSON.stringify(raw)} is ambiguous: it could mean choices ${[...readings].sort((a, b) => a - b).join(' or ')} (0-based); give the index as a JSON number or a letter` };
}
