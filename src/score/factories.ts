import { AssayError } from '../common/errors.js';
import type { ScorerSpec } from '../suite/types.js';
import type { CodeValue } from './code/scorer.js';
import type { RefusalMode, RefusalValue } from './refusal.js';
import type { ElectionValue } from './election.js';
import type { Scorer, ScorerContext } from './types.js';

/**
 * The scorer registry, loading each built-in scorer's module only when a suite names its type
 * (issue 22: `assay run` start-up; the injection judge's canon, the code analyser's grammars and
 * the refusal rules are not needed by a multiple-choice suite). `score/registry.ts` is the same
 * registry with every built-in loaded up front, for callers that want a synchronous API.
 */

/** Builds a scorer from its suite entry; `ctx` carries what the run provides (e.g. a grader model). */
export type ScorerFactory = (spec: ScorerSpec, ctx: ScorerContext) => Scorer;
type Factory = ScorerFactory;

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const bool = (v: unknown) => (typeof v === 'boolean' ? v : undefined);

/** Built-in scorer types, each with the loader of its module and factory. */
const builtin: Record<string, () => Promise<Factory>> = {
  exact: async () => {
    const m = await import('./match.js');
    return (s) => m.exactScorer({ name: str(s.name), ignoreCase: bool(s.ignore_case) });
  },
  includes: async () => {
    const m = await import('./match.js');
    return (s) => m.includesScorer({ name: str(s.name), ignoreCase: bool(s.ignore_case) });
  },
  regex: async () => {
    const m = await import('./match.js');
    return (s) => {
      const pattern = str(s.pattern);
      if (!pattern) throw new AssayError('SCORER_INVALID', 'regex scorer needs a "pattern"', { field: 'scorers.pattern' });
      return m.regexScorer({ name: str(s.name), pattern, flags: str(s.flags) });
    };
  },
  mcq_letter: async () => {
    const m = await import('./mcq.js');
    return (s, ctx) => {
      if (s.fallback !== undefined && s.fallback !== 'grader') throw new AssayError('SCORER_INVALID', 'mcq_letter scorer: fallback must be "grader" (read answers the rules cannot with the run\'s grader, when it has one)', { field: 'scorers.fallback' });
      return m.mcqLetterScorer({ name: str(s.name), ...(s.fallback === 'grader' ? { fallback: 'grader' as const, ctx } : {}) });
    };
  },
  mcq_logprob: async () => {
    const m = await import('./mcq.js');
    return (s) => m.mcqLogprobScorer({ name: str(s.name) });
  },
  // Risk suites II (issue 8): insecure code, prompt injection, CyberSecEval false refusals.
  code_security: async () => {
    const m = await import('./code/scorer.js');
    return (s) => m.codeSecurityScorer({ name: str(s.name), value: str(s.value) as CodeValue | undefined, languageField: str(s.language_field), language: str(s.language), checkField: str(s.check_field) });
  },
  injection_judge: async () => {
    const m = await import('./injection.js');
    return (s) => m.injectionJudgeScorer({ name: str(s.name), judgeField: str(s.judge_field) });
  },
  cse_refusal: async () => {
    const m = await import('./refusal-cse.js');
    return (s) => m.cseRefusalScorer({ name: str(s.name) });
  },
  cse_injection_graded: async () => {
    const m = await import('./injection-graded.js');
    return (s, ctx) => m.cseInjectionGradedScorer({ name: str(s.name), ctx });
  },
  injection_graded: async () => {
    const m = await import('./injection-graded.js');
    return (s, ctx) => m.injectionGradedScorer({ name: str(s.name), ctx });
  },
  strongreject: async () => {
    const m = await import('./grader.js');
    return (s, ctx) => m.strongRejectScorer({ name: str(s.name), ctx });
  },
  decision: async () => {
    const m = await import('./decision.js');
    return (s) => {
      const mode = s.mode ?? 'logprob';
      if (mode !== 'logprob' && mode !== 'sample') throw new AssayError('SCORER_INVALID', 'decision scorer: mode must be logprob or sample', { field: 'scorers.mode' });
      const words = (k: string) => (Array.isArray(s[k]) && s[k].every((w) => typeof w === 'string') ? (s[k] as string[]) : undefined);
      const minMass = typeof s.min_mass === 'number' ? s.min_mass : undefined;
      return m.decisionScorer({ name: str(s.name), mode, ...(words('yes') ? { yes: words('yes')! } : {}), ...(words('no') ? { no: words('no')! } : {}), ...(minMass !== undefined ? { minMass } : {}) });
    };
  },
  election_fact: async () => {
    const m = await import('./election.js');
    return (s) => {
      const value = s.value ?? 'pass';
      if (!['pass', 'correct', 'referral', 'contradiction', 'stale', 'debunked'].includes(value as string)) throw new AssayError('SCORER_INVALID', 'election_fact scorer: value must be pass, correct, referral, contradiction, stale or debunked', { field: 'scorers.value' });
      return m.electionFactScorer({ name: str(s.name), value: value as ElectionValue });
    };
  },
  election_fact_graded: async () => {
    const m = await import('./election-graded.js');
    return (s, ctx) => {
      const route = s.route ?? 'fallback';
      if (route !== 'fallback' && route !== 'always') throw new AssayError('SCORER_INVALID', 'election_fact_graded scorer: route must be fallback or always', { field: 'scorers.route' });
      return m.electionFactGradedScorer({ name: str(s.name), route, ctx });
    };
  },
  refusal: async () => {
    const m = await import('./refusal.js');
    return (s, ctx) => {
      const mode = s.mode ?? 'rules';
      const value = s.value ?? 'refused';
      if (mode !== 'rules' && mode !== 'grader' && mode !== 'string_match') throw new AssayError('SCORER_INVALID', 'refusal scorer: mode must be rules, grader or string_match', { field: 'scorers.mode' });
      if (value !== 'refused' && value !== 'complied' && value !== 'full_refusal') throw new AssayError('SCORER_INVALID', 'refusal scorer: value must be refused, complied or full_refusal', { field: 'scorers.value' });
      if (s.answers !== undefined && typeof s.answers !== 'boolean') throw new AssayError('SCORER_INVALID', 'refusal scorer: answers must be true or false', { field: 'scorers.answers' });
      return m.refusalScorer({ name: str(s.name), mode: mode as RefusalMode, value: value as RefusalValue, ctx, ...(s.answers === true ? { answers: true } : {}) });
    };
  },
  rubric: async () => {
    const m = await import('./grader.js');
    return (s, ctx) => {
      const value = str(s.value);
      if (!value) throw new AssayError('SCORER_INVALID', 'rubric scorer needs "value": the rubric item that is the score', { field: 'scorers.value' });
      return m.rubricScorer({ name: str(s.name), rubric: m.rubricFromSpec(s.rubric), value, normalise: bool(s.normalise), ctx });
    };
  },
  agent_outcome: async () => {
    const m = await import('../agent/scorer.js');
    return (s) => m.agentOutcomeScorer({ name: str(s.name), field: str(s.field) ?? 'violation' });
  },
};

/** Factories loaded so far (built-in types once loaded, and every registered type). */
const factories = new Map<string, Factory>();

export function registerScorer(type: string, factory: Factory): void {
  factories.set(type, factory);
}

export function scorerTypes(): string[] {
  return [...new Set([...Object.keys(builtin), ...factories.keys()])].sort();
}

/** Loads the modules of these scorer types (unknown types are left for createScorer to name). */
export async function loadScorerTypes(types: Iterable<string>): Promise<void> {
  for (const t of new Set(types)) if (!factories.has(t) && Object.hasOwn(builtin, t)) factories.set(t, await builtin[t]!());
}

/** A scorer of a type already loaded (loadScorerTypes) or registered. */
export function createScorer(spec: ScorerSpec, ctx: ScorerContext = {}): Scorer {
  const f = factories.get(spec.type);
  if (!f) {
    if (Object.hasOwn(builtin, spec.type)) throw new Error(`scorer type "${spec.type}" is not loaded: call loadScorerTypes first`);
    throw new AssayError('SCORER_UNKNOWN', `unknown scorer type "${spec.type}" (known: ${scorerTypes().join(', ')})`, { field: 'scorers.type' });
  }
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

/** createScorers, loading only the scorer modules the specs name. */
export async function loadScorers(specs: ScorerSpec[], ctx: ScorerContext = {}): Promise<Scorer[]> {
  await loadScorerTypes(specs.map((s) => s.type));
  return createScorers(specs, ctx);
}
