import { newcombePaired } from './compare.js';
import { normalCdf, normalQuantile, tQuantile } from './dist.js';
import type { Interval } from './estimate.js';

/**
 * Equivalence testing (TOST, Schuirmann 1987) for paired differences, and the sample sizes it
 * needs. Pure: no I/O. Used by replication audits (src/audit) and `assay plan --equivalence`.
 *
 * H0: |μ_d| ≥ Δ against H1: |μ_d| < Δ, where μ_d is the mean paired difference (replication −
 * claim) and Δ the declared margin. TOST at level α rejects H0 when both one-sided tests do,
 * i.e. when the two-sided (1 − 2α) interval of μ_d lies inside (−Δ, Δ).
 */

export interface EquivalencePlanInputs {
  /** Equivalence margin Δ > 0 (on the metric's scale: 0.05 = 5 points of a rate). */
  margin: number;
  /** Level of each one-sided test (default 0.05). */
  alpha?: number;
  /** Power 1 − β to conclude equivalence when the true difference is `trueDifference` (default 0.8). */
  power?: number;
  /** Variance of one item's paired difference σ_d² (binary: the discordance rate when the true difference is 0). */
  sigma2: number;
  /** True difference planned for (default 0); |δ| < Δ. */
  trueDifference?: number;
  /** Design effect (≥ 1) multiplying n for clustered items (default 1). */
  deff?: number;
}

export interface EquivalencePlan {
  margin: number;
  alpha: number;
  power: number;
  sigma2: number;
  trueDifference: number;
  zAlpha: number;
  /** z_{1−β/2} when δ = 0 (both one-sided tests must reject), z_{1−β} otherwise. */
  zBeta: number;
  nExact: number;
  /** ceil(nExact · deff). */
  n: number;
  deff: number;
  formula: string;
}

/**
 * Normal-approximation sample size for TOST on paired differences (Chow, Shao & Wang, Sample Size
 * Calculations in Clinical Research, 2nd ed., §3.1.4 / §3.2.4, one-sample / paired equivalence):
 *   δ = 0:  n = (z_{1−α} + z_{1−β/2})² σ_d² / Δ²
 *   δ ≠ 0:  n = (z_{1−α} + z_{1−β})² σ_d² / (Δ − |δ|)²
 */
export function equivalenceSampleSize(o: EquivalencePlanInputs): EquivalencePlan {
  const alpha = o.alpha ?? 0.05;
  const power = o.power ?? 0.8;
  const delta = o.trueDifference ?? 0;
  const deff = o.deff ?? 1;
  if (!(o.margin > 0)) throw new RangeError(`margin must be > 0, got ${o.margin}`);
  if (!(alpha > 0 && alpha < 0.5)) throw new RangeError(`alpha must be in (0, 0.5), got ${alpha}`);
  if (!(power > 0 && power < 1)) throw new RangeError(`power must be in (0, 1), got ${power}`);
  if (!(o.sigma2 >= 0) || !Number.isFinite(o.sigma2)) throw new RangeError(`sigma2 must be a finite number ≥ 0, got ${o.sigma2}`);
  if (!(Math.abs(delta) < o.margin)) throw new RangeError(`the true difference planned for (${delta}) must be inside the margin (${o.margin}): otherwise equivalence cannot be shown`);
  if (!(deff >= 1)) throw new RangeError(`design effect must be ≥ 1, got ${deff}`);
  const zAlpha = normalQuantile(1 - alpha);
  const zBeta = delta === 0 ? normalQuantile(1 - (1 - power) / 2) : normalQuantile(power);
  const gap = o.margin - Math.abs(delta);
  const nExact = ((zAlpha + zBeta) ** 2 * o.sigma2) / (gap * gap);
  return {
    margin: o.margin,
    alpha,
    power,
    sigma2: o.sigma2,
    trueDifference: delta,
    zAlpha,
    zBeta,
    nExact,
    n: Math.max(1, Math.ceil(nExact * deff - 1e-9)),
    deff,
    formula: delta === 0 ? 'n = (z_{1-α} + z_{1-β/2})² σ_d² / Δ²' : 'n = (z_{1-α} + z_{1-β})² σ_d² / (Δ − |δ|)²',
  };
}

/**
 * Power of the z-TOST with known σ_d at n items and true difference δ:
 * P = max(0, Φ((Δ − δ)/se − z_{1−α}) + Φ((Δ + δ)/se − z_{1−α}) − 1), se = σ_d/√n.
 */
export function tostPower(o: { margin: number; sigma2: number; n: number; alpha?: number; trueDifference?: number }): number {
  const alpha = o.alpha ?? 0.05;
  const d = o.trueDifference ?? 0;
  const se = Math.sqrt(o.sigma2 / o.n);
  if (se === 0) return Math.abs(d) < o.margin ? 1 : 0;
  const z = normalQuantile(1 - alpha);
  return Math.max(0, normalCdf((o.margin - d) / se - z) + normalCdf((o.margin + d) / se - z) - 1);
}

export type EquivalenceDecision = 'equivalent' | 'different' | 'inconclusive';

export interface TostResult {
  /** Paired items. */
  n: number;
  /** Mean difference (replication − claim). */
  difference: number;
  /** Two-sided (1 − 2α) interval of the difference: TOST at level α. */
  interval: Interval;
  method: 'newcombe-paired' | 'paired-t';
  margin: number;
  alpha: number;
  /**
   * `equivalent`: the interval lies inside (−Δ, Δ) (TOST rejects non-equivalence at α);
   * `different`: it lies wholly beyond −Δ or beyond Δ (the difference exceeds the margin, one-sided
   * test at α); `inconclusive`: neither.
   */
  decision: EquivalenceDecision;
}

function decide(iv: Interval, margin: number): EquivalenceDecision {
  if (!(Number.isFinite(iv.lo) && Number.isFinite(iv.hi))) return 'inconclusive';
  if (iv.lo > -margin && iv.hi < margin) return 'equivalent';
  if (iv.hi < -margin || iv.lo > margin) return 'different';
  return 'inconclusive';
}

/**
 * TOST for a paired binary outcome from the 2×2 table (claim, replication): both = 1 in both,
 * onlyClaim, onlyReplication, neither. The (1 − 2α) interval of p_repl − p_claim is Newcombe's
 * method 10 (it stays honest with no discordant pairs, where a Wald interval collapses to a point).
 */
export function tostPairedBinary(t: { both: number; onlyClaim: number; onlyReplication: number; neither: number }, margin: number, alpha = 0.05): TostResult {
  const n = t.both + t.onlyClaim + t.onlyReplication + t.neither;
  // newcombePaired(a, b, c, d) is for pA − pB with b = only A: A = replication here.
  const iv = n ? newcombePaired(t.both, t.onlyReplication, t.onlyClaim, t.neither, 1 - 2 * alpha) : { lo: NaN, hi: NaN };
  const difference = n ? (t.onlyReplication - t.onlyClaim) / n : NaN;
  return { n, difference, interval: iv, method: 'newcombe-paired', margin, alpha, decision: decide(iv, margin) };
}

/** TOST for paired real-valued differences d_i: the paired-t (1 − 2α) interval. */
export function tostPairedT(diffs: readonly number[], margin: number, alpha = 0.05): TostResult {
  const n = diffs.length;
  let mean = 0;
  for (const d of diffs) mean += d;
  mean = n ? mean / n : NaN;
  let ss = 0;
  for (const d of diffs) ss += (d - mean) ** 2;
  const se = n > 1 ? Math.sqrt(ss / (n - 1) / n) : NaN;
  const t = n > 1 ? tQuantile(1 - alpha, n - 1) : NaN;
  const iv = { lo: mean - t * se, hi: mean + t * se };
  return { n, difference: mean, interval: iv, method: 'paired-t', margin, alpha, decision: decide(iv, margin) };
}

/**
 * The fewest items at which a replication that agrees on every item (no discordant pair) shows
 * equivalence for a binary metric at rate p: the smallest n whose Newcombe (1 − 2α) interval of
 * the all-concordant table lies inside (−Δ, Δ). Below it, equivalence cannot be shown whatever
 * the model does. Infinity when none up to `max`.
 */
export function minItemsForEquivalence(p: number, margin: number, alpha = 0.05, max = 1_000_000): number {
  const ok = (n: number) => {
    const a = Math.round(p * n);
    return tostPairedBinary({ both: a, onlyClaim: 0, onlyReplication: 0, neither: n - a }, margin, alpha).decision === 'equivalent';
  };
  let hi = 1;
  while (hi <= max && !ok(hi)) hi *= 2;
  if (hi > max) return ok(max) ? max : Infinity;
  let lo = Math.floor(hi / 2);
  // Rounding of p·n makes ok() not strictly monotone at small n: scan the bracket from below.
  for (let n = Math.max(1, lo); n <= hi; n++) if (ok(n)) return n;
  return hi;
}

/**
 * Exact power of the binary TOST decision rule (Newcombe (1 − 2α) interval inside (−Δ, Δ)) at n
 * items when the true difference is 0 and a share q of items is discordant, split evenly between
 * the two directions: (b, c, rest) ~ Multinomial(n; q/2, q/2, 1 − q), and concordant items agree
 * on 1 with probability p (the claimed rate): a ~ Bin(rest, p). Summed over every (b, c) with b + c
 * up to nq + 10 SD + 10 and a within 8 SD of its mean (what is left out is below 1e-12 of the mass).
 */
export function binaryTostPower(o: { n: number; discordance: number; p: number; margin: number; alpha?: number }): number {
  const { n, p, margin } = o;
  const q = o.discordance;
  const alpha = o.alpha ?? 0.05;
  const lnF = lnFactorials(n);
  const K = q === 0 ? 0 : Math.min(n, Math.ceil(n * q + 10 * Math.sqrt(n * q * (1 - q)) + 10));
  const lh = q > 0 ? Math.log(q / 2) : 0;
  const lr = q < 1 ? Math.log(1 - q) : -Infinity;
  const lp = p > 0 ? Math.log(p) : -Infinity;
  const l1p = p < 1 ? Math.log(1 - p) : -Infinity;
  let power = 0;
  for (let b = 0; b <= K; b++)
    for (let c = 0; b + c <= K; c++) {
      const rest = n - b - c;
      const lbc = lnF[n]! - lnF[b]! - lnF[c]! - lnF[rest]! + (b + c ? (b + c) * lh : 0) + (rest ? rest * lr : 0);
      if (lbc < -700) continue;
      // Concordant items: a ~ Bin(rest, p) agree on 1, the others on 0; ±8 SD of a carries all but 1e-15 of its mass.
      const sd = Math.sqrt(rest * p * (1 - p));
      const aLo = Math.max(0, Math.floor(rest * p - 8 * sd - 1));
      const aHi = Math.min(rest, Math.ceil(rest * p + 8 * sd + 1));
      for (let a = aLo; a <= aHi; a++) {
        const la = lnF[rest]! - lnF[a]! - lnF[rest - a]! + (a ? a * lp : 0) + (rest - a ? (rest - a) * l1p : 0);
        const w = Math.exp(lbc + la);
        if (w < 1e-18) continue;
        if (tostPairedBinary({ both: a, onlyClaim: b, onlyReplication: c, neither: rest - a }, margin, alpha).decision === 'equivalent') power += w;
      }
    }
  return Math.min(1, power);
}

function lnFactorials(n: number): Float64Array {
  const f = new Float64Array(n + 1);
  for (let i = 2; i <= n; i++) f[i] = f[i - 1]! + Math.log(i);
  return f;
}

export interface BinaryAuditPlan {
  /** Normal-approximation TOST size at the assumed discordance rate q (σ_d² = q at δ = 0): the starting point. */
  normal: EquivalencePlan;
  /** Fewest items at which an all-agreeing replication shows equivalence (Newcombe). */
  floor: number;
  /** Items to re-run: the smallest n ≥ max(normal.n, floor) at which binaryTostPower reaches the power asked for. */
  n: number;
  /** binaryTostPower at n. */
  power: number;
}

/**
 * Items to re-run for a binary metric at claimed rate p. The normal formula under-plans the
 * Newcombe decision rule when few items are discordant (computed: 9% power at the normal formula's
 * n = 18 and 43% at the all-agree floor of 22, instead of 80%, at q = 0.02, Δ = 0.1, p = 0.8), so n is raised until the exact power of the rule used at analysis time
 * reaches the target (test/audit-stats.test.ts checks it by simulation).
 */
export function binaryAuditSampleSize(o: { p: number; discordance: number; margin: number; alpha?: number; power?: number; deff?: number; max?: number }): BinaryAuditPlan {
  if (!(o.discordance >= 0 && o.discordance <= 1)) throw new RangeError(`discordance must be in [0, 1], got ${o.discordance}`);
  if (!(o.p >= 0 && o.p <= 1)) throw new RangeError(`p must be in [0, 1], got ${o.p}`);
  const target = o.power ?? 0.8;
  const normal = equivalenceSampleSize({ margin: o.margin, sigma2: o.discordance, ...(o.alpha !== undefined ? { alpha: o.alpha } : {}), power: target });
  const floor = minItemsForEquivalence(o.p, o.margin, o.alpha ?? 0.05);
  const max = o.max ?? 100_000;
  let n = Math.max(normal.n, Number.isFinite(floor) ? floor : max);
  let pw = binaryTostPower({ n, discordance: o.discordance, p: o.p, margin: o.margin, ...(o.alpha !== undefined ? { alpha: o.alpha } : {}) });
  // Power rises with n up to the lattice wobble of discrete tables: step in 1s, then in 2% jumps.
  while (pw < target && n < max) {
    n = Math.min(max, n + Math.max(1, Math.floor(n / 50)));
    pw = binaryTostPower({ n, discordance: o.discordance, p: o.p, margin: o.margin, ...(o.alpha !== undefined ? { alpha: o.alpha } : {}) });
  }
  const deff = o.deff ?? 1;
  return { normal, floor, n: pw >= target ? Math.ceil(n * deff - 1e-9) : Infinity, power: pw };
}
