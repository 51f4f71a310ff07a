import { artefactDir } from './artefacts.js';
import { randomBytes } from 'node:crypto';
import { AssayError } from '../common/errors.js';
import { accessAtLeast, ModelCallError, type GenerateRequest, type GenerateResult, type ModelAdapter } from '../model/types.js';
import { createScorers } from '../score/registry.js';
import type { GraderModel, Score, Scorer } from '../score/types.js';
import type { LoadedSuite, Sample } from '../suite/types.js';
import { ASSAY_VERSION } from '../version.js';
import { AdaptiveLimiter } from './limiter.js';
import { dropTornTail, RunLogWriter, sampleLineParts, scanForResume } from './log-writer.js';
import { buildPrompt, type BuiltPrompt } from './prompt.js';
import { sampleRecordBase } from './record.js';
import { backoffDelay, sleep } from './retry.js';
import { RUN_LOG_SCHEMA, type EndRecord, type EventRecord, type RunConfig, type RunHeader, type SampleRecord, type WorkUnit } from './types.js';

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
}

export interface RunResult {
  runId: string;
  logPath: string;
  status: EndRecord['status'];
  header: RunHeader;
  /** Samples recorded by this invocation (not counting earlier runs of a resumed log). */
  newSamples: number;
  /** All sample records in the log, including earlier invocations. */
  totalSamples: number;
  errored: number;
  skipped: number;
  progress: Progress;
}

export function newRunId(now = new Date()): string {
  const ts = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `r-${ts}-${randomBytes(3).toString('hex')}`;
}

/**
 * Deferred per-sample work (scoring, the log record), released a few samples per turn of the event
 * loop: answers that arrive meanwhile are read, and their successors sent, between slices rather
 * than behind a whole batch. Eight samples is about half a millisecond of work.
 */
const SAMPLES_PER_TURN = 8;
const turnQueue: Array<() => void> = [];
let turnHead = 0;
let turnScheduled = false;
function releaseTurn(): void {
  for (let k = 0; k < SAMPLES_PER_TURN && turnHead < turnQueue.length; k++) turnQueue[turnHead++]!();
  // Under constant load the queue may never empty: drop the released head now and then.
  if (turnHead >= 1024 && turnHead * 2 >= turnQueue.length) {
    turnQueue.splice(0, turnHead);
    turnHead = 0;
  }
  if (turnHead < turnQueue.length) setImmediate(releaseTurn);
  else {
    turnQueue.length = turnHead = 0;
    turnScheduled = false;
  }
}
/** Resolves in a later check phase of the event loop, after the I/O callbacks already due. */
const nextTurn = () =>
  new Promise<void>((resolve) => {
    turnQueue.push(resolve);
    if (!turnScheduled) {
      turnScheduled = true;
      setImmediate(releaseTurn);
    }
  });

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

async function countUnits(suite: LoadedSuite, config: RunConfig): Promise<number> {
  let n = 0;
  if (config.sampleIds) for await (const _ of workUnits(suite, { ...config, epochs: 1 })) n++;
  else n = await suite.countSamples(config.limit ?? undefined);
  return n * config.epochs;
}

/**
 * Runs a suite against a model, appending one record per sample × epoch to a crash-safe log.
 * Infrastructure failures are retried and, if they persist, recorded as errors — never as wrong answers.
 */
export async function runSuite(opts: RunOptions): Promise<RunResult> {
  const { suite, model, config } = opts;
  if (!accessAtLeast(config.access, suite.def.access))
    throw new AssayError('ACCESS_INSUFFICIENT', `suite ${suite.def.id} needs ${suite.def.access} access; this run has ${config.access}`, { file: suite.file, field: 'access' });
  const scorers = createScorers(suite.def.scorers, opts.grader ? { grader: opts.grader } : {});
  const graded = scorers.filter((s) => s.needsGrader).map((s) => s.name);
  if (graded.length && !opts.grader)
    throw new AssayError('GRADER_REQUIRED', `suite ${suite.def.id} has model-graded scorers (${graded.join(', ')}); give a grader with --grader-model <provider/model>`, { file: suite.file, field: 'scorers' });
  const wantLogprobs = accessAtLeast(config.access, 'grey-box') && scorers.some((s) => s.needsLogprobs);
  if (wantLogprobs && !model.supportsLogprobs)
    throw new AssayError('LOGPROBS_UNSUPPORTED', `suite ${suite.def.id} scores by logprob but ${model.name} (${model.provider} API) returns none; run with --access black-box to score by generation only`, { field: 'access' });
  if (config.budget.maxCost !== null && !config.budget.pricePerMTok)
    throw new AssayError('BUDGET_NEEDS_PRICE', '--max-cost needs --price <input>,<output> (USD per million tokens)');
  // Agent suites: tasks validated and the sandbox back-end checked before the log is opened (loaded only when needed).
  const agentRuntime = suite.def.solver.type === 'agent' ? await (await import('../agent/executor.js')).AgentRuntime.create(suite) : null;

  let header: RunHeader;
  let writer: RunLogWriter;
  let done = new Set<string>();
  let priorErrored = 0;
  let priorUsage = { inputTokens: 0, outputTokens: 0 };
  if (opts.resume) {
    const existing = await scanForResume(opts.logPath);
    header = existing.header;
    if (header.suite.digest !== suite.digest)
      throw new AssayError('RESUME_SUITE_CHANGED', `the suite changed since this run started (log has ${header.suite.digest}, suite file now ${suite.digest}); start a new run`, { file: opts.logPath, field: 'suite.digest' });
    if (header.model.name !== model.name)
      throw new AssayError('RESUME_MODEL_CHANGED', `this run is for model ${header.model.name}, not ${model.name}`, { file: opts.logPath, field: 'model.name' });
    await dropTornTail(opts.logPath, existing);
    done = existing.doneKeys;
    priorErrored = existing.errored;
    priorUsage = existing.usage;
    if (opts.budgetOverride) header = { ...header, config: { ...header.config, budget: opts.budgetOverride } };
    writer = await RunLogWriter.append(opts.logPath, { sync: opts.durable });
    writer.write(event('resume', { alreadyDone: done.size, droppedTornBytes: existing.tornBytes, ...(opts.budgetOverride ? { budget: opts.budgetOverride } : {}) }));
  } else {
    header = {
      type: 'header',
      schema: RUN_LOG_SCHEMA,
      runId: opts.runId ?? newRunId(),
      suite: { id: suite.def.id, version: suite.def.version, digest: suite.digest, file: suite.file, definition: suite.def, dataDigests: suite.dataDigests },
      model: { name: model.name, provider: model.provider, model: model.model, baseUrl: model.baseUrl, simulated: opts.simulated ?? false },
      ...(opts.grader ? { grader: opts.grader.identity } : {}),
      config,
      assayVersion: ASSAY_VERSION,
      startedAt: new Date().toISOString(),
    };
    writer = await RunLogWriter.create(opts.logPath, { sync: opts.durable });
    writer.write(header);
  }
  // Everything below uses the header's config: a resumed run continues exactly as it began.
  const cfg = header.config;

  const started = Date.now();
  const progress: Progress = { total: 0, done: done.size, startDone: done.size, errored: priorErrored, inFlight: 0, concurrency: cfg.maxConnections, ...priorUsage, cost: 0, elapsedMs: 0 };
  progress.total = await countUnits(suite, cfg);

  const limiter = new AdaptiveLimiter(cfg.maxConnections, (c) => {
    progress.concurrency = c.to;
    writer.write(event('concurrency', { ...c }));
  });
  const price = cfg.budget.pricePerMTok;
  progress.cost = price ? (priorUsage.inputTokens * price.input + priorUsage.outputTokens * price.output) / 1e6 : 0;
  const costOf = (u: { inputTokens: number; outputTokens: number }) => (price ? (u.inputTokens * price.input + u.outputTokens * price.output) / 1e6 : 0);
  // Held in an object: set from callbacks, read in loops (plain `let` confuses narrowing).
  const state: { stop: EndRecord['status'] | null } = { stop: null };
  const budgetHit = () =>
    (cfg.budget.maxTokensTotal !== null && progress.inputTokens + progress.outputTokens >= cfg.budget.maxTokensTotal) ||
    (cfg.budget.maxCost !== null && progress.cost >= cfg.budget.maxCost);
  const onAbort = () => {
    if (!state.stop) state.stop = 'interrupted';
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();

  let newSamples = 0;
  let skipped = 0;
  let flaggedSimulated = false;
  const report = () => {
    progress.elapsedMs = Date.now() - started;
    progress.inFlight = limiter.active;
    opts.onProgress?.(progress);
  };

  async function execute(unit: WorkUnit): Promise<void> {
    if (agentRuntime) {
      // An agentic episode: many model calls and tool calls, recorded as one sample (src/agent).
      const out = await agentRuntime.run(unit, { model, config: cfg, limiter, ...(opts.signal ? { signal: opts.signal } : {}), onRetry: (d) => writer.write(event('retry', d)), stopped: () => state.stop === 'interrupted', artefactDir: artefactDir(opts.logPath) });
      if (!out) {
        skipped++;
        return;
      }
      if (out.simulated && !header.model.simulated && !flaggedSimulated) {
        flaggedSimulated = true;
        writer.write(event('simulated', { reason: 'responses carry x-assay-simulated: true' }));
      }
      const rec = out.record;
      if (!rec.error) rec.scores = await applyScorers(scorers, rec.sample, rec, false);
      writer.write(rec);
      newSamples++;
      progress.done++;
      if (rec.error) progress.errored++;
      progress.inputTokens += rec.usage?.inputTokens ?? 0;
      progress.outputTokens += rec.usage?.outputTokens ?? 0;
      progress.cost += costOf(rec.usage ?? { inputTokens: 0, outputTokens: 0 });
      return;
    }
    const prompt = buildPrompt(suite.def, unit.sample, cfg.seed, unit.epoch);
    const req: GenerateRequest = { messages: prompt.messages };
    if (cfg.maxTokens !== null) req.maxTokens = cfg.maxTokens;
    if (cfg.temperature !== null) req.temperature = cfg.temperature;
    if (wantLogprobs) {
      req.logprobs = true;
      req.topLogprobs = 10;
    }
    const t0 = Date.now();
    const startedAt = new Date(t0).toISOString();
    let result: GenerateResult | null = null;
    let failure: ModelCallError | null = null;
    let attempts = 0;
    for (;;) {
      attempts++;
      const gen = await limiter.acquire();
      try {
        result = await model.generate(req, { timeoutMs: cfg.timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) });
        limiter.onSuccess();
        break;
      } catch (e) {
        failure = e instanceof ModelCallError ? e : new ModelCallError('connection', (e as Error).message);
        if (failure.kind === 'rate_limit') limiter.onRateLimited(gen, failure.retryAfterMs);
      } finally {
        limiter.release();
      }
      if (!failure.retryable || attempts > cfg.maxRetries || state.stop === 'interrupted') break;
      const delay = backoffDelay(attempts - 1, { baseMs: cfg.retryBaseMs, maxDelayMs: cfg.retryMaxDelayMs }, failure.retryAfterMs);
      writer.write(event('retry', { key: unit.key, attempt: attempts, kind: failure.kind, status: failure.status, delayMs: Math.round(delay) }));
      await sleep(delay, opts.signal);
    }
    const latencyMs = Date.now() - t0;
    // The slot is free and the next unit's request is already queued as a microtask. Score and log
    // in a later check phase, after the answers already due have sent their successors: otherwise
    // answers that land together wait behind each other's scoring, the slots fall into step, and
    // each round trip grows by (connections × per-sample work).
    await nextTurn();
    if (!result && state.stop === 'interrupted') {
      skipped++; // never recorded: it will be run on resume
      return;
    }
    if (result?.simulated && !header.model.simulated && !flaggedSimulated) {
      // The endpoint is Assay's simulated target although the run was not started as one: say so in the log.
      flaggedSimulated = true;
      writer.write(event('simulated', { reason: 'responses carry x-assay-simulated: true' }));
    }
    const rec = result ? await scoreRecord(unit, prompt, req, result, scorers, wantLogprobs) : errorRecord(unit, prompt, req, failure!, attempts);
    rec.timing = { startedAt, latencyMs, attempts };
    writer.writeParts(sampleLineParts(rec, result?.wireText));
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
      execute(unit).then(finish, (e: unknown) => {
        // Only bugs and log-write failures reach here; model errors are recorded per sample.
        firstError ??= e;
        finish();
      });
    }
    if (pending > 0) await new Promise<void>((r) => (allDone = r));
    if (firstError) throw firstError;
  } finally {
    clearInterval(ticker);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  const status: EndRecord['status'] = state.stop ?? 'completed';
  if (status === 'interrupted') writer.write(event('interrupt', { pendingNotRecorded: skipped }));
  writer.write({ type: 'end', at: new Date().toISOString(), status, counts: { samples: progress.done, errored: progress.errored } });
  await writer.close();
  report();
  await model.close();
  await agentRuntime?.close();
  return { runId: header.runId, logPath: opts.logPath, status, header, newSamples, totalSamples: progress.done, errored: progress.errored, skipped, progress };
}

function event(kind: EventRecord['kind'], detail: Record<string, unknown>): EventRecord {
  return { type: 'event', at: new Date().toISOString(), kind, detail };
}

/** The record of a unit before the call: the request's parameters only (messages are recorded apart). */
const baseRecord = (unit: WorkUnit, prompt: BuiltPrompt, req: GenerateRequest): SampleRecord =>
  sampleRecordBase(unit, prompt, (({ messages: _m, ...params }) => params)(req));

function errorRecord(unit: WorkUnit, prompt: BuiltPrompt, req: GenerateRequest, err: ModelCallError, attempts: number): SampleRecord {
  const rec = baseRecord(unit, prompt, req);
  rec.error = { kind: err.kind, message: err.message, status: err.status, attempts };
  return rec;
}

async function scoreRecord(unit: WorkUnit, prompt: BuiltPrompt, req: GenerateRequest, result: GenerateResult, scorers: Scorer[], logprobsAllowed: boolean): Promise<SampleRecord> {
  const rec = baseRecord(unit, prompt, req);
  rec.sent = result.sent;
  rec.output = { content: result.content, logprobs: result.logprobs, finishReason: result.finishReason, requestId: result.requestId, model: result.model, raw: result.raw };
  rec.usage = result.usage;
  rec.scores = await applyScorers(scorers, unit.sample, rec, logprobsAllowed);
  return rec;
}

/** Scores a recorded output. Used by the engine and by `assay score` (re-scoring from the log alone). */
export async function applyScorers(
  scorers: Scorer[],
  sample: Omit<Sample, 'source'> & { source?: Sample['source'] },
  rec: Pick<SampleRecord, 'output' | 'shownChoices' | 'targetLetter' | 'agent'> & { scores?: SampleRecord['scores'] },
  logprobsAllowed: boolean,
): Promise<Record<string, Score>> {
  const out: Record<string, Score> = {};
  if (!rec.output) return out;
  const withSource = sample.source ? (sample as Sample) : { ...sample, source: { file: '' } };
  const output = { content: rec.output.content, logprobs: rec.output.logprobs };
  for (const s of scorers) {
    if (s.needsLogprobs && !logprobsAllowed) {
      out[s.name] = { status: 'unscored', reason: 'access level does not allow logprobs' };
      continue;
    }
    try {
      out[s.name] = await s.score({
        sample: withSource,
        output,
        ...(rec.shownChoices ? { shownChoices: rec.shownChoices } : {}),
        ...(rec.targetLetter ? { targetLetter: rec.targetLetter } : {}),
        ...(rec.agent ? { agent: rec.agent } : {}),
        // Re-scoring: what this scorer recorded before (a grader's raw answer can be re-parsed).
        ...(rec.scores?.[s.name] ? { recorded: rec.scores[s.name] } : {}),
      });
    } catch (e) {
      // A scorer bug is not the model's fault: record it as unscored with the reason.
      out[s.name] = { status: 'unscored', reason: `scorer error: ${(e as Error).message}` };
    }
  }
  return out;
}
