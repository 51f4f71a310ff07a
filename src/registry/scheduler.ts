import type { Findings } from './findings.js';
import type { Obligations } from './obligations.js';
import type { Webhooks } from './webhooks.js';

/**
 * The server's deadline scheduler: on a timer (and at start-up), it pre-notifies and publishes
 * findings whose deadlines have come, flags overdue obligations, and sends due webhook
 * deliveries. Nothing depends on a page view. Each action re-reads its facts inside a serialised
 * write, so ticks that overlap (two servers, a restart mid-pass) still act once.
 */
export interface TickResult {
  findings: { id: string; actions: string[] }[];
  overdue: string[];
  deliveries: number;
}

export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<TickResult | null> = Promise.resolve(null);
  lastError: Error | null = null;
  constructor(
    private readonly parts: { findings: Findings; obligations: Obligations; webhooks: Webhooks },
    private readonly afterWrite: () => void,
  ) {}

  /** One pass (ticks are serialised in this process). */
  tick(): Promise<TickResult | null> {
    this.running = this.running.then(async () => {
      try {
        const findings = await this.parts.findings.runDue();
        const overdue = await this.parts.obligations.runDue();
        const deliveries = await this.parts.webhooks.deliverDue();
        if (findings.length || overdue.length) this.afterWrite();
        this.lastError = null;
        return { findings, overdue, deliveries };
      } catch (err) {
        // Logged by the caller's status; the next tick retries (nothing was half-applied: each action is one transaction).
        this.lastError = err as Error;
        return null;
      }
    });
    return this.running;
  }

  private queued = false;
  /** A tick soon, coalesced: many writes in a burst queue at most one extra pass. */
  kick(): void {
    if (this.queued) return;
    this.queued = true;
    void this.running.then(() => {
      this.queued = false;
      return this.tick();
    });
  }

  start(intervalMs: number): void {
    if (intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
