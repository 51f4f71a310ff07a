import * as z from 'zod';
import { AssayError } from '../common/errors.js';
import { ACCESS_LEVELS } from '../model/types.js';
import { RESERVED_PLACEHOLDERS, templateProblems } from './template.js';
import type { AgentLimitsSpec, SuiteDefinition } from './types.js';

/** Semantic Versioning 2.0.0, exactly (the regex published at semver.org). */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
/** Dot-separated lowercase segments; each segment alphanumeric with inner "-" or "_". */
const SLUG = /^[a-z0-9]+(?:[-_][a-z0-9]+)*(?:\.[a-z0-9]+(?:[-_][a-z0-9]+)*)*$/;

const text = () => z.string().min(1, 'must not be empty');

/** Episode limits of an agentic task (suite defaults, or per task). */
export const agentLimitsSchema = z.strictObject({
  max_messages: z.number().int().min(2).max(10_000).optional().describe('Conversation length (system, user, assistant and tool messages) at which the episode stops'),
  max_tool_calls: z.number().int().min(0).max(10_000).optional(),
  max_tokens: z.number().int().min(1).optional().describe('Input + output tokens over the whole episode'),
  wall_time_s: z.number().positive().max(86_400).optional(),
  command_timeout_s: z.number().positive().max(3_600).optional().describe('Wall-clock limit of one sandbox command'),
});

/** The suite file as written (YAML keys are snake_case). Unknown keys are errors: a typo must not pass silently. */
export const suiteFileSchema = z
  .strictObject({
    schema: z.literal('assay.suite/v1'),
    id: z.string().regex(SLUG, 'must be a lowercase dotted slug, e.g. "bias.bbq-ambiguous"'),
    version: z.string().regex(SEMVER, 'must be a semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.0)'),
    title: text(),
    risk_area: text(),
    methodology: text().describe('Path of the methodology document, relative to the suite file'),
    description: z.string().optional(),
    access: z.enum(ACCESS_LEVELS).default('black-box'),
    dataset: z.strictObject({
      path: text().describe('Data file, relative to the suite file'),
      format: z.enum(['jsonl', 'csv', 'json']),
      fields: z.strictObject({
        id: text().optional(),
        input: text(),
        target: text().optional(),
        choices: text().optional(),
        cluster: text().optional(),
        metadata: z.array(text()).optional(),
      }),
    }),
    template: text().default('{{input}}'),
    solver: z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('generate'), system: z.string().optional() }),
      z.strictObject({ type: z.literal('multiple_choice'), system: z.string().optional(), shuffle: z.boolean().default(false) }),
      z.strictObject({
        type: z.literal('agent'),
        system: z.string().optional(),
        sandbox: text().default('bubblewrap').describe('Sandbox back-end for sandbox tools (src/sandbox)'),
        task_field: text().default('task').describe('Metadata field holding each sample\'s task definition (docs/formats/agent-task.md)'),
        limits: agentLimitsSchema.optional().describe('Default episode limits; a task\'s own limits override them'),
      }),
    ]),
    scorers: z.array(z.looseObject({ type: text(), name: text().optional() })).min(1, 'needs at least one scorer'),
    metrics: z
      .array(
        z.strictObject({
          name: text(),
          scorer: text(),
          aggregate: z.literal('mean').default('mean'),
          group_by: text().optional(),
        }),
      )
      .min(1, 'needs at least one metric'),
    epochs: z.number().int().min(1).max(1000).default(1),
    provenance: z
      .strictObject({
        source: text().describe('Where the data came from, e.g. "cais/wmdp (Hugging Face), config wmdp-bio"'),
        revision: z.string().optional().describe('Version of the source, e.g. a commit or release'),
        licence: z.string().optional(),
        files: z
          .array(
            z.strictObject({
              name: text(),
              sha256: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" + 64 lowercase hex digits'),
              rows: z.number().int().min(0),
            }),
          )
          .min(1, 'needs at least one source file'),
        transform: z.string().optional().describe('What the importer changed, e.g. "question.strip() as lm-eval does"'),
        redistributable: z.boolean().optional().describe('false for data that must not be published with the suite (non-commercial, gated, hazard-adjacent)'),
        attribution: z.string().optional().describe('Attribution the licence requires (citation)'),
        item_fields: z.array(text()).optional().describe('Metadata fields carrying per-item licence and source; also listed in dataset.fields.metadata so every sample record carries them'),
      })
      .optional()
      .describe('Source files an importer read (digests and row counts): recorded in the definition, hence in every run header and the suite digest'),
    held_out: z
      .strictObject({
        path: text().describe('Encrypted held-out items (assay.held-out/v1 JSONL, AES-256-GCM), relative to the suite file'),
        cipher: z.literal('aes-256-gcm'),
        key_id: z.string().regex(/^sha256:[0-9a-f]{16}$/, 'must be "sha256:" + 16 lowercase hex digits (the start of SHA-256 of the key)'),
        pair_by: text().optional().describe('Sample field (metadata key) pairing public and held-out items for the contamination test, e.g. difficulty'),
        commitments: z
          .array(z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" + 64 lowercase hex digits'))
          .min(1, 'needs at least one held-out item')
          .describe('Salted commitment to each held-out item, in file order: SHA-256("assay.held-out-commitment/v1" NUL salt item) (docs/formats/audit.md)'),
      })
      .optional()
      .describe('A held-out split (issue 27): items encrypted at rest, committed here so they cannot be swapped; the tester holds the key'),
  })
  .superRefine((s, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const names: string[] = [];
    s.scorers.forEach((sc, i) => {
      const name = sc.name ?? sc.type;
      if (names.includes(name)) issue(['scorers', i, sc.name ? 'name' : 'type'], `scorer name "${name}" is used twice; give one a distinct name`);
      names.push(name);
    });
    const metricNames = new Set<string>();
    const fields = s.dataset.fields;
    const groupable = [...(fields.metadata ?? []), ...(fields.cluster ? ['cluster'] : [])];
    s.metrics.forEach((m, i) => {
      if (metricNames.has(m.name)) issue(['metrics', i, 'name'], `metric name "${m.name}" is used twice`);
      metricNames.add(m.name);
      if (!names.includes(m.scorer)) issue(['metrics', i, 'scorer'], `no scorer named "${m.scorer}" (scorers: ${names.join(', ')})`);
      if (m.group_by !== undefined && !groupable.includes(m.group_by))
        issue(['metrics', i, 'group_by'], `cannot group by "${m.group_by}": not a field in dataset.fields.metadata${fields.cluster ? ' or "cluster"' : ''}`);
    });
    (s.provenance?.item_fields ?? []).forEach((f, i) => {
      if (!(fields.metadata ?? []).includes(f)) issue(['provenance', 'item_fields', i], `"${f}" must also be listed in dataset.fields.metadata so it is copied into sample records`);
    });
    (fields.metadata ?? []).forEach((f, i) => {
      if ((RESERVED_PLACEHOLDERS as readonly string[]).includes(f)) issue(['dataset', 'fields', 'metadata', i], `"${f}" is reserved for the template; rename the column or map it as dataset.fields.${f}`);
    });
    if (s.solver.type === 'multiple_choice' && !fields.choices) issue(['dataset', 'fields', 'choices'], 'a multiple_choice solver needs dataset.fields.choices');
    if (s.solver.type === 'agent' && !(fields.metadata ?? []).includes(s.solver.task_field))
      issue(['dataset', 'fields', 'metadata'], `an agent solver reads each task from the metadata field "${s.solver.task_field}": list it in dataset.fields.metadata`);
    for (const p of templateProblems(s.template, fields, s.solver)) issue(['template'], p);
  });

/** The suite file's shape before defaults (what a YAML file or defineSuite() caller writes). */
export type SuiteFile = z.input<typeof suiteFileSchema>;

/** JSON Schema (draft 2020-12) of the suite file, published as schemas/suite.v1.schema.json. */
export function suiteJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(suiteFileSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { $schema, title: 'Assay suite file (assay.suite/v1)', ...rest };
}

export interface SchemaIssue {
  path: (string | number)[];
  message: string;
}

/** Friendlier wording for the common zod issues; anything else keeps zod's message. */
const errorMap: z.core.$ZodErrorMap = (iss) => {
  if (iss.code === 'invalid_type') {
    if (iss.input === undefined) return 'required field is missing';
    const got = iss.input === null ? 'null' : Array.isArray(iss.input) ? 'array' : typeof iss.input;
    // YAML reads 1.0 as a number and yes/no as booleans; say how to keep them text.
    const hint = iss.expected === 'string' && (got === 'number' || got === 'boolean') ? ` (quote it in YAML: "${String(iss.input)}")` : '';
    return `expected ${iss.expected}, got ${got}${hint}`;
  }
  if (iss.code === 'invalid_union' && 'discriminator' in iss && iss.discriminator) return `${iss.discriminator} must be one of: generate, multiple_choice, agent`;
  return undefined;
};

/** Keys an object schema accepts at a path (for "did you mean"); empty when unknown. */
function knownKeysAt(path: readonly (string | number)[]): string[] {
  type Def = { type: string; shape?: Record<string, unknown>; innerType?: unknown; element?: unknown; options?: unknown[]; in?: unknown };
  const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;
  const keys = (s: unknown): string[] => {
    const d = defOf(s);
    if (d.type === 'object') return Object.keys(d.shape ?? {});
    if (d.type === 'union') return [...new Set((d.options ?? []).flatMap(keys))];
    if (d.innerType) return keys(d.innerType);
    return [];
  };
  const step = (s: unknown, p: string | number): unknown => {
    const d = defOf(s);
    if (d.innerType) return step(d.innerType, p);
    if (d.type === 'object') return d.shape?.[p];
    if (d.type === 'array') return d.element;
    return undefined;
  };
  let cur: unknown = suiteFileSchema;
  for (const p of path) {
    cur = step(cur, p);
    if (cur === undefined) return [];
  }
  return keys(cur);
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Validate a parsed suite file; returns the definition or every issue with its path.
 * Unknown keys come first, one issue per key: a misspelt key usually explains the "missing" one.
 */
export function parseSuiteFile(raw: unknown): { ok: true; def: SuiteDefinition } | { ok: false; issues: SchemaIssue[] } {
  const r = suiteFileSchema.safeParse(raw, { error: errorMap });
  if (!r.success) {
    const unknown: SchemaIssue[] = [];
    const other: SchemaIssue[] = [];
    for (const i of r.error.issues) {
      const path = i.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
      if (i.code === 'unrecognized_keys') {
        const known = knownKeysAt(path);
        for (const k of i.keys) {
          const hint = closest(k, known);
          unknown.push({ path: [...path, k], message: `unknown key "${k}"${hint ? ` (did you mean "${hint}"?)` : known.length ? ` (allowed: ${known.join(', ')})` : ''}` });
        }
      } else other.push({ path, message: i.message });
    }
    return { ok: false, issues: [...unknown, ...other] };
  }
  return { ok: true, def: fromFile(r.data) };
}

function fromFile(f: z.output<typeof suiteFileSchema>): SuiteDefinition {
  return {
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
    solver:
      f.solver.type === 'generate'
        ? stripUndefined({ type: 'generate', system: f.solver.system })
        : f.solver.type === 'agent'
          ? stripUndefined({ type: 'agent', system: f.solver.system, sandbox: f.solver.sandbox, taskField: f.solver.task_field, limits: f.solver.limits ? agentLimitsFromFile(f.solver.limits) : undefined })
          : stripUndefined({ type: 'multiple_choice', system: f.solver.system, shuffle: f.solver.shuffle }),
    scorers: f.scorers.map((s) => ({ ...s })),
    metrics: f.metrics.map((m) => stripUndefined({ name: m.name, scorer: m.scorer, aggregate: m.aggregate, groupBy: m.group_by })),
    epochs: f.epochs,
    ...(f.provenance !== undefined ? { provenance: stripUndefined({ ...f.provenance, files: f.provenance.files.map((x) => ({ ...x })) }) } : {}),
    ...(f.held_out !== undefined ? { heldOut: stripUndefined({ path: f.held_out.path, cipher: f.held_out.cipher, keyId: f.held_out.key_id, pairBy: f.held_out.pair_by, commitments: [...f.held_out.commitments] }) } : {}),
  };
}

/** The inverse mapping: a definition back to the file's snake_case shape, so both paths share one validator. */
export function toSuiteFile(def: SuiteDefinition): SuiteFile {
  return stripUndefined({
    schema: def.schema,
    id: def.id,
    version: def.version,
    title: def.title,
    risk_area: def.riskArea,
    methodology: def.methodology,
    description: def.description,
    access: def.access,
    dataset: { path: def.dataset.path, format: def.dataset.format, fields: { ...def.dataset.fields } },
    template: def.template,
    solver:
      def.solver.type === 'agent'
        ? stripUndefined({ type: 'agent', system: def.solver.system, sandbox: def.solver.sandbox, task_field: def.solver.taskField, limits: def.solver.limits ? agentLimitsToFile(def.solver.limits) : undefined })
        : { ...def.solver },
    scorers: def.scorers.map((s) => ({ ...s })),
    metrics: def.metrics.map((m) => stripUndefined({ name: m.name, scorer: m.scorer, aggregate: m.aggregate, group_by: m.groupBy })),
    epochs: def.epochs,
    provenance: def.provenance,
    held_out: def.heldOut ? stripUndefined({ path: def.heldOut.path, cipher: def.heldOut.cipher, key_id: def.heldOut.keyId, pair_by: def.heldOut.pairBy, commitments: [...def.heldOut.commitments] }) : undefined,
  }) as SuiteFile;
}

export function agentLimitsFromFile(l: z.output<typeof agentLimitsSchema>): AgentLimitsSpec {
  return stripUndefined({ maxMessages: l.max_messages, maxToolCalls: l.max_tool_calls, maxTokens: l.max_tokens, wallTimeS: l.wall_time_s, commandTimeoutS: l.command_timeout_s });
}

function agentLimitsToFile(l: AgentLimitsSpec): z.input<typeof agentLimitsSchema> {
  return stripUndefined({ max_messages: l.maxMessages, max_tool_calls: l.maxToolCalls, max_tokens: l.maxTokens, wall_time_s: l.wallTimeS, command_timeout_s: l.commandTimeoutS });
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Turn schema issues into one located error: the first issue, with the rest listed after it. */
export function issuesError(issues: SchemaIssue[], file: string, lineOf: (path: SchemaIssue['path']) => number | undefined = () => undefined): AssayError {
  const loc = (i: SchemaIssue) => {
    const line = lineOf(i.path);
    return { file, ...(line !== undefined ? { line } : {}), field: i.path.join('.') || '(root)' };
  };
  const [first, ...rest] = issues;
  const more = rest.map((i) => {
    const l = loc(i);
    return `\n  also ${l.line !== undefined ? `line ${l.line}, ` : ''}field "${l.field}": ${i.message}`;
  });
  return new AssayError('SUITE_INVALID', `${first!.message}${more.join('')}`, loc(first!));
}

/**
 * The TypeScript API: validates exactly as a YAML file is validated (same snake_case keys and
 * defaults) and returns the normalised definition. Throws AssayError naming the field.
 */
export function defineSuite(file: SuiteFile): SuiteDefinition {
  const r = parseSuiteFile(file);
  if (!r.ok) throw issuesError(r.issues, '<defineSuite>');
  return r.def;
}
