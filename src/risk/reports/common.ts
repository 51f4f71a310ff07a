import { readRunHeader, iterateSamples } from '../../run/log-reader.js';
import type { RunHeader, SampleRecord } from '../../run/types.js';
import { wilson, type Interval } from '../../stats/estimate.js';
import { isOutcome, type ExcludedOutcome } from '../../common/outcome.js';

/** A run's header and its sample records (first record per key, as everywhere else), in sorted key order. */
export async function loadRun(logPath: string): Promise<{ header: RunHeader; recs: SampleRecord[] }> {
  const header = await readRunHeader(logPath);
  const seen = new Map<string, SampleRecord>();
  for await (const r of iterateSamples(logPath)) if (!seen.has(r.key)) seen.set(r.key, r);
  const recs = [...seen.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { header, recs };
}

/** The scored value of a scorer on a record, or null (errored or unscored). */
export function scoredValue(r: SampleRecord, scorer: string): number | null {
  if (r.error) return null;
  const s = r.scores[scorer];
  return s && s.status === 'scored' ? s.value : null;
}

export interface Rate {
  group: string;
  n: number;
  k: number;
  rate: number;
  wilson: Interval;
}

/** Share of 1s per group with Wilson intervals (binary per-record values). */
export function ratesBy(items: { group: string; value: number }[], level = 0.95): Rate[] {
  const by = new Map<string, { n: number; k: number }>();
  for (const it of items) {
    const e = by.get(it.group) ?? by.set(it.group, { n: 0, k: 0 }).get(it.group)!;
    e.n++;
    e.k += it.value;
  }
  return [...by.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([group, { n, k }]) => ({ group, n, k, rate: k / n, wilson: wilson(k, n, level) }));
}

export const meta = (r: SampleRecord, k: string): unknown => r.sample.metadata?.[k];
export const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '—');
export const fmtCi = (i: Interval, d = 3) => `[${fmt(i.lo, d)}, ${fmt(i.hi, d)}]`;

/** Samples not in a scorer's metric, by outcome (errored, empty, filtered, refused, unreadable, unscored). */
export type ExclusionCounts = Partial<Record<ExcludedOutcome, number>>;

/** Why a record is not in a scorer's metric, in the shared vocabulary; null when it is scored. */
export function exclusionOf(r: SampleRecord, scorer: string): ExcludedOutcome | null {
  const o: unknown = (r as unknown as { outcome?: unknown }).outcome;
  if (r.error) return isOutcome(o) && o !== 'scored' ? o : 'errored';
  const s = r.scores[scorer];
  if (!s) return 'unscored';
  if (s.status === 'scored') return null;
  return s.outcome ?? 'unscored';
}

export function exclusionCounts(recs: SampleRecord[], scorer: string): ExclusionCounts {
  const out: ExclusionCounts = {};
  for (const r of recs) {
    const o = exclusionOf(r, scorer);
    if (o) out[o] = (out[o] ?? 0) + 1;
  }
  return out;
}

export const excludedTotal = (c: ExclusionCounts) => Object.values(c).reduce((a, b) => a + (b ?? 0), 0);

/** "0", or "3 (2 refused, 1 unreadable)". */
export function fmtExcluded(c: ExclusionCounts): string {
  const t = excludedTotal(c);
  if (!t) return '0';
  return `${t} (${Object.entries(c).filter(([, n]) => n).map(([k, n]) => `${n} ${k}`).join(', ')})`;
}
