/** Exponential backoff with full jitter, capped; Retry-After from the provider is a floor. */
export interface BackoffPolicy {
  baseMs: number;
  maxDelayMs: number;
}

export function backoffDelay(attempt: number, policy: BackoffPolicy, retryAfterMs: number | null, rand: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseMs * 2 ** attempt);
  const jittered = rand() * ceiling;
  return retryAfterMs !== null && retryAfterMs > 0 ? Math.max(retryAfterMs, jittered) : jittered;
}

/** Waits `ms`, or less if the signal aborts (a stopping run must not sit out a long backoff). */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
