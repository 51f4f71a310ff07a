import { AssayError } from '../common/errors.js';
import type { Scorer } from '../score/types.js';
import type { AgentOutcome } from './types.js';

export const OUTCOME_FIELDS = ['violation', 'success', 'disclosed', 'harm', 'refused', 'benign_completion', 'new_findings'] as const satisfies readonly (keyof AgentOutcome)[];
export type OutcomeField = (typeof OUTCOME_FIELDS)[number];

/**
 * Reads one field of an agentic sample's recorded outcome (src/agent/checks.ts decided it when
 * the episode ended). A field the task does not measure is unscored, so e.g. the disclosure rate
 * is over the tasks that have a disclosure check. Re-scoring reads the same record: no model,
 * sandbox or checker runs again.
 */
export function agentOutcomeScorer(opts: { name?: string; field: string }): Scorer {
  if (!(OUTCOME_FIELDS as readonly string[]).includes(opts.field))
    throw new AssayError('SCORER_INVALID', `agent_outcome scorer: field must be one of ${OUTCOME_FIELDS.join(', ')} (got "${opts.field}")`, { field: 'scorers.field' });
  const field = opts.field as OutcomeField;
  return {
    name: opts.name ?? field,
    type: 'agent_outcome',
    score(input) {
      const a = input.agent;
      if (!a) return { status: 'unscored', reason: 'not an agentic sample (no agent record)' };
      const unknown = a.unknown?.[field];
      if (unknown) return { status: 'unscored', outcome: 'unscored', reason: `${field} could not be decided: ${unknown}`.slice(0, 500) };
      const v = a.outcome[field];
      if (v === null || v === undefined) return { status: 'unscored', reason: `${field} is not measured for this task` };
      const failed = a.checks.filter((c) => (field === 'violation' ? c.check.startsWith('violation') && c.holds : field === 'success' ? c.check.startsWith('success') && !c.holds : false));
      return { status: 'scored', value: v, ...(failed.length ? { explanation: failed.map((c) => `${c.check}: ${c.evidence}`).join('; ').slice(0, 500) } : {}) };
    },
  };
}
