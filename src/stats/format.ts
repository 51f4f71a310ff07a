import type { Interval } from './estimate.js';
import type { MetricStats, RunStats } from './from-log.js';

const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const iv = (i: Interval) => `[${f(i.lo)}, ${f(i.hi)}]`;

export function textTable(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n') + '\n';
}

/** "value ± half-width [lo, hi]" with n, per metric; Wilson and clustered intervals where they apply. */
export function formatRunStats(s: RunStats): string {
  const pct = `${Math.round(s.level * 100)}% CI`;
  const rows: string[][] = [];
  for (const m of s.metrics) {
    rows.push(metricRow(m.name, m));
    for (const g of m.groups?.groups ?? []) rows.push([`  ${m.groups!.by}=${g.group}`, `${f(g.mean)} ± ${f((g.ci.hi - g.ci.lo) / 2)}`, iv(g.ci), g.wilson ? iv(g.wilson) : '', '', String(g.n), '', '', '']);
  }
  const notes: string[] = [];
  for (const m of s.metrics) {
    if (m.zeroEvent) notes.push(`${m.name}: no sample scored ${m.zeroEvent.absent}; ${Math.round(s.level * 100)}% upper bound on that rate is ${f(m.zeroEvent.upperBound, 4)} (≈3/n).`);
    if (m.epochs.withinVariance !== null) notes.push(`${m.name}: epochs averaged within samples (max ${m.epochs.max}); mean within-sample variance ${f(m.epochs.withinVariance, 4)}.`);
  }
  return (
    textTable(['metric', `value ± half-width`, pct, 'Wilson', 'clustered', 'n', 'unscored', 'errored', 'mode'], rows) +
    (notes.length ? notes.map((n) => `note: ${n}`).join('\n') + '\n' : '') +
    'Wilson intervals and zero-event bounds are standard additions; CLT and clustered SEs follow Miller (2024).\n'
  );
}

function metricRow(name: string, m: MetricStats): string[] {
  return [
    name,
    `${f(m.mean)} ± ${f((m.ci.hi - m.ci.lo) / 2)}`,
    iv(m.ci),
    m.wilson ? iv(m.wilson) : '',
    m.clustered ? `${iv(m.clustered.ci)} (${m.clustered.clusters} clusters)` : '',
    String(m.n),
    String(m.counts.unscored),
    String(m.counts.errored),
    m.modes.join(','),
  ];
}
