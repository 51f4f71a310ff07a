/**
 * Adaptive concurrency (AIMD). Starts at the configured maximum; a 429 halves the limit
 * (at most once per "generation": only a request dispatched after the last cut can cut
 * again, so one burst of in-flight 429s counts once) and pauses dispatch for Retry-After;
 * each success grows the limit by 1/limit, i.e. about +1 per round trip of successes.
 */
export interface LimitChange {
  from: number;
  to: number;
  reason: 'rate_limited' | 'recovered';
}

export class AdaptiveLimiter {
  readonly max: number;
  private limitF: number;
  private inFlight = 0;
  private generation = 0;
  private pausedUntil = 0;
  private waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(max: number, private readonly onChange: (c: LimitChange) => void = () => {}) {
    if (!(max >= 1)) throw new RangeError('max connections must be >= 1');
    this.max = Math.floor(max);
    this.limitF = this.max;
  }

  get limit(): number {
    return Math.max(1, Math.floor(this.limitF));
  }
  get active(): number {
    return this.inFlight;
  }

  /** Resolves when a slot is free and no pause is in force. Returns the generation token for `onRateLimited`. */
  async acquire(): Promise<number> {
    while (!this.aborted && (this.inFlight >= this.limit || Date.now() < this.pausedUntil)) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        this.armTimer();
      });
    }
    this.inFlight++;
    return this.generation;
  }

  private aborted = false;
  /** The run is stopping: every wait ends now (the callers see the abort and record nothing). */
  abortWaits(): void {
    this.aborted = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const w of this.waiters.splice(0)) w();
  }

  release(): void {
    this.inFlight--;
    this.wakeOne();
  }

  onSuccess(): void {
    const before = this.limit;
    this.limitF = Math.min(this.max, this.limitF + 1 / this.limit);
    if (this.limit !== before) {
      this.onChange({ from: before, to: this.limit, reason: 'recovered' });
      this.wakeOne();
    }
  }

  /** A 429 on a request dispatched at generation `gen`. */
  onRateLimited(gen: number, retryAfterMs: number | null): void {
    if (retryAfterMs && retryAfterMs > 0) this.pausedUntil = Math.max(this.pausedUntil, Date.now() + retryAfterMs);
    if (gen === this.generation) {
      const before = this.limit;
      this.limitF = Math.max(1, Math.floor(this.limitF / 2));
      this.generation++;
      if (this.limit !== before) this.onChange({ from: before, to: this.limit, reason: 'rate_limited' });
    }
    this.armTimer();
  }

  private wakeOne(): void {
    if (Date.now() < this.pausedUntil) return this.armTimer();
    let free = this.limit - this.inFlight;
    while (free-- > 0 && this.waiters.length) this.waiters.shift()!();
  }

  private armTimer(): void {
    const wait = this.pausedUntil - Date.now();
    if (wait <= 0 || this.timer || this.aborted) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.wakeOne();
    }, wait);
  }
}
