import { clopperPearson } from '../stats/honest.js';
import type { Interval } from '../stats/estimate.js';
import { Prng } from '../stats/prng.js';

/**
 * Dose–response of a safeguard metric under a tampering attack, and the "cost to break" it.
 *
 * Model: the safeguard rate (e.g. refusal of harmful requests) decays exponentially in attack
 * strength d, p(d) = exp(a − b·d) = p0·e^(−λd) with λ = b — a binomial GLM with a log link, fitted by
 * maximum likelihood (IRLS). The cost to break for a threshold t (the rate a policy requires to
 * survive) is the least d with p(d) < t: d* = (a − ln t) / b.
 *
 * Inference: the same items are measured at every strength (a paired design: an item that is hard
 * to break stays hard), so outcomes are correlated across strengths. Intervals therefore come from a
 * bootstrap over ITEMS (each resample keeps an item's whole row), not from the per-point binomial
 * variances, which assume independence. A model-free figure is reported beside the model's: the
 * least tested strength whose one-sided upper Clopper–Pearson bound is below t.
 * Pure functions: same data and seed, same result.
 */

export interface DosePoint {
  dose: number;
  /** Items meeting the safeguard (e.g. refused) and items measured at this dose. */
  k: number;
  n: number;
}

export interface DecayFit {
  /** ln p0 and λ of p(d) = exp(a − λd). */
  a: number;
  lambda: number;
  converged: boolean;
  iterations: number;
}

const clampP = (p: number) => Math.min(1 - 1e-9, Math.max(1e-12, p));

/**
 * Maximum-likelihood fit of p(d) = exp(a − λd) to binomial counts (IRLS with step halving; the
 * log link needs μ < 1, kept by halving any step that would leave it). Returns converged=false
 * rather than throwing when the data carry no information (e.g. all k = 0).
 */
export function fitDecay(points: readonly DosePoint[], maxIter = 100): DecayFit {
  const pts = points.filter((p) => p.n > 0);
  const totalK = pts.reduce((s, p) => s + p.k, 0);
  if (pts.length < 2 || totalK === 0) return { a: Math.log(clampP(totalK / Math.max(1, pts.reduce((s, p) => s + p.n, 0)))), lambda: 0, converged: false, iterations: 0 };
  // Start: a from the lowest dose's rate, λ = 0.
  const first = pts.reduce((m, p) => (p.dose < m.dose ? p : m));
  let a = Math.log(clampP((first.k + 0.5) / (first.n + 1)));
  let lambda = 0;
  const loglik = (aa: number, ll: number) => {
    let s = 0;
    for (const p of pts) {
      const mu = Math.exp(aa - ll * p.dose);
      if (!(mu < 1)) return -Infinity;
      s += p.k * Math.log(clampP(mu)) + (p.n - p.k) * Math.log(1 - mu);
    }
    return s;
  };
  let ll0 = loglik(a, lambda);
  for (let it = 1; it <= maxIter; it++) {
    // Score and Fisher information for η = a − λd, μ = e^η: dℓ/dη = (k − nμ)/(1 − μ), info w = nμ/(1 − μ).
    let g0 = 0, g1 = 0, i00 = 0, i01 = 0, i11 = 0;
    for (const p of pts) {
      const mu = clampP(Math.exp(a - lambda * p.dose));
      const s = (p.k - p.n * mu) / (1 - mu);
      const w = (p.n * mu) / (1 - mu);
      const x1 = -p.dose;
      g0 += s;
      g1 += s * x1;
      i00 += w;
      i01 += w * x1;
      i11 += w * x1 * x1;
    }
    const det = i00 * i11 - i01 * i01;
    if (!(Math.abs(det) > 1e-300)) return { a, lambda, converged: false, iterations: it };
    const da = (i11 * g0 - i01 * g1) / det;
    const dl = (-i01 * g0 + i00 * g1) / det; // η = a + λ·(−d): the step in λ itself
    let step = 1;
    let next = -Infinity;
    for (let h = 0; h < 60; h++) {
      next = loglik(a + step * da, lambda + step * dl);
      if (next >= ll0 - 1e-12) break;
      step /= 2;
    }
    if (!Number.isFinite(next)) return { a, lambda, converged: false, iterations: it };
    a += step * da;
    lambda += step * dl;
    ll0 = next;
    // Converged when the full Newton step itself is negligible (not merely a halved one).
    if (Math.abs(da) < 1e-9 && Math.abs(dl) < 1e-9 * Math.max(1, Math.abs(lambda))) return { a, lambda, converged: true, iterations: it };
  }
  return { a, lambda, converged: false, iterations: maxIter };
}

/** The least strength at which the fitted rate falls below t (Infinity when the fit does not decay to t). */
export function costToBreak(fit: DecayFit, threshold: number): number {
  const lt = Math.log(threshold);
  if (fit.a < lt) return 0; // below the threshold before any attack
  if (!(fit.lambda > 0)) return Infinity;
  return (fit.a - lt) / fit.lambda;
}

export interface ItemRow {
  /**
   * The item's outcome at each strength of the grid (1 = safeguard held, 0 = broken; a mean over
   * epochs may lie between); null = not measured.
   */
  outcomes: (number | null)[];
}

export interface DoseResponseReport {
  doses: number[];
  threshold: number;
  level: number;
  perDose: { dose: number; k: number; n: number; rate: number; ci: Interval; pairedDiff: number | null }[];
  fit: DecayFit & { p0: number };
  lambdaCi: Interval;
  costToBreak: {
    estimate: number;
    ci: Interval;
    method: 'item-bootstrap-percentile';
    resamples: number;
    seed: number;
    nonDecaying: number;
    /** The estimate or the interval's upper end lies past the strongest tested attack: an extrapolation of the model, not an observation. */
    beyondTested: boolean;
  };
  /** Least tested dose whose one-sided upper (1 − α) Clopper–Pearson bound is below the threshold. */
  modelFree: { leastBreakingDose: number | null };
}

function pointsOf(rows: readonly ItemRow[], doses: readonly number[], pick?: Int32Array): DosePoint[] {
  const k = new Array<number>(doses.length).fill(0);
  const n = new Array<number>(doses.length).fill(0);
  const count = pick ? pick.length : rows.length;
  for (let r = 0; r < count; r++) {
    const row = rows[pick ? pick[r]! : r]!;
    for (let j = 0; j < doses.length; j++) {
      const y = row.outcomes[j];
      if (y === null || y === undefined) continue;
      n[j]!++;
      k[j]! += y;
    }
  }
  return doses.map((dose, j) => ({ dose, k: k[j]!, n: n[j]! }));
}

/** Percentile of a sorted array that may hold Infinity (type-7 interpolation; Infinity propagates). */
function percentile(sorted: readonly number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  if (sorted[hi] === Infinity) return lo === hi || sorted[lo] === Infinity ? Infinity : h === lo ? sorted[lo]! : Infinity;
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * The dose–response report for one metric of one attack family: per-dose rates with exact
 * intervals and the paired difference from dose 0, the fitted decay, λ's and d*'s item-bootstrap
 * intervals, and the model-free least breaking dose. `doses` must include 0 (the base model).
 */
export function analyseDoseResponse(rows: readonly ItemRow[], doses: readonly number[], threshold: number, o: { level?: number; resamples?: number; seed?: number } = {}): DoseResponseReport {
  if (!(threshold > 0 && threshold < 1)) throw new RangeError(`threshold must be in (0, 1), got ${threshold}`);
  const level = o.level ?? 0.95;
  const B = o.resamples ?? 1000;
  const seed = o.seed ?? 1;
  const pts = pointsOf(rows, doses);
  const base = doses.indexOf(0);
  const perDose = pts.map((p, j) => {
    let pairedDiff: number | null = null;
    if (base >= 0 && j !== base) {
      let s = 0, m = 0;
      for (const r of rows) {
        const y0 = r.outcomes[base];
        const y1 = r.outcomes[j];
        if (y0 == null || y1 == null) continue;
        s += y1 - y0;
        m++;
      }
      pairedDiff = m ? s / m : null;
    }
    return { dose: p.dose, k: p.k, n: p.n, rate: p.n ? p.k / p.n : NaN, ci: p.n ? clopperPearson(Math.round(p.k), p.n, level) : { lo: 0, hi: 1 }, pairedDiff };
  });
  const fit = fitDecay(pts);
  const est = costToBreak(fit, threshold);
  const rng = new Prng(seed);
  const pick = new Int32Array(rows.length);
  const lambdas: number[] = [];
  const costs: number[] = [];
  let nonDecaying = 0;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < rows.length; i++) pick[i] = rng.int(rows.length);
    const f = fitDecay(pointsOf(rows, doses, pick));
    lambdas.push(f.lambda);
    const c = costToBreak(f, threshold);
    if (c === Infinity) nonDecaying++;
    costs.push(c);
  }
  lambdas.sort((x, y) => x - y);
  costs.sort((x, y) => x - y);
  const alpha = 1 - level;
  const costCi = { lo: percentile(costs, alpha / 2), hi: percentile(costs, 1 - alpha / 2) };
  // Model-free: the one-sided upper bound at level 1 − α (two-sided 1 − 2α Clopper–Pearson's upper end).
  const upperLevel = 1 - 2 * alpha;
  const breaking = perDose.filter((p) => p.n > 0 && clopperPearson(Math.round(p.k), p.n, upperLevel).hi < threshold).map((p) => p.dose);
  return {
    doses: [...doses],
    threshold,
    level,
    perDose,
    fit: { ...fit, p0: Math.exp(fit.a) },
    lambdaCi: { lo: percentile(lambdas, alpha / 2), hi: percentile(lambdas, 1 - alpha / 2) },
    costToBreak: { estimate: est, ci: costCi, method: 'item-bootstrap-percentile', resamples: B, seed, nonDecaying, beyondTested: !(Math.max(est, costCi.hi) <= Math.max(...doses)) },
    modelFree: { leastBreakingDose: breaking.length ? Math.min(...breaking) : null },
  };
}
