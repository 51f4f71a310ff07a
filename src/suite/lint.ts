/**
 * Artefact checks for multiple-choice suites (`assay suite lint`): can a strategy that never reads
 * the question beat chance? Strategies: pick the longest option, the shortest, rule out the
 * longest (or shortest) and guess among the rest, always the same
 * position (A, B, …; only where options are not shuffled at run time), and the option sharing the
 * most words with the other options ("most-repeated words": distractors are often edits of the
 * answer). Each is tested against chance with an exact one-sided binomial test.
 *
 * A strategy fails a SHIPPED suite when its accuracy is more than `margin` (5 points) above chance
 * with p < `alpha` (0.01); for imported suites (a `provenance` block naming outside data) the same
 * finding is a warning, since Assay cannot fix published data — the report must say it. Also:
 * answer-position balance (stored order) and duplicate prompts (same question and options after
 * normalising case and whitespace), which fail shipped suites and warn for imported ones.
 *
 * Ties (two options equally long) give the strategy fractional credit 1/t; the binomial test uses
 * the rounded credit. Chance is the mean of 1/k over items (k options shown).
 */
import { incompleteBeta } from '../stats/dist.js';
import { targetIndex } from './choices.js';
import { renderTemplate } from './template.js';
import type { LoadedSuite, Sample } from './types.js';

export interface StrategyResult {
  strategy: string;
  n: number;
  correct: number;
  accuracy: number;
  chance: number;
  /** Exact one-sided binomial P(X ≥ correct) at the chance rate. */
  p: number;
  verdict: 'ok' | 'warn' | 'fail';
}

export interface LintFinding {
  check: string;
  verdict: 'ok' | 'warn' | 'fail';
  message: string;
}

export interface LintReport {
  suite: string;
  shipped: boolean;
  items: number;
  strategies: StrategyResult[];
  positions: Record<string, number>;
  duplicates: string[][];
  findings: LintFinding[];
  verdict: 'ok' | 'warn' | 'fail';
}

/** P(X ≥ k) for X ~ Binomial(n, p): the regularised incomplete beta I_p(k, n − k + 1). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  return incompleteBeta(p, k, n - k + 1);
}

const words = (s: string) => s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

/** Credit of a strategy choosing the options with the best score: 1/t if the answer is among t tied best, else 0. */
function credit(scores: number[], answer: number, best: 'max' | 'min'): number {
  const target = best === 'max' ? Math.max(...scores) : Math.min(...scores);
  const tied = scores.map((s, i) => (s === target ? i : -1)).filter((i) => i >= 0);
  return tied.includes(answer) ? 1 / tied.length : 0;
}

/** Credit of ruling out the options with the extreme score and guessing among the rest. */
function avoid(scores: number[], answer: number, extreme: 'max' | 'min'): number {
  const target = extreme === 'max' ? Math.max(...scores) : Math.min(...scores);
  const rest = scores.map((s, i) => (s === target ? -1 : i)).filter((i) => i >= 0);
  if (!rest.length) return 1 / scores.length;
  return rest.includes(answer) ? 1 / rest.length : 0;
}

export interface LintItem {
  id: string;
  prompt: string;
  choices: string[];
  answer: number;
}

export function lintItems(items: readonly LintItem[], opts: { suite: string; shipped: boolean; shuffled: boolean; margin?: number; alpha?: number }): LintReport {
  const margin = opts.margin ?? 0.05;
  const alpha = opts.alpha ?? 0.01;
  const n = items.length;
  const chance = n ? items.reduce((s, it) => s + 1 / it.choices.length, 0) / n : NaN;
  const strategies: { name: string; credit: (it: LintItem) => number }[] = [
    { name: 'longest option', credit: (it) => credit(it.choices.map((c) => c.trim().length), it.answer, 'max') },
    { name: 'shortest option', credit: (it) => credit(it.choices.map((c) => c.trim().length), it.answer, 'min') },
    // The mirror images: guessing among the rest after ruling out the longest (or shortest) option.
    { name: 'avoid the longest', credit: (it) => avoid(it.choices.map((c) => c.trim().length), it.answer, 'max') },
    { name: 'avoid the shortest', credit: (it) => avoid(it.choices.map((c) => c.trim().length), it.answer, 'min') },
    {
      name: 'most-repeated words',
      credit: (it) => {
        const sets = it.choices.map((c) => new Set(words(c)));
        return credit(sets.map((s, i) => [...s].reduce((a, w) => a + sets.filter((o, j) => j !== i && o.has(w)).length, 0)), it.answer, 'max');
      },
    },
  ];
  const maxK = Math.max(0, ...items.map((it) => it.choices.length));
  // Fixed positions only matter when the options are shown in stored order.
  if (!opts.shuffled) for (let k = 0; k < maxK; k++) strategies.push({ name: `always ${String.fromCharCode(65 + k)}`, credit: (it) => (it.answer === k ? 1 : 0) });
  const results: StrategyResult[] = strategies.map((s) => {
    const c = items.reduce((a, it) => a + s.credit(it), 0);
    const correct = Math.round(c);
    const p = binomialUpperTail(correct, n, chance);
    const above = c / n > chance + margin && p < alpha;
    return { strategy: s.name, n, correct, accuracy: c / n, chance, p, verdict: above ? (opts.shipped ? 'fail' : 'warn') : 'ok' };
  });
  const positions: Record<string, number> = {};
  for (const it of items) positions[String.fromCharCode(65 + it.answer)] = (positions[String.fromCharCode(65 + it.answer)] ?? 0) + 1;
  const byKey = new Map<string, string[]>();
  for (const it of items) {
    const key = `${it.prompt.toLowerCase().replace(/\s+/g, ' ').trim()}\u0000${[...it.choices].map((c) => c.toLowerCase().trim()).sort().join('\u0000')}`;
    byKey.set(key, [...(byKey.get(key) ?? []), it.id]);
  }
  const duplicates = [...byKey.values()].filter((ids) => ids.length > 1);
  const findings: LintFinding[] = results.map((r) => ({
    check: `strategy: ${r.strategy}`,
    verdict: r.verdict,
    message: `${r.correct}/${r.n} = ${(100 * r.accuracy).toFixed(1)} % vs chance ${(100 * r.chance).toFixed(1)} % (one-sided exact binomial p = ${r.p < 1e-4 ? r.p.toExponential(1) : r.p.toFixed(4)})`,
  }));
  const posNote = opts.shuffled ? 'options are shuffled per sample at run time: stored positions do not reach the model' : 'options shown in stored order';
  findings.push({ check: 'answer positions', verdict: 'ok', message: `${Object.entries(positions).sort().map(([k, v]) => `${k} ${v}`).join(', ')} (${posNote})` });
  findings.push({
    check: 'duplicate prompts',
    verdict: duplicates.length ? (opts.shipped ? 'fail' : 'warn') : 'ok',
    message: duplicates.length ? `${duplicates.length} group(s) of identical prompts (counted more than once in every metric): ${duplicates.slice(0, 5).map((d) => d.join(' = ')).join('; ')}${duplicates.length > 5 ? '; …' : ''}` : 'none',
  });
  const verdict = findings.some((f) => f.verdict === 'fail') ? 'fail' : findings.some((f) => f.verdict === 'warn') ? 'warn' : 'ok';
  return { suite: opts.suite, shipped: opts.shipped, items: n, strategies: results, positions, duplicates, findings, verdict };
}

/** Whether a suite is Assay's own (shipped data) rather than imported from a published set. */
export function isShipped(suite: LoadedSuite): boolean {
  const p = suite.def.provenance;
  return !p || /assay/i.test(p.source) || /original|written for assay|generated by/i.test(p.source);
}

/** Lint a loaded multiple-choice suite (null when the suite is not multiple choice). */
export async function lintSuite(suite: LoadedSuite, opts: { shipped?: boolean; margin?: number; alpha?: number } = {}): Promise<LintReport | null> {
  if (suite.def.solver.type !== 'multiple_choice') return null;
  const items: LintItem[] = [];
  for await (const s of suite.samples() as AsyncIterable<Sample>) {
    const answer = targetIndex(s);
    if (!s.choices?.length || answer === null) continue;
    // The prompt as the model sees it, without the options (they are compared separately): BBQ items share questions across contexts.
    const prompt = typeof s.input === 'string' ? renderTemplate(suite.def.template ?? '{{input}}', s, []) : JSON.stringify(s.input);
    items.push({ id: s.id, prompt, choices: s.choices, answer });
  }
  return lintItems(items, { suite: `${suite.def.id}@${suite.def.version}`, shipped: opts.shipped ?? isShipped(suite), shuffled: suite.def.solver.shuffle, ...(opts.margin !== undefined ? { margin: opts.margin } : {}), ...(opts.alpha !== undefined ? { alpha: opts.alpha } : {}) });
}

export function formatLint(r: LintReport): string {
  const mark = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;
  return [`${mark[r.verdict]} ${r.suite} (${r.shipped ? 'shipped' : 'imported'}; ${r.items} items)`, ...r.findings.map((f) => `  ${mark[f.verdict]} ${f.check}: ${f.message}`)].join('\n');
}
