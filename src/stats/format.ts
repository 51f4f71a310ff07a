import type { Interval } from './estimate.js';
import type { MetricStats, RunComparison, RunPlan, RunStats } from './from-log.js';
import type { PowerPlan } from './power.js';

const f = (x: number | null | undefined, d = 3) => (x !== null && x !== undefined && Number.isFinite(x) ? x.toFixed(d) : '—');
const iv = (i: Interval, d = 3) => `[${f(i.lo, d)}, ${f(i.hi, d)}]`;
/** "value ± half-width [lo, hi]": the one way every estimate is shown. */
export const withCi = (value: number, ci: Interval, d = 3) => `${f(value, d)} ± ${f((ci.hi - ci.lo) / 2, d)} ${iv(ci, d)}`;
const pct = (level: number) => `${+(level * 100).toFixed(2)}%`;
const pv = (p: number) => (!Number.isFinite(p) ? '—' : p < 1e-4 ? p.toExponential(1) : p.toFixed(4));

export function textTable(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n') + '\n';
}

/** Results table of a run: per metric value ± CI and n, Wilson and clustered intervals where they apply, then notes. */
export function formatRunStats(s: RunStats): string {
  const rows: string[][] = [];
  s.metrics.forEach((m, i) => {
    rows.push(metricRow(m.name, m));
    const tests = s.analysis?.[i]?.groupTests?.tests ?? [];
    for (const g of m.groups?.groups ?? []) {
      const t = tests.find((x) => x.group === g.group);
      rows.push([`  ${m.groups!.by}=${g.group}`, withCi(g.mean, g.ci), String(g.n), g.wilson ? iv(g.wilson) : '', t ? `p=${pv(t.p)} holm=${pv(t.pHolm)}` : '', '', '', '']);
    }
  });
  const notes: string[] = [];
  s.metrics.forEach((m, i) => {
    const a = s.analysis?.[i];
    if (m.zeroEvent) notes.push(`${m.name}: no sample scored ${m.zeroEvent.absent}; one-sided ${pct(s.level)} upper bound on that rate is ${f(m.zeroEvent.upperBound, 4)} (exact; ≈3/n) [standard addition].`);
    if (a?.designEffect) notes.push(`${m.name}: ${a.designEffect.clusters} clusters, design effect ${f(a.designEffect.deff, 2)} (effective n ${f(a.designEffect.effectiveN, 0)}) [Miller R2].`);
    if (a?.epochs) {
      const e = a.epochs;
      const plan = e.plan.filter((p) => p.epochs > Math.round(e.epochs)).map((p) => `${p.epochs} epochs → SE ${f(p.se, 4)} (−${f(p.reduction * 100, 0)}%)`);
      notes.push(`${m.name}: epochs averaged within samples (K≈${f(e.epochs, 2)}); within-sample variance ${f(e.withinVariance, 4)}, between ${f(e.betweenVariance, 4)}; ${plan.join(', ')}; floor ${f(e.seFloor, 4)} [Miller R3].`);
    } else if (m.epochs.withinVariance !== null) notes.push(`${m.name}: epochs averaged within samples (max ${m.epochs.max}); mean within-sample variance ${f(m.epochs.withinVariance, 4)}.`);
    if (a?.bootstrap) notes.push(`${m.name}: ${a.bootstrap.method} bootstrap ${iv(a.bootstrap.ci)} (${a.bootstrap.resamples} resamples, seed ${a.bootstrap.seed}) [standard addition].`);
  });
  return (
    textTable(['metric', `value ± half-width [${pct(s.level)} CI]`, 'n', 'Wilson', 'clustered / group test', 'unscored', 'errored', 'mode'], rows) +
    (notes.length ? notes.map((n) => `note: ${n}`).join('\n') + '\n' : '') +
    'CLT, clustered SEs and epoch averaging follow Miller (2024); Wilson, zero-event bounds, bootstrap and Holm are standard additions. Unscored and errored records are excluded, not counted wrong.\n'
  );
}

function metricRow(name: string, m: MetricStats): string[] {
  return [
    name,
    withCi(m.mean, m.ci),
    String(m.n),
    m.wilson ? iv(m.wilson) : '',
    m.clustered ? `${withCi(m.mean, m.clustered.ci)} (${m.clustered.clusters} clusters)` : '',
    String(m.counts.unscored),
    String(m.counts.errored),
    m.modes.join(','),
  ];
}

/** Paired comparison table: A − B per metric. */
export function formatComparison(c: RunComparison): string {
  const rows = c.metrics.map((m) => [
    m.name,
    f(m.meanA),
    f(m.meanB),
    withCi(m.diff, m.ci),
    pv(m.p),
    f(m.correlation, 2),
    `±${f((m.unpairedCi.hi - m.unpairedCi.lo) / 2)}`,
    m.clustered ? withCi(m.diff, m.clustered.ci) : '',
    String(m.n),
    `${m.onlyA}/${m.onlyB}`,
  ]);
  return (
    `A = ${c.a.model} (${c.a.runId})${c.a.simulated ? ' SIMULATED' : ''}\nB = ${c.b.model} (${c.b.runId})${c.b.simulated ? ' SIMULATED' : ''}\nsuite ${c.suite.id}@${c.suite.version}\n\n` +
    textTable(['metric', 'A', 'B', `A − B ± half-width [${pct(c.level)} CI]`, 'p', 'ρ', 'unpaired', 'clustered', 'n paired', 'only A/B'], rows) +
    'Paired differences over the same samples (Miller R4); "unpaired" is the half-width had the runs been independent.\n'
  );
}

/** Sample-size or MDE plan (Miller R5). */
export function formatPlan(p: PowerPlan, what: 'n' | 'mde'): string {
  const design = p.paired ? `paired (ρ = ${p.correlation})` : 'unpaired';
  const head = `α = ${p.alpha}, power = ${p.power}, ${design}; variance of a difference ${f(p.varianceTerm, 4)}; (z_α/2 + z_β)² = ${f((p.zAlpha + p.zBeta) ** 2, 4)}\n`;
  return what === 'n'
    ? head + `detect δ = ${p.mde}: n = ${p.n} ${p.paired ? 'paired samples' : 'samples per model'} (exact ${f(p.nExact, 1)}, rounded up)\n`
    : head + `with n = ${p.n}: smallest detectable δ = ${f(p.mde, 4)}\n`;
}

/** Smallest detectable effects of an existing run. */
export function formatRunPlan(p: RunPlan): string {
  const rows = p.metrics.map((m) => [m.name, String(m.n), f(m.sigma2, 4), m.deff === null ? '' : f(m.deff, 2), f(m.unpairedMde, 4), f(m.pairedMde, 4)]);
  return (
    `run ${p.runId}, suite ${p.suite.id}@${p.suite.version}: α = ${p.alpha}, power = ${p.power}\n\n` +
    textTable(['metric', 'n', 'variance', 'deff', 'MDE unpaired', `MDE paired (ρ=${p.correlation})`], rows) +
    'Smallest true difference from another model (same variance) this run could detect (Miller R5).\n'
  );
}
