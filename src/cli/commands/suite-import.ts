import type { Command } from 'commander';
import { AssayError } from '../../common/errors.js';
import { IMPORTERS } from '../../suite/importers/index.js';
import { writeControl, type ControlKind } from '../../suite/controls.js';
import { collect, int } from '../options.js';
import { compareControl } from '../../stats/controls.js';
import { resolveRunLog } from './run.js';
import { loadSuite } from '../../suite/load.js';
import { formatLint, lintSuite } from '../../suite/lint.js';

/** `assay suite import` and `assay suite control`, attached to the `suite` command group. */
export function registerImport(suite: Command): void {
  suite
    .command('import')
    .description(`Convert a dataset file you hold into a runnable suite folder (formats: ${Object.keys(IMPORTERS).join(', ')})`)
    .argument('<format>', 'dataset format')
    .argument('<file>', 'the dataset file')
    .requiredOption('--out <dir>', 'folder to write (suite.yaml, data.jsonl, METHODOLOGY.md)')
    .option('--set <key=value>', 'importer option (repeatable; see the format list in docs)', collect)
    .option('--force', 'overwrite a non-empty output folder')
    .action(async (format: string, file: string, flags: { out: string; set?: string[]; force?: boolean }) => {
      const imp = IMPORTERS[format];
      if (!imp) throw new AssayError('IMPORT_UNKNOWN_FORMAT', `unknown format "${format}" (known: ${Object.keys(IMPORTERS).join(', ')})`);
      const params: Record<string, string> = {};
      for (const kv of flags.set ?? []) {
        const i = kv.indexOf('=');
        if (i <= 0) throw new AssayError('IMPORT_BAD_OPTION', `--set "${kv}" is not key=value`);
        params[kv.slice(0, i)] = kv.slice(i + 1);
      }
      const r = await imp.run(file, { out: flags.out, ...(flags.force ? { force: true } : {}), params });
      process.stdout.write(`imported ${r.rows} samples → ${r.suiteFile}\n${r.notes.map((n) => `  ${n}\n`).join('')}`);
      // Artefact checks on every imported multiple-choice suite: published data cannot be fixed here, so findings warn.
      const lint = await lintSuite(await loadSuite(r.suiteFile), { shipped: false });
      if (lint && lint.verdict !== 'ok') process.stderr.write(`${formatLint(lint)}\n`);
    });

  suite
    .command('control')
    .description('Write a control variant of a multiple-choice suite: position (options shuffled) or chance (labels permuted across items)')
    .argument('<kind>', 'position | chance')
    .argument('<suite>', 'suite.yaml of the reference suite')
    .requiredOption('--out <dir>', 'folder to write')
    .option('--seed <n>', 'seed of the label permutation (chance)', int(0), 0)
    .option('--force', 'overwrite a non-empty output folder')
    .action(async (kind: string, suitePath: string, flags: { out: string; seed: number; force?: boolean }) => {
      if (kind !== 'position' && kind !== 'chance') throw new AssayError('CONTROL_UNKNOWN', `unknown control "${kind}" (position or chance)`);
      const r = await writeControl(kind as ControlKind, suitePath, flags.out, { seed: flags.seed, ...(flags.force ? { force: true } : {}) });
      process.stdout.write(`wrote ${r.rows} samples → ${r.suiteFile}\n`);
    });

  suite
    .command('control-report')
    .description('Accuracy change between a reference run and its control run (paired by item; difference = reference − control)')
    .argument('<reference>', 'run log path or run id of the reference suite')
    .argument('<control>', 'run log path or run id of the control suite')
    .requiredOption('--scorer <name>', 'scorer to compare, e.g. generation or logprob')
    .option('--json', 'print JSON')
    .action(async (ref: string, ctl: string, flags: { scorer: string; json?: boolean }) => {
      const r = await compareControl(await resolveRunLog(ref), await resolveRunLog(ctl), flags.scorer);
      const c = r.comparison;
      if (flags.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else
        process.stdout.write(
          `${r.scorer}: reference ${(100 * c.meanA).toFixed(1)}%, control ${(100 * c.meanB).toFixed(1)}%, change ${(100 * -c.diff).toFixed(1)} points ` +
            `[${(100 * -c.ci.hi).toFixed(1)}, ${(100 * -c.ci.lo).toFixed(1)}] (${Math.round(c.level * 100)}% CI, paired over ${c.n} items, p=${c.p.toPrecision(2)})\n`,
        );
    });
}
