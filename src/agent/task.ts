/**
 * The agentic task format (`docs/formats/agent-task.md`): what one sample of an agent suite holds
 * in its task metadata field. Instructions are the sample's input; everything else — initial
 * files, tools, limits, mock-tool state and the checks that decide the outcome — is here, as
 * data, so it is covered by the suite digest and can be reviewed without reading code.
 */
import * as z from 'zod';
import { AssayError } from '../common/errors.js';
import { agentLimitsFromFile, agentLimitsSchema } from '../suite/schema.js';
import type { AgentLimitsSpec } from '../suite/types.js';

export const FAMILIES = ['intent', 'honeypot', 'spec_gaming', 'vuln', 'sandbagging', 'misuse'] as const;
export type Family = (typeof FAMILIES)[number];

const regex = z.string().min(1).refine((s) => {
  try {
    new RegExp(s, 'i');
    return true;
  } catch {
    return false;
  }
}, 'must be a valid regular expression');
const globs = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((g) => (typeof g === 'string' ? [g] : g));
const argsMatch = z.record(z.string(), regex).optional().describe('argument name → regex the argument (as text) must match');

/**
 * A predicate over the episode: the workspace before and after, the tool calls and the final
 * answer. One key per object. See docs/formats/agent-task.md for each.
 */
export type Predicate =
  | { changed: string[] }
  | { unchanged: string[] }
  | { exists: string[] }
  | { absent: string[] }
  | { file_contains: { path: string; pattern: string } }
  | { file_lacks: { path: string; pattern: string } }
  | { config: { path: string; key: string; equals: unknown } }
  | { config_count: { path: string; key: string; equals: unknown; min?: number; max?: number } }
  | { sql_tables: { path: string; has: string[] } }
  | { firewall: { path: string; packet: string; action: 'allow' | 'deny' } }
  | { seen: string }
  | { called: { tool: string; args?: Record<string, string>; min?: number } }
  | { not_called: { tool: string; args?: Record<string, string> } }
  | { command: { run: string; files?: Record<string, string>; exit?: number } }
  | { answer: string }
  | { said: string }
  | { new_findings: { paths: string[]; min?: number } }
  | { not: Predicate }
  | { all: Predicate[] }
  | { any: Predicate[] };

/** A predicate as written: globs may be one string or a list. */
export type PredicateInput = Predicate extends infer P
  ? P extends { changed: string[] } ? { changed: string | string[] }
  : P extends { unchanged: string[] } ? { unchanged: string | string[] }
  : P extends { exists: string[] } ? { exists: string | string[] }
  : P extends { absent: string[] } ? { absent: string | string[] }
  : P extends { new_findings: { paths: string[]; min?: number } } ? { new_findings: { paths: string | string[]; min?: number } }
  : P extends { not: Predicate } ? { not: PredicateInput }
  : P extends { all: Predicate[] } ? { all: PredicateInput[] }
  : P extends { any: Predicate[] } ? { any: PredicateInput[] }
  : P
  : never;

export const predicateSchema: z.ZodType<Predicate, PredicateInput> = z.lazy(() =>
  z.union([
    z.strictObject({ changed: globs }),
    z.strictObject({ unchanged: globs }),
    z.strictObject({ exists: globs }),
    z.strictObject({ absent: globs }),
    z.strictObject({ file_contains: z.strictObject({ path: z.string().min(1), pattern: regex }) }),
    z.strictObject({ file_lacks: z.strictObject({ path: z.string().min(1), pattern: regex }) }),
    z.strictObject({ config: z.strictObject({ path: z.string().min(1), key: z.string().min(1), equals: z.unknown() }) }),
    z.strictObject({ config_count: z.strictObject({ path: z.string().min(1), key: z.string().min(1), equals: z.unknown(), min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() }) }),
    z.strictObject({ sql_tables: z.strictObject({ path: z.string().min(1), has: z.array(z.string().min(1)).min(1) }) }),
    z.strictObject({ firewall: z.strictObject({ path: z.string().min(1), packet: z.string().regex(/^\w+ \d+ from \S+$/, 'must be "<proto> <port> from <ipv4>"'), action: z.enum(['allow', 'deny']) }) }),
    z.strictObject({ seen: regex }),
    z.strictObject({ called: z.strictObject({ tool: z.string().min(1), args: argsMatch, min: z.number().int().min(1).optional() }) }),
    z.strictObject({ not_called: z.strictObject({ tool: z.string().min(1), args: argsMatch }) }),
    z.strictObject({ command: z.strictObject({ run: z.string().min(1), files: z.record(z.string(), z.string()).optional(), exit: z.number().int().optional() }) }),
    z.strictObject({ answer: regex }),
    z.strictObject({ said: regex }),
    z.strictObject({ new_findings: z.strictObject({ paths: globs, min: z.number().int().min(1).optional() }) }),
    z.strictObject({ not: predicateSchema }),
    z.strictObject({ all: z.array(predicateSchema).min(1) }),
    z.strictObject({ any: z.array(predicateSchema).min(1) }),
  ]),
) as unknown as z.ZodType<Predicate, PredicateInput>;

export const taskSchema = z.strictObject({
  family: z.enum(FAMILIES),
  /** What the task measures, one sentence (shown in reports, never to the model). */
  measures: z.string().min(1),
  files: z.record(z.string().min(1), z.string()).default({}),
  tools: z.array(z.string().min(1)).min(1),
  limits: agentLimitsSchema.optional(),
  /** State of the in-process mock tools (inbox, records, contacts, accounts, profiles …). */
  mock: z.record(z.string(), z.unknown()).default({}),
  checks: z.strictObject({
    /** Any holds → the sample is a violation. */
    violation: z.array(predicateSchema).min(1),
    /** All hold → the task was done. Absent: success is not measured. */
    success: z.array(predicateSchema).min(1).optional(),
    /** Every pattern matches the agent's own words (messages and submitted answer) → it disclosed the conflict. */
    disclosure: z.array(regex).min(1).optional(),
    /** Misuse twins: harm score = share of these that hold. */
    harm: z.array(predicateSchema).min(1).optional(),
  }),
  /** Misuse: which twin this is. */
  twin: z.enum(['benign', 'harmful']).optional(),
  /** Estimated minutes a skilled human needs for the task (for time-horizon analysis). */
  human_minutes: z.number().positive(),
});

export type TaskFile = z.input<typeof taskSchema>;

/** JSON Schema (draft 2020-12) of a task, published as schemas/agent-task.v1.schema.json. */
export function taskJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(taskSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { $schema, title: 'Assay agentic task (the task field of an agent suite sample), v1', ...rest };
}

export interface AgentTask {
  family: Family;
  measures: string;
  files: Record<string, string>;
  tools: string[];
  limits: AgentLimitsSpec;
  mock: Record<string, unknown>;
  checks: { violation: Predicate[]; success?: Predicate[]; disclosure?: string[]; harm?: Predicate[] };
  twin?: 'benign' | 'harmful';
  humanMinutes: number;
}

/** Validates a sample's task; errors name the sample and the field. */
export function parseTask(raw: unknown, where: { file?: string; sampleId: string; field: string }): AgentTask {
  const r = taskSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    const path = [where.field, ...i.path.map(String)].join('.');
    throw new AssayError('TASK_INVALID', `sample ${where.sampleId}: ${i.message}`, { ...(where.file ? { file: where.file } : {}), field: path });
  }
  const t = r.data;
  return {
    family: t.family,
    measures: t.measures,
    files: t.files,
    tools: t.tools,
    limits: t.limits ? agentLimitsFromFile(t.limits) : {},
    mock: t.mock,
    checks: t.checks,
    ...(t.twin ? { twin: t.twin } : {}),
    humanMinutes: t.human_minutes,
  };
}
