import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FineTuneBackend, JobResult, TrainingJob } from './types.js';

const PLACEHOLDERS = ['train_file', 'out_dir', 'base_model', 'kind', 'method', 'examples', 'epochs', 'learning_rate', 'batch_size', 'seed'] as const;

/** The argv with {placeholders} filled in (no shell: each element stays one argument, whatever it holds). */
export function fillCommand(argv: readonly string[], values: Record<(typeof PLACEHOLDERS)[number], string>): string[] {
  return argv.map((a) =>
    a.replace(/\{([a-z_]+)\}/g, (m, name: string) => {
      if (!(PLACEHOLDERS as readonly string[]).includes(name)) throw new RangeError(`unknown placeholder ${m} in the trainer command (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')})`);
      return values[name as (typeof PLACEHOLDERS)[number]];
    }),
  );
}

/**
 * The tester's own trainer (e.g. a transformers/PEFT script followed by a vLLM server), run as a
 * local command. The training data lives in a private temporary folder for the job's duration
 * only; the trainer writes {out_dir}/result.json naming the OpenAI-compatible endpoint and model
 * that serve the result. A command job cannot be resumed by a later process: it is re-run.
 */
export class CommandBackend implements FineTuneBackend {
  readonly name = 'command';
  readonly resumable = false;
  private readonly running = new Map<string, { dir: string; done: Promise<JobResult>; kill: () => void }>();
  constructor(private readonly argv: readonly string[], private readonly timeoutS: number) {}

  async start(job: TrainingJob): Promise<{ jobId: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'assay-tamper-'));
    const trainFile = join(dir, 'train.jsonl');
    writeFileSync(trainFile, job.training, { mode: 0o600 });
    const outDir = join(dir, 'out');
    const a = job.cell.attack;
    const argv = fillCommand(this.argv, {
      train_file: trainFile,
      out_dir: outDir,
      base_model: job.baseModel,
      kind: a.kind,
      method: a.method,
      examples: String(job.cell.examples),
      epochs: String(a.epochs),
      learning_rate: String(a.learning_rate ?? a.learning_rate_multiplier),
      batch_size: String(a.batch_size),
      seed: String(a.seed),
    });
    const jobId = `cmd-${randomUUID()}`;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-2000)));
    const done = new Promise<JobResult>((res) => {
      timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, this.timeoutS * 1000);
      child.on('error', (e) => res({ state: 'failed', jobId, error: `cannot start the trainer: ${e.message}` }));
      child.on('close', (code, sig) => {
        clearTimeout(timer);
        if (timedOut) return res({ state: 'timed_out', jobId, error: `trainer still running after ${this.timeoutS} s; killed` });
        if (code !== 0) return res({ state: sig === 'SIGKILL' ? 'cancelled' : 'failed', jobId, error: `trainer exited ${code ?? sig}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
        try {
          const r = JSON.parse(readFileSync(join(outDir, 'result.json'), 'utf8')) as { endpoint?: unknown; model?: unknown; trained_tokens?: unknown; gpu_hours?: unknown };
          if (typeof r.endpoint !== 'string' || typeof r.model !== 'string') return res({ state: 'failed', jobId, error: 'result.json needs string "endpoint" and "model"' });
          new URL(r.endpoint);
          res({ state: 'succeeded', jobId, model: r.model, endpoint: r.endpoint, ...(typeof r.trained_tokens === 'number' ? { trainedTokens: r.trained_tokens } : {}), ...(typeof r.gpu_hours === 'number' && Number.isFinite(r.gpu_hours) && r.gpu_hours >= 0 ? { gpuHours: r.gpu_hours } : {}) });
        } catch (e) {
          res({ state: 'failed', jobId, error: `no usable {out_dir}/result.json: ${(e as Error).message}` });
        }
      });
    }).finally(() => rmSync(dir, { recursive: true, force: true }));
    this.running.set(jobId, { dir, done, kill });
    return { jobId };
  }

  async wait(jobId: string, _job: TrainingJob, signal?: AbortSignal): Promise<JobResult> {
    const r = this.running.get(jobId);
    if (!r) return { state: 'failed', jobId, error: 'a command job of an earlier process cannot be waited for; it is re-run' };
    const onAbort = () => r.kill();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await r.done;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.running.delete(jobId);
    }
  }

  async cancel(jobId: string): Promise<void> {
    this.running.get(jobId)?.kill();
  }
}
