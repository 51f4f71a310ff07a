/** Typed client of the `assay view` JSON API (src/view/server.ts). Same-origin, cookie-authenticated. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export async function get<T>(path: string): Promise<T> {
  const res = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
  if (!res.ok) throw new ApiError(res.status, body.code ?? 'HTTP', body.message ?? `HTTP ${res.status}`);
  return body as T;
}

export const enc = encodeURIComponent;

export interface Interval { lo: number; hi: number }
export interface RunRow { runId: string; suiteId: string; suiteVersion: string; suiteDigest: string; model: string; simulated: boolean; status: string; startedAt: string; updatedAt: string; samples: number; errored: number; rescoreOf: string | null; summary: unknown }
export interface GroupStat { group: string; n: number; mean: number; ci: Interval; interval: { method: string; lo: number | null; hi: number | null } }
export interface MetricStats {
  name: string; scorer: string; n: number; mean: number; se: number; ci: Interval; level: number;
  counts: { scored: number; unscored: number; errored: number };
  clustered: { clusters: number; se: number; ci: Interval } | null;
  epochs: { max: number; withinVariance: number | null; samplesWithRepeats: number };
  groups: { by: string; groups: GroupStat[] } | null;
  interval: { method: string; lo: number | null; hi: number | null; warnings: string[] };
  excluded: Record<string, number>;
}
export interface RunStats { runId: string; suite: { id: string; version: string; digest: string }; model: string; simulated: boolean; level: number; metrics: MetricStats[] }
export interface RunDetail {
  header: { runId: string; suite: { id: string; version: string; digest: string }; model: { name: string; simulated: boolean }; config: Record<string, unknown>; startedAt: string; assayVersion: string; rescoreOf: unknown };
  status: string; records: number; outcomes: Record<string, number>; groupFields: string[]; scoreNames: string[]; stats: RunStats;
  events: { kind: string; at: string; detail: unknown }[];
}
export interface SampleRow { i: number; key: string; sampleId: string; epoch: number; scores: Record<string, number>; errored: boolean; unscored: boolean; outcome: string | null; input: string; output: string; metadata: Record<string, string>; latencyMs: number; tokens: number | null }
export interface SamplePage { total: number; matched: number; offset: number; rows: SampleRow[] }
export interface Check { check: string; status: 'passed' | 'failed'; failures: { check: string; exit: number; where: string; message: string }[] }
export interface Verification { report: string; runId: string | null; ok: boolean; exitCode: number; checks: Check[]; warnings: string[]; signatures: { index: number; keyId: string | null; valid: boolean; role: string | null; trust: unknown }[]; tlog: unknown; runLog: { checked: string[] } | null }
export interface LogView { origin: string; vkey: string; size: number; root: string; note: string; signers: string[]; signatures: { name: string; keyId: string; kind: 'log' | 'cosignature'; time: string | null; verified: boolean | null }[]; entries: { index: number; entry: { type: string; digest: string; metadata: Record<string, unknown> } }[] }
