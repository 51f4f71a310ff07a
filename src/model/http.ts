import { Agent, request, errors as undiciErrors } from 'undici';
import { ModelCallError } from './types.js';

/** One capped keep-alive pool per adapter: `connections` bounds the sockets to the provider. */
export function createPool(connections: number): Agent {
  return new Agent({ connections, pipelining: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
}

export function parseRetryAfter(v: string | string[] | undefined, now = Date.now()): number | null {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return null;
  if (/^\s*\d+(\.\d+)?\s*$/.test(s)) return Math.round(Number(s) * 1000);
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : Math.max(0, t - now);
}

/** Remove secrets from text before it goes into an error message or a log. */
export function redact(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[REDACTED]');
  return out;
}

export interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** The body text exactly as received. */
  text: string;
}

/**
 * POST a JSON body and parse the JSON answer. Every failure becomes a classified ModelCallError:
 * 429 → rate_limit, 5xx → server, timeouts → timeout, socket errors → connection,
 * other 4xx → client (not retried), a 2xx that is not JSON → malformed.
 */
export async function postJson(
  pool: Agent,
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: { timeoutMs?: number; signal?: AbortSignal; secrets: Array<string | undefined> },
): Promise<JsonResponse> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  // undici's own header/body timers: no AbortSignal per request (they are costly at thousands/s).
  let res;
  try {
    res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, dispatcher: pool, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) });
  } catch (e) {
    throw classifyThrown(e, timeoutMs, opts.secrets);
  }
  let text: string;
  try {
    text = await res.body.text();
  } catch (e) {
    throw classifyThrown(e, timeoutMs, opts.secrets);
  }
  const { statusCode: status } = res;
  if (status === 429) throw new ModelCallError('rate_limit', `429 rate limited${snippet(text, opts.secrets)}`, { status, retryAfterMs: parseRetryAfter(res.headers['retry-after']) });
  if (status >= 500) throw new ModelCallError('server', `${status} server error${snippet(text, opts.secrets)}`, { status, retryAfterMs: parseRetryAfter(res.headers['retry-after']) });
  if (status === 408) throw new ModelCallError('timeout', `408 request timeout${snippet(text, opts.secrets)}`, { status });
  if (status >= 400) throw new ModelCallError('client', `${status} rejected by the provider${snippet(text, opts.secrets)}`, { status });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ModelCallError('malformed', `${status} response body is not valid JSON${snippet(text, opts.secrets)}`, { status });
  }
  return { status, headers: res.headers, body: parsed, text };
}

function snippet(text: string, secrets: Array<string | undefined>): string {
  const t = redact(text, secrets).replace(/\s+/g, ' ').trim();
  return t ? `: ${t.length > 300 ? t.slice(0, 300) + '…' : t}` : '';
}

function classifyThrown(e: unknown, timeoutMs: number, secrets: Array<string | undefined>): ModelCallError {
  if (e instanceof ModelCallError) return e;
  const err = e as Error & { code?: string };
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err.name === 'TimeoutError')
    return new ModelCallError('timeout', `no answer within ${timeoutMs} ms`);
  if (err.name === 'AbortError' || err instanceof undiciErrors.RequestAbortedError) return new ModelCallError('connection', 'request aborted');
  return new ModelCallError('connection', redact(`${err.code ?? err.name}: ${err.message}`, secrets));
}

export const headerValue = (h: Record<string, string | string[] | undefined>, name: string): string | null => {
  const v = h[name];
  return (Array.isArray(v) ? v[0] : v) ?? null;
};
