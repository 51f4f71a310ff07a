import { readRunHeader } from '../run/log-reader.js';
import { statsForRun, type MetricStats, type RunStats } from '../stats/from-log.js';
import type { RunReportPredicate } from '../attest/predicate.js';
import type { MetricFacts, RunEvidence } from './evaluate.js';
import type { IntervalBasis } from '../stats/honest.js';

/** The I/O edge of the policy module: run logs and signed reports → RunEvidence for evaluatePolicy. */

const finite = (x: number | null | undefined): number | null => (x === null || x === undefined || !Number.isFinite(x) ? null : x);

export function metricFacts(
  m: Pick<MetricStats, 'name' | 'n' | 'counts' | 'binary'> & { mean: number | null; se: number | null; clustered: { se: number | null; clusters: number } | null; interval?: { basis: unknown } },
): MetricFacts {
  return {
    // run-stats/v2 (and live statistics) carry the honest interval's basis; v1 reports get it derived.
    ...(m.interval ? { basis: m.interval.basis as IntervalBasis } : {}),
    clusters: m.clustered ? m.clustered.clusters : null,
    name: m.name,
    n: m.n,
    counts: { scored: m.counts.scored, unscored: m.counts.unscored, errored: m.counts.errored },
    mean: finite(m.mean),
    se: finite(m.se),
    binary: m.binary,
    clusteredSe: m.clustered ? finite(m.clustered.se) : null,
  };
}

export interface Provenance {
  signed: boolean;
  logged: boolean;
}

export function evidenceFromStats(stats: RunStats, access: RunEvidence['access'], prov: Provenance): RunEvidence {
  return {
    runId: stats.runId,
    suite: { id: stats.suite.id, version: stats.suite.version, digest: stats.suite.digest },
    model: stats.model,
    simulated: stats.simulated,
    access,
    signed: prov.signed,
    logged: prov.logged,
    metrics: stats.metrics.map(metricFacts),
  };
}

/** A run log as evidence (statistics recomputed from the log; access from its header). */
export async function evidenceFromRunLog(logPath: string, prov: Provenance = { signed: false, logged: false }): Promise<RunEvidence> {
  const header = await readRunHeader(logPath);
  const stats = await statsForRun(logPath, { resamples: 0 });
  return evidenceFromStats(stats, header.config.access, prov);
}

/** A signed run report's predicate as evidence: the signed numbers, nothing recomputed. */
export function evidenceFromPredicate(p: RunReportPredicate, prov: Provenance): RunEvidence {
  return {
    runId: p.run.id,
    suite: { id: p.suite.id, version: p.suite.version, digest: `sha256:${p.suite.digest.sha256}` },
    model: p.model.name,
    simulated: p.model.simulated,
    access: p.accessLevel,
    signed: prov.signed,
    logged: prov.logged,
    metrics: p.metrics.map(metricFacts),
  };
}
