import { createHash } from 'node:crypto';
import { canonicalJson } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import { RUN_LOG_SCHEMA, type RunConfig, type RunHeader, type SampleRecord } from '../run/types.js';
import type { SuiteDefinition } from '../suite/types.js';
import { ASSAY_VERSION } from '../version.js';

/**
 * Results produced by another harness, as Assay run logs (docs/formats/audit.md §7). Pure: the
 * importers (inspect.ts, lmeval.ts) parse the harness's files into an `ImportedRun`; this turns it
 * into the lines of an `assay.run-log/v1` whose header carries `provenance` saying which harness
 * and version produced the results, from which files (by SHA-256), and that Assay did not execute
 * them. Scores are the harness's own per-sample values; `assay stats`, policies, attestation and
 * audits then read the log like any other.
 */
export const IMPORT_PROVENANCE_SCHEMA = 'assay.import-provenance/v1';

export interface ImportProvenance {
  schema: typeof IMPORT_PROVENANCE_SCHEMA;
  harness: { name: 'inspect_ai' | 'lm-evaluation-harness'; version: string | null };
  /** Always false: Assay did not send these requests nor score these answers. */
  executedByAssay: false;
  statement: string;
  sources: { file: string; sha256: string }[];
  task: { name: string; version: string | null };
  /** What the harness itself reports for each imported metric (checked against the imported values). */
  reported: { metric: string; value: number | null; stderr: number | null; source: string }[];
  notes: string[];
}

export interface ImportedSample {
  id: string;
  epoch: number;
  input: string;
  target?: string | string[];
  output: string | null;
  /** Metric name → the harness's per-sample value (null: not scored). */
  scores: Record<string, number | null>;
  metadata?: Record<string, unknown>;
  error?: string | null;
}

export interface ImportedRun {
  provenance: Omit<ImportProvenance, 'schema' | 'executedByAssay' | 'statement'>;
  model: { name: string; provider: string; model: string };
  /** Metric names in order; binary when every value is 0 or 1. */
  metrics: string[];
  samples: ImportedSample[];
  startedAt: string;
  finishedAt: string | null;
  status: 'completed' | 'interrupted';
  epochs: number;
  /**
   * How many items the harness's dataset holds, as the log records it (lm-eval n-samples.original,
   * Inspect eval.dataset.samples): the run header's `suite.items`, so a harness run with a limit is
   * a partial run to policies. Null when the log does not say (then the size is unknown).
   */
  datasetItems?: number | null;
}

export const IMPORTED_SCORER = 'imported';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** A lowercase dotted-slug part (suite and policy ids are slugs): runs of other characters become '-'. */
export const slugPart = (s: string): string => s.toLowerCase().replace(/[^a-z0-9_]+/g, '-').replace(/^[-_]+|[-_]+$/g, '').replace(/([-_])[-_]+/g, '$1') || 'task';

/** The run log lines (JSONL) of an imported run. Deterministic: the run id derives from the sources. */
export function importedRunLog(r: ImportedRun): string {
  if (!r.samples.length) throw new AssayError('IMPORT_EMPTY', `no samples to import from ${r.provenance.sources.map((s) => s.file).join(', ')}`);
  const binary = new Map(r.metrics.map((m) => [m, r.samples.every((s) => s.scores[m] === null || s.scores[m] === undefined || s.scores[m] === 0 || s.scores[m] === 1)]));
  const harness = r.provenance.harness.name;
  const definition: SuiteDefinition = {
    schema: 'assay.suite/v1',
    // imported.<harness>.<task>: a slug, so policies can name imported suites.
    id: `imported.${slugPart(harness)}.${slugPart(r.provenance.task.name)}`,
    version: r.provenance.task.version ?? '0',
    title: `${r.provenance.task.name} (imported from ${harness})`,
    riskArea: 'imported',
    methodology: `(imported from ${harness}; see the header's provenance)`,
    access: 'black-box',
    dataset: { path: r.provenance.sources[0]!.file, format: 'jsonl', fields: { id: 'id', input: 'input' } } as SuiteDefinition['dataset'],
    template: '{{input}}',
    solver: { type: 'generate' } as SuiteDefinition['solver'],
    // One scorer per metric: the harness's own values, binary or real (stats/domain.ts).
    scorers: r.metrics.map((m) => ({ type: IMPORTED_SCORER, name: m, domain: binary.get(m) ? 'binary' : 'real' })) as unknown as SuiteDefinition['scorers'],
    metrics: r.metrics.map((m) => ({ name: m, scorer: m })) as SuiteDefinition['metrics'],
    epochs: r.epochs,
  };
  const dataDigests = Object.fromEntries(r.provenance.sources.map((s) => [s.file, `sha256:${s.sha256}`]));
  const suiteDigest = `sha256:${sha(canonicalJson({ definition, data: dataDigests }))}`;
  const config: RunConfig = {
    epochs: r.epochs,
    seed: 0,
    limit: null,
    sampleIds: null,
    maxConnections: 0,
    maxTokens: null,
    temperature: null,
    timeoutMs: 0,
    maxRetries: 0,
    retryBaseMs: 0,
    retryMaxDelayMs: 0,
    access: 'black-box',
    budget: { maxTokensTotal: null, maxCost: null, pricePerMTok: null },
  };
  const provenance: ImportProvenance = {
    schema: IMPORT_PROVENANCE_SCHEMA,
    ...r.provenance,
    executedByAssay: false,
    statement: `Imported from ${harness}${r.provenance.harness.version ? ` ${r.provenance.harness.version}` : ''}: these results were produced and scored by that harness, not executed by Assay.`,
  };
  const header: RunHeader & { provenance: ImportProvenance } = {
    type: 'header',
    schema: RUN_LOG_SCHEMA,
    runId: `import-${harness}-${sha(r.provenance.sources.map((s) => s.sha256).join(',')).slice(0, 16)}`,
    suite: { id: definition.id, version: definition.version, digest: suiteDigest, file: r.provenance.sources[0]!.file, definition, dataDigests, ...(typeof r.datasetItems === 'number' && Number.isInteger(r.datasetItems) && r.datasetItems > 0 ? { items: r.datasetItems } : {}) },
    model: { name: r.model.name, provider: r.model.provider, model: r.model.model, baseUrl: '', simulated: false },
    config,
    assayVersion: ASSAY_VERSION,
    startedAt: r.startedAt,
    provenance,
  };
  const seen = new Set<string>();
  const lines: unknown[] = [header];
  for (const s of r.samples) {
    const key = `${s.id}#${s.epoch}`;
    if (seen.has(key)) throw new AssayError('IMPORT_DUPLICATE', `sample ${s.id} epoch ${s.epoch} appears twice`, { file: r.provenance.sources[0]!.file, field: key });
    seen.add(key);
    const scores: SampleRecord['scores'] = {};
    for (const m of r.metrics) {
      const v = s.scores[m];
      scores[m] = v === null || v === undefined ? { status: 'unscored', reason: `${harness} recorded no value for ${m}` } : { status: 'scored', value: v };
    }
    const rec: SampleRecord = {
      type: 'sample',
      key,
      sampleId: s.id,
      epoch: s.epoch,
      sample: { id: s.id, input: s.input, ...(s.target !== undefined ? { target: s.target } : {}), metadata: s.metadata ?? {} } as SampleRecord['sample'],
      messages: [{ role: 'user', content: s.input }],
      request: null,
      sent: null,
      output: s.output === null ? null : { content: s.output, logprobs: null, finishReason: null, requestId: null, model: r.model.model, raw: null },
      usage: null,
      timing: { startedAt: r.startedAt, latencyMs: 0, attempts: 0 },
      scores: s.error ? {} : scores,
      error: s.error ? { kind: 'imported_error', message: s.error, status: null, attempts: 0 } : null,
    };
    lines.push(rec);
  }
  lines.push({ type: 'end', at: r.finishedAt ?? r.startedAt, status: r.status, counts: { samples: r.samples.length, errored: r.samples.filter((s) => s.error).length } });
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

/** RFC 3339 from a harness's time (ISO text, or Unix seconds). */
export function isoTime(v: unknown, fallback: string): string {
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v * 1000).toISOString();
  if (typeof v === 'string') {
    const d = new Date(v);
    if (!Number.isNaN(d.getTime())) return d.toISOString();
  }
  return fallback;
}
