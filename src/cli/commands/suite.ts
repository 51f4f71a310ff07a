import { registerHeldOut } from './suite-heldout.js';
import { stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { AssayError } from '../../common/errors.js';
import { findSuites, loadSuite } from '../../suite/load.js';
import type { LoadedSuite } from '../../suite/types.js';
import { textTable } from '../../stats/format.js';
import { registerImport } from './suite-import.js';
import { createScorers } from '../../score/registry.js';
import { formatLint, isShipped, lintSuite } from '../../suite/lint.js';
import { lintReviewDates } from '../../suite/lint-review.js';

/** A suite argument may name the suite.yaml or the folder holding it. */
async function suiteFile(arg: string): Promise<string> {
  try {
    if ((await stat(arg)).isDirectory()) return join(arg, 'suite.yaml');
  } catch {
    // Not there: loadSuite reports it with the path as given.
  }
  return arg;
}

/** Load a suite and read every sample, so data errors surface now rather than mid-run. */
async function validate(arg: string): Promise<{ suite: LoadedSuite; samples: number }> {
  const suite = await loadSuite(await suiteFile(arg));
  // Scorers resolved as a run would (unknown types and duplicate names are errors here, not mid-run).
  createScorers(suite.def.scorers);
  let samples = 0;
  for await (const _ of suite.samples()) samples++;
  return { suite, samples };
}

const describeError = (e: unknown) => (e instanceof AssayError ? `[${e.code}] ${e.message}` : e instanceof Error ? e.message : String(e));

export function register(program: Command): void {
  const suite = program.command('suite').description('Check, digest, list, import and derive test suites');
  registerImport(suite);
  registerHeldOut(suite);

  suite
    .command('validate')
    .description('Validate suite files and every sample of their data; prints id@version, sample count and digest')
    .argument('<file...>', 'suite.yaml files (or folders holding one)')
    .action(async (files: string[]) => {
      let failed = 0;
      for (const f of files) {
        try {
          const { suite: s, samples } = await validate(f);
          process.stdout.write(`OK   ${s.def.id}@${s.def.version}  ${samples} samples  ${s.digest}  (${f})\n`);
        } catch (e) {
          failed++;
          process.stderr.write(`FAIL ${describeError(e)}\n`);
        }
      }
      if (failed) process.exitCode = 2;
    });

  suite
    .command('lint')
    .description('Artefact checks of multiple-choice suites (trivial strategies vs chance, answer positions, duplicate prompts) and review dates of dated reference answers (as_of, review_by)')
    .argument('<file...>', 'suite.yaml files (or folders holding one)')
    .option('--imported', 'treat as imported data (findings warn instead of failing)')
    .option('--shipped', 'treat as shipped data (findings fail)')
    .option('--today <date>', 'date for the review-date check (YYYY-MM-DD; default: today, UTC)')
    .option('--json', 'print JSON')
    .action(async (files: string[], flags: { imported?: boolean; shipped?: boolean; today?: string; json?: boolean }) => {
      const today = flags.today ?? new Date().toISOString().slice(0, 10);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(today)) throw new AssayError('USAGE', `--today must be YYYY-MM-DD, got "${today}"`);
      const reports: { verdict: string }[] = [];
      for (const f of files) {
        const s = await loadSuite(await suiteFile(f));
        const shipped = flags.imported ? false : flags.shipped ? true : isShipped(s);
        const r = await lintSuite(s, { shipped });
        // Dated reference answers (issue 30): as_of / review_by on time-sensitive items, overdue reviews.
        const rv = await lintReviewDates(s, { shipped, today });
        if (rv) {
          reports.push(rv);
          if (!flags.json) process.stdout.write(`${formatLint({ ...rv, strategies: [], positions: {}, duplicates: [] })}\n`);
        }
        if (!r) {
          if (!flags.json && !rv) process.stdout.write(`skip ${s.def.id}@${s.def.version}: not a multiple-choice suite and no dated items\n`);
          continue;
        }
        reports.push(r);
        if (!flags.json) process.stdout.write(`${formatLint(r)}\n`);
      }
      if (flags.json) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
      if (reports.some((r) => r.verdict === 'fail')) process.exitCode = 2;
    });

  suite
    .command('digest')
    .description('Print the suite digest (sha256 over the canonical definition and the data file hashes)')
    .argument('<file>', 'suite.yaml (or its folder)')
    .action(async (file: string) => {
      const s = await loadSuite(await suiteFile(file));
      process.stdout.write(`${s.digest}\n`);
    });

  suite
    .command('list')
    .description('List the suites in a folder (each subfolder holding a suite.yaml)')
    .argument('[dir]', 'folder to search', 'suites')
    .action(async (dir: string) => {
      const files = await findSuites(dir);
      if (!files.length) {
        process.stderr.write(`no suites found in ${dir} (expected <dir>/<name>/suite.yaml)\n`);
        return;
      }
      const rows: string[][] = [];
      const seen = new Map<string, { digest: string; file: string }>();
      let failed = 0;
      for (const f of files) {
        try {
          const s = await loadSuite(f);
          const d = s.def;
          const dup = seen.get(`${d.id}@${d.version}`);
          if (dup && dup.digest !== s.digest) {
            failed++;
            process.stderr.write(`FAIL [SUITE_AMBIGUOUS] ${d.id}@${d.version} is both ${dup.file} and ${f} with different digests: commands resolving the id would refuse it\n`);
          } else if (!dup) seen.set(`${d.id}@${d.version}`, { digest: s.digest, file: f });
          rows.push([d.id, d.version, d.riskArea, d.access, String(await s.countSamples()), s.digest.slice(0, 'sha256:'.length + 12)]);
        } catch (e) {
          failed++;
          rows.push([relative(process.cwd(), f), '—', '—', '—', '—', 'INVALID']);
          process.stderr.write(`FAIL ${describeError(e)}\n`);
        }
      }
      process.stdout.write(textTable(['id', 'version', 'risk area', 'access', 'samples', 'digest'], rows));
      if (failed) process.exitCode = 2;
    });
}
