import { AssayError } from '../common/errors.js';
import { normalCdf, normalQuantile } from '../stats/dist.js';
import { readRunHeader } from '../run/log-reader.js';
import { perSampleScores } from '../stats/from-log.js';

/**
 * `assay audit contamination <public-run> <held-out-run>`: does the model score higher on the
 * public (practice) split than on the held-out split by more than chance? A sign of training on
 * the test. Items of the two splits are different items, so the comparison is two-sample,
 * stratified by a difficulty field when there is one (Cochran–Mantel–Haenszel weights
 * w_s = n_pub,s · n_held,s / (n_pub,s + n_held,s)); one-sided z test of public − held-out > 0.
 * Binary metrics use the pooled within-stratum rate for each stratum's variance, so a stratum
 * solved perfectly on both sides adds no false precision.
 */
export const CONTAMINATION_SCHEMA = 'assay.contamination/v1';

export interface ContaminationResult {
  schema: typeof CONTAMINATION_SCHEMA;
  metric: string;
  by: string | null;
  strata: { stratum: string; public: { n: number; mean: number }; heldOut: { n: number; mean: number }; difference: number; weight: number }[];
  /** Strata present on one side only (left out). */
  unmatched: string[];
  /** Weighted public − held-out difference, its SE, one-sided z and p, and a (1 − 2α) interval. */
  difference: number;
  se: number;
  z: number;
  p: number;
  interval: { lo: number; hi: number; level: number };
  alpha: number;
  flagged: boolean;
  verdict: string;
}

export async function contaminationTest(publicRun: string, heldOutRun: string, o: { metric?: string; by?: string; alpha?: number } = {}): Promise<ContaminationResult> {
  const alpha = o.alpha ?? 0.05;
  // Default stratification: the pairing field the sealed suite declares (held_out.pair_by).
  const by = o.by ?? (await readRunHeader(publicRun)).suite.definition.heldOut?.pairBy;
  const A = await perSampleScores(publicRun, by ? { groupBy: by } : {});
  const B = await perSampleScores(heldOutRun, by ? { groupBy: by } : {});
  const pick = (s: typeof A, file: string) => {
    const m = o.metric ? s.metrics.find((x) => x.name === o.metric) : s.metrics[0];
    if (!m) throw new AssayError('UNKNOWN_METRIC', `no metric "${o.metric}" (has: ${s.metrics.map((x) => x.name).join(', ')})`, { file, field: 'metric' });
    return m;
  };
  const ma = pick(A, publicRun);
  const mb = pick(B, heldOutRun);
  if (ma.scorer !== mb.scorer) throw new AssayError('METRIC_MISMATCH', `the public run's ${ma.name} is scored by ${ma.scorer}, the held-out run's by ${mb.scorer}`, { file: heldOutRun });
  const overlap = [...ma.values.keys()].filter((id) => mb.values.has(id));
  if (overlap.length) throw new AssayError('SPLITS_OVERLAP', `the public and held-out runs share ${overlap.length} item(s) (e.g. ${overlap[0]}): the splits must be disjoint`, { file: heldOutRun });
  const strataOf = (m: typeof ma) => {
    const g = new Map<string, number[]>();
    for (const [id, v] of m.values) {
      const k = by ? (m.groups.get(id) ?? '(none)') : 'all';
      (g.get(k) ?? g.set(k, []).get(k)!).push(v);
    }
    return g;
  };
  const ga = strataOf(ma);
  const gb = strataOf(mb);
  const binary = ma.binary && mb.binary;
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const variance = (xs: number[]) => {
    const m = mean(xs);
    return xs.length > 1 ? xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1) : 0;
  };
  const strata: ContaminationResult['strata'] = [];
  let sw = 0;
  let swd = 0;
  let swv = 0;
  for (const k of [...ga.keys()].filter((x) => gb.has(x)).sort()) {
    const xa = ga.get(k)!;
    const xb = gb.get(k)!;
    const w = (xa.length * xb.length) / (xa.length + xb.length);
    const d = mean(xa) - mean(xb);
    let v: number;
    if (binary) {
      const pbar = (xa.reduce((s, x) => s + x, 0) + xb.reduce((s, x) => s + x, 0)) / (xa.length + xb.length);
      v = pbar * (1 - pbar) * (1 / xa.length + 1 / xb.length);
    } else v = variance(xa) / xa.length + variance(xb) / xb.length;
    strata.push({ stratum: k, public: { n: xa.length, mean: mean(xa) }, heldOut: { n: xb.length, mean: mean(xb) }, difference: d, weight: w });
    sw += w;
    swd += w * d;
    swv += w * w * v;
  }
  const unmatched = [...new Set([...ga.keys(), ...gb.keys()])].filter((k) => !(ga.has(k) && gb.has(k))).sort();
  if (!strata.length) throw new AssayError('NO_STRATA', `no ${by ?? 'stratum'} value occurs in both runs`, { file: heldOutRun });
  const difference = swd / sw;
  const se = Math.sqrt(swv) / sw;
  const z = se > 0 ? difference / se : difference > 0 ? Infinity : difference < 0 ? -Infinity : 0;
  const p = se > 0 ? 1 - normalCdf(z) : difference > 0 ? 0 : 1;
  const zq = normalQuantile(1 - alpha);
  const flagged = p < alpha;
  return {
    schema: CONTAMINATION_SCHEMA,
    metric: ma.name,
    by: by ?? null,
    strata,
    unmatched,
    difference,
    se,
    z,
    p,
    interval: { lo: difference - zq * se, hi: difference + zq * se, level: 1 - 2 * alpha },
    alpha,
    flagged,
    verdict: flagged
      ? `the model does better on the public split by ${(difference * 100).toFixed(1)} points (one-sided p = ${p.toPrecision(3)} < ${alpha}): a sign of training on the public split`
      : `no difference beyond chance between the splits (one-sided p = ${p.toPrecision(3)} ≥ ${alpha})`,
  };
}

export function formatContamination(r: ContaminationResult): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return (
    [
      `contamination test on ${r.metric}${r.by ? `, stratified by ${r.by}` : ''}:`,
      ...r.strata.map((s) => `  ${s.stratum}: public ${pct(s.public.mean)} (n ${s.public.n}), held-out ${pct(s.heldOut.mean)} (n ${s.heldOut.n}), difference ${(s.difference * 100).toFixed(1)} points`),
      ...(r.unmatched.length ? [`  left out (on one side only): ${r.unmatched.join(', ')}`] : []),
      `public − held-out: ${(r.difference * 100).toFixed(1)} points, SE ${(r.se * 100).toFixed(2)}, z ${r.z.toFixed(2)}, one-sided p ${r.p.toPrecision(3)}; ${r.interval.level * 100}% interval ${(r.interval.lo * 100).toFixed(1)} to ${(r.interval.hi * 100).toFixed(1)} points`,
      `${r.flagged ? 'FLAGGED' : 'NOT FLAGGED'}: ${r.verdict}`,
    ].join('\n') + '\n'
  );
}
