import { statsForRun, type RunStats } from '../stats/from-log.js';
import { formatRunStats, headline, withCi } from '../stats/format.js';
import type { Interval } from '../stats/estimate.js';

/** Statistics of a run for the end-of-run table and the index. */
export function summarise(logPath: string): Promise<RunStats> {
  return statsForRun(logPath);
}

/** Columns available: the terminal's when stdout is one, else 80. */
/** The terminal's width; when piped, $COLUMNS if set (the usual convention), else 80. */
export const outputWidth = (stream: NodeJS.WriteStream = process.stdout): number =>
  stream.isTTY && stream.columns ? stream.columns : Number(process.env.COLUMNS) > 0 ? Number(process.env.COLUMNS) : 80;

/** Colour only on a terminal, and never with NO_COLOR set (https://no-color.org). */
export const colour = (stream: NodeJS.WriteStream = process.stdout) => {
  const on = !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  const wrap = (code: number) => (t: string) => (on ? `\u001b[${code}m${t}\u001b[0m` : t);
  return { bold: wrap(1), red: wrap(31), green: wrap(32), yellow: wrap(33), dim: wrap(2) };
};

export function resultsTable(
  res: { status: string; reason?: string; totalSamples: number; errored: number; outcomes?: { empty: number; filtered: number } },
  s: RunStats,
  width = outputWidth(),
  c = colour(),
): string {
  // Samples with no score (errored, empty, filtered) are excluded from the metrics and counted here.
  const o = res.outcomes;
  const extra = o ? `${o.empty ? `, ${o.empty} empty` : ''}${o.filtered ? `, ${o.filtered} filtered by the provider` : ''}` : '';
  const status = res.reason ? `${res.status} (${res.reason})` : res.status;
  const paint = res.status === 'completed' ? (res.errored ? c.yellow : c.green) : c.red;
  const title = `${s.suite.id}@${s.suite.version} on ${s.model}`;
  const sim = '(SIMULATED target — not a real model)';
  const head =
    `\n${c.bold(title)}${s.simulated ? `${title.length + 1 + sim.length > width ? '\n' : ' '}${c.yellow(sim)}` : ''}` +
    (res.status ? `\n${paint(status)}: ${res.totalSamples} samples, ${res.errored} errored${extra}` : '') +
    '\n\n';
  const full = formatRunStats(s);
  if (full.split('\n').every((l) => l.length <= width)) return head + full;
  return head + narrowStats(s, full, width);
}

const iv = (i: Interval) => `[${i.lo.toFixed(3)}, ${i.hi.toFixed(3)}]`;

/** Wraps text at `width` on spaces, indenting continuation lines. */
function wrap(text: string, width: number, indent = '  '): string[] {
  const out: string[] = [];
  const lead = /^ */.exec(text)![0];
  let line = lead;
  for (const word of text.slice(lead.length).split(' ')) {
    if (line.trim() && (line + ' ' + word).length > width) {
      out.push(line);
      line = indent + word;
    } else line = line.trim() ? `${line} ${word}` : line + word;
  }
  if (line.trim()) out.push(line);
  return out;
}

/**
 * The results for a narrow terminal: one block per metric instead of a wide table, with the same
 * figures (the headline value with its honest interval and that interval's name, n, what the
 * excluded samples could do to it, exclusions, mode), then the notes wrapped.
 */
function narrowStats(s: RunStats, full: string, width: number): string {
  const lines: string[] = [];
  for (const m of s.metrics) {
    lines.push(...wrap(`${m.name}  ${m.interval ? headline(m.mean, m.interval) : withCi(m.mean, m.ci)}  n=${m.n}`, width));
    const sens = m.sensitivity;
    const parts = [
      sens && (m.counts.unscored > 0 || m.counts.errored > 0) ? `excluded→0 ${sens.excludedAs0.lo === null ? 'none' : iv(sens.excludedAs0 as Interval)}, excluded→1 ${sens.excludedAs1.lo === null ? 'none' : iv(sens.excludedAs1 as Interval)}` : '',
      `unscored ${m.counts.unscored}, errored ${m.counts.errored}`,
      m.modes.length ? `mode ${m.modes.join(',')}` : '',
    ].filter(Boolean);
    lines.push(...wrap(`  ${parts.join('; ')}`, width, '    '));
    for (const g of m.groups?.groups ?? []) lines.push(...wrap(`  ${m.groups!.by}=${g.group}  ${g.interval ? headline(g.mean, g.interval) : withCi(g.mean, g.ci)}  n=${g.n}`, width, '    '));
  }
  // The notes and the closing line, as formatRunStats writes them after its table.
  const tail = full.split('\n').filter((l) => l.startsWith('note: ') || l.startsWith('Intervals:'));
  for (const t of tail) lines.push(...wrap(t, width));
  return lines.join('\n') + '\n';
}
