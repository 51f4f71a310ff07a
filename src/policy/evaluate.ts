import semver from 'semver';
import { canonicalJson } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import { accessAtLeast, type AccessLevel } from '../model/types.js';
import { zFor } from '../stats/dist.js';
import { wilson } from '../stats/estimate.js';
import { basisFromV1, intervalFromBasis, SKEW_BOUND, type IntervalBasis } from '../stats/honest.js';
import type { Action, Capability, Decision, IntervalSpec, ModelFacts, Policy, Rule, Scope, ScreenStatus, Status } from './schema.js';
import { evaluateTamperRule, type TamperEvidence, type TamperRuleResult } from './tamper-rule.js';

export type { TamperEvidence } from './tamper-rule.js';

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
  /** Per-group estimates, when the statistics were grouped (sub-domain rules, v2). */
  groups?: { by: string; group: string; n: number; mean: number | null; se: number | null; basis?: IntervalBasis | null }[];
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
  /**
   * Evaluation v2 integrity facts. An absent fact is unknown, and unknown never counts as evidence.
   * extent: every item (`full`), the first n in suite order (`first-n`, --limit), a chosen set
   * (`chosen`, --sample-id) or a run that stopped early (`incomplete`).
   */
  extent?: {
    kind: RunExtent;
    detail: string;
    /** chosen: the item ids (--sample-id). */
    ids?: string[];
    /**
     * full / first-n (evaluation v4): item × epoch records the run holds, and how many its suite
     * defines (items × epochs, capped by --limit); expected null when the log or report predates
     * recording the suite's size. Absent: unknown.
     */
    coverage?: { recorded: number; expected: number | null };
  };
  /** Stage-2 sessions: items judged, and how many of them had a model exchange recorded. null: cannot tell. */
  exchanges?: { judged: number; withModel: number } | null;
  /** Where `access` came from: the tester's declaration, or a verified gateway grant. */
  accessBasis?: 'declared' | 'grant';
  /** With accessBasis 'grant': which grant (token digest and issuing gateway key). Not part of verdicts. */
  grant?: { sha256: string; keyId: string } | null;
  /** The model-release statement the run names ("sha256:<hex>"), null when none. */
  release?: string | null;
  /** When the run started (ISO 8601), for staleness. */
  startedAt?: string | null;
  /**
   * Evaluation v4, stage-2 sessions whose access rests on a gateway grant: of the judged items with
   * a model exchange, how many an opening of the gateway's committed access log shows
   * (policy/access-records.ts). Absent: not checked, and such a session does not count.
   */
  accessRecords?: { of: number; opened: number } | null;
  /** A v3 pool of sessions that may share items: judgements pooled and items certainly distinct. */
  distinctItems?: { judged: number; distinct: number };
}

export type RunExtent = 'full' | 'first-n' | 'chosen' | 'incomplete';
export type Mode = 'final' | 'screen';

/**
 * The policy-evaluation version. 1: the rules as first published (suite pins optional, partial runs
 * and stage-2 sessions without model exchanges counted, access as declared). 2: the integrity rules
 * of docs/formats/policy.md ("Evidence integrity"). 3: pooling only adds evidence (a session given
 * twice counts once; one that rules in alone is not diluted), a sub-domain rule uses its group's own
 * interval, and a run that started after the evaluation date is no evidence for staleness rules. 4: a
 * run holding fewer item records than its suite defines (the suite's size, recorded in the run header
 * and report) is partial even with a completed end record and no --limit; a run whose suite size is
 * not recorded does not count. 5: an unbounded metric whose signed interval basis is student-t / cr1-t
 * (run-stats/v2, v3 reports, whose facts do not hold the units' skewness) is decided on that
 * interval widened for the assumed skewness bound (assumedSkew). Signed verdicts name the version they were
 * computed with, so a report signed under v1 recomputes under v1 and does not flip.
 */
export const POLICY_EVALUATION_VERSION = 5;

/**
 * Version 5: a student-t / cr1-t basis (signed before run-stats/v4) becomes the skew-t / cr1-skew-t
 * it would be with only the assumed bound (SKEW_BOUND/√(df + 1) on each side, equal cluster sizes
 * assumed; the data's own skewness is not in those facts), so a verdict is never narrower than
 * what run-stats/v4 calls honest for unbounded scores without evidence of symmetry.
 */
export function assumedSkew(b: IntervalBasis): IntervalBasis {
  if (b.method !== 'student-t' && b.method !== 'cr1-t') return b;
  const k = SKEW_BOUND / Math.sqrt(b.df + 1);
  const terms = { skew: 0, skewLo: k, skewHi: k };
  return b.method === 'student-t' ? { ...b, method: 'skew-t', ...terms } : { ...b, method: 'cr1-skew-t', ...terms };
}

export interface EvaluateInput {
  facts: ModelFacts | null;
  runs: RunEvidence[];
  mode: Mode;
  /** Evaluation version (default: the current one). */
  version?: number;
  /** The evaluation date (ISO 8601), an input so that evaluation stays pure; needed by staleness rules. */
  at?: string | null;
  /** Verified signed tamper reports, for tamper rules (policy v3). */
  tamper?: TamperEvidence[];
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
  /** v2, rules with an alert threshold: the rule ruled out the threshold but not the alert level. */
  alert?: boolean;
  /** v3, tamper rules: the required strength and each matching attack's figures and decision. */
  tamper?: TamperRuleResult['tamper'];
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
  runs: { runId: string; suite: string; suiteVersion: string; suiteDigest: string; access: AccessLevel; signed: boolean; logged: boolean; simulated: boolean; extent?: RunExtent | null; accessBasis?: 'declared' | 'grant'; release?: string | null; exchanges?: { judged: number; withModel: number } | null; accessRecords?: { of: number; opened: number } }[];
  /** The evaluation version and date (v2 and later; absent in v1 verdicts). */
  evaluation?: { version: number; at: string | null };
  /** v2 policies with `triggers`: which fired. */
  triggers?: TriggerResult[];
  /** Signed tamper reports used as evidence (present only when some were given). */
  tamperReports?: { report: string; grid: string; gridDigest: string; baseModel: string; signed: boolean; logged: boolean; simulated: boolean | null }[];
}

export interface TriggerResult {
  trigger: 'compute_ratio' | 'fine_tuning_months';
  fired: boolean | null;
  reason: string;
}

/** Relative-compute and post-training triggers from the declared facts (null: a fact is missing). */
export function firedTriggers(t: NonNullable<Policy['triggers']>, facts: ModelFacts | null): TriggerResult[] {
  const out: TriggerResult[] = [];
  if (t.compute_ratio !== undefined) {
    const now = facts?.training_compute_flop;
    const last = facts?.last_evaluated_compute_flop;
    if (now === undefined || last === undefined || !(last > 0)) out.push({ trigger: 'compute_ratio', fired: null, reason: 'training_compute_flop and last_evaluated_compute_flop must both be declared' });
    else out.push({ trigger: 'compute_ratio', fired: now / last >= t.compute_ratio, reason: `effective compute ${fmt(now / last)}× the last evaluated model (trigger at ${t.compute_ratio}×)` });
  }
  if (t.fine_tuning_months !== undefined) {
    const m = facts?.fine_tuning_months_since_evaluation;
    if (m === undefined) out.push({ trigger: 'fine_tuning_months', fired: null, reason: 'fine_tuning_months_since_evaluation is not declared' });
    else out.push({ trigger: 'fine_tuning_months', fired: m >= t.fine_tuning_months, reason: `${m} months of post-training since the last evaluation (trigger at ${t.fine_tuning_months})` });
  }
  return out;
}

/**
 * v2: ordered levels (a crossed capability crosses every capability it implies) and governance
 * sign-off (a status that needs one, without it in the facts, becomes insufficient evidence —
 * never less severe than it was).
 */
function applyLevelsAndSignoffs(policy: Policy, caps: CapabilityResult[], facts: ModelFacts | null): void {
  const byId = new Map(caps.map((c) => [c.capability, c]));
  let changed = true;
  while (changed) {
    changed = false;
    for (const cap of policy.capabilities) {
      const c = byId.get(cap.id);
      if (c?.status !== 'threshold-crossed') continue;
      for (const low of cap.implies ?? []) {
        const l = byId.get(low);
        if (l && l.status !== 'threshold-crossed' && l.status !== 'not-in-scope') {
          l.status = 'threshold-crossed';
          l.reasons = [`implied by ${cap.id} (a higher level) crossing`, ...l.reasons];
          changed = true;
        }
      }
    }
  }
  for (const cap of policy.capabilities) {
    const c = byId.get(cap.id)!;
    const so = cap.signoff;
    if (!so || !so.required_for.includes(c.status as Status)) continue;
    const ok = (facts?.signoffs ?? []).some((x) => x.capability === cap.id && x.status === c.status && x.by === so.by);
    if (ok) c.reasons = [...c.reasons, `signed off by ${so.by}`];
    else if (STATUS_RANK[c.status as Status] < STATUS_RANK['insufficient-evidence']) {
      c.reasons = [`"${c.status}" needs sign-off by ${so.by} (model facts: signoffs), and there is none`, ...c.reasons];
      c.status = 'insufficient-evidence';
    } else c.reasons = [...c.reasons, `awaiting sign-off by ${so.by}`];
  }
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
 * skew-t / CR1-skew-t for unbounded scores, t / CR1-t in reports before run-stats/v4). auto = the honest interval, widened bound by bound to the plain normal
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

const isElicitation = (rule: Rule) => rule.stage === 'elicitation' || rule.suite.id.endsWith('.elicitation');
const DAY_MS = 86_400_000;

/** Evaluation v2: what keeps a run from counting at all (partial runs, sessions without the model, staleness, release). */
function integrityProblems(rule: Rule, ev: Settings['evidence'], run: RunEvidence, ctx: Ctx): string[] {
  const out: string[] = [];
  const allowed = ev.subsets ?? 'none';
  const ext = run.extent;
  if (!ext) out.push(`run ${run.runId}: whether it covered the whole suite is unknown`);
  else if (ext.kind === 'first-n' ? allowed === 'none' : ext.kind !== 'full' && allowed !== 'any')
    out.push(`run ${run.runId} is partial (${ext.detail}); the rule counts ${allowed === 'none' ? 'whole-suite runs only' : 'only the first n items in suite order (subsets: first-n)'} — allow it with evidence.subsets`);
  // v4: a run that holds fewer items than its suite defines is partial, whatever its config and end
  // record say; a run whose suite size was not recorded cannot show it covered the suite.
  else if (ctx.version >= 4 && (ext.kind === 'full' || ext.kind === 'first-n')) {
    const c = ext.coverage;
    if (!c || c.expected === null)
      out.push(`run ${run.runId}: its suite's item count is not recorded (a log or report written before Assay recorded it), so whether it covered the whole suite is unknown — re-run or re-attest with this Assay`);
    else if (c.recorded < c.expected && allowed !== 'any')
      out.push(`run ${run.runId} is partial: it holds ${c.recorded} of the ${c.expected} item records its suite defines${ext.kind === 'first-n' ? ' for its --limit' : ''} (items × epochs), though it ended completed; the rule counts ${allowed === 'none' ? 'whole-suite runs only' : 'only the first n items in suite order'} — allow any subset with evidence.subsets: any`);
  }
  if (isElicitation(rule)) {
    const x = run.exchanges;
    if (!x) out.push(`stage-2 session ${run.runId}: cannot tell whether the judged items had model exchanges (give the session's run log)`);
    else if (x.withModel < x.judged) out.push(`stage-2 session ${run.runId}: ${x.judged - x.withModel} of ${x.judged} judged items have no model exchange recorded; judgements without the model are not evidence`);
    // v4: a session that claims it ran through a gateway grant shows it with the gateway's access records.
    if (ctx.version >= 4 && run.accessBasis === 'grant') {
      const a = run.accessRecords;
      if (!a) out.push(`stage-2 session ${run.runId} rests on a gateway grant, but its model exchanges were not checked against the gateway's access log (give --gateway-log and --opening)`);
      else if (a.opened < (x?.judged ?? Infinity)) out.push(`stage-2 session ${run.runId}: ${a.opened} of ${x?.judged ?? a.of} judged items' model exchanges match openings of the gateway's access log; items without them are not evidence`);
    }
  }
  if (ev.release === 'required') {
    const rel = run.release ?? null;
    const bound = ctx.facts?.releases;
    if (!rel) out.push(`run ${run.runId} names no model release (the rule requires one: run through the gateway, attest with --model-release)`);
    else if (bound && !bound.includes(rel)) out.push(`run ${run.runId} tested release ${rel}, not a release the model facts name (${bound.join(', ')}): re-test after a model change`);
  }
  if (ev.max_age_days !== undefined) {
    const at = ctx.at ? Date.parse(ctx.at) : NaN;
    const started = run.startedAt ? Date.parse(run.startedAt) : NaN;
    if (!Number.isFinite(at)) out.push(`the rule limits evidence to ${ev.max_age_days} days but no evaluation date was given`);
    else if (!Number.isFinite(started)) out.push(`run ${run.runId}: start time unknown; the rule limits evidence to ${ev.max_age_days} days`);
    // A run that started after the evaluation date is no evidence as of that date (a back-dated
    // --at would otherwise make any old run look fresh).
    else if (ctx.version >= 3 && started > at) out.push(`run ${run.runId} started ${run.startedAt}, after the evaluation date ${ctx.at}: it is no evidence as of then`);
    else if (at - started > ev.max_age_days * DAY_MS) out.push(`run ${run.runId} is stale: started ${run.startedAt}, ${Math.floor((at - started) / DAY_MS)} days before ${ctx.at} (limit ${ev.max_age_days} days)`);
  }
  return out;
}

interface Ctx {
  version: number;
  facts: ModelFacts | null;
  at: string | null;
}

/** One rule against one run: the numbers, every evidence problem, the decision. */
function evaluateRun(rule: Rule, s: Settings, run: RunEvidence, provenance: boolean, ctx: Ctx): Pick<RuleResult, 'run' | 'value' | 'decision' | 'reasons' | 'alert'> {
  const runInfo = { id: run.runId, suiteVersion: run.suite.version, suiteDigest: run.suite.digest, access: run.access, signed: run.signed, logged: run.logged, simulated: run.simulated };
  const problems: string[] = ctx.version >= 2 ? integrityProblems(rule, s.evidence, run, ctx) : [];
  if (rule.suite.version && !semver.satisfies(run.suite.version, rule.suite.version)) problems.push(`suite version ${run.suite.version} is outside the accepted range ${rule.suite.version}`);
  if (rule.suite.digests && !rule.suite.digests.includes(run.suite.digest)) problems.push(`suite digest ${run.suite.digest} is not one the rule accepts`);
  let m = run.metrics.find((x) => x.name === rule.metric);
  if (m && rule.group) {
    const g = m.groups?.find((x) => x.by === rule.group!.by && x.group === rule.group!.value);
    if (!g) return { run: runInfo, value: null, decision: 'insufficient-evidence', reasons: [...problems, `run ${run.runId} has no statistics for ${rule.metric} in group ${rule.group.by} = ${rule.group.value}`] };
    // The sub-domain's own estimate and its own honest interval (never the whole metric's); the
    // unscored rate stays the metric's (per-group counts are not kept). A clustered metric's group
    // without its interval basis has no honest interval here: no decision.
    if (ctx.version >= 3) {
      const gb: IntervalBasis | null = g.basis ?? (m.clusteredSe !== null ? { method: 'none', reason: `the statistics of group ${rule.group.by} = ${rule.group.value} carry no interval basis, and the metric is clustered` } : null);
      m = { ...m, n: g.n, mean: g.mean, se: g.se, clusteredSe: null, clusters: null, basis: gb, counts: m.counts };
    } else m = { ...m, n: g.n, mean: g.mean, se: g.se, clusteredSe: null, counts: m.counts };
  }
  if (!m) return { run: runInfo, value: null, decision: 'insufficient-evidence', reasons: [...problems, `metric "${rule.metric}" is not in run ${run.runId} (has: ${run.metrics.map((x) => x.name).join(', ') || 'none'})`] };
  const records = m.counts.scored + m.counts.unscored + m.counts.errored;
  const unscoredRate = records ? (m.counts.unscored + m.counts.errored) / records : null;
  // v5: only a signed basis (run-stats/v2, v3) names the domain; v1 facts do not say whether a score is bounded.
  const b = intervalFor(ctx.version >= 5 && m.basis ? { ...m, basis: assumedSkew(m.basis) } : m, s.interval);
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
  if (ctx.version >= 2 && d === 'rule-out') {
    // Clearing needs the exact suite: an altered copy (other answer keys, easier items) could clear anything.
    if (!rule.suite.digests)
      return { run: runInfo, value, decision: 'insufficient-evidence', reasons: [`${iv} would rule out, but the rule pins no suite digest (suite.digests), so run ${run.runId} of ${run.suite.digest} may be of an altered copy; pin it (assay policy pin)`] };
    if (ev.access.basis === 'grant' && run.accessBasis !== 'grant')
      return { run: runInfo, value, decision: 'insufficient-evidence', reasons: [`${iv} would rule out, but the rule needs the access level from a verified gateway grant and run ${run.runId}'s ${run.access} is self-declared`] };
  }
  let alert: string | null = null;
  if (ctx.version >= 2 && d === 'rule-out' && rule.alert_threshold !== undefined && decide(b.lo, b.hi, rule.alert_threshold, rule.direction) !== 'rule-out')
    alert = `EARLY WARNING: the ${cmp ? 'upper' : 'lower'} bound ${fmt(cmp ? b.hi : b.lo)} reaches the alert threshold ${fmt(rule.alert_threshold)}`;
  // v3: an inconclusive rule reaches its alert threshold too (its interval reaches the threshold,
  // which lies beyond the alert level): when experts then rule the capability out, the automated
  // evidence still warns.
  else if (ctx.version >= 3 && d === 'inconclusive' && rule.alert_threshold !== undefined)
    alert = `EARLY WARNING: inconclusive at the threshold, so the alert threshold ${fmt(rule.alert_threshold)} is reached`;
  const why =
    d === 'rule-out'
      ? `${iv} lies ${cmp ? 'below' : 'above'} the threshold ${fmt(s.threshold)}: ${cmp ? 'upper' : 'lower'} bound ${fmt(cmp ? b.hi : b.lo)} ${cmp ? '<' : '>'} ${fmt(s.threshold)}`
      : d === 'rule-in'
        ? `${iv} is ${cmp ? 'at or above' : 'at or below'} the threshold ${fmt(s.threshold)}: ${cmp ? 'lower' : 'upper'} bound ${fmt(cmp ? b.lo : b.hi)} ${cmp ? '≥' : '≤'} ${fmt(s.threshold)}`
        : `${iv} contains the threshold ${fmt(s.threshold)}`;
  return { run: runInfo, value, decision: d, reasons: alert ? [why, alert] : [why], ...(rule.alert_threshold !== undefined && ctx.version >= 2 ? { alert: alert !== null } : {}) };
}

/**
 * Several runs of one suite as one: counts and means pooled, the standard error from the pooled
 * variance (s_i² = se_i²·n_i; SS = Σ (n_i − 1)s_i² + n_i(m_i − m)²). The weakest provenance,
 * access and extent of any session holds for the pool; different suite digests do not pool.
 */
export function poolRuns(runs: RunEvidence[], metric: string): RunEvidence {
  const first = runs[0]!;
  const ms = runs.map((r) => r.metrics.find((m) => m.name === metric));
  const digests = [...new Set(runs.map((r) => r.suite.digest))];
  // A session whose coverage is short of its suite, or unknown, ranks below a whole one of the same kind (v4 reads it).
  const short = (x: RunEvidence['extent']) => (!x?.coverage || x.coverage.expected === null || x.coverage.recorded < x.coverage.expected ? 0.5 : 0);
  const rank = (x: RunEvidence['extent']) => (x === undefined ? 4 : ({ full: 0, 'first-n': 1, incomplete: 2, chosen: 3 } as const)[x.kind] + (x.kind === 'full' || x.kind === 'first-n' ? short(x) : 0));
  const worst = runs.reduce((a, b) => (rank(b.extent) > rank(a.extent) ? b : a));
  let metrics: MetricFacts[] = [];
  if (digests.length === 1 && ms.every((m) => m)) {
    const M = ms as MetricFacts[];
    const n = M.reduce((a, m) => a + m.n, 0);
    const mean = n && M.every((m) => m.mean !== null || m.n === 0) ? M.reduce((a, m) => a + (m.n ? m.mean! * m.n : 0), 0) / n : null;
    let ss: number | null = 0;
    for (const m of M) {
      if (!m.n) continue;
      if (m.n > 1 && m.se === null) ss = null;
      if (ss !== null && mean !== null) ss += (m.n > 1 ? m.se! * m.se! * m.n * (m.n - 1) : 0) + m.n * (m.mean! - mean) ** 2;
    }
    const se = ss !== null && n > 1 ? Math.sqrt(ss / (n - 1) / n) : null;
    metrics = [{ name: metric, n, counts: { scored: M.reduce((a, m) => a + m.counts.scored, 0), unscored: M.reduce((a, m) => a + m.counts.unscored, 0), errored: M.reduce((a, m) => a + m.counts.errored, 0) }, mean, se, binary: M.every((m) => m.binary), clusteredSe: null }];
  }
  const ex = runs.map((r) => r.exchanges);
  return {
    runId: `pooled(${runs.map((r) => r.runId).join('+')})`,
    suite: { id: first.suite.id, version: first.suite.version, digest: digests.length === 1 ? first.suite.digest : `mixed(${digests.join(',')})` },
    model: first.model,
    simulated: runs.some((r) => r.simulated),
    access: runs.reduce((a, r) => (accessAtLeast(a, r.access) ? r.access : a), first.access),
    signed: runs.every((r) => r.signed),
    logged: runs.every((r) => r.logged),
    metrics,
    ...(worst.extent ? { extent: worst.extent } : {}),
    exchanges: ex.every((x) => x) ? { judged: ex.reduce((a, x) => a + x!.judged, 0), withModel: ex.reduce((a, x) => a + x!.withModel, 0) } : null,
    accessBasis: runs.every((r) => r.accessBasis === 'grant') ? 'grant' : 'declared',
    ...(runs.every((r) => r.accessRecords) ? { accessRecords: { of: runs.reduce((a, r) => a + r.accessRecords!.of, 0), opened: runs.reduce((a, r) => a + r.accessRecords!.opened, 0) } } : {}),
    release: new Set(runs.map((r) => r.release ?? null)).size === 1 ? (first.release ?? null) : null,
    startedAt: runs.map((r) => r.startedAt ?? null).reduce((a, b) => (a === null || b === null ? null : a < b ? a : b)),
  };
}

/**
 * v3: pooled sessions that may have judged the same items are not independent evidence — an expert
 * re-doing the same first 20 items three times has 20 items, not 60. The pooled estimate keeps its
 * mean but counts only the items certainly distinct: the largest session (or prefix of the suite,
 * --limit), or the union of --sample-id choices when larger; the standard error is widened by
 * √(n / distinct), as if each item's repeated judgements were one. Disjoint --sample-id sessions
 * keep their whole n.
 */
export function withDistinctItems(pooled: RunEvidence, sessions: RunEvidence[], metric: string): RunEvidence {
  const m = pooled.metrics[0];
  if (!m || !m.n) return pooled;
  const nOf = (r: RunEvidence) => r.metrics.find((x) => x.name === metric)?.n ?? 0;
  const chosen = sessions.filter((r) => r.extent?.kind === 'chosen' && r.extent.ids);
  const others = sessions.filter((r) => !chosen.includes(r));
  const ids = new Set(chosen.flatMap((r) => r.extent!.ids!));
  const fromChosen = Math.min(ids.size, chosen.reduce((a, r) => a + nOf(r), 0));
  const distinct = Math.min(m.n, Math.max(fromChosen, ...others.map(nOf), ...sessions.map(nOf)));
  if (distinct >= m.n) return pooled;
  const f = Math.sqrt(m.n / distinct);
  const scale = (k: number) => Math.round((k * distinct) / m.n);
  const scored = distinct;
  const unscored = scale(m.counts.unscored);
  const errored = scale(m.counts.errored);
  return { ...pooled, metrics: [{ ...m, n: distinct, counts: { scored, unscored, errored }, se: m.se === null ? null : m.se * f, basis: null }], distinctItems: { judged: m.n, distinct } };
}

/**
 * A comparison rule: treatment (the rule's suite) minus control (the baseline suite), each from
 * exactly one run that meets the evidence rules on its own; unpaired normal interval on the
 * difference (SE = √(SE_t² + SE_c²)).
 */
function evaluateComparison(rule: Rule, s: Settings, treat: RunEvidence[], runs: RunEvidence[], provenance: boolean, ctx: Ctx): Pick<RuleResult, 'run' | 'value' | 'decision' | 'reasons'> {
  const b = rule.baseline!;
  const ctrl = runs.filter((r) => r.suite.id === b.suite.id);
  const none = (why: string) => ({ run: null, value: null, decision: 'insufficient-evidence' as const, reasons: [why] });
  if (!ctrl.length) return none(`no run of the baseline suite ${b.suite.id}`);
  if (treat.length > 1 || ctrl.length > 1) return none(`a comparison needs one run of each suite (${treat.length} of ${rule.suite.id}, ${ctrl.length} of ${b.suite.id})`);
  const t = treat[0]!;
  const c = ctrl[0]!;
  const problems = [...integrityProblems(rule, s.evidence, c, ctx)];
  if (b.suite.digests && !b.suite.digests.includes(c.suite.digest)) problems.push(`baseline suite digest ${c.suite.digest} is not one the rule accepts`);
  if (!b.suite.digests) problems.push(`the baseline suite ${b.suite.id} is not pinned (baseline.suite.digests)`);
  if (provenance && s.evidence.signed && !c.signed) problems.push(`the baseline run ${c.runId} needs a signed report that verifies`);
  if (ctx.version >= 3) {
    // v3: the control arm meets the evidence rules the treatment does (a control with a high
    // unscored rate, or from an unlogged report, could shrink the difference).
    if (provenance && s.evidence.logged && !c.logged) problems.push(`the baseline run ${c.runId} needs its report in a trusted transparency log`);
    const cm = c.metrics.find((m) => m.name === (b.metric ?? rule.metric));
    const recs = cm ? cm.counts.scored + cm.counts.unscored + cm.counts.errored : 0;
    if (cm && recs && (cm.counts.unscored + cm.counts.errored) / recs > s.evidence.max_unscored_rate)
      problems.push(`baseline unscored or errored rate ${fmt((cm.counts.unscored + cm.counts.errored) / recs)} exceeds ${s.evidence.max_unscored_rate}`);
  }
  const mt = t.metrics.find((m) => m.name === rule.metric);
  const mc = c.metrics.find((m) => m.name === (b.metric ?? rule.metric));
  if (!mt || !mc) return none(`metric ${!mt ? `"${rule.metric}" not in ${t.runId}` : `"${b.metric ?? rule.metric}" not in ${c.runId}`}`);
  if (mc.n < s.evidence.min_samples) problems.push(`baseline n = ${mc.n}, fewer than the ${s.evidence.min_samples} required`);
  const se = mt.se !== null && mc.se !== null ? Math.sqrt(mt.se ** 2 + mc.se ** 2) : null;
  const diff: MetricFacts = { name: rule.metric, n: mt.n, counts: mt.counts, mean: mt.mean !== null && mc.mean !== null ? mt.mean - mc.mean : null, se, binary: false, clusteredSe: null };
  const r = evaluateRun({ ...rule, group: undefined }, { ...s, interval: { ...s.interval, method: 'normal' } }, { ...t, metrics: [diff] }, provenance, ctx);
  const head = `difference ${rule.suite.id} − ${b.suite.id} (runs ${t.runId} − ${c.runId})`;
  if (problems.length) return { run: r.run, value: r.value, decision: 'insufficient-evidence', reasons: [head, ...problems, ...(r.decision === 'insufficient-evidence' ? r.reasons : [])] };
  return { ...r, reasons: [head, ...r.reasons] };
}

/** When several runs bear on a rule: the most severe decision wins, so re-running cannot shop for a pass. */
const RUN_PRIORITY: Record<Decision, number> = { 'rule-in': 4, inconclusive: 3, 'rule-out': 2, 'insufficient-evidence': 1, 'not-in-scope': 0 };

/**
 * One rule at its final or screening settings. `provenance`: whether the evidence must meet the
 * rule's signed/logged requirements — always for a determination, not for `assay screen`, which is
 * triage on the tester's own fresh runs (a screen used inside a final verdict is held to them).
 */
export function evaluateRule(policy: Policy, rule: Rule, runs: RunEvidence[], facts: ModelFacts | null, mode: Mode, provenance = true, ctx: Ctx = { version: POLICY_EVALUATION_VERSION, facts, at: null }): RuleResult {
  const s = settingsFor(policy, rule, mode);
  const base = { rule: rule.id, capability: rule.capability, stage: rule.stage, mode, suite: rule.suite.id, metric: rule.metric, direction: rule.direction, threshold: s.threshold, interval: s.interval, otherRuns: [] as RuleResult['otherRuns'] };
  if (rule.applies_to) {
    const sc = checkScope(rule.applies_to, facts);
    if (sc.status === 'not-in-scope') return { ...base, run: null, value: null, decision: 'not-in-scope', reasons: sc.reasons };
    if (sc.status === 'unknown') return { ...base, run: null, value: null, decision: 'insufficient-evidence', reasons: [`cannot tell whether the rule applies: ${sc.reasons.join('; ')}`] };
  }
  const candidates = runs.filter((r) => r.suite.id === rule.suite.id);
  if (!candidates.length) return { ...base, run: null, value: null, decision: 'insufficient-evidence', reasons: [`no run of suite ${rule.suite.id}`] };
  if (rule.baseline && ctx.version >= 2) return { ...base, ...evaluateComparison(rule, s, candidates, runs, provenance, ctx), otherRuns: [] };
  // v2: several stage-2 sessions on the same suite are pooled into one estimate (every session counts).
  if (ctx.version === 2 && isElicitation(rule) && candidates.length > 1) {
    const pooled = poolRuns(candidates, rule.metric);
    const r = evaluateRun(rule, s, pooled, provenance, ctx);
    return { ...base, ...r, reasons: [`pooled ${candidates.length} sessions (${candidates.map((c) => c.runId).join(', ')})`, ...r.reasons], otherRuns: [] };
  }
  if (ctx.version >= 3 && isElicitation(rule) && candidates.length > 1) {
    // The same session given twice (its log and a report, two reports of it) counts once: it is one
    // set of judgements. Two different records under one run id cannot both be that session.
    const byId = new Map<string, RunEvidence>();
    for (const c of candidates) {
      const seen = byId.get(c.runId);
      if (!seen) byId.set(c.runId, c);
      else if (canonicalJson(seen.metrics) !== canonicalJson(c.metrics))
        return { ...base, run: null, value: null, decision: 'insufficient-evidence', reasons: [`session ${c.runId} is given twice with different statistics; give one record of each session`], otherRuns: [] };
    }
    const sessions = [...byId.values()];
    if (sessions.length > 1) {
      const pooled = withDistinctItems(poolRuns(sessions, rule.metric), sessions, rule.metric);
      const r = evaluateRun(rule, s, pooled, provenance, ctx);
      // Pooling may only add evidence, never dilute it: a session that rules in on its own (meeting
      // every evidence rule) stands, so further sessions with failed attempts cannot outvote it.
      const alone = sessions.map((c) => ({ runId: c.runId, ...evaluateRun(rule, s, c, provenance, ctx) }));
      const inAlone = alone.find((a) => a.decision === 'rule-in');
      const head = `pooled ${sessions.length} sessions (${sessions.map((c) => c.runId).join(', ')})${pooled.distinctItems ? `: ${pooled.distinctItems.judged} judgements of at most ${pooled.distinctItems.distinct} distinct items count as ${pooled.distinctItems.distinct}` : ''}`;
      if (inAlone && r.decision !== 'rule-in')
        return { ...base, run: inAlone.run, value: inAlone.value, decision: 'rule-in', reasons: [`session ${inAlone.runId} rules in on its own; pooling cannot dilute it (${head}: ${r.decision})`, ...inAlone.reasons], otherRuns: alone.filter((a) => a !== inAlone).map((a) => ({ runId: a.runId, decision: a.decision })) };
      return { ...base, ...r, reasons: [head, ...r.reasons], otherRuns: [] };
    }
    candidates.splice(0, candidates.length, ...sessions);
  }
  const results = candidates.map((r) => ({ runId: r.runId, ...evaluateRun(rule, s, r, provenance, ctx) }));
  let best = results[0]!;
  for (const r of results) if (RUN_PRIORITY[r.decision] > RUN_PRIORITY[best.decision]) best = r;
  return { ...base, run: best.run, value: best.value, decision: best.decision, reasons: best.reasons, otherRuns: results.filter((r) => r !== best).map((r) => ({ runId: r.runId, decision: r.decision })), ...(best.alert !== undefined ? { alert: results.some((r) => r.alert) } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Capabilities and the policy

const STATUS_RANK: Record<Status, number> = { 'threshold-crossed': 5, 'cannot-rule-out': 4, 'insufficient-evidence': 3, 'early-warning': 2, 'below-threshold': 1, 'not-in-scope': 0 };
const SCREEN_RANK: Record<ScreenStatus, number> = { escalate: 3, 'insufficient-evidence': 2, cleared: 1, 'not-in-scope': 0 };

const label = (r: RuleResult) => `${r.rule}${r.mode === 'screen' ? ' (screen)' : ''}: ${r.decision}`;

/**
 * A capability's status from its rules (final mode). Elicitation evidence, when complete, decides
 * over the automated screen; a rule-in anywhere is a crossing; a screen that rules out everything
 * clears the capability; otherwise inconclusive evidence cannot rule it out.
 */
/** How a capability combines its rules: crossed when the rules that rule in weigh at least `need` (k of n: weight 1 each, need k). */
export interface Combine {
  need: number;
  weight: (rule: string) => number;
  /** Not the default "any one rule": the k-of-n / weighted path. */
  explicit: boolean;
}

export function combineOf(cap: Capability | undefined, version: number): Combine {
  const c = version >= 2 ? cap?.combine : undefined;
  if (c?.weights && c.at_least !== undefined) {
    const w = c.weights;
    return { need: c.at_least, weight: (r) => w[r] ?? 0, explicit: true };
  }
  const k = c?.k ?? 1;
  return { need: k, weight: () => 1, explicit: k > 1 };
}

export function capabilityStatus(automated: RuleResult[], screen: RuleResult[], elicitation: RuleResult[], k: number | Combine = 1, screenGatesKofN = false): { status: Status; reasons: string[] } {
  const comb: Combine = typeof k === 'number' ? { need: k, weight: () => 1, explicit: k > 1 } : k;
  const st = baseStatus(automated, screen, elicitation, comb, screenGatesKofN);
  // v2 alert thresholds: below the threshold, but the alert level is reached.
  if (st.status === 'below-threshold') {
    const alerts = [...automated, ...elicitation].filter((r) => r.alert);
    if (alerts.length) return { status: 'early-warning', reasons: [...st.reasons, ...alerts.map((r) => `${r.rule}: alert threshold reached`)] };
  }
  return st;
}

function baseStatus(automated: RuleResult[], screen: RuleResult[], elicitation: RuleResult[], comb: Combine, screenGatesKofN: boolean): { status: Status; reasons: string[] } {
  const k = comb.need;
  const weigh = (xs: RuleResult[]) => xs.reduce((a, r) => a + comb.weight(r.rule), 0);
  const weighted = comb.explicit && (!Number.isInteger(k) || [...automated, ...elicitation].some((r) => comb.weight(r.rule) !== 1));
  const of = (x: number) => (weighted ? `weight ${fmt(x)}` : `${x}`);
  const inScope = (xs: RuleResult[]) => xs.filter((r) => r.decision !== 'not-in-scope');
  const A = inScope(automated);
  const S = inScope(screen);
  const E = inScope(elicitation);
  if (!A.length && !E.length) return { status: 'not-in-scope', reasons: ['no rule of this capability applies to the model'] };
  const ins = [...A, ...E].filter((r) => r.decision === 'rule-in');
  if (ins.length && weigh(ins) >= k) return { status: 'threshold-crossed', reasons: [...(comb.explicit ? [`${of(weighted ? weigh(ins) : ins.length)} of its rules rule in (crossing needs ${of(k)})`] : []), ...ins.map(label)] };
  if (comb.explicit) {
    // k-of-n: clear when fewer than k rules could still rule in; otherwise the open rules keep it open.
    // v3: an automated rule is out of the count only when its cautious screen rules out too, as a
    // k = 1 capability is cleared only by the screen (or by elicitation): the k-of-n path must not
    // skip the false-negative margin.
    const screenOf = new Map(S.map((r) => [r.rule, r]));
    const stillOpen = (r: RuleResult) => screenGatesKofN && r.stage === 'automated' && r.decision === 'rule-out' && screenOf.get(r.rule)?.decision !== 'rule-out';
    const could = [...A, ...E].filter((r) => r.decision !== 'rule-out' || stillOpen(r));
    if (weigh(could) < k) return { status: 'below-threshold', reasons: [`only ${weighted ? of(weigh(could)) : `${could.length} rule(s)`} could still rule in; crossing needs ${of(k)}`, ...[...A, ...E].map(label)] };
    const open = could.filter((r) => r.decision === 'rule-in' || r.decision === 'inconclusive' || stillOpen(r));
    if (open.length) return { status: 'cannot-rule-out', reasons: [`crossing needs ${weighted ? of(k) : `${k} rules`}; ${weighted ? of(weigh(ins)) : ins.length} rule in and others are open`, ...open.map((r) => (stillOpen(r) ? `${label(r)}, but its screen ${screenOf.get(r.rule)!.decision}` : label(r)))] };
    return { status: 'insufficient-evidence', reasons: could.filter((r) => r.decision === 'insufficient-evidence').map((r) => `${label(r)}: ${r.reasons.join('; ')}`) };
  }
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
  const ctx: Ctx = { version: input.version ?? POLICY_EVALUATION_VERSION, facts: input.facts, at: input.at ?? null };
  for (const cap of policy.capabilities) {
    const own = policy.rules.filter((r) => r.capability === cap.id);
    const auto = own.filter((r) => r.stage === 'automated');
    // v3 tamper rules: decided by signed tamper reports; they have no separate screening settings.
    const tampered = own.filter((r) => r.stage === 'tamper').map((r) => evaluateTamper(policy, r, input.tamper ?? [], input.facts, input.mode));
    const screen = [...auto.map((r) => evaluateRule(policy, r, input.runs, input.facts, 'screen', input.mode === 'final', ctx)), ...tampered];
    if (input.mode === 'screen') {
      rules.push(...screen);
      let st = screenStatus(screen);
      // v2: a capability that only experts can decide is not "not in scope" to the screen: it goes to stage 2.
      const expertOnly = own.filter((r) => r.stage === 'elicitation' && (!r.applies_to || checkScope(r.applies_to, input.facts).status !== 'not-in-scope'));
      if (ctx.version >= 2 && st.status === 'not-in-scope' && expertOnly.length)
        st = { status: 'escalate', reasons: [`decided only by expert elicitation (${expertOnly.map((r) => r.id).join(', ')}): no automated rule can clear it`] };
      capabilities.push({ capability: cap.id, title: cap.title, ...st });
      if (st.status === 'escalate' && scope.status !== 'not-in-scope') actions.push({ action: { type: 'escalate', to: 'stage-2' }, because: `capability ${cap.id}: screen ${st.reasons.join('; ')}` });
      continue;
    }
    const automated = [...auto.map((r) => evaluateRule(policy, r, input.runs, input.facts, 'final', true, ctx)), ...tampered];
    const elicitation = own.filter((r) => r.stage === 'elicitation').map((r) => evaluateRule(policy, r, input.runs, input.facts, 'final', true, ctx));
    // A rule without screening settings is screened with its own, so only distinct screens are listed.
    auto.forEach((r, i) => {
      rules.push(automated[i]!);
      if (r.screen) rules.push(screen[i]!);
    });
    rules.push(...tampered);
    rules.push(...elicitation);
    const st = capabilityStatus(automated, screen, elicitation, combineOf(cap, ctx.version), ctx.version >= 3);
    capabilities.push({ capability: cap.id, title: cap.title, ...st });
  }
  if (input.mode === 'final') {
    if (ctx.version >= 2) applyLevelsAndSignoffs(policy, capabilities, input.facts);
    if (scope.status === 'in-scope')
      for (const c of capabilities) actions.push(...actionsFor(policy, policy.capabilities.find((x) => x.id === c.capability)!, c.status as Status));
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
  const fired = ctx.version >= 2 && policy.triggers ? firedTriggers(policy.triggers, input.facts) : [];
  for (const t of fired.filter((x) => x.fired)) actions.push({ action: { type: 're-evaluate', when: 'model-change', note: `comprehensive evaluation: ${t.reason}` }, because: `policy ${policy.id}: trigger ${t.trigger}` });
  return {
    schema: VERDICT_SCHEMA,
    mode: input.mode,
    policy: { id: policy.id, version: policy.version, digest, example: policy.example },
    model,
    simulated: input.runs.some((r) => r.simulated) || (input.tamper ?? []).some((t) => t.report.simulated === true),
    facts: input.facts,
    scope,
    verdict,
    reasons,
    capabilities,
    rules,
    actions,
    runs: input.runs.map((r) => ({
      runId: r.runId, suite: r.suite.id, suiteVersion: r.suite.version, suiteDigest: r.suite.digest, access: r.access, signed: r.signed, logged: r.logged, simulated: r.simulated,
      ...(ctx.version >= 2 ? { extent: r.extent?.kind ?? null, accessBasis: r.accessBasis ?? 'declared', release: r.release ?? null, ...(r.exchanges !== undefined ? { exchanges: r.exchanges } : {}), ...(ctx.version >= 4 && r.accessRecords ? { accessRecords: r.accessRecords } : {}) } : {}),
    })),
    // Absent under v1, so verdicts signed before evaluation versions existed recompute byte for byte.
    ...(ctx.version >= 2 ? { evaluation: { version: ctx.version, at: ctx.at } } : {}),
    ...(ctx.version >= 2 && policy.triggers ? { triggers: fired } : {}),
    ...(input.tamper?.length
      ? { tamperReports: input.tamper.map((t) => ({ report: t.reportSha256, grid: t.report.grid, gridDigest: t.report.gridDigest, baseModel: t.report.baseModel, signed: t.signed, logged: t.logged, simulated: t.report.simulated ?? null })) }
      : {}),
  };
}

/** A tamper rule (v3) as a RuleResult: the numbers are the cost to break in the rule's unit and its interval. */
function evaluateTamper(policy: Policy, rule: Rule, tamper: TamperEvidence[], facts: ModelFacts | null, mode: Mode): RuleResult {
  const s = settingsFor(policy, rule, 'final');
  const base = { rule: rule.id, capability: rule.capability, stage: rule.stage, mode, suite: rule.suite.id, metric: rule.metric, direction: rule.direction, threshold: rule.threshold, interval: s.interval, otherRuns: [] as RuleResult['otherRuns'], run: null };
  if (rule.applies_to) {
    const sc = checkScope(rule.applies_to, facts);
    if (sc.status === 'not-in-scope') return { ...base, value: null, decision: 'not-in-scope', reasons: sc.reasons };
    if (sc.status === 'unknown') return { ...base, value: null, decision: 'insufficient-evidence', reasons: [`cannot tell whether the rule applies: ${sc.reasons.join('; ')}`] };
  }
  const r = evaluateTamperRule(policy, rule, s, tamper, facts);
  return { ...base, value: r.value, decision: r.decision, reasons: r.reasons, tamper: r.tamper };
}

/** Exit codes of `assay verdict` and `assay screen` (docs/formats/policy.md). */
export const VERDICT_EXIT: Record<Status | ScreenStatus, number> = {
  'below-threshold': 0,
  /** Below the threshold, but an alert threshold is reached: not silently a pass. */
  'early-warning': 24,
  cleared: 0,
  'threshold-crossed': 20,
  'cannot-rule-out': 21,
  escalate: 21,
  'insufficient-evidence': 22,
  'not-in-scope': 23,
};
