import type { AgentRecord } from '../agent/types.js';
import type { ChatMessage, GenerateRequest, TokenLogprob, Usage } from '../model/types.js';
import type { Score } from '../score/types.js';
import type { Sample, SuiteDefinition } from '../suite/types.js';
import type { AccessLevel } from '../model/types.js';

export const RUN_LOG_SCHEMA = 'assay.run-log/v1';

/** First line of a run log. Everything needed to reproduce and cite the run. */
export interface RunHeader {
  type: 'header';
  schema: typeof RUN_LOG_SCHEMA;
  runId: string;
  /** When this log is a re-scoring of another: that run's id and log digest. */
  rescoreOf?: { runId: string; logDigest: string };
  /**
   * `items`: how many samples the suite's dataset holds, before --limit and --sample-id (a whole
   * run records items × epochs units). Absent in logs written before it existed: unknown.
   */
  suite: { id: string; version: string; digest: string; file: string; definition: SuiteDefinition; dataDigests: Record<string, string>; items?: number };
  model: { name: string; provider: string; model: string; baseUrl: string; simulated: boolean };
  /** The grader model given for model-graded scorers (`--grader-model`), when one was. */
  grader?: { name: string; provider: string; model: string; baseUrl: string };
  config: RunConfig;
  assayVersion: string;
  startedAt: string;
}

export interface RunConfig {
  epochs: number;
  seed: number;
  limit: number | null;
  sampleIds: string[] | null;
  maxConnections: number;
  maxTokens: number | null;
  temperature: number | null;
  timeoutMs: number;
  maxRetries: number;
  /** Backoff: first retry waits up to retryBaseMs (full jitter), doubling, capped at retryMaxDelayMs. */
  retryBaseMs: number;
  retryMaxDelayMs: number;
  /** Cap on a provider's Retry-After (ms); absent in logs written before it existed, meaning 60,000. */
  retryAfterMaxMs?: number;
  /** Access level the tester has for this model; scorers needing more are unscored. */
  access: AccessLevel;
  budget: { maxTokensTotal: number | null; maxCost: number | null; pricePerMTok: { input: number; output: number } | null };
}

/** One sample × epoch: the unit of work, and its idempotency key. */
export interface WorkUnit {
  key: string; // `${sampleId}#${epoch}`
  sample: Sample;
  epoch: number;
}

export interface SampleRecord {
  type: 'sample';
  key: string;
  sampleId: string;
  epoch: number;
  /** The sample as read from the dataset (input, target, choices, cluster, metadata). */
  sample: Omit<Sample, 'source'>;
  messages: ChatMessage[];
  /** Multiple choice: options in the order shown, and the correct letter. */
  shownChoices?: { letter: string; text: string; index: number }[];
  targetLetter?: string;
  /** The provider-neutral parameters (messages omitted: see `messages` and `sent.body`). */
  request: Omit<GenerateRequest, 'messages'> | null;
  /** The exact URL and body sent on the final attempt; null when no call succeeded. */
  sent: { url: string; body: Record<string, unknown> } | null;
  output: {
    content: string;
    logprobs: TokenLogprob[] | null;
    finishReason: string | null;
    requestId: string | null;
    model: string | null;
    raw: unknown;
  } | null;
  usage: Usage | null;
  timing: { startedAt: string; latencyMs: number; attempts: number };
  scores: Record<string, Score>;
  error: { kind: string; message: string; status: number | null; attempts: number } | null;
  /**
   * The call succeeded but there is no answer to score (common/outcome.ts): `empty` (no content)
   * or `filtered` (a provider content filter or provider-level refusal). Such a record has no scores.
   */
  outcome?: 'empty' | 'filtered';
  /** Agentic suites: the episode (steps, workspace before/after, checks, outcome); see src/agent/types.ts. */
  agent?: AgentRecord;
}

export interface EventRecord {
  type: 'event';
  at: string;
  kind: 'concurrency' | 'retry' | 'budget' | 'resume' | 'interrupt' | 'simulated' | 'retry-errored' | 'time_limit' | 'circuit_open';
  detail: Record<string, unknown>;
}

export type StopReason = 'signal' | 'time_limit' | 'endpoint_down';

export interface EndRecord {
  type: 'end';
  at: string;
  status: 'completed' | 'budget_exhausted' | 'interrupted';
  /**
   * Why an interrupted run stopped: `signal` (Ctrl-C, SIGTERM), `time_limit` (--max-duration),
   * `endpoint_down` (the circuit breaker). Absent in logs written before it existed.
   */
  reason?: StopReason;
  counts: { samples: number; errored: number };
}

export type RunLogRecord = RunHeader | SampleRecord | EventRecord | EndRecord;
