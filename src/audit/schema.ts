import * as z from 'zod';
import { AssayError } from '../common/errors.js';
import { jsonPath, parseStrictJson } from '../attest/json.js';
import { AUDIT_PLAN_SCHEMA, type AuditPlan } from './plan.js';
import { AUDIT_PREDICATE_TYPE } from '../attest/tlog.js';
import { AUDIT_SEED_CONSTRUCTION } from './seed.js';

/**
 * Zod schemas of the audit formats (docs/formats/audit.md): the plan file `assay.audit-plan/v1`
 * and the audit report predicate `replication-audit/v1`. JSON Schemas in schemas/ are generated
 * from these (test/audit-cli.test.ts checks they are current).
 */
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const prefixed = z.string().regex(/^sha256:[0-9a-f]{64}$/);
const num = z.number().nullable();
const count = z.number().int().min(0);

const claimSchema = z.strictObject({
  report: z.strictObject({ sha256: hex64 }),
  runId: z.string().min(1),
  runLog: z.strictObject({ sha256: hex64 }),
  suite: z.strictObject({ id: z.string(), version: z.string(), digest: prefixed }),
  model: z.strictObject({ name: z.string(), identityDigest: prefixed, releaseStatement: prefixed.nullable() }),
  developer: z.strictObject({ name: z.string(), keyId: z.string() }),
  log: z.strictObject({ origin: z.string(), index: count }),
  seedDelay: z.number().int().min(1),
  items: count,
});
const seedSchema = z.strictObject({
  construction: z.literal(AUDIT_SEED_CONSTRUCTION),
  checkpoint: z.string(),
  origin: z.string(),
  size: count,
  witnesses: z.array(z.string()),
  witnessesRequired: z.number().int().min(1),
  value: hex64,
});
const designSchema = z.strictObject({
  margin: z.number().gt(0).lt(1),
  alpha: z.number().gt(0).lt(0.5),
  power: z.number().gt(0).lt(1),
  discordance: z.number().min(0).max(1),
  correlation: z.number().min(-1).max(1),
  metrics: z.array(
    z.strictObject({ name: z.string(), scorer: z.string(), binary: z.boolean(), claimMean: num, n: count.nullable(), normalN: count.nullable(), floor: count.nullable(), sigma2: num }),
  ),
  needed: count.nullable(),
  sampleSize: count,
  shortfall: z.boolean(),
});

export const auditPlanSchema = z.strictObject({
  schema: z.literal(AUDIT_PLAN_SCHEMA),
  claim: claimSchema,
  seed: seedSchema,
  design: designSchema,
  items: z.array(z.string()),
  createdAt: z.iso.datetime({ offset: true }),
});

const interval = z.strictObject({ lo: num, hi: num });
const tost = z.strictObject({ n: count, difference: num, interval, method: z.enum(['newcombe-paired', 'paired-t']), margin: z.number(), alpha: z.number(), decision: z.enum(['equivalent', 'different', 'inconclusive']) });
const comparisonSchema = z.strictObject({
  items: z.strictObject({ planned: count, paired: count, notReplicated: z.array(z.string()), notInClaim: z.array(z.string()) }),
  agreement: z.strictObject({ agree: count, n: count, rate: num, interval: z.strictObject({ lo: num, hi: num, method: z.literal('clopper-pearson'), level: z.number() }) }),
  metrics: z.array(
    z.strictObject({
      name: z.string(),
      scorer: z.string(),
      binary: z.boolean(),
      n: count,
      claimMean: num,
      replicationMean: num,
      table: z.strictObject({ both: count, onlyClaim: count, onlyReplication: count, neither: count }).nullable(),
      tost,
      beyondMargin: tost,
      decision: z.enum(['equivalent', 'different', 'inconclusive', 'no-data']),
      nNeeded: count.nullable(),
    }),
  ),
  differing: z.array(z.strictObject({ id: z.string(), metrics: z.array(z.strictObject({ name: z.string(), claim: num, replication: num })) })),
  conclusion: z.enum(['consistent', 'inconsistent', 'inconclusive']),
  nNeeded: count.nullable(),
  reasons: z.array(z.string()),
});

export const auditPredicateSchema = z.strictObject({
  auditor: z.strictObject({ name: z.string().min(1), keyId: z.string().regex(/^sha256:[0-9a-f]{64}$/), role: z.literal('auditor') }),
  claim: claimSchema,
  seed: seedSchema,
  design: designSchema,
  items: z.array(z.string()),
  replication: z.strictObject({
    runId: z.string(),
    runLog: z.strictObject({ sha256: hex64 }),
    model: z.strictObject({ name: z.string(), simulated: z.boolean() }),
    releases: z.record(z.string(), count).nullable(),
    releaseMatches: z.boolean().nullable(),
  }),
  comparison: comparisonSchema,
  conclusion: z.enum(['consistent', 'inconsistent', 'inconclusive']),
  nNeeded: count.nullable(),
  timestamps: z.strictObject({ auditedAt: z.iso.datetime({ offset: true }) }),
  assay: z.strictObject({ version: z.string() }),
});

/** Reads a plan file: strict JSON, then the schema; errors name the field. */
export function parseAuditPlan(bytes: Uint8Array | string, file: string): AuditPlan {
  const v = parseStrictJson(bytes, { file });
  const r = auditPlanSchema.safeParse(v);
  if (!r.success) {
    const iss = r.error.issues[0]!;
    throw new AssayError('AUDIT_PLAN', iss.message, { file, field: jsonPath(iss.path as (string | number)[]) });
  }
  return v as unknown as AuditPlan;
}

/** Problems with an audit predicate (empty when it matches the schema). */
export function auditPredicateProblems(p: unknown): { field: string; message: string }[] {
  const r = auditPredicateSchema.safeParse(p);
  return r.success ? [] : r.error.issues.slice(0, 3).map((i) => ({ field: jsonPath(['predicate', ...(i.path as (string | number)[])]), message: i.message }));
}

const withId = (id: string, title: string, s: z.ZodType) => {
  const { $schema, ...rest } = z.toJSONSchema(s, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
  return { $schema, $id: `https://assay.dev/schemas/${id}`, title, ...rest };
};
export const auditPlanJsonSchema = () => withId('audit-plan.v1.schema.json', 'Assay replication-audit plan (assay.audit-plan/v1)', auditPlanSchema);
export const auditReportJsonSchema = () =>
  withId(
    'replication-audit.v1.schema.json',
    `Assay replication audit: in-toto Statement v1 with predicate ${AUDIT_PREDICATE_TYPE}`,
    z.strictObject({
      _type: z.literal('https://in-toto.io/Statement/v1'),
      subject: z.array(z.looseObject({ name: z.enum(['assay/claim', 'assay/claim-run-log', 'assay/replication-run-log']), digest: z.looseObject({ sha256: hex64 }) })).min(3),
      predicateType: z.literal(AUDIT_PREDICATE_TYPE),
      predicate: auditPredicateSchema,
    }),
  );
