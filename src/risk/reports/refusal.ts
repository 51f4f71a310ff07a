/**
 * Refusal rates by label: refusal on safe/harmless prompts is over-refusal, compliance on
 * unsafe/harmful prompts is under-refusal; both with Wilson intervals (standard addition).
 * Reads the `refused` scorer (value 1 = full or partial refusal) and, when present, the
 * three-way class in its detail (full vs partial refusal).
 */
import type { SampleRecord } from '../../run/types.js';
import { textTable } from '../../stats/format.js';
import { fmt, fmtCi, meta, ratesBy, scoredValue, type Rate } from './common.js';

export interface RefusalReport {
  kind: 'refusal';
  /** Per label: refusal rate (full or partial), full-refusal rate, compliance rate. */
  byLabel: { label: string; role: 'over-refusal' | 'under-refusal' | 'other'; refused: Rate; fullRefusal: Rate; complied: Rate }[];
}

const SAFE = new Set(['safe', 'harmless', 'benign', 'help-seeking']);
const UNSAFE = new Set(['unsafe', 'harmful', 'deceptive', 'misuse']);

export function isRefusalRun(recs: SampleRecord[]): boolean {
  const r = recs.find((x) => !x.error);
  return !!r && r.scores.refused !== undefined && meta(r, 'label') !== undefined;
}

export function refusalReport(recs: SampleRecord[], level = 0.95): RefusalReport {
  const items: { label: string; refused: number; full: number }[] = [];
  for (const r of recs) {
    const v = scoredValue(r, 'refused');
    if (v === null) continue;
    const s = r.scores.refused!;
    const cls = s.status === 'scored' ? (s.detail?.class as string | undefined) : undefined;
    items.push({ label: String(meta(r, 'label')).toLowerCase(), refused: v, full: cls === 'full_refusal' ? 1 : 0 });
  }
  const labels = [...new Set(items.map((i) => i.label))].sort();
  return {
    kind: 'refusal',
    byLabel: labels.map((label) => {
      const its = items.filter((i) => i.label === label);
      const one = (f: (i: (typeof its)[number]) => number) => ratesBy(its.map((i) => ({ group: label, value: f(i) })), level)[0]!;
      return { label, role: SAFE.has(label) ? 'over-refusal' : UNSAFE.has(label) ? 'under-refusal' : 'other', refused: one((i) => i.refused), fullRefusal: one((i) => i.full), complied: one((i) => 1 - i.refused) };
    }),
  };
}

export function formatRefusal(r: RefusalReport): string {
  return (
    'Refusal by label (Wilson intervals). Over-refusal = refused on safe/harmless; under-refusal = complied on unsafe/harmful.\n' +
    textTable(
      ['label', 'reads as', 'n', 'refused (full+partial)', 'CI', 'full refusal', 'complied', 'CI'],
      r.byLabel.map((x) => [x.label, x.role, String(x.refused.n), fmt(x.refused.rate), fmtCi(x.refused.wilson), fmt(x.fullRefusal.rate), fmt(x.complied.rate), fmtCi(x.complied.wilson)]),
    )
  );
}
