/**
 * Coverage simulation of every interval Assay prints or decides on (issue 18). Pure and seeded:
 * the same cell and seed give the same figures on every machine. Used by bench/coverage.ts (the
 * full grid, outside CI) and test/stats-coverage.test.ts (a small smoke grid, in CI).
 */
import { bootstrapMean } from '../src/stats/bootstrap.js';
import { FEW_CLUSTERS, intervalBasis, intervalFromBasis, type StatsRule } from '../src/stats/honest.js';
import { groupedEstimates } from '../src/stats/groups.js';
import { sampleSizeFor } from '../src/stats/power.js';
import { Prng } from '../src/stats/prng.js';
import { intervalFor, type MetricFacts } from '../src/policy/evaluate.js';
import { normalTwoSidedP, tQuantile } from '../src/stats/dist.js';

export interface Cell {
  /**
   * binary: 0/1 scores; continuous: Beta scores in [0, 1]; unbounded: scores on an open scale
   * (logit margins, rubric totals), true mean 0, unit variance, with the `shape` of every effect.
   */
  kind: 'binary' | 'continuous' | 'unbounded';
  /** True mean (binary: the rate; unbounded: 0). */
  p: number;
  /** Unbounded only: distribution of the cluster, item and epoch effects (standardised). */
  shape?: UnboundedShape;
  n: number;
  /** 0: the suite defines no clusters. */
  clusters: number;
  icc: number;
  epochs: number;
  /** Cluster sizes proportional to 1, 2, …, G (every cluster ≥ 1 sample) instead of equal. */
  unequal?: boolean;
}

export interface CellResult {
  cell: Cell;
  reps: number;
  /** Name(s) of the headline interval seen. */
  methods: string[];
  /** Replications where no honest interval exists (reported as none), and why. */
  none: number;
  noneReason: string | null;
  /** Empirical coverage of the headline interval over reps where one was reported; NaN if none. */
  headline: number;
  /** One-sided misses of the headline: truth below lo, truth above hi. */
  missLo: number;
  missHi: number;
  /** The verdict interval under a policy's `auto` at 95% two-sided: coverage and one-sided misses. */
  verdict: number;
  verdictMissLo: number;
  verdictMissHi: number;
  /** Bootstrap cross-check coverage (sub-grid only; NaN otherwise). */
  bootstrap: number;
}

/** Gamma(shape, 1) by Marsaglia–Tsang (shape < 1 by the boost u^{1/a}). */
function gamma(rng: Prng, a: number): number {
  if (a < 1) return gamma(rng, a + 1) * Math.pow(1 - rng.next(), 1 / a);
  const d = a - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.next();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Beta with mean m and "ICC" rho (a + b = (1 − rho)/rho); rho 0 → m exactly. */
export function betaMeanIcc(rng: Prng, m: number, rho: number): number {
  if (rho <= 0 || m <= 0 || m >= 1) return m;
  const s = (1 - rho) / rho;
  const x = gamma(rng, m * s);
  const y = gamma(rng, (1 - m) * s);
  return x + y > 0 ? x / (x + y) : m;
}

/** Dispersion of item rates within a cluster (so epochs have both within- and between-item variance). */
const ITEM_ICC = 0.3;
/** Precision of a continuous score around its item mean (Beta, so scores stay in [0, 1]). */
const SCORE_ICC = 0.2;

export type UnboundedShape = 'normal' | 'skewed' | 'heavy';

/**
 * A standardised draw (mean 0, variance 1): normal; skewed = (Gamma(2) − 2)/√2 (skewness 1.41, as
 * a rubric total piled against its floor); heavy = t with 5 df scaled to unit variance (kurtosis 9).
 */
function standard(rng: Prng, shape: UnboundedShape): number {
  if (shape === 'normal') return rng.normal();
  if (shape === 'skewed') return (gamma(rng, 2) - 2) / Math.SQRT2;
  let chi = 0;
  for (let k = 0; k < 5; k++) chi += rng.normal() ** 2;
  return (rng.normal() / Math.sqrt(chi / 5)) * Math.sqrt(3 / 5);
}

/**
 * Unbounded scores: cluster effect (variance ICC), item effect (ITEM_ICC of the rest) and epoch
 * noise, each of the cell's shape, so epochs carry both within- and between-item variance.
 */
function simulateUnbounded(rng: Prng, c: Cell, of: Int32Array): Float64Array {
  const shape = c.shape ?? 'normal';
  const G = c.clusters;
  const rest = 1 - (G > 0 ? c.icc : 0);
  const u = G > 0 ? Array.from({ length: G }, () => Math.sqrt(c.icc) * standard(rng, shape)) : null;
  const xs = new Float64Array(c.n);
  for (let i = 0; i < c.n; i++) {
    const a = (u ? u[of[i]!]! : 0) + Math.sqrt(rest * ITEM_ICC) * standard(rng, shape);
    let s = 0;
    for (let e = 0; e < c.epochs; e++) s += a + Math.sqrt(rest * (1 - ITEM_ICC)) * standard(rng, shape);
    xs[i] = c.p + s / c.epochs;
  }
  return xs;
}

/** One simulated run: per-sample (epoch-averaged) scores, clusters, and whether every score is 0/1. */
export function simulate(rng: Prng, c: Cell): { xs: Float64Array; clusters: string[] | null } {
  const G = c.clusters;
  if (c.kind === 'unbounded') {
    const of = clusterOf(c);
    return { xs: simulateUnbounded(rng, c, of), clusters: G > 0 ? Array.from({ length: c.n }, (_, i) => `c${of[i]}`) : null };
  }
  const xs = new Float64Array(c.n);
  const clusterRate = G > 0 ? Array.from({ length: G }, () => betaMeanIcc(rng, c.p, c.icc)) : null;
  const of = clusterOf(c);
  for (let i = 0; i < c.n; i++) {
    const pc = clusterRate ? clusterRate[of[i]!]! : c.p;
    // With one epoch the item's latent rate does not matter (marginally Bernoulli(pc)); draw it only when needed.
    const q = c.epochs > 1 || c.kind === 'continuous' ? betaMeanIcc(rng, pc, ITEM_ICC) : pc;
    let s = 0;
    for (let e = 0; e < c.epochs; e++) s += c.kind === 'binary' ? (rng.next() < q ? 1 : 0) : betaMeanIcc(rng, q, SCORE_ICC);
    xs[i] = s / c.epochs;
  }
  return { xs, clusters: G > 0 ? Array.from({ length: c.n }, (_, i) => `c${of[i]}`) : null };
}

/** Cluster index of each sample: i mod G, or (unequal) sizes ∝ 1..G with every cluster non-empty. */
export function clusterOf(c: Cell): Int32Array {
  const G = c.clusters;
  const of = new Int32Array(c.n);
  if (G <= 0) return of;
  if (!c.unequal) {
    for (let i = 0; i < c.n; i++) of[i] = i % G;
    return of;
  }
  const total = (G * (G + 1)) / 2;
  const sizes = Array.from({ length: G }, (_, g) => 1 + Math.floor(((c.n - G) * (g + 1)) / total));
  let left = c.n - sizes.reduce((a, b) => a + b, 0);
  for (let g = G - 1; left > 0; g = (g + G - 1) % G, left--) sizes[g]!++;
  let i = 0;
  sizes.forEach((m, g) => {
    for (let j = 0; j < m; j++) of[i++] = g;
  });
  return of;
}

/**
 * Runs one cell: `reps` replications from `seed`. Bootstrap coverage only when bootstrapResamples > 0.
 * `rule` picks an older headline-interval rule (stats/honest.ts), to measure what reports signed with it did.
 */
export function runCell(c: Cell, reps: number, seed: number, bootstrapResamples = 0, rule?: StatsRule): CellResult {
  const rng = new Prng(seed);
  let covered = 0;
  let reported = 0;
  let missLo = 0;
  let missHi = 0;
  let vCov = 0;
  let vLo = 0;
  let vHi = 0;
  let vN = 0;
  let none = 0;
  let noneReason: string | null = null;
  let bCov = 0;
  let bN = 0;
  const methods = new Set<string>();
  for (let r = 0; r < reps; r++) {
    const { xs, clusters } = simulate(rng, c);
    const binaryValued = c.kind === 'binary';
    const bounded = c.kind !== 'unbounded';
    const basis = intervalBasis({ xs, clusters, binaryValued, maxEpochs: c.epochs, unitInterval: bounded, ...(rule ? { rule } : {}) });
    methods.add(basis.method);
    const iv = intervalFromBasis(basis, 0.95);
    if (!iv) {
      none++;
      if (basis.method === 'none') noneReason = basis.reason;
    } else {
      const lo = bounded ? Math.max(0, iv.lo) : iv.lo;
      const hi = bounded ? Math.min(1, iv.hi) : iv.hi;
      reported++;
      if (c.p < lo) missLo++;
      else if (c.p > hi) missHi++;
      else covered++;
    }
    // The verdict interval: what a policy's auto interval decides on, from the same facts.
    let mean = 0;
    for (const x of xs) mean += x;
    mean /= xs.length;
    let ss = 0;
    for (const x of xs) ss += (x - mean) ** 2;
    const se = xs.length > 1 ? Math.sqrt(ss / (xs.length - 1) / xs.length) : null;
    const facts: MetricFacts = { name: 'm', n: c.n, counts: { scored: c.n, unscored: 0, errored: 0 }, mean, se, binary: binaryValued && c.epochs === 1, clusteredSe: clusters ? 0 : null, clusters: clusters ? c.clusters : null, basis };
    const v = intervalFor(facts, { method: 'auto', level: 0.95, sided: 'two' });
    if ('lo' in v) {
      vN++;
      if (c.p < v.lo) vLo++;
      else if (c.p > v.hi) vHi++;
      else vCov++;
    }
    if (bootstrapResamples > 0 && xs.length > 1 && (c.clusters === 0 || c.clusters >= FEW_CLUSTERS)) {
      const b = bootstrapMean(xs, { seed: r, resamples: bootstrapResamples, level: 0.95, ...(clusters ? { clusters } : {}) });
      bN++;
      if (c.p >= b.ci.lo && c.p <= b.ci.hi) bCov++;
    }
  }
  return {
    cell: c,
    reps,
    methods: [...methods].sort(),
    none,
    noneReason,
    headline: reported ? covered / reported : NaN,
    missLo: reported ? missLo / reported : NaN,
    missHi: reported ? missHi / reported : NaN,
    verdict: vN ? vCov / vN : NaN,
    verdictMissLo: vN ? vLo / vN : NaN,
    verdictMissHi: vN ? vHi / vN : NaN,
    bootstrap: bN ? bCov / bN : NaN,
  };
}

export interface GroupCell {
  n: number;
  /** 0: unclustered. */
  clusters: number;
  icc: number;
  p: number;
  groups: number;
  /** 'by-cluster': each cluster in one group (a group is a set of scenarios); 'within': every cluster holds every group. */
  layout: 'by-cluster' | 'within';
  /** Cluster sizes ∝ 1..G instead of equal. */
  unequal?: boolean;
}

/** Group of each sample: by cluster (cluster index mod groups), or by position within its cluster (every cluster holds every group). */
function groupLabels(g: GroupCell, cell: Cell): string[] {
  if (g.clusters === 0) return Array.from({ length: g.n }, (_, i) => `g${i % g.groups}`);
  const of = clusterOf(cell);
  const seen = new Map<number, number>();
  return Array.from(of, (c) => {
    if (g.layout === 'by-cluster') return `g${c % g.groups}`;
    const j = seen.get(c) ?? 0;
    seen.set(c, j + 1);
    return `g${j % g.groups}`;
  });
}

/** False-positive rate of the group-vs-rest tests (per test, and family-wise after Holm) under the null of no group effect. */
export function groupFalsePositives(g: GroupCell, reps: number, seed: number): { perTest: number; familyWise: number; tests: number } {
  const rng = new Prng(seed);
  let rejected = 0;
  let tests = 0;
  let fw = 0;
  for (let r = 0; r < reps; r++) {
    const cell: Cell = { kind: 'binary', p: g.p, n: g.n, clusters: g.clusters, icc: g.icc, epochs: 1, ...(g.unequal ? { unequal: true } : {}) };
    const { xs, clusters } = simulate(rng, cell);
    const labels = groupLabels(g, cell);
    const res = groupedEstimates(Array.from(xs), labels, { binary: true, clusters });
    let any = false;
    for (const t of res.tests) {
      if (Number.isNaN(t.p)) continue;
      tests++;
      if (t.p <= 0.05) rejected++;
      if (t.pHolm <= 0.05) any = true;
    }
    if (any) fw++;
  }
  return { perTest: tests ? rejected / tests : NaN, familyWise: fw / reps, tests };
}

/** Simulated power of the pooled two-proportion z test at the n `assay plan` gives for p and δ. */
export function plannedPower(p: number, mde: number, reps: number, seed: number): { n: number; power: number } {
  const plan = sampleSizeFor({ p, mde });
  const n = plan.n;
  const pb = plan.rates!.b;
  const rng = new Prng(seed);
  let hits = 0;
  for (let r = 0; r < reps; r++) {
    let a = 0;
    let b = 0;
    for (let i = 0; i < n; i++) {
      if (rng.next() < p) a++;
      if (rng.next() < pb) b++;
    }
    const pa = a / n;
    const pbh = b / n;
    const pool = (a + b) / (2 * n);
    const se = Math.sqrt(pool * (1 - pool) * (2 / n));
    const pv = se > 0 ? normalTwoSidedP((pbh - pa) / se) : 1;
    if (pv <= 0.05) hits++;
  }
  return { n, power: hits / reps };
}

/**
 * Simulated power of a clustered plan: `sampleSizeFor({p, mde, icc, clusterSize})` gives n per model;
 * each model's run is ceil(n / m) clusters of m samples with Beta cluster rates at that ICC. The test
 * is the difference of the two means with the CR1 (cluster-robust) SE of each arm and a t critical
 * value on 2(G − 1) df, two-sided at α = 0.05.
 */
export function plannedPowerClustered(o: { p: number; mde: number; icc: number; clusterSize: number }, reps: number, seed: number): { n: number; clusters: number; power: number } {
  const plan = sampleSizeFor({ p: o.p, mde: o.mde, icc: o.icc, clusterSize: o.clusterSize });
  const G = Math.ceil(plan.n / o.clusterSize);
  const m = o.clusterSize;
  const rng = new Prng(seed);
  const tcrit = tQuantile(0.975, 2 * (G - 1));
  const arm = (rate: number) => {
    const totals: number[] = [];
    for (let g = 0; g < G; g++) {
      const r = betaMeanIcc(rng, rate, o.icc);
      let k = 0;
      for (let i = 0; i < m; i++) if (rng.next() < r) k++;
      totals.push(k);
    }
    const N = G * m;
    const mean = totals.reduce((a, b) => a + b, 0) / N;
    let v = 0;
    for (const t of totals) v += (t - m * mean) ** 2;
    return { mean, v: ((G / (G - 1)) * v) / (N * N) };
  };
  let hits = 0;
  for (let r = 0; r < reps; r++) {
    const a = arm(o.p);
    const b = arm(plan.rates!.b);
    const se = Math.sqrt(a.v + b.v);
    if (se > 0 && Math.abs(b.mean - a.mean) / se > tcrit) hits++;
  }
  return { n: plan.n, clusters: G, power: hits / reps };
}
