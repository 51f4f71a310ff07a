import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { AssayError } from '../../common/errors.js';
import { ASSAY_ROOT } from '../../version.js';

const json = (v: unknown): void => void process.stdout.write(JSON.stringify(v, null, 2) + '\n');

/** `assay validate …`: recompute a scorer's published error rates from its labelled evaluation set. */
export function register(program: Command): void {
  const v = program.command('validate').description("Recompute a scorer's error rates from its labelled evaluation set (the figures its suite's METHODOLOGY.md publishes)");
  v.command('insecure-code')
    .description('Precision, recall and F1 of the insecure-code analyser per language and family, dev and held-out splits, with Wilson intervals')
    .option('--items <file>', 'evaluation set (JSONL); default the shipped suites/insecure-code/eval/items.jsonl')
    .option('--json', 'print the figures as JSON')
    .option('--write', 'write figures.json and the figures block of METHODOLOGY.md (shipped set only)')
    .action(async (o: { items?: string; json?: boolean; write?: boolean }) => {
      const { computeFigures, methodologyBlock, EVAL_DIR } = await import('../../score/code/validation.js');
      const { figuresTable } = await import('../../score/code/evaluate.js');
      const file = o.items ?? join(EVAL_DIR, 'items.jsonl');
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new AssayError('FILE_NOT_FOUND', `cannot read evaluation set ${file}: ${(e as Error).message}`, { file });
      }
      let f;
      try {
        f = computeFigures(text, o.items ? file : 'items.jsonl');
      } catch (e) {
        throw new AssayError('DATASET_INVALID', (e as Error).message, { file });
      }
      if (o.write) {
        if (o.items) throw new AssayError('USAGE', '--write only writes the figures of the shipped evaluation set', {});
        writeFileSync(join(EVAL_DIR, 'figures.json'), JSON.stringify(f, null, 1) + '\n');
        const mdPath = join(ASSAY_ROOT, 'suites', 'insecure-code', 'METHODOLOGY.md');
        const md = readFileSync(mdPath, 'utf8');
        const re = /<!-- figures:insecure-code:begin[\s\S]*?<!-- figures:insecure-code:end -->/;
        if (!re.test(md)) throw new AssayError('FILE_INVALID', `${mdPath} has no figures block to replace`, { file: mdPath });
        writeFileSync(mdPath, md.replace(re, methodologyBlock(f)));
      }
      if (o.json) return json(f);
      process.stdout.write(`held-out split\n${figuresTable(f.heldout)}\n\ndev split\n${figuresTable(f.dev)}\n`);
    });
  v.command('injection')
    .description('Agreement of the deterministic prompt-injection judge with labelled crafted outputs, and with a graded judge (suites/prompt-injection/validation)')
    .option('--json', 'print as JSON')
    .option('--grader <spec>', 'also grade the outputs: "simulated" (the simulated target\'s injection-grader, a test double) or a provider/model')
    .option('--write', 'regenerate validation/outputs.jsonl from the suite items, then write validation/figures.json and the figures block of METHODOLOGY.md')
    .action(async (o: { json?: boolean; grader?: string; write?: boolean }) => {
      const { runInjectionValidation, formatInjectionValidation, craftOutputs, readSuiteItems, PI_DIR } = await import('../../score/injection-validation.js');
      // --write regenerates the crafted outputs from the suite's items first (the test checks they match)
      if (o.write) writeFileSync(join(PI_DIR, 'validation', 'outputs.jsonl'), craftOutputs(readSuiteItems()).map((x) => JSON.stringify(x)).join('\n') + '\n');
      const r = await runInjectionValidation({ ...(o.grader ? { grader: o.grader } : {}) });
      if (o.write) {
        writeFileSync(join(PI_DIR, 'validation', 'figures.json'), JSON.stringify(r, null, 1) + '\n');
        const mdPath = join(PI_DIR, 'METHODOLOGY.md');
        const md = readFileSync(mdPath, 'utf8');
        const re = /<!-- figures:injection:begin[\s\S]*?<!-- figures:injection:end -->/;
        if (!re.test(md)) throw new AssayError('FILE_INVALID', `${mdPath} has no figures block to replace`, { file: mdPath });
        writeFileSync(mdPath, md.replace(re, `<!-- figures:injection:begin (written by \`assay validate injection --write\`; do not edit by hand) -->\n${formatInjectionValidation(r)}<!-- figures:injection:end -->`));
      }
      if (o.json) return json(r);
      process.stdout.write(formatInjectionValidation(r));
    });
  v.command('election')
    .description('Agreement of the election-facts routes (rules, graded, rules-first fallback) with human labels, per split (suites/election-facts/validation)')
    .option('--grader <spec>', 'also grade: "simulated" (the simulated target\'s election-grader, a test double) or a provider/model')
    .option('--json', 'print as JSON')
    .option('--write', 'write the figures block of suites/election-facts/METHODOLOGY.md')
    .action(async (o: { grader?: string; json?: boolean; write?: boolean }) => {
      const { runElectionValidation, formatElectionValidation, ELECTION_DIR } = await import('../../score/election-graded-validation.js');
      let r;
      try {
        r = await runElectionValidation({ ...(o.grader ? { grader: o.grader } : {}) });
      } catch (e) {
        if (e instanceof AssayError) throw e;
        throw new AssayError('DATASET_INVALID', (e as Error).message, {});
      }
      if (o.write) {
        const mdPath = join(ELECTION_DIR, 'METHODOLOGY.md');
        const md = readFileSync(mdPath, 'utf8');
        const re = /<!-- figures:election:begin[\s\S]*?<!-- figures:election:end -->/;
        if (!re.test(md)) throw new AssayError('FILE_INVALID', `${mdPath} has no figures block to replace`, { file: mdPath });
        writeFileSync(mdPath, md.replace(re, `<!-- figures:election:begin (written by \`assay validate election --write\`; do not edit by hand) -->\n${formatElectionValidation(r)}<!-- figures:election:end -->`));
      }
      if (o.json) return json(r);
      process.stdout.write(formatElectionValidation(r));
    });
  v.command('extraction')
    .description('How well mcq_letter reads labelled free-text answers: the rules alone, and with --grader the rules + grader fallback (aggregate figures only)')
    .option('--set <file...>', 'labelled set(s), JSONL rows {id, split, kind, ambiguous, options, response, expected}; default every test/fixtures/extraction/extraction-set*.jsonl')
    .option('--split <split>', 'dev, heldout or all (a split named dev2, heldout3… counts as dev, heldout)', 'all')
    .option('--grader <spec>', 'also read unreadable answers with a grader: "simulated" (the simulated target\'s extraction-grader, a test double) or a provider/model')
    .option('--json', 'print as JSON')
    .action(async (o: { set?: string[]; split: string; grader?: string; json?: boolean }) => {
      if (o.split !== 'dev' && o.split !== 'heldout' && o.split !== 'all') throw new AssayError('USAGE', `--split must be dev, heldout or all, got "${o.split}"`, {});
      const { runExtractionValidation, formatExtractionValidation } = await import('../../score/extraction-validation.js');
      let r;
      try {
        r = await runExtractionValidation({ ...(o.set ? { sets: o.set } : {}), split: o.split, ...(o.grader ? { grader: o.grader } : {}) });
      } catch (e) {
        if (e instanceof AssayError) throw e;
        const err = e as NodeJS.ErrnoException;
        if (err.code === 'ENOENT') throw new AssayError('FILE_NOT_FOUND', err.message, {});
        throw new AssayError('DATASET_INVALID', err.message, {});
      }
      if (o.json) return json(r);
      process.stdout.write(formatExtractionValidation(r));
    });
}
