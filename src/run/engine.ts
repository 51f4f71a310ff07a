import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { acquireLock, type Lock } from '../common/lock.js';
import { AssayError } from '../common/errors.js';
import { accessAtLeast, type ModelAdapter } from '../model/types.js';
import { loadScorers } from '../score/factories.js';
import type { GraderModel, Scorer } from '../score/types.js';
import type { LoadedSuite } from '../suite/types.js';
import { ASSAY_VERSION } from '../version.js';
import { AdaptiveLimiter } from './limiter.js';
import { dropErroredRecords, dropTornTail, RunLogWriter, scanForResume } from './log-writer.js';
import { artefactDir } from './artefacts.js';
import { buildPrompt } from './prompt.js';
import { RUN_LOG_SCHEMA, type EndRecord, type EventRecord, type StopReason, type RunConfig, type RunHeader, type WorkUnit } from './types.js';
import { callModel, recordLineParts, requestFor, runUnit, type CallOutcome, type UnitContext, type UnitDispatch } from './unit.js';

export { applyScorers } from './scoring.js';

export interface Progress {
  total: number;
  done: number;
  /** Units already in the log when this invocation started (resume): rates count from here. */
  startDone: number;
  errored: number;
  inFlight: number;
  concurrency: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  elapsedMs: number;
}

export interface RunOptions {
  suite: LoadedSuite;
  model: ModelAdapter;
  config: RunConfig;
  logPath: string;
  /** Continue the log at logPath instead of starting a new one. */
  resume?: boolean;
  /** Whether the model is the built-in simulated target (recorded in the header). */
  simulated?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** fdatasync each batch of records (default true). */
  durable?: boolean;
  /** On resume: a new budget replacing the header's (e.g. to finish a run that ran out). */
  budgetOverride?: RunConfig['budget'];
  /** Id for a new run (default: generated). */
  runId?: string;
  /** Grader model for model-graded scorers (`--grader-model`); recorded in the header. */
  grader?: GraderModel;
  /**
   * Called once the run log is locked and its header is durable, before the first model call: the
   * CLI prints the run id and log path and registers the run in the index (status running).
   */
  onStart?: (info: { runId: string; logPath: string; header: RunHeader; resumed: boolean }) => void | Promise<void>;
  /** On resume: re-run the samples recorded as errored (their records are dropped first). */
  retryErrored?: boolean;
  /** Wall-clock limit for this invocation (ms); the run stops as `time_limit` and can be resumed. */
  maxDurationMs?: number | null;
  /** Consecutive unit failures of the endpoint (after retries) that stop the run as `endpoint_down`. Default 8. */
  breakerThreshold?: number;
  /** Responses larger than this (bytes) have their raw body stored once, as an artefact beside the log. Default 256 KiB. */
  rawInlineMaxBytes?: number;
  /** Distributed run (src/queue): units go to workers; this process only writes the log. */
  dispatch?: UnitDispatch;
}

export interface RunResult {
  runId: string;
  logPath: string;
  status: EndRecord['status'];
  /** Why an interrupted run stopped. */
  reason?: StopReason;
  header: RunHeader;
  /** Samples recorded by this invocation (not counting earlier runs of a resumed log). */
  newSamples: number;
  /** All sample records in the log, including earlier invocations. */
  totalSamples: number;
  errored: number;
  skipped: number;
  progress: Progress;
  /** Outcomes other than scored/errored recorded in the log (empty, filtered), over the whole run. */
  outcomes: { empty: number; filtered: number };
  /** Resume of a run that had already completed: nothing was sent or written. */
  alreadyComplete?: boolean;
}

/** The lock file that makes one process at a time the writer of a run log. */
/**
 * The lock file of a run log, named after the log's real path: a symlink to the log, or the log
 * reached through a symlinked folder, locks the same file (one writer however the log is named).
 */
export function runLogLockPath(logPath: string): string {
  let real: string;
  try {
    real = realpathSync(logPath);
  } catch {
    // Not created yet: the folder's real path and the name.
    try {
      real = join(realpathSync(dirname(resolve(logPath))), basename(logPath));
    } catch {
      real = resolve(logPath);
    }
  }
  return `${real}.lock`;
}

export function newRunId(now = new Date()): string {
  const ts = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `r-${ts}-${randomBytes(3).toString('hex')}`;
}

const unitKey = (sampleId: string, epoch: number) => `${sampleId}#${epoch}`;

/** Iterate the run's work units (sample × epoch) in a stable order, applying --sample-id and --limit. */
export async function* workUnits(suite: LoadedSuite, config: RunConfig): AsyncGenerator<WorkUnit> {
  const ids = config.sampleIds ? new Set(config.sampleIds) : null;
  for (let epoch = 1; epoch <= config.epochs; epoch++) {
    let taken = 0;
    for await (const sample of suite.samples()) {
      if (ids && !ids.has(sample.id)) continue;
      if (config.limit !== null && taken >= config.limit) break;
      taken++;
      yield { key: unitKey(sample.id, epoch), sample, epoch };
    }
  }
}

/**
 * Runs a suite against a model, appending one record per sample × epoch to a crash-safe log.
 * Infrastructure failures are retried and, if they persist, recorded as errors — never as wrong answers.
 */
export async function runSuite(opts: RunOptions): Promise<RunResult> {
  const { suite, model, config } = opts;
  if (!accessAtLeast(config.access, suite.def.access))
    throw new AssayError('ACCESS_INSUFFICIENT', `suite ${suite.def.id} needs ${suite.def.access} access; this run has ${config.access}`, { file: suite.file, field: 'access' });
  const created = await loadScorers(suite.def.scorers, opts.grader ? { grader: opts.grader } : {});
  // A scorer marked `optional: true` that needs a grader is recorded as unscored when no grader is given, so the suite's grader-free measures still run (issue 30).
  const optional = new Set(suite.def.scorers.filter((s) => (s as Record<string, unknown>).optional === true).map((s) => s.name ?? s.type));
  const scorers: Scorer[] = opts.grader ? created : created.map((s): Scorer => (s.needsGrader && optional.has(s.name) ? { name: s.name, type: s.type, score: () => ({ status: 'unscored', reason: 'optional model-graded scorer: no grader was given for this run' }) } : s));
  const graded = scorers.filter((s) => s.needsGrader).map((s) => s.name);
  if (graded.length && !opts.grader)
    throw new AssayError('GRADER_REQUIRED', `suite ${suite.def.id} has model-graded scorers (${graded.join(', ')}); give a grader with --grader-model <provider/model>`, { file: suite.file, field: 'scorers' });
  const wantLogprobs = accessAtLeast(config.access, 'grey-box') && scorers.some((s) => s.needsLogprobs);
  if (wantLogprobs && !model.supportsLogprobs)
    throw new AssayError('LOGPROBS_UNSUPPORTED', `suite ${suite.def.id} scores by logprob but ${model.name} (${model.provider} API) returns none; run with --access black-box to score by generation only`, { field: 'access' });
  if (config.budget.maxCost !== null && !config.budget.pricePerMTok)
    throw new AssayError('BUDGET_NEEDS_PRICE', '--max-cost needs --price <input>,<output> (USD per million tokens)');
  // Agent suites: tasks validated and the sandbox back-end checked before the log is opened (loaded only when needed).
  const agentRuntime = suite.def.solver.type === 'agent' && !opts.dispatch ? await (await import('../agent/executor.js')).AgentRuntime.create(suite) : null;

  // One writer per log: a kernel-released lock (common/lock.ts), taken before the log is read or
  // created and held to the end. A second `--resume` of the same run is refused, never interleaved.
  let lock: Lock;
  try {
    lock = await acquireLock(runLogLockPath(opts.logPath), { timeoutMs: 0, what: `run log ${opts.logPath}` });
  } catch (e) {
    if (e instanceof AssayError && e.code === 'LOCKED')
      throw new AssayError('RUN_LOCKED', 'this run log is in use by another assay process (the run, or a --resume of it, is still going): wait for it to finish or stop it first', { file: opts.logPath });
    throw e;
  }
  try {
    return await runLocked(opts, scorers, wantLogprobs, agentRuntime);
  } finally {
    lock.release();
  }
}

async function runLocked(opts: RunOptions, scorers: Scorer[], wantLogprobs: boolean, agentRuntime: Awaited<ReturnType<typeof import('../agent/executor.js').AgentRuntime.create>> | null): Promise<RunResult> {
  const { suite, model } = opts;
  let header: RunHeader;
  let writer: RunLogWriter;
  let done = new Set<string>();
  let priorErrored = 0;
  let priorUsage = { inputTokens: 0, outputTokens: 0 };
  const outcomes = { empty: 0, filtered: 0 };
  let existing: Awaited<ReturnType<typeof scanForResume>> | null = null;
  if (opts.resume) {
    existing = await scanForResume(opts.logPath);
    header = existing.header;
    if (header.suite.digest !== suite.digest)
      throw new AssayError('RESUME_SUITE_CHANGED', `the suite changed since this run started (log has ${header.suite.digest}, suite file now ${suite.digest}); start a new run`, { file: opts.logPath, field: 'suite.digest' });
    if (header.model.name !== model.name)
      throw new AssayError('RESUME_MODEL_CHANGED', `this run is for model ${header.model.name}, not ${model.name}`, { file: opts.logPath, field: 'model.name' });
    if (existing.endStatus === 'completed' && !(opts.retryErrored && existing.errored > 0)) {
      // Nothing to do: no call, no record (a completed log, maybe signed, stays byte for byte).
      await model.close();
      await agentRuntime?.close();
      const progress: Progress = { total: existing.doneKeys.size, done: existing.doneKeys.size, startDone: existing.doneKeys.size, errored: existing.errored, inFlight: 0, concurrency: 0, ...existing.usage, cost: 0, elapsedMs: 0 };
      return { runId: header.runId, logPath: opts.logPath, status: 'completed', header, newSamples: 0, totalSamples: existing.doneKeys.size, errored: existing.errored, skipped: 0, progress, outcomes: existing.outcomes, alreadyComplete: true };
    }
  } else {
    header = {
      type: 'header',
      schema: RUN_LOG_SCHEMA,
      runId: opts.runId ?? newRunId(),
      suite: { id: suite.def.id, version: suite.def.version, digest: suite.digest, file: suite.file, definition: suite.def, dataDigests: suite.dataDigests },
      model: { name: model.name, provider: model.provider, model: model.model, baseUrl: model.baseUrl, simulated: opts.simulated ?? false },
      ...(opts.grader ? { grader: opts.grader.identity } : {}),
      config: opts.config,
      assayVersion: ASSAY_VERSION,
      startedAt: new Date().toISOString(),
    };
  }
  // Everything below uses the header's config: a resumed run continues exactly as it began.
  if (opts.budgetOverride) header = { ...header, config: { ...header.config, budget: opts.budgetOverride } };
  const cfg = header.config;

  // Pre-flight, before any paid call and before the log is touched: the whole dataset is read and
  // checked (records, fields, encoding), so a bad line near the end costs nothing.
  const total = await validateUnits(suite, cfg);
  // A new run records how many items its suite holds, so a log with fewer is never read as whole.
  if (!existing) header = { ...header, suite: { ...header.suite, items: await suiteItems(suite, cfg, total) } };

  // Interruption, the wall-clock limit and the circuit breaker all cancel through one signal; every
  // in-flight call and every wait listens to it (hence no listener limit).
  const runAbort = new AbortController();
  setMaxListeners(0, runAbort.signal);
  const state: { stop: EndRecord['status'] | null; reason: StopReason | null } = { stop: null, reason: null };
  const stopWith = (why: StopReason) => {
    state.reason ??= why;
    if (!state.stop) state.stop = 'interrupted';
    limiterRef?.abortWaits();
    if (!runAbort.signal.aborted) runAbort.abort(new Error(why));
  };
  let limiterRef: AdaptiveLimiter | null = null;
  const onAbort = () => stopWith('signal');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  const signal = runAbort.signal;
  const retryAfterCap = cfg.retryAfterMaxMs ?? DEFAULT_RETRY_AFTER_MAX_MS;

  const unitCtx: UnitContext = { suiteDef: suite.def, model, config: cfg, scorers, wantLogprobs, signal, stopped: () => state.stop === 'interrupted', agentRuntime, artefactDir: artefactDir(opts.logPath), retryAfterCapMs: retryAfterCap };
  const dispatch = opts.dispatch ?? null;

  // Pre-flight probe: the first unit still to do is sent alone, before the log is opened. If the
  // endpoint cannot be reached or rejects the request (wrong port, key, model, missing option),
  // the run stops here with that error, having written nothing and spent at most one call. When
  // it succeeds its answer is the unit's record: the probe costs nothing extra.
  let probe: { unit: WorkUnit; t0: number; out: CallOutcome } | null = null;
  const probeEvents: EventRecord[] = [];
  // Distributed (src/queue): workers make every call, the coordinator none.
  if (!agentRuntime && !dispatch && total > (existing?.doneKeys.size ?? 0) && !state.stop) {
    for await (const unit of workUnits(suite, cfg)) {
      if (done.has(unit.key) || (existing?.doneKeys.has(unit.key) && !(opts.retryErrored && existing.erroredKeys.has(unit.key)))) continue;
      const t0 = Date.now();
      const out = await callModel(unitCtx, requestFor(unitCtx, unit).req, unit.key, null, Math.min(cfg.maxRetries, 2), (d) => probeEvents.push(event('retry', { ...d, probe: true })));
      if (!out.result && !state.stop) {
        await model.close();
        const f = out.failure!;
        throw new AssayError('PREFLIGHT_FAILED', `the first request to ${model.baseUrl} failed (${f.kind}${f.status ? ` ${f.status}` : ''}: ${f.message}) after ${out.attempts} attempt(s); nothing was written and no further request was sent`, { field: 'model' });
      }
      if (out.result) probe = { unit, t0, out };
      break;
    }
  }

  if (existing) {
    if (opts.retryErrored && existing.errored > 0) {
      // The errored records leave the log (their keys and errors go into a retry event): each key
      // keeps exactly one record, and the samples run again below.
      const dropped = await dropErroredRecords(opts.logPath, existing);
      existing = await scanForResume(opts.logPath);
      probeEvents.unshift(event('retry-errored', { dropped: dropped.length, keys: dropped.slice(0, 1000) }));
    } else await dropTornTail(opts.logPath, existing);
    done = existing.doneKeys;
    priorErrored = existing.errored;
    priorUsage = existing.usage;
    outcomes.empty = existing.outcomes.empty;
    outcomes.filtered = existing.outcomes.filtered;
    writer = await RunLogWriter.append(opts.logPath, { sync: opts.durable });
    writer.write(event('resume', { alreadyDone: done.size, droppedTornBytes: existing.tornBytes, ...(opts.budgetOverride ? { budget: opts.budgetOverride } : {}) }));
  } else {
    // The log appears with its header already durable (no empty log for a second Ctrl-C to leave).
    writer = await RunLogWriter.create(opts.logPath, { sync: opts.durable, header });
  }
  for (const e of probeEvents) writer.write(e);
  await writer.flush();
  await opts.onStart?.({ runId: header.runId, logPath: opts.logPath, header, resumed: !!opts.resume });
  await opts.dispatch?.start?.(header, artefactDir(opts.logPath));

  const started = Date.now();
  const progress: Progress = { total, done: done.size, startDone: done.size, errored: priorErrored, inFlight: 0, concurrency: cfg.maxConnections, ...priorUsage, cost: 0, elapsedMs: 0 };

  const limiter = new AdaptiveLimiter(cfg.maxConnections, (c) => {
    progress.concurrency = c.to;
    writer.write(event('concurrency', { ...c }));
  });
  limiterRef = limiter;
  if (state.stop) limiter.abortWaits();
  const price = cfg.budget.pricePerMTok;
  progress.cost = price ? (priorUsage.inputTokens * price.input + priorUsage.outputTokens * price.output) / 1e6 : 0;
  const costOf = (u: { inputTokens: number; outputTokens: number }) => (price ? (u.inputTokens * price.input + u.outputTokens * price.output) / 1e6 : 0);
  const budgetHit = () =>
    (cfg.budget.maxTokensTotal !== null && progress.inputTokens + progress.outputTokens >= cfg.budget.maxTokensTotal) ||
    (cfg.budget.maxCost !== null && progress.cost >= cfg.budget.maxCost);
  const wallTimer = opts.maxDurationMs ? setTimeout(() => {
    writer.write(event('time_limit', { maxDurationMs: opts.maxDurationMs }));
    stopWith('time_limit');
  }, opts.maxDurationMs) : null;
  wallTimer?.unref();
  // Circuit breaker: this many units in a row failing at the endpoint (after their retries) means
  // it is down; the run stops (resumable) instead of recording every remaining sample as errored.
  const breakerAt = opts.breakerThreshold ?? 8;
  let consecutiveDown = 0;
  const endpointDown = (f: { kind: string }) => f.kind === 'connection' || f.kind === 'timeout' || f.kind === 'server' || f.kind === 'rate_limit';

  let newSamples = 0;
  let skipped = 0;
  let flaggedSimulated = false;
  const report = () => {
    progress.elapsedMs = Date.now() - started;
    progress.inFlight = dispatch ? dispatch.inFlight : limiter.active;
    opts.onProgress?.(progress);
  };
  const rawMax = opts.rawInlineMaxBytes ?? 256 * 1024;

  async function execute(unit: WorkUnit, probed?: NonNullable<typeof probe>): Promise<void> {
    const onRetry = (d: Record<string, unknown>) => writer.write(event('retry', d));
    const out = dispatch ? await dispatch.run(unit, signal) : await runUnit(unitCtx, unit, limiter, onRetry, probed);
    if (!out) {
      skipped++; // never recorded: it will be run on resume
      return;
    }
    const failure = out.failure;
    if (!agentRuntime) {
      if (failure && !out.answered && endpointDown(failure)) {
        if (++consecutiveDown >= breakerAt && !state.stop) {
          writer.write(event('circuit_open', { consecutiveFailures: consecutiveDown, lastError: { kind: failure.kind, status: failure.status, message: failure.message } }));
          stopWith('endpoint_down');
        }
      } else if (out.answered) consecutiveDown = 0;
    }
    if (out.simulated && !header.model.simulated && !flaggedSimulated) {
      // The endpoint is Assay's simulated target although the run was not started as one: say so in the log.
      flaggedSimulated = true;
      writer.write(event('simulated', { reason: 'responses carry x-assay-simulated: true' }));
    }
    for (const e of out.events ?? []) writer.write(e);
    const rec = out.rec;
    if (rec.outcome) outcomes[rec.outcome]++;
    writer.writeParts(recordLineParts(out, artefactDir(opts.logPath), rawMax));
    newSamples++;
    progress.done++;
    if (rec.error) progress.errored++;
    if (rec.usage) {
      progress.inputTokens += rec.usage.inputTokens;
      progress.outputTokens += rec.usage.outputTokens;
      progress.cost += costOf(rec.usage);
    }
  }

  const ticker = setInterval(report, 250);
  ticker.unref();
  // Bound the units read ahead of the network so a huge dataset never sits in memory. A few
  // beyond the connections is enough (the reader refills as each sample finishes); more only
  // keeps built prompts alive across collections and costs GC time.
  const maxPending = cfg.maxConnections + Math.min(cfg.maxConnections, 16);
  let pending = 0;
  let slotFreed: (() => void) | null = null;
  let allDone: (() => void) | null = null;
  let firstError: unknown = null;
  const finish = () => {
    pending--;
    slotFreed?.();
    if (pending === 0) allDone?.();
  };
  try {
    for await (const unit of workUnits(suite, cfg)) {
      if (state.stop || firstError) break;
      if (done.has(unit.key)) continue;
      if (budgetHit()) {
        state.stop = 'budget_exhausted';
        writer.write(event('budget', { inputTokens: progress.inputTokens, outputTokens: progress.outputTokens, cost: progress.cost, budget: cfg.budget }));
        break;
      }
      while (pending >= maxPending) await new Promise<void>((r) => (slotFreed = r));
      slotFreed = null;
      if (state.stop) break;
      pending++;
      const probed = probe && probe.unit.key === unit.key ? probe : undefined;
      if (probed) probe = null;
      execute(unit, probed).then(finish, (e: unknown) => {
        // Only bugs and log-write failures reach here; model errors are recorded per sample.
        firstError ??= e;
        finish();
      });
    }
    if (pending > 0) await new Promise<void>((r) => (allDone = r));
    if (firstError) {
      // What is recorded stays durable (a lost queue, a failed write): the run resumes from the log.
      await writer.close().catch(() => {});
      throw firstError;
    }
  } finally {
    clearInterval(ticker);
    if (wallTimer) clearTimeout(wallTimer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  const status: EndRecord['status'] = state.stop ?? 'completed';
  const reason = status === 'interrupted' ? state.reason ?? 'signal' : null;
  if (status === 'interrupted') writer.write(event('interrupt', { reason, pendingNotRecorded: skipped }));
  writer.write({ type: 'end', at: new Date().toISOString(), status, ...(reason ? { reason } : {}), counts: { samples: progress.done, errored: progress.errored } });
  await writer.close();
  report();
  await model.close();
  await agentRuntime?.close();
  return { runId: header.runId, logPath: opts.logPath, status, ...(reason ? { reason } : {}), header, newSamples, totalSamples: progress.done, errored: progress.errored, skipped, progress, outcomes };
}

/** Default cap on a provider's Retry-After (ms): a long Retry-After is waited for this long at most, then retried. */
export const DEFAULT_RETRY_AFTER_MAX_MS = 60_000;

/**
 * Pre-flight: reads every work unit of the run once (each record parsed and checked — fields,
 * choices, targets, the template's metadata, encoding), so a bad record anywhere fails the run
 * before the first call. Returns the number of units. Prompts are not built here: `buildPrompt` is
 * total on a sample the reader accepted and a template the suite loader accepted (test/prompt-total.test.ts),
 * and building them was ~40 % of the pre-flight, which comes before the first request.
 */
async function validateUnits(suite: LoadedSuite, config: RunConfig): Promise<number> {
  let n = 0;
  for await (const _ of workUnits(suite, { ...config, epochs: 1 })) n++;
  return n * config.epochs;
}

/** Samples in the suite's dataset, before --limit and --sample-id (re-counted only when either was given). */
async function suiteItems(suite: LoadedSuite, config: RunConfig, total: number): Promise<number> {
  if (config.limit === null && config.sampleIds === null) return total / config.epochs;
  let n = 0;
  for await (const _ of suite.samples()) n++;
  return n;
}

function event(kind: EventRecord['kind'], detail: Record<string, unknown>): EventRecord {
  return { type: 'event', at: new Date().toISOString(), kind, detail };
}
