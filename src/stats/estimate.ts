import { incompleteBeta, normalTwoSidedP, zFor } from './dist.js';

export interface Interval {
  lo: number;
  hi: number;
}

export interface MeanEstimate {
  n: number;
  mean: number;
  /** Sample variance (n−1 denominator). */
  variance: number;
  /** CLT standard error, sqrt(variance / n) (Miller R1). */
  se: number;
  ci: Interval;
  level: number;
}

/** mean ± z·se. */
export function normalInterval(mean: number, se: number, level = 0.95): Interval {
  const z = zFor(level);
  return { lo: mean - z * se, hi: mean + z * se };
}

/** Mean, CLT standard error and normal confidence interval of per-sample scores (Miller R1). */
export function meanEstimate(xs: ArrayLike<number>, level = 0.95): MeanEstimate {
  const n = xs.length;
  if (n === 0) return { n, mean: NaN, variance: NaN, se: NaN, ci: { lo: NaN, hi: NaN }, level };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += xs[i]!;
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xs[i]! - mean) ** 2;
  const variance = n > 1 ? ss / (n - 1) : NaN;
  const se = n > 1 ? Math.sqrt(variance / n) : NaN;
  const z = zFor(level);
  return { n, mean, variance, se, ci: { lo: mean - z * se, hi: mean + z * se }, level };
}

/** Wilson score interval for a proportion (standard addition; sound near 0 and 1). */
export function wilson(successes: number, n: number, level = 0.95): Interval {
  if (n === 0) return { lo: NaN, hi: NaN };
  const z = zFor(level);
  const p = successes / n;
  const z2n = (z * z) / n;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return { lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}

/**
 * One-sided upper bound on a rate when none of n trials had the event: the exact
 * Clopper–Pearson bound 1 − (1−level)^(1/n), ≈ 3/n at 95% ("rule of three").
 */
export function zeroEventUpperBound(n: number, level = 0.95): number {
  return n === 0 ? 1 : 1 - Math.pow(1 - level, 1 / n);
}

/**
 * Exact one-sided Clopper–Pearson upper bound for k events in n trials: the rate p at which
 * P(X ≤ k | p) = 1 − level, found by bisection on the binomial CDF (= 1 − I_p(k+1, n−k)).
 * For k = 0 this is zeroEventUpperBound.
 */
export function clopperPearsonUpper(k: number, n: number, level = 0.95): number {
  if (n === 0 || k >= n) return 1;
  const alpha = 1 - level;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (1 - incompleteBeta(mid, k + 1, n - k) > alpha) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Clustered standard error (Miller R2): the CLT variance plus within-cluster cross-products,
 * SE_c = sqrt(SE_CLT² + (1/n²) Σ_c Σ_{i≠j∈c} (x_i − x̄)(x_j − x̄)). With one sample per cluster
 * the cross-products vanish and SE_c = SE_CLT exactly.
 */
export function clusteredSe(xs: ArrayLike<number>, clusters: ArrayLike<string>): number {
  const est = meanEstimate(xs);
  const n = est.n;
  if (n < 2) return NaN;
  const sums = new Map<string, { s: number; ss: number }>();
  for (let i = 0; i < n; i++) {
    const d = xs[i]! - est.mean;
    const c = sums.get(clusters[i]!) ?? { s: 0, ss: 0 };
    c.s += d;
    c.ss += d * d;
    sums.set(clusters[i]!, c);
  }
  // Σ_{i≠j} d_i d_j = (Σ d_i)² − Σ d_i²
  let cross = 0;
  for (const { s, ss } of sums.values()) cross += s * s - ss;
  const v = est.se * est.se + cross / (n * n);
  return Math.sqrt(Math.max(0, v));
}

export interface DesignEffect {
  clusters: number;
  meanClusterSize: number;
  /** (SE_clustered / SE_CLT)² as computed: how many times the variance is inflated by clustering. NaN with one cluster. */
  deff: number;
  /** n / max(1, deff): never above n (a deff below 1 is reported, not used to promise more samples). */
  effectiveN: number;
  /** Intra-cluster correlation implied by deff = 1 + (m̄ − 1)·ICC; null when every cluster has one sample. */
  icc: number | null;
  /** deff < 1: the data show negative intra-cluster correlation (or chance with few clusters); said, not used. */
  negativeIcc: boolean;
}

/**
 * The design-effect view of R2 (Miller): deff, effective n and implied ICC. With one cluster the
 * cross-products cancel the variance entirely, so nothing is defined (NaN), never "effective n ≫ n".
 */
export function designEffect(xs: ArrayLike<number>, clusters: ArrayLike<string>): DesignEffect {
  const n = xs.length;
  const k = new Set(Array.from(clusters)).size;
  const se = meanEstimate(xs).se;
  const sec = clusteredSe(xs, clusters);
  const deff = se > 0 && k > 1 ? (sec / se) ** 2 : NaN;
  const m = k ? n / k : NaN;
  return { clusters: k, meanClusterSize: m, deff, effectiveN: n / Math.max(1, deff), icc: m > 1 && Number.isFinite(deff) ? (deff - 1) / (m - 1) : null, negativeIcc: deff < 1 };
}

/**
 * Holm–Bonferroni adjusted p-values (standard addition), in input order: sort ascending,
 * adj_(i) = max_{j ≤ i} min(1, (m − j + 1)·p_(j)). Rejecting where adj ≤ α is exactly Holm's
 * step-down rule. Ties keep input order, so the result is deterministic. NaN p-values are
 * left out of m and stay NaN.
 */
export function holm(ps: readonly number[]): number[] {
  const idx = ps.map((p, i) => ({ p, i })).filter((e) => !Number.isNaN(e.p));
  idx.sort((a, b) => a.p - b.p || a.i - b.i);
  const m = idx.length;
  const out = ps.map(() => NaN);
  let running = 0;
  idx.forEach((e, j) => {
    running = Math.max(running, Math.min(1, (m - j) * e.p));
    out[e.i] = running;
  });
  return out;
}

/** Two-sided z test of a difference with standard error se. */
export function zTest(diff: number, se: number): { z: number; p: number } {
  const z = se > 0 ? diff / se : diff === 0 ? 0 : NaN;
  return { z, p: normalTwoSidedP(z) };
}

/** Pearson correlation; NaN when either side has no variance. */
export function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n < 2 || b.length !== n) return NaN;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let saa = 0;
  let sbb = 0;
  let sab = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    saa += da * da;
    sbb += db * db;
    sab += da * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}
