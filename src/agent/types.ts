/**
 * What an agentic sample records in the run log (`SampleRecord.agent`, docs/formats/run-log.md):
 * every step of the episode as typed data, the workspace before and after, the checks and the
 * outcome. A transcript can be replayed from `steps` alone (replay.ts).
 */
import type { ToolCall, ToolSpec, Usage } from '../model/types.js';
import type { SnapshotEntry } from '../sandbox/types.js';
import type { ArtefactRef } from '../run/artefacts.js';

/** Resolved limits of one episode. */
export interface EpisodeLimits {
  maxMessages: number;
  maxToolCalls: number;
  maxTokens: number;
  wallTimeMs: number;
  commandTimeoutMs: number;
}

export type LimitKind = 'messages' | 'tool_calls' | 'tokens' | 'wall_time';

/** One model turn: what the assistant said and which tools it called. */
export interface AssistantStep {
  type: 'assistant';
  /** 0-based position in the step list. */
  i: number;
  at: string;
  content: string;
  toolCalls: ToolCall[];
  finishReason: string | null;
  usage: Usage;
  requestId: string | null;
  model: string | null;
  latencyMs: number;
  attempts: number;
  /** "sha256:<hex>" of the exact request body sent (the body itself is the conversation up to here). */
  requestDigest: string;
  /** The provider's response body as received. */
  raw: unknown;
}

/** A tool call being carried out (one per call, in the order the model made them). */
export interface ToolCallStep {
  type: 'tool_call';
  i: number;
  at: string;
  callId: string;
  name: string;
  arguments: Record<string, unknown>;
  argumentsError?: string;
}

/** What the tool answered; `content` is exactly what the model was shown. */
export interface ToolResultStep {
  type: 'tool_result';
  i: number;
  at: string;
  callId: string;
  name: string;
  content: string;
  isError: boolean;
  durationMs: number;
  /** Sandbox commands: exit code, signal, byte counts and limit flags. */
  exec?: { exitCode: number | null; signal: string | null; stdoutBytes: number; stderrBytes: number; truncated: boolean; timedOut: boolean; outputLimitHit: boolean; workspaceLimitHit: boolean };
  /** Mock tools: the side effect that would have happened (nothing real is done). */
  effect?: Record<string, unknown>;
}

export interface LimitStep {
  type: 'limit';
  i: number;
  at: string;
  limit: LimitKind;
  value: number;
  max: number;
}

export interface ErrorStep {
  type: 'error';
  i: number;
  at: string;
  kind: string;
  message: string;
}

export type AgentStep = AssistantStep | ToolCallStep | ToolResultStep | LimitStep | ErrorStep;

export type StopReason = 'submitted' | 'answered' | 'limit' | 'model_error' | 'interrupted' | 'errored';

/** A check's verdict with the evidence it rests on. */
export interface CheckResult {
  /** "violation[0]", "success[1]", "harm[2]", "disclosure". */
  check: string;
  holds: boolean;
  /** The check could not be decided (unreadable file, hidden test that could not run): `holds` is false but means "unknown". */
  undecided?: boolean;
  /** What was found: paths that changed, the matching call, the command's exit code … */
  evidence: string;
}

/** The per-sample measurements the suite's scorers read; null = not measured for this task. */
export interface AgentOutcome {
  violation: 0 | 1;
  success: 0 | 1 | null;
  disclosed: 0 | 1 | null;
  /** Misuse, harmful twin: share of harm criteria met. */
  harm: number | null;
  /** Misuse, harmful twin: no harm criterion met and the agent said it would not do it. */
  refused: 0 | 1 | null;
  /** Misuse, benign twin: the task was done within its limits. */
  benign_completion: 0 | 1 | null;
  /** Vulnerability insertion: static-analysis findings in changed files that the original lacked. */
  new_findings: number | null;
}

export interface FileChange {
  path: string;
  change: 'created' | 'modified' | 'deleted';
}

export interface AgentRecord {
  /** Task facts (from the sample's task field). */
  task: { family: string; twin?: string; measures: string; humanMinutes: number; tools: string[] };
  limits: EpisodeLimits;
  /** The tools offered, exactly as sent. */
  toolSpecs: ToolSpec[];
  /** Sandbox back-end and how it isolates, or null when the task used no sandbox tool. */
  sandbox: { provider: string; id: string; isolation: Record<string, string> } | null;
  steps: AgentStep[];
  stop: { reason: StopReason; detail: string };
  /** The submitted answer, or the final text when the agent stopped without submitting. */
  answer: string | null;
  usage: Usage;
  toolCalls: number;
  wallTimeMs: number;
  /** Workspace before (initial files) and after, by path; text kept for small files. */
  files: {
    before: Record<string, SnapshotEntry>;
    after: Record<string, SnapshotEntry>;
    changes: FileChange[];
    /** Entry-limit hit: the sample is unscored (see `unknown`). */
    truncated: boolean;
    /** How many changes there were when `changes` was cut. */
    changesTotal?: number;
    /** Decoded text of changed files, in the run's artefact store (capped per sample). */
    contents?: Record<string, ArtefactRef>;
    /** Changed text files whose content was not stored (cap reached). */
    contentsOmitted?: number;
    /** Full listings when too large to keep inline (`before`/`after` then hold changed paths only). */
    listing?: { before: ArtefactRef; after: ArtefactRef };
  } | null;
  checks: CheckResult[];
  outcome: AgentOutcome;
  /** Outcome fields that could not be decided, with why (undecidable check, incomplete snapshot, errored episode): scored as unscored. */
  unknown?: Partial<Record<keyof AgentOutcome, string>>;
  /** Static analyser used for new_findings, when the task had such a check. */
  analyser?: string;
}
