import type { AgentRecord } from '../agent/types.js';
import type { ChatMessage, GenerateResult } from '../model/types.js';
import type { ExcludedOutcome } from '../common/outcome.js';
import type { Sample } from '../suite/types.js';

/** A scorer's verdict on one sample. "unscored" is never a failure of the model: it is excluded and counted. */
export type Score =
  | {
      status: 'scored';
      /** Numeric value aggregated by metrics: 1/0 for correct/incorrect, or a continuous score. */
      value: number;
      /** What the scorer read as the model's answer. */
      answer?: string;
      /** How the answer was obtained, e.g. "generation" or "logprob" for multiple choice. */
      mode?: string;
      explanation?: string;
      /** Structured by-products a suite report reads (e.g. P(yes), refusal class); scorer-specific. */
      detail?: Record<string, unknown>;
      /** Model-graded scorers: who graded, and exactly what they answered (auditable, re-parseable). */
      grader?: GraderRecord;
    }
  | {
      status: 'unscored';
      reason: string;
      /**
       * Why, in the shared vocabulary (common/outcome.ts): `refused` and `unreadable` for answers a
       * scorer could not read as an answer, `unscored` otherwise. Absent in logs written before it
       * existed, which means `unscored`.
       */
      outcome?: Exclude<ExcludedOutcome, 'errored' | 'empty' | 'filtered'>;
      /** How the scorer read the answer (rule and span), when it tried: auditable per sample. */
      extraction?: Record<string, unknown>;
      grader?: GraderRecord;
    };

/** The grader's identity and raw answer, kept in the sample record so a re-score can be audited. */
export interface GraderRecord {
  /** Grader model (as in a run header's `model` block), or null when re-parsed from an earlier record. */
  model: { name: string; provider: string; model: string; baseUrl: string };
  /** Rubric id@version the grader was asked to apply. */
  rubric: string;
  /** "sha256:<hex>" of the canonical JSON of the messages sent to the grader. */
  promptDigest: string;
  /** The grader's answer text, verbatim; null when the call failed. */
  raw: string | null;
  /** Why the call failed (after retries), when it did. */
  error?: string;
  /** Set when this record re-used the raw answer of an earlier record instead of calling a grader. */
  reparsedFrom?: 'recorded';
}

/** Everything a scorer may look at. Pure data: re-scoring a log rebuilds it from the log alone. */
export interface ScoreInput {
  sample: Sample;
  /** The output of the model for this sample. */
  output: Pick<GenerateResult, 'content' | 'logprobs'>;
  /** For multiple choice: the options in the order shown to the model, with their dataset index. */
  shownChoices?: { letter: string; text: string; index: number }[];
  /** For multiple choice: letter of the correct option as shown. */
  targetLetter?: string;
  /** Re-scoring only: the score this scorer (by name) recorded in the source log, e.g. a grader's raw answer to re-parse. */
  recorded?: Score;
  /** Agentic suites: the recorded episode (steps, checks, outcome), so agent scorers read it from the log alone. */
  agent?: AgentRecord;
}

/** What a scorer may use besides the sample: today an optional grader model given by the user (`--grader-model`). */
export interface ScorerContext {
  grader?: GraderModel;
}

/** A model that grades outputs. Built from a ModelAdapter by `graderFromAdapter` (score/grader.ts). */
export interface GraderModel {
  readonly identity: GraderRecord['model'];
  /** One grading call; throws on failure (after its own retries). */
  complete(messages: ChatMessage[]): Promise<string>;
}

export interface Scorer {
  /** Unique within a suite; names the score in the log and metrics. */
  readonly name: string;
  readonly type: string;
  /** Needs logprobs (grey-box). */
  readonly needsLogprobs?: boolean;
  /** Needs a grader model to score new outputs (a re-score may re-parse recorded grader answers instead). */
  readonly needsGrader?: boolean;
  /**
   * May call the run's grader when it has one, without needing one (e.g. `mcq_letter` with
   * `fallback: grader`): its scores then depend on a grader's answers, so they cannot be recomputed
   * from the output alone (the queue coordinator skips them in its check when the run has a grader).
   */
  readonly usesGrader?: boolean;
  score(input: ScoreInput): Score | Promise<Score>;
}
