import { binaryAuditSampleSize, equivalenceSampleSize, tostPairedBinary, tostPairedT, type TostResult } from '../stats/equivalence.js';
import { clopperPearson } from '../stats/honest.js';

/**
 * Item-by-item comparison of a claim with its replication (docs/formats/audit.md §4). Pure: it
 * takes per-sample values (epochs averaged) of each metric on both sides.
 */

export type AuditConclusion = 'consistent' | 'inconsistent' | 'inconclusive';

export interface SideMetric {
  name: string;
  scorer: string;
  binary: boolean;
  values: ReadonlyMap<string, number>;
}

export interface MetricAudit {
  name: string;
  scorer: string;
  binary: boolean;
  /** Items with a value on both sides. */
  n: number;
  claimMean: number | null;
  replicationMean: number | null;
  /** Binary metrics: the paired 2×2 table. */
  table: { both: number; onlyClaim: number; onlyReplication: number; neither: number } | null;
  /** TOST at α: the (1 − 2α) interval of replication − claim against ±margin. */
  tost: TostResult;
  /** The "differs beyond the margin" test, at α / m over the m metrics compared (Bonferroni). */
  beyondMargin: TostResult;
  decision: 'equivalent' | 'different' | 'inconclusive' | 'no-data';
  /** For an inconclusive metric: items needed to show equivalence at the observed discordance, if the true difference is 0. */
  nNeeded: number | null;
}

export interface DifferingItem {
  id: string;
  metrics: { name: string; claim: number | null; replication: number | null }[];
}

export interface AuditComparison {
  items: { planned: number; paired: number; notReplicated: string[]; notInClaim: string[] };
  agreement: { agree: number; n: number; rate: number | null; interval: { lo: number | null; hi: number | null; method: 'clopper-pearson'; level: number } };
  metrics: MetricAudit[];
  differing: DifferingItem[];
  conclusion: AuditConclusion;
  /** Items needed for a conclusion when inconclusive (largest over inconclusive metrics), else null. */
  nNeeded: number | null;
  reasons: string[];
}

const nz = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function compareClaim(o: {
  items: readonly string[];
  claim: readonly SideMetric[];
  replication: readonly SideMetric[];
  margin: number;
  alpha: number;
  power: number;
  level?: number;
}): AuditComparison {
  const level = o.level ?? 0.95;
  const byName = new Map(o.replication.map((m) => [m.name, m]));
  const withData = o.claim.filter((m) => o.items.some((id) => m.values.has(id) && byName.get(m.name)?.values.has(id)));
  const m = Math.max(1, withData.length);
  const metrics: MetricAudit[] = o.claim.map((c) => {
    const r = byName.get(c.name);
    const ids = o.items.filter((id) => c.values.has(id) && r?.values.has(id));
    const binary = c.binary && (r?.binary ?? false);
    const empty: TostResult = { n: 0, difference: NaN, interval: { lo: NaN, hi: NaN }, method: binary ? 'newcombe-paired' : 'paired-t', margin: o.margin, alpha: o.alpha, decision: 'inconclusive' };
    if (!r || !ids.length) return { name: c.name, scorer: c.scorer, binary, n: 0, claimMean: null, replicationMean: null, table: null, tost: empty, beyondMargin: empty, decision: 'no-data', nNeeded: null };
    const cm = ids.reduce((s, id) => s + c.values.get(id)!, 0) / ids.length;
    const rm = ids.reduce((s, id) => s + r.values.get(id)!, 0) / ids.length;
    let tost: TostResult;
    let beyond: TostResult;
    let table: MetricAudit['table'] = null;
    let nNeeded: number | null = null;
    if (binary) {
      const t = { both: 0, onlyClaim: 0, onlyReplication: 0, neither: 0 };
      for (const id of ids) {
        const a = c.values.get(id)!;
        const b = r.values.get(id)!;
        if (a === 1 && b === 1) t.both++;
        else if (a === 1) t.onlyClaim++;
        else if (b === 1) t.onlyReplication++;
        else t.neither++;
      }
      table = t;
      tost = tostPairedBinary(t, o.margin, o.alpha);
      beyond = tostPairedBinary(t, o.margin, o.alpha / m);
      if (tost.decision !== 'equivalent') {
        const q = (t.onlyClaim + t.onlyReplication) / ids.length;
        const plan = binaryAuditSampleSize({ p: cm, discordance: q, margin: o.margin, alpha: o.alpha, power: o.power });
        nNeeded = Number.isFinite(plan.n) ? plan.n : null;
      }
    } else {
      const diffs = ids.map((id) => r.values.get(id)! - c.values.get(id)!);
      tost = tostPairedT(diffs, o.margin, o.alpha);
      beyond = tostPairedT(diffs, o.margin, o.alpha / m);
      if (tost.decision !== 'equivalent') {
        const mean = diffs.reduce((s, d) => s + d, 0) / diffs.length;
        const v = diffs.length > 1 ? diffs.reduce((s, d) => s + (d - mean) ** 2, 0) / (diffs.length - 1) : NaN;
        nNeeded = Number.isFinite(v) ? equivalenceSampleSize({ margin: o.margin, sigma2: v, alpha: o.alpha, power: o.power }).n : null;
      }
    }
    const decision = beyond.decision === 'different' ? 'different' : tost.decision === 'equivalent' ? 'equivalent' : 'inconclusive';
    return { name: c.name, scorer: c.scorer, binary, n: ids.length, claimMean: cm, replicationMean: rm, table, tost, beyondMargin: beyond, decision, nNeeded: decision === 'inconclusive' ? nNeeded : null };
  });

  // Items: paired when some metric has a value on both sides.
  const anyClaim = (id: string) => o.claim.some((c) => c.values.has(id));
  const anyRepl = (id: string) => o.replication.some((c) => c.values.has(id));
  const notInClaim = o.items.filter((id) => !anyClaim(id));
  const notReplicated = o.items.filter((id) => anyClaim(id) && !anyRepl(id));
  const paired = o.items.filter((id) => anyClaim(id) && anyRepl(id));
  const differing: DifferingItem[] = [];
  let agree = 0;
  for (const id of paired) {
    const diffs = o.claim.flatMap((c) => {
      const a = c.values.get(id);
      const b = byName.get(c.name)?.values.get(id);
      return a === b ? [] : [{ name: c.name, claim: a ?? null, replication: b ?? null }];
    });
    if (diffs.length) differing.push({ id, metrics: diffs });
    else agree++;
  }
  const cp = paired.length ? clopperPearson(agree, paired.length, level) : { lo: NaN, hi: NaN };

  const reasons: string[] = [];
  const used = metrics.filter((x) => x.decision !== 'no-data');
  let conclusion: AuditConclusion;
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);
  if (!used.length) {
    conclusion = 'inconclusive';
    reasons.push('no metric has values on both sides for any planned item');
  } else if (used.some((x) => x.decision === 'different')) {
    conclusion = 'inconsistent';
    for (const x of used.filter((y) => y.decision === 'different'))
      reasons.push(`${x.name}: claim ${pct(x.claimMean)}, replication ${pct(x.replicationMean)} on the same ${x.n} items; the difference ${x.beyondMargin.difference.toFixed(4)} (interval ${x.beyondMargin.interval.lo.toFixed(4)} to ${x.beyondMargin.interval.hi.toFixed(4)} at ${(1 - 2 * x.beyondMargin.alpha) * 100}%) lies beyond the margin ±${o.margin}`);
  } else if (used.every((x) => x.decision === 'equivalent')) {
    conclusion = 'consistent';
    reasons.push(`every metric is within ±${o.margin} of the claim (TOST at α = ${o.alpha})`);
  } else {
    conclusion = 'inconclusive';
    for (const x of used.filter((y) => y.decision === 'inconclusive'))
      reasons.push(`${x.name}: interval ${x.tost.interval.lo.toFixed(4)} to ${x.tost.interval.hi.toFixed(4)} on ${x.n} items neither inside nor beyond ±${o.margin}${x.nNeeded !== null ? `; about ${x.nNeeded} items are needed at the discordance observed` : ''}`);
  }
  if (notReplicated.length) reasons.push(`${notReplicated.length} planned item(s) have no replicated value (errored or unscored) and are left out of the pairing`);
  const needs = used.map((x) => x.nNeeded).filter((x): x is number => x !== null);
  return {
    items: { planned: o.items.length, paired: paired.length, notReplicated, notInClaim },
    agreement: { agree, n: paired.length, rate: paired.length ? agree / paired.length : null, interval: { lo: nz(cp.lo), hi: nz(cp.hi), method: 'clopper-pearson', level } },
    metrics,
    differing,
    conclusion,
    nNeeded: conclusion === 'inconclusive' && needs.length ? Math.max(...needs) : null,
    reasons,
  };
}
