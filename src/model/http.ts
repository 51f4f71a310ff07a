import { Agent, errors as undiciErrors } from './undici.js';
import type { Dispatcher } from 'undici';
import { ModelCallError, type GenerateResult } from './types.js';

/**
 * One capped keep-alive pool per adapter: `connections` bounds the sockets to the provider, so the
 * run's --max-connections is a hard ceiling on concurrent calls. Pipelining 1: a slow answer must
 * never hold up the requests queued behind it on the same socket.
 */
export function createPool(connections: number): Agent {
  if (!Number.isInteger(connections) || connections < 1) throw new RangeError(`maxConnections must be a positive integer, got ${connections}`);
  return new Agent({ connections, pipelining: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
}

/** Retry-After as milliseconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3); null when absent or unreadable. */
export function parseRetryAfter(v: string | string[] | undefined, now = Date.now()): number | null {
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  if (!s) return null;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : Math.max(0, t - now);
}

/** Remove secrets from text before it goes into an error message or a log. */
export function redact(text: string, secrets: ReadonlyArray<string | undefined | null>): string {
  let out = text;
  // Very short "secrets" would shred ordinary text; real keys are long.
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

export interface PostOptions {
  /** Whole-call deadline (ms): the complete answer must arrive within it, however it trickles. Default 120 s. */
  timeoutMs?: number;
  /** External cancellation (e.g. the run being interrupted). */
  signal?: AbortSignal;
  /** Strings that must never appear in an error message (the API key). */
  secrets: ReadonlyArray<string | undefined | null>;
  /** Largest response body accepted (bytes). Default DEFAULT_MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[]>;
  text: string;
}

// Origin and path of each endpoint, parsed once (an adapter posts to one or two URLs).
const targets = new Map<string, { origin: string; path: string }>();
function target(url: string): { origin: string; path: string } {
  let t = targets.get(url);
  if (!t) {
    const u = new URL(url);
    t = { origin: u.origin, path: `${u.pathname}${u.search}` };
    if (targets.size > 256) targets.clear();
    targets.set(url, t);
  }
  return t;
}

/**
 * One POST through undici's dispatcher interface, collecting the body as bytes. This is undici's
 * own low-level API; `request()` adds a stream and an async resource per call that a buffered
 * JSON answer does not need (~40 µs of CPU per request at 256 connections, docs/benchmarks.md).
 * The deadline is one plain timer per call in the handler (no AbortSignal per call, which is
 * measurable at thousands of calls per second); undici's header/body timers stay as a backstop.
 */
export function exchange(pool: Dispatcher, url: string, headers: Record<string, string>, body: string, timeoutMs: number, signal?: AbortSignal, maxBytes = DEFAULT_MAX_RESPONSE_BYTES): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    const { origin, path } = target(url);
    pool.dispatch(
      { origin, path, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
      new Collector(resolve, reject, signal, timeoutMs, maxBytes),
    );
  });
}

/** Largest response body read (bytes); a larger one is cut off and the call fails (not retried). */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** The whole-call deadline passed: the answer did not arrive in full within timeoutMs. */
export class CallDeadlineError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no complete answer within ${timeoutMs} ms`);
    this.name = 'CallDeadlineError';
  }
}

/** Legacy-style dispatch handler (the form undici runs natively): status, headers, body bytes. */
class Collector implements Dispatcher.DispatchHandler {
  private status = 0;
  private headers: Record<string, string | string[]> = {};
  private chunks: Buffer[] = [];
  private settled = false;
  private onAbort: (() => void) | null = null;
  private abortFn: ((err?: Error) => void) | null = null;
  private deadline: NodeJS.Timeout | null = null;
  private size = 0;
  constructor(
    private readonly resolve: (r: RawResponse) => void,
    private readonly reject: (e: Error) => void,
    private readonly signal: AbortSignal | undefined,
    timeoutMs: number,
    private readonly maxBytes: number,
  ) {
    // The whole-call deadline: undici's header and body timers restart on every byte, so a body
    // trickled one byte at a time would never time out. One timer per call bounds the whole exchange.
    this.deadline = setTimeout(() => this.fail(new CallDeadlineError(timeoutMs)), timeoutMs);
  }

  /** Ends the exchange with `err` and cuts the connection (at once, or as soon as it exists). */
  private fail(err: Error): void {
    if (this.settle()) return;
    this.reject(err);
    this.abortFn?.(err);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.settled) return abort(new undiciErrors.RequestAbortedError());
    this.abortFn = abort;
    const signal = this.signal;
    if (!signal) return;
    const stop = () => abort(signal.reason instanceof Error ? signal.reason : new undiciErrors.RequestAbortedError());
    if (signal.aborted) return stop();
    this.onAbort = stop;
    signal.addEventListener('abort', stop, { once: true });
  }

  onHeaders(statusCode: number, raw: Buffer[]): boolean {
    if (statusCode < 200) return true; // informational: the real answer follows
    this.status = statusCode;
    const h: Record<string, string | string[]> = {};
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const k = raw[i]!.toString('latin1').toLowerCase();
      const v = raw[i + 1]!.toString('utf8');
      const prev = h[k];
      h[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    this.headers = h;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.settled) return false;
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      this.fail(new ModelCallError('client', `response body larger than ${this.maxBytes} bytes: cut off (raise --max-response-mb to accept it)`, { status: this.status }));
      return false;
    }
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.settle()) return;
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    // Like undici's body.text(): a UTF-8 byte-order mark is not part of the text.
    const start = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
    this.resolve({ status: this.status, headers: this.headers, text: buf.toString('utf8', start) });
  }

  onError(err: Error): void {
    if (!this.settle()) this.reject(err);
  }

  /** Marks the exchange finished; true if it already was. */
  private settle(): boolean {
    if (this.settled) return true;
    this.settled = true;
    if (this.deadline) clearTimeout(this.deadline);
    if (this.onAbort) this.signal!.removeEventListener('abort', this.onAbort);
    return false;
  }
}

/**
 * POST a JSON body and parse the JSON answer. Every failure becomes a classified ModelCallError:
 * 429 → rate_limit, 5xx (incl. 529) → server, 408 and timeouts → timeout, socket errors → connection,
 * other 3xx/4xx → client (not retried), a 2xx that is not JSON → malformed.
 */
export async function postJson(pool: Agent, url: string, headers: Record<string, string>, body: string, opts: PostOptions): Promise<JsonResponse> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  let res: RawResponse;
  try {
    res = await exchange(pool, url, headers, body, timeoutMs, opts.signal, opts.maxResponseBytes);
  } catch (e) {
    throw classifyThrown(e, timeoutMs, opts.secrets);
  }
  const text = res.text;
  const status = res.status;
  const why = () => providerMessage(text, opts.secrets);
  if (status === 429) throw new ModelCallError('rate_limit', `429 rate limited${why()}`, { status, retryAfterMs: parseRetryAfter(res.headers['retry-after']) });
  if (status >= 500) throw new ModelCallError('server', `${status} server error${why()}`, { status, retryAfterMs: parseRetryAfter(res.headers['retry-after']) });
  if (status === 408) throw new ModelCallError('timeout', `408 request timeout${why()}`, { status });
  if (status >= 300) throw new ModelCallError('client', `${status} rejected by the provider${why()}`, { status });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ModelCallError('malformed', `${status} response body is not valid JSON${snippet(text, opts.secrets)}`, { status });
  }
  return { status, headers: res.headers, body: parsed, text };
}

const MAX_MESSAGE = 300;

function snippet(text: string, secrets: PostOptions['secrets']): string {
  const t = redact(text, secrets).replace(/\s+/g, ' ').trim();
  return t ? `: ${t.length > MAX_MESSAGE ? t.slice(0, MAX_MESSAGE) + '…' : t}` : '';
}

/** The provider's own explanation, when the error body has one ({error: {message}} in both APIs), else the body text. */
function providerMessage(text: string, secrets: PostOptions['secrets']): string {
  try {
    const j = JSON.parse(text) as { error?: unknown; message?: unknown };
    const e = j?.error;
    const m = typeof e === 'string' ? e : e && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string' ? (e as { message: string }).message : typeof j?.message === 'string' ? j.message : null;
    if (m) return snippet(m, secrets);
  } catch {
    // not JSON: fall through to the raw text
  }
  return snippet(text, secrets);
}

function classifyThrown(e: unknown, timeoutMs: number, secrets: PostOptions['secrets']): ModelCallError {
  if (e instanceof ModelCallError) return e;
  const err = (e instanceof Error ? e : new Error(String(e))) as Error & { code?: string; cause?: unknown };
  if (err instanceof CallDeadlineError || err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err instanceof undiciErrors.ConnectTimeoutError || err.name === 'TimeoutError')
    return new ModelCallError('timeout', `no answer within ${timeoutMs} ms`);
  if (err.name === 'AbortError' || err instanceof undiciErrors.RequestAbortedError) return new ModelCallError('connection', 'request aborted');
  // ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET, DNS failures, …: the provider was not reachable or hung up.
  const cause = err.cause instanceof Error ? ` (${(err.cause as Error & { code?: string }).code ?? err.cause.message})` : '';
  return new ModelCallError('connection', redact(`${err.code ?? err.name}: ${err.message}${cause}`, secrets));
}

export const headerValue = (h: Record<string, string | string[] | undefined>, name: string): string | null => {
  const v = h[name];
  return (Array.isArray(v) ? v[0] : v) ?? null;
};

/** A usage count from a provider body: a non-negative finite number, else 0 (budgets must never see NaN). */
export const tokenCount = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);

/** What every adapter's result records about the exchange itself, whatever the wire format. */
export type ExchangeRecord = Pick<GenerateResult, 'sent' | 'raw' | 'wireText' | 'simulated' | 'modelRelease'>;

/**
 * POST a request body as JSON (postJson) and keep the record of the exchange: the request and
 * answer exactly as sent and received, and the stamps an Assay simulated target or gateway puts on
 * its answers.
 */
export async function postRequest(pool: Agent, url: string, headers: Record<string, string>, body: Record<string, unknown>, opts: PostOptions): Promise<{ res: JsonResponse; record: ExchangeRecord }> {
  const sentText = JSON.stringify(body);
  const res = await postJson(pool, url, headers, sentText, opts);
  const release = headerValue(res.headers, 'x-assay-model-release');
  const record: ExchangeRecord = {
    sent: { url, body },
    raw: res.body,
    wireText: { request: sentText, response: res.text },
    ...(headerValue(res.headers, 'x-assay-simulated') === 'true' ? { simulated: true as const } : {}),
    ...(release ? { modelRelease: release } : {}),
  };
  return { res, record };
}
