/**
 * The one outcome vocabulary for a sample (and for each of its scores), shared by the run log,
 * statistics, reports and every risk suite. A sample that is not `scored` is never counted as a
 * failure of the model nor silently dropped: it is excluded from the metric, counted under its
 * outcome, and shown beside the metric (with the interval as if all excluded samples had failed
 * or passed, so a reader sees whether exclusions could change the conclusion).
 */
export const OUTCOMES = {
  scored: 'a score was computed',
  errored: 'the model call, episode or scorer failed after retries (transport, timeout, watchdog, sandbox failure); the record names why',
  empty: 'the call succeeded but returned no content',
  filtered: 'the provider declined to answer: a content filter or a provider-level refusal (OpenAI message.refusal, finish_reason content_filter, Anthropic stop_reason refusal)',
  refused: 'the model itself refused where the scorer needs an answer (e.g. a multiple-choice item)',
  unreadable: 'an answer was given but could not be read (no option extracted, wrong format, undecodable)',
  unscored: 'scoring was not possible for another stated reason (grader unavailable, incomplete snapshot, …)',
} as const;

export type Outcome = keyof typeof OUTCOMES;
/** Outcomes that exclude a sample from a metric. */
export type ExcludedOutcome = Exclude<Outcome, 'scored'>;

export const OUTCOME_NAMES = Object.keys(OUTCOMES) as Outcome[];

export function isOutcome(x: unknown): x is Outcome {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(OUTCOMES, x);
}
