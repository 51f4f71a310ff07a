import type { Grant } from './grant.js';

/**
 * Per-grant request rate and cumulative budget, both checked before the upstream is called.
 *
 * Rate: a token bucket of `burst` requests refilled at `perSecond`; an empty bucket answers 429
 * with Retry-After (whole seconds until a token is back, at least 1). Buckets live in memory: a
 * restart refills them, which can only let a burst through, never exceed the budget.
 *
 * Budget: tokens and USD used so far (persisted) plus what in-flight requests have reserved. A
 * request reserves its worst case — estimated prompt tokens (body bytes ÷ 4, which over-counts) plus
 * its max_tokens — and is refused when used + reserved + that would pass the budget. On completion
 * the reservation is replaced by the usage the upstream reported (or kept, when it reported none).
 * A request without max_tokens reserves only its prompt, so its output can overshoot the budget
 * once; grants that must be hard set maxTokensPerRequest, which makes max_tokens mandatory.
 */

export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }
  /** Takes one token, or returns the ms until one is available. */
  take(now: number): { ok: true } | { ok: false; retryAfterMs: number } {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil(((1 - this.tokens) / this.perSecond) * 1000) };
  }
}

export interface Usage {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface Price {
  input: number;
  output: number;
}

export const costOf = (inTok: number, outTok: number, price: Price | undefined): number => (price ? (inTok * price.input + outTok * price.output) / 1e6 : 0);

export interface Reservation {
  tokens: number;
  costUsd: number;
}

export class GrantMeter {
  private readonly bucket: TokenBucket;
  private reservedTokens = 0;
  private reservedCost = 0;
  constructor(
    private readonly grant: Grant,
    readonly used: Usage,
    now: number,
  ) {
    this.bucket = new TokenBucket(grant.rate.perSecond, grant.rate.burst, now);
  }

  rate(now: number) {
    return this.bucket.take(now);
  }

  /** Reserves the request's worst case, or says why the budget cannot cover it. */
  reserve(estimate: { promptTokens: number; maxTokens: number | null }, price: Price | undefined): { ok: true; reservation: Reservation } | { ok: false; message: string } {
    const tokens = estimate.promptTokens + (estimate.maxTokens ?? 0);
    const costUsd = costOf(estimate.promptTokens, estimate.maxTokens ?? 0, price);
    const b = this.grant.budget;
    const usedTokens = this.used.inputTokens + this.used.outputTokens;
    if (b.tokens !== null && usedTokens + this.reservedTokens + tokens > b.tokens)
      return { ok: false, message: `token budget: ${usedTokens} of ${b.tokens} tokens used${this.reservedTokens ? ` (+${this.reservedTokens} reserved by requests in flight)` : ''}, and this request may use up to ${tokens}; ask the developer for a larger grant` };
    if (b.costUsd !== null && this.used.costUsd + this.reservedCost + costUsd > b.costUsd + 1e-12)
      return { ok: false, message: `cost budget: $${this.used.costUsd.toFixed(6)} of $${b.costUsd} used${this.reservedCost ? ` (+$${this.reservedCost.toFixed(6)} reserved)` : ''}, and this request may cost up to $${costUsd.toFixed(6)}; ask the developer for a larger grant` };
    this.reservedTokens += tokens;
    this.reservedCost += costUsd;
    return { ok: true, reservation: { tokens, costUsd } };
  }

  /** Releases a reservation and charges what was actually used. */
  settle(r: Reservation, charged: { inputTokens: number; outputTokens: number; costUsd: number } | null): void {
    this.reservedTokens -= r.tokens;
    this.reservedCost -= r.costUsd;
    this.used.requests += 1;
    if (charged) {
      this.used.inputTokens += charged.inputTokens;
      this.used.outputTokens += charged.outputTokens;
      this.used.costUsd += charged.costUsd;
    }
  }
}
