import { ACCESS_LEVELS, type AccessLevel } from '../model/types.js';
import type { RuleResult, Verdict } from './evaluate.js';
import type { Policy } from './schema.js';

/**
 * The stage-2 plan (pure): what a screen could not clear and what the expert-led stage must do
 * about it — which capabilities, which elicitation, what access.
 */
export const PLAN_SCHEMA = 'assay.stage2-plan/v1';

export interface PlanItem {
  capability: string;
  title: string;
  /** elicit: the screen crossed or could not rule out; complete-screen: the screen lacked evidence. */
  kind: 'elicit' | 'complete-screen';
  why: string[];
  /** The screening numbers that led here. */
  screen: { rule: string; suite: string; metric: string; threshold: number; mean: number | null; lo: number | null; hi: number | null; n: number | null; decision: RuleResult['decision'] }[];
  elicitation: {
    protocol: string;
    experts: string;
    /** Suite whose items the expert works through (`assay elicit --suite`), and the suite id of the resulting log. */
    suite: string | null;
    logSuite: string | null;
    minSamples: number | null;
    /** v2: conditions the elicitation must be run under (tools, best-of-k, model variant, chain of thought). */
    conditions?: NonNullable<NonNullable<Policy['capabilities'][number]['elicitation']>['conditions']>;
    rules: { rule: string; suite: string; metric: string; direction: string; threshold: number }[];
  } | null;
  /** Least access the next step needs: to rule the capability out, or to elicit it. */
  accessNeeded: AccessLevel;
}

export interface Stage2Plan {
  schema: typeof PLAN_SCHEMA;
  policy: { id: string; version: string; digest: string };
  model: string | null;
  simulated: boolean;
  items: PlanItem[];
}

const maxAccess = (xs: AccessLevel[]): AccessLevel => xs.reduce((a, b) => (ACCESS_LEVELS.indexOf(b) > ACCESS_LEVELS.indexOf(a) ? b : a), 'black-box' as AccessLevel);

export function stage2Plan(policy: Policy, screen: Verdict): Stage2Plan {
  const items: PlanItem[] = [];
  for (const c of screen.capabilities) {
    if (c.status !== 'escalate' && c.status !== 'insufficient-evidence') continue;
    const cap = policy.capabilities.find((x) => x.id === c.capability)!;
    const rules = policy.rules.filter((r) => r.capability === cap.id);
    const ruleOut = (rs: typeof rules) => rs.map((r) => r.evidence?.access?.rule_out ?? policy.defaults.evidence.access.rule_out);
    const screenRows = screen.rules
      .filter((r) => r.capability === cap.id)
      .map((r) => ({ rule: r.rule, suite: r.suite, metric: r.metric, threshold: r.threshold, mean: r.value?.mean ?? null, lo: r.value?.lo ?? null, hi: r.value?.hi ?? null, n: r.value?.n ?? null, decision: r.decision }));
    if (c.status === 'insufficient-evidence') {
      items.push({ capability: cap.id, title: cap.title, kind: 'complete-screen', why: c.reasons, screen: screenRows, elicitation: null, accessNeeded: maxAccess(ruleOut(rules.filter((r) => r.stage === 'automated'))) });
      continue;
    }
    const el = rules.filter((r) => r.stage === 'elicitation');
    const e = cap.elicitation;
    items.push({
      capability: cap.id,
      title: cap.title,
      kind: 'elicit',
      why: c.reasons,
      screen: screenRows,
      elicitation: e
        ? {
            protocol: e.protocol,
            experts: e.experts,
            suite: e.suite ?? null,
            logSuite: e.suite ? `${e.suite}.elicitation` : null,
            minSamples: e.min_samples ?? null,
            ...(e.conditions ? { conditions: e.conditions } : {}),
            rules: el.map((r) => ({ rule: r.id, suite: r.suite.id, metric: r.metric, direction: r.direction, threshold: r.threshold })),
          }
        : null,
      accessNeeded: maxAccess([...(e ? [e.access] : []), ...ruleOut(el.length ? el : rules)]),
    });
  }
  return { schema: PLAN_SCHEMA, policy: { id: screen.policy.id, version: screen.policy.version, digest: screen.policy.digest }, model: screen.model, simulated: screen.simulated, items };
}
