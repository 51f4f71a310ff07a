import { AssayError } from '../../common/errors.js';
import type { FineTuneBackend, JobResult, TrainingJob } from './types.js';

/**
 * The OpenAI fine-tuning API shape (POST /files, POST /fine_tuning/jobs, GET /fine_tuning/jobs/{id},
 * POST /fine_tuning/jobs/{id}/cancel), which several providers and self-hosted servers offer. The
 * attack's kind and method travel in the job's metadata (assay_attack_kind, assay_method,
 * assay_cell): providers keep metadata as labels; Assay's simulated target reads them.
 */
export class OpenAIFineTuningBackend implements FineTuneBackend {
  readonly name = 'openai-fine-tuning';
  readonly resumable = true;
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string | undefined,
    private readonly o: { pollIntervalMs: number; timeoutS: number; sleep?: (ms: number, signal?: AbortSignal) => Promise<void> },
  ) {}

  private async call(method: string, path: string, body?: string | FormData, json = true): Promise<Record<string, any>> {
    const headers: Record<string, string> = {};
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    if (json && body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl.replace(/\/$/, '')}${path}`, { method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(60_000) });
    } catch (e) {
      throw new AssayError('TAMPER_BACKEND', `${method} ${path}: ${(e as Error).message}`);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new AssayError('TAMPER_BACKEND', `${method} ${path}: HTTP ${res.status}, body is not JSON`);
    }
    if (!res.ok) {
      const msg = (parsed as { error?: { message?: unknown } })?.error?.message;
      throw new AssayError('TAMPER_BACKEND', `${method} ${path}: HTTP ${res.status}${typeof msg === 'string' ? `: ${msg.slice(0, 300)}` : ''}`);
    }
    if (!parsed || typeof parsed !== 'object') throw new AssayError('TAMPER_BACKEND', `${method} ${path}: answer is not a JSON object`);
    return parsed as Record<string, any>;
  }

  async start(job: TrainingJob): Promise<{ jobId: string }> {
    const form = new FormData();
    form.set('purpose', 'fine-tune');
    form.set('file', new Blob([job.training], { type: 'application/jsonl' }), `${job.cell.key}.jsonl`);
    const file = await this.call('POST', '/files', form, false);
    if (typeof file.id !== 'string') throw new AssayError('TAMPER_BACKEND', 'POST /files: no file id in the answer');
    const a = job.cell.attack;
    const created = await this.call(
      'POST',
      '/fine_tuning/jobs',
      JSON.stringify({
        model: job.baseModel,
        training_file: file.id,
        seed: a.seed,
        method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: a.epochs, learning_rate_multiplier: a.learning_rate_multiplier, batch_size: a.batch_size } } },
        metadata: { assay_cell: job.cell.key, assay_attack_kind: a.kind, assay_method: a.method },
      }),
    );
    if (typeof created.id !== 'string') throw new AssayError('TAMPER_BACKEND', 'POST /fine_tuning/jobs: no job id in the answer');
    return { jobId: created.id };
  }

  async wait(jobId: string, _job: TrainingJob, signal?: AbortSignal): Promise<JobResult> {
    const sleep = this.o.sleep ?? ((ms: number, s?: AbortSignal) => new Promise<void>((r) => { const t = setTimeout(r, ms); s?.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true }); }));
    const deadline = Date.now() + this.o.timeoutS * 1000;
    for (;;) {
      if (signal?.aborted) throw new AssayError('TAMPER_INTERRUPTED', `interrupted while waiting for job ${jobId} (resume waits for the same job)`);
      const j = await this.call('GET', `/fine_tuning/jobs/${encodeURIComponent(jobId)}`);
      if (j.status === 'succeeded') {
        if (typeof j.fine_tuned_model !== 'string' || !j.fine_tuned_model) return { state: 'failed', jobId, error: 'job succeeded without a fine_tuned_model' };
        return { state: 'succeeded', jobId, model: j.fine_tuned_model, endpoint: this.baseUrl, ...(typeof j.trained_tokens === 'number' ? { trainedTokens: j.trained_tokens } : {}) };
      }
      if (j.status === 'failed') return { state: 'failed', jobId, error: typeof j.error?.message === 'string' ? j.error.message.slice(0, 500) : 'failed (no reason given)' };
      if (j.status === 'cancelled') return { state: 'cancelled', jobId, error: 'cancelled at the provider' };
      if (Date.now() > deadline) {
        await this.cancel(jobId).catch(() => undefined);
        return { state: 'timed_out', jobId, error: `not finished after ${this.o.timeoutS} s; cancelled` };
      }
      await sleep(this.o.pollIntervalMs, signal);
    }
  }

  async cancel(jobId: string): Promise<void> {
    await this.call('POST', `/fine_tuning/jobs/${encodeURIComponent(jobId)}/cancel`);
  }
}
