import { groupContrast } from './contrast.js';
import { tTwoSidedP } from './dist.js';
import { holm, meanEstimate, wilson, type Interval } from './estimate.js';
import { basisWarnings, intervalBasis, intervalFromBasis, type IntervalBasis } from './honest.js';

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
   * How p was computed: 'cr1-t' (cluster-robust contrast, t with G − 1 df) when the suite defines
   * clusters, else 'welch-t' (Welch–Satterthwaite df).
   */
  method: 'cr1-t' | 'welch-t';
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
  opts: { level?: number; binary?: boolean; versus?: 'rest' | 'overall'; clusters?: readonly string[] | null; binaryValued?: boolean; maxEpochs?: number } = {},
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
    const basis = intervalBasis({ xs: v, clusters: opts.clusters ? cby.get(group)! : null, binaryValued: opts.binaryValued ?? !!opts.binary, maxEpochs: opts.maxEpochs ?? 1 });
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
      df = c.clusters - 1;
      method = 'cr1-t';
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
