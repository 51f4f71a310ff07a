import type { Grant } from './grant.js';

/**
 * Per-grant request rate and cumulative budget, both checked before the upstream is called.
 *
 * Rate: a token bucket of `burst` requests refilled at `perSecond`; an empty bucket answers 429
 * with Retry-After (whole seconds until a token is back, at least 1). Buckets live in memory: a
 * restart refills them, which can only let a burst through, never exceed the budget.
 *
 * Budget: tokens and USD used so far (persisted) plus what in-flight requests have reserved. A
 * request reserves its worst case — its prompt bound (the body's UTF-8 bytes: no tokenizer makes
 * more tokens than bytes) plus its output bound — and is refused when used + reserved + that would
 * pass the budget. On completion the reservation is replaced by what was charged (accounting.ts).
 * A request without an output bound on a grant with a budget gets one (`fill`): the grant's
 * per-request cap, else everything the budget has left; the server injects it upstream. So every
 * request in flight holds a reservation covering its worst case, and concurrency cannot push a
 * budget past its limit unless an upstream ignores the bound it was sent.
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
  private bucket: TokenBucket;
  /** Rate-limit refusals are chained at most 10 a second (burst 100) per grant; the rest are counted. */
  private readonly refusals: TokenBucket;
  private reservedTokens = 0;
  private reservedCost = 0;
  constructor(
    private grant: Grant,
    readonly used: Usage,
    now: number,
  ) {
    this.bucket = new TokenBucket(grant.rate.perSecond, grant.rate.burst, now);
    this.refusals = new TokenBucket(10, 100, now);
  }

  /**
   * A re-issued grant (extend, narrow) takes effect on this meter, keeping the reservations of
   * requests still in flight under the old token: a fresh meter would not see them, and new
   * requests could reserve the same budget again.
   */
  regrant(grant: Grant, now: number): void {
    if (grant.rate.perSecond !== this.grant.rate.perSecond || grant.rate.burst !== this.grant.rate.burst) this.bucket = new TokenBucket(grant.rate.perSecond, grant.rate.burst, now);
    this.grant = grant;
  }

  /** Whether a rate-limit refusal may become a record now. */
  refusalRecord(now: number): boolean {
    return this.refusals.take(now).ok;
  }

  rate(now: number) {
    return this.bucket.take(now);
  }

  get hasBudget(): boolean {
    return this.grant.budget.tokens !== null || this.grant.budget.costUsd !== null;
  }

  /**
   * Reserves the request's worst case, or says why the budget cannot cover it. With `fill` and no
   * `maxTokens`, the output bound is what the budget has left after the prompt (returned as
   * `outputTokens`, for the server to send upstream as the request's bound).
   */
  reserve(estimate: { promptTokens: number; maxTokens: number | null; fill?: boolean }, price: Price | undefined): { ok: true; reservation: Reservation; outputTokens: number | null } | { ok: false; message: string } {
    const b = this.grant.budget;
    const usedTokens = this.used.inputTokens + this.used.outputTokens;
    let out = estimate.maxTokens;
    if (out === null && estimate.fill && this.hasBudget) {
      let room = Number.POSITIVE_INFINITY;
      if (b.tokens !== null) room = Math.min(room, b.tokens - usedTokens - this.reservedTokens - estimate.promptTokens);
      if (b.costUsd !== null && price && price.output > 0) room = Math.min(room, ((b.costUsd - this.used.costUsd - this.reservedCost - costOf(estimate.promptTokens, 0, price)) * 1e6) / price.output);
      room = Math.floor(room);
      if (!(room >= 1))
        return { ok: false, message: `budget: ${usedTokens}${b.tokens !== null ? ` of ${b.tokens}` : ''} tokens and $${this.used.costUsd.toFixed(6)}${b.costUsd !== null ? ` of $${b.costUsd}` : ''} used${this.reservedTokens ? ` (+${this.reservedTokens} tokens reserved by requests in flight)` : ''}: nothing left for this request's output; ask the developer for a larger grant` };
      out = Number.isFinite(room) ? room : null;
    }
    const tokens = estimate.promptTokens + (out ?? 0);
    const costUsd = costOf(estimate.promptTokens, out ?? 0, price);
    if (b.tokens !== null && usedTokens + this.reservedTokens + tokens > b.tokens)
      return { ok: false, message: `token budget: ${usedTokens} of ${b.tokens} tokens used${this.reservedTokens ? ` (+${this.reservedTokens} reserved by requests in flight)` : ''}, and this request may use up to ${tokens}; ask the developer for a larger grant` };
    if (b.costUsd !== null && this.used.costUsd + this.reservedCost + costUsd > b.costUsd + 1e-12)
      return { ok: false, message: `cost budget: $${this.used.costUsd.toFixed(6)} of $${b.costUsd} used${this.reservedCost ? ` (+$${this.reservedCost.toFixed(6)} reserved)` : ''}, and this request may cost up to $${costUsd.toFixed(6)}; ask the developer for a larger grant` };
    this.reservedTokens += tokens;
    this.reservedCost += costUsd;
    return { ok: true, reservation: { tokens, costUsd }, outputTokens: out };
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
