import { AssayError } from '../common/errors.js';
import type { DatasetSpec, Sample, SolverSpec } from './types.js';

/** Anything between double braces; the name is checked separately so a malformed one is reported, not ignored. */
const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Placeholders with a fixed meaning; metadata fields may not use these names. */
export const RESERVED_PLACEHOLDERS = ['input', 'choices'] as const;

export interface ShownChoice {
  /** Letter shown to the model (A, B, ...), by position after any shuffle. */
  letter: string;
  text: string;
  /** Index of this choice in the dataset's order. */
  index: number;
}

/** Names a template may use: input, choices (when mapped), and every mapped metadata field. */
export function allowedPlaceholders(fields: DatasetSpec['fields']): string[] {
  return ['input', ...(fields.choices ? ['choices'] : []), ...(fields.metadata ?? [])];
}

/** The placeholder names a template uses, in order of first appearance (trimmed). */
export function templatePlaceholders(template: string): string[] {
  const names: string[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    const name = m[1]!.trim();
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/**
 * Problems with a template for a given field mapping and solver; empty when it is usable.
 * Run at validation time so a typo fails before any request is sent.
 */
export function templateProblems(template: string, fields: DatasetSpec['fields'], solver?: Pick<SolverSpec, 'type'>): string[] {
  const allowed = allowedPlaceholders(fields);
  const used = templatePlaceholders(template);
  const problems: string[] = [];
  for (const name of used) {
    if (!NAME.test(name)) problems.push(`malformed placeholder {{${name}}}: expected a field name such as {{input}}`);
    else if (name === 'choices' && !fields.choices) problems.push('template uses {{choices}} but dataset.fields.choices is not mapped');
    else if (!allowed.includes(name))
      problems.push(`unknown placeholder {{${name}}}: not input, choices or a field listed in dataset.fields.metadata (available: ${allowed.join(', ')})`);
  }
  if (!used.includes('input')) problems.push('template must contain {{input}}');
  if (solver?.type === 'multiple_choice' && !used.includes('choices')) problems.push('a multiple_choice template must contain {{choices}}, or the model never sees the options');
  return problems;
}

/** Throwing form of templateProblems, for callers that hold a definition but no YAML. */
export function checkTemplate(template: string, fields: DatasetSpec['fields'], file: string, solver?: Pick<SolverSpec, 'type'>): void {
  const p = templateProblems(template, fields, solver)[0];
  if (p) throw new AssayError('SUITE_INVALID', p, { file, field: 'template' });
}

/** "A. text" lines, one per shown choice. */
export function formatChoices(shown: ShownChoice[]): string {
  return shown.map((c) => `${c.letter}. ${c.text}`).join('\n');
}

/**
 * Render a template for one sample in a single pass: text substituted in is never re-scanned,
 * so an input containing "{{choices}}" stays literal. Metadata values that are not strings are
 * written as JSON; a metadata field absent from the record renders as the empty string.
 */
export function renderTemplate(template: string, sample: Sample, shown?: ShownChoice[]): string {
  if (typeof sample.input !== 'string') throw new Error(`sample ${sample.id}: renderTemplate needs a text input, not a chat`);
  const input = sample.input;
  return template.replace(PLACEHOLDER, (whole, raw: string) => {
    const name = raw.trim();
    if (name === 'input') return input;
    if (name === 'choices') return formatChoices(shown ?? []);
    if (!Object.hasOwn(sample.metadata, name)) return NAME.test(name) ? '' : whole;
    const v = sample.metadata[name];
    return v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  });
}
