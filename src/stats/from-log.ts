import { iterateRunLog } from '../run/log-reader.js';
import type { RunHeader } from '../run/types.js';
import type { MetricSpec } from '../suite/types.js';
import { zFor } from './dist.js';
import { clusteredSe, meanEstimate, wilson, zeroEventUpperBound, type Interval } from './estimate.js';

export interface GroupStats {
  group: string;
  n: number;
  mean: number;
  se: number;
  ci: Interval;
  wilson: Interval | null;
}

export interface MetricStats {
  name: string;
  scorer: string;
  /** How the scorer produced its answers (e.g. generation, logprob), when it says. */
  modes: string[];
  /** Distinct samples with at least one scored epoch: the n of every interval below. */
  n: number;
  counts: { scored: number; unscored: number; errored: number };
  mean: number;
  se: number;
  ci: Interval;
  level: number;
  /** Every per-sample value is 0 or 1 (single epoch), so the Wilson interval applies. */
  binary: boolean;
  wilson: Interval | null;
  /** When all values are 0 (or all 1): exact one-sided bound on the rate of the absent outcome. */
  zeroEvent: { absent: 1 | 0; upperBound: number } | null;
  clustered: { clusters: number; se: number; ci: Interval } | null;
  epochs: { max: number; withinVariance: number | null; samplesWithRepeats: number };
  groups: { by: string; groups: GroupStats[] } | null;
}

export interface RunStats {
  schema: 'assay.run-stats/v1';
  runId: string;
  suite: { id: string; version: string; digest: string };
  model: string;
  simulated: boolean;
  level: number;
  metrics: MetricStats[];
}

interface Acc {
  sum: number;
  sumsq: number;
  k: number;
  cluster: string | undefined;
  group: string | undefined;
}

/**
 * Statistics for every metric of a run, from its log alone (one streaming pass; memory is one
 * small accumulator per sample). Epochs are averaged within a sample first (Miller R3).
 */
export async function statsForRun(logPath: string, opts: { level?: number; groupBy?: string } = {}): Promise<RunStats> {
  const level = opts.level ?? 0.95;
  let header: RunHeader | null = null;
  let metrics: MetricSpec[] = [];
  let accs: Map<string, Acc>[] = [];
  let counts: MetricStats['counts'][] = [];
  let modes: Set<string>[] = [];
  const seen = new Set<string>();
  for await (const rec of iterateRunLog(logPath)) {
    if (rec.type === 'header') {
      header = rec;
      metrics = rec.suite.definition.metrics.map((m) => (opts.groupBy ? { ...m, groupBy: opts.groupBy } : m));
      accs = metrics.map(() => new Map());
      counts = metrics.map(() => ({ scored: 0, unscored: 0, errored: 0 }));
      modes = metrics.map(() => new Set());
      continue;
    }
    if (rec.type !== 'sample' || seen.has(rec.key)) continue;
    seen.add(rec.key);
    metrics.forEach((m, i) => {
      if (rec.error) return void counts[i]!.errored++;
      const sc = rec.scores[m.scorer];
      if (!sc || sc.status !== 'scored') return void counts[i]!.unscored++;
      counts[i]!.scored++;
      if (sc.mode) modes[i]!.add(sc.mode);
      const acc = accs[i]!.get(rec.sampleId) ?? {
        sum: 0,
        sumsq: 0,
        k: 0,
        cluster: rec.sample.cluster,
        group: m.groupBy ? groupValue(rec.sample.metadata[m.groupBy] ?? (rec.sample as Record<string, unknown>)[m.groupBy]) : undefined,
      };
      acc.sum += sc.value;
      acc.sumsq += sc.value * sc.value;
      acc.k++;
      accs[i]!.set(rec.sampleId, acc);
    });
  }
  if (!header) throw new Error('run log has no header');
  return {
    schema: 'assay.run-stats/v1',
    runId: header.runId,
    suite: { id: header.suite.id, version: header.suite.version, digest: header.suite.digest },
    model: header.model.name,
    simulated: header.model.simulated,
    level,
    metrics: metrics.map((m, i) => metricStats(m, accs[i]!, counts[i]!, [...modes[i]!].sort(), level)),
  };
}

const groupValue = (v: unknown): string => (v === undefined || v === null ? '(none)' : typeof v === 'string' ? v : JSON.stringify(v));

function metricStats(m: MetricSpec, acc: Map<string, Acc>, counts: MetricStats['counts'], modes: string[], level: number): MetricStats {
  // Sorted by sample id so the arithmetic (and so the output) does not depend on completion order.
  const entries = [...acc.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, a]) => a);
  const xs = Float64Array.from(entries, (a) => a.sum / a.k);
  const est = meanEstimate(xs, level);
  const maxK = entries.reduce((mx, a) => Math.max(mx, a.k), 0);
  const binary = maxK === 1 && xs.every((x) => x === 0 || x === 1);
  const successes = binary ? xs.reduce((s, x) => s + x, 0) : 0;
  let within = 0;
  let repeats = 0;
  for (const a of entries)
    if (a.k > 1) {
      within += (a.sumsq - (a.sum * a.sum) / a.k) / (a.k - 1);
      repeats++;
    }
  const clusterIds = entries.map((a) => a.cluster);
  const hasClusters = clusterIds.every((c) => c !== undefined) && entries.length > 0;
  let clustered: MetricStats['clustered'] = null;
  if (hasClusters) {
    const se = clusteredSe(xs, clusterIds as string[]);
    const z = zFor(level);
    clustered = { clusters: new Set(clusterIds).size, se, ci: { lo: est.mean - z * se, hi: est.mean + z * se } };
  }
  let groups: MetricStats['groups'] = null;
  if (m.groupBy) {
    const by = new Map<string, number[]>();
    entries.forEach((a, i) => {
      const g = a.group ?? '(none)';
      (by.get(g) ?? by.set(g, []).get(g)!).push(xs[i]!);
    });
    groups = {
      by: m.groupBy,
      groups: [...by.entries()]
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .map(([group, v]) => {
          const e = meanEstimate(v, level);
          const isBin = binary;
          return { group, n: e.n, mean: e.mean, se: e.se, ci: e.ci, wilson: isBin ? wilson(v.reduce((s, x) => s + x, 0), v.length, level) : null };
        }),
    };
  }
  return {
    name: m.name,
    scorer: m.scorer,
    modes,
    n: est.n,
    counts,
    mean: est.mean,
    se: est.se,
    ci: est.ci,
    level,
    binary,
    wilson: binary ? wilson(successes, est.n, level) : null,
    zeroEvent: binary && est.n > 0 && (successes === 0 || successes === est.n) ? { absent: successes === 0 ? 1 : 0, upperBound: zeroEventUpperBound(est.n, level) } : null,
    clustered,
    epochs: { max: maxK, withinVariance: repeats ? within / repeats : null, samplesWithRepeats: repeats },
    groups,
  };
}
