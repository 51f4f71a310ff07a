import { statsForRun, type RunStats } from '../stats/from-log.js';
import { formatRunStats } from '../stats/format.js';

/** Statistics of a run for the end-of-run table and the index. */
export function summarise(logPath: string): Promise<RunStats> {
  return statsForRun(logPath);
}

export function resultsTable(res: { status: string; totalSamples: number; errored: number }, s: RunStats): string {
  const head = `\n${s.suite.id}@${s.suite.version} on ${s.model}${s.simulated ? ' (SIMULATED target — not a real model)' : ''}` + (res.status ? ` — ${res.status}, ${res.totalSamples} samples, ${res.errored} errored` : '') + '\n\n';
  return head + formatRunStats(s);
}
