import { hostname } from 'node:os';
import { join } from 'node:path';
import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { assayHome } from '../home.js';
import { createModel } from '../model/registry.js';
import { accessAtLeast, type ModelAdapter } from '../model/types.js';
import { graderFromAdapter } from '../score/grader.js';
import { createScorers } from '../score/registry.js';
import { DEFAULT_RETRY_AFTER_MAX_MS } from '../run/engine.js';
import { RUN_LOG_SCHEMA, type EventRecord, type RunHeader } from '../run/types.js';
import { runUnit, type UnitContext } from '../run/unit.js';
import { AdaptiveLimiter } from '../run/limiter.js';
import { QUEUE_NAME, type QueueTarget } from './connection.js';
import { JOB_VERSION, parseJob, specKey, type RunSpec, type UnitResult } from './protocol.js';
import { SharedLimiter } from './shared-limiter.js';

export interface WorkerOptions {
  target: QueueTarget;
  /** Units this worker runs at once (each holds at most one model call at a time). */
  concurrency: number;
  /** The endpoint this worker's key may be sent to (default: the provider's env variable or default URL). */
  baseUrl?: string;
  apiKey?: string;
  graderBaseUrl?: string;
  graderApiKey?: string;
  /** BullMQ job lock (ms): a worker that stops renewing it (killed) loses its job to another after this. Default 30 s. */
  lockDurationMs?: number;
  /** Where agentic episodes keep artefacts, per run (`<dir>/<runId>`; default $ASSAY_HOME/worker-artefacts). */
  artefactDir?: string;
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** false: each worker adapts on its own (the behaviour the shared limiter exists to prevent; for comparison only). */
  sharedLimits?: boolean;
}

interface WorkerRun {
  ctx: UnitContext;
  limiter: AdaptiveLimiter;
  close(): Promise<void>;
}

/**
 * A queue worker: takes unit jobs of any run from the queue and runs each through the engine's
 * unit path (src/run/unit.ts: same adapter, retries, limiter rules, scorers, agent sandbox),
 * returning the record to the coordinator. It never writes a run log.
 */
export async function startWorker(opts: WorkerOptions): Promise<{ worker: Worker; close(force?: boolean): Promise<void> }> {
  const log = opts.log ?? (() => {});
  const name = `${hostname()}:${process.pid}`;
  const redis = new Redis({ ...opts.target.connection });
  redis.on('error', (e: Error) => log(`redis: ${e.message}`));
  const abort = new AbortController();
  const runs = new Map<string, Promise<WorkerRun>>();

  async function openRun(runId: string): Promise<WorkerRun> {
    const raw = await redis.get(specKey(opts.target.prefix, runId));
    if (!raw) throw new UnrecoverableError(`run ${runId} has no specification in Redis (expired or never published)`);
    const spec = JSON.parse(raw) as RunSpec;
    const h: RunHeader = spec.header;
    if (spec.v !== JOB_VERSION || h?.schema !== RUN_LOG_SCHEMA || h.runId !== runId) throw new UnrecoverableError(`run ${runId}: specification is not a ${RUN_LOG_SCHEMA} header for this run`);
    const cfg = h.config;
    // The worker's key goes only to the endpoint the worker was configured for, never to one named in Redis.
    const model = createModel(h.model.name, { ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}), ...(opts.apiKey ? { apiKey: opts.apiKey } : {}), maxConnections: cfg.maxConnections, ...(opts.env ? { env: opts.env } : {}) });
    if (model.baseUrl !== h.model.baseUrl) {
      await model.close();
      throw new Error(`run ${runId} calls ${h.model.baseUrl}, but this worker sends its key only to ${model.baseUrl}: start the worker with --base-url ${h.model.baseUrl} if that endpoint is trusted`);
    }
    let graderAdapter: ModelAdapter | null = null;
    if (h.grader) {
      graderAdapter = createModel(h.grader.name, { ...(opts.graderBaseUrl ? { baseUrl: opts.graderBaseUrl } : {}), ...(opts.graderApiKey ? { apiKey: opts.graderApiKey } : {}), maxConnections: cfg.maxConnections, ...(opts.env ? { env: opts.env } : {}) });
      if (graderAdapter.baseUrl !== h.grader.baseUrl) {
        await graderAdapter.close();
        await model.close();
        throw new Error(`run ${runId} grades with ${h.grader.baseUrl}, but this worker sends its grader key only to ${graderAdapter.baseUrl}: start it with --grader-base-url ${h.grader.baseUrl}`);
      }
    }
    const grader = graderAdapter ? graderFromAdapter(graderAdapter) : null;
    const scorers = createScorers(h.suite.definition.scorers, grader ? { grader } : {});
    const wantLogprobs = accessAtLeast(cfg.access, 'grey-box') && scorers.some((s) => s.needsLogprobs);
    let agentRuntime: UnitContext['agentRuntime'] = null;
    if (h.suite.definition.solver.type === 'agent') {
      // Episodes need the suite's task files and sandbox: the same suite file, byte for byte.
      const { loadSuite } = await import('../suite/load.js');
      const suite = await loadSuite(h.suite.file);
      if (suite.digest !== h.suite.digest) throw new Error(`run ${runId}: the suite at ${h.suite.file} on this worker is ${suite.digest}, the run's is ${h.suite.digest}`);
      agentRuntime = await (await import('../agent/executor.js')).AgentRuntime.create(suite);
    }
    const limiter = opts.sharedLimits === false ? new AdaptiveLimiter(cfg.maxConnections) : new SharedLimiter(redis, opts.target.prefix, runId, cfg.maxConnections, cfg.timeoutMs + 30_000, (e) => log(`shared limiter: ${e.message}`));
    const ctx: UnitContext = {
      suiteDef: h.suite.definition, model, config: cfg, scorers, wantLogprobs, signal: abort.signal, stopped: () => abort.signal.aborted,
      // Never a path read from Redis: whoever can write there must not choose where a worker writes files.
      agentRuntime, artefactDir: join(opts.artefactDir ?? join(assayHome(), 'worker-artefacts'), runId), retryAfterCapMs: cfg.retryAfterMaxMs ?? DEFAULT_RETRY_AFTER_MAX_MS,
    };
    log(`run ${runId}: ${h.suite.id}@${h.suite.version} against ${h.model.name}`);
    return {
      ctx, limiter,
      close: async () => {
        limiter.abortWaits();
        await model.close();
        await grader?.close();
        await agentRuntime?.close();
      },
    };
  }

  function runFor(runId: string): Promise<WorkerRun> {
    let p = runs.get(runId);
    if (!p) {
      p = openRun(runId);
      runs.set(runId, p);
      // A failed open is not cached: the next job tries again (a fixed config, a spec published late).
      p.catch(() => runs.delete(runId));
    }
    return p;
  }

  async function processJob(job: Job): Promise<UnitResult> {
    let data;
    try {
      data = parseJob(job.data);
    } catch (e) {
      throw new UnrecoverableError((e as Error).message);
    }
    const run = await runFor(data.runId);
    const events: EventRecord[] = [];
    const out = await runUnit(run.ctx, { key: data.key, sample: data.sample, epoch: data.epoch }, run.limiter, (d) => events.push({ type: 'event', at: new Date().toISOString(), kind: 'retry', detail: d }));
    // Stopped before an answer: fail this attempt, so the job runs again (here or elsewhere).
    if (!out) throw new Error('worker stopped before the unit was answered');
    const { events: _e, ...outcome } = out;
    return { v: JOB_VERSION, outcome: { ...outcome, events }, attempt: job.attemptsMade + 1, stalled: job.stalledCounter ?? 0, worker: name };
  }

  const worker = new Worker(QUEUE_NAME, processJob, {
    connection: { ...opts.target.connection } as ConnectionOptions,
    prefix: opts.target.prefix,
    concurrency: opts.concurrency,
    lockDuration: opts.lockDurationMs ?? 30_000,
    stalledInterval: Math.max(500, Math.round((opts.lockDurationMs ?? 30_000) / 2)),
    // A unit whose worker keeps dying is given up only after several losses (each recorded).
    maxStalledCount: 5,
  });
  worker.on('error', (e) => log(`worker: ${e.message}`));
  worker.on('failed', (job, e) => log(`job ${job?.id ?? '?'} failed: ${e.message}`));
  await worker.waitUntilReady();

  return {
    worker,
    async close(force = false) {
      // With Redis gone a graceful close would wait for it forever: stop at once (the units in hand run again elsewhere).
      if (redis.status !== 'ready') force = true;
      if (force) abort.abort();
      const closed = worker.close(force);
      const t = await Promise.race([closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), force ? 2000 : 10 * 60_000).unref())]);
      if (!t) await Promise.race([worker.disconnect().catch(() => {}), new Promise((r) => setTimeout(r, 500).unref())]);
      for (const p of runs.values()) await p.then((r) => r.close(), () => {});
      redis.disconnect();
    },
  };
}
