import { groupContrast } from './contrast.js';
import { lnGamma, tTwoSidedP } from './dist.js';
import { holm, meanEstimate, wilson, type Interval } from './estimate.js';
import { basisWarnings, intervalBasis, intervalFromBasis, type IntervalBasis, type StatsRule } from './honest.js';

export interface GroupEstimate {
  group: string;
  n: number;
  mean: number;
  se: number;
  ci: Interval;
  wilson: Interval | null;
  /** The group's honest interval (stats/honest.ts), named; null bounds when none exists. */
  interval: { method: IntervalBasis['method']; lo: number | null; hi: number | null; basis: IntervalBasis; warnings: string[] };
}

export interface GroupTest {
  group: string;
  /** mean_g − mean_rest, or mean_g − overall mean when versus = 'overall'. */
  diff: number;
  se: number;
  /** diff / se. */
  z: number;
  /**
   * How p was computed: 'cr1-t' (cluster-robust contrast, t with min(G_group, G_rest) − 1 df; no
   * test when either side lies in one cluster) when the suite defines clusters, else 'welch-t'
   * (Welch–Satterthwaite df), or 'fisher-exact' for binary scores with one epoch and no clusters
   * (a t test on rare binary outcomes in small groups over-rejects).
   */
  method: 'cr1-t' | 'welch-t' | 'fisher-exact';
  df: number;
  /** Unadjusted two-sided p-value. */
  p: number;
  /** Holm–Bonferroni adjusted over all groups of this metric (standard addition). */
  pHolm: number;
  /** Holm–Bonferroni adjusted over every group test of every metric in the report (set by statsForRun). */
  pReport: number;
}

export interface GroupedResult {
  groups: GroupEstimate[];
  versus: 'rest' | 'overall';
  tests: GroupTest[];
}

/**
 * Per-group estimates and a group-vs-rest test for each group, Holm-adjusted across groups.
 * Without clusters the group and the rest are disjoint samples, so SE = sqrt(SE_g² + SE_rest²),
 * tested with Welch's t. With clusters (a cluster may straddle groups) the difference gets the
 * cluster-robust SE of stats/contrast.ts and t with G − 1 df: a z test on clustered data
 * over-rejects (issue 18 measured 18% false positives per test at ICC 0.2). Against the
 * overall mean the difference is (n_rest/n)(mean_g − mean_rest), so its z and p are identical:
 * 'overall' changes only the reported difference and its SE.
 */
export function groupedEstimates(
  xs: readonly number[],
  groups: readonly string[],
  opts: { level?: number; binary?: boolean; versus?: 'rest' | 'overall'; clusters?: readonly string[] | null; binaryValued?: boolean; unitInterval?: boolean; maxEpochs?: number; rule?: StatsRule } = {},
): GroupedResult {
  const level = opts.level ?? 0.95;
  const versus = opts.versus ?? 'rest';
  const by = new Map<string, number[]>();
  const cby = new Map<string, string[]>();
  xs.forEach((x, i) => {
    const g = groups[i]!;
    (by.get(g) ?? by.set(g, []).get(g)!).push(x);
    if (opts.clusters) (cby.get(g) ?? cby.set(g, []).get(g)!).push(opts.clusters[i]!);
  });
  const keys = [...by.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const n = xs.length;
  let total = 0;
  for (const x of xs) total += x;
  const estimates: GroupEstimate[] = keys.map((group) => {
    const v = by.get(group)!;
    const e = meanEstimate(v, level);
    const basis = intervalBasis({ xs: v, clusters: opts.clusters ? cby.get(group)! : null, binaryValued: opts.binaryValued ?? !!opts.binary, unitInterval: !!opts.unitInterval, maxEpochs: opts.maxEpochs ?? 1, ...(opts.rule ? { rule: opts.rule } : {}) });
    const iv = intervalFromBasis(basis, level);
    return {
      group,
      n: e.n,
      mean: e.mean,
      se: e.se,
      ci: e.ci,
      wilson: opts.binary ? wilson(v.reduce((s, x) => s + x, 0), v.length, level) : null,
      interval: { method: basis.method, lo: iv ? iv.lo : null, hi: iv ? iv.hi : null, basis, warnings: basisWarnings(basis) },
    };
  });
  const stats = new Map<string, { sum: number; mean: number; ss: number }>();
  for (const k of keys) {
    const v = by.get(k)!;
    const sum = v.reduce((a, x) => a + x, 0);
    const mean = sum / v.length;
    stats.set(k, { sum, mean, ss: v.reduce((a, x) => a + (x - mean) ** 2, 0) });
  }
  const raw = keys.map((group, gi) => {
    const g = estimates[gi]!;
    // Rest from per-group sufficient statistics (O(groups²), not O(groups·n)).
    let nr = 0;
    let sr = 0;
    for (const k of keys) if (k !== group) (nr += by.get(k)!.length), (sr += stats.get(k)!.sum);
    const mr = sr / nr;
    let ssr = 0;
    for (const k of keys) if (k !== group) ssr += stats.get(k)!.ss + by.get(k)!.length * (stats.get(k)!.mean - mr) ** 2;
    const r = { n: nr, mean: mr, se: nr > 1 ? Math.sqrt(ssr / (nr - 1) / nr) : NaN };
    const diffRest = g.mean - r.mean;
    let seRest: number;
    let df: number;
    let method: GroupTest['method'];
    if (opts.clusters) {
      // Cluster-robust contrast of the group against the rest (stats/contrast.ts), t with G − 1 df.
      const labels = groups.map((x) => (x === group ? 'g' : 'r'));
      const c = groupContrast(xs, labels, opts.clusters, 'g', 'r', level);
      seRest = c.se;
      // df from the side with fewer clusters: with few clusters on one side (a group that is a
      // couple of scenarios) the contrast's variance rests on those alone; G − 1 would over-reject.
      const cg = new Set<string>();
      const cr = new Set<string>();
      labels.forEach((l, i) => (l === 'g' ? cg : cr).add(opts.clusters![i]!));
      df = Math.min(c.clusters, cg.size, cr.size) - 1;
      if (df < 1) seRest = NaN;
      method = 'cr1-t';
    } else if (opts.binary) {
      const kg = Math.round(g.mean * g.n);
      const kr = Math.round(r.mean * r.n);
      seRest = Math.sqrt(g.se * g.se + r.se * r.se);
      df = NaN;
      method = 'fisher-exact';
      const p = fisherExact(kg, g.n, kr, r.n);
      const shrink = r.n / n;
      const z = seRest > 0 ? diffRest / seRest : NaN;
      return versus === 'rest' ? { group, diff: diffRest, se: seRest, z, method, df, p } : { group, diff: g.mean - total / n, se: shrink * seRest, z, method, df, p };
    } else {
      const vg = g.se * g.se;
      const vr = r.se * r.se;
      seRest = Math.sqrt(vg + vr);
      df = (vg + vr) ** 2 / ((vg * vg) / (g.n - 1) + (vr * vr) / (r.n - 1));
      method = 'welch-t';
    }
    const z = seRest > 0 ? diffRest / seRest : NaN;
    const p = seRest > 0 && df > 0 ? tTwoSidedP(z, df) : seRest === 0 ? (diffRest === 0 ? 1 : 0) : NaN;
    const shrink = r.n / n;
    return versus === 'rest' ? { group, diff: diffRest, se: seRest, z, method, df, p } : { group, diff: g.mean - total / n, se: shrink * seRest, z, method, df, p };
  });
  // Only meaningful with ≥ 2 groups; a single group has no "rest".
  const adj = holm(raw.map((t) => t.p));
  return { groups: estimates, versus, tests: keys.length > 1 ? raw.map((t, i) => ({ ...t, pHolm: adj[i]!, pReport: adj[i]! })) : [] };
}

const lnChoose = (n: number, k: number) => lnGamma(n + 1) - lnGamma(k + 1) - lnGamma(n - k + 1);

/**
 * Fisher's exact test, two-sided (sum of tables no more probable than the observed, as R's
 * fisher.test and scipy.stats.fisher_exact), for k1 of n1 against k2 of n2.
 */
export function fisherExact(k1: number, n1: number, k2: number, n2: number): number {
  const K = k1 + k2;
  const N = n1 + n2;
  if (!n1 || !n2) return NaN;
  const lo = Math.max(0, K - n2);
  const hi = Math.min(K, n1);
  const lp = (x: number) => lnChoose(n1, x) + lnChoose(n2, K - x) - lnChoose(N, K);
  const obs = lp(k1);
  let p = 0;
  for (let x = lo; x <= hi; x++) {
    const l = lp(x);
    if (l <= obs + 1e-7 * Math.abs(obs) + 1e-12) p += Math.exp(l);
  }
  return Math.min(1, p);
}
