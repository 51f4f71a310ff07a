import { mkdirSync, existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { Command, Option } from 'commander';
import { AssayError } from '../../common/errors.js';
import { indexFile, runsDir } from '../../home.js';
import { ACCESS_LEVELS, type AccessLevel } from '../../model/types.js';
import { createModel } from '../../model/registry.js';
import { newRunId, runLogLockPath, runSuite, type RunResult } from '../../run/engine.js';
import { readRunHeader } from '../../run/log-reader.js';
import { scanForResume } from '../../run/log-writer.js';
import { acquireLock } from '../../common/lock.js';
import type { RunHeader } from '../../run/types.js';
import type { RunConfig } from '../../run/types.js';
// The run index (kysely + SQLite, ~100 ms and ~15 MB to load) is imported when first needed, so a
// run's first request does not wait for it (start-up target, docs/benchmarks.md). Likewise what
// only the end of a run, another command or an option uses: statistics and the results table,
// re-scoring, the grader, the progress bar, the observed access level.
import type { RunIndex } from '../../store/runs.js';
const runStore = () => import('../../store/runs.js');
const results = () => import('../results.js');
const summarise = async (logPath: string) => (await results()).summarise(logPath);
const observedAccessFromLog = async (logPath: string, opts: { untilConfirmed?: boolean } = {}) => (await import('../../run/access.js')).observedAccessFromLog(logPath, opts);
import { loadSuite } from '../../suite/load.js';
import { collect, int, num, price } from '../options.js';

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
  retryErrored?: boolean;
  maxErrorRate?: number;
  maxDuration?: number;
  maxRetryAfter?: number;
  /** Distributed run: the Redis URL of the BullMQ queue (src/queue); workers make the calls. */
  queue?: string;
  queuePrefix?: string;
  queueTimeout?: number;
}

const warn = (m: string) => process.stderr.write(`assay: warning: ${m}\n`);

/** The run index, rebuilt from the logs (with a warning) when it is missing or corrupt. */
export async function openIndex(): Promise<RunIndex> {
  const { RunIndex } = await runStore();
  // Counted for the warning: logs of finished or crashed runs (a fresh home holding only the run
  // now starting is a first use, not a lost index).
  return RunIndex.openOrRebuild(indexFile(), (idx) => reindexRuns(idx, []).then((r) => r.indexed - r.live), warn);
}

/** Whether a live process holds the run log's lock (a run or resume in progress). */
export async function runLogLive(logPath: string): Promise<boolean> {
  if (!existsSync(runLogLockPath(logPath))) return false;
  try {
    (await acquireLock(runLogLockPath(logPath), { timeoutMs: 0 })).release();
    return false;
  } catch (e) {
    if (e instanceof AssayError && e.code === 'LOCKED') return true;
    throw e;
  }
}

/** A run's state from its log alone: its end status, else running (lock held) or crashed. */
export async function runStateFromLog(logPath: string): Promise<{ header: RunHeader; status: string; samples: number; errored: number; simulated: boolean }> {
  const ex = await scanForResume(logPath);
  const status = ex.endStatus ?? ((await runLogLive(logPath)) ? 'running' : 'crashed');
  return { header: ex.header, status, samples: ex.doneKeys.size, errored: ex.errored, simulated: ex.header.model.simulated || ex.simulatedEvent };
}

/**
 * Rebuilds index rows from run logs: every `*.jsonl` in the runs folder, every log the index
 * already names, and `extra` files or folders. A log that cannot be read is reported and skipped.
 */
export async function reindexRuns(idx: RunIndex, extra: string[]): Promise<{ indexed: number; live: number; skipped: { file: string; why: string }[] }> {
  const { runLogsIn } = await runStore();
  const paths = new Set<string>(runLogsIn(runsDir()));
  for (const p of await idx.logPaths().catch(() => [])) paths.add(p);
  for (const e of extra) {
    const r = resolve(e);
    if (existsSync(r) && !r.endsWith('.jsonl')) for (const f of runLogsIn(r)) paths.add(f);
    else paths.add(r);
  }
  let indexed = 0;
  let live = 0;
  const skipped: { file: string; why: string }[] = [];
  for (const logPath of [...paths].sort()) {
    if (!existsSync(logPath)) continue;
    try {
      const st = await runStateFromLog(logPath);
      const h = st.header;
      await idx.upsert({ runId: h.runId, suiteId: h.suite.id, suiteVersion: h.suite.version, suiteDigest: h.suite.digest, model: h.model.name, simulated: st.simulated, logPath, status: st.status, startedAt: h.startedAt, samples: st.samples, errored: st.errored, rescoreOf: h.rescoreOf?.runId ?? null, summary: null });
      indexed++;
      if (st.status === 'running') live++;
    } catch (e) {
      skipped.push({ file: logPath, why: (e as Error).message });
    }
  }
  return { indexed, live, skipped };
}

/** The grader for model-graded scorers, when --grader-model is given. */
export async function graderFromFlags(flags: { graderModel?: string; graderBaseUrl?: string; graderApiKey?: string; maxConnections?: number }) {
  if (!flags.graderModel) return undefined;
  const adapter = createModel(flags.graderModel, { ...(flags.graderBaseUrl ? { baseUrl: flags.graderBaseUrl } : {}), ...(flags.graderApiKey ? { apiKey: flags.graderApiKey } : {}), maxConnections: flags.maxConnections ?? 16 });
  return (await import('../../score/grader.js')).graderFromAdapter(adapter);
}

/** Resolve a run given as a log path or a run id (or unique prefix) from the index. */
export async function resolveRunLog(ref: string, index?: RunIndex): Promise<string> {
  if (existsSync(ref)) return resolve(ref);
  const idx = index ?? (await openIndex());
  try {
    const row = await idx.get(ref);
    if (!row) throw new AssayError('RUN_NOT_FOUND', `no run log at "${ref}" and no unique run id starting with it in ${indexFile()}`);
    return row.logPath;
  } finally {
    if (!index) await idx.close();
  }
}

/**
 * Records a run in the index. Best effort: the index is a catalogue, never needed to finish a run
 * or print its results, so a failure here is a warning naming the fix.
 */
export async function indexRun(res: { runId: string; logPath: string; status: string; totalSamples: number; errored: number }, summary: unknown): Promise<void> {
  try {
    const header = await readRunHeader(res.logPath);
    const idx = await openIndex();
    try {
      await idx.upsert({
        runId: header.runId,
        suiteId: header.suite.id,
        suiteVersion: header.suite.version,
        suiteDigest: header.suite.digest,
        model: header.model.name,
        // Also when the endpoint turned out to be the simulated target (a 'simulated' event in the log).
        simulated: header.model.simulated || (summary as { simulated?: boolean } | null)?.simulated === true,
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
  } catch (e) {
    warn(`could not update the run index (${(e as Error).message}); the run log is complete at ${res.logPath} (\`assay runs reindex\` rebuilds the index)`);
  }
}

/** The run enters the index as soon as its log exists (status running); best effort, like indexRun. */
async function registerStart(header: RunHeader, logPath: string, status = 'running'): Promise<void> {
  try {
    const idx = await openIndex();
    try {
      const h = header;
      await idx.upsert({ runId: h.runId, suiteId: h.suite.id, suiteVersion: h.suite.version, suiteDigest: h.suite.digest, model: h.model.name, simulated: h.model.simulated, logPath, status, startedAt: h.startedAt, samples: 0, errored: 0, rescoreOf: h.rescoreOf?.runId ?? null, summary: null });
    } finally {
      await idx.close();
    }
  } catch (e) {
    warn(`could not register the run in the index (${(e as Error).message}); the run goes on`);
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
    // A signed report commits to the log's bytes: appending would break its verification.
    const report = logPath.replace(/\.jsonl$/, '') + '.report.json';
    if (existsSync(report))
      throw new AssayError('RUN_SIGNED', `this run has a signed report (${report}); a signed run is never changed: start a new run instead`, { file: logPath });
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
      retryAfterMaxMs: Math.round((flags.maxRetryAfter ?? 60) * 1000),
      access: 'black-box',
      budget: { maxTokensTotal: flags.maxTokensTotal ?? null, maxCost: flags.maxCost ?? null, pricePerMTok: flags.price ?? null },
    };
    logPath = '';
  }
  const suite = await loadSuite(suiteFile);
  // Distributed, the coordinator never calls the model: the key lives with the workers.
  const apiKey = flags.apiKey ?? (flags.queue && !providerKeySet(modelName!) ? 'unused-by-the-coordinator' : undefined);
  const model = createModel(modelName!, { ...(baseUrl ? { baseUrl } : {}), ...(apiKey ? { apiKey } : {}), maxConnections: config.maxConnections });
  // Provider-required options are checked before anything is sent or written.
  if (model.provider === 'anthropic' && config.maxTokens === null)
    throw new AssayError('USAGE', 'the Anthropic Messages API requires max_tokens: pass --max-tokens <n> (Assay does not invent a value)');
  if (!flags.resume) {
    config.epochs = flags.epochs ?? suite.def.epochs;
    config.access = flags.access ?? (model.supportsLogprobs ? 'grey-box' : 'black-box');
  }
  const runId = newRunId();
  if (!flags.resume) {
    logPath = flags.out ? resolve(flags.out) : join(runsDir(), `${runId}.jsonl`);
    mkdirSync(dirname(logPath), { recursive: true });
  }
  const grader = await graderFromFlags(flags);
  const reporter = !flags.progress || flags.json ? { update: () => {}, stop: () => {} } : (await import('../progress.js')).progressReporter(process.stderr);
  const dispatch = flags.queue ? await openCoordinator(flags) : undefined;
  let registration: Promise<void> | undefined;
  try {
    return await runSuite({
      ...(dispatch ? { dispatch } : {}),
      suite, model, config, logPath, resume: !!flags.resume, ...(budgetOverride ? { budgetOverride } : {}), runId, simulated: flags.simulated ?? false, signal,
      onProgress: (p) => reporter.update(p), ...(grader ? { grader } : {}),
      retryErrored: flags.retryErrored ?? false,
      maxDurationMs: flags.maxDuration !== undefined ? Math.round(flags.maxDuration * 1000) : null,
      // Printed at the start in every output mode (stderr, so --json stdout stays one document):
      // a killed run can always be found and resumed.
      onStart: async ({ runId: id, logPath: lp, header, resumed }) => {
        process.stderr.write(`assay: ${resumed ? 'resuming' : 'started'} run ${id}\n  log ${lp}\n  resume with: assay run --resume ${id}\n`);
        // Not awaited: the first requests go out while the index opens; awaited below, before the
        // end-of-run update, so the two index writes keep their order.
        registration = registerStart(header, lp);
      },
    });
  } finally {
    await registration;
    reporter.stop();
    await grader?.close();
    await dispatch?.close();
  }
}

/** Whether the provider's API key variable is set (OPENAI_API_KEY / ANTHROPIC_API_KEY). */
const providerKeySet = (name: string) => !!process.env[name.startsWith('anthropic/') ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY'];

async function openCoordinator(flags: RunFlags) {
  const { parseQueueUrl } = await import('../../queue/connection.js');
  const { QueueCoordinator } = await import('../../queue/coordinator.js');
  const target = parseQueueUrl(flags.queue!, flags.queuePrefix);
  return QueueCoordinator.open(target, { lostAfterMs: Math.round((flags.queueTimeout ?? 30) * 1000) });
}

/** SIGINT/SIGTERM stop dispatching and close the log cleanly; a second signal exits at once. */
export function interruptSignal(): AbortSignal {
  const ac = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) process.exit(130);
    process.stderr.write(`\nassay: ${sig} received: stopping; in-flight requests are cancelled (not recorded, they run again on --resume) and the log is closed. ${sig === 'SIGINT' ? 'Ctrl-C' : sig} again quits at once.\n`);
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
    .option('--timeout <s>', 'whole-request deadline in seconds (the complete answer, however it trickles)', num(0.001), 120)
    .option('--max-retries <n>', 'retries per request for 429, 5xx, timeouts, connection errors', int(0, 100), 6)
    .option('--retry-base-ms <ms>', 'backoff base (full jitter, doubling, capped at 60 s)', int(1), 1000)
    .option('-o, --out <path>', 'run log path (default: $ASSAY_HOME/runs/<run-id>.jsonl)')
    .option('--resume <run>', 'continue a killed or interrupted run (log path or run id)')
    .option('--retry-errored', 'with --resume: run again the samples recorded as errored')
    .option('--max-error-rate <fraction>', 'exit 4 when more than this fraction of samples errored (e.g. 0.05; for CI)', num(0, 1))
    .option('--max-duration <s>', 'wall-clock limit for this invocation; the run stops resumably when it is reached', num(0.001))
    .option('--max-retry-after <s>', 'longest Retry-After obeyed; a longer one is waited this long, then retried', num(0), 60)
    .option('--queue <url>', 'distributed: put the units on the BullMQ queue at this Redis URL (redis://host:6379/0) for `assay worker`s to run; this process writes the log')
    .option('--queue-prefix <prefix>', 'Redis key prefix of the queue (deployments sharing a Redis use different ones)', 'assay')
    .option('--queue-timeout <s>', 'Redis unreachable this long ends the run (resumable from the log)', num(0.1), 30)
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
        if (res.alreadyComplete) {
          process.stderr.write(`assay: run ${res.runId} is already complete: nothing sent, nothing written${res.errored ? ` (${res.errored} errored; --retry-errored runs them again)` : ''}\n`);
        }
        const summary = await summarise(res.logPath);
        await indexRun({ ...res, status: res.reason ? `interrupted (${res.reason})` : res.status }, summary);
        if (flags.json) process.stdout.write(JSON.stringify({ runId: res.runId, logPath: res.logPath, status: res.status, ...(res.reason ? { reason: res.reason } : {}), samples: res.totalSamples, errored: res.errored, outcomes: res.outcomes, stats: summary }, null, 2) + '\n');
        else process.stdout.write((await results()).resultsTable(res, summary));
        // Only the warning needs it: stop reading at the first record that got logprobs.
        const acc = await observedAccessFromLog(res.logPath, { untilConfirmed: true });
        if (acc.status === 'not returned') process.stderr.write(`assay: access: ${acc.note} (reports and policy evidence use black-box; pass --access black-box for such an endpoint)\n`);
        if (res.status !== 'completed') {
          worst = Math.max(worst, 3);
          process.stderr.write(`assay: run ${res.runId} ${res.reason === 'endpoint_down' ? 'stopped: the endpoint looks down (circuit breaker)' : res.reason === 'time_limit' ? 'stopped at --max-duration' : res.status}; continue with: assay run --resume ${res.runId}${res.errored ? ' --retry-errored' : ''}\n`);
        }
        const rate = res.totalSamples ? res.errored / res.totalSamples : 0;
        if (flags.maxErrorRate !== undefined && rate > flags.maxErrorRate) {
          process.stderr.write(`assay: ${res.errored} of ${res.totalSamples} samples errored (${(100 * rate).toFixed(1)}%), above --max-error-rate ${flags.maxErrorRate}\n`);
          worst = Math.max(worst, 4);
        }
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
      const grader = await graderFromFlags(flags);
      const { rescoreRun } = await import('../../run/rescore.js');
      const res = await rescoreRun(src, { ...(flags.suite ? { suiteFile: flags.suite } : {}), ...(flags.out ? { out: resolve(flags.out) } : {}), ...(grader ? { grader } : {}) }).finally(() => grader?.close());
      const summary = await summarise(res.logPath);
      await indexRun(res, summary);
      if (flags.json) process.stdout.write(JSON.stringify({ ...res, stats: summary }, null, 2) + '\n');
      else process.stdout.write(`re-scored ${res.totalSamples} records of ${res.rescoreOf} → new run ${res.runId}\n` + (await results()).resultsTable(res, summary));
    });

  const runs = program.command('runs').description('The run index (SQLite in $ASSAY_HOME; logs stay portable files)');
  runs
    .command('list')
    .option('--suite <id>')
    .option('--model <name>')
    .option('--limit <n>', 'most recent n', int(1), 50)
    .option('--json')
    .action(async (flags: { suite?: string; model?: string; limit: number; json?: boolean }) => {
      const idx = await openIndex();
      try {
        const rows = await idx.list(flags);
        // "running" in the index but no live process holds the log: it crashed (resume it).
        for (const r of rows) if (r.status === 'running' && !(await runLogLive(r.logPath))) r.status = 'crashed';
        if (flags.json) return void process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
        if (!rows.length) return void process.stdout.write('no runs yet\n');
        // Simulated runs are marked in a column of their own, which narrowing never cuts.
        const lines = rows.map((r) => [r.runId, `${r.suiteId}@${r.suiteVersion}`, r.model, r.simulated ? 'SIM' : '', r.status, String(r.samples), String(r.errored), r.rescoreOf ? `rescore of ${r.rescoreOf}` : '']);
        process.stdout.write(table(['run', 'suite', 'model', 'sim', 'status', 'samples', 'errors', ''], lines, terminalWidth()));
        if (rows.some((r) => r.simulated)) process.stdout.write('SIM: the simulated target, not a real model\n');
        if (rows.some((r) => r.status === 'crashed')) process.stdout.write('crashed runs continue with: assay run --resume <run>\n');
      } finally {
        await idx.close();
      }
    });
  runs
    .command('reindex')
    .description('Rebuild the run index from the run logs ($ASSAY_HOME/runs, the logs it already names, and any paths given)')
    .argument('[paths...]', 'more run logs or folders of them (e.g. logs written with --out)')
    .action(async (paths: string[]) => {
      const idx = await openIndex();
      try {
        const r = await reindexRuns(idx, paths);
        for (const sk of r.skipped) process.stderr.write(`assay: skipped ${sk.file}: ${sk.why}\n`);
        process.stdout.write(`indexed ${r.indexed} run log(s)${r.skipped.length ? `, skipped ${r.skipped.length} unreadable` : ''}\n`);
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
          `access    ${(await observedAccessFromLog(logPath)).note}`,
          `started   ${header.startedAt} (assay ${header.assayVersion})`,
          `log       ${logPath}`,
          '',
        ].join('\n') + (await results()).resultsTable({ status: '', totalSamples: NaN, errored: NaN }, summary),
      );
    });
}

/** Columns of the terminal stdout is on; 80 when it is not a terminal. */
export const terminalWidth = (stream: NodeJS.WriteStream = process.stdout): number => (stream.isTTY && stream.columns ? stream.columns : 80);

/**
 * A plain text table. With `width`, the widest columns but the first are shortened (ending in …) until a line
 * fits, down to 8 characters each: output fits 80 columns, or the terminal.
 */
export function table(head: string[], rows: string[][], width?: number): string {
  if (width) {
    // A column with no header and nothing in it only costs width.
    const keep = head.map((h, i) => h !== '' || rows.some((r) => (r[i] ?? '') !== ''));
    if (keep.includes(false)) return table(head.filter((_, i) => keep[i]), rows.map((r) => r.filter((_, i) => keep[i])), width);
  }
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  if (width) {
    const total = () => w.reduce((a, b) => a + b, 0) + 2 * (w.length - 1);
    // One character at a time from the widest column; the first (a run id, a name) stays whole:
    // it is what the reader copies.
    while (total() > width && w.length > 1) {
      const rest = w.slice(1);
      const i = 1 + rest.indexOf(Math.max(...rest));
      if (w[i]! <= 8) break;
      w[i]!--;
    }
  }
  const cell = (c: string, n: number) => (c.length > n ? c.slice(0, n - 1) + '…' : c.padEnd(n));
  const line = (r: string[]) => r.map((c, i) => cell(c, w[i]!)).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n') + '\n';
}
