import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { EventRecord, RunHeader, SampleRecord, WorkUnit } from '../run/types.js';
import type { UnitOutcome } from '../run/unit.js';

/**
 * What travels through Redis between a coordinator and its workers (version 1). Everything read
 * back from Redis is checked here: a worker never trusts a job, a coordinator never trusts a result.
 */
export const JOB_VERSION = 1;

const RUN_ID = /^[A-Za-z0-9_.-]{1,128}$/;

/** The run's specification, stored once per run (`<prefix>:assay:spec:<runId>`); workers read it once. */
export interface RunSpec {
  v: typeof JOB_VERSION;
  header: RunHeader;
  /** The coordinator's artefact folder, used by workers that share its file system (agentic suites). */
  artefactDir: string;
}

export interface UnitJob {
  v: typeof JOB_VERSION;
  runId: string;
  key: string;
  epoch: number;
  sample: WorkUnit['sample'];
}

/** A job id per (run, sample, epoch): adding the same unit twice is a no-op, so a result is produced once. */
export function jobIdFor(runId: string, key: string): string {
  // Hashed: sample ids are dataset text (any characters); BullMQ ids must not contain ':'.
  return `${runId}.${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

export const specKey = (prefix: string, runId: string) => `${prefix}:assay:spec:${runId}`;

const sampleSchema = z.object({
  id: z.string().min(1),
  input: z.union([z.string(), z.array(z.any())]),
  target: z.union([z.string(), z.array(z.string())]).optional(),
  choices: z.array(z.string()).optional(),
  cluster: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()),
  source: z.object({ file: z.string(), line: z.number().optional(), row: z.number().optional() }),
});

export const jobSchema = z.object({
  v: z.literal(JOB_VERSION),
  runId: z.string().regex(RUN_ID),
  key: z.string().min(1).max(4096),
  epoch: z.number().int().min(1),
  sample: sampleSchema,
});

export function parseJob(data: unknown): UnitJob {
  const r = jobSchema.safeParse(data);
  if (!r.success) throw new Error(`malformed unit job: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  // The original object, not zod's copy: the copy orders keys by the schema, and the record a
  // worker writes must carry the sample exactly as the coordinator read it (key order included).
  const job = data as UnitJob;
  if (job.key !== `${job.sample.id}#${job.epoch}`) throw new Error(`malformed unit job: key ${JSON.stringify(job.key)} is not sample#epoch`);
  return job;
}

/** The worker's answer for one job (BullMQ stores it as the job's return value). */
export interface UnitResult {
  v: typeof JOB_VERSION;
  /** null: the worker stopped before the unit was answered (the job is retried, never completed with this). */
  outcome: Omit<UnitOutcome, 'events'> & { events: EventRecord[] };
  /** Which BullMQ attempt produced it, and how often the job was taken back from a lost worker. */
  attempt: number;
  stalled: number;
  worker: string;
}

export const resultSchema = z.object({
  v: z.literal(JOB_VERSION),
  outcome: z.object({
    rec: z.object({ type: z.literal('sample'), key: z.string(), sampleId: z.string(), epoch: z.number(), messages: z.array(z.any()), scores: z.record(z.string(), z.any()) }).passthrough(),
    wire: z.object({ request: z.string(), response: z.string() }).optional(),
    failure: z.object({ kind: z.string(), status: z.number().nullable(), message: z.string() }).nullable(),
    answered: z.boolean(),
    simulated: z.boolean(),
    events: z.array(z.object({ type: z.literal('event'), at: z.string(), kind: z.literal('retry'), detail: z.record(z.string(), z.unknown()) })),
  }),
  attempt: z.number().int().min(1),
  stalled: z.number().int().min(0),
  worker: z.string().max(256),
});

/**
 * Checks a result read back from Redis against the unit the coordinator sent: same key, sample and
 * epoch, and the prompt the coordinator itself builds. A result for another unit, or one whose
 * prompt differs from the run's, is refused rather than written to the canonical log.
 */
export function parseResult(raw: unknown, unit: WorkUnit, expectedMessages: unknown): UnitResult {
  const value = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
  const r = resultSchema.safeParse(value);
  if (!r.success) throw new Error(`malformed result for ${unit.key}: ${r.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const res = value as UnitResult; // as sent, key order included (zod's copy reorders)
  const rec = res.outcome.rec as SampleRecord;
  if (rec.key !== unit.key || rec.sampleId !== unit.sample.id || rec.epoch !== unit.epoch) throw new Error(`result for ${JSON.stringify(rec.key)} came back for unit ${JSON.stringify(unit.key)}`);
  const { source: _s, ...sample } = unit.sample;
  if (JSON.stringify(rec.sample) !== JSON.stringify(sample)) throw new Error(`result for ${unit.key} carries a different sample than the run's`);
  if (expectedMessages !== undefined && JSON.stringify(rec.messages) !== JSON.stringify(expectedMessages)) throw new Error(`result for ${unit.key} was produced from a different prompt than the run's`);
  return res;
}

/** The published JSON Schemas (schemas/queue-job.v1.schema.json, schemas/queue-result.v1.schema.json). */
export function queueJsonSchemas(): { job: unknown; result: unknown } {
  const withId = (s: Record<string, unknown>, id: string, title: string) => ({ $id: `https://assay.dev/schemas/${id}`, title, ...s });
  return {
    job: withId(z.toJSONSchema(jobSchema) as Record<string, unknown>, 'queue-job.v1.schema.json', 'Assay queue unit job (v1): what a coordinator puts on the BullMQ queue for one (run, sample, epoch)'),
    result: withId(z.toJSONSchema(resultSchema) as Record<string, unknown>, 'queue-result.v1.schema.json', 'Assay queue unit result (v1): a worker\'s return value for one unit job'),
  };
}
