/**
 * Insecure-code and prompt-injection runs: the headline rates with Wilson intervals, next to the
 * scorers' own published error rates (suites/…/METHODOLOGY.md), so nobody reads a vulnerable rate or
 * an injection success rate without the accuracy of the instrument that produced it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SampleRecord } from '../../run/types.js';
import { ASSAY_ROOT } from '../../version.js';
import { textTable } from '../../stats/format.js';
import { exclusionCounts, fmt, fmtCi, fmtExcluded, meta, ratesBy, type ExclusionCounts, type Rate } from './common.js';

export interface SecurityReport {
  kind: 'security';
  scorer: 'code_security' | 'injection_judge';
  /** Per scorer name: the rate of 1s (vulnerable / injection succeeded) overall and by a grouping field. */
  rates: { scorer: string; by: string; rows: Rate[] }[];
  /** Per scorer name: samples not in its rates, by outcome (errored, refused, unscored, …), never dropped silently. */
  excluded?: Record<string, ExclusionCounts>;
  /** The scorer's published error rates, one line; null when the figures are not installed. */
  errorRates: string | null;
  /** Injection runs: how answers were classed (complied, partial_leak, quoted_while_refusing, resisted). */
  answers?: Record<string, number>;
}

const scored = (r: SampleRecord, name: string) => {
  const s = r.error ? undefined : r.scores[name];
  return s && s.status === 'scored' ? s : null;
};

export function isCodeSecurityRun(recs: SampleRecord[]): boolean {
  return recs.some((r) => Object.values(r.scores).some((s) => s.status === 'scored' && s.mode === 'static'));
}
export function isInjectionRun(recs: SampleRecord[]): boolean {
  return recs.some((r) => Object.values(r.scores).some((s) => s.status === 'scored' && typeof s.mode === 'string' && s.mode.startsWith('deterministic:')));
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}
const iv = (c: [number, number] | null | undefined) => (c ? ` [${c[0].toFixed(2)}, ${c[1].toFixed(2)}]` : '');

function codeErrorRates(): string | null {
  type Row = { group: string; family: string; n: number; precision: number | null; recall: number | null; precisionCi: [number, number] | null; recallCi: [number, number] | null };
  const f = readJson(join(ASSAY_ROOT, 'suites', 'insecure-code', 'eval', 'figures.json')) as { heldout?: Row[]; independent?: Row[] } | null;
  const all = f?.heldout?.find((x) => x.group === 'all' && x.family === 'all');
  if (!f || !all || all.precision === null || all.recall === null) return null;
  const fams = f.heldout!.filter((x) => x.group === 'all' && x.family !== 'all').map((x) => `${x.family} P ${fmt(x.precision ?? NaN, 2)} R ${fmt(x.recall ?? NaN, 2)}`);
  const ind = f.independent?.[0];
  const indLine = ind && ind.precision !== null && ind.recall !== null ? ` Of these, ${ind.n} excerpted from third-party test files and never tuned on: precision ${ind.precision.toFixed(2)}${iv(ind.precisionCi)}, recall ${ind.recall.toFixed(2)}${iv(ind.recallCi)}.` : '';
  return `Analyser error rates on ${all.n} held-out labelled snippets: precision ${all.precision.toFixed(2)}${iv(all.precisionCi)}, recall ${all.recall.toFixed(2)}${iv(all.recallCi)} (95% Wilson); per family: ${fams.join('; ')}.${indLine} Source: suites/insecure-code/METHODOLOGY.md.`;
}

function injectionErrorRates(): string | null {
  const f = readJson(join(ASSAY_ROOT, 'suites', 'prompt-injection', 'validation', 'figures.json')) as { n: number; overall: { deterministic: number; deterministicCi: [number, number] }; routes: { route: string; deterministic: number }[]; handwritten?: { n: number; deterministic: number; deterministicCi: [number, number] } } | null;
  if (!f) return null;
  const weak = f.routes.filter((r) => r.deterministic < 0.95).map((r) => `${r.route} ${r.deterministic.toFixed(2)}`);
  const hw = f.handwritten ? ` On ${f.handwritten.n} hand-written held-out responses (not from templates, never tuned on): ${f.handwritten.deterministic.toFixed(2)}${iv(f.handwritten.deterministicCi)}.` : '';
  return `Deterministic judge agrees with the label on ${f.overall.deterministic.toFixed(2)}${iv(f.overall.deterministicCi)} of ${f.n} labelled crafted outputs (templates: an upper bound)${weak.length ? `; weakest routes: ${weak.join(', ')}` : ''}.${hw} Source: suites/prompt-injection/METHODOLOGY.md.`;
}

export function securityReport(recs: SampleRecord[], kind: 'code_security' | 'injection_judge', level = 0.95): SecurityReport {
  const names = [...new Set(recs.flatMap((r) => Object.entries(r.scores).filter(([, s]) => s.status === 'scored' && (kind === 'code_security' ? s.mode === 'static' : typeof s.mode === 'string' && s.mode.startsWith('deterministic:'))).map(([n]) => n)))].sort();
  // code_security: the suite's `vulnerable` scorer when present (its pass/functional siblings read the same findings)
  const chosen = kind === 'code_security' ? (names.includes('vulnerable') ? ['vulnerable'] : names.slice(0, 1)) : names.slice(0, 2);
  const by = kind === 'code_security' ? 'language' : 'injection_type';
  const rates = chosen.flatMap((name) => {
    const items = recs.flatMap((r) => {
      const s = scored(r, name);
      return s ? [{ group: String(meta(r, by) ?? 'all'), value: s.value }] : [];
    });
    return [
      { scorer: name, by: 'all', rows: ratesBy(items.map((i) => ({ group: 'all', value: i.value })), level) },
      { scorer: name, by, rows: ratesBy(items, level) },
    ];
  });
  const excluded: Record<string, ExclusionCounts> = Object.fromEntries(chosen.map((name) => [name, exclusionCounts(recs, name)]));
  const report: SecurityReport = { kind: 'security', scorer: kind, rates, excluded, errorRates: kind === 'code_security' ? codeErrorRates() : injectionErrorRates() };
  if (kind === 'injection_judge') {
    const answers: Record<string, number> = {};
    for (const r of recs) for (const n of names) {
      const s = scored(r, n);
      if (s?.answer) answers[s.answer] = (answers[s.answer] ?? 0) + 1;
    }
    report.answers = answers;
  }
  return report;
}

export function formatSecurity(r: SecurityReport): string {
  const title = r.scorer === 'code_security' ? 'Insecure code (static analysis; value 1 = finding)' : 'Prompt injection (value 1 = injection succeeded; partial leaks score the fraction disclosed)';
  const rows = r.rates.flatMap((x) => x.rows.map((g) => [x.scorer, x.by === 'all' ? 'all' : `${x.by}=${g.group}`, String(g.n), fmt(g.rate), fmtCi(g.wilson), x.by === 'all' && r.excluded?.[x.scorer] ? fmtExcluded(r.excluded[x.scorer]!) : '']));
  return [
    `${title}\n${textTable(['scorer', 'group', 'n', 'rate', 'CI', 'not scored'], rows)}`,
    r.answers ? `Answers: ${Object.entries(r.answers).sort().map(([k, v]) => `${k} ${v}`).join(', ')}` : '',
    `Scorer error rates: ${r.errorRates ?? 'not installed (run assay validate)'}`,
    '',
  ].filter((l) => l !== '').join('\n') + '\n';
}
