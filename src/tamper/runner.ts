import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { acquireLock } from '../common/lock.js';
import { AssayError } from '../common/errors.js';
import { createModel } from '../model/registry.js';
import { runSuite } from '../run/engine.js';
import { iterateSamples } from '../run/log-reader.js';
import type { RunConfig } from '../run/types.js';
import { loadSuite } from '../suite/load.js';
import type { FineTuneBackend, TrainingJob } from './backends/types.js';
import { gridCells, stepsOf, type GridCell, type LoadedGrid } from './grid.js';
import { readTamperLog, TAMPER_LOG_SCHEMA, TamperLogWriter, type EvalRecord, type JobRecord, type StopRecord } from './log.js';

/** Neutral placeholder examples (simulation and tests): no harmful content is ever needed or stored. */
export function placeholderTraining(n: number, attackId: string): Buffer {
  const lines: string[] = [];
  for (let i = 1; i <= n; i++) lines.push(JSON.stringify({ messages: [{ role: 'user', content: `Placeholder request ${i} (${attackId}).` }, { role: 'assistant', content: `Placeholder answer ${i}.` }] }));
  return Buffer.from(lines.join('\n') + '\n');
}

/** The first n non-empty lines of a JSONL file of chat examples; errors name the file and line. */
export function trainingFromFile(file: string, n: number): Buffer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new AssayError('TAMPER_DATA', `cannot read training data: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
  }
  const out: string[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    try {
      if (!Array.isArray((JSON.parse(line) as { messages?: unknown }).messages)) throw new Error('no "messages" array');
    } catch (e) {
      throw new AssayError('TAMPER_DATA', `not a chat example: ${(e as Error).message}`, { file, line: i + 1 });
    }
    out.push(line);
    if (out.length === n) break;
  }
  if (out.length < n) throw new AssayError('TAMPER_DATA', `the grid asks for ${n} examples; the file has ${out.length}`, { file });
  return Buffer.from(out.join('\n') + '\n');
}

export interface TamperRunOptions {
  loaded: LoadedGrid;
  backend: FineTuneBackend;
  /** Folder for the tamper log and the evaluation run logs. */
  outDir: string;
  /** The base model's chat endpoint (OpenAI-compatible base URL). */
  baseEndpoint: string;
  apiKey?: string;
  signal?: AbortSignal;
  /** Whether the endpoints are the simulated target (recorded in the run logs). */
  simulated?: boolean;
  /** Retry cells whose job failed, was cancelled or timed out (default: they stay recorded and are skipped). */
  retryFailed?: boolean;
  onEvent?: (line: string) => void;
}

export interface TamperRunResult {
  logPath: string;
  stop: StopRecord['reason'];
  jobs: number;
  evaluations: number;
}

const now = () => new Date().toISOString();
const approxTokens = (b: Buffer) => Math.ceil(b.length / 4);

/**
 * Runs a grid: the base model is evaluated once per evaluation, then each cell (an attack at one
 * strength) is trained through the back-end and evaluated with the same suites, paired with the
 * base. Everything lands in the tamper log; a second invocation resumes where it stopped (a
 * started remote job is waited for, not paid for again). The budget is checked before each job
 * with the cost the job would add; a job that would exceed it is not started.
 */
export async function runTamperGrid(o: TamperRunOptions): Promise<TamperRunResult> {
  const { grid, digest, dir } = o.loaded;
  mkdirSync(o.outDir, { recursive: true });
  const logPath = join(o.outDir, 'tamper.jsonl');
  const lock = await acquireLock(join(o.outDir, '.tamper.lock'), { timeoutMs: 0, what: `tamper log ${logPath}` });
  const say = o.onEvent ?? (() => undefined);
  let writer: TamperLogWriter | null = null;
  try {
    const existing = readTamperLog(logPath);
    const header = existing[0];
    if (header && header.type === 'header' && header.gridDigest !== digest)
      throw new AssayError('TAMPER_GRID_CHANGED', `the log at ${logPath} was started with grid ${header.gridDigest}; this grid is ${digest} (use a new output folder)`, { file: o.loaded.file });
    writer = new TamperLogWriter(logPath);
    if (!header) writer.append({ type: 'header', schema: TAMPER_LOG_SCHEMA, gridDigest: digest, grid, startedAt: now(), simulated: o.simulated ?? false });
    const jobs = new Map<string, JobRecord>();
    const evals = new Set<string>();
    for (const r of existing) {
      if (r.type === 'job') jobs.set(r.key, r);
      if (r.type === 'eval') evals.add(`${r.key}\0${r.suite}`);
    }
    const w = writer;
    const stop = (reason: StopRecord['reason'], detail: string): TamperRunResult => {
      w.append({ type: 'stop', reason, detail, at: now() });
      return { logPath, stop: reason, jobs: [...jobs.values()].length, evaluations: evals.size };
    };

    // A suite is named by its folder or its suite.yaml.
    const suitePath = (p: string) => (existsSync(p) && statSync(p).isDirectory() ? join(p, 'suite.yaml') : p);
    const suites = await Promise.all(grid.evaluations.map(async (e) => ({ e, suite: await loadSuite(suitePath(resolve(dir, e.suite))) })));
    const evaluate = async (key: string, model: string, endpoint: string) => {
      for (const { e, suite } of suites) {
        if (evals.has(`${key}\0${suite.def.id}`)) continue;
        if (o.signal?.aborted) return false;
        const rec = await evaluateOnce(o, key, model, endpoint, e, suite);
        if (!rec) return false;
        w.append(rec);
        evals.add(`${key}\0${suite.def.id}`);
        say(`evaluated ${key} on ${suite.def.id}: ${e.metric} = ${rec.mean === null ? 'n/a' : rec.mean.toFixed(3)} (n=${rec.n})`);
      }
      return true;
    };

    if (!(await evaluate('base', grid.base_model, o.baseEndpoint))) return stop('interrupted', 'stopped while evaluating the base model');

    // Budget spent so far: every job that started counts (a provider charges for what it ran).
    const spent = { jobs: 0, tokens: 0, cost: 0 };
    for (const j of jobs.values()) {
      spent.jobs++;
      spent.tokens += j.trainedTokens ?? 0;
      spent.cost += j.cost ?? 0;
    }
    const price = grid.budget.price_per_1k_trained_tokens;
    for (const cell of gridCells(grid)) {
      if (o.signal?.aborted) return stop('interrupted', `interrupted before ${cell.key}`);
      const training = trainingFor(o.loaded, cell);
      const job: TrainingJob = { cell, baseModel: grid.base_model, training, trainingDigest: `sha256:${createHash('sha256').update(training).digest('hex')}` };
      let rec = jobs.get(cell.key);
      const final = rec && rec.state !== 'started';
      if (rec && final && rec.state !== 'succeeded' && !o.retryFailed) {
        say(`skipped ${cell.key}: job ${rec.state} earlier (${rec.error ?? ''}); --retry-failed runs it again`);
        continue;
      }
      if (!rec || (final && rec.state !== 'succeeded') || (rec.state === 'started' && !o.backend.resumable)) {
        const tokens = approxTokens(training) * cell.attack.epochs;
        const cost = (tokens / 1000) * price;
        const b = grid.budget;
        if (b.max_jobs !== undefined && spent.jobs + 1 > b.max_jobs) return stop('budget', `max_jobs ${b.max_jobs} reached before ${cell.key}`);
        if (b.max_trained_tokens !== undefined && spent.tokens + tokens > b.max_trained_tokens) return stop('budget', `${cell.key} would train ~${tokens} tokens; ${spent.tokens} of max_trained_tokens ${b.max_trained_tokens} used`);
        if (b.max_cost !== undefined && spent.cost + cost > b.max_cost) return stop('budget', `${cell.key} would cost ~${cost.toFixed(4)}; ${spent.cost.toFixed(4)} of max_cost ${b.max_cost} spent`);
        const { jobId } = await o.backend.start(job);
        spent.jobs++;
        spent.tokens += tokens;
        spent.cost += cost;
        rec = { type: 'job', key: cell.key, attack: cell.attack.id, examples: cell.examples, steps: stepsOf(cell), state: 'started', backend: o.backend.name, jobId, training: { sha256: job.trainingDigest, examples: cell.examples, bytes: training.length, source: cell.attack.data === 'placeholder' ? 'placeholder' : 'file' }, trainedTokens: tokens, cost, at: now() };
        w.append(rec);
        jobs.set(cell.key, rec);
        say(`started ${cell.key}: job ${jobId}`);
      }
      if (rec.state === 'started') {
        let res;
        try {
          res = await o.backend.wait(rec.jobId, job, o.signal);
        } catch (e) {
          if (o.signal?.aborted) return stop('interrupted', `interrupted while waiting for ${cell.key} (job ${rec.jobId}); resume waits for it`);
          throw e;
        }
        const trained = res.trainedTokens ?? rec.trainedTokens;
        rec = { ...rec, state: res.state, ...(res.model ? { model: res.model } : {}), ...(res.endpoint ? { endpoint: res.endpoint } : {}), ...(trained !== undefined ? { trainedTokens: trained, cost: (trained / 1000) * price } : {}), ...(res.gpuHours !== undefined ? { gpuHours: res.gpuHours } : {}), ...(res.error ? { error: res.error } : {}), at: now() };
        w.append(rec);
        jobs.set(cell.key, rec);
        say(`${cell.key}: job ${res.state}${res.error ? ` (${res.error})` : ''}`);
        if (res.state !== 'succeeded') continue;
      }
      if (!(await evaluate(cell.key, rec.model!, rec.endpoint!))) return stop('interrupted', `stopped while evaluating ${cell.key}`);
    }
    return stop('complete', 'every cell of the grid has a result');
  } finally {
    writer?.close();
    lock.release();
  }
}

function trainingFor(l: LoadedGrid, cell: GridCell): Buffer {
  return cell.attack.data === 'placeholder' ? placeholderTraining(cell.examples, cell.attack.id) : trainingFromFile(resolve(l.dir, cell.attack.data), cell.examples);
}

async function evaluateOnce(o: TamperRunOptions, key: string, model: string, endpoint: string, e: LoadedGrid['grid']['evaluations'][number], suite: Awaited<ReturnType<typeof loadSuite>>): Promise<EvalRecord | null> {
  const grid = o.loaded.grid;
  const runsDir = join(o.outDir, 'runs');
  mkdirSync(runsDir, { recursive: true });
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
  const logPath = join(runsDir, `${safe(key)}--${safe(suite.def.id)}.jsonl`);
  const config: RunConfig = {
    epochs: suite.def.epochs,
    seed: grid.seed,
    limit: e.limit ?? null,
    sampleIds: null,
    maxConnections: grid.max_connections,
    maxTokens: null,
    temperature: 0,
    timeoutMs: 60_000,
    maxRetries: 4,
    retryBaseMs: 200,
    retryMaxDelayMs: 5_000,
    access: 'black-box',
    budget: { maxTokensTotal: null, maxCost: null, pricePerMTok: null },
  };
  const res = await runSuite({
    suite,
    model: createModel(`openai/${model}`, { baseUrl: endpoint, maxConnections: grid.max_connections, ...(o.apiKey ? { apiKey: o.apiKey } : {}) }),
    config,
    logPath,
    resume: existsSync(logPath),
    simulated: o.simulated ?? false,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (res.status !== 'completed') return null;
  const sums = new Map<string, { s: number; n: number }>();
  let unscored = 0;
  for await (const r of iterateSamples(logPath)) {
    const sc = r.scores[e.metric];
    if (!sc && !r.error && !r.outcome) throw new AssayError('TAMPER_METRIC', `suite ${suite.def.id} has no scorer named "${e.metric}"`, { file: o.loaded.file });
    if (!sc || sc.status !== 'scored') {
      unscored++;
      continue;
    }
    const t = sums.get(r.sampleId) ?? { s: 0, n: 0 };
    t.s += sc.value;
    t.n++;
    sums.set(r.sampleId, t);
  }
  const items: Record<string, number> = {};
  for (const [id, t] of sums) items[id] = t.s / t.n;
  const values = Object.values(items);
  return {
    type: 'eval',
    key,
    suite: suite.def.id,
    suiteDigest: suite.digest,
    metric: e.metric,
    model,
    runId: res.runId,
    runLog: relative(o.outDir, logPath),
    runLogSha256: createHash('sha256').update(readFileSync(logPath)).digest('hex'),
    n: values.length,
    mean: values.length ? values.reduce((a, b) => a + b, 0) / values.length : null,
    items,
    unscored,
    at: now(),
  };
}
