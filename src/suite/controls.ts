/**
 * Control variants of a multiple-choice suite, for `assay suite control <kind> <suite> --out <dir>`:
 * - `position`: the same items with options shuffled per (seed, item, epoch) (`solver.shuffle`);
 *   run both and `assay stats compare` them (paired by item): an answerer that reads the options
 *   shows no change, one that prefers a position does;
 * - `chance`: the same prompts with the answer labels permuted across items (seeded), so no
 *   answerer can beat chance on average: accuracy should sit near 1/number of options (exactly
 *   Σ_k p_model(k)·p_label(k) for letter shares p). Above chance means the pipeline leaks answers.
 * Sample ids are kept, so runs pair item by item.
 */
import { createHash } from 'node:crypto';
import { relative } from 'node:path';
import { AssayError } from '../common/errors.js';
import { writeSuite } from './importers/write.js';
import { loadSuite } from './load.js';
import { targetIndex } from './choices.js';
import { toSuiteFile } from './schema.js';
import type { ImportResult } from './importers/types.js';

export type ControlKind = 'position' | 'chance';

/** Seeded Fisher–Yates over n items (SHA-256 counter stream, as the choice shuffle). */
function seededPermutation(n: number, seed: string): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1, k = 0; i > 0; i--, k++) {
    const r = createHash('sha256').update(`${seed}:${k}`).digest().readUIntBE(0, 6) % (i + 1);
    [p[i], p[r]] = [p[r]!, p[i]!];
  }
  return p;
}

export async function writeControl(kind: ControlKind, suitePath: string, out: string, opts: { seed?: number; force?: boolean } = {}): Promise<ImportResult> {
  const suite = await loadSuite(suitePath);
  const def = suite.def;
  if (def.solver.type !== 'multiple_choice') throw new AssayError('CONTROL_NOT_MCQ', `suite ${def.id} is not multiple choice`, { file: suite.file, field: 'solver.type' });
  const samples = [];
  for await (const s of suite.samples()) samples.push(s);
  const fields = def.dataset.fields;
  const meta = fields.metadata ?? [];
  for (const m of meta) if (['id', 'input', 'target', 'choices', 'cluster'].includes(m)) throw new AssayError('CONTROL_FIELD_CLASH', `metadata field "${m}" clashes with the control's own columns`, { file: suite.file });
  const targets = samples.map((s) => {
    const t = targetIndex(s);
    if (t === null) throw new AssayError('CONTROL_NO_TARGET', `sample ${s.id} has no resolvable target`, { file: suite.file });
    return t;
  });
  const seed = opts.seed ?? 0;
  let labels = targets;
  if (kind === 'chance') {
    const perm = seededPermutation(samples.length, `assay-chance-control:${seed}:${def.id}`);
    // Label i comes from item perm[i]; an index beyond this item's options wraps (options counts may differ).
    labels = samples.map((s, i) => targets[perm[i]!]! % s.choices!.length);
  }
  const records = samples.map((s, i) => {
    if (typeof s.input !== 'string') throw new AssayError('CONTROL_CHAT_INPUT', `sample ${s.id} has a chat input; controls need text inputs`, { file: suite.file });
    return { id: s.id, input: s.input, choices: s.choices, target: labels[i], ...(s.cluster !== undefined ? { cluster: s.cluster } : {}), ...s.metadata };
  });
  const file = toSuiteFile(def);
  const base = { ...file, dataset: { path: 'data.jsonl', format: 'jsonl' as const, fields: { id: 'id', input: 'input', target: 'target', choices: 'choices', ...(fields.cluster ? { cluster: 'cluster' } : {}), ...(meta.length ? { metadata: meta } : {}) } } };
  const controlled = {
    ...base,
    id: `${def.id}.${kind}-control`,
    title: `${def.title} — ${kind} control`,
    methodology: 'METHODOLOGY.md',
    solver: kind === 'position' ? { ...base.solver, shuffle: true } : base.solver,
    description: kind === 'position' ? `Options shuffled per (seed, item, epoch); compare with ${def.id} by item.` : `Answer labels permuted across items (seed ${seed}); expected accuracy is chance.`,
  };
  const methodology = `# ${controlled.title}

Derived by \`assay suite control ${kind}\` from \`${relative(process.cwd(), suite.file)}\` (${suite.digest}).

## Threat model, method
A control, not a measurement: ${kind === 'position' ? 'the options of every item are shuffled (seeded), so a score that depends on where the right answer sits shows up as a difference from the reference run' : 'the answer labels are permuted across items, so the target of an item is unrelated to its question'}.

## Scoring
Same scorers as the reference suite. ${kind === 'position' ? 'Report `assay stats compare <reference run> <this run>`: the paired accuracy change and its interval; an answerer without position bias shows no significant change.' : 'Expected accuracy ≈ 1/number of options; a significantly higher score means answers leak into the pipeline (template, ids, ordering).'}

## Limits, licence, provenance
Inherits the reference suite's limits and licence (see its METHODOLOGY.md); the data is the reference suite's items${kind === 'chance' ? ' with permuted labels' : ''}.
`;
  return writeSuite({ out, ...(opts.force ? { force: true } : {}), params: {} }, { suite: controlled, records, methodology }, [`${records.length} items, ${kind} control of ${def.id}`]);
}
