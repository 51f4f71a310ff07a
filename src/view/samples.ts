import { stat } from 'node:fs/promises';
import { iterateRunLog } from '../run/log-reader.js';
import type { SampleRecord } from '../run/types.js';

/**
 * A compact, searchable row per sample record of a run log, kept in memory so that the samples
 * screen can filter and page 100,000 records on the server (the browser only gets one page).
 */
export interface SampleRow {
  /** Position in the log's sample order: the stable row number the screen shows. */
  i: number;
  key: string;
  sampleId: string;
  epoch: number;
  /** Score values by score name (numbers only; a declined score is absent). */
  scores: Record<string, number>;
  errored: boolean;
  /** No scores although not errored (empty or filtered output, or every scorer declined). */
  unscored: boolean;
  outcome: string | null;
  input: string;
  output: string;
  metadata: Record<string, string>;
  latencyMs: number;
  tokens: number | null;
}

export interface SampleFilter {
  q?: string;
  score?: string;
  min?: number;
  max?: number;
  errored?: boolean;
  unscored?: boolean;
  group?: string;
  value?: string;
}

const MAX_TEXT = 2_000; // per-row preview kept in memory and searched; the detail reads the full record

function inputText(s: SampleRecord): string {
  const inp = (s.sample as { input?: unknown }).input;
  if (typeof inp === 'string') return inp;
  if (Array.isArray(inp)) return inp.map((m) => (m && typeof m === 'object' && 'content' in m ? String((m as { content: unknown }).content) : '')).join('\n');
  return JSON.stringify(inp ?? '');
}

function toRow(s: SampleRecord, i: number): SampleRow {
  const scores: Record<string, number> = {};
  for (const [name, sc] of Object.entries(s.scores ?? {})) {
    const v = (sc as { value?: unknown }).value;
    if (typeof v === 'number' && Number.isFinite(v)) scores[name] = v;
    else if (typeof v === 'boolean') scores[name] = v ? 1 : 0;
  }
  const metadata: Record<string, string> = {};
  const md = (s.sample as { metadata?: Record<string, unknown> }).metadata ?? {};
  for (const [k, v] of Object.entries(md)) if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) metadata[k] = String(v);
  const cluster = (s.sample as { cluster?: unknown }).cluster;
  if (cluster !== undefined && cluster !== null) metadata.cluster = String(cluster);
  const u = s.usage as { totalTokens?: number; inputTokens?: number; outputTokens?: number } | null;
  return {
    i,
    key: s.key,
    sampleId: s.sampleId,
    epoch: s.epoch,
    scores,
    errored: s.error !== null,
    unscored: s.error === null && Object.keys(scores).length === 0,
    outcome: s.error ? s.error.kind : (s.outcome ?? null),
    input: inputText(s).slice(0, MAX_TEXT),
    output: (s.output?.content ?? '').slice(0, MAX_TEXT),
    metadata,
    latencyMs: s.timing?.latencyMs ?? 0,
    tokens: u ? (u.totalTokens ?? (u.inputTokens ?? 0) + (u.outputTokens ?? 0)) : null,
  };
}

export interface LogScan {
  rows: SampleRow[];
  /** The first 200 events (retries, concurrency changes, interruptions…). */
  events: { kind: string; at: string; detail: unknown }[];
  /** The end record's status; null while the run is in flight or after a crash. */
  endStatus: string | null;
}

/** One pass over the log. The last record per key wins (a resumed or retried sample is written again). */
async function readLog(logPath: string): Promise<LogScan> {
  const byKey = new Map<string, SampleRow>();
  const events: LogScan['events'] = [];
  let endStatus: string | null = null;
  let i = 0;
  for await (const r of iterateRunLog(logPath)) {
    if (r.type === 'sample') byKey.set(r.key, toRow(r, i++));
    else if (r.type === 'event' && events.length < 200) events.push({ kind: r.kind, at: r.at, detail: r.detail });
    else if (r.type === 'end') endStatus = (r as { status?: string }).status ?? 'completed';
  }
  return { rows: [...byKey.values()].map((row, n) => ({ ...row, i: n })), events, endStatus };
}

/** Rows per log, re-read when the file changes (a run in flight grows). */
export class SampleCache {
  private readonly cache = new Map<string, { size: number; mtimeMs: number; scan: Promise<LogScan> }>();
  constructor(private readonly max = 4) {}

  async scan(logPath: string): Promise<LogScan> {
    const st = await stat(logPath);
    const hit = this.cache.get(logPath);
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.scan;
    const scan = readLog(logPath);
    this.cache.set(logPath, { size: st.size, mtimeMs: st.mtimeMs, scan });
    scan.catch(() => this.cache.delete(logPath));
    while (this.cache.size > this.max) this.cache.delete(this.cache.keys().next().value!);
    return scan;
  }

  async rows(logPath: string): Promise<SampleRow[]> {
    return (await this.scan(logPath)).rows;
  }
}

/** Pure filter: every given criterion must hold. Text search is case-insensitive over input and output. */
export function filterRows(rows: readonly SampleRow[], f: SampleFilter): SampleRow[] {
  const q = f.q?.trim().toLowerCase();
  return rows.filter((r) => {
    if (f.errored !== undefined && r.errored !== f.errored) return false;
    if (f.unscored !== undefined && r.unscored !== f.unscored) return false;
    if (f.score) {
      const v = r.scores[f.score];
      if (f.min !== undefined || f.max !== undefined) {
        if (v === undefined) return false;
        if (f.min !== undefined && v < f.min) return false;
        if (f.max !== undefined && v > f.max) return false;
      }
    }
    if (f.group && f.value !== undefined && r.metadata[f.group] !== f.value) return false;
    if (q && !r.input.toLowerCase().includes(q) && !r.output.toLowerCase().includes(q)) return false;
    return true;
  });
}

/** Per sample id, the mean of one score over its epochs (for per-item comparison). */
export function perSampleMean(rows: readonly SampleRow[], score: string): Map<string, number> {
  const acc = new Map<string, { s: number; n: number }>();
  for (const r of rows) {
    const v = r.scores[score];
    if (v === undefined) continue;
    const a = acc.get(r.sampleId) ?? { s: 0, n: 0 };
    a.s += v;
    a.n++;
    acc.set(r.sampleId, a);
  }
  return new Map([...acc].map(([k, a]) => [k, a.s / a.n]));
}

/** The full record of one sample key, read again from the log (the detail screen). */
export async function sampleRecord(logPath: string, key: string): Promise<SampleRecord | null> {
  let found: SampleRecord | null = null;
  for await (const r of iterateRunLog(logPath)) if (r.type === 'sample' && r.key === key) found = r;
  return found;
}
