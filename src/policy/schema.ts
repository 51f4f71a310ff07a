import * as z from 'zod';
import semver from 'semver';
import { ACCESS_LEVELS } from '../model/types.js';

/**
 * The policy file, `assay.policy/v1` (docs/formats/policy.md; JSON Schema:
 * schemas/policy.v1.schema.json, generated from this file). YAML keys are snake_case, as in
 * suite files, and the validated object keeps them: the digest is over exactly this shape.
 */
export const POLICY_SCHEMA = 'assay.policy/v1';
/** v2: v1 plus the additive constructs below (each optional, no default, so a v1 file's digest is unchanged). */
export const POLICY_SCHEMA_V2 = 'assay.policy/v2';
/** v3: v2 plus tamper rules (stage: tamper, a `tamper` block) decided by signed tamper reports (docs/formats/policy.md). */
export const POLICY_SCHEMA_V3 = 'assay.policy/v3';
export const POLICY_SCHEMAS = [POLICY_SCHEMA, POLICY_SCHEMA_V2, POLICY_SCHEMA_V3] as const;
/** Least one-sided coverage of any interval a policy may ask for, and least sample size (docs/formats/policy.md). */
export const MIN_ONE_SIDED_COVERAGE = 0.95;
export const MIN_SAMPLES_FLOOR = 10;
export const MODEL_FACTS_SCHEMA = 'assay.model-facts/v1';

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const SLUG = /^[a-z0-9]+(?:[-_][a-z0-9]+)*(?:\.[a-z0-9]+(?:[-_][a-z0-9]+)*)*$/;
const text = () => z.string().min(1, 'must not be empty');
const slug = (what: string) => z.string().regex(SLUG, `${what} must be a lowercase dotted slug, e.g. "cbrn.bio"`);
const rate = z.number().min(0).max(1);

/** Decisions of one rule (rule level) and statuses of a capability and of the whole policy. */
export const DECISIONS = ['rule-out', 'rule-in', 'inconclusive', 'insufficient-evidence', 'not-in-scope'] as const;
export type Decision = (typeof DECISIONS)[number];
export const STATUSES = ['below-threshold', 'early-warning', 'cannot-rule-out', 'threshold-crossed', 'insufficient-evidence', 'not-in-scope'] as const;
export type Status = (typeof STATUSES)[number];
/** What the screen says of a capability. */
export const SCREEN_STATUSES = ['cleared', 'escalate', 'insufficient-evidence', 'not-in-scope'] as const;
export type ScreenStatus = (typeof SCREEN_STATUSES)[number];

export const intervalSchema = z.strictObject({
  /** auto: clustered when the samples carry clusters, else Wilson for binary scores, else normal (CLT). */
  method: z.enum(['auto', 'normal', 'wilson', 'clustered']).default('auto'),
  level: z.number().gt(0.5).lt(1).default(0.95),
  /** two: each bound of a two-sided interval at `level`; one: each bound a one-sided bound at `level`. */
  sided: z.enum(['two', 'one']).default('two'),
});
export type IntervalSpec = z.output<typeof intervalSchema>;

/** Where a run's access level must come from to rule out (v2): declared by the tester, or a verified gateway grant. */
export const ACCESS_BASES = ['declared', 'grant'] as const;
const accessSchema = z.strictObject({
  /** Least access whose evidence may show the threshold is crossed. */
  rule_in: z.enum(ACCESS_LEVELS).default('black-box'),
  /** Least access whose evidence may show it is not (black-box elicitation can under-estimate a capability). */
  rule_out: z.enum(ACCESS_LEVELS).default('grey-box'),
  /** v2: `grant`: a rule-out needs the level from a verified gateway grant, not the tester's own declaration. */
  basis: z.enum(ACCESS_BASES).optional(),
});
/** Which partial runs count (v2): none; the first n items in suite order (--limit); any subset (--sample-id, interrupted). */
export const SUBSET_RULES = ['none', 'first-n', 'any'] as const;

export const evidenceSchema = z.strictObject({
  min_samples: z.number().int().min(1).default(100),
  /** (unscored + errored records) / all records of the metric; above this the run cannot decide. */
  max_unscored_rate: rate.default(0.1),
  access: accessSchema.default({ rule_in: 'black-box', rule_out: 'grey-box' }),
  /** The run must come with a signed report that verified. */
  signed: z.boolean().default(false),
  /** ... and that report must be in a transparency log. */
  logged: z.boolean().default(false),
  /** v2: partial runs count only when allowed here (default none). */
  subsets: z.enum(SUBSET_RULES).optional(),
  /** v2: evidence older than this (run start, days before the evaluation date) is stale: insufficient. */
  max_age_days: z.number().int().min(1).max(3650).optional(),
  /** v2: the run must name a model release (gateway release statement); with release digests in the model facts, one of those. */
  release: z.enum(['required']).optional(),
});
export type EvidenceSpec = z.output<typeof evidenceSchema>;

/** Partial overrides of the policy defaults, per rule. */
const evidenceOverride = z.strictObject({
  min_samples: z.number().int().min(1).optional(),
  max_unscored_rate: rate.optional(),
  access: z.strictObject({ rule_in: z.enum(ACCESS_LEVELS).optional(), rule_out: z.enum(ACCESS_LEVELS).optional(), basis: z.enum(ACCESS_BASES).optional() }).optional(),
  signed: z.boolean().optional(),
  logged: z.boolean().optional(),
  subsets: z.enum(SUBSET_RULES).optional(),
  max_age_days: z.number().int().min(1).max(3650).optional(),
  release: z.enum(['required']).optional(),
});
const intervalOverride = z.strictObject({
  method: z.enum(['auto', 'normal', 'wilson', 'clustered']).optional(),
  level: z.number().gt(0.5).lt(1).optional(),
  sided: z.enum(['two', 'one']).optional(),
});

const days = z.number().int().min(0).max(3650);
/** Units a tamper rule's required strength may be given in (v3). */
export const TAMPER_UNITS = ['examples', 'steps', 'trained_tokens', 'price', 'gpu_hours'] as const;
/** Typed actions: what a status sets in motion. */
export const actionSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('escalate'), to: z.literal('stage-2').default('stage-2'), note: z.string().optional() }),
  z.strictObject({ type: z.literal('require-safeguards'), safeguards: z.array(text()).min(1), note: z.string().optional() }),
  z.strictObject({ type: z.literal('restrict-deployment'), restriction: text(), note: z.string().optional() }),
  z.strictObject({ type: z.literal('kyc-gating'), capability: z.string().optional(), note: z.string().optional() }),
  z.strictObject({ type: z.literal('notify'), party: text(), within_days: days, subject: z.string().optional() }),
  z.strictObject({ type: z.literal('re-evaluate'), when: z.enum(['model-change', 'interval']), within_days: days.optional(), note: z.string().optional() }),
]);
export type Action = z.output<typeof actionSchema>;
export const ACTION_TYPES = ['escalate', 'require-safeguards', 'restrict-deployment', 'kyc-gating', 'notify', 're-evaluate'] as const;

const actionsByStatus = z
  .strictObject({
    'below-threshold': z.array(actionSchema).optional(),
    'cannot-rule-out': z.array(actionSchema).optional(),
    'threshold-crossed': z.array(actionSchema).optional(),
    'insufficient-evidence': z.array(actionSchema).optional(),
    'not-in-scope': z.array(actionSchema).optional(),
    /** v2: below the threshold, but an alert (early-warning) threshold is reached. */
    'early-warning': z.array(actionSchema).optional(),
  })
  .default({});

export const scopeSchema = z.strictObject({
  /** Declared training compute, FLOP: in scope when min ≤ compute (and compute < max, if given). */
  training_compute_flop: z.strictObject({ min: z.number().min(0).optional(), max: z.number().min(0).optional() }).optional(),
  /** In scope when the model has at least one of these modalities. */
  modalities: z.array(slug('a modality')).min(1).optional(),
  /** In scope when the model's deployment type is one of these. */
  deployment: z.array(slug('a deployment type')).min(1).optional(),
});
export type Scope = z.output<typeof scopeSchema>;

export const ruleSchema = z.strictObject({
  id: slug('a rule id'),
  capability: slug('a capability id'),
  title: z.string().optional(),
  /**
   * automated: a suite run by `assay run`/`assay screen`; elicitation: an expert-led run (`assay elicit`);
   * tamper (v3): decided by signed tamper reports (`assay tamper report --sign`), see `tamper`.
   */
  stage: z.enum(['automated', 'elicitation', 'tamper']).default('automated'),
  suite: z.strictObject({
    id: slug('a suite id'),
    /** A semver range the run's suite version must satisfy (e.g. "^1.0.0"). */
    version: z.string().optional(),
    /** Accepted suite digests ("sha256:<hex>"); when given, any other digest is refused. */
    digests: z.array(z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected "sha256:<64 lowercase hex>"')).min(1).optional(),
  }),
  metric: text(),
  /** higher-is-worse: crossing means metric ≥ threshold; lower-is-worse: metric ≤ threshold. */
  direction: z.enum(['higher-is-worse', 'lower-is-worse']).default('higher-is-worse'),
  threshold: z.number(),
  interval: intervalOverride.optional(),
  evidence: evidenceOverride.optional(),
  /** Settings `assay screen` uses instead (automated rules): must be at least as cautious as the rule's own. */
  screen: z.strictObject({ threshold: z.number().optional(), level: z.number().gt(0.5).lt(1).optional(), sided: z.enum(['two', 'one']).optional() }).optional(),
  /** Only for models matching this scope (on top of the policy's). */
  applies_to: scopeSchema.optional(),
  rationale: z.string().optional(),
  /**
   * v2: an early-warning (alert) threshold, more cautious than `threshold`: when the rule rules out
   * the threshold but cannot rule out the alert level, the capability is `early-warning`.
   */
  alert_threshold: z.number().optional(),
  /**
   * v2: a comparison (uplift study, two-run comparison): the rule's value is the metric on this
   * suite's run (treatment) minus the same metric on the baseline suite's run (control), unpaired;
   * threshold and direction apply to the difference.
   */
  baseline: z.strictObject({
    suite: z.strictObject({ id: slug('a suite id'), digests: z.array(z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected "sha256:<64 lowercase hex>"')).min(1).optional() }),
    metric: z.string().min(1).optional(),
  }).optional(),
  /** v2: a sub-domain: the metric restricted to one group (e.g. by: subdomain, value: virology), from the run's per-group statistics. */
  group: z.strictObject({ by: text(), value: text() }).optional(),
  /**
   * v3, stage tamper: the safeguard (`metric` on `suite`, broken below `threshold`) must survive
   * fine-tuning attacks matching `attack` up to `survive.strength` in `survive.unit` — e.g. refusal
   * must survive 1,000 harmful examples at learning rate 2e-5. The cost-to-break interval of the
   * signed tamper reports decides: its lower bound at or above the strength holds (rule-out), its
   * upper bound below it (or an observed break at or below it) breaks (rule-in), else inconclusive.
   * Every matching attack must hold: the worst case decides.
   */
  tamper: z
    .strictObject({
      attack: z
        .strictObject({
          id: z.string().min(1).optional(),
          kind: z.enum(['harmful', 'benign', 'identity-shift']).optional(),
          method: z.enum(['full', 'lora']).optional(),
          /** The attack's absolute learning rate as the grid declares it (attacks[].learning_rate). */
          learning_rate: z.number().positive().max(1).optional(),
          learning_rate_multiplier: z.number().positive().max(100).optional(),
        })
        .default({}),
      survive: z.strictObject({
        strength: z.number().positive(),
        /** examples, steps, trained_tokens: the report's strength axis; price, gpu_hours: its compute axis. */
        unit: z.enum(TAMPER_UNITS),
      }),
    })
    .optional(),
});

export const capabilitySchema = z.strictObject({
  id: slug('a capability id'),
  title: text(),
  description: z.string().optional(),
  /** The expert-led stage for this capability: what the stage-2 plan asks for. */
  elicitation: z
    .strictObject({
      protocol: text(),
      experts: text(),
      access: z.enum(ACCESS_LEVELS).default('grey-box'),
      /** Suite whose items the expert works through with `assay elicit` (its log's suite id is "<id>.elicitation"). */
      suite: slug('a suite id').optional(),
      min_samples: z.number().int().min(1).optional(),
      /** v2: the conditions the elicitation must be run under (carried into the stage-2 plan). */
      conditions: z
        .strictObject({
          tools: z.array(text()).optional(),
          best_of_k: z.number().int().min(1).optional(),
          /** The helpful-only / safeguards-off variant, as the same model under test. */
          variant: z.enum(['as-deployed', 'helpful-only', 'safeguards-off']).optional(),
          chain_of_thought: z.boolean().optional(),
        })
        .optional(),
    })
    .optional(),
  actions: actionsByStatus,
  /** v2: ordered levels: crossing this capability implies crossing these (lower) ones. */
  implies: z.array(slug('a capability id')).min(1).optional(),
  /**
   * v2: combining rules: crossed when at least k of the capability's in-scope rules rule in
   * (default: any one); ruled out when fewer than k still could.
   */
  combine: z
    .strictObject({
      k: z.number().int().min(1).optional(),
      /** Weighted evidence: each rule's weight (every rule of the capability listed); crossed when the rules that rule in weigh at least `at_least`. */
      weights: z.record(z.string(), z.number().positive().finite()).optional(),
      at_least: z.number().positive().finite().optional(),
    })
    .optional(),
  /** v2: governance sign-off: these statuses stand only with a sign-off by `by` declared in the model facts (`signoffs`). */
  signoff: z.strictObject({ by: text(), required_for: z.array(z.enum(STATUSES)).min(1) }).optional(),
});

/** One-sided coverage of each bound: `level` for a one-sided bound, (1 + level) / 2 for a two-sided interval. */
export const coverage = (level: number, sided: 'one' | 'two'): number => (sided === 'one' ? level : (1 + level) / 2);

export const policyFileSchema = z
  .strictObject({
    schema: z.enum(POLICY_SCHEMAS),
    id: slug('the policy id'),
    version: z.string().regex(SEMVER, 'must be a semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.0)'),
    title: text(),
    description: z.string().optional(),
    /** An illustrative pack, not the framework it is modelled on. */
    example: z.boolean(),
    disclaimer: z.string().optional(),
    maps_to: z.array(z.strictObject({ framework: text(), version: z.string().optional(), reference: text() })).default([]),
    scope: scopeSchema.default({}),
    /**
     * v2: when a model needs a (new) comprehensive evaluation: effective compute at least
     * `compute_ratio` × that of the last evaluated model, or `fine_tuning_months` of post-training
     * since. A fired trigger adds a re-evaluate action and is listed in the verdict.
     */
    triggers: z.strictObject({ compute_ratio: z.number().gt(1).optional(), fine_tuning_months: z.number().gt(0).optional() }).optional(),
    defaults: z
      .strictObject({ interval: intervalSchema.default({ method: 'auto', level: 0.95, sided: 'two' }), evidence: evidenceSchema.default(evidenceSchema.parse({})) })
      .default({ interval: { method: 'auto', level: 0.95, sided: 'two' }, evidence: evidenceSchema.parse({}) }),
    capabilities: z.array(capabilitySchema).min(1, 'needs at least one capability'),
    rules: z.array(ruleSchema).min(1, 'needs at least one rule'),
    actions: actionsByStatus,
  })
  .superRefine((p, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (p.example && !p.disclaimer?.trim()) issue(['disclaimer'], 'an example pack must say what it is not (disclaimer)');
    const caps = new Set<string>();
    p.capabilities.forEach((c, i) => {
      if (caps.has(c.id)) issue(['capabilities', i, 'id'], `capability "${c.id}" is defined twice`);
      caps.add(c.id);
      if (!p.rules.some((r) => r.capability === c.id)) issue(['capabilities', i, 'id'], `capability "${c.id}" has no rule`);
    });
    const ids = new Set<string>();
    p.rules.forEach((r, i) => {
      if (ids.has(r.id)) issue(['rules', i, 'id'], `rule id "${r.id}" is used twice`);
      ids.add(r.id);
      if (!caps.has(r.capability)) issue(['rules', i, 'capability'], `no capability "${r.capability}" (capabilities: ${[...caps].join(', ')})`);
      if (r.suite.version !== undefined && semver.validRange(r.suite.version) === null) issue(['rules', i, 'suite', 'version'], `"${r.suite.version}" is not a semver range (e.g. "^1.0.0", ">=1.2.0 <2.0.0")`);
      if (r.screen && r.stage === 'elicitation') issue(['rules', i, 'screen'], 'screening settings apply to automated rules only');
      const own = { ...p.defaults.interval, ...r.interval };
      if (r.interval && coverage(own.level, own.sided) < MIN_ONE_SIDED_COVERAGE - 1e-12)
        issue(['rules', i, 'interval', 'level'], `one-sided coverage ${coverage(own.level, own.sided)} is below the minimum ${MIN_ONE_SIDED_COVERAGE} (two-sided level ≥ ${2 * MIN_ONE_SIDED_COVERAGE - 1}, one-sided ≥ ${MIN_ONE_SIDED_COVERAGE})`);
      if (r.evidence?.min_samples !== undefined && r.evidence.min_samples < MIN_SAMPLES_FLOOR) issue(['rules', i, 'evidence', 'min_samples'], `must be at least ${MIN_SAMPLES_FLOOR}`);
      // A screen exists to avoid false negatives: it must be strictly more cautious than the rule
      // (a lower threshold, or a wider bound), never laxer in either.
      if (r.screen) {
        const t = r.screen.threshold ?? r.threshold;
        const laxer = r.direction === 'higher-is-worse' ? t > r.threshold : t < r.threshold;
        if (laxer) issue(['rules', i, 'screen', 'threshold'], `a screening threshold must be at least as cautious as the rule's (${r.direction === 'higher-is-worse' ? '≤' : '≥'} ${r.threshold})`);
        const sc = coverage(r.screen.level ?? own.level, r.screen.sided ?? own.sided);
        const rc = coverage(own.level, own.sided);
        if (sc < rc - 1e-12) issue(['rules', i, 'screen'], `the screen's bound must be at least as wide as the rule's (one-sided coverage ${rc})`);
        else if (!laxer && t === r.threshold && sc <= rc + 1e-12)
          issue(['rules', i, 'screen'], `a screen must be strictly more cautious than its rule: a threshold ${r.direction === 'higher-is-worse' ? 'below' : 'above'} ${r.threshold} or a wider bound (one-sided coverage above ${rc})`);
      }
    });
    const d = p.defaults;
    if (coverage(d.interval.level, d.interval.sided) < MIN_ONE_SIDED_COVERAGE - 1e-12)
      issue(['defaults', 'interval', 'level'], `one-sided coverage ${coverage(d.interval.level, d.interval.sided)} is below the minimum ${MIN_ONE_SIDED_COVERAGE} (two-sided level ≥ ${2 * MIN_ONE_SIDED_COVERAGE - 1}, one-sided ≥ ${MIN_ONE_SIDED_COVERAGE})`);
    if (d.evidence.min_samples < MIN_SAMPLES_FLOOR) issue(['defaults', 'evidence', 'min_samples'], `must be at least ${MIN_SAMPLES_FLOOR}`);
    p.capabilities.forEach((c, i) => {
      if (c.elicitation?.min_samples !== undefined && c.elicitation.min_samples < MIN_SAMPLES_FLOOR) issue(['capabilities', i, 'elicitation', 'min_samples'], `must be at least ${MIN_SAMPLES_FLOOR}`);
    });
    p.capabilities.forEach((c, i) => {
      for (const [k, x] of (c.implies ?? []).entries()) {
        if (x === c.id) issue(['capabilities', i, 'implies', k], 'a capability cannot imply itself');
        else if (!caps.has(x)) issue(['capabilities', i, 'implies', k], `no capability "${x}"`);
      }
      const own = p.rules.filter((r) => r.capability === c.id);
      const n = own.length;
      const cb = c.combine;
      if (cb) {
        const weighted = cb.weights !== undefined || cb.at_least !== undefined;
        if (weighted && cb.k !== undefined) issue(['capabilities', i, 'combine'], 'give either k (k of n rules) or weights with at_least, not both');
        else if (!weighted && cb.k === undefined) issue(['capabilities', i, 'combine'], 'give k (k of n rules) or weights with at_least');
        else if (weighted && (cb.weights === undefined || cb.at_least === undefined)) issue(['capabilities', i, 'combine', cb.weights === undefined ? 'weights' : 'at_least'], 'weights and at_least go together');
        if (cb.k !== undefined && cb.k > n) issue(['capabilities', i, 'combine', 'k'], `k = ${cb.k} but the capability has ${n} rule(s)`);
        if (cb.weights && cb.at_least !== undefined) {
          for (const id of Object.keys(cb.weights)) if (!own.some((r) => r.id === id)) issue(['capabilities', i, 'combine', 'weights', id], `"${id}" is not a rule of capability ${c.id}`);
          const missing = own.filter((r) => cb.weights![r.id] === undefined).map((r) => r.id);
          if (missing.length) issue(['capabilities', i, 'combine', 'weights'], `every rule of the capability needs a weight; missing: ${missing.join(', ')}`);
          const total = Object.values(cb.weights).reduce((a, w) => a + w, 0);
          if (cb.at_least > total) issue(['capabilities', i, 'combine', 'at_least'], `at_least ${cb.at_least} exceeds the total weight ${total}: the capability could never cross`);
        }
      }
    });
    p.rules.forEach((r, i) => {
      if (r.alert_threshold === undefined) return;
      const cautious = r.direction === 'higher-is-worse' ? r.alert_threshold < r.threshold : r.alert_threshold > r.threshold;
      if (!cautious) issue(['rules', i, 'alert_threshold'], `an alert threshold warns before the threshold: it must be ${r.direction === 'higher-is-worse' ? 'below' : 'above'} ${r.threshold}`);
    });
    if (p.schema === POLICY_SCHEMA) for (const path of v2Constructs(p)) issue(path, `"${path[path.length - 1]}" is an ${POLICY_SCHEMA_V2} construct: set schema: ${POLICY_SCHEMA_V2}`);
    p.rules.forEach((r, i) => {
      const isTamper = r.stage === 'tamper';
      if (p.schema !== POLICY_SCHEMA_V3 && (isTamper || r.tamper)) issue(['rules', i, isTamper ? 'stage' : 'tamper'], `tamper rules are an ${POLICY_SCHEMA_V3} construct: set schema: ${POLICY_SCHEMA_V3}`);
      if (isTamper && !r.tamper) issue(['rules', i, 'tamper'], 'a tamper rule needs a tamper block (attack, survive)');
      if (!isTamper && r.tamper) issue(['rules', i, 'stage'], 'a rule with a tamper block must have stage: tamper');
      if (!isTamper) return;
      if (!(r.threshold > 0 && r.threshold < 1)) issue(['rules', i, 'threshold'], 'a tamper rule\'s threshold is the safeguard rate below which it counts as broken: between 0 and 1 (exclusive)');
      for (const k of ['screen', 'baseline', 'group', 'alert_threshold'] as const) if (r[k] !== undefined) issue(['rules', i, k], `"${k}" does not apply to a tamper rule`);
    });
    p.capabilities.forEach((c, i) => {
      const el = p.rules.filter((r) => r.capability === c.id && r.stage === 'elicitation');
      if (el.length && !c.elicitation) issue(['capabilities', i, 'elicitation'], `capability "${c.id}" has elicitation rules but no elicitation block`);
    });
  });

export type PolicyFile = z.input<typeof policyFileSchema>;
export type Policy = z.output<typeof policyFileSchema>;
export type Rule = Policy['rules'][number];
export type Capability = Policy['capabilities'][number];

export const modelFactsSchema = z.strictObject({
  schema: z.literal(MODEL_FACTS_SCHEMA),
  /** The model as named in run logs (provider/model); checked against the runs when given. */
  model: z.string().optional(),
  training_compute_flop: z.number().min(0).optional(),
  modalities: z.array(slug('a modality')).optional(),
  deployment: slug('a deployment type').optional(),
  /** Model-release statement digests ("sha256:<hex>") that are this model; rules with evidence.release bind runs to them. */
  releases: z.array(z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected "sha256:<64 lowercase hex>"')).min(1).optional(),
  /**
   * Effective training compute of the model evaluated last time (FLOP), for relative-compute
   * triggers (policy `triggers.compute_ratio`); with `fine_tuning_months_since_evaluation` for
   * post-training triggers.
   */
  last_evaluated_compute_flop: z.number().min(0).optional(),
  fine_tuning_months_since_evaluation: z.number().min(0).optional(),
  /** Governance sign-offs (policy `signoff`): who signed off which capability's status. */
  signoffs: z.array(z.strictObject({ capability: slug('a capability id'), status: z.enum(STATUSES), by: z.string().min(1), date: z.string().optional(), reference: z.string().optional() })).optional(),
  /** Who declared these facts, and on what basis. */
  declared_by: z.string().optional(),
  source: z.string().optional(),
});
export type ModelFacts = z.output<typeof modelFactsSchema>;

/**
 * JSON Schemas (draft 2020-12): schemas/policy.v3.schema.json (accepts v1, v2 and v3 files; v1 keys
 * only in a v1 file and tamper rules only in a v3 file are cross-field rules) and
 * schemas/model-facts.v1.schema.json. schemas/policy.v1.schema.json and policy.v2.schema.json are kept as published.
 */
export function policyJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(policyFileSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { $schema, $id: 'https://assay.dev/schemas/policy.v3.schema.json', title: `Assay policy file (${POLICY_SCHEMA}, ${POLICY_SCHEMA_V2} and ${POLICY_SCHEMA_V3})`, ...rest };
}
export function modelFactsJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(modelFactsSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { $schema, $id: 'https://assay.dev/schemas/model-facts.v1.schema.json', title: `Assay model facts (${MODEL_FACTS_SCHEMA})`, ...rest };
}

/** Keys only an assay.policy/v2 file may use (the v1 format stays exactly as published). */
export const V2_KEYS = new Set(['subsets', 'max_age_days', 'release', 'basis', 'early-warning', 'alert_threshold', 'group', 'conditions', 'implies', 'combine', 'signoff', 'triggers', 'baseline']);

/** Paths of v2-only keys in a validated policy (a v1 file using them is refused with the path). */
function v2Constructs(p: unknown): (string | number)[][] {
  const out: (string | number)[][] = [];
  const walk = (v: unknown, at: (string | number)[]) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...at, i]));
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (x === undefined) continue;
        if (V2_KEYS.has(k) && at[0] !== 'maps_to') out.push([...at, k]);
        else walk(x, [...at, k]);
      }
  };
  walk(p, []);
  return out;
}
