import type { Transaction } from 'kysely';
import type { RegistryStore } from './db.js';
import type { RegistryDB } from './schema.js';
import { eventEntry } from './events.js';

/**
 * The transparency-log outbox. Events are committed with `tlog_index` null; the drain appends
 * their entries to the registry's log in sequence order and records each index. A crash between
 * the append and the update is harmless: log appends are idempotent by leaf hash, so the next
 * drain (at start-up or after the next write) gets the same indices back. One process drains a
 * registry's log at a time (the log's writer lock).
 */
export interface EventSink {
  /** Appends entries in order; returns each one's index (the existing index for one already logged). */
  append(entries: Uint8Array[]): Promise<number[]> | number[];
}

/** Runs a function in a write transaction (the registry's group commit, so index updates share commits with writes). */
export type Writer = <T>(fn: (trx: Transaction<RegistryDB>) => Promise<T>) => Promise<T>;

export async function drainOutbox(store: RegistryStore, sink: EventSink, batch = 500, write: Writer = (fn) => store.db.transaction().execute(fn)): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await store.db.selectFrom('events').select(['seq', 'kind', 'digest']).where('tlog_index', 'is', null).orderBy('seq').limit(batch).execute();
    if (!rows.length) return total;
    const indices = await sink.append(rows.map((r) => eventEntry(r.digest, r.kind, Number(r.seq))));
    await write(async (trx) => {
      for (let i = 0; i < rows.length; i++) await trx.updateTable('events').set({ tlog_index: indices[i]! }).where('seq', '=', rows[i]!.seq).execute();
    });
    total += rows.length;
  }
}

/** Runs drains one at a time; `kick()` after every write, `idle()` waits for the current one. */
export class OutboxDrainer {
  private running: Promise<void> = Promise.resolve();
  private pending = false;
  lastError: Error | null = null;
  constructor(
    private readonly store: RegistryStore,
    private readonly sink: EventSink,
    private readonly write?: Writer,
  ) {}

  kick(): void {
    if (this.pending) return;
    this.pending = true;
    this.running = this.running.then(async () => {
      this.pending = false;
      try {
        await drainOutbox(this.store, this.sink, 500, this.write);
        this.lastError = null;
      } catch (err) {
        // Left undrained: the next kick (or start-up) retries; audit reports what is missing.
        this.lastError = err as Error;
      }
    });
  }

  idle(): Promise<void> {
    return this.running;
  }
}
