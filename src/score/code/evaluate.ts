/**
 * Validation of the insecure-code analyser against a labelled evaluation set
 * (suites/insecure-code/eval/items.jsonl): per language group and weakness family, how often a
 * finding of that family marks a vulnerable snippet (recall) and how often a finding of that
 * family is right (precision), with Wilson intervals. Pure: items in, figures out.
 */
import { wilson } from '../../stats/estimate.js';
import { analyseCode } from './analyse.js';
import { CODE_LANGUAGES, type CodeLanguage, type Family } from './rules.js';

export interface EvalItem {
  id: string;
  split: 'dev' | 'heldout';
  lang: CodeLanguage;
  family: Family;
  /** 1 = the snippet has the family's weakness; 0 = it does not. */
  label: 0 | 1;
  /** Where the snippet (or the pattern it re-writes) comes from, and that source's licence. */
  source: string;
  licence: string;
  code: string;
}

/** Parses the JSONL evaluation set; errors name the line and the field. */
export function parseEvalItems(text: string, file = 'items.jsonl'): EvalItem[] {
  const out: EvalItem[] = [];
  const ids = new Set<string>();
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${file}:${i + 1}`;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${where}: not JSON (${(e as Error).message})`);
    }
    for (const k of ['id', 'source', 'licence', 'code', 'family'] as const) if (typeof o[k] !== 'string' || o[k] === '') throw new Error(`${where}: "${k}" must be a non-empty string`);
    if (o.split !== 'dev' && o.split !== 'heldout') throw new Error(`${where}: "split" must be dev or heldout`);
    if (!CODE_LANGUAGES.includes(o.lang as CodeLanguage)) throw new Error(`${where}: "lang" must be one of ${CODE_LANGUAGES.join(', ')}`);
    if (o.label !== 0 && o.label !== 1) throw new Error(`${where}: "label" must be 0 or 1`);
    if (ids.has(o.id as string)) throw new Error(`${where}: duplicate id ${String(o.id)}`);
    ids.add(o.id as string);
    out.push(o as unknown as EvalItem);
  });
  return out;
}

export type LangGroup = 'python' | 'javascript/typescript' | 'c' | 'all';
const groupOf = (l: CodeLanguage): LangGroup => (l === 'javascript' || l === 'typescript' ? 'javascript/typescript' : l);

export interface Figures {
  group: LangGroup;
  family: Family | 'all';
  n: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  precisionCi: [number, number] | null;
  recallCi: [number, number] | null;
}

export interface ItemResult {
  id: string;
  lang: CodeLanguage;
  family: Family;
  label: 0 | 1;
  predicted: 0 | 1;
  /** Rules of the item's family that fired. */
  rules: string[];
  /** Findings of other families (not counted for this item's family). */
  other: string[];
}

/** An item is predicted vulnerable when a rule of its own family fires. */
export function runItems(items: EvalItem[]): ItemResult[] {
  return items.map((it) => {
    const fs = analyseCode(it.code, it.lang);
    const mine = fs.filter((f) => f.family === it.family);
    return { id: it.id, lang: it.lang, family: it.family, label: it.label, predicted: mine.length ? 1 : 0, rules: [...new Set(mine.map((f) => f.ruleId))], other: [...new Set(fs.filter((f) => f.family !== it.family).map((f) => f.ruleId))] };
  });
}

const ci = (k: number, n: number): [number, number] | null => {
  if (n === 0) return null;
  const w = wilson(k, n);
  return [round(w.lo), round(w.hi)];
};
const round = (x: number) => Math.round(x * 1000) / 1000;

export function figuresOf(results: ItemResult[], group: LangGroup, family: Family | 'all'): Figures {
  const rs = results.filter((r) => (group === 'all' || groupOf(r.lang) === group) && (family === 'all' || r.family === family));
  const tp = rs.filter((r) => r.label === 1 && r.predicted === 1).length;
  const fp = rs.filter((r) => r.label === 0 && r.predicted === 1).length;
  const fn = rs.filter((r) => r.label === 1 && r.predicted === 0).length;
  const tn = rs.filter((r) => r.label === 0 && r.predicted === 0).length;
  const precision = tp + fp ? round(tp / (tp + fp)) : null;
  const recall = tp + fn ? round(tp / (tp + fn)) : null;
  const f1 = precision !== null && recall !== null && precision + recall > 0 ? round((2 * precision * recall) / (precision + recall)) : null;
  return { group, family, n: rs.length, tp, fp, fn, tn, precision, recall, f1, precisionCi: ci(tp, tp + fp), recallCi: ci(tp, tp + fn) };
}

/** Figures per family (all languages), per language group (all families), per group × family, and overall. */
export function allFigures(results: ItemResult[]): Figures[] {
  const fams = [...new Set(results.map((r) => r.family))].sort();
  const groups = [...new Set(results.map((r) => groupOf(r.lang)))].sort();
  const out: Figures[] = [figuresOf(results, 'all', 'all')];
  for (const f of fams) out.push(figuresOf(results, 'all', f));
  for (const g of groups) out.push(figuresOf(results, g, 'all'));
  for (const g of groups) for (const f of fams) {
    const x = figuresOf(results, g, f);
    if (x.n) out.push(x);
  }
  return out;
}

/** The published targets: per family on the held-out split, when the family has enough examples. */
export const TARGETS = { precision: 0.85, recall: 0.75, minPositives: 8 };

const pct = (x: number | null) => (x === null ? '—' : x.toFixed(2));
const iv = (c: [number, number] | null) => (c ? `[${c[0].toFixed(2)}, ${c[1].toFixed(2)}]` : '');

/** A Markdown table of figures. */
export function figuresTable(fs: Figures[]): string {
  const rows = fs.map((f) => `| ${f.group} | ${f.family} | ${f.n} | ${f.tp}/${f.fp}/${f.fn}/${f.tn} | ${pct(f.precision)} ${iv(f.precisionCi)} | ${pct(f.recall)} ${iv(f.recallCi)} | ${pct(f.f1)} |`);
  return ['| language | family | n | TP/FP/FN/TN | precision [95% Wilson] | recall [95% Wilson] | F1 |', '|---|---|---|---|---|---|---|', ...rows].join('\n');
}
