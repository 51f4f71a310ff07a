import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { AssayError } from '../common/errors.js';

/**
 * Enclave configuration `assay.enclave-config/v1` (YAML or JSON), written by the developer who
 * runs `assay enclave serve` behind their gateway (docs/enclave.md). Paths are relative to the file.
 */
export const ENCLAVE_CONFIG_SCHEMA = 'assay.enclave-config/v1';

export const enclaveConfigSchema = z.strictObject({
  schema: z.literal(ENCLAVE_CONFIG_SCHEMA),
  /** The enclave's name in signed ledger heads. */
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/).default('assay-enclave'),
  listen: z.strictObject({ host: z.string().min(1).default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(8790) }).default({ host: '127.0.0.1', port: 8790 }),
  /** Directory for the enclave's job database. */
  state: z.string().min(1),
  /** Environment variable holding the key the gateway presents (its upstream `apiKeyEnv`). */
  apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/),
  /** Model name (the gateway's upstream model id) → directory with config.json + model.safetensors. */
  models: z.record(z.string().min(1).max(256), z.string().min(1)).refine((m) => Object.keys(m).length > 0, 'at least one model'),
  /** Interpreter inside the sandbox (host path, bound read-only with /usr). */
  python: z.string().regex(/^\/usr\//, 'the interpreter must live under /usr (the sandbox sees only /usr and /etc of the host)').default('/usr/bin/python3'),
  /** Sandbox directory (default $ASSAY_SANDBOX_DIR, else <tmpdir>/assay-sandboxes). */
  sandboxDir: z.string().min(1).optional(),
  limits: z
    .strictObject({
      timeoutS: z.number().positive().max(3600).default(60),
      cpuSeconds: z.number().int().positive().default(60),
      memoryBytes: z.number().int().min(64 << 20).default(1 << 30),
      cpus: z.number().positive().default(1),
      workspaceBytes: z.number().int().min(1 << 20).default(64 << 20),
      maxProcesses: z.number().int().min(4).default(64),
    })
    .default({ timeoutS: 60, cpuSeconds: 60, memoryBytes: 1 << 30, cpus: 1, workspaceBytes: 64 << 20, maxProcesses: 64 }),
  /** Largest program text and inputs (bytes). */
  maxProgramBytes: z.number().int().min(1024).default(256 << 10),
  maxInputsBytes: z.number().int().min(0).default(1 << 20),
  airlock: z
    .strictObject({
      maxOutputBytes: z.number().int().min(16).default(64 << 10),
      maxJobBytes: z.number().int().min(16).default(256 << 10),
      maxNumbers: z.number().int().min(1).default(8192),
      /** Cumulative bytes released per grant when the grant sets no cap (`assay.grant/v1` `enclave.releaseBytes`). */
      releaseBytesPerGrant: z.number().int().min(0).default(1 << 20),
      /** Reviewer approval: as the grant says (`enclave.review`), always, or never. */
      review: z.enum(['grant', 'always', 'never']).default('grant'),
    })
    .default({ maxOutputBytes: 64 << 10, maxJobBytes: 256 << 10, maxNumbers: 8192, releaseBytesPerGrant: 1 << 20, review: 'grant' }),
  /** Jobs run one at a time by default (each gets the whole sandbox budget). */
  concurrency: z.number().int().min(1).max(64).default(1),
});
export type EnclaveConfig = z.infer<typeof enclaveConfigSchema>;

export function parseEnclaveConfig(raw: unknown, where: { file?: string; baseDir?: string } = {}): EnclaveConfig {
  const r = enclaveConfigSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new AssayError('ENCLAVE_CONFIG', i.message, { ...(where.file ? { file: where.file } : {}), field: i.path.join('.') || '(root)' });
  }
  const c = r.data;
  const base = where.baseDir ?? process.cwd();
  c.state = resolve(base, c.state);
  if (c.sandboxDir) c.sandboxDir = resolve(base, c.sandboxDir);
  for (const k of Object.keys(c.models)) c.models[k] = resolve(base, c.models[k]!);
  return c;
}

export function loadEnclaveConfig(file: string): EnclaveConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new AssayError('IO', `cannot read enclave config: ${(e as Error).message}`, { file });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { uniqueKeys: true });
  } catch (e) {
    throw new AssayError('ENCLAVE_CONFIG', `not valid YAML/JSON: ${(e as Error).message}`, { file });
  }
  return parseEnclaveConfig(raw, { file, baseDir: dirname(resolve(file)) });
}
