import { zFor } from './dist.js';

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

/** Mean, CLT standard error and normal confidence interval of per-sample scores. */
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
