import { sql, type Transaction } from 'kysely';
import type { RegistryStore } from './db.js';
import type { RegistryDB } from './schema.js';

type Job = { fn: (trx: Transaction<RegistryDB>) => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void };

/**
 * Group commit for registry writes. Writes queue up; one at a time, a batch of them runs in a
 * single transaction, each inside its own savepoint, and the batch commits once. A write that
 * throws is rolled back to its savepoint alone; every caller hears back only after the commit
 * (or the batch's failure), so nothing is reported done before it is durable. Writers stay
 * serialised (and on PostgreSQL hold the registry's advisory lock), so the event chain never forks.
 */
export class GroupCommit {
  private queue: Job[] = [];
  private flushing = false;
  constructor(
    private readonly store: RegistryStore,
    private readonly maxBatch = 64,
  ) {}

  run<T>(fn: (trx: Transaction<RegistryDB>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length) await this.batch(this.queue.splice(0, this.maxBatch));
    } finally {
      this.flushing = false;
    }
  }

  private async batch(jobs: Job[]): Promise<void> {
    const done: { job: Job; ok: boolean; value: unknown }[] = [];
    let trx;
    try {
      trx = await this.store.db.startTransaction().execute();
      if (this.store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(730519)`.execute(trx);
      for (const job of jobs) {
        const sp = await trx.savepoint('w').execute();
        try {
          const value = await job.fn(sp);
          await sp.releaseSavepoint('w').execute();
          done.push({ job, ok: true, value });
        } catch (err) {
          await sp.rollbackToSavepoint('w').execute();
          done.push({ job, ok: false, value: err });
        }
      }
      await trx.commit().execute();
    } catch (err) {
      // The batch did not commit: nothing in it happened, for any caller.
      if (trx) await trx.rollback().execute().catch(() => {});
      for (const job of jobs) job.reject(err);
      return;
    }
    for (const d of done) (d.ok ? d.job.resolve : d.job.reject)(d.value);
  }
}
