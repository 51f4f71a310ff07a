import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { AssayError } from '../common/errors.js';
import { assayHome } from '../home.js';

/**
 * Gateway configuration `assay.gateway-config/v1` (YAML or JSON), written by the developer who runs
 * the gateway: its identity (the grant audience), signing key, listen address, database, upstream
 * endpoints, the models it serves, and optional transparency-log checkpoints. Paths are relative
 * to the config file. See docs/formats/gateway.md.
 */
export const GATEWAY_CONFIG_SCHEMA = 'assay.gateway-config/v1';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, 'use 1-128 of A-Z a-z 0-9 . _ : / - (starting with a letter or digit)');
const httpUrl = z.url({ protocol: /^https?$/ });

const upstream = z.strictObject({
  /** Base URL of an OpenAI-compatible API, including its /v1 (chat completions at <base>/chat/completions). */
  openai: httpUrl.optional(),
  /** Base URL of an Anthropic Messages API, without /v1 (messages at <base>/v1/messages). */
  anthropic: httpUrl.optional(),
  /** Environment variable holding the upstream's API key (never written in the config). */
  apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
  /** Connection cap to this upstream. */
  connections: z.number().int().min(1).max(4096).default(64),
  /** Per-call limit (headers and gaps in the body), seconds. */
  timeoutS: z.number().positive().max(3600).default(300),
  /**
   * White-box endpoints this upstream offers beyond text, by name → upstream path (POST, JSON in
   * and out), e.g. `activations: /v1/activations`. Reached at POST /v1/white-box/<name>.
   */
  whiteBox: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,62}$/), z.string().regex(/^\/[A-Za-z0-9._~/-]*$/)).default({}),
});

const model = z.strictObject({
  upstream: name,
  /** Model id sent upstream (default: the gateway's model name). */
  upstreamModel: z.string().min(1).max(256).optional(),
  /** The developer's signed model-release statement for this model (a file `assay release sign` wrote). */
  release: z.string().min(1).optional(),
  /** USD per million input and output tokens, for cost budgets. */
  price: z.strictObject({ input: z.number().min(0), output: z.number().min(0) }).optional(),
  /**
   * How to count a stream's delivered tokens when the upstream's final usage never arrived:
   * a tiktoken encoding, or UTF-8 bytes (an upper bound). Default: js-tiktoken's encoding for the
   * upstream model id when it knows it (OpenAI models), else bytes.
   */
  tokenizer: z.enum(['o200k_base', 'cl100k_base', 'bytes']).optional(),
});

export const gatewayConfigSchema = z.strictObject({
  schema: z.literal(GATEWAY_CONFIG_SCHEMA),
  /** The gateway's identity: the `aud` every grant must carry. */
  id: name,
  /** Keyring key (name, id or prefix) that signs grants, log heads and is the grants' issuer. */
  key: z.string().min(1).optional(),
  listen: z.strictObject({ host: z.string().min(1).default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(8787) }).default({ host: '127.0.0.1', port: 8787 }),
  /** SQLite file for grants, usage and the access log (default $ASSAY_HOME/gateway.db). */
  db: z.string().min(1).optional(),
  /** Largest request body accepted, bytes. */
  maxBodyBytes: z.number().int().min(1024).max(64 << 20).default(1 << 20),
  upstreams: z.record(name, upstream).refine((u) => Object.keys(u).length > 0, 'at least one upstream'),
  models: z.record(z.string().min(1).max(256), model).refine((m) => Object.keys(m).length > 0, 'at least one model'),
  /** Checkpoint the access-log head into a local transparency log directory (`assay log init`). */
  tlog: z.strictObject({ dir: z.string().min(1), everyRecords: z.number().int().min(1).default(1000), everySeconds: z.number().positive().default(60) }).optional(),
  /**
   * Serve HTTPS: PEM certificate chain and private key files; `ca` and `clientCertificates` for
   * mutual TLS (grants bound to a client certificate need `request` or `require`).
   */
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1), ca: z.string().min(1).optional(), clientCertificates: z.enum(['none', 'request', 'require']).default('none') }).optional(),
  /**
   * DPoP-bound grants (RFC 9449): the URL testers address the gateway by (behind a reverse proxy;
   * default: this server's scheme and the request's Host) and the clock skew accepted on a proof's iat.
   */
  dpop: z.strictObject({ publicUrl: httpUrl.optional(), skewSeconds: z.number().int().min(1).max(600).default(60) }).default({ skewSeconds: 60 }),
  /** The authenticated admin API for live grant management (requests signed by the gateway key). */
  adminApi: z.boolean().default(true),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
export type UpstreamConfig = GatewayConfig['upstreams'][string];

/** Validates a config object; paths in it are resolved against `baseDir`. */
export function parseGatewayConfig(raw: unknown, where: { file?: string; baseDir?: string } = {}): GatewayConfig {
  const r = gatewayConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new AssayError('GATEWAY_CONFIG', issue.message, { ...(where.file ? { file: where.file } : {}), field: issue.path.join('.') || '(root)' });
  }
  const c = r.data;
  for (const [m, spec] of Object.entries(c.models)) {
    const up = c.upstreams[spec.upstream];
    if (!up) throw new AssayError('GATEWAY_CONFIG', `upstream "${spec.upstream}" is not defined under upstreams`, { ...(where.file ? { file: where.file } : {}), field: `models.${m}.upstream` });
    if (!up.openai && !up.anthropic) throw new AssayError('GATEWAY_CONFIG', 'an upstream needs an openai or anthropic base URL', { ...(where.file ? { file: where.file } : {}), field: `upstreams.${spec.upstream}` });
  }
  const base = where.baseDir ?? process.cwd();
  if (c.db) c.db = resolve(base, c.db);
  if (c.tlog) c.tlog.dir = resolve(base, c.tlog.dir);
  if (c.tls) {
    c.tls.cert = resolve(base, c.tls.cert);
    c.tls.key = resolve(base, c.tls.key);
    if (c.tls.ca) c.tls.ca = resolve(base, c.tls.ca);
  }
  for (const spec of Object.values(c.models)) if (spec.release) spec.release = resolve(base, spec.release);
  return c;
}

export function loadGatewayConfig(file: string): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AssayError('IO', `cannot read gateway config: ${(err as Error).message}`, { file });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { uniqueKeys: true });
  } catch (err) {
    throw new AssayError('GATEWAY_CONFIG', `not valid YAML/JSON: ${(err as Error).message}`, { file });
  }
  return parseGatewayConfig(raw, { file, baseDir: dirname(resolve(file)) });
}

export const gatewayDbFile = (c: GatewayConfig, home = assayHome()): string => c.db ?? resolve(home, 'gateway.db');
