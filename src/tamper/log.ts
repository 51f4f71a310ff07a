import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { AssayError } from '../common/errors.js';
import type { JobState } from './backends/types.js';
import type { TamperGrid } from './grid.js';

/**
 * The tamper log (`assay.tamper-log/v1`, docs/formats/tamper.md): one JSON object per line,
 * appended and fsynced record by record, so a grid can resume after a crash and a report can be
 * rebuilt from it. It never holds training data: only its digest and size.
 */
export const TAMPER_LOG_SCHEMA = 'assay.tamper-log/v1';

export interface TamperHeader {
  type: 'header';
  schema: typeof TAMPER_LOG_SCHEMA;
  gridDigest: string;
  grid: TamperGrid;
  startedAt: string;
  /** Whether the endpoints were Assay's simulated target (absent in logs written before report v2). */
  simulated?: boolean;
}

export interface JobRecord {
  type: 'job';
  key: string;
  attack: string;
  examples: number;
  steps: number;
  /** 'started' is written before waiting, with the job id, so a resume waits for that job rather than paying again. */
  state: 'started' | JobState;
  backend: string;
  jobId: string;
  training: { sha256: string; examples: number; bytes: number; source: 'placeholder' | 'file' };
  model?: string;
  endpoint?: string;
  trainedTokens?: number;
  /** GPU-hours the trainer reported for the job (command back-end: result.json "gpu_hours"); absent when not reported. */
  gpuHours?: number;
  /** Estimated before training (budget check) or reported after. */
  cost?: number;
  error?: string;
  at: string;
}

export interface EvalRecord {
  type: 'eval';
  /** "base" or a cell key. */
  key: string;
  suite: string;
  suiteDigest: string;
  metric: string;
  model: string;
  runId: string;
  /** Run log path relative to the tamper log's folder. */
  runLog: string;
  /** SHA-256 (hex) of the run log when the evaluation completed: a verifier holding the run logs checks them. */
  runLogSha256?: string;
  n: number;
  mean: number | null;
  /** Per item (sample id): mean of the metric over epochs; items without a score are absent. */
  items: Record<string, number>;
  unscored: number;
  at: string;
}

export interface StopRecord {
  type: 'stop';
  reason: 'complete' | 'budget' | 'interrupted' | 'error';
  detail: string;
  at: string;
}

export type TamperRecord = TamperHeader | JobRecord | EvalRecord | StopRecord;

/** Reads a tamper log; a torn last line (crash mid-write) is ignored, anything else malformed is an error naming the line. */
export function readTamperLog(path: string): TamperRecord[] {
  if (!existsSync(path)) return [];
  return readTamperRecords(readFileSync(path, 'utf8'), path);
}

/** The records of a tamper log's text (`source` names it in errors). */
export function readTamperRecords(text: string, path: string): TamperRecord[] {
  const lines = text.split('\n');
  const out: TamperRecord[] = [];
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let rec: TamperRecord;
    try {
      rec = JSON.parse(line) as TamperRecord;
    } catch {
      if (i === lines.length - 1) break; // torn tail: the record was never acknowledged
      throw new AssayError('TAMPER_LOG', 'line is not JSON', { file: path, line: i + 1 });
    }
    if (!rec || typeof rec !== 'object' || !['header', 'job', 'eval', 'stop'].includes((rec as { type?: string }).type ?? '')) throw new AssayError('TAMPER_LOG', 'not a tamper-log record', { file: path, line: i + 1 });
    if (out.length === 0 && (rec.type !== 'header' || rec.schema !== TAMPER_LOG_SCHEMA)) throw new AssayError('TAMPER_LOG', `the first record must be a ${TAMPER_LOG_SCHEMA} header`, { file: path, line: i + 1 });
    out.push(rec);
  }
  return out;
}

/** Appends records durably (one write + fsync each). The caller holds the log's lock. */
export class TamperLogWriter {
  private fd: number;
  constructor(readonly path: string) {
    this.fd = openSync(path, 'a', 0o600);
    // A torn tail from a crash would glue onto the next record: start on a fresh line.
    const text = readFileSync(path, 'utf8');
    if (text.length && !text.endsWith('\n')) {
      writeSync(this.fd, '\n');
      fsyncSync(this.fd);
    }
  }
  append(rec: TamperRecord): void {
    writeSync(this.fd, JSON.stringify(rec) + '\n');
    fsyncSync(this.fd);
  }
  close(): void {
    closeSync(this.fd);
  }
}
