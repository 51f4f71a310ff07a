import { AssayError } from '../common/errors.js';

/**
 * Every HTTP request the transparency-log code makes (tiles and checkpoints, witness
 * add-checkpoint, entry submission) goes through `fetchBounded`: one deadline for the whole
 * exchange — connect, headers and body — and a byte cap on the body counted while it streams in
 * (after any Content-Encoding is undone, so a gzip bomb is cut off too). A server that never
 * answers, trickles, or sends without end therefore costs a verifier at most `timeoutMs` and
 * `maxBytes` per request, never an unbounded wait or unbounded memory.
 */

/** Default deadline per request: 30 s, or `ASSAY_LOG_TIMEOUT_MS` (milliseconds) when set. */
export function defaultTimeoutMs(): number {
  const v = Number(process.env.ASSAY_LOG_TIMEOUT_MS);
  return Number.isFinite(v) && v > 0 ? v : 30_000;
}

export interface BoundedResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

export interface BoundedOptions {
  /** Largest body accepted (bytes, decoded). */
  maxBytes: number;
  /** Deadline for the whole request (ms); default `defaultTimeoutMs()`. */
  timeoutMs?: number;
  /** AssayError code for failures (unreachable, timeout, too large). */
  code: string;
  /** Named in messages (e.g. the log's base URL). */
  target: string;
}

export async function fetchBounded(url: URL | string, init: RequestInit, o: BoundedOptions): Promise<BoundedResponse> {
  const timeoutMs = o.timeoutMs ?? defaultTimeoutMs();
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  const where = { file: o.target };
  const what = typeof url === 'string' ? url : url.pathname;
  const fail = (err: unknown): never => {
    if (err instanceof AssayError) throw err;
    if (ctl.signal.aborted) throw new AssayError(o.code, `${what}: no complete answer within ${timeoutMs} ms; gave up`, where);
    throw new AssayError(o.code, `${what}: ${(err as Error).message}`, where);
  };
  try {
    let res: Response;
    try {
      res = await fetch(url, { ...init, redirect: 'error', signal: ctl.signal });
    } catch (err) {
      return fail(err);
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    const tooLarge = () => new AssayError(o.code, `${what}: answer is larger than ${o.maxBytes} bytes; refused`, where);
    if (Number.isFinite(declared) && declared > o.maxBytes && !res.headers.get('content-encoding')) {
      ctl.abort();
      throw tooLarge();
    }
    const chunks: Uint8Array[] = [];
    let n = 0;
    if (res.body) {
      const reader = res.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          n += value.length;
          if (n > o.maxBytes) {
            ctl.abort();
            throw tooLarge();
          }
          chunks.push(value);
        }
      } catch (err) {
        return fail(err);
      } finally {
        reader.releaseLock();
      }
    }
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: Buffer.concat(chunks, n) };
  } finally {
    clearTimeout(timer);
  }
}
