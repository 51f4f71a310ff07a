import { holm, meanEstimate, wilson, zTest, type Interval } from './estimate.js';

export interface GroupEstimate {
  group: string;
  n: number;
  mean: number;
  se: number;
  ci: Interval;
  wilson: Interval | null;
}

export interface GroupTest {
  group: string;
  /** mean_g − mean_rest, or mean_g − overall mean when versus = 'overall'. */
  diff: number;
  se: number;
  z: number;
  /** Unadjusted two-sided p-value. */
  p: number;
  /** Holm–Bonferroni adjusted over all groups of this metric (standard addition). */
  pHolm: number;
}

export interface GroupedResult {
  groups: GroupEstimate[];
  versus: 'rest' | 'overall';
  tests: GroupTest[];
}

/**
 * Per-group estimates and a group-vs-rest z test for each group, Holm-adjusted across groups.
 * The group and the rest are disjoint samples, so SE = sqrt(SE_g² + SE_rest²). Against the
 * overall mean the difference is (n_rest/n)(mean_g − mean_rest), so its z and p are identical:
 * 'overall' changes only the reported difference and its SE.
 */
export function groupedEstimates(xs: readonly number[], groups: readonly string[], opts: { level?: number; binary?: boolean; versus?: 'rest' | 'overall' } = {}): GroupedResult {
  const level = opts.level ?? 0.95;
  const versus = opts.versus ?? 'rest';
  const by = new Map<string, number[]>();
  xs.forEach((x, i) => {
    const g = groups[i]!;
    (by.get(g) ?? by.set(g, []).get(g)!).push(x);
  });
  const keys = [...by.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const n = xs.length;
  let total = 0;
  for (const x of xs) total += x;
  const estimates: GroupEstimate[] = keys.map((group) => {
    const v = by.get(group)!;
    const e = meanEstimate(v, level);
    return { group, n: e.n, mean: e.mean, se: e.se, ci: e.ci, wilson: opts.binary ? wilson(v.reduce((s, x) => s + x, 0), v.length, level) : null };
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
    const seRest = Math.sqrt(g.se * g.se + r.se * r.se);
    const { z, p } = zTest(diffRest, seRest);
    const shrink = r.n / n;
    return versus === 'rest' ? { group, diff: diffRest, se: seRest, z, p } : { group, diff: g.mean - total / n, se: shrink * seRest, z, p };
  });
  // Only meaningful with ≥ 2 groups; a single group has no "rest".
  const adj = holm(raw.map((t) => t.p));
  return { groups: estimates, versus, tests: keys.length > 1 ? raw.map((t, i) => ({ ...t, pHolm: adj[i]! })) : [] };
}
