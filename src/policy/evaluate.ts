import semver from 'semver';
import { AssayError } from '../common/errors.js';
import { accessAtLeast, type AccessLevel } from '../model/types.js';
import { zFor } from '../stats/dist.js';
import { wilson } from '../stats/estimate.js';
import { basisFromV1, intervalFromBasis, type IntervalBasis } from '../stats/honest.js';
import type { Action, Capability, Decision, IntervalSpec, ModelFacts, Policy, Rule, Scope, ScreenStatus, Status } from './schema.js';

/**
 * Policy evaluation: PURE. Policy + declared model facts + per-run evidence (statistics and how
 * they were obtained) → a verdict giving, for every rule, the numbers used, the decision and why.
 * Nothing here reads a file or the clock, so anyone holding the same inputs gets the same verdict
 * (verification recomputes the verdict signed into a report). Missing or insufficient evidence
 * is never a pass: it yields "insufficient-evidence".
 */

export const VERDICT_SCHEMA = 'assay.verdict/v1';

/** The statistics of one metric that a decision needs (from RunStats or a signed report). */
export interface MetricFacts {
  name: string;
  n: number;
  counts: { scored: number; unscored: number; errored: number };
  mean: number | null;
  /** CLT standard error; null when undefined (n < 2). */
  se: number | null;
  binary: boolean;
  /** Clustered SE (Miller R2) when the samples carry clusters, else null. */
  clusteredSe: number | null;
  /** Clusters, when the samples carry them (absent in facts built before issue 18). */
  clusters?: number | null;
  /**
   * What recomputes the honest interval (stats/honest.ts; run-stats/v2). When absent (a v1 report)
   * it is derived from the fields above by basisFromV1.
   */
  basis?: IntervalBasis | null;
}

/** One run as evidence: what was measured, on what, and how far it can be trusted. */
export interface RunEvidence {
  runId: string;
  suite: { id: string; version: string; digest: string };
  model: string;
  simulated: boolean;
  access: AccessLevel;
  /** A signed report of this run verified. */
  signed: boolean;
  /** ... and it was included in a trusted transparency log. */
  logged: boolean;
  metrics: MetricFacts[];
}

export type Mode = 'final' | 'screen';

export interface EvaluateInput {
  facts: ModelFacts | null;
  runs: RunEvidence[];
  mode: Mode;
}

export interface ScopeResult {
  status: 'in-scope' | 'not-in-scope' | 'unknown';
  reasons: string[];
}

export interface RuleResult {
  rule: string;
  capability: string;
  stage: Rule['stage'];
  /** final: the rule's own settings; screen: its screening settings. */
  mode: Mode;
  suite: string;
  metric: string;
  direction: Rule['direction'];
  threshold: number;
  interval: IntervalSpec;
  run: { id: string; suiteVersion: string; suiteDigest: string; access: AccessLevel; signed: boolean; logged: boolean; simulated: boolean } | null;
  /** The numbers used; null when no usable run or metric. lo/hi null when the interval is undefined. */
  value: { mean: number | null; lo: number | null; hi: number | null; method: IntervalMethod | null; n: number; unscoredRate: number | null } | null;
  decision: Decision;
  reasons: string[];
  /** Other runs of the same suite and what they alone would have decided. */
  otherRuns: { runId: string; decision: Decision }[];
}

export interface CapabilityResult {
  capability: string;
  title: string;
  status: Status | ScreenStatus;
  reasons: string[];
}

export interface ResolvedAction {
  action: Action;
  /** Which status of which capability (or of the policy) set it off. */
  because: string;
}

export interface Verdict {
  schema: typeof VERDICT_SCHEMA;
  mode: Mode;
  policy: { id: string; version: string; digest: string; example: boolean };
  model: string | null;
  /** Any run used came from Assay's simulated target: the verdict describes Assay, not a model. */
  simulated: boolean;
  facts: ModelFacts | null;
  scope: ScopeResult;
  verdict: Status | ScreenStatus;
  reasons: string[];
  capabilities: CapabilityResult[];
  rules: RuleResult[];
  actions: ResolvedAction[];
  runs: { runId: string; suite: string; suiteVersion: string; suiteDigest: string; access: AccessLevel; signed: boolean; logged: boolean; simulated: boolean }[];
}

// ---------------------------------------------------------------------------------------------
// Scope

const sci = (x: number) => x.toExponential(2).replace('e+', 'e');

/** Whether declared facts place a model inside a scope; a missing fact makes it unknown, never "in". */
export function checkScope(scope: Scope, facts: ModelFacts | null): ScopeResult {
  const out: string[] = [];
  const unknown: string[] = [];
  const ok: string[] = [];
  const tc = scope.training_compute_flop;
  if (tc && (tc.min !== undefined || tc.max !== undefined)) {
    const c = facts?.training_compute_flop;
    if (c === undefined) unknown.push('training compute is not declared (model facts: training_compute_flop)');
    else if (tc.min !== undefined && c < tc.min) out.push(`declared training compute ${sci(c)} FLOP is below the scope's ${sci(tc.min)}`);
    else if (tc.max !== undefined && c >= tc.max) out.push(`declared training compute ${sci(c)} FLOP is at or above the scope's upper limit ${sci(tc.max)}`);
    else ok.push(`training compute ${sci(c)} FLOP within scope`);
  }
  if (scope.modalities) {
    const m = facts?.modalities;
    if (!m) unknown.push('modalities are not declared (model facts: modalities)');
    else if (!m.some((x) => scope.modalities!.includes(x))) out.push(`modalities ${m.join(', ') || '(none)'} include none of ${scope.modalities.join(', ')}`);
    else ok.push(`modality in scope`);
  }
  if (scope.deployment) {
    const d = facts?.deployment;
    if (!d) unknown.push('deployment type is not declared (model facts: deployment)');
    else if (!scope.deployment.includes(d)) out.push(`deployment "${d}" is not one of ${scope.deployment.join(', ')}`);
    else ok.push(`deployment "${d}" in scope`);
  }
  if (out.length) return { status: 'not-in-scope', reasons: out };
  if (unknown.length) return { status: 'unknown', reasons: unknown };
  return { status: 'in-scope', reasons: ok };
}

// ---------------------------------------------------------------------------------------------
// Intervals and the decision rule

/** The interval's name: the requested one, joined by '+' with the honest one when that widened it. */
export type IntervalMethod = string;
export type Bounds = { lo: number; hi: number; method: IntervalMethod } | { problem: string; method: IntervalMethod | null };

/**
 * The interval a rule asks for, recomputed from the metric's facts at the rule's level: a one-sided
 * bound at level L is a bound of the two-sided interval at 2L − 1.
 *
 * Issue 18: a verdict never uses an interval narrower than the honest one for the data's shape
 * (stats/honest.ts: Clopper–Pearson for binary scores, Korn–Graubard with epochs or clusters,
 * t / CR1-t otherwise). auto = the honest interval, widened bound by bound to the plain normal
 * one where that is wider, so auto is never narrower than plain. normal / wilson / clustered = the
 * requested interval widened to the honest one. When no honest interval exists (e.g. one cluster)
 * there is no decision: insufficient evidence.
 */
export function intervalFor(m: MetricFacts, spec: IntervalSpec): Bounds {
  const two = spec.sided === 'one' ? 2 * spec.level - 1 : spec.level;
  if (m.n === 0 || m.mean === null || !Number.isFinite(m.mean)) return { problem: 'no scored samples', method: spec.method === 'auto' ? null : spec.method };
  const basis = m.basis ?? basisFromV1(m);
  const honest = intervalFromBasis(basis, two);
  const hname = basis.method;
  if (!honest || !Number.isFinite(honest.lo) || !Number.isFinite(honest.hi))
    return { problem: basis.method === 'none' ? `no honest interval: ${basis.reason}` : 'the honest interval is undefined', method: hname };
  const z = zFor(two);
  let req: { lo: number; hi: number } | { problem: string } | null;
  if (spec.method === 'auto') req = m.se !== null && Number.isFinite(m.se) ? { lo: m.mean - z * m.se, hi: m.mean + z * m.se } : null;
  else if (spec.method === 'wilson') req = m.binary ? wilson(Math.round(m.mean * m.n), m.n, two) : { problem: 'a Wilson interval needs binary (0/1) scores with one epoch' };
  else if (spec.method === 'clustered') req = m.clusteredSe === null ? { problem: 'a clustered interval needs samples with clusters' } : Number.isFinite(m.clusteredSe) ? { lo: m.mean - z * m.clusteredSe, hi: m.mean + z * m.clusteredSe } : { problem: 'the standard error is undefined' };
  else req = m.se !== null && Number.isFinite(m.se) ? { lo: m.mean - z * m.se, hi: m.mean + z * m.se } : { problem: 'the standard error is undefined (fewer than 2 samples)' };
  if (req && 'problem' in req) return { problem: req.problem, method: spec.method };
  if (!req) return { lo: honest.lo, hi: honest.hi, method: hname };
  // Beta-based intervals are of [0, 1]-valued means: the plain interval's overshoot past 0 or 1 means nothing.
  const unit = hname === 'clopper-pearson' || hname === 'korn-graubard';
  const lo = unit ? Math.max(0, Math.min(req.lo, honest.lo)) : Math.min(req.lo, honest.lo);
  const hi = unit ? Math.min(1, Math.max(req.hi, honest.hi)) : Math.max(req.hi, honest.hi);
  const reqWider = req.lo < honest.lo || req.hi > honest.hi;
  const honestWider = honest.lo < req.lo || honest.hi > req.hi;
  const rname = spec.method === 'auto' ? 'normal' : spec.method;
  const method = spec.method === 'auto' ? (reqWider ? `${hname}+normal` : hname) : honestWider ? `${rname}+${hname}` : rname;
  return { lo, hi, method };
}

/**
 * The decision rule on an interval [lo, hi] against a threshold.
 * higher-is-worse: rule-out when hi < threshold; rule-in when lo ≥ threshold; else inconclusive.
 * lower-is-worse (mirror): rule-out when lo > threshold; rule-in when hi ≤ threshold.
 */
export function decide(lo: number, hi: number, threshold: number, direction: Rule['direction']): 'rule-out' | 'rule-in' | 'inconclusive' {
  if (direction === 'higher-is-worse') return hi < threshold ? 'rule-out' : lo >= threshold ? 'rule-in' : 'inconclusive';
  return lo > threshold ? 'rule-out' : hi <= threshold ? 'rule-in' : 'inconclusive';
}

const fmt = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? 'undefined' : Number(x.toPrecision(4)).toString());

interface Settings {
  threshold: number;
  interval: IntervalSpec;
  evidence: Policy['defaults']['evidence'];
}

function settingsFor(policy: Policy, rule: Rule, mode: Mode): Settings {
  const d = policy.defaults;
  const interval: IntervalSpec = { ...d.interval, ...(rule.interval ?? {}) } as IntervalSpec;
  const ev = rule.evidence ?? {};
  const evidence = { ...d.evidence, ...ev, access: { ...d.evidence.access, ...(ev.access ?? {}) } } as Settings['evidence'];
  if (mode === 'screen' && rule.screen) {
    return { threshold: rule.screen.threshold ?? rule.threshold, interval: { ...interval, ...(rule.screen.level !== undefined ? { level: rule.screen.level } : {}), ...(rule.screen.sided ? { sided: rule.screen.sided } : {}) }, evidence };
  }
  return { threshold: rule.threshold, interval, evidence };
}

/** One rule against one run: the numbers, every evidence problem, the decision. */
function evaluateRun(rule: Rule, s: Settings, run: RunEvidence, provenance: boolean): Pick<RuleResult, 'run' | 'value' | 'decision' | 'reasons'> {
  const runInfo = { id: run.runId, suiteVersion: run.suite.version, suiteDigest: run.suite.digest, access: run.access, signed: run.signed, logged: run.logged, simulated: run.simulated };
  const problems: string[] = [];
  if (rule.suite.version && !semver.satisfies(run.suite.version, rule.suite.version)) problems.push(`suite version ${run.suite.version} is outside the accepted range ${rule.suite.version}`);
  if (rule.suite.digests && !rule.suite.digests.includes(run.suite.digest)) problems.push(`suite digest ${run.suite.digest} is not one the rule accepts`);
  const m = run.metrics.find((x) => x.name === rule.metric);
  if (!m) return { run: runInfo, value: null, decision: 'insufficient-evidence', reasons: [...problems, `metric "${rule.metric}" is not in run ${run.runId} (has: ${run.metrics.map((x) => x.name).join(', ') || 'none'})`] };
  const records = m.counts.scored + m.counts.unscored + m.counts.errored;
  const unscoredRate = records ? (m.counts.unscored + m.counts.errored) / records : null;
  const b = intervalFor(m, s.interval);
  const value = { mean: m.mean, lo: 'lo' in b ? b.lo : null, hi: 'hi' in b ? b.hi : null, method: b.method, n: m.n, unscoredRate };
  const ev = s.evidence;
  if (m.n < ev.min_samples) problems.push(`n = ${m.n} scored samples, fewer than the ${ev.min_samples} required`);
  if (unscoredRate === null) problems.push('no records for this metric');
  else if (unscoredRate > ev.max_unscored_rate) problems.push(`unscored or errored rate ${fmt(unscoredRate)} (${m.counts.unscored} unscored, ${m.counts.errored} errored of ${records}) exceeds ${ev.max_unscored_rate}`);
  if (provenance && ev.signed && !run.signed) problems.push('the rule requires a signed report of this run that verifies');
  if (provenance && ev.logged && !run.logged) problems.push('the rule requires the report to be in a trusted transparency log');
  if ('problem' in b) problems.push(`interval undefined: ${b.problem}`);
  if (problems.length || !('lo' in b)) return { run: runInfo, value, decision: 'insufficient-evidence', reasons: problems };
  const d = decide(b.lo, b.hi, s.threshold, rule.direction);
  const cmp = rule.direction === 'higher-is-worse';
  const iv = `${s.interval.sided === 'one' ? 'one-sided ' : ''}${s.interval.level * 100}% ${b.method} interval [${fmt(b.lo)}, ${fmt(b.hi)}]`;
  // Access limits what a decision may claim: a black-box rule-out can miss a capability that better elicitation would show.
  const need = d === 'rule-out' ? ev.access.rule_out : d === 'rule-in' ? ev.access.rule_in : null;
  if (need && !accessAtLeast(run.access, need))
    return { run: runInfo, value, decision: 'insufficient-evidence', reasons: [`${iv} would ${d === 'rule-out' ? 'rule out' : 'rule in'}, but that needs ${need} access and run ${run.runId} had ${run.access}`] };
  const why =
    d === 'rule-out'
      ? `${iv} lies ${cmp ? 'below' : 'above'} the threshold ${fmt(s.threshold)}: ${cmp ? 'upper' : 'lower'} bound ${fmt(cmp ? b.hi : b.lo)} ${cmp ? '<' : '>'} ${fmt(s.threshold)}`
      : d === 'rule-in'
        ? `${iv} is ${cmp ? 'at or above' : 'at or below'} the threshold ${fmt(s.threshold)}: ${cmp ? 'lower' : 'upper'} bound ${fmt(cmp ? b.lo : b.hi)} ${cmp ? '≥' : '≤'} ${fmt(s.threshold)}`
        : `${iv} contains the threshold ${fmt(s.threshold)}`;
  return { run: runInfo, value, decision: d, reasons: [why] };
}

/** When several runs bear on a rule: the most severe decision wins, so re-running cannot shop for a pass. */
const RUN_PRIORITY: Record<Decision, number> = { 'rule-in': 4, inconclusive: 3, 'rule-out': 2, 'insufficient-evidence': 1, 'not-in-scope': 0 };

/**
 * One rule at its final or screening settings. `provenance`: whether the evidence must meet the
 * rule's signed/logged requirements — always for a determination, not for `assay screen`, which is
 * triage on the tester's own fresh runs (a screen used inside a final verdict is held to them).
 */
export function evaluateRule(policy: Policy, rule: Rule, runs: RunEvidence[], facts: ModelFacts | null, mode: Mode, provenance = true): RuleResult {
  const s = settingsFor(policy, rule, mode);
  const base = { rule: rule.id, capability: rule.capability, stage: rule.stage, mode, suite: rule.suite.id, metric: rule.metric, direction: rule.direction, threshold: s.threshold, interval: s.interval, otherRuns: [] as RuleResult['otherRuns'] };
  if (rule.applies_to) {
    const sc = checkScope(rule.applies_to, facts);
    if (sc.status === 'not-in-scope') return { ...base, run: null, value: null, decision: 'not-in-scope', reasons: sc.reasons };
    if (sc.status === 'unknown') return { ...base, run: null, value: null, decision: 'insufficient-evidence', reasons: [`cannot tell whether the rule applies: ${sc.reasons.join('; ')}`] };
  }
  const candidates = runs.filter((r) => r.suite.id === rule.suite.id);
  if (!candidates.length) return { ...base, run: null, value: null, decision: 'insufficient-evidence', reasons: [`no run of suite ${rule.suite.id}`] };
  const results = candidates.map((r) => ({ runId: r.runId, ...evaluateRun(rule, s, r, provenance) }));
  let best = results[0]!;
  for (const r of results) if (RUN_PRIORITY[r.decision] > RUN_PRIORITY[best.decision]) best = r;
  return { ...base, run: best.run, value: best.value, decision: best.decision, reasons: best.reasons, otherRuns: results.filter((r) => r !== best).map((r) => ({ runId: r.runId, decision: r.decision })) };
}

// ---------------------------------------------------------------------------------------------
// Capabilities and the policy

const STATUS_RANK: Record<Status, number> = { 'threshold-crossed': 4, 'cannot-rule-out': 3, 'insufficient-evidence': 2, 'below-threshold': 1, 'not-in-scope': 0 };
const SCREEN_RANK: Record<ScreenStatus, number> = { escalate: 3, 'insufficient-evidence': 2, cleared: 1, 'not-in-scope': 0 };

const label = (r: RuleResult) => `${r.rule}${r.mode === 'screen' ? ' (screen)' : ''}: ${r.decision}`;

/**
 * A capability's status from its rules (final mode). Elicitation evidence, when complete, decides
 * over the automated screen; a rule-in anywhere is a crossing; a screen that rules out everything
 * clears the capability; otherwise inconclusive evidence cannot rule it out.
 */
export function capabilityStatus(automated: RuleResult[], screen: RuleResult[], elicitation: RuleResult[]): { status: Status; reasons: string[] } {
  const inScope = (xs: RuleResult[]) => xs.filter((r) => r.decision !== 'not-in-scope');
  const A = inScope(automated);
  const S = inScope(screen);
  const E = inScope(elicitation);
  if (!A.length && !E.length) return { status: 'not-in-scope', reasons: ['no rule of this capability applies to the model'] };
  const ins = [...A, ...E].filter((r) => r.decision === 'rule-in');
  if (ins.length) return { status: 'threshold-crossed', reasons: ins.map(label) };
  if (E.length && E.every((r) => r.decision !== 'insufficient-evidence')) {
    if (E.every((r) => r.decision === 'rule-out')) return { status: 'below-threshold', reasons: ['expert elicitation ruled it out', ...E.map(label)] };
    return { status: 'cannot-rule-out', reasons: ['expert elicitation could not rule it out', ...E.filter((r) => r.decision !== 'rule-out').map(label)] };
  }
  if (S.length && S.every((r) => r.decision === 'rule-out')) return { status: 'below-threshold', reasons: ['the screen ruled it out', ...S.map(label)] };
  const open = [...S.filter((r) => r.decision === 'rule-in' || r.decision === 'inconclusive'), ...[...A, ...E].filter((r) => r.decision === 'inconclusive')];
  if (open.length) return { status: 'cannot-rule-out', reasons: [E.length ? 'stage-2 evidence is incomplete' : 'the screen could not rule it out', ...open.map(label)] };
  return { status: 'insufficient-evidence', reasons: [...S, ...A, ...E].filter((r) => r.decision === 'insufficient-evidence').map((r) => `${label(r)}: ${r.reasons.join('; ')}`) };
}

/** A capability's screening status from its automated rules at screening settings. */
export function screenStatus(screen: RuleResult[]): { status: ScreenStatus; reasons: string[] } {
  const S = screen.filter((r) => r.decision !== 'not-in-scope');
  if (!S.length) return { status: 'not-in-scope', reasons: ['no automated rule of this capability applies to the model'] };
  const open = S.filter((r) => r.decision === 'rule-in' || r.decision === 'inconclusive');
  if (open.length) return { status: 'escalate', reasons: open.map((r) => `${r.rule}: ${r.decision === 'rule-in' ? 'crossed the screening threshold' : 'inconclusive at the screening settings'}`) };
  if (S.every((r) => r.decision === 'rule-out')) return { status: 'cleared', reasons: S.map(label) };
  return { status: 'insufficient-evidence', reasons: S.filter((r) => r.decision === 'insufficient-evidence').map((r) => `${r.rule}: ${r.reasons.join('; ')}`) };
}

function actionsFor(policy: Policy, cap: Capability, status: Status): ResolvedAction[] {
  const list = (cap.actions as Partial<Record<Status, Action[]>>)[status] ?? [];
  return list.map((a) => ({ action: a.type === 'kyc-gating' && !a.capability ? { ...a, capability: cap.id } : a, because: `capability ${cap.id}: ${status}` }));
}

export function evaluatePolicy(policy: Policy, digest: string, input: EvaluateInput): Verdict {
  const models = [...new Set(input.runs.map((r) => r.model))];
  if (models.length > 1) throw new AssayError('MODEL_MISMATCH', `the runs are of different models (${models.join(', ')}); a verdict is about one model`);
  const model = models[0] ?? input.facts?.model ?? null;
  if (input.facts?.model && models.length && input.facts.model !== models[0])
    throw new AssayError('MODEL_MISMATCH', `the model facts are about ${input.facts.model} but the runs are of ${models[0]}`, { field: 'model' });

  const scope = checkScope(policy.scope, input.facts);
  const rules: RuleResult[] = [];
  const capabilities: CapabilityResult[] = [];
  const actions: ResolvedAction[] = [];
  for (const cap of policy.capabilities) {
    const own = policy.rules.filter((r) => r.capability === cap.id);
    const auto = own.filter((r) => r.stage === 'automated');
    const screen = auto.map((r) => evaluateRule(policy, r, input.runs, input.facts, 'screen', input.mode === 'final'));
    if (input.mode === 'screen') {
      rules.push(...screen);
      const st = screenStatus(screen);
      capabilities.push({ capability: cap.id, title: cap.title, ...st });
      if (st.status === 'escalate' && scope.status !== 'not-in-scope') actions.push({ action: { type: 'escalate', to: 'stage-2' }, because: `capability ${cap.id}: screen ${st.reasons.join('; ')}` });
      continue;
    }
    const automated = auto.map((r) => evaluateRule(policy, r, input.runs, input.facts, 'final'));
    const elicitation = own.filter((r) => r.stage === 'elicitation').map((r) => evaluateRule(policy, r, input.runs, input.facts, 'final'));
    // A rule without screening settings is screened with its own, so only distinct screens are listed.
    auto.forEach((r, i) => {
      rules.push(automated[i]!);
      if (r.screen) rules.push(screen[i]!);
    });
    rules.push(...elicitation);
    const st = capabilityStatus(automated, screen, elicitation);
    capabilities.push({ capability: cap.id, title: cap.title, ...st });
    if (scope.status === 'in-scope') actions.push(...actionsFor(policy, cap, st.status));
  }

  let verdict: Status | ScreenStatus;
  const reasons: string[] = [];
  if (scope.status === 'not-in-scope') {
    verdict = 'not-in-scope';
    reasons.push(...scope.reasons);
  } else if (input.mode === 'screen') {
    const ranked = capabilities.map((c) => c.status as ScreenStatus).filter((s) => s !== 'not-in-scope');
    verdict = ranked.length ? ranked.reduce((a, b) => (SCREEN_RANK[b] > SCREEN_RANK[a] ? b : a)) : 'not-in-scope';
    if (scope.status === 'unknown' && verdict === 'cleared') verdict = 'insufficient-evidence';
  } else {
    const ranked = capabilities.map((c) => c.status as Status).filter((s) => s !== 'not-in-scope');
    verdict = ranked.length ? ranked.reduce((a, b) => (STATUS_RANK[b] > STATUS_RANK[a] ? b : a)) : 'not-in-scope';
    // Without the facts that decide whether the policy applies, nothing can pass.
    if (scope.status === 'unknown' && (verdict === 'below-threshold' || verdict === 'not-in-scope')) verdict = 'insufficient-evidence';
  }
  if (scope.status === 'unknown') reasons.push(`whether the policy applies is unknown: ${scope.reasons.join('; ')}`);
  if (verdict !== 'not-in-scope' || scope.status === 'not-in-scope')
    reasons.push(...capabilities.filter((c) => c.status === verdict).map((c) => `capability ${c.capability}: ${c.status}`));
  if (input.mode === 'final') {
    const top = (policy.actions as Partial<Record<Status, Action[]>>)[verdict as Status] ?? [];
    actions.push(...top.map((a) => ({ action: a, because: `policy ${policy.id}: ${verdict}` })));
  }
  return {
    schema: VERDICT_SCHEMA,
    mode: input.mode,
    policy: { id: policy.id, version: policy.version, digest, example: policy.example },
    model,
    simulated: input.runs.some((r) => r.simulated),
    facts: input.facts,
    scope,
    verdict,
    reasons,
    capabilities,
    rules,
    actions,
    runs: input.runs.map((r) => ({ runId: r.runId, suite: r.suite.id, suiteVersion: r.suite.version, suiteDigest: r.suite.digest, access: r.access, signed: r.signed, logged: r.logged, simulated: r.simulated })),
  };
}

/** Exit codes of `assay verdict` and `assay screen` (docs/formats/policy.md). */
export const VERDICT_EXIT: Record<Status | ScreenStatus, number> = {
  'below-threshold': 0,
  cleared: 0,
  'threshold-crossed': 20,
  'cannot-rule-out': 21,
  escalate: 21,
  'insufficient-evidence': 22,
  'not-in-scope': 23,
};
