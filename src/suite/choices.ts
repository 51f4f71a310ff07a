import { createHash } from 'node:crypto';
import type { Sample } from './types.js';
import type { ShownChoice } from './template.js';

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * Deterministic permutation for (seed, sample id, epoch): Fisher–Yates driven by SHA-256 in
 * counter mode, so the order is the same on every machine and independent of dataset order.
 * Draw k uses bytes of sha256(`${seed}:${sampleId}:${epoch}:${k}`) read as a 48-bit integer.
 */
export function permutation(n: number, seed: number, sampleId: string, epoch: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1, k = 0; i > 0; i--, k++) {
    const h = createHash('sha256').update(`${seed}:${sampleId}:${epoch}:${k}`).digest();
    const r = h.readUIntBE(0, 6) % (i + 1);
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
