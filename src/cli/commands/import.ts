import { dirname, join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../attest/bundle.js';
import { parseInspectLog } from '../../external/inspect.js';
import { parseLmEval } from '../../external/lmeval.js';
import { importedRunLog, type ImportedRun } from '../../external/runlog.js';
import { runsDir } from '../../home.js';
import { statsForRun } from '../../stats/from-log.js';
import { readInput } from '../input.js';

/** Writes the run log, then checks each imported metric against what the harness itself reported. */
async function write(run: ImportedRun, out: string | undefined, json: boolean | undefined): Promise<void> {
  const text = importedRunLog(run);
  const runId = (JSON.parse(text.slice(0, text.indexOf('\n'))) as { runId: string }).runId;
  const path = resolve(out ?? join(runsDir(), `${runId}.jsonl`));
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, text);
  const stats = await statsForRun(path, { resamples: 0 });
  const checks = run.provenance.reported.map((r) => {
    const m = stats.metrics.find((x) => x.name === r.metric);
    const mean = m?.mean ?? null;
    const se = m?.se ?? null;
    const same = (a: number | null, b: number | null) => a !== null && b !== null && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
    return { metric: r.metric, reported: r.value, imported: mean, valueMatches: same(mean, r.value), reportedStderr: r.stderr, importedSe: se, stderrMatches: r.stderr === null ? null : same(se, r.stderr) };
  });
  if (json) process.stdout.write(JSON.stringify({ log: path, runId, provenance: run.provenance, checks }, null, 2) + '\n');
  else {
    process.stdout.write(`imported ${run.samples.length} samples from ${run.provenance.harness.name}${run.provenance.harness.version ? ` ${run.provenance.harness.version}` : ''} (NOT executed by Assay) → ${path}\n`);
    for (const c of checks)
      process.stdout.write(`  ${c.metric}: harness reported ${c.reported}${c.reportedStderr !== null ? ` (stderr ${c.reportedStderr})` : ''}; imported ${c.imported}${c.importedSe !== null ? ` (se ${c.importedSe})` : ''}: ${c.valueMatches ? 'same' : 'DIFFERENT'}${c.stderrMatches === false ? ', stderr differs' : ''}\n`);
    for (const n of run.provenance.notes) process.stdout.write(`  note: ${n}\n`);
  }
  if (checks.some((c) => !c.valueMatches)) process.exitCode = 4;
}

export function register(program: Command): void {
  const imp = program.command('import').description('Import results another harness produced into an Assay run log, with provenance (not executed by Assay)');
  imp
    .command('inspect')
    .description('An Inspect JSON eval log (log format 2; .eval archives are not read)')
    .argument('<log>', 'Inspect .json log')
    .option('--out <file>', 'run log to write (default: $ASSAY_HOME/runs/<run-id>.jsonl)')
    .option('--json', 'machine-readable summary')
    .addHelpText('after', '\nExit 4 when an imported metric differs from the aggregate the log records about itself.')
    .action(async (file: string, f: { out?: string; json?: boolean }) => write(parseInspectLog(readInput(file, 'Inspect log'), file), f.out, f.json));
  imp
    .command('lm-eval')
    .description('lm-evaluation-harness results JSON with its --log_samples file')
    .argument('<results>', 'results_<time>.json')
    .requiredOption('--samples <file>', 'samples_<task>_<time>.jsonl')
    .option('--task <name>', 'task name (default: from the samples file name)')
    .option('--out <file>', 'run log to write')
    .option('--json', 'machine-readable summary')
    .action(async (file: string, f: { samples: string; task?: string; out?: string; json?: boolean }) =>
      write(parseLmEval({ bytes: readInput(file, 'results'), file }, { bytes: readInput(f.samples, 'samples'), file: f.samples }, f.task ? { task: f.task } : {}), f.out, f.json),
    );
}
