import { AssayError } from '../common/errors.js';
import { iterateRunLog } from '../run/log-reader.js';
import type { RunHeader, SampleRecord } from '../run/types.js';
import type { MetricSpec } from '../suite/types.js';
import { bootstrapMean, type BootstrapResult } from './bootstrap.js';
import { pairedComparison, type PairedComparison } from './compare.js';
import { epochsAnalysis, type EpochsAnalysis } from './epochs.js';
import { clusteredSe, designEffect, meanEstimate, normalInterval, wilson, zeroEventUpperBound, type DesignEffect, type Interval } from './estimate.js';
import { groupedEstimates, type GroupEstimate, type GroupTest } from './groups.js';
import { minDetectableEffect } from './power.js';

/**
 * The adapter from a run log to statistics: the only file in stats/ that does I/O. Every
 * number is a function of the log (plus seed and level), so anyone holding the log gets the same.
 */

/** One group's estimate (as computed by groupedEstimates). */
export type GroupStats = GroupEstimate;

/**
 * Core per-metric statistics. Its fields are signed as-is into attestations (attest/predicate.ts
 * validates them strictly), so additions go to MetricAnalysis, not here.
 */
export interface MetricStats {
  name: string;
  scorer: string;
  /** How the scorer produced its answers (e.g. generation, logprob), when it says. */
  modes: string[];
  /** Distinct samples with at least one scored epoch: the n of every interval below. */
  n: number;
  /** Records (sample × epoch): scored, unscored (scorer declined), errored (no output). */
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

/** Further per-metric results, aligned by index and name with RunStats.metrics. */
export interface MetricAnalysis {
  name: string;
  /** Miller R2 design-effect view, when samples carry clusters. */
  designEffect: DesignEffect | null;
  /** Miller R3, when some sample has two or more scored epochs. */
  epochs: EpochsAnalysis | null;
  /** Seeded percentile bootstrap of the mean (cluster bootstrap when clustered); a cross-check. */
  bootstrap: BootstrapResult | null;
  /** Group-vs-rest tests with Holm–Bonferroni adjusted p-values, when grouped. */
  groupTests: { by: string; versus: 'rest' | 'overall'; tests: GroupTest[] } | null;
}

export interface RunStats {
  schema: 'assay.run-stats/v1';
  runId: string;
  suite: { id: string; version: string; digest: string };
  model: string;
  simulated: boolean;
  level: number;
  /** Bootstrap seed used for `analysis[].bootstrap`. */
  seed: number;
  metrics: MetricStats[];
  analysis: MetricAnalysis[];
}

export interface StatsOptions {
  /** Confidence level of every interval (default 0.95). */
  level?: number;
  /** Group every metric by this sample field (metadata key, or a top-level sample field). */
  groupBy?: string;
  /** What each group is compared with (default 'rest'). */
  versus?: 'rest' | 'overall';
  /**
   * Bootstrap seed (default 0) and resamples (0 turns the bootstrap off). Default 1000, except
   * none for an unclustered metric of more than 20,000 samples.
   */
  seed?: number;
  resamples?: number;
}

interface Acc {
  sum: number;
  sumsq: number;
  k: number;
  cluster: string | undefined;
  group: string | undefined;
}

interface Collected {
  header: RunHeader;
  metrics: MetricSpec[];
  accs: Map<string, Acc>[];
  counts: MetricStats['counts'][];
  modes: Set<string>[];
  /** Epochs seen per sample: the duplicate-key check without a set of every record key. */
  sampleIds: Map<string, number[]>;
  /** A 'simulated' event: the endpoint turned out to be Assay's simulated target. */
  simulatedEvent: boolean;
}

/** One streaming pass: per metric, one small accumulator per sample (epochs summed). */
async function collect(logPath: string, groupBy: string | undefined): Promise<Collected> {
  let c: Collected | null = null;
  for await (const rec of iterateRunLog(logPath)) {
    if (rec.type === 'header') {
      const metrics = rec.suite.definition.metrics.map((m) => (groupBy ? { ...m, groupBy } : m));
      c = { header: rec, metrics, accs: metrics.map(() => new Map()), counts: metrics.map(() => ({ scored: 0, unscored: 0, errored: 0 })), modes: metrics.map(() => new Set()), sampleIds: new Map(), simulatedEvent: false };
      continue;
    }
    if (rec.type === 'event' && rec.kind === 'simulated' && c) c.simulatedEvent = true;
    // First record of a key wins, as in iterateSamples and resume.
    if (rec.type !== 'sample' || !c) continue;
    const epochs = c.sampleIds.get(rec.sampleId);
    if (epochs?.includes(rec.epoch)) continue;
    if (epochs) epochs.push(rec.epoch);
    else c.sampleIds.set(rec.sampleId, [rec.epoch]);
    addRecord(c, rec);
  }
  if (!c) throw new AssayError('RUN_LOG_EMPTY', 'run log has no header', { file: logPath });
  return c;
}

function addRecord(c: Collected, rec: SampleRecord): void {
  c.metrics.forEach((m, i) => {
    // Errors and unscored are excluded from every estimate and counted: never a wrong answer.
    if (rec.error) return void c.counts[i]!.errored++;
    const sc = rec.scores[m.scorer];
    if (!sc || sc.status !== 'scored') return void c.counts[i]!.unscored++;
    c.counts[i]!.scored++;
    if (sc.mode) c.modes[i]!.add(sc.mode);
    let acc = c.accs[i]!.get(rec.sampleId);
    if (!acc) {
      acc = { sum: 0, sumsq: 0, k: 0, cluster: rec.sample.cluster, group: m.groupBy ? groupValue(rec.sample.metadata?.[m.groupBy] ?? (rec.sample as Record<string, unknown>)[m.groupBy]) : undefined };
      c.accs[i]!.set(rec.sampleId, acc);
    }
    acc.sum += sc.value;
    acc.sumsq += sc.value * sc.value;
    acc.k++;
  });
}

const groupValue = (v: unknown): string => (v === undefined || v === null ? '(none)' : typeof v === 'string' ? v : JSON.stringify(v));
const byKey = <T>(m: Map<string, T>): [string, T][] => [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

/**
 * Statistics for every metric of a run, from its log alone, in one streaming pass. Epochs are
 * averaged within a sample first (Miller R3). Deterministic: same log, level and seed → the same
 * object, and so byte-identical JSON.
 */
export async function statsForRun(logPath: string, opts: StatsOptions = {}): Promise<RunStats> {
  const level = opts.level ?? 0.95;
  const seed = opts.seed ?? 0;
  const c = await collect(logPath, opts.groupBy);
  const h = c.header;
  const results = c.metrics.map((m, i) => metricStats(m, c.accs[i]!, c.counts[i]!, [...c.modes[i]!].sort(), { ...opts, level, seed }));
  return {
    schema: 'assay.run-stats/v1',
    runId: h.runId,
    suite: { id: h.suite.id, version: h.suite.version, digest: h.suite.digest },
    model: h.model.name,
    simulated: h.model.simulated || c.simulatedEvent,
    level,
    seed,
    metrics: results.map((r) => r.stats),
    analysis: results.map((r) => r.analysis),
  };
}

function metricStats(m: MetricSpec, acc: Map<string, Acc>, counts: MetricStats['counts'], modes: string[], opts: StatsOptions & { level: number; seed: number }): { stats: MetricStats; analysis: MetricAnalysis } {
  const level = opts.level;
  // Sorted by sample id so the arithmetic (and so the output) does not depend on completion order.
  const entries = byKey(acc).map(([id, a]) => ({ id, ...a }));
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
  // A sample without a cluster value is its own cluster; clustering applies once any sample has one.
  const hasClusters = entries.some((a) => a.cluster !== undefined);
  const clusterIds = entries.map((a) => a.cluster ?? `\u0000${a.id}`);
  let clustered: MetricStats['clustered'] = null;
  if (hasClusters && entries.length > 0) {
    const se = clusteredSe(xs, clusterIds);
    clustered = { clusters: new Set(clusterIds).size, se, ci: normalInterval(est.mean, se, level) };
  }
  let groups: MetricStats['groups'] = null;
  let groupTests: MetricAnalysis['groupTests'] = null;
  if (m.groupBy) {
    const g = groupedEstimates(Array.from(xs), entries.map((a) => a.group ?? '(none)'), { level, binary, versus: opts.versus ?? 'rest' });
    groups = { by: m.groupBy, groups: g.groups };
    groupTests = { by: m.groupBy, versus: g.versus, tests: g.tests };
  }
  // The iid bootstrap of a mean costs O(n) per replicate and, past ~20k samples, cannot differ from
  // the CLT interval by more than its own Monte-Carlo error; by default it is skipped there.
  const resamples = opts.resamples ?? (hasClusters || entries.length <= 20_000 ? 1000 : 0);
  const boot = resamples > 0 && entries.length > 1 ? bootstrapMean(xs, { seed: opts.seed, resamples, level, ...(hasClusters ? { clusters: clusterIds } : {}) }) : null;
  return {
    stats: {
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
    },
    analysis: {
      name: m.name,
      designEffect: hasClusters && entries.length > 1 ? designEffect(xs, clusterIds) : null,
      epochs: epochsAnalysis(entries),
      bootstrap: boot,
      groupTests,
    },
  };
}

export interface MetricComparison extends PairedComparison {
  name: string;
  scorer: string;
}

export interface RunComparison {
  schema: 'assay.compare/v1';
  suite: { id: string; version: string; digest: string };
  a: { runId: string; model: string; simulated: boolean; samples: number };
  b: { runId: string; model: string; simulated: boolean; samples: number };
  level: number;
  metrics: MetricComparison[];
}

/**
 * Paired comparison (Miller R4) of two runs of the same suite, per metric, difference = A − B.
 * Refuses runs of different suite digests (the "same questions" premise fails) and runs with no
 * sample in common.
 */
export async function compareRuns(logA: string, logB: string, opts: { metric?: string; level?: number } = {}): Promise<RunComparison> {
  const level = opts.level ?? 0.95;
  const A = await collect(logA, undefined);
  const B = await collect(logB, undefined);
  const ha = A.header;
  const hb = B.header;
  if (ha.suite.digest !== hb.suite.digest)
    throw new AssayError(
      'SUITE_MISMATCH',
      `runs are of different suites and cannot be paired: ${ha.suite.id}@${ha.suite.version} (${ha.suite.digest}) vs ${hb.suite.id}@${hb.suite.version} (${hb.suite.digest})`,
      { file: logB, field: 'suite.digest' },
    );
  let overlap = 0;
  for (const id of A.sampleIds.keys()) if (B.sampleIds.has(id)) overlap++;
  if (!overlap) throw new AssayError('NO_OVERLAP', `runs ${ha.runId} and ${hb.runId} have no sample in common`, { file: logB });
  const idx = A.metrics.map((m, i) => i).filter((i) => !opts.metric || A.metrics[i]!.name === opts.metric);
  if (!idx.length) throw new AssayError('UNKNOWN_METRIC', `no metric "${opts.metric}" in suite ${ha.suite.id} (has: ${A.metrics.map((m) => m.name).join(', ')})`, { field: 'metric' });
  const metrics = idx.map((i) => {
    const m = A.metrics[i]!;
    const means = (acc: Map<string, Acc>) => new Map([...acc].map(([id, a]) => [id, a.sum / a.k]));
    const clusters = new Map<string, string>();
    for (const [id, a] of [...B.accs[i]!, ...A.accs[i]!]) if (a.cluster !== undefined) clusters.set(id, a.cluster);
    const cmp = pairedComparison(means(A.accs[i]!), means(B.accs[i]!), { level, ...(clusters.size ? { clusters } : {}) });
    return { name: m.name, scorer: m.scorer, ...cmp };
  });
  const side = (h: RunHeader, c: Collected) => ({ runId: h.runId, model: h.model.name, simulated: h.model.simulated || c.simulatedEvent, samples: c.sampleIds.size });
  return { schema: 'assay.compare/v1', suite: { id: ha.suite.id, version: ha.suite.version, digest: ha.suite.digest }, a: side(ha, A), b: side(hb, B), level, metrics };
}

export interface RunPlan {
  schema: 'assay.run-plan/v1';
  runId: string;
  suite: { id: string; version: string; digest: string };
  alpha: number;
  power: number;
  /** Correlation assumed between this model and another on the same samples, for the paired figure. */
  correlation: number;
  metrics: {
    name: string;
    n: number;
    /** Per-sample variance of the (epoch-averaged) scores, times max(1, deff) when clustered. */
    sigma2: number;
    deff: number | null;
    /** Smallest true difference from another model (same variance) detectable at α with this power. */
    unpairedMde: number;
    pairedMde: number;
  }[];
}

/** Smallest detectable effect (Miller R5) for each metric of an existing run. Pure. */
export function planFromStats(s: RunStats, opts: { alpha?: number; power?: number; correlation?: number } = {}): RunPlan {
  const alpha = opts.alpha ?? 0.05;
  const power = opts.power ?? 0.8;
  const correlation = opts.correlation ?? 0.5;
  return {
    schema: 'assay.run-plan/v1',
    runId: s.runId,
    suite: s.suite,
    alpha,
    power,
    correlation,
    metrics: s.metrics.map((m) => {
      const deff = m.clustered && m.se > 0 ? (m.clustered.se / m.se) ** 2 : null;
      // A deff below 1 is usually noise in the cross-products; planning on it would promise too much.
      const sigma2 = m.se * m.se * m.n * Math.max(1, deff ?? 1);
      const ok = m.n > 0 && sigma2 >= 0;
      const mde = (paired: boolean) => (ok ? minDetectableEffect({ n: m.n, alpha, power, sigma2, paired, correlation }).mde : NaN);
      return { name: m.name, n: m.n, sigma2, deff, unpairedMde: mde(false), pairedMde: mde(true) };
    }),
  };
}

/** planFromStats for a run log. */
export async function planForRun(logPath: string, opts: { alpha?: number; power?: number; correlation?: number } = {}): Promise<RunPlan> {
  return planFromStats(await statsForRun(logPath, { resamples: 0 }), opts);
}
