import type { Interval } from './estimate.js';
import { Prng } from './prng.js';

export interface BootstrapOptions {
  seed: number;
  /** Number of resamples (default 2000). */
  resamples?: number;
  level?: number;
  /**
   * Cluster of each value, aligned with `values`. When given, whole clusters are resampled with
   * replacement (cluster bootstrap), so within-cluster correlation is kept in every replicate.
   */
  clusters?: readonly string[];
}

export interface BootstrapResult {
  method: 'percentile' | 'cluster-percentile';
  /** The statistic on the original data. */
  estimate: number;
  /** Percentile interval of the replicates. */
  ci: Interval;
  /** Standard deviation of the replicates. */
  se: number;
  level: number;
  seed: number;
  resamples: number;
  /** Replicates whose statistic was not finite (e.g. a ratio with a zero denominator); left out. */
  invalid: number;
}

/**
 * Seeded percentile bootstrap of any statistic (standard addition; for metrics with no closed-form
 * SE, e.g. ratios). Same values, statFn and seed → the same result on every platform.
 * statFn receives a reused buffer: it must not keep a reference to it.
 */
export function bootstrap<T>(values: readonly T[], statFn: (sample: readonly T[]) => number, opts: BootstrapOptions): BootstrapResult {
  const B = opts.resamples ?? 2000;
  const level = opts.level ?? 0.95;
  const n = values.length;
  const estimate = n ? statFn(values) : NaN;
  const rng = new Prng(opts.seed);
  const reps: number[] = [];
  let invalid = 0;
  const buf: T[] = [];
  // Clusters in sorted key order, so the draw sequence does not depend on input order of keys.
  let groups: T[][] | null = null;
  if (opts.clusters) {
    if (opts.clusters.length !== n) throw new RangeError('bootstrap: clusters must align with values');
    const m = new Map<string, T[]>();
    values.forEach((v, i) => {
      const c = opts.clusters![i]!;
      (m.get(c) ?? m.set(c, []).get(c)!).push(v);
    });
    groups = [...m.keys()].sort(cmp).map((k) => m.get(k)!);
  }
  if (n > 0)
    for (let b = 0; b < B; b++) {
      buf.length = 0;
      if (groups) {
        for (let c = 0; c < groups.length; c++) for (const v of groups[rng.int(groups.length)]!) buf.push(v);
      } else {
        for (let i = 0; i < n; i++) buf.push(values[rng.int(n)]!);
      }
      const s = statFn(buf);
      if (Number.isFinite(s)) reps.push(s);
      else invalid++;
    }
  reps.sort((a, b) => a - b);
  const a = (1 - level) / 2;
  let mean = 0;
  for (const r of reps) mean += r;
  mean /= reps.length;
  let ss = 0;
  for (const r of reps) ss += (r - mean) ** 2;
  return {
    method: groups ? 'cluster-percentile' : 'percentile',
    estimate,
    ci: { lo: quantileSorted(reps, a), hi: quantileSorted(reps, 1 - a) },
    se: reps.length > 1 ? Math.sqrt(ss / (reps.length - 1)) : NaN,
    level,
    seed: opts.seed,
    resamples: B,
    invalid,
  };
}

/** Quantile of sorted values by linear interpolation between order statistics (Hyndman–Fan type 7). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  const n = sorted.length;
  if (!n) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Mean of a buffer: the statFn for bootstrapping the plain mean. */
export const meanOf = (xs: readonly number[]) => {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
};

/**
 * bootstrap(xs, meanOf, opts) without the per-replicate buffer: the same draw sequence, and for
 * clusters each drawn cluster contributes its precomputed sum and size (O(clusters) per
 * replicate instead of O(n)). Equal to the generic form up to floating-point summation order
 * (exactly equal for integer-valued scores).
 */
export function bootstrapMean(xs: ArrayLike<number>, opts: BootstrapOptions): BootstrapResult {
  const B = opts.resamples ?? 2000;
  const level = opts.level ?? 0.95;
  const n = xs.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += xs[i]!;
  const rng = new Prng(opts.seed);
  const reps = new Float64Array(n > 0 ? B : 0);
  if (opts.clusters) {
    if (opts.clusters.length !== n) throw new RangeError('bootstrap: clusters must align with values');
    const m = new Map<string, { s: number; k: number }>();
    for (let i = 0; i < n; i++) {
      const c = opts.clusters[i]!;
      const e = m.get(c) ?? m.set(c, { s: 0, k: 0 }).get(c)!;
      e.s += xs[i]!;
      e.k++;
    }
    const keys = [...m.keys()].sort(cmp);
    const sums = Float64Array.from(keys, (k) => m.get(k)!.s);
    const sizes = Float64Array.from(keys, (k) => m.get(k)!.k);
    const C = keys.length;
    for (let b = 0; b < reps.length; b++) {
      let s = 0;
      let k = 0;
      for (let c = 0; c < C; c++) {
        const j = rng.int(C);
        s += sums[j]!;
        k += sizes[j]!;
      }
      reps[b] = s / k;
    }
  } else {
    for (let b = 0; b < reps.length; b++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += xs[rng.int(n)]!;
      reps[b] = s / n;
    }
  }
  reps.sort();
  const a = (1 - level) / 2;
  const sorted = Array.from(reps);
  let mean = 0;
  for (const r of sorted) mean += r;
  mean /= sorted.length;
  let ss = 0;
  for (const r of sorted) ss += (r - mean) ** 2;
  return {
    method: opts.clusters ? 'cluster-percentile' : 'percentile',
    estimate: n ? total / n : NaN,
    ci: { lo: quantileSorted(sorted, a), hi: quantileSorted(sorted, 1 - a) },
    se: sorted.length > 1 ? Math.sqrt(ss / (sorted.length - 1)) : NaN,
    level,
    seed: opts.seed,
    resamples: B,
    invalid: 0,
  };
}
