import type { AgentRuntime } from '../agent/executor.js';
import { ModelCallError, type GenerateRequest, type GenerateResult, type ModelAdapter } from '../model/types.js';
import type { Scorer } from '../score/types.js';
import type { SuiteDefinition } from '../suite/types.js';
import { putArtefact } from './artefacts.js';
import type { AdaptiveLimiter } from './limiter.js';
import { sampleLineParts } from './log-writer.js';
import { buildPrompt, type BuiltPrompt } from './prompt.js';
import { sampleRecordBase } from './record.js';
import { backoffDelay, sleep } from './retry.js';
import type { EventRecord, RunConfig, RunHeader, SampleRecord, WorkUnit } from './types.js';
import { applyScorers } from './scoring.js';

/**
 * One work unit (sample × epoch) through the engine: the model call with retries under the
 * limiter, scoring, and the sample record. The local engine and a queue worker (src/queue) both
 * run units through this, so a distributed run calls, retries and scores exactly as a local one.
 */
export interface UnitContext {
  suiteDef: SuiteDefinition;
  model: ModelAdapter;
  config: RunConfig;
  scorers: Scorer[];
  wantLogprobs: boolean;
  signal: AbortSignal;
  /** The run is stopping: no further retry, and an unanswered unit is skipped (run again on resume). */
  stopped: () => boolean;
  /** Agentic suites: the episode runner (src/agent). */
  agentRuntime: AgentRuntime | null;
  /** Where an agentic episode keeps its artefacts. */
  artefactDir?: string;
  /** Retry-After cap, ms. */
  retryAfterCapMs: number;
}

export interface CallOutcome {
  result: GenerateResult | null;
  failure: ModelCallError | null;
  attempts: number;
}

/** What a unit produced: its record (and the exact wire text), or null when it was skipped by a stop. */
export interface UnitOutcome {
  rec: SampleRecord;
  wire?: { request: string; response: string };
  /** The call's failure when no call succeeded (the circuit breaker counts these). */
  failure: { kind: string; status: number | null; message: string } | null;
  /** A call or episode succeeded. */
  answered: boolean;
  /** The answer came from Assay's simulated target (response header). */
  simulated: boolean;
  /** Distributed: events the worker recorded for this unit (its retries), written before the record. */
  events?: EventRecord[];
}

/**
 * Where a coordinator sends its units instead of running them (src/queue): `run` resolves with the
 * unit's outcome as a worker produced it, or null when the run stopped first.
 */
export interface UnitDispatch {
  /** Called once the log's header is durable, before the first unit (publishes the run for workers). */
  start?(header: RunHeader, artefactDir: string): Promise<void>;
  run(unit: WorkUnit, signal: AbortSignal): Promise<UnitOutcome | null>;
  /** Units sent and not yet back (for the progress display). */
  readonly inFlight: number;
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
export const nextTurn = () =>
  new Promise<void>((resolve) => {
    turnQueue.push(resolve);
    if (!turnScheduled) {
      turnScheduled = true;
      setImmediate(releaseTurn);
    }
  });

/** One model call with retries; the failure (after retries) when it did not succeed. */
export async function callModel(ctx: UnitContext, req: GenerateRequest, key: string, limiter: AdaptiveLimiter | null, maxRetries: number, onRetry: (d: Record<string, unknown>) => void): Promise<CallOutcome> {
  const cfg = ctx.config;
  const cap = ctx.retryAfterCapMs;
  let result: GenerateResult | null = null;
  let failure: ModelCallError | null = null;
  let attempts = 0;
  for (;;) {
    attempts++;
    const gen = limiter ? await limiter.acquire() : 0;
    try {
      result = await ctx.model.generate(req, { timeoutMs: cfg.timeoutMs, signal: ctx.signal });
      limiter?.onSuccess();
      break;
    } catch (e) {
      failure = e instanceof ModelCallError ? e : new ModelCallError('connection', (e as Error).message);
      const retryAfter = failure.retryAfterMs === null ? null : Math.min(failure.retryAfterMs, cap);
      if (failure.kind === 'rate_limit') limiter?.onRateLimited(gen, retryAfter);
    } finally {
      limiter?.release();
    }
    if (!failure.retryable || attempts > maxRetries || ctx.stopped()) break;
    const retryAfter = failure.retryAfterMs === null ? null : Math.min(failure.retryAfterMs, cap);
    const delay = backoffDelay(attempts - 1, { baseMs: cfg.retryBaseMs, maxDelayMs: cfg.retryMaxDelayMs }, retryAfter);
    onRetry({ key, attempt: attempts, kind: failure.kind, status: failure.status, delayMs: Math.round(delay), ...(failure.retryAfterMs !== null && failure.retryAfterMs > cap ? { retryAfterCappedFromMs: failure.retryAfterMs } : {}) });
    await sleep(delay, ctx.signal);
  }
  return { result, failure, attempts };
}

export function requestFor(ctx: UnitContext, unit: WorkUnit): { prompt: BuiltPrompt; req: GenerateRequest } {
  const cfg = ctx.config;
  const prompt = buildPrompt(ctx.suiteDef, unit.sample, cfg.seed, unit.epoch);
  const req: GenerateRequest = { messages: prompt.messages };
  if (cfg.maxTokens !== null) req.maxTokens = cfg.maxTokens;
  if (cfg.temperature !== null) req.temperature = cfg.temperature;
  if (ctx.wantLogprobs) {
    req.logprobs = true;
    req.topLogprobs = 10;
  }
  return { prompt, req };
}

/**
 * Runs one unit: `probed` is the pre-flight probe's call when this unit was the probe (its answer
 * is reused, never sent twice). Null when the run stopped before the unit was answered.
 */
export async function runUnit(ctx: UnitContext, unit: WorkUnit, limiter: AdaptiveLimiter, onRetry: (d: Record<string, unknown>) => void, probed?: { t0: number; out: CallOutcome }): Promise<UnitOutcome | null> {
  if (ctx.agentRuntime) {
    // An agentic episode: many model calls and tool calls, recorded as one sample (src/agent).
    const out = await ctx.agentRuntime.run(unit, { model: ctx.model, config: ctx.config, limiter, signal: ctx.signal, onRetry, stopped: ctx.stopped, ...(ctx.artefactDir ? { artefactDir: ctx.artefactDir } : {}) });
    if (!out) return null;
    const rec = out.record;
    if (!rec.error) rec.scores = await applyScorers(ctx.scorers, rec.sample, rec, false);
    return { rec, failure: null, answered: !rec.error, simulated: !!out.simulated };
  }
  const { prompt, req } = requestFor(ctx, unit);
  const t0 = probed?.t0 ?? Date.now();
  const startedAt = new Date(t0).toISOString();
  const { result, failure, attempts } = probed?.out ?? (await callModel(ctx, req, unit.key, limiter, ctx.config.maxRetries, onRetry));
  const latencyMs = Date.now() - t0;
  // The slot is free and the next unit's request is already queued as a microtask. Score and log
  // in a later check phase, after the answers already due have sent their successors: otherwise
  // answers that land together wait behind each other's scoring, the slots fall into step, and
  // each round trip grows by (connections × per-sample work).
  await nextTurn();
  if (!result && ctx.stopped()) return null; // never recorded: it will be run on resume
  const rec = result ? await scoreRecord(unit, prompt, req, result, ctx.scorers, ctx.wantLogprobs) : errorRecord(unit, prompt, req, failure!, attempts);
  rec.timing = { startedAt, latencyMs, attempts };
  return {
    rec,
    ...(result?.wireText ? { wire: result.wireText } : {}),
    failure: result ? null : { kind: failure!.kind, status: failure!.status, message: failure!.message },
    answered: !!result,
    simulated: !!result?.simulated,
  };
}

/**
 * The log line of a unit's record: a large raw answer goes into the artefact store beside the log
 * once (the record keeps the content and a reference); otherwise the raw body is kept byte for byte.
 */
export function recordLineParts(out: Pick<UnitOutcome, 'rec' | 'wire'>, artefacts: string, rawMax: number): string[] {
  const rec = out.rec;
  let wire = out.wire;
  if (wire && rec.output && wire.response.length > rawMax / 3 && Buffer.byteLength(wire.response) > rawMax) {
    const ref = putArtefact(artefacts, wire.response, 'application/json');
    rec.output.raw = ref;
    wire = { request: wire.request, response: JSON.stringify(ref) };
  }
  return sampleLineParts(rec, wire);
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
  // No answer to score: the provider filtered it, or sent no content. Recorded under its own
  // outcome (common/outcome.ts), excluded from metrics, never scored as wrong.
  if (result.outcome) rec.outcome = result.outcome;
  else rec.scores = await applyScorers(scorers, unit.sample, rec, logprobsAllowed);
  return rec;
}
