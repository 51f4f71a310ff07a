import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunHeader, SampleRecord } from '../src/run/types.js';
import type { SuiteDefinition } from '../src/suite/types.js';
import { config, tmp } from './helpers.js';

/** A small hand-written run log (assay.run-log/v1), independent of the engine. */
export function suiteDef(over: Partial<SuiteDefinition> = {}): SuiteDefinition {
  return {
    schema: 'assay.suite/v1',
    id: 'fixture.qa',
    version: '1.2.0',
    title: 'Fixture <QA> & "quotes"',
    riskArea: 'cyber',
    methodology: 'METHODOLOGY.md',
    access: 'black-box',
    dataset: { path: 'data.jsonl', format: 'jsonl', fields: { id: 'id', input: 'q', target: 'a' } },
    template: '{{input}}',
    solver: { type: 'generate' },
    scorers: [{ type: 'match', name: 'match' }],
    metrics: [{ name: 'accuracy', scorer: 'match', aggregate: 'mean' }],
    epochs: 1,
    ...over,
  };
}

export function header(over: Partial<RunHeader> = {}): RunHeader {
  return {
    type: 'header',
    schema: 'assay.run-log/v1',
    runId: 'run-fixture-1',
    suite: { id: 'fixture.qa', version: '1.2.0', digest: `sha256:${'5'.repeat(64)}`, file: '/suites/fixture/suite.yaml', definition: suiteDef(), dataDigests: { 'data.jsonl': `sha256:${'6'.repeat(64)}` } },
    model: { name: 'openai/sim', provider: 'openai', model: 'sim', baseUrl: 'http://127.0.0.1:1/v1', simulated: true },
    config: config({ access: 'black-box', temperature: 0, maxTokens: 8 }),
    assayVersion: '0.1.0',
    startedAt: '2026-01-02T03:04:05.000Z',
    ...over,
  };
}

export function sample(id: string, value: 0 | 1 | null, opts: { epoch?: number; error?: boolean; content?: string } = {}): SampleRecord {
  const epoch = opts.epoch ?? 1;
  return {
    type: 'sample',
    key: `${id}#${epoch}`,
    sampleId: id,
    epoch,
    sample: { id, input: `question ${id}`, target: 'yes', metadata: {} },
    messages: [{ role: 'user', content: `question ${id}` }],
    request: { maxTokens: 8, temperature: 0 },
    sent: opts.error ? null : { url: 'http://127.0.0.1:1/v1/chat/completions', body: { model: 'sim', messages: [{ role: 'user', content: `question ${id}` }] } },
    output: opts.error ? null : { content: opts.content ?? (value ? 'yes' : 'no'), logprobs: null, finishReason: 'stop', requestId: `req-${id}`, model: 'sim', raw: { id: `r${id}` } },
    usage: opts.error ? null : { inputTokens: 5, outputTokens: 1 },
    timing: { startedAt: '2026-01-02T03:04:06.000Z', latencyMs: 12, attempts: 1 },
    scores: opts.error ? {} : value === null ? { match: { status: 'unscored', reason: 'no answer' } } : { match: { status: 'scored', value, answer: value ? 'yes' : 'no' } },
    error: opts.error ? { kind: 'server', message: 'HTTP 503', status: 503, attempts: 3 } : null,
  };
}

/** Default fixture: 6 records written out of key order — 4 scored (3 correct), 1 unscored, 1 errored. */
export function defaultRecords(): SampleRecord[] {
  return [sample('s3', 1), sample('s1', 1), sample('s5', null), sample('s2', 0), sample('s4', 1), sample('s6', null, { error: true })];
}

export function writeRunLog(records: SampleRecord[] = defaultRecords(), opts: { dir?: string; header?: RunHeader; end?: boolean } = {}): string {
  const dir = opts.dir ?? tmp('assay-attest-');
  const path = join(dir, 'run.jsonl');
  const lines: unknown[] = [opts.header ?? header(), ...records];
  if (opts.end ?? true) lines.push({ type: 'end', at: '2026-01-02T03:05:00.000Z', status: 'completed', counts: { samples: records.length, errored: records.filter((r) => r.error).length } });
  writeFileSync(path, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return path;
}
