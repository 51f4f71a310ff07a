import * as z from 'zod';
import { ACCESS_LEVELS } from '../model/types.js';
import type { MetricStats, RunStats } from '../stats/from-log.js';
import type { StatsRule } from '../stats/honest.js';

/**
 * The run-report predicate, version 1 (docs/formats/attestation.md; JSON Schema:
 * schemas/run-report.v1.schema.json, generated from the zod schema below).
 *
 * Numbers that the statistics leave undefined (NaN: e.g. an SE from one sample) are written as
 * null, since JSON and RFC 8785 cannot carry NaN.
 */
export const RUN_REPORT_PREDICATE_TYPE = 'https://assay.dev/attestation/run-report/v1';

/** How the transcript tree is built; named in the predicate so the rule can change by version. */
export const TRANSCRIPT_TREE = {
  tree: 'rfc9162-sha256',
  leaf: 'sha256-jcs-sample-record',
  order: 'key-utf16',
} as const;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');
const digestSet = z.looseObject({ sha256: hex64 });
const prefixedDigest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected "sha256:<64 lowercase hex>"');
const isoTime = z.iso.datetime({ offset: true });
const num = z.number().nullable();
const interval = z.strictObject({ lo: num, hi: num });
const count = z.number().int().min(0);

const groupStats = z.strictObject({ group: z.string(), n: count, mean: num, se: num, ci: interval, wilson: interval.nullable() });

export const predicateMetricSchema = z.strictObject({
  name: z.string(),
  scorer: z.string(),
  /** What was estimated and how the intervals were computed. */
  estimator: z.strictObject({ point: z.literal('mean-of-sample-means'), se: z.literal('clt'), interval: z.literal('normal') }),
  modes: z.array(z.string()),
  n: count,
  counts: z.strictObject({ scored: count, unscored: count, errored: count }),
  mean: num,
  se: num,
  ci: interval,
  level: z.number().gt(0).lt(1),
  binary: z.boolean(),
  wilson: interval.nullable(),
  zeroEvent: z.strictObject({ absent: z.union([z.literal(0), z.literal(1)]), upperBound: num }).nullable(),
  clustered: z.strictObject({ clusters: count, se: num, ci: interval }).nullable(),
  epochs: z.strictObject({ max: count, withinVariance: num, samplesWithRepeats: count }),
  groups: z.strictObject({ by: z.string(), groups: z.array(groupStats) }).nullable(),
});

/** run-stats/v2 (issue 18): the named headline interval, what recomputes it, exclusions and sensitivity. */
const basisSchema = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('clopper-pearson'), k: count, n: count }),
  z.strictObject({ method: z.literal('korn-graubard'), mean: num, se: num, n: count, df: num, clusters: count.nullable() }),
  z.strictObject({ method: z.literal('student-t'), mean: num, se: num, df: num }),
  z.strictObject({ method: z.literal('cr1-t'), mean: num, se: num, df: num, clusters: count }),
  // run-stats/v4: unbounded scores, each side widened for skewness (stats/honest.ts skewTerms).
  z.strictObject({ method: z.literal('skew-t'), mean: num, se: num, df: num, skew: num, skewLo: num, skewHi: num }),
  z.strictObject({ method: z.literal('cr1-skew-t'), mean: num, se: num, df: num, clusters: count, skew: num, skewLo: num, skewHi: num }),
  z.strictObject({ method: z.literal('none'), reason: z.string() }),
]);
const INTERVAL_NAMES = ['clopper-pearson', 'korn-graubard', 'student-t', 'cr1-t', 'skew-t', 'cr1-skew-t', 'none'] as const;
const headlineSchema = z.strictObject({ method: z.enum(INTERVAL_NAMES), lo: num, hi: num, basis: basisSchema, warnings: z.array(z.string()) });
const sensitivityPoint = z.strictObject({ n: count, mean: num, method: z.enum(INTERVAL_NAMES), lo: num, hi: num });
const groupStatsV2 = groupStats.extend({ interval: headlineSchema });

export const predicateMetricSchemaV2 = predicateMetricSchema.extend({
  estimator: z.strictObject({ point: z.literal('mean-of-sample-means'), se: z.literal('clt'), interval: z.enum(INTERVAL_NAMES) }),
  groups: z.strictObject({ by: z.string(), groups: z.array(groupStatsV2) }).nullable(),
  domain: z.enum(['binary', 'unit', 'real']),
  interval: headlineSchema,
  excluded: z.strictObject({ errored: count, empty: count, filtered: count, refused: count, unreadable: count, unscored: count }),
  sensitivity: z.strictObject({ excludedAs0: sensitivityPoint, excludedAs1: sensitivityPoint }).nullable(),
});

/**
 * Statistics methods a report may name; older ones are kept so reports signed with them still
 * verify. v3 and v4 have the metric shape of v2: v3 differs in the clustered-rate rule of the
 * headline interval (stats/honest.ts clusteredRateN); v4 adds skew-t / cr1-skew-t for unbounded
 * scores and takes a default (normalised) rubric item as a [0, 1] score. Each report is recomputed
 * with its own rule.
 */
export const STATS_METHODS = ['assay.run-stats/v1', 'assay.run-stats/v2', 'assay.run-stats/v3', 'assay.run-stats/v4'] as const;
export type StatsMethod = (typeof STATS_METHODS)[number];
/** What new reports are signed with. */
export const CURRENT_STATS_METHOD: StatsMethod = 'assay.run-stats/v4';
/** The rule that recomputes a report of this statistics method (v1 has no headline interval; it is recomputed as v2). */
export const statsRule = (m: StatsMethod): StatsRule => (m === 'assay.run-stats/v4' ? 'v4' : m === 'assay.run-stats/v3' ? 'v3' : 'v2');

const runConfig = z.strictObject({
  epochs: count,
  seed: z.number().int(),
  limit: count.nullable(),
  sampleIds: z.array(z.string()).nullable(),
  maxConnections: count,
  maxTokens: count.nullable(),
  temperature: z.number().nullable(),
  timeoutMs: count,
  maxRetries: count,
  retryBaseMs: count,
  retryMaxDelayMs: count,
  /** Cap on a provider's Retry-After (run operations; absent in runs made before it existed). */
  retryAfterMaxMs: count.optional(),
  access: z.enum(ACCESS_LEVELS),
  budget: z.strictObject({
    maxTokensTotal: count.nullable(),
    maxCost: z.number().nullable(),
    pricePerMTok: z.strictObject({ input: z.number(), output: z.number() }).nullable(),
  }),
});

export const runReportPredicateSchema = z.strictObject({
  run: z.strictObject({
    id: z.string().min(1),
    /** Status of the last `end` record, null when the log has none (still running or crashed). */
    status: z.enum(['completed', 'budget_exhausted', 'interrupted']).nullable(),
    rescoreOf: z.strictObject({ runId: z.string(), logDigest: z.string() }).nullable(),
  }),
  suite: z.strictObject({
    id: z.string().min(1),
    version: z.string().min(1),
    title: z.string(),
    riskArea: z.string(),
    digest: digestSet,
    dataDigests: z.record(z.string(), prefixedDigest),
    /**
     * Samples in the suite's dataset before --limit/--sample-id, from the run log header (a whole run
     * holds items × epochs records). Absent in reports of logs written before it was recorded: unknown.
     */
    items: count.optional(),
  }),
  model: z.strictObject({
    name: z.string(),
    provider: z.string(),
    model: z.string(),
    baseUrl: z.string(),
    simulated: z.boolean(),
    /** SHA-256 of the RFC 8785 form of the run log header's `model` block. */
    identityDigest: digestSet,
    /** The developer's model-release statement, when the run went through a gateway. */
    releaseStatement: z.strictObject({ digest: digestSet }).nullable(),
  }),
  accessLevel: z.enum(ACCESS_LEVELS),
  config: runConfig,
  statistics: z.strictObject({ method: z.enum(STATS_METHODS), level: z.number().gt(0).lt(1), groupBy: z.string().nullable() }),
  /** v1 metrics under run-stats/v1, v2 metrics under run-stats/v2 (checked below). */
  metrics: z.array(z.union([predicateMetricSchema, predicateMetricSchemaV2])),
  counts: z.strictObject({ records: count, samples: count, scored: count, unscored: count, errored: count }),
  transcripts: z.strictObject({
    tree: z.literal(TRANSCRIPT_TREE.tree),
    leaf: z.literal(TRANSCRIPT_TREE.leaf),
    order: z.literal(TRANSCRIPT_TREE.order),
    size: count,
    root: hex64,
  }),
  /** A policy verdict (policy module, later); null when no policy was applied. */
  policy: z.looseObject({ id: z.string(), digest: digestSet, verdict: z.string() }).nullable(),
  /**
   * Who signs. `role` absent: a tester's report. `role: "developer"` (issue 27): a claim, the
   * developer's own run, self-reported; `seedDelay` D fixes which later checkpoint of the log seeds a
   * replication audit's sample (docs/formats/audit.md).
   */
  tester: z
    .strictObject({ name: z.string().min(1), keyId: z.string().regex(/^sha256:[0-9a-f]{64}$/), role: z.literal('developer').optional(), seedDelay: z.number().int().min(1).max(1_000_000).optional() })
    .refine((t) => (t.role === 'developer') === (t.seedDelay !== undefined), { message: 'a developer claim (role "developer") carries seedDelay, and only a claim does' }),
  timestamps: z.strictObject({ runStartedAt: isoTime, runFinishedAt: isoTime.nullable(), attestedAt: isoTime }),
  assay: z.strictObject({ version: z.string(), runLogWrittenBy: z.string() }),
}).superRefine((p, ctx) => {
  for (const message of metricVersionProblems(p)) ctx.addIssue({ code: 'custom', message, path: ['metrics'] });
});

export type RunReportPredicate = z.infer<typeof runReportPredicateSchema>;
export type PredicateMetric = z.infer<typeof predicateMetricSchema> | z.infer<typeof predicateMetricSchemaV2>;
export type PredicateMetricV2 = z.infer<typeof predicateMetricSchemaV2>;

/** A v2 metric carries the named headline interval; a v1 metric does not. */
export const isV2Metric = (m: PredicateMetric): m is PredicateMetricV2 => 'interval' in m;

/** Problems when a predicate's metrics are not of the version its statistics method names. */
export function metricVersionProblems(p: Pick<RunReportPredicate, 'statistics' | 'metrics'>): string[] {
  const v2 = p.statistics.method !== 'assay.run-stats/v1';
  const v4 = p.statistics.method === 'assay.run-stats/v4';
  return p.metrics.flatMap((m, i) => {
    if (isV2Metric(m) !== v2) return [`metrics[${i}] is a ${isV2Metric(m) ? 'run-stats/v2 (or later)' : 'run-stats/v1'} metric but statistics.method is ${p.statistics.method}`];
    // The skew-corrected intervals exist from run-stats/v4 on; student-t / cr1-t only before it.
    const names = isV2Metric(m) ? [m.interval.method, ...(m.groups?.groups.map((g) => g.interval.method) ?? [])] : [];
    const wrong = names.find((x) => (v4 ? x === 'student-t' || x === 'cr1-t' : x === 'skew-t' || x === 'cr1-skew-t'));
    return wrong ? [`metrics[${i}] uses the interval ${wrong}, which run-stats ${p.statistics.method.slice(-2)} does not compute`] : [];
  });
}

/** Replaces non-finite numbers by null, recursively (the predicate's rule for undefined statistics). */
export function finiteOrNull<T>(v: T): T {
  if (typeof v === 'number') return (Number.isFinite(v) ? v : null) as T;
  if (Array.isArray(v)) return v.map(finiteOrNull) as T;
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = finiteOrNull(x);
    return out as T;
  }
  return v;
}

/**
 * The predicate's metrics: statsForRun's numbers, field by field, with the estimator named and
 * NaN → null. Fields are picked, not spread, so a field the statistics module adds later does
 * not silently change (or break) a signed version. `method` picks the version: v1 (the Wald
 * interval named 'normal', as signed before issue 18; kept so those reports still verify) or v2.
 */
export function predicateMetrics(stats: RunStats, method: StatsMethod = CURRENT_STATS_METHOD): PredicateMetric[] {
  return stats.metrics.map((raw: MetricStats) => {
    const m = finiteOrNull(raw);
    const iv = (i: { lo: number; hi: number }) => ({ lo: i.lo, hi: i.hi });
    const v1 = {
      name: m.name,
      scorer: m.scorer,
      estimator: { point: 'mean-of-sample-means', se: 'clt', interval: 'normal' },
      modes: m.modes,
      n: m.n,
      counts: { scored: m.counts.scored, unscored: m.counts.unscored, errored: m.counts.errored },
      mean: m.mean,
      se: m.se,
      ci: iv(m.ci),
      level: m.level,
      binary: m.binary,
      wilson: m.wilson ? iv(m.wilson) : null,
      zeroEvent: m.zeroEvent ? { absent: m.zeroEvent.absent, upperBound: m.zeroEvent.upperBound } : null,
      clustered: m.clustered ? { clusters: m.clustered.clusters, se: m.clustered.se, ci: iv(m.clustered.ci) } : null,
      epochs: { max: m.epochs.max, withinVariance: m.epochs.withinVariance, samplesWithRepeats: m.epochs.samplesWithRepeats },
      groups: m.groups
        ? { by: m.groups.by, groups: m.groups.groups.map((g) => ({ group: g.group, n: g.n, mean: g.mean, se: g.se, ci: iv(g.ci), wilson: g.wilson ? iv(g.wilson) : null })) }
        : null,
    };
    if (method === 'assay.run-stats/v1') return v1 as PredicateMetric;
    const head = (h: MetricStats['interval']) => ({ method: h.method, lo: h.lo, hi: h.hi, basis: { ...h.basis }, warnings: [...h.warnings] });
    const pt = (x: NonNullable<MetricStats['sensitivity']>['excludedAs0']) => ({ n: x.n, mean: x.mean, method: x.method, lo: x.lo, hi: x.hi });
    const ex = m.excluded;
    return {
      ...v1,
      estimator: { point: 'mean-of-sample-means', se: 'clt', interval: m.interval.method },
      groups: m.groups
        ? { by: m.groups.by, groups: m.groups.groups.map((g) => ({ group: g.group, n: g.n, mean: g.mean, se: g.se, ci: iv(g.ci), wilson: g.wilson ? iv(g.wilson) : null, interval: head(g.interval) })) }
        : null,
      domain: m.domain,
      interval: head(m.interval),
      excluded: { errored: ex.errored, empty: ex.empty, filtered: ex.filtered, refused: ex.refused, unreadable: ex.unreadable, unscored: ex.unscored },
      sensitivity: m.sensitivity ? { excludedAs0: pt(m.sensitivity.excludedAs0), excludedAs1: pt(m.sensitivity.excludedAs1) } : null,
    } as PredicateMetric;
  });
}

/** JSON Schema (draft 2020-12) of a run-report statement, published as schemas/run-report.v1.schema.json. */
export function runReportJsonSchema(): Record<string, unknown> {
  const statement = z.strictObject({
    _type: z.literal('https://in-toto.io/Statement/v1'),
    subject: z
      .array(z.looseObject({ name: z.enum(['assay/run-log', 'assay/suite', 'assay/model']), digest: digestSet }))
      .min(3)
      .describe('Exactly one subject of each name: the run log file, the suite, the model identity.'),
    predicateType: z.literal(RUN_REPORT_PREDICATE_TYPE),
    predicate: runReportPredicateSchema,
  });
  const { $schema, ...rest } = z.toJSONSchema(statement, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
  return { $schema, $id: 'https://assay.dev/schemas/run-report.v1.schema.json', title: `Assay run report: in-toto Statement v1 with predicate ${RUN_REPORT_PREDICATE_TYPE}`, ...rest };
}
