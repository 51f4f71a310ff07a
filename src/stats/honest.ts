import { incompleteBeta, tFor } from './dist.js';
import type { Interval } from './estimate.js';

/**
 * The headline interval of a metric (issue 18): the one printed, signed (run-stats/v2) and decided
 * on, chosen by the data's shape and always named. Standard additions, not Miller:
 *
 * - clopper-pearson: binary scores, one epoch, no clusters. Exact: each one-sided error ≤ α/2 for
 *   every n and p, so it is safe for threshold decisions and rare rates.
 * - korn-graubard: binary scores averaged over epochs and/or clustered, and scores in [0, 1]. Clopper–Pearson on an
 *   effective sample size n* = p̂(1−p̂)/v̂ (v̂ the epoch- or cluster-aware variance; n* ≤ n, and
 *   n* = n when p̂ is 0 or 1), shrunk by (t_{n−1}/t_{df})² for the variance's degrees of freedom
 *   (Korn & Graubard 1998; R survey::svyciprop(method = "beta")).
 * - student-t: unbounded scores (logits, raw rubric items), no clusters: mean ± t_{n−1}·SE.
 * - cr1-t: other scores, clustered: mean ± t_{G−1}·SE_CR1 with SE_CR1² = G/(G−1)·Σ_c S_c²/n²
 *   (the Stata / statsmodels cluster-robust SE of a mean).
 * - skew-t, cr1-skew-t (rule v4, run-stats/v4): what replaces student-t and cr1-t. The same SE and
 *   df, each side widened for the skewness of the mean (skewTerms): a t interval undercovers on the
 *   long-tail side of skewed scores (one-sided misses to 8% at nominal 2.5% on the coverage grid).
 * - none: no honest interval exists (n < 2 for non-binary data, or fewer than 2 clusters); the
 *   reason says why.
 *
 * A basis carries what is needed to recompute the interval at any level (a policy's one-sided
 * bound at level L is a bound of the two-sided interval at 2L − 1), so it is what is signed.
 */
export type IntervalName = 'clopper-pearson' | 'korn-graubard' | 'student-t' | 'cr1-t' | 'skew-t' | 'cr1-skew-t';

export type IntervalBasis =
  | { method: 'clopper-pearson'; k: number; n: number }
  | { method: 'korn-graubard'; mean: number; se: number; n: number; df: number; clusters: number | null }
  | { method: 'student-t'; mean: number; se: number; df: number }
  | { method: 'cr1-t'; mean: number; se: number; df: number; clusters: number }
  | ({ method: 'skew-t'; mean: number; se: number; df: number } & SkewTerms)
  | ({ method: 'cr1-skew-t'; mean: number; se: number; df: number; clusters: number } & SkewTerms)
  | { method: 'none'; reason: string };

/**
 * The skewness terms of a skew-t / cr1-skew-t interval (skewTerms): `skew` is the estimated
 * skewness of the mean (κ̂, shown for the reader); `skewLo` / `skewHi` (≥ 0) are what widen each side.
 */
export interface SkewTerms {
  skew: number;
  skewLo: number;
  skewHi: number;
}

/**
 * Assumed bound on the skewness of the independent units (samples, or cluster totals) of unbounded
 * scores: 2, the exponential distribution's. Bahadur & Savage (1956): no interval for a mean is
 * valid for every distribution, so one is assumed; the data's own estimate replaces it when larger.
 */
export const SKEW_BOUND = 2;

/**
 * Skewness terms of a mean of unbounded scores, from the independent units' residual sums r_u
 * (samples: x_i − x̄; clusters: Σ_{i∈c}(x_i − x̄)) and the effective number of units U_eff (n, or
 * (Σn_c²)³/(Σn_c³)² for clusters of sizes n_c: the number of equal units with the same skewness of
 * the mean).
 *
 * κ̂ = Σr³/(Σr²)^{3/2} · √(U(U−1))/(U−2) estimates the skewness of the mean (γ/√U for U iid units,
 * with the usual small-sample correction of the sample skewness; 0 for U < 3). Each side then uses
 *   κ_side = max(κ̂_side, min(SKEW_BOUND/√U_eff, max(κ̂_side, 0) + 3·√6/U_eff)),
 * κ̂_hi = κ̂, κ̂_lo = −κ̂: the estimate, or an upper confidence bound on it (√6/U_eff is the SE of κ̂
 * for symmetric units) capped at the assumed bound — few units cannot show their skewness (a
 * sample that missed the long tail looks symmetric), many units can. The interval is
 *   [x̄ − (c + κ_lo·h)·SE, x̄ + (c + κ_hi·h)·SE],  c = t_{df, 1−α/2},  h = (2c² + 1)/6,
 * the one-term Edgeworth (Cornish–Fisher) correction of the studentised mean, whose α-quantile is
 * z_α − κ(2z_α² + 1)/6 (Johnson 1978; Hall 1992), applied only to widen each side; h uses the t
 * quantile, which the coverage grid needed for few clusters (docs/statistics.md).
 */
export function skewTerms(residualSums: ArrayLike<number>, effectiveUnits: number): SkewTerms {
  const U = residualSums.length;
  let s2 = 0;
  let s3 = 0;
  for (let i = 0; i < U; i++) {
    const r = residualSums[i]!;
    s2 += r * r;
    s3 += r * r * r;
  }
  const skew = U > 2 && s2 > 0 ? (s3 / Math.pow(s2, 1.5)) * (Math.sqrt(U * (U - 1)) / (U - 2)) : 0;
  const side = (k: number) => Math.max(k, Math.min(SKEW_BOUND / Math.sqrt(effectiveUnits), Math.max(k, 0) + (3 * Math.sqrt(6)) / effectiveUnits));
  return { skew, skewLo: side(-skew), skewHi: side(skew) };
}

/** Residual sums and effective number of units of a mean: per sample, or per cluster (see skewTerms). */
export function skewUnits(xs: ArrayLike<number>, clusters: ArrayLike<string> | null): { residualSums: number[]; effectiveUnits: number } {
  const n = xs.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += xs[i]!;
  mean /= n;
  if (!clusters) return { residualSums: Array.from(xs, (x) => x - mean), effectiveUnits: n };
  const sums = new Map<string, number>();
  const sizes = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    sums.set(clusters[i]!, (sums.get(clusters[i]!) ?? 0) + (xs[i]! - mean));
    sizes.set(clusters[i]!, (sizes.get(clusters[i]!) ?? 0) + 1);
  }
  let q2 = 0;
  let q3 = 0;
  for (const m of sizes.values()) (q2 += m * m), (q3 += m * m * m);
  return { residualSums: [...sums.values()], effectiveUnits: (q2 * q2 * q2) / (q3 * q3) };
}

/** Below this many clusters a clustered interval is computed but carries a warning. */
export const FEW_CLUSTERS = 10;

/** p such that I_p(a, b) = q (bisection on the regularized incomplete beta; ~1e-15 absolute). */
export function betaQuantile(q: number, a: number, b: number): number {
  if (!(a > 0) || !(b > 0) || Number.isNaN(q)) return NaN;
  if (q <= 0) return 0;
  if (q >= 1) return 1;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (incompleteBeta(mid, a, b) < q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Two-sided Clopper–Pearson interval for x events in n trials; x and n may be fractional (the
 * Korn–Graubard effective counts). lo = B(α/2; x, n−x+1), hi = B(1−α/2; x+1, n−x).
 */
export function clopperPearson(x: number, n: number, level = 0.95): Interval {
  if (!(n > 0) || !(x >= 0) || x > n) return { lo: NaN, hi: NaN };
  const a = (1 - level) / 2;
  return { lo: x <= 0 ? 0 : betaQuantile(a, x, n - x + 1), hi: x >= n ? 1 : betaQuantile(1 - a, x + 1, n - x) };
}

/** Cluster-robust (CR1) standard error of a mean and the number of clusters G. */
export function cr1Se(xs: ArrayLike<number>, clusters: ArrayLike<string>): { se: number; clusters: number } {
  const n = xs.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += xs[i]!;
  mean /= n;
  const sums = new Map<string, number>();
  for (let i = 0; i < n; i++) sums.set(clusters[i]!, (sums.get(clusters[i]!) ?? 0) + (xs[i]! - mean));
  const G = sums.size;
  if (G < 2) return { se: NaN, clusters: G };
  let v = 0;
  for (const s of sums.values()) v += s * s;
  return { se: Math.sqrt(((G / (G - 1)) * v) / (n * n)), clusters: G };
}

export interface BasisInput {
  /** Per-sample (epoch-averaged) scores. */
  xs: ArrayLike<number>;
  /** Cluster of each sample, or null when the suite defines none. */
  clusters: ArrayLike<string> | null;
  /** Every individual score lies in {0, 1} (any number of epochs). */
  binaryValued: boolean;
  /**
   * The scorer's domain is [0, 1] (stats/domain.ts 'binary' or 'unit'): the mean of bounded scores is
   * no more dispersed than a proportion (Hoeffding 1963), so the Korn–Graubard beta interval applies
   * and does not fail on skewed scores near 0 or 1 the way a t interval does.
   */
  unitInterval?: boolean;
  /** Largest number of scored epochs of a sample. */
  maxEpochs: number;
  /**
   * The rule: 'v4' (current, run-stats/v4: unbounded scores get skew-t / cr1-skew-t), 'v3'
   * (run-stats/v3: the clustered-rate rule clusteredRateN; unbounded scores student-t / cr1-t) or
   * 'v2' (as signed in run-stats/v2 reports: clusters are the units only when the events sit in
   * fewer than min(5, G/2) effective clusters). Older rules are kept so signed reports still verify.
   */
  rule?: StatsRule;
}

export type StatsRule = 'v2' | 'v3' | 'v4';

/** Chooses the interval for the data's shape and records what recomputing it needs. */
export function intervalBasis(d: BasisInput): IntervalBasis {
  const n = d.xs.length;
  if (n === 0) return { method: 'none', reason: 'no scored samples' };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += d.xs[i]!;
  const mean = sum / n;
  let cl: { se: number; clusters: number } | null = null;
  if (d.clusters) {
    cl = cr1Se(d.xs, d.clusters);
    if (cl.clusters < 2) return { method: 'none', reason: `all ${n} samples are in one cluster: a clustered interval needs at least 2 clusters (no honest interval exists)` };
  }
  if (d.binaryValued && d.maxEpochs <= 1 && !cl) return { method: 'clopper-pearson', k: Math.round(sum), n };
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (d.xs[i]! - mean) ** 2;
  const plainSe = n > 1 ? Math.sqrt(ss / (n - 1) / n) : NaN;
  if (d.binaryValued || d.unitInterval) {
    if (cl && d.clusters) {
      // When the events (or the non-events) sit in a handful of clusters, the cluster-robust
      // variance cannot see how skewed the cluster rates are (rare rates with a high ICC): the
      // clusters themselves are then the units, n* ≤ G.
      const g = concentratedClusters(d.xs, d.clusters);
      if (d.rule === 'v2') return { method: 'korn-graubard', mean, se: cl.se, n: g < Math.min(MIN_INFORMATIVE_CLUSTERS, cl.clusters / 2) ? cl.clusters : n, df: cl.clusters - 1, clusters: cl.clusters };
      return { method: 'korn-graubard', mean, se: cl.se, n: clusteredRateN(mean, cl.se, n, cl.clusters, g, clusterDesign(d.xs, d.clusters)), df: clusteredRateDf(cl.clusters, g), clusters: cl.clusters };
    }
    return { method: 'korn-graubard', mean, se: plainSe, n, df: n - 1, clusters: null };
  }
  const skewed = (d.rule ?? 'v4') === 'v4';
  const skew = () => {
    const u = skewUnits(d.xs, d.clusters);
    return skewTerms(u.residualSums, u.effectiveUnits);
  };
  if (cl) return skewed ? { method: 'cr1-skew-t', mean, se: cl.se, df: cl.clusters - 1, clusters: cl.clusters, ...skew() } : { method: 'cr1-t', mean, se: cl.se, df: cl.clusters - 1, clusters: cl.clusters };
  if (n < 2) return { method: 'none', reason: 'one sample: the standard error is undefined' };
  return skewed ? { method: 'skew-t', mean, se: plainSe, df: n - 1, ...skew() } : { method: 'student-t', mean, se: plainSe, df: n - 1 };
}

/** Below this many effective clusters carrying the events (or the non-events), the clusters are the units (n* ≤ G). */
export const MIN_INFORMATIVE_CLUSTERS = 5;

/** What the skewness cap needs beyond the basis: the samples' score variance and cluster-size sums. */
export interface ClusterDesign {
  /** Variance of the per-sample scores (n − 1 denominator). */
  sampleVariance: number;
  /** Σ_g n_g² and Σ_g n_g³ over the clusters' sample counts. */
  sumSq: number;
  sumCube: number;
}

/**
 * The sample count a clustered [0, 1] metric's Korn–Graubard interval may use (the basis's n):
 *
 * 1. Events (or non-events) in fewer than MIN_INFORMATIVE_CLUSTERS effective clusters, none at all
 *    included: the data cannot show how skewed the cluster rates are (with no events the ICC is
 *    not identifiable at all), so the clusters are the units, n ≤ G. With cluster means in [0, 1]
 *    the mean of G of them is no more dispersed than a proportion of G trials, so Clopper–Pearson
 *    on G is conservative for any ICC (for all-zero data, P(all G clusters zero) ≤ (1 − p)^G).
 * 2. Otherwise n ≤ the count whose binomial has the skewness of the mean of the cluster rates: the
 *    variance-matched n* = p̂(1−p̂)/v̂ of Korn–Graubard matches the second moment only, and cluster
 *    rates with between-cluster share ρ = Var(r)/p(1−p) are more skewed than n* trials. For Beta
 *    cluster rates the third central moment of a rate is 2ρ²/(1+ρ)·p(1−p)(1−2p) and that of the
 *    mean is this times Σn_g³/n³, so the binomial with the same third moment has
 *    n = sqrt(n³/Σn_g³)·sqrt((1+ρ)/2)/ρ (= (G/ρ)·sqrt((1+ρ)/2) for equal clusters). The cap is applied
 *    with exponent |1 − 2p̂| on the sqrt((1+ρ)/2) factor squared, i.e. ((1+ρ)/2)^{|1−2p̂|}: nothing at
 *    p̂ = ½ where there is no skew, the full square near 0 and 1 — calibrated on the coverage grid
 *    (docs/statistics.md), where the variance-only ρ̂ is low exactly in the samples that miss (few
 *    high-rate clusters drawn). ρ̂ = (v̂ − s²/n)·n²/Σn_g² / p̂(1−p̂), from the CR1 variance v̂ and the
 *    per-sample variance s² (epoch-averaged scores have less than p̂(1−p̂)).
 */
export function clusteredRateN(mean: number, se: number, n: number, G: number, effectiveClusters: number, design?: ClusterDesign): number {
  if (effectiveClusters < MIN_INFORMATIVE_CLUSTERS || !(mean > 0 && mean < 1)) return Math.min(n, G);
  const pq = mean * (1 - mean);
  if (!(n > G) || !(se > 0)) return n;
  // Without the design (facts of a v1 report): equal clusters and binary scores.
  const d = design ?? { sampleVariance: (pq * n) / (n - 1), sumSq: (n * n) / G, sumCube: (n * n * n) / (G * G) };
  const rho = Math.min(1, ((se * se - d.sampleVariance / n) * n * n) / d.sumSq / pq);
  if (!(rho > 0)) return n;
  const g3 = Math.sqrt((n * n * n) / d.sumCube);
  return Math.max(Math.min(n, G), Math.min(n, Math.floor((g3 / rho) * Math.pow((1 + rho) / 2, Math.abs(1 - 2 * mean)))));
}

/**
 * Degrees of freedom of a clustered [0, 1] metric's variance: G − 1, or fewer when the events (or
 * non-events) sit in fewer effective clusters — the CR1 variance then rests on those clusters
 * (cf. the effective number of clusters of Carter, Schnepel & Steigerwald 2017). At least 1.
 */
export function clusteredRateDf(G: number, effectiveClusters: number): number {
  return Math.max(1, Math.min(G, Math.floor(effectiveClusters)) - 1);
}

/** The design sums of per-sample scores in clusters. */
export function clusterDesign(xs: ArrayLike<number>, clusters: ArrayLike<string>): ClusterDesign {
  const n = xs.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += xs[i]!;
  mean /= n;
  let ss = 0;
  const sizes = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    ss += (xs[i]! - mean) ** 2;
    sizes.set(clusters[i]!, (sizes.get(clusters[i]!) ?? 0) + 1);
  }
  let sumSq = 0;
  let sumCube = 0;
  for (const m of sizes.values()) (sumSq += m * m), (sumCube += m * m * m);
  return { sampleVariance: n > 1 ? ss / (n - 1) : 0, sumSq, sumCube };
}

/**
 * Effective number of clusters carrying the events, and the non-events: (Σ_g S_g)² / Σ_g S_g² with
 * S_g the cluster's sum of x (resp. of 1 − x); the smaller of the two.
 */
export function concentratedClusters(xs: ArrayLike<number>, clusters: ArrayLike<string>): number {
  const up = new Map<string, number>();
  const down = new Map<string, number>();
  for (let i = 0; i < xs.length; i++) {
    up.set(clusters[i]!, (up.get(clusters[i]!) ?? 0) + xs[i]!);
    down.set(clusters[i]!, (down.get(clusters[i]!) ?? 0) + 1 - xs[i]!);
  }
  const eff = (m: Map<string, number>) => {
    let s = 0;
    let ss = 0;
    for (const v of m.values()) (s += v), (ss += v * v);
    return ss > 0 ? (s * s) / ss : Infinity; // no events at all: nothing is concentrated (rule v3 treats all-0 / all-1 data itself)
  };
  return Math.min(eff(up), eff(down));
}

/** Korn–Graubard effective sample size, after the degrees-of-freedom shrinkage; ≤ n. */
export function kornGraubardN(mean: number, se: number, n: number, df: number, level: number): number {
  const v = se * se;
  const nStar = v > 0 && mean > 0 && mean < 1 ? Math.min(n, (mean * (1 - mean)) / v) : n;
  const adj = df >= n - 1 || n < 2 ? 1 : (tFor(level, n - 1) / tFor(level, df)) ** 2;
  return nStar * adj;
}

/** The interval a basis gives at a two-sided level; null for 'none'. */
export function intervalFromBasis(b: IntervalBasis, level: number): Interval | null {
  switch (b.method) {
    case 'none':
      return null;
    case 'clopper-pearson':
      return clopperPearson(b.k, b.n, level);
    case 'korn-graubard': {
      const ne = kornGraubardN(b.mean, b.se, b.n, b.df, level);
      return clopperPearson(b.mean * ne, ne, level);
    }
    case 'student-t':
    case 'cr1-t': {
      const t = tFor(level, b.df);
      return { lo: b.mean - t * b.se, hi: b.mean + t * b.se };
    }
    case 'skew-t':
    case 'cr1-skew-t': {
      const t = tFor(level, b.df);
      const h = (2 * t * t + 1) / 6;
      return { lo: b.mean - (t + b.skewLo * h) * b.se, hi: b.mean + (t + b.skewHi * h) * b.se };
    }
  }
}

/** Warnings that go with a basis (few clusters), naming what the suite would need. */
export function basisWarnings(b: IntervalBasis): string[] {
  const G = b.method === 'cr1-t' || b.method === 'cr1-skew-t' || b.method === 'korn-graubard' ? b.clusters : null;
  if (G !== null && G < FEW_CLUSTERS)
    return [`only ${G} clusters: the interval uses t with ${G - 1} df and is wide; cluster-robust intervals are unreliable below ~${FEW_CLUSTERS} clusters — the suite would need at least ${FEW_CLUSTERS} independent clusters (scenarios/templates) for a stable clustered interval`];
  return [];
}

/** The v1 facts of a metric (a report signed before issue 18, or facts without a basis). */
export interface V1Facts {
  n: number;
  mean: number | null;
  se: number | null;
  /** Every sample 0/1 with one epoch. */
  binary: boolean;
  /** Miller R2 clustered SE, null without clusters. */
  clusteredSe: number | null;
  clusters?: number | null;
}

/**
 * The honest basis recomputed from v1 fields. The CR1 SE is exactly recoverable from Miller's
 * clustered SE: SE_M² = (Σ_c S_c² + Σ d²/(n−1))/n² and SE² = Σ d²/((n−1)n), so
 * Σ_c S_c²/n² = SE_M² − SE²/n and SE_CR1² = G/(G−1)·(SE_M² − SE²/n). Without the cluster count
 * (facts predating it) the clustered interval is refused.
 */
export function basisFromV1(m: V1Facts): IntervalBasis {
  const { n, mean, se } = m;
  if (!n || mean === null || !Number.isFinite(mean)) return { method: 'none', reason: 'no scored samples' };
  if (m.clusteredSe !== null) {
    const G = m.clusters ?? null;
    if (G === null) return { method: 'none', reason: 'clustered samples but the number of clusters is unknown' };
    if (G < 2) return { method: 'none', reason: `all ${n} samples are in one cluster: a clustered interval needs at least 2 clusters` };
    if (se === null || !Number.isFinite(se) || !Number.isFinite(m.clusteredSe)) return { method: 'none', reason: 'the standard error is undefined' };
    const cr1 = Math.sqrt((G / (G - 1)) * Math.max(0, m.clusteredSe ** 2 - (se * se) / n));
    // v1 facts cannot show how concentrated the events are: below MIN_INFORMATIVE_CLUSTERS clusters
    // they are taken to be concentrated; all-0 / all-1 data and the skewness cap follow the v3 rule.
    return m.binary ? { method: 'korn-graubard', mean, se: cr1, n: clusteredRateN(mean, cr1, n, G, G < MIN_INFORMATIVE_CLUSTERS ? 0 : Infinity), df: G - 1, clusters: G } : { method: 'cr1-t', mean, se: cr1, df: G - 1, clusters: G };
  }
  if (m.binary) return { method: 'clopper-pearson', k: Math.round(mean * n), n };
  if (n < 2 || se === null || !Number.isFinite(se)) return { method: 'none', reason: 'one sample: the standard error is undefined' };
  return { method: 'student-t', mean, se, df: n - 1 };
}
