/** Miller R3: within-sample (epoch) variance and what more epochs would buy. */

export interface EpochPoint {
  epochs: number;
  /** Predicted SE of the mean with this many epochs per sample. */
  se: number;
  /** Fractional SE reduction relative to the run as it is (negative: fewer epochs than now). */
  reduction: number;
}

export interface EpochsAnalysis {
  /** Harmonic mean of epochs per sample: the K in E[σ²]/K when samples have unequal counts. */
  epochs: number;
  /** E[σ_i²]: mean of the per-sample variances over samples with ≥ 2 epochs. */
  withinVariance: number;
  /** Var(x): between-sample variance of conditional means, Var(sample means) − E[σ²]/K (floored at 0). */
  betweenVariance: number;
  /** SE of the run as is: sqrt((Var(x) + E[σ²]/K) / n). */
  se: number;
  /** SE with infinitely many epochs (σ² term gone): the between-sample floor. */
  seFloor: number;
  plan: EpochPoint[];
}

export interface SampleEpochs {
  /** Sum, sum of squares and count of the sample's scored epochs. */
  sum: number;
  sumsq: number;
  k: number;
}

/**
 * Var(s̄) = (1/n)(Var(x) + E[σ²]/K) (Miller R3), with E[σ²] the mean unbiased per-sample variance
 * and Var(x) recovered by subtracting the noise term from the variance of sample means.
 * Null when no sample has two epochs (σ² is then not identifiable from the log).
 */
export function epochsAnalysis(samples: readonly SampleEpochs[], candidates: readonly number[] = [1, 2, 4, 8, 16]): EpochsAnalysis | null {
  return epochsAnalysisOf({ sum: samples.map((s) => s.sum), sumsq: samples.map((s) => s.sumsq), k: samples.map((s) => s.k) }, candidates);
}

/** epochsAnalysis over columns (sample j: sum[j], sumsq[j], k[j]), as statistics keep them. */
export function epochsAnalysisOf(s: { sum: ArrayLike<number>; sumsq: ArrayLike<number>; k: ArrayLike<number> }, candidates: readonly number[] = [1, 2, 4, 8, 16]): EpochsAnalysis | null {
  const n = s.k.length;
  if (n < 2) return null;
  let within = 0;
  let repeats = 0;
  let invK = 0;
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const k = s.k[j]!;
    invK += 1 / k;
    sum += s.sum[j]! / k;
    if (k > 1) {
      within += Math.max(0, (s.sumsq[j]! - (s.sum[j]! * s.sum[j]!) / k) / (k - 1));
      repeats++;
    }
  }
  if (!repeats) return null;
  within /= repeats;
  const K = n / invK;
  const mean = sum / n;
  let ss = 0;
  for (let j = 0; j < n; j++) ss += (s.sum[j]! / s.k[j]! - mean) ** 2;
  const varMeans = ss / (n - 1);
  const between = Math.max(0, varMeans - within / K);
  const seAt = (k: number) => Math.sqrt((between + within / k) / n);
  const se = seAt(K);
  const ks = [...new Set([...candidates, Math.round(K)])].filter((k) => k >= 1).sort((a, b) => a - b);
  return {
    epochs: K,
    withinVariance: within,
    betweenVariance: between,
    se,
    seFloor: Math.sqrt(between / n),
    plan: ks.map((k) => ({ epochs: k, se: seAt(k), reduction: se > 0 ? 1 - seAt(k) / se : 0 })),
  };
}
