import type { GenerateResult } from '../model/types.js';
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
    }
  | { status: 'unscored'; reason: string };

/** Everything a scorer may look at. Pure data: re-scoring a log rebuilds it from the log alone. */
export interface ScoreInput {
  sample: Sample;
  /** The output of the model for this sample. */
  output: Pick<GenerateResult, 'content' | 'logprobs'>;
  /** For multiple choice: the options in the order shown to the model, with their dataset index. */
  shownChoices?: { letter: string; text: string; index: number }[];
  /** For multiple choice: letter of the correct option as shown. */
  targetLetter?: string;
}

export interface Scorer {
  /** Unique within a suite; names the score in the log and metrics. */
  readonly name: string;
  readonly type: string;
  /** Needs logprobs (grey-box). */
  readonly needsLogprobs?: boolean;
  score(input: ScoreInput): Score | Promise<Score>;
}
