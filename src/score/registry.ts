import { AssayError } from '../common/errors.js';
import type { ScorerSpec } from '../suite/types.js';
import { exactScorer, includesScorer, regexScorer } from './match.js';
import { mcqLetterScorer, mcqLogprobScorer } from './mcq.js';
import type { Scorer } from './types.js';

type Factory = (spec: ScorerSpec) => Scorer;

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const bool = (v: unknown) => (typeof v === 'boolean' ? v : undefined);

/** Built-in scorer types. Later scorers (model-graded, refusal, code analysis) register here. */
const factories = new Map<string, Factory>([
  ['exact', (s) => exactScorer({ name: str(s.name), ignoreCase: bool(s.ignore_case) })],
  ['includes', (s) => includesScorer({ name: str(s.name), ignoreCase: bool(s.ignore_case) })],
  [
    'regex',
    (s) => {
      const pattern = str(s.pattern);
      if (!pattern) throw new AssayError('SCORER_INVALID', 'regex scorer needs a "pattern"', { field: 'scorers.pattern' });
      return regexScorer({ name: str(s.name), pattern, flags: str(s.flags) });
    },
  ],
  ['mcq_letter', (s) => mcqLetterScorer({ name: str(s.name) })],
  ['mcq_logprob', (s) => mcqLogprobScorer({ name: str(s.name) })],
]);

export function registerScorer(type: string, factory: Factory): void {
  factories.set(type, factory);
}

export function scorerTypes(): string[] {
  return [...factories.keys()].sort();
}

export function createScorer(spec: ScorerSpec): Scorer {
  const f = factories.get(spec.type);
  if (!f) throw new AssayError('SCORER_UNKNOWN', `unknown scorer type "${spec.type}" (known: ${scorerTypes().join(', ')})`, { field: 'scorers.type' });
  return f(spec);
}

/** Instantiate a suite's scorers; names must be unique since they key scores in the log. */
export function createScorers(specs: ScorerSpec[]): Scorer[] {
  const out = specs.map(createScorer);
  const seen = new Set<string>();
  for (const s of out) {
    if (seen.has(s.name)) throw new AssayError('SCORER_DUPLICATE', `two scorers are named "${s.name}"; give one a distinct name`, { field: 'scorers.name' });
    seen.add(s.name);
  }
  return out;
}
