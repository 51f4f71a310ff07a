import { AssayError } from '../common/errors.js';
import type { ScorerSpec } from '../suite/types.js';
import type { StatsRule } from './honest.js';

/**
 * What values a scorer may produce, so a score outside it is an error before anything is
 * computed or signed (issue 18): `null` must not average as 0, the string "1" must not be
 * coerced, and 7 from a 0/1 scorer must not be accepted.
 *
 * - binary: exactly 0 or 1 (match, multiple choice, refusal classes, deterministic judges);
 * - unit: a number in [0, 1] (StrongREJECT, a normalised rubric item);
 * - real: any finite number (logits, raw rubric items, scorer types this table does not know).
 *
 * A rubric item is normalised to [0, 1] unless `normalise: false` (score/grader.ts rubricScorer):
 * 'unit' under rule v4 (run-stats/v4). Rules v2/v3 took it as 'unit' only with `normalise: true`
 * and are kept so reports signed with them recompute as signed.
 */
export type ScoreDomain = 'binary' | 'unit' | 'real';

// injection_judge scores a partial leak as the fraction of the secret disclosed (issue 21): [0, 1].
const BINARY = new Set(['exact', 'includes', 'regex', 'mcq_letter', 'mcq_logprob', 'code_security', 'cse_refusal', 'election_fact', 'refusal']);
const UNIT = new Set(['strongreject', 'agent_outcome', 'cse_injection_graded', 'injection_judge', 'injection_graded']);

export function scoreDomain(spec: ScorerSpec | undefined, rule: StatsRule = 'v4'): ScoreDomain {
  if (!spec) return 'real';
  // Results imported from another harness (src/external): the importer declares the domain it saw.
  if ((spec.type as string) === 'imported') return (spec as unknown as { domain?: ScoreDomain }).domain ?? 'real';
  if (BINARY.has(spec.type)) return 'binary';
  if (UNIT.has(spec.type)) return 'unit';
  if (spec.type === 'rubric' && (rule === 'v4' ? spec.normalise !== false : spec.normalise === true)) return 'unit';
  if (spec.type === 'decision' && spec.mode === 'sample') return 'binary';
  return 'real';
}

/** Domain bounds, for clipping intervals and for the missing-data sensitivity (null: unbounded). */
export const domainBounds = (d: ScoreDomain): { min: number; max: number } | null => (d === 'real' ? null : { min: 0, max: 1 });

const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'number') return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
};

/**
 * Throws SCORE_INVALID naming the sample, epoch and scorer when a scored value is not a finite
 * number in the scorer's domain. Returns the value (a number) otherwise.
 */
export function checkScore(value: unknown, domain: ScoreDomain, where: { sampleId: string; epoch: number; scorer: string; file?: string }): number {
  const at = `sample "${where.sampleId}" epoch ${where.epoch}, scorer "${where.scorer}"`;
  const bad = (why: string): never => {
    throw new AssayError('SCORE_INVALID', `${at}: score ${show(value)} ${why}; nothing was computed`, { ...(where.file ? { file: where.file } : {}), field: `scores.${where.scorer}.value` });
  };
  if (typeof value !== 'number') return bad(`is ${value === null ? 'null' : typeof value}, not a number`);
  if (!Number.isFinite(value)) return bad('is not finite');
  if (domain === 'binary' && value !== 0 && value !== 1) return bad('is not 0 or 1, the only values this scorer type produces');
  if (domain === 'unit' && !(value >= 0 && value <= 1)) return bad('is outside [0, 1], the range of this scorer type');
  return value;
}
