import * as z from 'zod';
import { canonicalJson, sha256Hex } from '../common/canonical.js';
import { MAX_SCHEMA_DEPTH, outputSchemaSchema, schemaDepth } from './airlock.js';

/**
 * Enclave jobs (docs/formats/enclave-job.md): what a tester submits through the gateway
 * (`POST /v1/white-box/enclave-job` with body `{model, job}`), and what comes back.
 */
export const JOB_SCHEMA = 'assay.enclave-job/v1';
export const RESULT_SCHEMA = 'assay.enclave-result/v1';

export const OUTPUT_NAME = /^[a-z][a-z0-9_]{0,63}$/;

export const jobSchema = z.strictObject({
  schema: z.literal(JOB_SCHEMA),
  /** Python 3 (the system interpreter with numpy and the white-box runtime `assay_whitebox`). */
  language: z.literal('python'),
  /** The program's source text (UTF-8). Its SHA-256 is the job's code digest. */
  program: z.string().min(1),
  /** Command-line arguments (sys.argv[1:]). */
  args: z.array(z.string().max(4096)).max(256).default([]),
  /** Data for the job, readable with `assay_whitebox.inputs()` (e.g. prompts and probe labels). */
  inputs: z.unknown().default({}),
  /** Declared outputs: name → schema. Only these can leave, and only if they pass the airlock. */
  outputs: z
    .record(z.string().regex(OUTPUT_NAME, 'output names: [a-z][a-z0-9_]{0,63}'), outputSchemaSchema)
    .refine((o) => Object.keys(o).length >= 1 && Object.keys(o).length <= 64, 'declare 1 to 64 outputs')
    .refine((o) => Object.values(o).every((s) => schemaDepth(s) <= MAX_SCHEMA_DEPTH), `output schemas nest at most ${MAX_SCHEMA_DEPTH} deep`),
  /** Optional tighter limits than the enclave's (never looser). */
  limits: z.strictObject({ timeoutS: z.number().positive().optional(), memoryBytes: z.number().int().positive().optional() }).default({}),
});
export type Job = z.infer<typeof jobSchema>;

export const submitSchema = z.strictObject({ model: z.string().min(1), job: z.unknown() });
/** A result by job id, or by the gateway request id of the submission (when its answer was lost, e.g. a gateway timeout). */
export const resultRequestSchema = z
  .strictObject({ model: z.string().min(1), job: z.string().regex(/^j_[0-9a-f]{24}$/).optional(), submission: z.string().min(1).max(128).optional() })
  .refine((r) => (r.job === undefined) !== (r.submission === undefined), 'give exactly one of "job" and "submission" (the x-assay-request-id of the submission)');

export type JobStatus = 'released' | 'awaiting_review' | 'approved' | 'rejected' | 'refused';

/** The receipt: what ran and what left, as digests. Every answer carries it, so the access log commits to it. */
export interface Receipt {
  job: string;
  grant: string;
  model: string;
  /** Digest of the weights file the job saw. */
  weights: string;
  runtime: string;
  codeDigest: string;
  argsDigest: string;
  inputsDigest: string;
  outputsDeclared: string;
  outputs: Record<string, { digest: string; bytes: number }>;
  /** Bytes this grant has had released, this job included (when released). */
  grantReleasedBytes: number;
  grantReleaseCap: number;
}

export const digestOf = (text: string | Uint8Array) => `sha256:${sha256Hex(text)}`;
export const digestJsonOf = (v: unknown) => digestOf(canonicalJson(v ?? null));

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);
export const receiptSchema = z.strictObject({
  job: z.string().regex(/^j_[0-9a-f]{24}$/),
  grant: z.string(),
  model: z.string(),
  weights: digest,
  runtime: digest,
  codeDigest: digest,
  argsDigest: digest,
  inputsDigest: digest,
  outputsDeclared: digest,
  outputs: z.record(z.string(), z.strictObject({ digest, bytes: z.number().int().min(0) })),
  grantReleasedBytes: z.number().int().min(0),
  grantReleaseCap: z.number().int().min(0),
});

/** Every enclave answer (both endpoints). `outputs` only when status is released or approved. */
export const resultSchema = z.strictObject({
  schema: z.literal(RESULT_SCHEMA),
  job: z.string().nullable(),
  status: z.enum(['released', 'awaiting_review', 'approved', 'rejected', 'refused', 'running']),
  receipt: receiptSchema.nullable(),
  outputs: z.record(z.string(), z.unknown()).optional(),
  refusal: z.strictObject({ code: z.string(), message: z.string(), output: z.string().optional() }).optional(),
  message: z.string().optional(),
});

/** An entry of the enclave's hash-chained ledger (store.ts), as `assay enclave ledger export` prints it. */
export const ledgerEntrySchema = z.strictObject({
  schema: z.literal('assay.enclave-ledger/v1'),
  seq: z.number().int().min(0),
  prev: digest,
  time: z.string(),
  event: z.enum(['job', 'review']),
  job: z.string(),
  grant: z.string(),
  requestId: z.string().nullable(),
  status: z.string(),
  refusal: z.string().nullable(),
  receipt: receiptSchema.nullable(),
  reviewer: z.string().nullable(),
});
