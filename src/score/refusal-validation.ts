import { REFUSAL_CLASSES, XSTEST_LABEL, type RefusalClass } from './refusal.js';

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
