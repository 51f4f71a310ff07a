import { AssayError } from '../common/errors.js';
import { GENESIS, recordHash, recordText, type AccessRecord } from './commit.js';
import type { Usage } from './limits.js';
import { committerFor, type Committer } from './committer.js';
import type { GatewayStore, Rejection } from './store.js';
import { AppendTree, hex } from './tree.js';

/**
 * The running gateway's access log: the hash chain and Merkle tree in memory, the store on disk,
 * and the rule that joins them — **an exchange's record is durable before its answer is released**.
 *
 * `append` chains a record and returns a promise that settles when the record's transaction has
 * committed (SQLite WAL, synchronous=FULL: fsynced), in a worker thread (committer.ts) so the
 * fsync does not stall the event loop. One batch is in flight at a time; records that complete
 * while it commits share the next one (group commit: one transaction and one fsync per batch; a
 * lone request waits for its own fsync and nothing else). The server awaits it before sending the
 * last byte of an answer; if it rejects, the answer is withheld.
 *
 * A failed commit is fatal: the batch's records are not on disk but are already in the in-memory
 * chain, so continuing would fork the log. `failed` is set, every waiter and every later append
 * is rejected, and the server answers 503 until it is restarted (on restart the chain resumes from
 * the last committed record).
 */
export class AccessLog {
  private seq: number;
  private prev: string;
  readonly tree = new AppendTree();
  /** Sequence numbers of each grant's records (for per-tester proofs). */
  private readonly byGrant = new Map<string, number[]>();
  private pending: { seq: number; hash: string; text: string }[] = [];
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly dirtyUsage = new Map<string, Usage>();
  private rejections: Rejection[] = [];
  private scheduled = false;
  private inflight: Promise<void> | null = null;
  private readonly committer: Committer;
  failed: Error | null = null;
  private readonly onFail: ((err: Error) => void) | undefined;

  private constructor(
    private readonly store: GatewayStore,
    start: { seq: number; prev: string },
    onFail?: (err: Error) => void,
  ) {
    this.seq = start.seq;
    this.prev = start.prev;
    this.onFail = onFail;
    this.committer = committerFor(store);
  }

  /** Loads the chain's end and rebuilds the Merkle tree from the stored records. */
  static load(store: GatewayStore, onFail?: (err: Error) => void): AccessLog {
    let seq = 0;
    let prev = GENESIS;
    const log = new AccessLog(store, { seq, prev }, onFail);
    for (const r of store.iterateRecords()) {
      if (r.seq !== seq) throw new AssayError('LOG_TAMPERED', `the access log skips from record ${seq - 1} to ${r.seq}`, { file: store.file });
      log.tree.append(r.text);
      const grant = /"grant":"([^"]*)"/.exec(r.text)?.[1];
      if (grant) log.index(grant, r.seq);
      prev = r.hash;
      seq++;
    }
    log.seq = seq;
    log.prev = prev;
    return log;
  }

  private index(grant: string, seq: number): void {
    let l = this.byGrant.get(grant);
    if (!l) this.byGrant.set(grant, (l = []));
    l.push(seq);
  }

  /** Size, chain head and Merkle root of everything appended (committed or about to be). */
  head(): { size: number; head: string; root: string } {
    return { size: this.seq, head: this.prev, root: hex(this.tree.root()) };
  }

  /** Records appended but not yet committed. */
  get uncommitted(): number {
    return this.pending.length;
  }

  /** Chains a record; resolves once it is durable, rejects if it cannot be made so. */
  append(r: Omit<AccessRecord, 'schema' | 'seq' | 'prev'>, usage?: [jti: string, used: Usage]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    const rec: AccessRecord = { schema: 'assay.gateway-record/v1', seq: this.seq, prev: this.prev, ...r };
    const hash = recordHash(rec);
    const text = recordText(rec);
    this.pending.push({ seq: this.seq, hash, text });
    this.tree.append(text);
    this.index(rec.grant, rec.seq);
    this.seq++;
    this.prev = hash;
    if (usage) this.dirtyUsage.set(usage[0], usage[1]);
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.schedule();
    return p;
  }

  /** Queues a rejection row (not chained; committed with the next batch). */
  reject(r: Rejection): void {
    if (this.failed) return;
    this.rejections.push(r);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.inflight) return;
    this.scheduled = true;
    setImmediate(() => this.commitNext());
  }

  private get hasPending(): boolean {
    return this.pending.length > 0 || this.dirtyUsage.size > 0 || this.rejections.length > 0;
  }

  /** Sends everything pending as one batch; when it has committed, releases its waiters and sends the next. */
  private commitNext(): void {
    this.scheduled = false;
    if (this.failed || this.inflight || !this.hasPending) return;
    const waiters = this.waiters;
    const batch = { records: this.pending, usage: [...this.dirtyUsage].map(([k, u]) => [k, { ...u }] as [string, Usage]), rejections: this.rejections };
    this.pending = [];
    this.waiters = [];
    this.rejections = [];
    this.dirtyUsage.clear();
    this.inflight = this.committer.commit(batch).then(
      () => {
        this.inflight = null;
        for (const w of waiters) w.resolve();
        if (this.hasPending) this.schedule();
      },
      (err: Error) => {
        this.inflight = null;
        this.failed = new AssayError('LOG_UNAVAILABLE', `the access log could not be written (${err.message}); the gateway stops serving until it is restarted`, { file: this.store.file });
        for (const w of [...waiters, ...this.waiters]) w.reject(this.failed);
        this.waiters = [];
        this.onFail?.(this.failed);
      },
    );
  }

  /** Waits for everything appended so far to be committed. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.failed) throw this.failed;
      if (this.inflight) {
        await this.inflight;
        continue;
      }
      if (!this.hasPending) return;
      const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
      this.commitNext();
      await p;
    }
  }

  /** Flushes and stops the commit worker. */
  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    await this.committer.close();
  }

  /** A grant's record sequence numbers below `size`. */
  recordsOf(grant: string, size: number): number[] {
    return (this.byGrant.get(grant) ?? []).filter((s) => s < size);
  }
}
