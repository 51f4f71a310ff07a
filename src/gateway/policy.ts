import * as z from 'zod';
import { ACCESS_LEVELS, accessAtLeast, type AccessLevel } from '../model/types.js';
import type { Grant } from './grant.js';

/**
 * What each access level may send, per wire format: an allow-list, deny by default. A top-level
 * parameter is either allowed at the grant's level, allowed only at a higher level (refused 403,
 * naming the level it needs), or unknown (refused 400). Values and everything nested are checked
 * by closed zod schemas, so an unknown field at any depth is refused too, never forwarded.
 *
 * Policy version `assay.gateway-policy/v1`; the tables below are its content (docs/formats/gateway.md).
 * - black-box: text in, text out. Messages with text content (system prompts included), max
 *   tokens, temperature/top_p within the API's bounds, stop, seed, n = 1, streaming.
 * - grey-box: adds logprobs and top_logprobs (≤ the grant's topLogprobsMax), presence/frequency
 *   penalties (OpenAI) and top_k (Anthropic).
 * - white-box: adds logit_bias (with logprobs it enables full-logit extraction, so it counts as
 *   white-box) and the upstream's white-box endpoints.
 */
export const POLICY_VERSION = 'assay.gateway-policy/v1';

export type Endpoint = 'openai.chat' | 'anthropic.messages';

const text = z.string().max(1 << 22);
const textPart = z.strictObject({ type: z.literal('text'), text });
const openaiMessage = z.strictObject({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.union([text, z.array(textPart).min(1)]),
  name: z.string().max(256).optional(),
});
const anthropicMessage = z.strictObject({ role: z.enum(['user', 'assistant']), content: z.union([text, z.array(textPart).min(1)]) });
const modelName = z.string().min(1).max(256);
const posInt = z.number().int().min(1);

type Shape = Record<string, z.ZodType>;

/** Each parameter with the lowest level that may use it. */
const OPENAI: Record<string, { level: AccessLevel; schema: (g: Grant) => z.ZodType }> = {
  model: { level: 'black-box', schema: () => modelName },
  messages: { level: 'black-box', schema: () => z.array(openaiMessage).min(1).max(10_000) },
  max_tokens: { level: 'black-box', schema: () => posInt },
  max_completion_tokens: { level: 'black-box', schema: () => posInt },
  temperature: { level: 'black-box', schema: () => z.number().min(0).max(2) },
  top_p: { level: 'black-box', schema: () => z.number().min(0).max(1) },
  stop: { level: 'black-box', schema: () => z.union([z.string().max(1024), z.array(z.string().max(1024)).min(1).max(4)]) },
  seed: { level: 'black-box', schema: () => z.number().int() },
  n: { level: 'black-box', schema: () => z.literal(1) },
  stream: { level: 'black-box', schema: () => z.boolean() },
  stream_options: { level: 'black-box', schema: () => z.strictObject({ include_usage: z.boolean().optional() }) },
  logprobs: { level: 'grey-box', schema: () => z.boolean() },
  top_logprobs: { level: 'grey-box', schema: (g) => z.number().int().min(0).max(g.topLogprobsMax) },
  presence_penalty: { level: 'grey-box', schema: () => z.number().min(-2).max(2) },
  frequency_penalty: { level: 'grey-box', schema: () => z.number().min(-2).max(2) },
  logit_bias: { level: 'white-box', schema: () => z.record(z.string().regex(/^\d{1,9}$/), z.number().min(-100).max(100)) },
};

const ANTHROPIC: typeof OPENAI = {
  model: { level: 'black-box', schema: () => modelName },
  messages: { level: 'black-box', schema: () => z.array(anthropicMessage).min(1).max(10_000) },
  max_tokens: { level: 'black-box', schema: () => posInt },
  system: { level: 'black-box', schema: () => z.union([text, z.array(textPart).min(1)]) },
  temperature: { level: 'black-box', schema: () => z.number().min(0).max(1) },
  top_p: { level: 'black-box', schema: () => z.number().min(0).max(1) },
  stop_sequences: { level: 'black-box', schema: () => z.array(z.string().max(1024)).max(16) },
  stream: { level: 'black-box', schema: () => z.boolean() },
  top_k: { level: 'grey-box', schema: () => posInt },
};

export const POLICY_TABLES: Record<Endpoint, typeof OPENAI> = { 'openai.chat': OPENAI, 'anthropic.messages': ANTHROPIC };

export interface PolicyRefusal {
  status: 400 | 403;
  code: 'invalid_request' | 'unknown_parameter' | 'parameter_forbidden' | 'model_not_granted';
  message: string;
}

export interface Checked {
  model: string;
  stream: boolean;
  /** Top-level parameter names used, sorted (logged: shows the level was respected without showing values). */
  params: string[];
  /** Largest output bound the request set (max_tokens, max_completion_tokens), or null: the server then injects one when the grant has a cap or budget. */
  maxTokens: number | null;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const pathOf = (p: readonly PropertyKey[]) => p.map((s) => (typeof s === 'number' ? `[${s}]` : `.${String(s)}`)).join('').replace(/^\./, '');

// Building zod schemas is costly next to checking with them: one closed schema per endpoint,
// parameter set and grant-dependent bound, built once.
const schemas = new Map<string, z.ZodType>();
function schemaFor(endpoint: Endpoint, keys: string[], grant: Grant): z.ZodType {
  const id = `${endpoint}|${grant.topLogprobsMax}|${[...keys].sort().join(',')}`;
  let s = schemas.get(id);
  if (!s) {
    const table = POLICY_TABLES[endpoint];
    const shape: Shape = {};
    for (const k of keys) shape[k] = table[k]!.schema(grant);
    s = z.strictObject(shape);
    if (schemas.size >= 4096) schemas.clear();
    schemas.set(id, s);
  }
  return s;
}

/** Checks a parsed request body against the grant. Pure (up to a schema cache). */
export function checkRequest(endpoint: Endpoint, body: unknown, grant: Grant): Checked | PolicyRefusal {
  if (!isObj(body)) return { status: 400, code: 'invalid_request', message: 'request body must be a JSON object' };
  const table = POLICY_TABLES[endpoint];
  const keys = Object.keys(body);
  for (const key of keys) {
    const rule = Object.hasOwn(table, key) ? table[key]! : undefined;
    if (!rule) return { status: 400, code: 'unknown_parameter', message: `unknown parameter "${key}": not forwarded (the gateway passes only parameters on its allow-list, ${POLICY_VERSION})` };
    if (!accessAtLeast(grant.level, rule.level)) return { status: 403, code: 'parameter_forbidden', message: `parameter "${key}" needs ${rule.level} access; this grant is ${grant.level}` };
    if (grant.params && key !== 'model' && key !== 'messages' && !grant.params.includes(key)) return { status: 403, code: 'parameter_forbidden', message: `parameter "${key}" is not among this grant's allowed parameters` };
  }
  for (const required of ['model', 'messages']) if (!(required in body)) return { status: 400, code: 'invalid_request', message: `missing required parameter "${required}"` };
  const r = schemaFor(endpoint, keys, grant).safeParse(body);
  if (!r.success) {
    const i = r.error.issues[0]!;
    if (i.code === 'unrecognized_keys') return { status: 400, code: 'unknown_parameter', message: `unknown field ${i.keys.map((k) => `"${k}"`).join(', ')} at ${pathOf(i.path) || '(top level)'}: not forwarded` };
    return { status: 400, code: 'invalid_request', message: `${pathOf(i.path)}: ${i.message}` };
  }
  const model = body.model as string;
  if (!grant.models.includes(model)) return { status: 403, code: 'model_not_granted', message: `model "${model}" is not covered by this grant (granted: ${grant.models.join(', ')})` };
  // System prompts: Anthropic's top-level `system` is a parameter like any other; OpenAI's are
  // messages with role system/developer, allowed only where `system` is (a grant narrowed without
  // "system" forbids both forms).
  if (endpoint === 'openai.chat' && grant.params && !grant.params.includes('system')) {
    const i = (body.messages as { role: string }[]).findIndex((m) => m.role === 'system' || m.role === 'developer');
    if (i >= 0) return { status: 403, code: 'parameter_forbidden', message: `messages[${i}] has role "${(body.messages as { role: string }[])[i]!.role}": system prompts are not among this grant's allowed parameters` };
  }
  // Every field that bounds output counts: an upstream may honour any of them, so the largest is
  // the worst case (reasoning tokens count inside max_completion_tokens and Anthropic's max_tokens).
  const bounds = OUTPUT_BOUNDS.filter((k) => typeof body[k] === 'number').map((k) => [k, body[k] as number] as const);
  const mt = bounds.length ? Math.max(...bounds.map(([, v]) => v)) : null;
  if (grant.maxTokensPerRequest !== null)
    for (const [k, v] of bounds) if (v > grant.maxTokensPerRequest) return { status: 403, code: 'parameter_forbidden', message: `${k} ${v} is above this grant's cap of ${grant.maxTokensPerRequest}` };
  return { model, stream: body.stream === true, params: Object.keys(body).sort(), maxTokens: mt };
}

/** Request fields that bound the output length (on any format the policy admits). */
export const OUTPUT_BOUNDS = ['max_tokens', 'max_completion_tokens'] as const;

export const isRefusal = (c: Checked | PolicyRefusal): c is PolicyRefusal => 'code' in c;

/** The levels, for docs and the CLI. */
export const LEVELS = ACCESS_LEVELS;
