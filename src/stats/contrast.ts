import { zFor, normalTwoSidedP } from './dist.js';
import type { Interval } from './estimate.js';

export interface Contrast {
  group: string;
  baseline: string;
  /** mean(group) − mean(baseline). */
  diff: number;
  /** Cluster-robust SE (clusters given) or heteroskedasticity-robust SE (each value its own cluster). */
  se: number;
  ci: Interval;
  z: number;
  p: number;
  nGroup: number;
  nBaseline: number;
  /** Clusters holding a value of either side. */
  clusters: number;
}

/**
 * Difference in means between one group and a baseline group, with a cluster-robust standard
 * error (Miller R2 applied to a contrast): the influence of value i is
 * ψ_i = [i∈g](x_i − x̄_g)/n_g − [i∈b](x_i − x̄_b)/n_b, and Var = C/(C−1) · Σ_c (Σ_{i∈c} ψ_i)²
 * over the C clusters that hold either side. Values in neither group are ignored. With every value
 * its own cluster this is the robust (Welch-like) SE. In a balanced design where every cluster
 * holds both sides, the scenario effects cancel inside each cluster's sum, which is why a
 * per-scenario design measures group differences far more precisely than its raw spread suggests.
 * Standard addition: the C/(C−1) small-sample factor is the usual CR1 correction.
 */
export function groupContrast(values: readonly number[], groups: readonly string[], clusters: readonly string[] | null, group: string, baseline: string, level = 0.95): Contrast {
  if (groups.length !== values.length || (clusters && clusters.length !== values.length)) throw new RangeError('groupContrast: values, groups and clusters must align');
  let sg = 0;
  let ng = 0;
  let sb = 0;
  let nb = 0;
  values.forEach((x, i) => {
    if (groups[i] === group) (sg += x), ng++;
    else if (groups[i] === baseline) (sb += x), nb++;
  });
  const mg = sg / ng;
  const mb = sb / nb;
  const diff = mg - mb;
  const sums = new Map<string, number>();
  values.forEach((x, i) => {
    const inG = groups[i] === group;
    if (!inG && groups[i] !== baseline) return;
    const psi = inG ? (x - mg) / ng : -(x - mb) / nb;
    const c = clusters ? clusters[i]! : `\u0000${i}`;
    sums.set(c, (sums.get(c) ?? 0) + psi);
  });
  const C = sums.size;
  let v = 0;
  for (const s of sums.values()) v += s * s;
  const se = C > 1 && ng > 0 && nb > 0 ? Math.sqrt((C / (C - 1)) * v) : NaN;
  const zq = zFor(level);
  const z = se > 0 ? diff / se : NaN;
  return { group, baseline, diff, se, ci: { lo: diff - zq * se, hi: diff + zq * se }, z, p: Number.isNaN(z) ? NaN : normalTwoSidedP(z), nGroup: ng, nBaseline: nb, clusters: C };
}
