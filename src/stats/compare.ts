import { incompleteBeta, tFor, tTwoSidedP } from './dist.js';
import { correlation, meanEstimate, normalInterval, wilson, zTest, type Interval } from './estimate.js';
import { cr1Se } from './honest.js';

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
  /**
   * Cluster-robust (CR1) SE of the mean difference with t(G − 1) interval and p-value, when samples
   * carry clusters; null bounds (and `problem`) with fewer than 2 clusters.
   */
  clustered: { method: 'cr1-t'; clusters: number; df: number; se: number; ci: Interval; p: number; problem: string | null } | null;
  /** Both runs binary (0/1 per sample): the 2×2 table, exact McNemar test and Newcombe interval. */
  binary: PairedBinary | null;
}

export interface PairedBinary {
  /** Pairs (A, B) = (1, 1), (1, 0), (0, 1), (0, 0). */
  table: { both: number; onlyA: number; onlyB: number; neither: number };
  /** Exact (conditional binomial) McNemar test: two-sided p = min(1, 2·P(X ≤ min(b, c))), X ~ Bin(b + c, ½). */
  mcnemarExactP: number;
  /** Newcombe (1998) method 10: square-and-add of Wilson limits with the continuity-corrected φ. */
  newcombe: Interval;
}

/** Exact McNemar p-value from the discordant counts b and c. */
export function mcnemarExact(b: number, c: number): number {
  const m = b + c;
  if (m === 0) return 1;
  const k = Math.min(b, c);
  // P(X ≤ k) for X ~ Bin(m, ½) = I_{½}(m − k, k + 1).
  const cdf = k >= m ? 1 : incompleteBeta(0.5, m - k, k + 1);
  return Math.min(1, 2 * cdf);
}

/**
 * Newcombe's method 10 interval for a paired difference of proportions pA − pB from the 2×2
 * table (a = both, b = only A, c = only B, d = neither), as in Newcombe (1998), Stat Med 17:2635
 * and Altman et al., Statistics with Confidence (2000) p. 52.
 */
export function newcombePaired(a: number, b: number, c: number, d: number, level = 0.95): Interval {
  const n = a + b + c + d;
  if (!n) return { lo: NaN, hi: NaN };
  const p1 = (a + b) / n;
  const p2 = (a + c) / n;
  const w1 = wilson(a + b, n, level);
  const w2 = wilson(a + c, n, level);
  const den = (a + b) * (c + d) * (a + c) * (b + d);
  const B = a * d - b * c;
  const C = B > n / 2 ? B - n / 2 : B < 0 ? B : 0;
  const phi = den > 0 ? C / Math.sqrt(den) : 0;
  const dl = Math.sqrt(Math.max(0, (p1 - w1.lo) ** 2 - 2 * phi * (p1 - w1.lo) * (w2.hi - p2) + (w2.hi - p2) ** 2));
  const du = Math.sqrt(Math.max(0, (p2 - w2.lo) ** 2 - 2 * phi * (p2 - w2.lo) * (w1.hi - p1) + (w1.hi - p1) ** 2));
  return { lo: Math.max(-1, p1 - p2 - dl), hi: Math.min(1, p1 - p2 + du) };
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
    const r = cr1Se(d, cl);
    const cdf = r.clusters - 1;
    if (r.clusters < 2) clustered = { method: 'cr1-t', clusters: r.clusters, df: cdf, se: NaN, ci: { lo: NaN, hi: NaN }, p: NaN, problem: 'fewer than 2 clusters: no cluster-robust interval exists' };
    else {
      const tq = tFor(level, cdf);
      const p = r.se > 0 ? tTwoSidedP(ed.mean / r.se, cdf) : ed.mean === 0 ? 1 : 0;
      clustered = { method: 'cr1-t', clusters: r.clusters, df: cdf, se: r.se, ci: { lo: ed.mean - tq * r.se, hi: ed.mean + tq * r.se }, p, problem: null };
    }
  }
  let binary: PairedBinary | null = null;
  if (n > 0 && xa.every((x) => x === 0 || x === 1) && xb.every((x) => x === 0 || x === 1)) {
    let a11 = 0;
    let a10 = 0;
    let a01 = 0;
    for (let i = 0; i < n; i++) {
      if (xa[i] === 1 && xb[i] === 1) a11++;
      else if (xa[i] === 1) a10++;
      else if (xb[i] === 1) a01++;
    }
    const a00 = n - a11 - a10 - a01;
    binary = { table: { both: a11, onlyA: a10, onlyB: a01, neither: a00 }, mcnemarExactP: mcnemarExact(a10, a01), newcombe: newcombePaired(a11, a10, a01, a00, level) };
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
    binary,
  };
}
