import { Job, Queue, QueueEvents, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { AssayError } from '../common/errors.js';
import { buildPrompt } from '../run/prompt.js';
import { accessAtLeast } from '../model/types.js';
import { createScorers } from '../score/registry.js';
import type { Score, Scorer } from '../score/types.js';
import { applyScorers } from '../run/scoring.js';
import type { SampleRecord } from '../run/types.js';
import type { EventRecord, RunHeader, WorkUnit } from '../run/types.js';
import type { UnitDispatch, UnitOutcome } from '../run/unit.js';
import { QUEUE_NAME, type QueueTarget } from './connection.js';
import { JOB_VERSION, jobIdFor, parseResult, specKey, type RunSpec, type UnitJob } from './protocol.js';

export interface CoordinatorOptions {
  /** Redis unreachable for this long (ms) ends the run with QUEUE_LOST (resumable from the log). Default 30 s. */
  lostAfterMs?: number;
  /** BullMQ attempts per unit job (a worker crash or a worker-side failure); model retries are the engine's. Default 5. */
  attempts?: number;
  /** How often outstanding jobs are re-checked in Redis, covering completion events missed across a reconnect. Default 1 s. */
  sweepMs?: number;
}

interface Waiter {
  unit: WorkUnit;
  expectedMessages: unknown;
  resolve: (o: UnitOutcome | null) => void;
  reject: (e: unknown) => void;
  settled: boolean;
}

/** Completed and failed jobs stay in Redis this long (a coordinator down for less collects them on resume). */
const KEEP_S = 7 * 24 * 3600;

/**
 * The coordinator's side of a distributed run: each unit becomes a BullMQ job keyed by
 * (run, sample, epoch) and its result comes back as the job's return value. The engine
 * (src/run/engine.ts) writes every result to the one canonical log, exactly as a local run does.
 */
export class QueueCoordinator implements UnitDispatch {
  private readonly waiting = new Map<string, Waiter>();
  private runId: string | null = null;
  private agentic = false;
  private lost: AssayError | null = null;
  private downSince: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;
  private lastError: string | null = null;
  /** The run's header as published (results' prompts are checked against it). */
  private header: RunHeader | null = null;
  /** The run's scorers that need no grader: each result's scores are recomputed and must match. */
  private rescorers: { scorers: Scorer[]; logprobsAllowed: boolean } | null = null;

  private constructor(
    private readonly target: QueueTarget,
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    private readonly redis: Redis,
    private readonly opts: Required<CoordinatorOptions>,
  ) {}

  static async open(target: QueueTarget, options: CoordinatorOptions = {}): Promise<QueueCoordinator> {
    const opts = { lostAfterMs: options.lostAfterMs ?? 30_000, attempts: options.attempts ?? 5, sweepMs: options.sweepMs ?? 1000 };
    const connection = { ...target.connection } as ConnectionOptions;
    const queue = new Queue(QUEUE_NAME, { connection, prefix: target.prefix });
    const events = new QueueEvents(QUEUE_NAME, { connection, prefix: target.prefix });
    // Our own client: the run's specification, and the watchdog that notices a lost server.
    const redis = new Redis({ ...target.connection, lazyConnect: true });
    const c = new QueueCoordinator(target, queue, events, redis, opts);
    queue.on('error', (e) => (c.lastError = e.message));
    events.on('error', (e) => (c.lastError = e.message));
    redis.on('error', (e: Error) => (c.lastError = e.message));
    try {
      await withTimeout(redis.connect(), Math.min(opts.lostAfterMs, 10_000));
      await withTimeout(redis.ping(), Math.min(opts.lostAfterMs, 10_000));
      await withTimeout(events.waitUntilReady(), Math.min(opts.lostAfterMs, 10_000));
    } catch {
      await c.shutdown(500);
      throw new AssayError('QUEUE_UNREACHABLE', `cannot reach Redis at ${target.display}${c.lastError ? ` (${c.lastError})` : ''}; nothing was sent or written`, { field: 'queue' });
    }
    events.on('completed', ({ jobId, returnvalue }) => c.settleCompleted(jobId, returnvalue));
    events.on('failed', ({ jobId }) => void c.check(jobId));
    c.timer = setInterval(() => void c.tick(), Math.min(opts.sweepMs, 500));
    c.timer.unref();
    return c;
  }

  get inFlight(): number {
    return this.waiting.size;
  }

  /** Publishes the run's specification for workers (once the header is durable, before the first unit). */
  async start(header: RunHeader, artefactDir: string): Promise<void> {
    this.runId = header.runId;
    this.header = header;
    const all = createScorers(header.suite.definition.scorers, {});
    // Model-graded scorers cannot be recomputed here (no grader). A scorer that only falls back to a grader
    // (mcq_letter with fallback: grader) is: verifyScores re-reads the worker's recorded grader answer.
    this.rescorers = { scorers: all.filter((x) => !x.needsGrader), logprobsAllowed: accessAtLeast(header.config.access, 'grey-box') && all.some((x) => x.needsLogprobs) };
    this.agentic = header.suite.definition.solver.type === 'agent';
    const spec: RunSpec = { v: JOB_VERSION, header, artefactDir };
    await this.redis.set(specKey(this.target.prefix, header.runId), JSON.stringify(spec), 'EX', KEEP_S);
  }

  run(unit: WorkUnit, signal: AbortSignal): Promise<UnitOutcome | null> {
    if (this.lost) return Promise.reject(this.lost);
    if (!this.runId) return Promise.reject(new Error('queue coordinator: start() was not called'));
    const runId = this.runId;
    const jobId = jobIdFor(runId, unit.key);
    const expectedMessages = this.agentic ? undefined : buildPromptMessages(unit, this.header);
    return new Promise<UnitOutcome | null>((resolve, reject) => {
      const w: Waiter = { unit, expectedMessages, resolve, reject, settled: false };
      this.waiting.set(jobId, w);
      const onAbort = () => this.settle(jobId, (x) => x.resolve(null)); // the job stays queued: its result is collected on resume
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
      const data: UnitJob = { v: JOB_VERSION, runId, key: unit.key, epoch: unit.epoch, sample: unit.sample };
      this.queue
        // Added before (a resumed run), the job may already be done or have failed for good: the
        // sweep finds it within one tick. New jobs cost no lookup (their completion event is awaited).
        .add('unit', data, { jobId, attempts: this.opts.attempts, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: KEEP_S }, removeOnFail: { age: KEEP_S } })
        .catch((e: Error) => this.settle(jobId, (x) => x.reject(new AssayError('QUEUE_ERROR', `could not queue ${unit.key}: ${e.message}`))));
    });
  }


  private settle(jobId: string, f: (w: Waiter) => void): void {
    const w = this.waiting.get(jobId);
    if (!w || w.settled) return;
    w.settled = true;
    this.waiting.delete(jobId);
    f(w);
  }

  private settleCompleted(jobId: string, returnvalue: unknown): void {
    const w = this.waiting.get(jobId);
    if (!w || w.settled) return;
    // Not readable yet (a job read while Redis is going away): the sweep looks again.
    if (returnvalue === null || returnvalue === undefined || returnvalue === 'null') return;
    try {
      const res = parseResult(returnvalue, w.unit, w.expectedMessages);
      const events: EventRecord[] = [...res.outcome.events];
      if (res.attempt > 1 || res.stalled > 0)
        // The unit's job ran more than once (a worker was lost mid-sample, or failed): recorded per sample.
        events.unshift({ type: 'event', at: new Date().toISOString(), kind: 'retry', detail: { key: w.unit.key, kind: 'worker', jobAttempt: res.attempt, stalled: res.stalled, worker: res.worker } });
      const { events: _e, ...outcome } = res.outcome;
      w.settled = true; // claimed: a second event for this job while the scores are checked is ignored
      const check = this.agentic || !this.rescorers ? Promise.resolve(null) : verifyScores(outcome.rec, w.unit, this.rescorers.scorers, this.rescorers.logprobsAllowed);
      check.then(
        (bad) => {
          this.waiting.delete(jobId);
          if (bad) w.reject(new AssayError('QUEUE_BAD_RESULT', `refused a worker's result: ${bad}`));
          else w.resolve({ ...outcome, events });
        },
        (e: unknown) => {
          this.waiting.delete(jobId);
          w.reject(e);
        },
      );
    } catch (e) {
      this.settle(jobId, (x) => x.reject(new AssayError('QUEUE_BAD_RESULT', `refused a worker's result: ${(e as Error).message}`)));
    }
  }

  /** Looks a job up in Redis: collects a result, retries a job that failed for good before this invocation. */
  private async check(jobId: string): Promise<void> {
    const w = this.waiting.get(jobId);
    if (!w || w.settled) return;
    const job = await Job.fromId(this.queue, jobId);
    if (!job) return;
    const state = await job.getState();
    if (state === 'completed') this.settleCompleted(jobId, job.returnvalue);
    else if (state === 'failed') {
      if (job.attemptsMade >= this.opts.attempts)
        this.settle(jobId, (x) => x.reject(new AssayError('QUEUE_JOB_FAILED', `unit ${w.unit.key} failed on the workers after ${job.attemptsMade} attempt(s): ${job.failedReason}`)));
      else await job.retry('failed');
    }
  }

  private async tick(): Promise<void> {
    const status = this.redis.status;
    if (status !== 'ready') {
      this.downSince ??= Date.now();
      if (Date.now() - this.downSince > this.opts.lostAfterMs && !this.lost) {
        this.lost = new AssayError('QUEUE_LOST', `lost the connection to Redis at ${this.target.display} for more than ${Math.round(this.opts.lostAfterMs / 1000)} s${this.lastError ? ` (${this.lastError})` : ''}; every result received is in the run log: continue with assay run --resume ${this.runId ?? '<run>'} --queue <url>`);
        for (const id of [...this.waiting.keys()]) this.settle(id, (x) => x.reject(this.lost));
      }
      return;
    }
    this.downSince = null;
    if (this.sweeping || this.waiting.size === 0) return;
    this.sweeping = true;
    try {
      for (const id of [...this.waiting.keys()]) await this.check(id).catch(() => {});
    } finally {
      this.sweeping = false;
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.shutdown(2000);
  }

  /** BullMQ closes the clients it created; bounded, since a dead server never answers QUIT. */
  private async shutdown(ms: number): Promise<void> {
    this.redis.disconnect();
    await withTimeout(Promise.all([this.events.close(), this.queue.close()]), ms).catch(async () => {
      await withTimeout(Promise.all([this.events.disconnect(), this.queue.disconnect()]), 500).catch(() => {});
    });
  }
}

/**
 * Recomputes a result's scores with the run's deterministic scorers (those needing no grader) and
 * names the first that differs: a worker, or anyone who can write to Redis, cannot change a score.
 * Null when they all match.
 */
export async function verifyScores(rec: SampleRecord, unit: WorkUnit, scorers: Scorer[], logprobsAllowed: boolean): Promise<string | null> {
  if (!rec.output || rec.outcome || rec.error) return Object.keys(rec.scores ?? {}).length && (rec.error || rec.outcome) ? `result for ${unit.key} has scores but no scorable answer` : null;
  // A grader-fallback score is recomputed from the worker's recorded grader answer (re-parsed, as
  // `assay score` does without a grader): the rules' reading, the grader prompt's digest and the letter
  // drawn from the grader's reply must all follow. The reply itself cannot be checked without a grader.
  const recorded = Object.fromEntries(scorers.filter((s) => s.usesGrader && rec.scores[s.name]).map((s) => [s.name, rec.scores[s.name]!]));
  const again = await applyScorers(scorers, unit.sample, { ...rec, scores: recorded }, logprobsAllowed);
  for (const s of scorers) {
    const mine = rec.scores[s.name];
    const theirs = s.usesGrader ? asRecorded(again[s.name]) : again[s.name];
    // The worker's grader call failed (no reply recorded): what follows is that the rules could not read the answer and it stays unreadable.
    if (s.usesGrader && mine?.grader?.raw === null && mine.status === 'unscored' && mine.outcome === 'unreadable' && theirs?.status === 'unscored' && theirs.outcome === 'unreadable' && !theirs.grader) continue;
    if (JSON.stringify(theirs) !== JSON.stringify(mine)) return `scores of ${unit.key} do not follow from its answer (${s.name}: recorded ${JSON.stringify(rec.scores[s.name])}, recomputed ${JSON.stringify(again[s.name])})`;
  }
  return null;
}

/** A re-parsed grader score as the worker recorded it (without the `reparsedFrom` mark the re-parse adds). */
function asRecorded(score: Score | undefined): Score | undefined {
  if (!score?.grader || score.grader.reparsedFrom !== 'recorded') return score;
  const { reparsedFrom: _, ...grader } = score.grader;
  return { ...score, grader };
}

function buildPromptMessages(unit: WorkUnit, header: RunHeader | null): unknown {
  if (!header) return undefined;
  return buildPrompt(header.suite.definition, unit.sample, header.config.seed, unit.epoch).messages;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then((v) => (clearTimeout(t), resolve(v)), (e: unknown) => (clearTimeout(t), reject(e)));
  });
}
