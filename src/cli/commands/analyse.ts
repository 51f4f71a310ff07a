import type { Command } from 'commander';
import { analyseRun, formatAnalysis } from '../../risk/reports/index.js';
import { int, num } from '../options.js';
import { resolveRunLog } from './run.js';

/** `assay analyse <run>`: suite-specific risk analyses (discrimination, BBQ bias, refusal, elections). */
export function register(program: Command): void {
  program
    .command('analyse')
    .alias('analyze')
    .description('Suite-specific analysis of a run: discrimination scores, BBQ bias scores, refusal by label, election facts, paired even-handedness')
    .argument('<run>', 'run log path or run id')
    .option('--level <p>', 'confidence level', num(0.5, 0.9999), 0.95)
    .option('--seed <n>', 'bootstrap seed', int(0), 0)
    .option('--resamples <n>', 'bootstrap resamples (0: none)', int(0), 1000)
    .option('--json', 'print JSON')
    .action(async (ref: string, f: { level: number; seed: number; resamples: number; json?: boolean }) => {
      const a = await analyseRun(await resolveRunLog(ref), { level: f.level, seed: f.seed, resamples: f.resamples });
      process.stdout.write(f.json ? JSON.stringify(a, null, 2) + '\n' : formatAnalysis(a));
    });
}
