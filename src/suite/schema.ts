import { z } from 'zod';
import { AssayError } from '../common/errors.js';
import { ACCESS_LEVELS } from '../model/types.js';
import type { SuiteDefinition } from './types.js';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;
const SLUG = /^[a-z0-9]+(?:[-_][a-z0-9]+)*(?:\.[a-z0-9]+(?:[-_][a-z0-9]+)*)*$/;

/** The suite file as written (YAML keys are snake_case). Unknown keys are errors: a typo must not pass silently. */
export const suiteFileSchema = z
  .strictObject({
    schema: z.literal('assay.suite/v1'),
    id: z.string().regex(SLUG, 'must be a lowercase dotted slug, e.g. "bias.bbq-ambiguous"'),
    version: z.string().regex(SEMVER, 'must be a semantic version, e.g. 1.2.0'),
    title: z.string().min(1),
    risk_area: z.string().min(1),
    methodology: z.string().min(1),
    description: z.string().optional(),
    access: z.enum(ACCESS_LEVELS).default('black-box'),
    dataset: z.strictObject({
      path: z.string().min(1),
      format: z.enum(['jsonl', 'csv', 'json']),
      fields: z.strictObject({
        id: z.string().optional(),
        input: z.string(),
        target: z.string().optional(),
        choices: z.string().optional(),
        cluster: z.string().optional(),
        metadata: z.array(z.string()).optional(),
      }),
    }),
    template: z.string().min(1).default('{{input}}'),
    solver: z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('generate'), system: z.string().optional() }),
      z.strictObject({ type: z.literal('multiple_choice'), system: z.string().optional(), shuffle: z.boolean().default(false) }),
    ]),
    scorers: z.array(z.looseObject({ type: z.string().min(1), name: z.string().min(1).optional() })).min(1),
    metrics: z
      .array(
        z.strictObject({
          name: z.string().min(1),
          scorer: z.string().min(1),
          aggregate: z.literal('mean').default('mean'),
          group_by: z.string().optional(),
        }),
      )
      .min(1),
    epochs: z.number().int().min(1).max(1000).default(1),
  })
  .superRefine((s, ctx) => {
    const names = new Set(s.scorers.map((sc) => sc.name ?? sc.type));
    s.metrics.forEach((m, i) => {
      if (!names.has(m.scorer)) ctx.addIssue({ code: 'custom', path: ['metrics', i, 'scorer'], message: `no scorer named "${m.scorer}" (scorers: ${[...names].join(', ')})` });
    });
    if (s.solver.type === 'multiple_choice' && !s.dataset.fields.choices)
      ctx.addIssue({ code: 'custom', path: ['dataset', 'fields', 'choices'], message: 'a multiple_choice solver needs a choices field' });
  });

export type SuiteFile = z.input<typeof suiteFileSchema>;

/** JSON Schema (draft 2020-12) of the suite file, published as schemas/suite.v1.schema.json. */
export function suiteJsonSchema(): unknown {
  return z.toJSONSchema(suiteFileSchema, { io: 'input', unrepresentable: 'any' });
}

export interface SchemaIssue {
  path: (string | number)[];
  message: string;
}

/** Validate a parsed suite file; returns the definition or the issues with their paths. */
export function parseSuiteFile(raw: unknown): { ok: true; def: SuiteDefinition } | { ok: false; issues: SchemaIssue[] } {
  const r = suiteFileSchema.safeParse(raw);
  if (!r.success) return { ok: false, issues: r.error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message })) };
  const f = r.data;
  const def: SuiteDefinition = {
    schema: f.schema,
    id: f.id,
    version: f.version,
    title: f.title,
    riskArea: f.risk_area,
    methodology: f.methodology,
    ...(f.description !== undefined ? { description: f.description } : {}),
    access: f.access,
    dataset: { path: f.dataset.path, format: f.dataset.format, fields: stripUndefined(f.dataset.fields) },
    template: f.template,
    solver: f.solver.type === 'generate' ? stripUndefined({ type: 'generate', system: f.solver.system }) : stripUndefined({ type: 'multiple_choice', system: f.solver.system, shuffle: f.solver.shuffle }),
    scorers: f.scorers.map((s) => ({ ...s })),
    metrics: f.metrics.map((m) => stripUndefined({ name: m.name, scorer: m.scorer, aggregate: m.aggregate, groupBy: m.group_by })),
    epochs: f.epochs,
  };
  return { ok: true, def };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The TypeScript API: the same validation as a YAML file, with snake_case keys. */
export function defineSuite(file: SuiteFile): SuiteDefinition {
  const r = parseSuiteFile(file);
  if (!r.ok) {
    const i = r.issues[0]!;
    throw new AssayError('SUITE_INVALID', i.message, { file: '<defineSuite>', field: i.path.join('.') });
  }
  return r.def;
}
