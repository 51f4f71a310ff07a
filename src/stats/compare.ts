import { tFor, tTwoSidedP } from './dist.js';
import { clusteredSe, correlation, meanEstimate, normalInterval, zTest, type Interval } from './estimate.js';

export interface PairedComparison {
  /** Samples present in both runs (after epoch-averaging within each run). */
  n: number;
  onlyA: number;
  onlyB: number;
  meanA: number;
  meanB: number;
  /** mean(A − B) over matched samples (Miller R4). */
  diff: number;
  /** sqrt(Var(d)/n). */
  se: number;
  ci: Interval;
  level: number;
  z: number;
  /** Two-sided normal p-value, consistent with the CLT interval. */
  p: number;
  /** Paired t test on d with n − 1 df (standard addition; the honest one for small n). */
  t: { df: number; p: number; ci: Interval };
  /** Pearson correlation of the two runs' per-sample scores: what pairing buys. */
  correlation: number;
  /** sqrt(SE_A² + SE_B²) on the same samples, as if the runs were independent (Miller R4 fallback). */
  unpairedSe: number;
  unpairedCi: Interval;
  /** 1 − SE²/unpairedSE²: the share of the variance that pairing removed. */
  varianceReduction: number;
  /** R2 applied to the differences, when samples carry clusters. */
  clustered: { clusters: number; se: number; ci: Interval; p: number } | null;
}

/**
 * Paired difference of two runs over the same samples: a[id] and b[id] are per-sample
 * (epoch-averaged) scores. Matched ids are taken in sorted order so the arithmetic is reproducible.
 */
export function pairedComparison(
  a: ReadonlyMap<string, number>,
  b: ReadonlyMap<string, number>,
  opts: { level?: number; clusters?: ReadonlyMap<string, string> } = {},
): PairedComparison {
  const level = opts.level ?? 0.95;
  const ids = [...a.keys()].filter((id) => b.has(id)).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const n = ids.length;
  const xa = Float64Array.from(ids, (id) => a.get(id)!);
  const xb = Float64Array.from(ids, (id) => b.get(id)!);
  const d = xa.map((x, i) => x - xb[i]!);
  const ea = meanEstimate(xa, level);
  const eb = meanEstimate(xb, level);
  const ed = meanEstimate(d, level);
  const { z, p } = zTest(ed.mean, ed.se);
  const df = n - 1;
  const tc = df > 0 ? tFor(level, df) : NaN;
  const unpairedSe = Math.sqrt(ea.se * ea.se + eb.se * eb.se);
  let clustered: PairedComparison['clustered'] = null;
  if (opts.clusters && n > 0) {
    const cl = ids.map((id) => opts.clusters!.get(id) ?? `\u0000${id}`);
    const se = clusteredSe(d, cl);
    clustered = { clusters: new Set(cl).size, se, ci: normalInterval(ed.mean, se, level), p: zTest(ed.mean, se).p };
  }
  return {
    n,
    onlyA: a.size - n,
    onlyB: b.size - n,
    meanA: ea.mean,
    meanB: eb.mean,
    diff: ed.mean,
    se: ed.se,
    ci: ed.ci,
    level,
    z,
    p,
    t: { df, p: df > 0 ? (ed.se > 0 ? tTwoSidedP(ed.mean / ed.se, df) : ed.mean === 0 ? 1 : 0) : NaN, ci: { lo: ed.mean - tc * ed.se, hi: ed.mean + tc * ed.se } },
    correlation: correlation(xa, xb),
    unpairedSe,
    unpairedCi: normalInterval(ed.mean, unpairedSe, level),
    varianceReduction: unpairedSe > 0 ? 1 - (ed.se * ed.se) / (unpairedSe * unpairedSe) : NaN,
    clustered,
  };
}
