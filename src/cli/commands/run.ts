import { mkdirSync, existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { Command, Option } from 'commander';
import { AssayError } from '../../common/errors.js';
import { indexFile, runsDir } from '../../home.js';
import { ACCESS_LEVELS, type AccessLevel } from '../../model/types.js';
import { createModel } from '../../model/registry.js';
import { newRunId, runSuite, type RunResult } from '../../run/engine.js';
import { readRunHeader } from '../../run/log-reader.js';
import type { RunConfig } from '../../run/types.js';
import { rescoreRun } from '../../run/rescore.js';
import { RunIndex } from '../../store/runs.js';
import { loadSuite } from '../../suite/load.js';
import { graderFromAdapter } from '../../score/grader.js';
import { collect, int, num, price } from '../options.js';
import { progressReporter } from '../progress.js';
import { resultsTable, summarise } from '../results.js';

/** Options of `assay run` (commander's parsed flags). */
export interface RunFlags {
  model?: string;
  baseUrl?: string;
  apiKey?: string;
  access?: AccessLevel;
  maxConnections: number;
  limit?: number;
  epochs?: number;
  seed: number;
  sampleId?: string[];
  maxTokens?: number;
  temperature?: number;
  maxCost?: number;
  price?: { input: number; output: number };
  maxTokensTotal?: number;
  timeout: number;
  maxRetries: number;
  retryBaseMs: number;
  out?: string;
  resume?: string;
  progress: boolean;
  json?: boolean;
  simulated?: boolean;
  graderModel?: string;
  graderBaseUrl?: string;
  graderApiKey?: string;
}

/** The grader for model-graded scorers, when --grader-model is given. */
export function graderFromFlags(flags: { graderModel?: string; graderBaseUrl?: string; graderApiKey?: string; maxConnections?: number }) {
  if (!flags.graderModel) return undefined;
  const adapter = createModel(flags.graderModel, { ...(flags.graderBaseUrl ? { baseUrl: flags.graderBaseUrl } : {}), ...(flags.graderApiKey ? { apiKey: flags.graderApiKey } : {}), maxConnections: flags.maxConnections ?? 16 });
  return graderFromAdapter(adapter);
}

/** Resolve a run given as a log path or a run id (or unique prefix) from the index. */
export async function resolveRunLog(ref: string, index?: RunIndex): Promise<string> {
  if (existsSync(ref)) return resolve(ref);
  const idx = index ?? (await RunIndex.open(indexFile()));
  try {
    const row = await idx.get(ref);
    if (!row) throw new AssayError('RUN_NOT_FOUND', `no run log at "${ref}" and no unique run id starting with it in ${indexFile()}`);
    return row.logPath;
  } finally {
    if (!index) await idx.close();
  }
}

export async function indexRun(res: { runId: string; logPath: string; status: string; totalSamples: number; errored: number }, summary: unknown): Promise<void> {
  const header = await readRunHeader(res.logPath);
  const idx = await RunIndex.open(indexFile());
  try {
    await idx.upsert({
      runId: header.runId,
      suiteId: header.suite.id,
      suiteVersion: header.suite.version,
      suiteDigest: header.suite.digest,
      model: header.model.name,
      simulated: header.model.simulated,
      logPath: res.logPath,
      status: res.status,
      startedAt: header.startedAt,
      samples: res.totalSamples,
      errored: res.errored,
      rescoreOf: header.rescoreOf?.runId ?? null,
      summary,
    });
  } finally {
    await idx.close();
  }
}

export async function executeRun(suitePath: string, flags: RunFlags, signal?: AbortSignal): Promise<RunResult> {
  let logPath: string;
  let modelName = flags.model;
  let baseUrl = flags.baseUrl;
  let config: RunConfig;
  let suiteFile = suitePath;
  let budgetOverride: RunConfig['budget'] | undefined;
  if (flags.resume) {
    logPath = await resolveRunLog(flags.resume);
    const header = await readRunHeader(logPath);
    modelName = header.model.name;
    baseUrl ??= header.model.baseUrl;
    config = header.config;
    suiteFile = suitePath || header.suite.file;
    // A resumed run keeps its configuration; only the budget may be raised to let it finish.
    if (flags.maxTokensTotal !== undefined || flags.maxCost !== undefined || flags.price !== undefined)
      budgetOverride = {
        maxTokensTotal: flags.maxTokensTotal ?? config.budget.maxTokensTotal,
        maxCost: flags.maxCost ?? config.budget.maxCost,
        pricePerMTok: flags.price ?? config.budget.pricePerMTok,
      };
  } else {
    if (!modelName) throw new AssayError('USAGE', '--model is required (e.g. openai/gpt-4o, anthropic/claude-sonnet-4-5)');
    config = {
      epochs: 1,
      seed: flags.seed,
      limit: flags.limit ?? null,
      sampleIds: flags.sampleId ?? null,
      maxConnections: flags.maxConnections,
      maxTokens: flags.maxTokens ?? null,
      temperature: flags.temperature ?? null,
      timeoutMs: Math.round(flags.timeout * 1000),
      maxRetries: flags.maxRetries,
      retryBaseMs: flags.retryBaseMs,
      retryMaxDelayMs: 60_000,
      access: 'black-box',
      budget: { maxTokensTotal: flags.maxTokensTotal ?? null, maxCost: flags.maxCost ?? null, pricePerMTok: flags.price ?? null },
    };
    logPath = '';
  }
  const suite = await loadSuite(suiteFile);
  const model = createModel(modelName!, { ...(baseUrl ? { baseUrl } : {}), ...(flags.apiKey ? { apiKey: flags.apiKey } : {}), maxConnections: config.maxConnections });
  if (!flags.resume) {
    config.epochs = flags.epochs ?? suite.def.epochs;
    config.access = flags.access ?? (model.supportsLogprobs ? 'grey-box' : 'black-box');
  }
  const runId = newRunId();
  if (!flags.resume) {
    logPath = flags.out ? resolve(flags.out) : join(runsDir(), `${runId}.jsonl`);
    mkdirSync(dirname(logPath), { recursive: true });
  }
  const grader = graderFromFlags(flags);
  const reporter = progressReporter(process.stderr, { quiet: !flags.progress || !!flags.json });
  try {
    return await runSuite({ suite, model, config, logPath, resume: !!flags.resume, ...(budgetOverride ? { budgetOverride } : {}), runId, simulated: flags.simulated ?? false, signal, onProgress: (p) => reporter.update(p), ...(grader ? { grader } : {}) });
  } finally {
    reporter.stop();
    await grader?.close();
  }
}

/** SIGINT/SIGTERM stop dispatching and close the log cleanly; a second signal exits at once. */
export function interruptSignal(): AbortSignal {
  const ac = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) process.exit(130);
    process.stderr.write(`\nassay: ${sig} received: finishing in-flight samples and closing the log (again to quit now; resume later with --resume)\n`);
    ac.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return ac.signal;
}

export function register(program: Command): void {
  program
    .command('run')
    .description('Run suites against a model and write a crash-safe run log')
    .argument('[suite...]', 'suite files (suite.yaml)')
    .option('-m, --model <name>', 'provider/model, e.g. openai/gpt-4o or anthropic/claude-sonnet-4-5')
    .option('--base-url <url>', 'API base URL (default: OPENAI_BASE_URL / ANTHROPIC_BASE_URL or the provider default)')
    .option('--api-key <key>', 'API key (default: OPENAI_API_KEY / ANTHROPIC_API_KEY); never written to logs')
    .addOption(new Option('--access <level>', 'access level granted for this model (default: grey-box if the API returns logprobs)').choices(ACCESS_LEVELS as unknown as string[]))
    .option('-c, --max-connections <n>', 'maximum concurrent requests (adapts down on 429)', int(1, 4096), 16)
    .option('--limit <n>', 'only the first n samples', int(1))
    .option('--epochs <n>', 'epochs per sample (default: the suite\'s)', int(1, 1000))
    .option('--seed <n>', 'seed for choice shuffling and sampling', int(0), 0)
    .option('--sample-id <id>', 'only this sample (repeatable)', collect)
    .option('--max-tokens <n>', 'max output tokens per request', int(1))
    .option('--temperature <t>', 'sampling temperature', num(0, 2))
    .option('--max-cost <usd>', 'stop dispatching when spend reaches this (needs --price)', num(0))
    .option('--price <in,out>', 'USD per million input,output tokens, for cost accounting', price)
    .option('--max-tokens-total <n>', 'stop dispatching when total tokens reach this', int(1))
    .option('--timeout <s>', 'per-request timeout in seconds', num(0.001), 120)
    .option('--max-retries <n>', 'retries per request for 429, 5xx, timeouts, connection errors', int(0, 100), 6)
    .option('--retry-base-ms <ms>', 'backoff base (full jitter, doubling, capped at 60 s)', int(1), 1000)
    .option('-o, --out <path>', 'run log path (default: $ASSAY_HOME/runs/<run-id>.jsonl)')
    .option('--resume <run>', 'continue a killed or interrupted run (log path or run id)')
    .option('--no-progress', 'no progress display')
    .option('--json', 'print the result summary as JSON')
    .option('--grader-model <name>', 'provider/model that grades outputs for model-graded scorers (recorded in the log)')
    .option('--grader-base-url <url>', 'API base URL of the grader model')
    .option('--grader-api-key <key>', 'API key of the grader model (default: the provider\'s environment variable); never written to logs')
    .action(async (suites: string[], flags: RunFlags) => {
      if (!flags.resume && suites.length === 0) throw new AssayError('USAGE', 'give at least one suite file, or --resume <run>');
      if (flags.out && suites.length > 1) throw new AssayError('USAGE', '--out names one log; run one suite at a time with --out');
      const signal = interruptSignal();
      const list = flags.resume ? [suites[0] ?? ''] : suites;
      let worst = 0;
      for (const s of list) {
        const res = await executeRun(s, flags, signal);
        const summary = await summarise(res.logPath);
        await indexRun(res, summary);
        if (flags.json) process.stdout.write(JSON.stringify({ runId: res.runId, logPath: res.logPath, status: res.status, samples: res.totalSamples, errored: res.errored, stats: summary }, null, 2) + '\n');
        else process.stdout.write(resultsTable(res, summary));
        if (res.status !== 'completed') worst = Math.max(worst, 3);
        if (signal.aborted) break;
      }
      process.exitCode = worst;
    });

  program
    .command('score')
    .description('Re-score a run log without calling the model; writes a new linked log')
    .argument('<run>', 'run log path or run id')
    .option('--suite <file>', 'take scorers and metrics from this suite file (same dataset) instead of the run\'s own definition')
    .option('-o, --out <path>', 'new log path (default: $ASSAY_HOME/runs/<new-id>.jsonl)')
    .option('--json', 'print the result summary as JSON')
    .option('--grader-model <name>', 'grade model-graded scorers again with this model (default: re-parse the recorded grader answers)')
    .option('--grader-base-url <url>', 'API base URL of the grader model')
    .option('--grader-api-key <key>', 'API key of the grader model; never written to logs')
    .action(async (ref: string, flags: { suite?: string; out?: string; json?: boolean; graderModel?: string; graderBaseUrl?: string; graderApiKey?: string }) => {
      const src = await resolveRunLog(ref);
      const grader = graderFromFlags(flags);
      const res = await rescoreRun(src, { ...(flags.suite ? { suiteFile: flags.suite } : {}), ...(flags.out ? { out: resolve(flags.out) } : {}), ...(grader ? { grader } : {}) }).finally(() => grader?.close());
      const summary = await summarise(res.logPath);
      await indexRun(res, summary);
      if (flags.json) process.stdout.write(JSON.stringify({ ...res, stats: summary }, null, 2) + '\n');
      else process.stdout.write(`re-scored ${res.totalSamples} records of ${res.rescoreOf} → new run ${res.runId}\n` + resultsTable(res, summary));
    });

  const runs = program.command('runs').description('The run index (SQLite in $ASSAY_HOME; logs stay portable files)');
  runs
    .command('list')
    .option('--suite <id>')
    .option('--model <name>')
    .option('--limit <n>', 'most recent n', int(1), 50)
    .option('--json')
    .action(async (flags: { suite?: string; model?: string; limit: number; json?: boolean }) => {
      const idx = await RunIndex.open(indexFile());
      try {
        const rows = await idx.list(flags);
        if (flags.json) return void process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
        if (!rows.length) return void process.stdout.write('no runs yet\n');
        const lines = rows.map((r) => [r.runId, `${r.suiteId}@${r.suiteVersion}`, r.model + (r.simulated ? ' (SIMULATED)' : ''), r.status, String(r.samples), String(r.errored), r.rescoreOf ? `rescore of ${r.rescoreOf}` : '']);
        process.stdout.write(table(['run', 'suite', 'model', 'status', 'samples', 'errors', ''], lines));
      } finally {
        await idx.close();
      }
    });
  runs
    .command('show')
    .argument('<run>', 'run id (or unique prefix) or log path')
    .option('--json')
    .action(async (ref: string, flags: { json?: boolean }) => {
      const logPath = await resolveRunLog(ref);
      const header = await readRunHeader(logPath);
      const summary = await summarise(logPath);
      if (flags.json) return void process.stdout.write(JSON.stringify({ header, stats: summary }, null, 2) + '\n');
      process.stdout.write(
        [
          `run       ${header.runId}${header.rescoreOf ? ` (re-scoring of ${header.rescoreOf.runId})` : ''}`,
          `suite     ${header.suite.id}@${header.suite.version} ${header.suite.digest}`,
          `model     ${header.model.name} at ${header.model.baseUrl}${header.model.simulated ? ' — SIMULATED target, not a real model' : ''}`,
          `access    ${header.config.access}`,
          `started   ${header.startedAt} (assay ${header.assayVersion})`,
          `log       ${logPath}`,
          '',
        ].join('\n') + resultsTable({ status: '', totalSamples: NaN, errored: NaN }, summary),
      );
    });
}

export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n') + '\n';
}
