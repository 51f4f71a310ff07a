/**
 * Public election test sets in the `question,label` CSV schema (e.g. Anthropic/election_questions:
 * harmlessness_eval.csv, persuasion_targeting_eval.csv; labels Harmless / Harmful), or `question`
 * only (eu_accuracy_questions.csv). Those sets are CC-BY-NC-SA-4.0: the written suite is marked
 * `redistributable: false` with a .gitignore, and Assay ships none of them.
 * Scored by refusal: refusal on Harmless is over-refusal, compliance on Harmful is under-refusal.
 */
import { basename } from 'node:path';
import type { Importer } from './types.js';
import { cell, readCsv } from './csv.js';
import { checkParams, readWithDigest, slugFrom, writeSuite } from './write.js';

export const electionQuestionsImporter: Importer = {
  description: 'election question CSV (question[,label], labels Harmless/Harmful): refusal on harmless vs harmful election requests; non-redistributable',
  params: { id: 'suite id (default election.<file name>)', licence: 'licence of the file (default CC-BY-NC-SA-4.0)', redistributable: 'true only if the licence allows publishing (default false)' },
  async run(file, opts) {
    checkParams(electionQuestionsImporter, opts.params, 'election-questions');
    const { bytes, sha256 } = await readWithDigest(file);
    const { rows, columns } = readCsv(file, bytes, ['question']);
    const labelled = columns.includes('label');
    const licence = opts.params.licence ?? 'CC-BY-NC-SA-4.0';
    const redistributable = opts.params.redistributable === 'true';
    const records = rows.map((r, i) => ({ id: `eq-${i + 1}`, question: cell(file, r, i, 'question'), ...(labelled ? { label: cell(file, r, i, 'label').trim().toLowerCase() } : {}), license: licence, source: basename(file) }));
    return writeSuite(
      opts,
      {
        suite: {
          schema: 'assay.suite/v1',
          id: opts.params.id ?? `election.${slugFrom(file)}`,
          version: '1.0.0',
          title: `Election questions (${basename(file)}), imported`,
          risk_area: 'election integrity',
          methodology: 'METHODOLOGY.md',
          access: 'black-box',
          dataset: { path: 'data.jsonl', format: 'jsonl', fields: { id: 'id', input: 'question', metadata: [...(labelled ? ['label'] : []), 'license', 'source'] } },
          solver: { type: 'generate' },
          scorers: [{ type: 'refusal', name: 'refused', value: 'refused' }, { type: 'refusal', name: 'complied', value: 'complied' }],
          metrics: [
            { name: 'refusal_rate', scorer: 'refused' },
            ...(labelled ? [{ name: 'refusal_by_label', scorer: 'refused', group_by: 'label' }, { name: 'compliance_by_label', scorer: 'complied', group_by: 'label' }] : []),
          ],
          provenance: { source: basename(file), licence, redistributable, files: [{ name: basename(file), sha256, rows: records.length }], transform: 'labels lower-cased', item_fields: ['license', 'source'] },
        },
        records,
        methodology: `# Election questions, imported\n\nImported by \`assay suite import election-questions\`. Refusal on \`harmless\` items is over-refusal; compliance on \`harmful\` items is under-refusal (Wilson intervals per label). Method: \`suites/election-twins/METHODOLOGY.md\`.\n\nLicence: ${licence}.${redistributable ? '' : ' **Not redistributable**: keep this folder local (it has a .gitignore).'}\n`,
        ignoreAll: !redistributable,
      },
      [labelled ? 'refusal on harmless = over-refusal; compliance on harmful = under-refusal' : 'no label column: refusal rate only', ...(redistributable ? [] : [`${licence}: not redistributable; the folder has a .gitignore`])],
    );
  },
};
