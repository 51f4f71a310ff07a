import type { Command } from 'commander';
import { analyseRun, formatAnalysis } from '../../risk/reports/index.js';
import { int, num } from '../options.js';
import { graderFromFlags, resolveRunLog } from './run.js';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parse } from 'csv-parse/sync';
import { AssayError } from '../../common/errors.js';
import { XSTEST_LABEL, type RefusalMode } from '../../score/refusal.js';
import { formatModeValidation, validateMode, type ClassifierValidation, type LabelledExchange } from '../../score/refusal-validation.js';

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
  registerRefusalValidate(program);
}

/**
 * `assay refusal-validate <csv...>`: measure a refusal classifier mode (rules, string_match, or a
 * grader model) against human-labelled completions in XSTest's format (columns prompt, completion,
 * final_label; type optional). This is how the model-graded route is validated before its figures
 * are published (suites/over-refusal/METHODOLOGY.md).
 */
export function registerRefusalValidate(program: Command): void {
  program
    .command('refusal-validate')
    .description('Validate the refusal classifier (rules, string_match or a grader model) against human-labelled completions (XSTest CSV format)')
    .argument('<csv...>', 'labelled completion files: columns prompt, completion, final_label or label (1_full_compliance | 2_full_refusal | 3_partial_refusal)')
    .option('--mode <mode>', 'rules | string_match | grader', 'rules')
    .option('--grader-model <name>', 'provider/model of the grader (mode grader)')
    .option('--grader-base-url <url>', 'base URL of the grader API')
    .option('--grader-api-key <key>', 'API key of the grader (default: the provider environment variable)')
    .option('--max-connections <n>', 'concurrent grader calls', int(1), 8)
    .option('--json', 'print JSON')
    .action(async (files: string[], f: { mode: string; graderModel?: string; graderBaseUrl?: string; graderApiKey?: string; maxConnections: number; json?: boolean }) => {
      if (!['rules', 'string_match', 'grader'].includes(f.mode)) throw new AssayError('USAGE', `--mode must be rules, string_match or grader, got "${f.mode}"`);
      if (f.mode === 'grader' && !f.graderModel) throw new AssayError('USAGE', '--mode grader needs --grader-model');
      const grader = f.mode === 'grader' ? await graderFromFlags(f) : undefined;
      const out: { file: string; validation: ClassifierValidation }[] = [];
      for (const file of files) {
        const rows = readLabelled(file);
        out.push({ file, validation: await validateMode(rows, f.mode as RefusalMode, grader ? { grader } : {}, { concurrency: f.maxConnections }) });
      }
      process.stdout.write(f.json ? JSON.stringify(out, null, 2) + '\n' : out.map((o) => formatModeValidation(basename(o.file), o.validation)).join('\n\n') + '\n');
    });
}

function readLabelled(file: string): LabelledExchange[] {
  let recs: Record<string, string>[];
  try {
    recs = parse(readFileSync(file), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  } catch (e) {
    throw new AssayError('INPUT_INVALID', `${file}: not a readable CSV (${(e as Error).message})`);
  }
  return recs.map((r, i) => {
    // `label` (Assay's written sets, e.g. completions_written_2.csv) is accepted for XSTest's `final_label`.
    const finalLabel = r.final_label ?? r.label;
    for (const k of ['prompt', 'completion']) if (typeof r[k] !== 'string') throw new AssayError('INPUT_INVALID', `${file}: row ${i + 2} has no "${k}" column`);
    if (typeof finalLabel !== 'string') throw new AssayError('INPUT_INVALID', `${file}: row ${i + 2} has no "final_label" column`);
    if (!XSTEST_LABEL[finalLabel.trim()]) throw new AssayError('INPUT_INVALID', `${file}: row ${i + 2}: unknown final_label "${finalLabel}" (expected 1_full_compliance, 2_full_refusal or 3_partial_refusal)`);
    return { prompt: r.prompt!, completion: r.completion!, finalLabel, ...(r.type ? { type: r.type } : {}) };
  });
}
