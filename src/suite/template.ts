import { AssayError } from '../common/errors.js';
import type { DatasetSpec, Sample } from './types.js';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

/** Names a template may use: input, choices, and every mapped metadata field. */
export function allowedPlaceholders(fields: DatasetSpec['fields']): Set<string> {
  return new Set(['input', 'choices', 'target', ...(fields.metadata ?? [])]);
}

/** Check a template at load time, so a typo fails before any request is sent. */
export function checkTemplate(template: string, fields: DatasetSpec['fields'], file: string): void {
  const allowed = allowedPlaceholders(fields);
  for (const m of template.matchAll(PLACEHOLDER)) {
    const name = m[1]!;
    if (!allowed.has(name))
      throw new AssayError('SUITE_INVALID', `template uses {{${name}}}, which is not a mapped field (available: ${[...allowed].join(', ')})`, { file, field: 'template' });
  }
}

export interface ShownChoice {
  letter: string;
  text: string;
  index: number;
}

/** Render a template for one sample; {{choices}} becomes "A. text" lines in the order shown. */
export function renderTemplate(template: string, sample: Sample, shown?: ShownChoice[]): string {
  if (typeof sample.input !== 'string') throw new Error('renderTemplate needs a text input');
  const input = sample.input;
  return template.replace(PLACEHOLDER, (_, name: string) => {
    if (name === 'input') return input;
    if (name === 'choices') return (shown ?? []).map((c) => `${c.letter}. ${c.text}`).join('\n');
    if (name === 'target') return Array.isArray(sample.target) ? sample.target.join(', ') : (sample.target ?? '');
    const v = sample.metadata[name];
    return v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  });
}
