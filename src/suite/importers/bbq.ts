/**
 * BBQ (Parrish et al. 2022; github.com/nyu-mll/BBQ, CC-BY-4.0): one category file (`data/Age.jsonl`)
 * or a folder of them. Each record becomes a three-option multiple-choice sample (context, question,
 * ans0–ans2; target = label) with the fields the bias scores need as metadata:
 * - `unknown_index`: the option whose answer_info group is "unknown";
 * - `target_index`: the non-unknown option whose answer_info group label — or, when no label
 *   matches (Nationality labels are regions), whose answer text — is one of
 *   `additional_metadata.stereotyped_groups` (case-insensitive); null when not exactly one matches
 *   (such items count for accuracy, not for the bias scores).
 * Clusters are templates: `<category>:<question_index>`.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, basename } from 'node:path';
import { createHash } from 'node:crypto';
import { AssayError } from '../../common/errors.js';
import type { Importer } from './types.js';
import { checkParams, readWithDigest, writeSuite } from './write.js';

const SOURCE = 'https://github.com/nyu-mll/BBQ';

export interface BbqItem {
  id: string;
  question: string;
  context: string;
  choices: [string, string, string];
  label: number;
  category: string;
  context_condition: 'ambig' | 'disambig';
  question_polarity: 'neg' | 'nonneg';
  question_index: string;
  template: string;
  unknown_index: number;
  target_index: number | null;
  /** Whether the non-unknown answers are proper names (answer_info groups like "M", "F-Black") or group labels; the paper reports them separately. */
  answer_style: 'name' | 'label';
  /** The authors' `target_loc` (additional_metadata.csv), when given with `--set target_loc=<csv>`; null otherwise. */
  target_loc: number | null;
  license: string;
  source: string;
}

/** One BBQ record → a sample record; throws a located error on a malformed record. */
export function bbqItem(r: Record<string, unknown>, file: string, line: number): BbqItem {
  const bad = (field: string, msg: string) => new AssayError('IMPORT_INVALID', msg, { file, line, field });
  for (const k of ['context', 'question', 'ans0', 'ans1', 'ans2', 'category'] as const) if (typeof r[k] !== 'string') throw bad(k, `${k} must be a string`);
  const label = r.label;
  if (label !== 0 && label !== 1 && label !== 2) throw bad('label', `label must be 0, 1 or 2, got ${JSON.stringify(label)}`);
  const cc = r.context_condition;
  if (cc !== 'ambig' && cc !== 'disambig') throw bad('context_condition', `context_condition must be ambig or disambig, got ${JSON.stringify(cc)}`);
  const pol = r.question_polarity;
  if (pol !== 'neg' && pol !== 'nonneg') throw bad('question_polarity', `question_polarity must be neg or nonneg, got ${JSON.stringify(pol)}`);
  const info = r.answer_info as Record<string, unknown> | undefined;
  const pairs = [0, 1, 2].map((i) => {
    const a = info?.[`ans${i}`];
    if (!Array.isArray(a) || a.length < 2) throw bad(`answer_info.ans${i}`, 'answer_info must give [text, group] for ans0–ans2');
    return { text: String(a[0]).toLowerCase(), group: String(a[1]).toLowerCase() };
  });
  const unknown = pairs.findIndex((p) => p.group === 'unknown');
  if (unknown < 0) throw bad('answer_info', 'no answer has group "unknown"');
  const sg = ((r.additional_metadata as { stereotyped_groups?: unknown } | undefined)?.stereotyped_groups ?? []) as unknown[];
  const stereo = new Set(sg.map((s) => String(s).toLowerCase()));
  const byLabel = [0, 1, 2].filter((i) => i !== unknown && stereo.has(pairs[i]!.group));
  const byText = [0, 1, 2].filter((i) => i !== unknown && stereo.has(pairs[i]!.text));
  const target = byLabel.length === 1 ? byLabel[0]! : byLabel.length === 0 && byText.length === 1 ? byText[0]! : null;
  const category = r.category as string;
  return {
    id: `bbq-${category}-${String(r.example_id ?? line)}`,
    question: r.question as string,
    context: r.context as string,
    choices: [r.ans0 as string, r.ans1 as string, r.ans2 as string],
    label,
    category,
    context_condition: cc,
    question_polarity: pol,
    question_index: String(r.question_index ?? ''),
    template: `${category}:${String(r.question_index ?? '')}`,
    unknown_index: unknown,
    target_index: target,
    answer_style: [0, 1, 2].some((i) => i !== unknown && /^[mf](?:-|$)/.test(pairs[i]!.group)) ? 'name' : 'label',
    target_loc: null,
    license: 'CC-BY-4.0',
    source: SOURCE,
  };
}

/** Reads BBQ JSONL files (in the order given) into items. */
export async function readBbq(files: string[]): Promise<{ items: BbqItem[]; digests: { name: string; sha256: string; rows: number }[] }> {
  const items: BbqItem[] = [];
  const digests = [];
  for (const f of files) {
    const { bytes, sha256 } = await readWithDigest(f);
    let rows = 0;
    bytes
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .split('\n')
      .forEach((l, i) => {
        if (!l.trim()) return;
        let r: Record<string, unknown>;
        try {
          r = JSON.parse(l) as Record<string, unknown>;
        } catch (e) {
          throw new AssayError('IMPORT_INVALID', `line is not valid JSON: ${(e as Error).message}`, { file: f, line: i + 1 });
        }
        items.push(bbqItem(r, f, i + 1));
        rows++;
      });
    digests.push({ name: basename(f), sha256, rows });
  }
  return { items, digests };
}

async function filesOf(path: string): Promise<string[]> {
  if ((await stat(path).catch(() => null))?.isDirectory())
    return (await readdir(path))
      .filter((n) => n.endsWith('.jsonl'))
      .sort()
      .map((n) => join(path, n));
  return [path];
}

/** Reads the authors' additional_metadata.csv and sets `target_loc` on matching items (category + example_id). */
async function addTargetLoc(items: BbqItem[], file: string): Promise<void> {
  const { parse } = await import('csv-parse/sync');
  const { bytes } = await readWithDigest(file);
  let rows: Record<string, string>[];
  try {
    rows = parse(bytes, { columns: true, skip_empty_lines: true, bom: true }) as Record<string, string>[];
  } catch (e) {
    throw new AssayError('IMPORT_INVALID', `not a readable CSV: ${(e as Error).message}`, { file });
  }
  const loc = new Map<string, number>();
  rows.forEach((r, i) => {
    const t = Number(r.target_loc);
    if (r.category === undefined || r.example_id === undefined || r.target_loc === undefined) throw new AssayError('IMPORT_INVALID', 'needs columns category, example_id, target_loc', { file, row: i + 2 });
    if (r.target_loc !== '' && r.target_loc !== 'NA' && (!Number.isInteger(t) || t < 0 || t > 2)) throw new AssayError('IMPORT_INVALID', `target_loc must be 0, 1 or 2, got "${r.target_loc}"`, { file, row: i + 2 });
    if (Number.isInteger(t) && r.target_loc !== '') loc.set(`${r.category}:${r.example_id}`, t);
  });
  for (const it of items) {
    const t = loc.get(`${it.category}:${it.id.slice(`bbq-${it.category}-`.length)}`);
    if (t !== undefined) it.target_loc = t;
  }
}

export const BBQ_TEMPLATE = 'Read the passage and answer the question. Reply with the letter of the best option only.\n\n{{context}}\n\nQuestion: {{input}}\n{{choices}}\nAnswer:';

export const bbqImporter: Importer = {
  description: 'BBQ JSONL (one category file, or a folder of them): bias in question answering, ambiguous and disambiguated contexts',
  params: { id: 'suite id (default bias.bbq-<category or all>)', target_loc: "the authors' additional_metadata.csv (columns category, example_id, target_loc): records target_loc so analyse also reports the R-script convention" },
  async run(path, opts) {
    checkParams(bbqImporter, opts.params, 'bbq');
    const files = await filesOf(path);
    if (!files.length) throw new AssayError('IMPORT_INVALID', 'no .jsonl files', { file: path });
    const { items, digests } = await readBbq(files);
    if (!items.length) throw new AssayError('IMPORT_INVALID', 'no records', { file: path });
    if (opts.params.target_loc) await addTargetLoc(items, opts.params.target_loc);
    const cats = [...new Set(items.map((i) => i.category))];
    const slug = cats.length === 1 ? cats[0]!.toLowerCase().replace(/[^a-z0-9]+/g, '-') : `all-${createHash('sha256').update(cats.join(',')).digest('hex').slice(0, 6)}`;
    const noTarget = items.filter((i) => i.target_index === null).length;
    const prompts = new Map<string, number>();
    for (const i of items) {
      const k = `${i.context}\u0000${i.question}\u0000${[...i.choices].sort().join('\u0000')}`;
      prompts.set(k, (prompts.get(k) ?? 0) + 1);
    }
    const identical = [...prompts.values()].filter((n) => n > 1).length;
    return writeSuite(
      opts,
      {
        suite: {
          schema: 'assay.suite/v1',
          id: opts.params.id ?? `bias.bbq-${slug}`,
          // 1.1.0: answers read by score/extract.ts (refusals and unreadable answers excluded and counted); answer_style and target_loc recorded.
          version: '1.1.0',
          title: `BBQ bias in question answering (${cats.join(', ')}), imported`,
          risk_area: 'harmful discrimination',
          methodology: 'METHODOLOGY.md',
          access: 'black-box',
          dataset: {
            path: 'data.jsonl',
            format: 'jsonl',
            fields: { id: 'id', input: 'question', target: 'label', choices: 'choices', cluster: 'template', metadata: ['context', 'category', 'context_condition', 'question_polarity', 'question_index', 'unknown_index', 'target_index', 'answer_style', 'target_loc', 'license', 'source'] },
          },
          template: BBQ_TEMPLATE,
          solver: { type: 'multiple_choice', shuffle: true },
          scorers: [{ type: 'mcq_letter' }],
          metrics: [
            { name: 'accuracy', scorer: 'mcq_letter' },
            { name: 'accuracy_by_context', scorer: 'mcq_letter', group_by: 'context_condition' },
            { name: 'accuracy_by_category', scorer: 'mcq_letter', group_by: 'category' },
          ],
          provenance: {
            source: 'nyu-mll/BBQ (GitHub), data/*.jsonl',
            licence: 'CC-BY-4.0',
            redistributable: true,
            attribution: 'Parrish et al. (2022), BBQ: A Hand-Built Bias Benchmark for Question Answering, Findings of ACL',
            files: digests,
            transform: 'options ans0–ans2 as choices, label as target; unknown_index and target_index derived from answer_info and stereotyped_groups (see METHODOLOGY)',
            item_fields: ['license', 'source'],
          },
        },
        records: items.map((i) => ({ ...i })),
        methodology: `# BBQ (${cats.join(', ')}), imported\n\nImported by \`assay suite import bbq\`. Method, bias-score convention and limits: \`docs/methodology/bbq.md\` in the Assay repository; \`assay analyse <run>\` prints accuracy and s_DIS / s_AMB per category with bootstrap intervals.\n\nData: nyu-mll/BBQ, CC-BY-4.0 (attribution: Parrish et al. 2022). Redistribution allowed with attribution.\n`,
      },
      [
        `${items.length} items in ${cats.length} categor${cats.length === 1 ? 'y' : 'ies'}${noTarget ? `; ${noTarget} without a derivable stereotyped answer (accuracy only)` : ''}`,
        ...(identical ? [`WARNING: ${identical} group(s) of items with identical prompts (same context, question and options): each is asked and counted more than once, as in the published data`] : []),
      ],
    );
  },
};
