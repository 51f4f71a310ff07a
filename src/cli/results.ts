import { statsForRun, type RunStats } from '../stats/from-log.js';
import { formatRunStats } from '../stats/format.js';

/** Statistics of a run for the end-of-run table and the index. */
export function summarise(logPath: string): Promise<RunStats> {
  return statsForRun(logPath);
}

export function resultsTable(res: { status: string; reason?: string; totalSamples: number; errored: number; outcomes?: { empty: number; filtered: number } }, s: RunStats): string {
  // Samples with no score (errored, empty, filtered) are excluded from the metrics and counted here.
  const o = res.outcomes;
  const extra = o ? `${o.empty ? `, ${o.empty} empty` : ''}${o.filtered ? `, ${o.filtered} filtered by the provider` : ''}` : '';
  const status = res.reason ? `${res.status} (${res.reason})` : res.status;
  const head = `\n${s.suite.id}@${s.suite.version} on ${s.model}${s.simulated ? ' (SIMULATED target — not a real model)' : ''}` + (res.status ? `\n${status}: ${res.totalSamples} samples, ${res.errored} errored${extra}` : '') + '\n\n';
  return head + formatRunStats(s);
}
