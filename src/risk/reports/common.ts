import { readRunHeader, iterateSamples } from '../../run/log-reader.js';
import type { RunHeader, SampleRecord } from '../../run/types.js';
import { wilson, type Interval } from '../../stats/estimate.js';

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
