import type { GridCell } from '../grid.js';

/** What a back-end needs to start one fine-tuning job. Training bytes stay in memory or a private temp file. */
export interface TrainingJob {
  cell: GridCell;
  baseModel: string;
  /** JSONL chat examples, exactly `cell.examples` lines. */
  training: Buffer;
  /** "sha256:<hex>" of `training`. */
  trainingDigest: string;
}

export type JobState = 'succeeded' | 'failed' | 'cancelled' | 'timed_out';

export interface JobResult {
  state: JobState;
  jobId: string;
  /** The model to evaluate and the OpenAI-compatible endpoint serving it (succeeded only). */
  model?: string;
  endpoint?: string;
  trainedTokens?: number;
  /** GPU-hours the job used, when the back-end reports them (the compute axis of the cost to break). */
  gpuHours?: number;
  error?: string;
}

/**
 * A fine-tuning back-end: starts a job (the id is recorded before waiting, so a resumed grid can
 * wait for the same job instead of paying for a second one), waits for its end, cancels.
 */
export interface FineTuneBackend {
  readonly name: string;
  /** Whether a job started by an earlier process can still be waited for (remote APIs: yes; local commands: no). */
  readonly resumable: boolean;
  start(job: TrainingJob): Promise<{ jobId: string }>;
  wait(jobId: string, job: TrainingJob, signal?: AbortSignal): Promise<JobResult>;
  cancel(jobId: string): Promise<void>;
}
