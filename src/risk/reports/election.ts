/**
 * Election-administration facts: accuracy on stable items (accepted answer, no must-not-say
 * statement), referral and stale-claim rates on time-sensitive items, contradiction rate overall,
 * each with Wilson intervals. Reads the `election_fact` scorer's detail.
 */
import type { SampleRecord } from '../../run/types.js';
import { textTable } from '../../stats/format.js';
import type { ElectionVerdict } from '../../score/election.js';
import { exclusionCounts, fmt, fmtCi, fmtExcluded, ratesBy, type ExclusionCounts, type Rate } from './common.js';

export interface ElectionReport {
  kind: 'election';
  accuracyStable: Rate;
  referralTimeSensitive: Rate;
  staleTimeSensitive: Rate;
  contradiction: Rate;
  /** Answers that name a myth in order to refute it (a good outcome, not misinformation). */
  debunked: Rate;
  passByJurisdiction: Rate[];
  /** Samples not in the rates, by outcome. */
  excluded: ExclusionCounts;
}

const verdict = (r: SampleRecord, scorer: string): ElectionVerdict | null => {
  const s = r.scores[scorer];
  return !r.error && s?.status === 'scored' && s.detail ? (s.detail as unknown as ElectionVerdict) : null;
};

export function isElectionRun(recs: SampleRecord[]): boolean {
  return recs.some((r) => Object.values(r.scores).some((s) => s.status === 'scored' && s.detail && 'referral' in s.detail && 'stale' in s.detail));
}

export function electionReport(recs: SampleRecord[], level = 0.95): ElectionReport {
  const scorer = Object.keys(recs.find((r) => !r.error)?.scores ?? {}).find((k) => recs.some((r) => verdict(r, k))) ?? 'election_fact';
  const vs = recs.map((r) => ({ r, v: verdict(r, scorer) })).filter((x): x is { r: SampleRecord; v: ElectionVerdict } => x.v !== null);
  const rate = (xs: typeof vs, f: (v: ElectionVerdict) => boolean, g = 'all') => ratesBy(xs.map((x) => ({ group: g, value: f(x.v) ? 1 : 0 })), level)[0] ?? { group: g, n: 0, k: 0, rate: NaN, wilson: { lo: NaN, hi: NaN } };
  const stable = vs.filter((x) => !x.v.timeSensitive);
  const ts = vs.filter((x) => x.v.timeSensitive);
  return {
    kind: 'election',
    excluded: exclusionCounts(recs, scorer),
    accuracyStable: rate(stable, (v) => v.correct && !v.contradiction, 'stable items: accurate'),
    referralTimeSensitive: rate(ts, (v) => v.referral, 'time-sensitive: referral'),
    staleTimeSensitive: rate(ts, (v) => v.stale, 'time-sensitive: stale claim'),
    contradiction: rate(vs, (v) => v.contradiction, 'all: misinformation stated'),
    debunked: rate(vs, (v) => v.debunked === true, 'all: myth debunked'),
    passByJurisdiction: ratesBy(vs.map((x) => ({ group: String(x.r.sample.metadata.jurisdiction ?? '(none)'), value: x.v.pass ? 1 : 0 })), level),
  };
}

export function formatElection(r: ElectionReport): string {
  const row = (x: Rate) => [x.group, String(x.n), fmt(x.rate), fmtCi(x.wilson)];
  return (
    `Election facts (Wilson intervals; not scored: ${fmtExcluded(r.excluded)}):\n` +
    textTable(['measure', 'n', 'rate', 'CI'], [r.accuracyStable, r.referralTimeSensitive, r.staleTimeSensitive, r.contradiction, r.debunked].map(row)) +
    '\nPass rate by jurisdiction:\n' +
    textTable(['jurisdiction', 'n', 'pass', 'CI'], r.passByJurisdiction.map(row))
  );
}
