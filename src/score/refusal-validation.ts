import { REFUSAL_CLASSES, XSTEST_LABEL, refusalScorer, type RefusalClass, type RefusalMode } from './refusal.js';
import type { ScorerContext } from './types.js';
import { wilson, type Interval } from '../stats/estimate.js';
import { binaryCounts, correctedRate, type BinaryCounts } from './refusal-error.js';

/** One human-labelled completion (XSTest's `model_completions/*.csv` rows: completion, final_label). */
export interface LabelledCompletion {
  completion: string;
  /** XSTest label: 1_full_compliance, 2_full_refusal or 3_partial_refusal. */
  finalLabel: string;
}

export interface ClassMetrics {
  class: RefusalClass;
  /** Human-labelled items of this class. */
  support: number;
  predicted: number;
  precision: number;
  recall: number;
}

export interface ValidationResult {
  n: number;
  /** Exact three-way agreement with the human final label. */
  agree: number;
  /** Agreement on comply vs not (full compliance vs full or partial refusal): XSTest's string-match comparison. */
  binaryAgree: number;
  /** confusion[human][predicted]. */
  confusion: Record<RefusalClass, Record<RefusalClass, number>>;
  perClass: ClassMetrics[];
}

/** Agreement, confusion matrix and per-class precision/recall of a classifier against human labels. */
export function validateClassifier(rows: readonly LabelledCompletion[], classify: (text: string) => RefusalClass): ValidationResult {
  const zero = () => Object.fromEntries(REFUSAL_CLASSES.map((c) => [c, 0])) as Record<RefusalClass, number>;
  const confusion = Object.fromEntries(REFUSAL_CLASSES.map((c) => [c, zero()])) as ValidationResult['confusion'];
  let agree = 0;
  let binaryAgree = 0;
  rows.forEach((r, i) => {
    const human = XSTEST_LABEL[r.finalLabel.trim()];
    if (!human) throw new RangeError(`row ${i + 1}: unknown label "${r.finalLabel}"`);
    const pred = classify(r.completion);
    confusion[human][pred]++;
    if (human === pred) agree++;
    if ((human === 'full_compliance') === (pred === 'full_compliance')) binaryAgree++;
  });
  const perClass = REFUSAL_CLASSES.map((c) => {
    const support = REFUSAL_CLASSES.reduce((s, p) => s + confusion[c][p], 0);
    const predicted = REFUSAL_CLASSES.reduce((s, h) => s + confusion[h][c], 0);
    return { class: c, support, predicted, precision: predicted ? confusion[c][c] / predicted : NaN, recall: support ? confusion[c][c] / support : NaN };
  });
  return { n: rows.length, agree, binaryAgree, confusion, perClass };
}

const pct = (x: number) => (Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)} %`);

/** Markdown table of a validation, as pasted into METHODOLOGY.md (a test checks the pasted text is current). */
export function validationMarkdown(name: string, v: ValidationResult, baseline: ValidationResult): string {
  return [
    `**${name}** (n = ${v.n}): three-way agreement ${v.agree}/${v.n} (${pct(v.agree / v.n)}); comply-vs-not agreement ${v.binaryAgree}/${v.n} (${pct(v.binaryAgree / v.n)}); XSTest string-match baseline ${baseline.binaryAgree}/${v.n}.`,
    '',
    '| class | human-labelled | predicted | precision | recall |',
    '|---|---|---|---|---|',
    ...v.perClass.map((c) => `| ${c.class} | ${c.support} | ${c.predicted} | ${pct(c.precision)} | ${pct(c.recall)} |`),
  ].join('\n');
}

/** One-vs-rest sensitivity and specificity of each class, with Wilson intervals. */
export function perClassSensSpec(v: ValidationResult, level = 0.95): { class: RefusalClass; sensitivity: number; sensitivityCi: Interval; specificity: number; specificityCi: Interval }[] {
  return REFUSAL_CLASSES.map((c) => {
    const tp = v.confusion[c][c];
    const pos = REFUSAL_CLASSES.reduce((s, p) => s + v.confusion[c][p], 0);
    const neg = v.n - pos;
    const fp = REFUSAL_CLASSES.filter((h) => h !== c).reduce((s, h) => s + v.confusion[h][c], 0);
    return { class: c, sensitivity: tp / pos, sensitivityCi: wilson(tp, pos, level), specificity: (neg - fp) / neg, specificityCi: wilson(neg - fp, neg, level) };
  });
}

const ci = (i: Interval) => `[${pct(i.lo)}, ${pct(i.hi)}]`;

/** Markdown: sensitivity / specificity per class with 95 % Wilson intervals, as pasted into METHODOLOGY.md. */
export function sensSpecMarkdown(name: string, v: ValidationResult): string {
  return [
    `**${name}**: sensitivity and specificity per class (one vs rest, 95 % Wilson intervals), n = ${v.n}.`,
    '',
    '| class | sensitivity | CI | specificity | CI |',
    '|---|---|---|---|---|',
    ...perClassSensSpec(v).map((c) => `| ${c.class} | ${pct(c.sensitivity)} | ${ci(c.sensitivityCi)} | ${pct(c.specificity)} | ${ci(c.specificityCi)} |`),
  ].join('\n');
}

export interface LabelledPromptCompletion extends LabelledCompletion {
  /** XSTest prompt type; `contrast_*` types are the unsafe prompts. */
  type: string;
}

/**
 * Cross-model check of the misclassification correction: the refusal rate on safe and on unsafe
 * prompts of one file, corrected with the Se / Sp measured on the OTHER file only, against the
 * human rate. Out of sample for the correction (its error figures come from another model).
 */
export function crossModelCorrection(target: readonly LabelledPromptCompletion[], other: readonly LabelledCompletion[], classify: (text: string) => RefusalClass, level = 0.95) {
  const counts = binaryCounts(validateClassifier(other, classify), 'refused');
  return (['safe', 'unsafe'] as const).map((group) => {
    const rows = target.filter((r) => r.type.startsWith('contrast_') === (group === 'unsafe'));
    const k = rows.filter((r) => classify(r.completion) !== 'full_compliance').length;
    const human = rows.filter((r) => XSTEST_LABEL[r.finalLabel.trim()] !== 'full_compliance').length / rows.length;
    const naive = wilson(k, rows.length, level);
    const corr = correctedRate(k, rows.length, [counts], level);
    return { group, n: rows.length, human, observed: k / rows.length, naive, corrected: corr.corrected, bound: corr.bound, naiveCovers: naive.lo <= human && human <= naive.hi, boundCovers: corr.bound.lo <= human && human <= corr.bound.hi };
  });
}

export function crossModelMarkdown(rows: { measured: string; from: string; r: ReturnType<typeof crossModelCorrection> }[]): string {
  const f = (x: number | null) => (x === null || Number.isNaN(x) ? '—' : x.toFixed(3));
  return [
    '| measured on | Se/Sp from | prompts | n | human refusal rate | classifier rate | Wilson CI (no correction) | covers? | corrected | bound | covers? |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.flatMap(({ measured, from, r }) => r.map((x) => `| ${measured} | ${from} | ${x.group} | ${x.n} | ${f(x.human)} | ${f(x.observed)} | [${f(x.naive.lo)}, ${f(x.naive.hi)}] | ${x.naiveCovers ? 'yes' : 'no'} | ${f(x.corrected)} | [${f(x.bound.lo)}, ${f(x.bound.hi)}] | ${x.boundCovers ? 'yes' : 'no'} |`)),
  ].join('\n');
}

/** A labelled completion with the prompt it answered (what a grader needs to see). */
export interface LabelledExchange extends LabelledCompletion {
  prompt: string;
  type?: string;
}

export interface ClassifierValidation extends ValidationResult {
  mode: RefusalMode;
  /** Grader mode: items the grader could not classify (call failed or answered out of format), excluded from the figures. */
  unscored: number;
  sensSpec: ReturnType<typeof perClassSensSpec>;
  binary: { refused: BinaryCounts; full_refusal: BinaryCounts };
}

/**
 * Validate a refusal classifier mode against human labels: the rules, XSTest's string match, or
 * a grader model through the same scorer the suites use (`refusal` with mode grader), so the
 * figures describe exactly the route a run takes. Grader failures are counted, not guessed.
 */
export async function validateMode(rows: readonly LabelledExchange[], mode: RefusalMode, ctx: ScorerContext = {}, opts: { concurrency?: number; level?: number } = {}): Promise<ClassifierValidation> {
  const scorer = refusalScorer({ mode, ctx, value: 'refused' });
  const preds: (RefusalClass | null)[] = new Array(rows.length).fill(null);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < rows.length; i = next++) {
      const r = rows[i]!;
      const s = await scorer.score({ sample: { id: `v${i + 1}`, input: r.prompt, metadata: {}, source: { file: 'validation' } }, output: { content: r.completion, logprobs: null } });
      preds[i] = s.status === 'scored' ? ((s.detail?.class as RefusalClass | undefined) ?? null) : null;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 8) }, worker));
  const kept = rows.map((r, i) => ({ r, p: preds[i] })).filter((x) => x.p !== null);
  const byText = new Map(kept.map((x, i) => [i, x.p!]));
  let j = 0;
  const v = validateClassifier(kept.map((x) => x.r), () => byText.get(j++)!);
  return { ...v, mode, unscored: rows.length - kept.length, sensSpec: perClassSensSpec(v, opts.level ?? 0.95), binary: { refused: binaryCounts(v, 'refused'), full_refusal: binaryCounts(v, 'full_refusal') } };
}

/** Human-readable validation report (the `assay refusal-validate` output). */
export function formatModeValidation(name: string, v: ClassifierValidation): string {
  return [
    `${name} — classifier mode ${v.mode}: n = ${v.n}${v.unscored ? ` (+ ${v.unscored} the grader could not classify, excluded)` : ''}; three-way agreement ${v.agree}/${v.n} (${pct(v.agree / v.n)}); comply-vs-not ${v.binaryAgree}/${v.n} (${pct(v.binaryAgree / v.n)}).`,
    '',
    sensSpecMarkdown(name, v),
    '',
    `Binary counts (for score/refusal-error.ts VALIDATION_COUNTS): refused ${JSON.stringify(v.binary.refused)}; full_refusal ${JSON.stringify(v.binary.full_refusal)}.`,
  ].join('\n');
}
