import { normalQuantile } from './dist.js';

/** Inputs of Miller R5. Variances are per-sample variances of one model's scores. */
export interface PowerInputs {
  /** Two-sided significance level (default 0.05). */
  alpha?: number;
  /** 1 − β (default 0.8). */
  power?: number;
  /** Per-sample score variance of model A (and of B unless sigma2B is given). */
  sigma2?: number;
  /** Binary scores: expected rate; variance p(1 − p). Used when sigma2 is absent. */
  p?: number;
  sigma2B?: number;
  /** Same samples for both models (paired differences, R4). */
  paired?: boolean;
  /** Correlation of the two models' per-sample scores; only with paired (default 0). */
  correlation?: number;
  /** Residual within-sample variance E[σ²] and epochs per sample K (R3 terms σ²/K_A + σ²/K_B). */
  withinVariance?: number;
  epochs?: number;
  /**
   * Clustered designs: the design effect (≥ 1) by which n is multiplied, or the ICC and mean
   * cluster size from which deff = 1 + (m − 1)·ICC.
   */
  deff?: number;
  icc?: number;
  clusterSize?: number;
}

export interface PowerPlan {
  alpha: number;
  power: number;
  zAlpha: number;
  zBeta: number;
  /** ω² + σ_A²/K_A + σ_B²/K_B: variance of one sample's difference. */
  varianceTerm: number;
  paired: boolean;
  correlation: number;
  mde: number;
  /** Samples needed (per model when unpaired); ceiling of nExact. Includes the design effect. */
  n: number;
  nExact: number;
  /**
   * Binary scores given by p, unpaired: the two rates planned for (p and p ± δ, each with its own
   * variance) and the formula used; null otherwise.
   */
  rates: { a: number; b: number; method: 'unequal-variance' } | null;
  /** Design effect applied (1 without clusters), and clusters needed when a cluster size was given. */
  deff: number;
  clusters: number | null;
}

function designEffectOf(o: PowerInputs): number {
  if (o.deff !== undefined && (o.icc !== undefined || o.clusterSize !== undefined)) throw new RangeError('give the design effect, or the ICC with a cluster size, not both');
  if (o.deff !== undefined) {
    if (!(o.deff >= 1)) throw new RangeError(`design effect must be ≥ 1, got ${o.deff}`);
    return o.deff;
  }
  if (o.icc !== undefined) {
    if (!(o.icc >= 0 && o.icc <= 1)) throw new RangeError(`ICC must be in [0, 1], got ${o.icc}`);
    if (!(o.clusterSize !== undefined && o.clusterSize >= 1)) throw new RangeError('an ICC needs the mean cluster size (samples per cluster, ≥ 1)');
    return 1 + (o.clusterSize - 1) * o.icc;
  }
  return 1;
}

function terms(o: PowerInputs) {
  const alpha = o.alpha ?? 0.05;
  const power = o.power ?? 0.8;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(power > 0 && power < 1)) throw new RangeError(`power must be in (0, 1), got ${power}`);
  if (o.p !== undefined && !(o.p >= 0 && o.p <= 1)) throw new RangeError(`p must be in [0, 1], got ${o.p}`);
  const sA = o.sigma2 ?? (o.p !== undefined ? o.p * (1 - o.p) : NaN);
  if (!(sA >= 0)) throw new RangeError('give sigma2 (score variance) or p (expected rate of a binary score)');
  const sB = o.sigma2B ?? sA;
  const rho = o.paired ? (o.correlation ?? 0) : 0;
  if (!(rho >= -1 && rho <= 1)) throw new RangeError(`correlation must be in [-1, 1], got ${rho}`);
  const zAlpha = normalQuantile(1 - alpha / 2);
  const zBeta = normalQuantile(power);
  const deff = designEffectOf(o);
  const epochTerm = o.withinVariance !== undefined ? (2 * o.withinVariance) / (o.epochs ?? 1) : 0;
  return { alpha, power, zAlpha, zBeta, sA, sB, rho, paired: !!o.paired, deff, epochTerm };
}

type Terms = ReturnType<typeof terms>;

/** The second rate planned for: p + δ, or p − δ when p + δ would pass 1. */
const otherRate = (p: number, d: number) => (p + d <= 1 ? p + d : p - d);

/**
 * n for effect d. Binary by p, unpaired: the unequal-variance (score-test) formula
 * n = (z_{α/2}·sqrt(2 p̄ q̄) + z_β·sqrt(p_A q_A + p_B q_B))² / δ² with the Fleiss continuity correction
 * n_cc = n/4·(1 + sqrt(1 + 4/(n δ)))², so rare rates (where the two arms'
 * variances differ most) are not under-planned; otherwise Miller R5 with V from sigma2 (and, binary
 * paired, σ_A² = p_A q_A, σ_B² = p_B q_B). Times the design effect.
 */
function nFor(o: PowerInputs, t: Terms, d: number): { n: number; v: number; rates: PowerPlan['rates'] } {
  if (o.p !== undefined && o.sigma2 === undefined && o.sigma2B === undefined) {
    const pa = o.p;
    const pb = otherRate(pa, d);
    const va = pa * (1 - pa);
    const vb = pb * (1 - pb);
    if (!t.paired) {
      const pbar = (pa + pb) / 2;
      const root = t.zAlpha * Math.sqrt(2 * pbar * (1 - pbar) + t.epochTerm) + t.zBeta * Math.sqrt(va + vb + t.epochTerm);
      const n0 = (root * root) / (d * d);
      // Fleiss–Tytun–Ury continuity correction: the plan then holds for the exact (Fisher) test too,
      // and the normal approximation's shortfall at moderate p is covered.
      const ncc = (n0 / 4) * (1 + Math.sqrt(1 + 4 / (n0 * d))) ** 2;
      return { n: ncc * t.deff, v: va + vb + t.epochTerm, rates: { a: pa, b: pb, method: 'unequal-variance' } };
    }
    const v = va + vb - 2 * t.rho * Math.sqrt(va * vb) + t.epochTerm;
    return { n: (((t.zAlpha + t.zBeta) ** 2 * v) / (d * d)) * t.deff, v, rates: null };
  }
  // Var(A − B) per sample: σ_A² + σ_B² − 2ρσ_Aσ_B (ρ = 0 unpaired: independent samples).
  const v = t.sA + t.sB - 2 * t.rho * Math.sqrt(t.sA * t.sB) + t.epochTerm;
  return { n: (((t.zAlpha + t.zBeta) ** 2 * v) / (d * d)) * t.deff, v, rates: null };
}

/** Samples needed to detect a true difference `mde` (Miller R5, with unequal variances for binary rates). */
export function sampleSizeFor(o: PowerInputs & { mde: number }): PowerPlan {
  if (!(o.mde > 0)) throw new RangeError(`mde must be > 0, got ${o.mde}`);
  if (o.p !== undefined && o.mde > Math.max(o.p, 1 - o.p)) throw new RangeError(`mde ${o.mde} is impossible for a rate of ${o.p}`);
  const t = terms(o);
  const r = nFor(o, t, o.mde);
  const n = Math.max(1, Math.ceil(r.n - 1e-9));
  return { alpha: t.alpha, power: t.power, zAlpha: t.zAlpha, zBeta: t.zBeta, varianceTerm: r.v, paired: t.paired, correlation: t.rho, mde: o.mde, n, nExact: r.n, rates: r.rates, deff: t.deff, clusters: o.clusterSize ? Math.ceil(n / o.clusterSize) : null };
}

/** Smallest true difference detectable with n samples: the δ at which sampleSizeFor gives n (bisection; closed form without p). */
export function minDetectableEffect(o: PowerInputs & { n: number }): PowerPlan {
  if (!(o.n > 0)) throw new RangeError(`n must be > 0, got ${o.n}`);
  const t = terms(o);
  let mde: number;
  let r: ReturnType<typeof nFor>;
  if (o.p !== undefined && o.sigma2 === undefined) {
    let lo = 0;
    let hi = Math.max(o.p, 1 - o.p);
    if (nFor(o, t, hi).n > o.n) mde = NaN;
    else {
      for (let i = 0; i < 100; i++) {
        const mid = (lo + hi) / 2;
        if (nFor(o, t, mid).n > o.n) lo = mid;
        else hi = mid;
      }
      mde = hi;
    }
    r = nFor(o, t, Number.isFinite(mde) ? mde : Math.max(o.p, 1 - o.p));
  } else {
    r = nFor(o, t, 1);
    mde = Math.sqrt(r.n / o.n); // n(δ) = n(1)/δ²
  }
  return { alpha: t.alpha, power: t.power, zAlpha: t.zAlpha, zBeta: t.zBeta, varianceTerm: r.v, paired: t.paired, correlation: t.rho, mde, n: o.n, nExact: o.n, rates: r.rates, deff: t.deff, clusters: o.clusterSize ? Math.ceil(o.n / o.clusterSize) : null };
}
