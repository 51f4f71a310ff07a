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

/** "value [lo, hi] method": the headline estimate, its honest interval and the interval's name. */
export const headline = (value: number, h: { method: string; lo: number | null; hi: number | null }, d = 3) =>
  h.lo === null || h.hi === null ? `${f(value, d)} (no interval: ${h.method})` : `${f(value, d)} [${f(h.lo, d)}, ${f(h.hi, d)}] ${h.method}`;

const ivOrNone = (p: { lo: number | null; hi: number | null }) => (p.lo === null || p.hi === null ? 'none' : `[${f(p.lo)}, ${f(p.hi)}]`);

/** Excluded records by outcome, nonzero only: "errored 3, refused 1". */
const excludedText = (m: MetricStats) =>
  Object.entries(m.excluded ?? {})
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '0';

/**
 * Results table of a run: per metric the value with its honest interval (named), n, the interval
 * had every excluded record scored 0 or 1 (missing-data sensitivity), the excluded records by
 * outcome; per group its interval and the group-vs-rest test; then notes.
 */
export function formatRunStats(s: RunStats): string {
  const rows: string[][] = [];
  s.metrics.forEach((m, i) => {
    const ce = s.analysis?.[i]?.classifierError;
    // A refusal rate is never shown more precise than its classifier allows: the bound follows the sampling interval.
    const withCe = (text: string, b: { lo: number; hi: number } | undefined) => (ce && b ? `${text}; with classifier error [${f(b.lo)}, ${f(b.hi)}]` : text);
    const row = metricRow(m.name, m);
    row[1] = withCe(row[1]!, ce?.overall.bound);
    if (s.analysis?.[i]?.tooFewRead) row[1] += ' TOO FEW READ';
    rows.push(row);
    const tests = s.analysis?.[i]?.groupTests?.tests ?? [];
    for (const g of m.groups?.groups ?? []) {
      const t = tests.find((x) => x.group === g.group);
      rows.push([`  ${m.groups!.by}=${g.group}`, withCe(g.interval ? headline(g.mean, g.interval) : withCi(g.mean, g.ci), ce?.groups.find((x) => x.group === g.group)?.rate.bound), String(g.n), '', '', '', t ? `${t.method} p=${pv(t.p)} holm=${pv(t.pHolm)} report-holm=${pv(t.pReport)}` : '', '']);
    }
  });
  const notes: string[] = [];
  s.metrics.forEach((m, i) => {
    const a = s.analysis?.[i];
    if (m.interval?.basis.method === 'none') notes.push(`${m.name}: no honest interval — ${m.interval.basis.reason}.`);
    for (const w of m.interval?.warnings ?? []) notes.push(`${m.name}: ${w}.`);
    if (a?.tooFewRead) notes.push(`${m.name}: TOO FEW READ — only ${m.n} sample(s) scored (${excludedText(m)} excluded): the interval describes the answers that could be read, not the run; see excluded→0 / excluded→1.`);
    if (a?.classifierError) notes.push(`${m.name}: ${a.classifierError.note}.`);
    if (m.zeroEvent) notes.push(`${m.name}: no sample scored ${m.zeroEvent.absent}; one-sided ${pct(s.level)} upper bound on that rate is ${f(m.zeroEvent.upperBound, 4)} (exact; ≈3/n) [standard addition].`);
    if (a?.designEffect) {
      const d = a.designEffect;
      if (!Number.isFinite(d.deff)) notes.push(`${m.name}: ${d.clusters} cluster${d.clusters === 1 ? '' : 's'}: design effect and effective n undefined [Miller R2].`);
      else
        notes.push(
          `${m.name}: ${d.clusters} clusters, design effect ${f(d.deff, 2)}, effective n ${f(d.effectiveN, 0)} of ${m.n}` +
            (d.negativeIcc ? ` (deff < 1: the data show negative intra-cluster correlation${d.clusters < 10 ? ' or chance with few clusters' : ''}; effective n is not raised above n)` : '') +
            ' [Miller R2].',
        );
    }
    if (a?.epochs) {
      const e = a.epochs;
      const plan = e.plan.filter((p) => p.epochs > Math.round(e.epochs)).map((p) => `${p.epochs} epochs → SE ${f(p.se, 4)} (−${f(p.reduction * 100, 0)}%)`);
      notes.push(`${m.name}: epochs averaged within samples (K≈${f(e.epochs, 2)}); within-sample variance ${f(e.withinVariance, 4)}, between ${f(e.betweenVariance, 4)}; ${plan.join(', ')}; floor ${f(e.seFloor, 4)} [Miller R3].`);
    } else if (m.epochs.withinVariance !== null) notes.push(`${m.name}: epochs averaged within samples (max ${m.epochs.max}); mean within-sample variance ${f(m.epochs.withinVariance, 4)}.`);
    // The percentile bootstrap is not printed: at n ≈ 100 it covered 75–95% in bench/coverage.ts. It stays in the JSON as a cross-check.
  });
  return (
    textTable(['metric', `value [${pct(s.level)} CI] interval`, 'n', 'excluded→0', 'excluded→1', 'excluded', 'group test', 'mode'], rows) +
    (notes.length ? notes.map((n) => `note: ${n}`).join('\n') + '\n' : '') +
    'Intervals: clopper-pearson (binary, exact), korn-graubard (binary with epochs or clusters), skew-t, cr1-skew-t (unbounded scores: t, or clustered t with G−1 df, each side widened for skewness; student-t / cr1-t in reports before run-stats/v4); docs/statistics.md gives each one\'s assumptions and measured coverage.\n' +
    'Excluded records (errored, unscored, refused, …) are not counted wrong; excluded→0 / excluded→1 show the interval had every one scored 0 / 1.\n'
  );
}

function metricRow(name: string, m: MetricStats): string[] {
  return [
    name,
    m.interval ? headline(m.mean, m.interval) : withCi(m.mean, m.ci),
    String(m.n),
    m.sensitivity ? ivOrNone(m.sensitivity.excludedAs0) : '',
    m.sensitivity ? ivOrNone(m.sensitivity.excludedAs1) : '',
    excludedText(m),
    '',
    m.modes.join(','),
  ];
}

/** Paired comparison table: A − B per metric, with the small-n paired t, and McNemar / Newcombe for binary metrics. */
export function formatComparison(c: RunComparison): string {
  const rows = c.metrics.map((m) => [
    m.name,
    f(m.meanA),
    f(m.meanB),
    withCi(m.diff, m.ci),
    pv(m.p),
    `${iv(m.t.ci)} p=${pv(m.t.p)}${c.metrics.length > 1 ? ` holm=${pv(m.tHolm)}` : ''}`,
    m.binary ? `${iv(m.binary.newcombe)} p=${pv(m.binary.mcnemarExactP)}` : '',
    f(m.correlation, 2),
    `±${f((m.unpairedCi.hi - m.unpairedCi.lo) / 2)}`,
    m.clustered ? (m.clustered.problem ? `none (${m.clustered.clusters} cluster)` : `${iv(m.clustered.ci)} p=${pv(m.clustered.p)} (${m.clustered.clusters} clusters)`) : '',
    String(m.n),
    `${m.onlyA}/${m.onlyB}`,
  ]);
  const few = c.metrics.filter((m) => m.clustered && m.clustered.clusters < 10).map((m) => `note: ${m.name}: only ${m.clustered!.clusters} clusters; the cluster-robust interval uses t with ${m.clustered!.df} df and may still be optimistic below ~10 clusters.\n`);
  return (
    `A = ${c.a.model} (${c.a.runId})${c.a.simulated ? ' SIMULATED' : ''}\nB = ${c.b.model} (${c.b.runId})${c.b.simulated ? ' SIMULATED' : ''}\nsuite ${c.suite.id}@${c.suite.version}\n\n` +
    textTable(['metric', 'A', 'B', `A − B ± half-width [${pct(c.level)} CI, normal]`, 'p', `paired t (n−1 df)`, 'Newcombe / exact McNemar', 'ρ', 'unpaired', 'clustered (CR1, t G−1)', 'n paired', 'only A/B'], rows) +
    few.join('') +
    'Paired differences over the same samples (Miller R4); the paired t is the honest small-n test; binary metrics add the Newcombe (1998) interval and the exact McNemar test; "unpaired" is the half-width had the runs been independent.\n'
  );
}

/** Sample-size or MDE plan (Miller R5; unequal variances for binary rates). */
export function formatPlan(p: PowerPlan, what: 'n' | 'mde'): string {
  const design = p.paired ? `paired (ρ = ${p.correlation})` : 'unpaired';
  const rates = p.rates ? `; rates ${f(p.rates.a, 4)} vs ${f(p.rates.b, 4)}, each with its own variance (score-test formula)` : `; variance of a difference ${f(p.varianceTerm, 4)}`;
  const deff = p.deff > 1 ? `; design effect ${f(p.deff, 2)} applied${p.clusters !== null ? ` (${p.clusters} clusters)` : ''}` : '';
  const head = `α = ${p.alpha}, power = ${p.power}, ${design}${rates}${deff}; (z_α/2 + z_β)² = ${f((p.zAlpha + p.zBeta) ** 2, 4)}\n`;
  return what === 'n'
    ? head + `detect δ = ${p.mde}: n = ${p.n} ${p.paired ? 'paired samples' : 'samples per model'} (exact ${f(p.nExact, 1)}, rounded up)\n`
    : head + (Number.isFinite(p.mde) ? `with n = ${p.n}: smallest detectable δ = ${f(p.mde, 4)}\n` : `with n = ${p.n}: no difference in rate is detectable at this power\n`);
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
