import { AssayError } from '../common/errors.js';
import { isOutcome, OUTCOME_NAMES, type ExcludedOutcome } from '../common/outcome.js';
import { iterateRunLog } from '../run/log-reader.js';
import type { RunHeader, SampleRecord } from '../run/types.js';
import type { MetricSpec } from '../suite/types.js';
import { bootstrapMean, type BootstrapResult } from './bootstrap.js';
import { pairedComparison, type PairedComparison } from './compare.js';
import { epochsAnalysisOf, type EpochsAnalysis } from './epochs.js';
import { at, Interner, SampleTable, type MetricColumns } from './sample-table.js';
import { checkScore, domainBounds, scoreDomain, type ScoreDomain } from './domain.js';
import { clusteredSe, designEffect, holm, meanEstimate, normalInterval, wilson, zeroEventUpperBound, type DesignEffect, type Interval } from './estimate.js';
import { basisWarnings, FEW_CLUSTERS, intervalBasis, intervalFromBasis, type IntervalBasis, type StatsRule } from './honest.js';
import { groupedEstimates, type GroupEstimate, type GroupTest } from './groups.js';
import { minDetectableEffect } from './power.js';
import { correctedFromInterval, validationFor, type CorrectedRate } from '../score/refusal-error.js';

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
  // ---- run-stats/v2 (issue 18); the v1 predicate picks only the fields above ----
  /** Values the scorer may produce (stats/domain.ts); every score was checked against it. */
  domain: ScoreDomain;
  /** The headline interval: honest for the data's shape and named (stats/honest.ts). */
  interval: HeadlineInterval;
  /** Excluded records by outcome (common/outcome.ts); counts.unscored + counts.errored split up. */
  excluded: Record<ExcludedOutcome, number>;
  /**
   * The headline interval had every excluded record scored the domain's minimum (0) or maximum (1):
   * whether exclusions could change the conclusion. Null when nothing is excluded or the domain is
   * unbounded.
   */
  sensitivity: { excludedAs0: SensitivityPoint; excludedAs1: SensitivityPoint } | null;
}

export interface HeadlineInterval {
  method: IntervalBasis['method'];
  /** Null when no honest interval exists (basis.reason says why). */
  lo: number | null;
  hi: number | null;
  basis: IntervalBasis;
  warnings: string[];
}

export interface SensitivityPoint {
  n: number;
  mean: number;
  method: IntervalBasis['method'];
  lo: number | null;
  hi: number | null;
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
  /**
   * Refusal metrics (scorer type `refusal`, `cse_refusal`, `agent_outcome` field `refused`): the classifier's own error carried into
   * the rate (score/refusal-error.ts), overall and per group; the headline interval above is
   * sampling error only. Null for other metrics. Absent in stats computed before it existed.
   */
  classifierError?: ClassifierError | null;
  /**
   * Samples excluded (refused, unreadable, errored, …) and fewer than half the samples scored, or
   * fewer than MIN_READ scored with at least 10 % excluded: the interval describes the answers that
   * could be read, not the run (see `excluded` and `sensitivity`).
   */
  tooFewRead?: boolean;
}

/** The refusal classifier's error carried into a refusal or compliance rate. */
export interface ClassifierError {
  /** The classifier mode recorded by the scorer (rules, string_match, graded, cse) and what the metric counts. */
  classifier: string;
  reading: 'refused' | 'full_refusal' | 'complied' | 'other';
  /** Whether published validation figures exist for this classifier and reading. */
  validated: boolean;
  overall: CorrectedRate;
  groups: { group: string; rate: CorrectedRate }[];
  note: string;
}

/** Below this many read samples (or half the samples) a metric is flagged "too few read". */
export const MIN_READ = 30;

export interface RunStats {
  /** v4 (current), or v3 / v2 (the rules of reports signed as run-stats/v3 or v2; StatsOptions.rule). */
  schema: 'assay.run-stats/v2' | 'assay.run-stats/v3' | 'assay.run-stats/v4';
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
  /**
   * The rule of the headline interval and score domains (stats/honest.ts, stats/domain.ts): 'v4'
   * (default), or 'v3' / 'v2' to recompute a report signed as run-stats/v3 or v2 exactly as signed.
   */
  rule?: StatsRule;
}

const noExclusions = (): Record<ExcludedOutcome, number> => Object.fromEntries(OUTCOME_NAMES.filter((o) => o !== 'scored').map((o) => [o, 0])) as Record<ExcludedOutcome, number>;

interface Collected {
  header: RunHeader;
  metrics: MetricSpec[];
  /** Per-sample accumulators of every metric (stats/sample-table.ts), and the epochs seen per sample. */
  table: SampleTable;
  /** Interned `sample.cluster` values (0: none). */
  clusters: Interner;
  /** Interned group values (0: the metric is not grouped). */
  groups: Interner<string>;
  counts: MetricStats['counts'][];
  excluded: Record<ExcludedOutcome, number>[];
  domains: ScoreDomain[];
  /** Every scored value of the metric so far is 0 or 1. */
  binaryValued: boolean[];
  file: string;
  modes: Set<string>[];
  /** A 'simulated' event: the endpoint turned out to be Assay's simulated target. */
  simulatedEvent: boolean;
  /** Per metric: the refusal scorer behind it (type and value), or null. */
  refusal: ({ type: string; value: string; mode: string | undefined } | null)[];
}

/** One streaming pass: per metric and sample, a few numbers in typed-array columns (epochs summed). */
async function collect(logPath: string, groupBy: string | undefined, rule: StatsRule = 'v4'): Promise<Collected> {
  let c: Collected | null = null;
  for await (const rec of iterateRunLog(logPath)) {
    if (rec.type === 'header') {
      const metrics = rec.suite.definition.metrics.map((m) => (groupBy ? { ...m, groupBy } : m));
      const specs = rec.suite.definition.scorers;
      c = {
        header: rec,
        metrics,
        table: new SampleTable(metrics.length, expectedSamples(rec)),
        clusters: new Interner(),
        groups: new Interner<string>(),
        counts: metrics.map(() => ({ scored: 0, unscored: 0, errored: 0 })),
        excluded: metrics.map(noExclusions),
        domains: metrics.map((m) => scoreDomain(specs.find((sc) => (sc.name ?? sc.type) === m.scorer), rule)),
        refusal: metrics.map((m) => {
          const sc = specs.find((x) => (x.name ?? x.type) === m.scorer) as { type: string; value?: unknown; mode?: unknown; field?: unknown } | undefined;
          // Agentic episodes: the `refused` outcome is read by a keyword rule (agent/checks.ts REFUSAL), never validated.
          if (sc?.type === 'agent_outcome' && sc.field === 'refused') return { type: 'agent_outcome', value: 'refused', mode: 'agent keyword rule' };
          if (!sc || (sc.type !== 'refusal' && sc.type !== 'cse_refusal')) return null;
          return { type: sc.type, value: typeof sc.value === 'string' ? sc.value : 'refused', mode: typeof sc.mode === 'string' ? sc.mode : undefined };
        }),
        binaryValued: metrics.map(() => true),
        file: logPath,
        modes: metrics.map(() => new Set()),
        simulatedEvent: false,
      };
      continue;
    }
    if (rec.type === 'event' && rec.kind === 'simulated' && c) c.simulatedEvent = true;
    if (rec.type !== 'sample' || !c) continue;
    // First record of a key wins, as in iterateSamples and resume.
    const s = c.table.add(rec.sampleId, rec.epoch);
    if (s >= 0) addRecord(c, rec, s);
  }
  if (!c) throw new AssayError('RUN_LOG_EMPTY', 'run log has no header', { file: logPath });
  return c;
}

/** Samples a log's header promises (dataset size, --limit, --sample-id); 0 when it does not say. */
function expectedSamples(h: RunHeader): number {
  const items = h.suite.items ?? 0;
  const ids = h.config?.sampleIds?.length;
  const limit = h.config?.limit;
  const n = ids ?? (typeof limit === 'number' ? Math.min(items, limit) : items);
  // A hint only (the columns grow past it); bounded so an odd header cannot reserve much.
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1_000_000) : 0;
}

function addRecord(c: Collected, rec: SampleRecord, s: number): void {
  for (let i = 0; i < c.metrics.length; i++) {
    const m = c.metrics[i]!;
    const col = c.table.metrics[i]!;
    const group = () => (m.groupBy ? c.groups.id(groupValue(rec.sample.metadata?.[m.groupBy] ?? (rec.sample as Record<string, unknown>)[m.groupBy])) : 0);
    // Errors and unscored are excluded from every estimate and counted by outcome: never a wrong answer.
    let excluded: ExcludedOutcome;
    if (rec.error) {
      c.counts[i]!.errored++;
      // A later engine may record the provider's reason (empty, filtered) as the error kind.
      const k = rec.error.kind;
      excluded = isOutcome(k) && k !== 'scored' ? k : 'errored';
    } else {
      const sc = rec.scores[m.scorer];
      if (sc && sc.status === 'scored') {
        const value = checkScore(sc.value, c.domains[i]!, { sampleId: rec.sampleId, epoch: rec.epoch, scorer: m.scorer, file: c.file });
        if (value !== 0 && value !== 1) c.binaryValued[i] = false;
        c.counts[i]!.scored++;
        if (sc.mode) c.modes[i]!.add(sc.mode);
        // The cluster and group of a sample are those of its first scored record.
        if (col.k[s] === 0) {
          const cl = c.clusters.id(rec.sample.cluster);
          if (cl) col.writable('cluster')[s] = cl;
          const g = group();
          if (g) col.writable('group')[s] = g;
        }
        col.sum[s] = col.sum[s]! + value;
        col.sumsq[s] = col.sumsq[s]! + value * value;
        col.k[s] = col.k[s]! + 1;
        continue;
      }
      c.counts[i]!.unscored++;
      const o: unknown = sc && sc.status === 'unscored' ? sc.outcome : undefined;
      excluded = isOutcome(o) && o !== 'scored' ? o : 'unscored';
    }
    c.excluded[i]![excluded]++;
    const missK = at(col.missK, s);
    if (missK === 0) {
      const cl = c.clusters.id(rec.sample.cluster);
      if (cl) col.writable('missCluster')[s] = cl;
      const g = group();
      if (g) col.writable('missGroup')[s] = g;
    }
    col.writable('missK')[s] = missK + 1;
  }
}

const groupValue = (v: unknown): string => (v === undefined || v === null ? '(none)' : typeof v === 'string' ? v : JSON.stringify(v));

/**
 * One metric's scored samples in ascending id order, as columns: the order every figure is computed
 * in, so the arithmetic (and so the output) does not depend on completion order.
 */
interface MetricView {
  /** Sample indices (SampleTable) with at least one scored epoch, ascending id. */
  idx: Uint32Array;
  sum: Float64Array;
  sumsq: Float64Array;
  k: Uint32Array;
}

function metricView(col: MetricColumns, order: Uint32Array): MetricView {
  const idx = order.filter((s) => col.k[s]! > 0);
  const n = idx.length;
  const v = { idx, sum: new Float64Array(n), sumsq: new Float64Array(n), k: new Uint32Array(n) };
  for (let j = 0; j < n; j++) {
    const s = idx[j]!;
    v.sum[j] = col.sum[s]!;
    v.sumsq[j] = col.sumsq[s]!;
    v.k[j] = col.k[s]!;
  }
  return v;
}

/** Cluster ids of samples idx: the sample's cluster, or the sample alone (`\0id`) without one. */
function clusterIdsOf(c: Collected, idx: ArrayLike<number>, clusterOf: (s: number) => number): string[] {
  const ids = c.table.ids.values;
  return Array.from({ length: idx.length }, (_, j) => (c.clusters.values[clusterOf(idx[j]!)] as string | undefined) ?? `\u0000${ids[idx[j]!]!}`);
}

/**
 * Statistics for every metric of a run, from its log alone, in one streaming pass. Epochs are
 * averaged within a sample first (Miller R3). Deterministic: same log, level and seed → the same
 * object, and so byte-identical JSON.
 */
export async function statsForRun(logPath: string, opts: StatsOptions = {}): Promise<RunStats> {
  const level = opts.level ?? 0.95;
  const seed = opts.seed ?? 0;
  const c = await collect(logPath, opts.groupBy, opts.rule);
  const h = c.header;
  const order = c.table.sorted();
  const results = c.metrics.map((m, i) => metricStats(c, i, order, [...c.modes[i]!].sort(), { ...opts, level, seed }));
  results.forEach((r, i) => {
    const m = r.stats;
    const col = c.table.metrics[i]!;
    let total = m.n;
    for (const s of order) if (at(col.missK, s) > 0 && col.k[s] === 0) total++;
    const missing = total - m.n;
    r.analysis.tooFewRead = missing > 0 && (m.n < total / 2 || (m.n < MIN_READ && missing >= 0.1 * total));
    r.analysis.classifierError = c.refusal[i] ? classifierError(c.refusal[i]!, m, level) : null;
  });
  // Multiplicity across the whole report: Holm over every group test of every metric.
  const all = results.flatMap((r) => r.analysis.groupTests?.tests ?? []);
  const adj = holm(all.map((t) => t.p));
  all.forEach((t, j) => (t.pReport = adj[j]!));
  return {
    schema: `assay.run-stats/${opts.rule ?? 'v4'}`,
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

function metricStats(c: Collected, i: number, order: Uint32Array, modes: string[], opts: StatsOptions & { level: number; seed: number }): { stats: MetricStats; analysis: MetricAnalysis } {
  const m = c.metrics[i]!;
  const col = c.table.metrics[i]!;
  const counts = c.counts[i]!;
  const domain = c.domains[i]!;
  const level = opts.level;
  const v = metricView(col, order);
  const n = v.idx.length;
  const xs = new Float64Array(n);
  for (let j = 0; j < n; j++) xs[j] = v.sum[j]! / v.k[j]!;
  const est = meanEstimate(xs, level);
  let maxK = 0;
  for (let j = 0; j < n; j++) maxK = Math.max(maxK, v.k[j]!);
  const binary = maxK === 1 && xs.every((x) => x === 0 || x === 1);
  const successes = binary ? xs.reduce((s, x) => s + x, 0) : 0;
  let within = 0;
  let repeats = 0;
  for (let j = 0; j < n; j++) {
    const k = v.k[j]!;
    if (k > 1) {
      within += (v.sumsq[j]! - (v.sum[j]! * v.sum[j]!) / k) / (k - 1);
      repeats++;
    }
  }
  // A sample without a cluster value is its own cluster; clustering applies once any sample has one.
  const hasClusters = v.idx.some((s) => at(col.cluster, s) !== 0);
  const clusterIds = hasClusters ? clusterIdsOf(c, v.idx, (s) => at(col.cluster, s)) : null;
  let clustered: MetricStats['clustered'] = null;
  if (clusterIds && n > 0) {
    const se = clusteredSe(xs, clusterIds);
    clustered = { clusters: new Set(clusterIds).size, se, ci: normalInterval(est.mean, se, level) };
  }
  const binaryValued = c.binaryValued[i]! && n > 0;
  const rule = opts.rule ?? 'v4';
  const headline = headlineInterval(xs, clusterIds, binaryValued, maxK, level, domain, rule);
  let groups: MetricStats['groups'] = null;
  let groupTests: MetricAnalysis['groupTests'] = null;
  if (m.groupBy) {
    const gs = Array.from(v.idx, (s) => c.groups.values[at(col.group, s)] ?? '(none)');
    const g = groupedEstimates(Array.from(xs), gs, { level, binary, binaryValued, unitInterval: domain !== 'real', maxEpochs: maxK, versus: opts.versus ?? 'rest', clusters: clusterIds, rule });
    groups = { by: m.groupBy, groups: g.groups };
    groupTests = { by: m.groupBy, versus: g.versus, tests: g.tests };
  }
  // The iid bootstrap of a mean costs O(n) per replicate and, past ~20k samples, cannot differ from
  // the CLT interval by more than its own Monte-Carlo error; by default it is skipped there.
  const resamples = opts.resamples ?? (hasClusters || n <= 20_000 ? 1000 : 0);
  // A cluster bootstrap with few clusters badly under-covers (docs/statistics.md: coverage); it is not shown there.
  const nClusters = clusterIds ? new Set(clusterIds).size : Infinity;
  const boot = resamples > 0 && n > 1 && nClusters >= FEW_CLUSTERS ? bootstrapMean(xs, { seed: opts.seed, resamples, level, ...(clusterIds ? { clusters: clusterIds } : {}) }) : null;
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
      domain,
      interval: headline,
      excluded: c.excluded[i]!,
      sensitivity: sensitivity(c, i, order, hasClusters, maxK, level, rule),
    },
    analysis: {
      name: m.name,
      designEffect: clusterIds && n > 1 ? designEffect(xs, clusterIds) : null,
      epochs: epochsAnalysisOf(v),
      bootstrap: boot,
      groupTests,
    },
  };
}

/**
 * The refusal classifier's error carried into a refusal metric: Rogan–Gladen corrected estimate and
 * the bound of score/refusal-error.ts, built on the metric's own honest interval (clusters and epochs
 * kept) at level 1 − α/3. Compliance is 1 − refusal with the bound flipped. A classifier (or reading)
 * without published validation gets the bound [0, 1].
 */
function classifierError(spec: { type: string; value: string; mode: string | undefined }, m: MetricStats, level: number): ClassifierError {
  const recorded = m.modes[0] ?? spec.mode ?? (spec.type === 'cse_refusal' ? 'cse' : 'rules');
  const classifier = spec.type === 'cse_refusal' ? 'cse' : spec.type === 'agent_outcome' ? spec.mode! : recorded;
  const reading: ClassifierError['reading'] = spec.value === 'refused' || spec.value === 'full_refusal' || spec.value === 'complied' ? spec.value : spec.type === 'cse_refusal' ? 'refused' : 'other';
  const validation = spec.type === 'refusal' && reading !== 'other' ? validationFor(classifier, reading === 'full_refusal' ? 'full_refusal' : 'refused') : [];
  const l3 = 1 - (1 - level) / 3;
  const flip = reading === 'complied';
  const asRefusal = (mean: number, iv: Interval | null): CorrectedRate => {
    const q = flip ? 1 - mean : mean;
    const qi = iv ? (flip ? { lo: 1 - iv.hi, hi: 1 - iv.lo } : iv) : { lo: 0, hi: 1 };
    const c = correctedFromInterval(q, qi, validation, level);
    return flip ? { ...c, observed: mean, corrected: c.corrected === null ? null : 1 - c.corrected, bound: { lo: 1 - c.bound.hi, hi: 1 - c.bound.lo } } : c;
  };
  const ivAt = (basis: IntervalBasis) => intervalFromBasis(basis, l3);
  const overall = asRefusal(m.mean, m.interval ? ivAt(m.interval.basis) : null);
  const groups = (m.groups?.groups ?? []).map((g) => ({ group: g.group, rate: asRefusal(g.mean, g.interval ? ivAt(g.interval.basis) : wilson(Math.round(g.mean * g.n), g.n, l3)) }));
  const note = validation.length
    ? `the ${classifier} refusal classifier's own error is carried in: Rogan–Gladen corrected ${overall.corrected === null ? '—' : overall.corrected.toFixed(3)}, bound [${overall.bound.lo.toFixed(3)}, ${overall.bound.hi.toFixed(3)}] over its validated sensitivity/specificity, assuming the model's refusals are read as well as the validated models' (suites/over-refusal/METHODOLOGY.md); the interval in the table is sampling error only`
    : `the ${classifier} classifier${reading === 'other' ? ` (value ${spec.value})` : ''} has no published validation: its error is unknown, so the true rate may be anywhere in [0, 1] whatever the table's interval says (validate it with \`assay refusal-validate\`)`;
  return { classifier, reading, validated: validation.length > 0, overall, groups, note };
}

/** The headline interval of per-sample scores xs, clipped to the scorer's domain. */
function headlineInterval(xs: ArrayLike<number>, clusters: readonly string[] | null, binaryValued: boolean, maxEpochs: number, level: number, domain: ScoreDomain, rule: StatsRule): HeadlineInterval {
  const basis = intervalBasis({ xs, clusters, binaryValued, maxEpochs, unitInterval: domain !== 'real', rule });
  const iv = intervalFromBasis(basis, level);
  const b = domainBounds(domain);
  const clip = (x: number) => (b ? Math.min(b.max, Math.max(b.min, x)) : x);
  return { method: basis.method, lo: iv ? clip(iv.lo) : null, hi: iv ? clip(iv.hi) : null, basis, warnings: basisWarnings(basis) };
}

/** Headline interval with every excluded record imputed as v (0 or 1), samples and clusters kept. */
function sensitivity(c: Collected, i: number, order: Uint32Array, hasClusters: boolean, maxK: number, level: number, rule: StatsRule): MetricStats['sensitivity'] {
  const col = c.table.metrics[i]!;
  const domain = c.domains[i]!;
  let total = 0;
  for (const s of order) total += at(col.missK, s);
  if (!total || !domainBounds(domain)) return null;
  // Every sample with a scored or an excluded record; its cluster is that of its scored records if any.
  const idx = order.filter((s) => col.k[s]! > 0 || at(col.missK, s) > 0);
  const clusterOf = (s: number) => (col.k[s]! > 0 ? at(col.cluster, s) : at(col.missCluster, s));
  const cl = hasClusters || idx.some((s) => clusterOf(s) !== 0) ? clusterIdsOf(c, idx, clusterOf) : null;
  const point = (v: 0 | 1): SensitivityPoint => {
    const xs = new Float64Array(idx.length);
    let maxEpochs = maxK;
    for (let j = 0; j < idx.length; j++) {
      const s = idx[j]!;
      let sum = col.sum[s]!;
      let k = col.k[s]!;
      if (at(col.missK, s) > 0) {
        sum += v * at(col.missK, s);
        k += at(col.missK, s);
      }
      xs[j] = sum / k;
      maxEpochs = Math.max(maxEpochs, k);
    }
    const h = headlineInterval(xs, cl, c.binaryValued[i]!, maxEpochs, level, domain, rule);
    return { n: xs.length, mean: xs.reduce((s, x) => s + x, 0) / xs.length, method: h.method, lo: h.lo, hi: h.hi };
  };
  return { excludedAs0: point(0), excludedAs1: point(1) };
}

export interface MetricComparison extends PairedComparison {
  name: string;
  scorer: string;
  /** The paired-t p-value Holm-adjusted across the metrics of this comparison. */
  tHolm: number;
}

export interface RunComparison {
  schema: 'assay.compare/v2';
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
  for (let s = 1; s < A.table.ids.values.length; s++) if (B.table.ids.find(A.table.ids.values[s]!)) overlap++;
  if (!overlap) throw new AssayError('NO_OVERLAP', `runs ${ha.runId} and ${hb.runId} have no sample in common`, { file: logB });
  const idx = A.metrics.map((m, i) => i).filter((i) => !opts.metric || A.metrics[i]!.name === opts.metric);
  if (!idx.length) throw new AssayError('UNKNOWN_METRIC', `no metric "${opts.metric}" in suite ${ha.suite.id} (has: ${A.metrics.map((m) => m.name).join(', ')})`, { field: 'metric' });
  const metrics = idx.map((i) => {
    const m = A.metrics[i]!;
    const means = (c: Collected) => {
      const col = c.table.metrics[i]!;
      const out = new Map<string, number>();
      for (let s = 1; s < c.table.ids.values.length; s++) if (col.k[s]! > 0) out.set(c.table.ids.values[s]!, col.sum[s]! / col.k[s]!);
      return out;
    };
    // A sample's cluster as run A recorded it, else as run B did.
    const clusters = new Map<string, string>();
    for (const c of [B, A]) {
      const col = c.table.metrics[i]!;
      for (let s = 1; s < c.table.ids.values.length; s++) if (col.k[s]! > 0 && at(col.cluster, s) !== 0) clusters.set(c.table.ids.values[s]!, c.clusters.values[at(col.cluster, s)] as string);
    }
    const cmp = pairedComparison(means(A), means(B), { level, ...(clusters.size ? { clusters } : {}) });
    return { name: m.name, scorer: m.scorer, ...cmp };
  });
  // Multiplicity across the metrics compared (issue 18), on the small-n honest paired t.
  const adj = holm(metrics.map((m) => m.t.p));
  const withHolm = metrics.map((m, j) => ({ ...m, tHolm: adj[j]! }));
  const side = (h: RunHeader, c: Collected) => ({ runId: h.runId, model: h.model.name, simulated: h.model.simulated || c.simulatedEvent, samples: c.table.size });
  return { schema: 'assay.compare/v2', suite: { id: ha.suite.id, version: ha.suite.version, digest: ha.suite.digest }, a: side(ha, A), b: side(hb, B), level, metrics: withHolm };
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

/** One metric's per-sample values (epochs averaged), for item-by-item comparisons (replication audits). */
export interface PerSampleMetric {
  name: string;
  scorer: string;
  /** Every scored value is 0 or 1 with one epoch per sample. */
  binary: boolean;
  values: Map<string, number>;
  /** The sample's value of `groupBy` (when given), e.g. its difficulty. */
  groups: Map<string, string>;
}

/** Per-sample scores of every metric of a run, from its log (one streaming pass, first record per key). */
export async function perSampleScores(logPath: string, opts: { groupBy?: string } = {}): Promise<{ header: RunHeader; metrics: PerSampleMetric[]; sampleIds: string[] }> {
  const c = await collect(logPath, opts.groupBy);
  const order = c.table.sorted();
  const ids = c.table.ids.values;
  const metrics = c.metrics.map((m, i) => {
    const col = c.table.metrics[i]!;
    const values = new Map<string, number>();
    const groups = new Map<string, string>();
    let oneEpoch = true;
    for (const s of order) {
      if (col.k[s] === 0) continue;
      values.set(ids[s]!, col.sum[s]! / col.k[s]!);
      if (col.k[s] !== 1) oneEpoch = false;
      if (at(col.group, s) !== 0) groups.set(ids[s]!, c.groups.values[at(col.group, s)]!);
    }
    return { name: m.name, scorer: m.scorer, binary: c.binaryValued[i]! && oneEpoch, values, groups };
  });
  return { header: c.header, metrics, sampleIds: Array.from(order, (s) => ids[s]!) };
}
