import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunHeader, SampleRecord } from '../src/run/types.js';
import type { MetricSpec } from '../src/suite/types.js';
import { config } from './helpers.js';

/** One record of a hand-built run log: a value per scorer, 'unscored', or an errored record. */
export interface Rec {
  id: string;
  epoch?: number;
  scores?: Record<string, number | 'unscored'>;
  error?: boolean;
  cluster?: string;
  metadata?: Record<string, unknown>;
}

export function header(o: { runId?: string; digest?: string; model?: string; metrics?: MetricSpec[] } = {}): RunHeader {
  return {
    type: 'header',
    schema: 'assay.run-log/v1',
    runId: o.runId ?? 'run-a',
    suite: {
      id: 'test.stats',
      version: '1.0.0',
      digest: o.digest ?? 'sha256:' + 'ab'.repeat(32),
      file: '/x/suite.yaml',
      definition: {
        schema: 'assay.suite/v1',
        id: 'test.stats',
        version: '1.0.0',
        title: 'stats fixture',
        riskArea: 'none',
        methodology: 'none',
        access: 'black-box',
        dataset: { path: 'data.jsonl', format: 'jsonl', fields: { input: 'q', cluster: 'c' } },
        template: '{{input}}',
        solver: { type: 'generate' },
        scorers: [{ type: 'match', name: 'match' }],
        metrics: o.metrics ?? [{ name: 'accuracy', scorer: 'match', aggregate: 'mean' }],
        epochs: 1,
      },
      dataDigests: {},
    },
    model: { name: o.model ?? 'model-a', provider: 'openai', model: o.model ?? 'model-a', baseUrl: 'http://127.0.0.1:1', simulated: true },
    config: config(),
    assayVersion: '0.1.0',
    startedAt: '2026-01-01T00:00:00.000Z',
  };
}

export function record(r: Rec): SampleRecord {
  const epoch = r.epoch ?? 1;
  const scores: SampleRecord['scores'] = {};
  for (const [k, v] of Object.entries(r.scores ?? {})) scores[k] = v === 'unscored' ? { status: 'unscored', reason: 'test' } : { status: 'scored', value: v };
  return {
    type: 'sample',
    key: `${r.id}#${epoch}`,
    sampleId: r.id,
    epoch,
    sample: { id: r.id, input: 'q', metadata: r.metadata ?? {}, ...(r.cluster !== undefined ? { cluster: r.cluster } : {}) },
    messages: [],
    request: null,
    sent: null,
    output: r.error ? null : { content: 'x', logprobs: null, finishReason: 'stop', requestId: null, model: null, raw: null },
    usage: null,
    timing: { startedAt: '2026-01-01T00:00:00.000Z', latencyMs: 1, attempts: 1 },
    scores: r.error ? {} : scores,
    error: r.error ? { kind: 'server', message: 'boom', status: 500, attempts: 3 } : null,
  };
}

/** Writes a header line, the records, and an end line. */
export function writeLog(dir: string, name: string, h: RunHeader, recs: Rec[]): string {
  const p = join(dir, name);
  const end = { type: 'end', at: '2026-01-01T00:01:00.000Z', status: 'completed', counts: { samples: recs.length, errored: recs.filter((r) => r.error).length } };
  writeFileSync(p, [h, ...recs.map(record), end].map((x) => JSON.stringify(x)).join('\n') + '\n');
  return p;
}
