/**
 * The insecure-code analyser's published error rates: recomputed from the evaluation set
 * (suites/insecure-code/eval/items.jsonl) by `assay validate insecure-code`, written to
 * figures.json and to the marked block of suites/insecure-code/METHODOLOGY.md, and cited by the
 * scorer and by `assay analyse` reports. test/code-eval.test.ts fails when a figure drops.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASSAY_ROOT } from '../../version.js';
import { allFigures, figuresOf, figuresTable, parseEvalItems, runItems, TARGETS, type Figures } from './evaluate.js';

export const EVAL_DIR = join(ASSAY_ROOT, 'suites', 'insecure-code', 'eval');

export interface PublishedFigures {
  schema: 'assay.scorer-validation/v1';
  scorer: 'code_security';
  items: string;
  targets: typeof TARGETS;
  dev: Figures[];
  heldout: Figures[];
  /** The held-out snippets written after the rules were frozen (`b2-` ids), overall. */
  frozen: Figures;
  /**
   * The held-out batches excerpted verbatim from public third-party test files (`b4-`, `b5-` ids: Bandit,
   * eslint security plugins, Juliet), added after the rules were frozen and never tuned on: per family.
   */
  independent: Figures[];
}

export function computeFigures(itemsText: string, itemsName = 'items.jsonl'): PublishedFigures {
  const items = parseEvalItems(itemsText, itemsName);
  const of = (split: 'dev' | 'heldout') => allFigures(runItems(items.filter((i) => i.split === split)));
  const frozen = figuresOf(runItems(items.filter((i) => i.split === 'heldout' && i.id.startsWith('b2-'))), 'all', 'all');
  const ind = runItems(items.filter((i) => i.split === 'heldout' && /^b[45]-/.test(i.id)));
  const independent = [figuresOf(ind, 'all', 'all'), ...[...new Set(ind.map((r) => r.family))].sort().map((f) => figuresOf(ind, 'all', f))];
  return { schema: 'assay.scorer-validation/v1', scorer: 'code_security', items: itemsName, targets: TARGETS, dev: of('dev'), heldout: of('heldout'), frozen, independent };
}

/** Families on the held-out split that miss a target, with enough positives to say so. */
export function shortfalls(f: PublishedFigures): string[] {
  return f.heldout
    .filter((x) => x.group === 'all' && x.family !== 'all')
    .flatMap((x) => {
      const pos = x.tp + x.fn;
      if (pos < TARGETS.minPositives) return [`${x.family}: only ${pos} vulnerable held-out examples (< ${TARGETS.minPositives}), no target claimed`];
      const out: string[] = [];
      if (x.precision !== null && x.precision < TARGETS.precision) out.push(`${x.family}: precision ${x.precision} < ${TARGETS.precision}`);
      if (x.recall !== null && x.recall < TARGETS.recall) out.push(`${x.family}: recall ${x.recall} < ${TARGETS.recall}`);
      return out;
    });
}

export function methodologyBlock(f: PublishedFigures): string {
  const short = shortfalls(f);
  return [
    '<!-- figures:insecure-code:begin (written by `assay validate insecure-code --write`; do not edit by hand) -->',
    `### Held-out split (${f.heldout[0]?.n ?? 0} snippets)`,
    '',
    figuresTable(f.heldout),
    '',
    `Of these, the ${f.frozen.n} snippets written after the rules were frozen (\`b2-\` ids): precision ${f.frozen.precision?.toFixed(2) ?? '—'}${f.frozen.precisionCi ? ` [${f.frozen.precisionCi[0].toFixed(2)}, ${f.frozen.precisionCi[1].toFixed(2)}]` : ''}, recall ${f.frozen.recall?.toFixed(2) ?? '—'}${f.frozen.recallCi ? ` [${f.frozen.recallCi[0].toFixed(2)}, ${f.frozen.recallCi[1].toFixed(2)}]` : ''} — the least optimistic figure here.`,
    '',
    `Of these, the ${f.independent[0]?.n ?? 0} snippets excerpted verbatim from public third-party test files (\`b4-\`, \`b5-\` ids; Bandit, eslint security plugins, Juliet), added after the rules were frozen and never tuned on:`,
    '',
    figuresTable(f.independent),
    '',
    `### Development split (${f.dev[0]?.n ?? 0} snippets; the rules were tuned on these)`,
    '',
    figuresTable(f.dev.filter((x) => x.group === 'all')),
    '',
    short.length ? `Against the targets (precision ≥ ${TARGETS.precision}, recall ≥ ${TARGETS.recall} per family on held-out): ${short.join('; ')}.` : `Every family meets the targets (precision ≥ ${TARGETS.precision}, recall ≥ ${TARGETS.recall}) on the held-out split.`,
    '<!-- figures:insecure-code:end -->',
  ].join('\n');
}

let published: PublishedFigures | null | undefined;
/** The shipped figures (null when the file is absent, e.g. an install without suites). */
export function publishedFigures(): PublishedFigures | null {
  if (published === undefined) {
    try {
      published = JSON.parse(readFileSync(join(EVAL_DIR, 'figures.json'), 'utf8')) as PublishedFigures;
    } catch {
      published = null;
    }
  }
  return published;
}

/** One line citing the held-out error rates, for reports and score details. */
export function citation(): string | null {
  const f = publishedFigures();
  const all = f?.heldout.find((x) => x.group === 'all' && x.family === 'all');
  if (!f || !all || all.precision === null || all.recall === null) return null;
  const iv = (c: [number, number] | null) => (c ? ` [${c[0].toFixed(2)}, ${c[1].toFixed(2)}]` : '');
  return `analyser error rates on ${all.n} held-out labelled snippets: precision ${all.precision.toFixed(2)}${iv(all.precisionCi)}, recall ${all.recall.toFixed(2)}${iv(all.recallCi)} (95% Wilson; per family in suites/insecure-code/METHODOLOGY.md)`;
}
