/**
 * Suite-specific analyses of a run log (`assay analyse <run>`), for the aggregates the generic
 * statistics do not compute: discrimination scores against a baseline group, BBQ bias scores,
 * refusal by label, election fact rates, paired even-handedness. Chosen from what the records
 * carry (scorer names and metadata), so imported and shipped suites get the same analysis.
 */
import type { RunHeader } from '../../run/types.js';
import { bbqReport, formatBbq, isBbqRun, type BbqReport } from './bbq.js';
import { loadRun } from './common.js';
import { discriminationReport, formatDiscrimination, isDiscriminationRun, type DiscriminationReport } from './discrimination.js';
import { electionReport, formatElection, isElectionRun, type ElectionReport } from './election.js';
import { evenHandednessReport, formatEvenHandedness, isEvenHandednessRun, type EvenHandednessReport } from './even-handedness.js';
import { formatRefusal, isRefusalRun, refusalReport, type RefusalReport } from './refusal.js';
import { formatSecurity, isCodeSecurityRun, isInjectionRun, securityReport, type SecurityReport } from './security.js';

export type RiskReport = DiscriminationReport | BbqReport | RefusalReport | ElectionReport | EvenHandednessReport | SecurityReport;

export interface Analysis {
  runId: string;
  suite: { id: string; version: string; digest: string };
  model: string;
  simulated: boolean;
  provenance: RunHeader['suite']['definition']['provenance'] | null;
  reports: RiskReport[];
}

export async function analyseRun(logPath: string, opts: { level?: number; seed?: number; resamples?: number } = {}): Promise<Analysis> {
  const { header, recs } = await loadRun(logPath);
  const level = opts.level ?? 0.95;
  const reports: RiskReport[] = [];
  if (isDiscriminationRun(recs)) reports.push(discriminationReport(recs, level));
  if (isBbqRun(recs)) reports.push(bbqReport(recs, { level, ...(opts.seed !== undefined ? { seed: opts.seed } : {}), ...(opts.resamples !== undefined ? { resamples: opts.resamples } : {}) }));
  if (isElectionRun(recs)) reports.push(electionReport(recs, level));
  if (isEvenHandednessRun(recs)) reports.push(evenHandednessReport(recs, { level }));
  else if (isRefusalRun(recs)) reports.push(refusalReport(recs, level));
  if (isCodeSecurityRun(recs)) reports.push(securityReport(recs, 'code_security', level));
  if (isInjectionRun(recs)) reports.push(securityReport(recs, 'injection_judge', level));
  return {
    runId: header.runId,
    suite: { id: header.suite.id, version: header.suite.version, digest: header.suite.digest },
    model: header.model.name,
    simulated: header.model.simulated,
    provenance: header.suite.definition.provenance ?? null,
    reports,
  };
}

export function formatAnalysis(a: Analysis): string {
  const p = a.provenance;
  const lines = [
    `run ${a.runId}  suite ${a.suite.id}@${a.suite.version}  model ${a.model}${a.simulated ? ' — SIMULATED target: these numbers describe a test double, not a model' : ''}`,
    p ? `data: ${p.source}; licence ${p.licence ?? 'not stated'}${p.redistributable === false ? '; NOT redistributable' : ''}` : 'data: no provenance recorded in the suite',
    '',
  ];
  const body = a.reports.map((r) =>
    r.kind === 'discrimination' ? formatDiscrimination(r) : r.kind === 'bbq' ? formatBbq(r) : r.kind === 'refusal' ? formatRefusal(r) : r.kind === 'election' ? formatElection(r) : r.kind === 'security' ? formatSecurity(r) : formatEvenHandedness(r),
  );
  return lines.join('\n') + (body.length ? body.join('\n') : 'No suite-specific analysis applies to this run (see assay stats).\n');
}
