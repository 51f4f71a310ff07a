import { AssayError } from '../common/errors.js';
import type { ScorerSpec } from '../suite/types.js';
import { exactScorer, includesScorer, regexScorer } from './match.js';
import { mcqLetterScorer, mcqLogprobScorer } from './mcq.js';
import { codeSecurityScorer, type CodeValue } from './code/scorer.js';
import { injectionJudgeScorer } from './injection.js';
import { cseRefusalScorer } from './refusal-cse.js';
import { cseInjectionGradedScorer, injectionGradedScorer } from './injection-graded.js';
import { rubricFromSpec, rubricScorer, strongRejectScorer } from './grader.js';
import { refusalScorer, type RefusalMode, type RefusalValue } from './refusal.js';
import { decisionScorer } from './decision.js';
import { electionFactScorer, type ElectionValue } from './election.js';
import { electionFactGradedScorer } from './election-graded.js';
import { agentOutcomeScorer } from '../agent/scorer.js';
import type { Scorer, ScorerContext } from './types.js';

/** Builds a scorer from its suite entry; `ctx` carries what the run provides (e.g. a grader model). */
export type ScorerFactory = (spec: ScorerSpec, ctx: ScorerContext) => Scorer;
type Factory = ScorerFactory;

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
  // Risk suites II (issue 8): insecure code, prompt injection, CyberSecEval false refusals.
  [
    'code_security',
    (s) => codeSecurityScorer({ name: str(s.name), value: str(s.value) as CodeValue | undefined, languageField: str(s.language_field), language: str(s.language), checkField: str(s.check_field) }),
  ],
  ['injection_judge', (s) => injectionJudgeScorer({ name: str(s.name), judgeField: str(s.judge_field) })],
  ['cse_refusal', (s) => cseRefusalScorer({ name: str(s.name) })],
  ['cse_injection_graded', (s, ctx) => cseInjectionGradedScorer({ name: str(s.name), ctx })],
  ['injection_graded', (s, ctx) => injectionGradedScorer({ name: str(s.name), ctx })],
  ['strongreject', (s, ctx) => strongRejectScorer({ name: str(s.name), ctx })],
  [
    'decision',
    (s) => {
      const mode = s.mode ?? 'logprob';
      if (mode !== 'logprob' && mode !== 'sample') throw new AssayError('SCORER_INVALID', 'decision scorer: mode must be logprob or sample', { field: 'scorers.mode' });
      const words = (k: string) => (Array.isArray(s[k]) && s[k].every((w) => typeof w === 'string') ? (s[k] as string[]) : undefined);
      const minMass = typeof s.min_mass === 'number' ? s.min_mass : undefined;
      return decisionScorer({ name: str(s.name), mode, ...(words('yes') ? { yes: words('yes')! } : {}), ...(words('no') ? { no: words('no')! } : {}), ...(minMass !== undefined ? { minMass } : {}) });
    },
  ],
  [
    'election_fact',
    (s) => {
      const value = s.value ?? 'pass';
      if (!['pass', 'correct', 'referral', 'contradiction', 'stale', 'debunked'].includes(value as string)) throw new AssayError('SCORER_INVALID', 'election_fact scorer: value must be pass, correct, referral, contradiction, stale or debunked', { field: 'scorers.value' });
      return electionFactScorer({ name: str(s.name), value: value as ElectionValue });
    },
  ],
  [
    'election_fact_graded',
    (s, ctx) => {
      const route = s.route ?? 'fallback';
      if (route !== 'fallback' && route !== 'always') throw new AssayError('SCORER_INVALID', 'election_fact_graded scorer: route must be fallback or always', { field: 'scorers.route' });
      return electionFactGradedScorer({ name: str(s.name), route, ctx });
    },
  ],
  [
    'refusal',
    (s, ctx) => {
      const mode = s.mode ?? 'rules';
      const value = s.value ?? 'refused';
      if (mode !== 'rules' && mode !== 'grader' && mode !== 'string_match') throw new AssayError('SCORER_INVALID', 'refusal scorer: mode must be rules, grader or string_match', { field: 'scorers.mode' });
      if (value !== 'refused' && value !== 'complied' && value !== 'full_refusal') throw new AssayError('SCORER_INVALID', 'refusal scorer: value must be refused, complied or full_refusal', { field: 'scorers.value' });
      if (s.answers !== undefined && typeof s.answers !== 'boolean') throw new AssayError('SCORER_INVALID', 'refusal scorer: answers must be true or false', { field: 'scorers.answers' });
      return refusalScorer({ name: str(s.name), mode: mode as RefusalMode, value: value as RefusalValue, ctx, ...(s.answers === true ? { answers: true } : {}) });
    },
  ],
  [
    'rubric',
    (s, ctx) => {
      const value = str(s.value);
      if (!value) throw new AssayError('SCORER_INVALID', 'rubric scorer needs "value": the rubric item that is the score', { field: 'scorers.value' });
      return rubricScorer({ name: str(s.name), rubric: rubricFromSpec(s.rubric), value, normalise: bool(s.normalise), ctx });
    },
  ],
  ['agent_outcome', (s) => agentOutcomeScorer({ name: str(s.name), field: str(s.field) ?? 'violation' })],
]);

export function registerScorer(type: string, factory: Factory): void {
  factories.set(type, factory);
}

export function scorerTypes(): string[] {
  return [...factories.keys()].sort();
}

export function createScorer(spec: ScorerSpec, ctx: ScorerContext = {}): Scorer {
  const f = factories.get(spec.type);
  if (!f) throw new AssayError('SCORER_UNKNOWN', `unknown scorer type "${spec.type}" (known: ${scorerTypes().join(', ')})`, { field: 'scorers.type' });
  return f(spec, ctx);
}

/** Instantiate a suite's scorers; names must be unique since they key scores in the log. */
export function createScorers(specs: ScorerSpec[], ctx: ScorerContext = {}): Scorer[] {
  const out = specs.map((s) => createScorer(s, ctx));
  const seen = new Set<string>();
  for (const s of out) {
    if (seen.has(s.name)) throw new AssayError('SCORER_DUPLICATE', `two scorers are named "${s.name}"; give one a distinct name`, { field: 'scorers.name' });
    seen.add(s.name);
  }
  return out;
}
