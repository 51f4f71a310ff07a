import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { AssayError } from './errors.js';

/**
 * An exclusive lock on a path, held by the kernel on behalf of this process: an open SQLite
 * connection inside `BEGIN EXCLUSIVE` on `<path>` (SQLite takes POSIX fcntl locks on the file).
 * The kernel drops fcntl locks when the holder's process dies, however it dies, so no staleness
 * rule exists and a live holder can never lose its lock to another process.
 *
 * fcntl locks are per process, so within one process the holders are serialised first by an
 * in-process queue keyed on the resolved path; only the head of that queue touches SQLite.
 *
 * Acquisition never blocks the event loop: each try uses a zero busy-timeout and waits are timers,
 * backing off from 2 ms to 50 ms, until `timeoutMs` (default 30 s; 0 = try once) runs out.
 *
 * One mechanism for every file state Assay guards: transparency logs, witness state, run logs,
 * the gateway's store.
 */

export interface LockOptions {
  /** How long to wait for another holder (ms). 0: try once. Default 30,000. */
  timeoutMs?: number;
  /** Named in the LOCKED error, e.g. "transparency log /x/log". */
  what?: string;
  /** Aborts a wait (Ctrl-C). */
  signal?: AbortSignal;
}

export interface Lock {
  readonly path: string;
  /** Releases the lock. Idempotent. */
  release(): void;
}

/** In-process state per path: whether a holder (or a taker) is active, and who waits next. */
interface Turns {
  busy: boolean;
  waiters: (() => void)[];
}
const turns = new Map<string, Turns>();

/** Hands the in-process turn to the next waiter, or frees it. */
function passTurn(key: string, t: Turns): void {
  const next = t.waiters.shift();
  if (next) next();
  else {
    t.busy = false;
    turns.delete(key);
  }
}

/** Try once to take the OS-level lock; returns the holding connection or null when busy. */
function tryOsLock(path: string): Database.Database | null {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { timeout: 0 });
  try {
    // Rollback-journal mode: EXCLUSIVE takes the file's exclusive lock at BEGIN (WAL would not).
    db.pragma('journal_mode = DELETE');
    db.exec('BEGIN EXCLUSIVE');
    return db;
  } catch (err) {
    db.close();
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return null;
    throw new AssayError('LOCK_FAILED', `cannot use lock file ${path}: ${(err as Error).message}`, { file: path });
  }
}

/** Takes the exclusive lock on `path` (a file of its own, e.g. `<dir>/.lock.db`), waiting up to `timeoutMs`. */
export async function acquireLock(path: string, opts: LockOptions = {}): Promise<Lock> {
  const key = resolve(path);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const what = opts.what ?? key;
  const timedOut = () => new AssayError('LOCKED', `${what} is locked by another writer; gave up after ${timeoutMs} ms`, { file: key });

  // In-process turn first: fcntl locks cannot tell two holders in one process apart.
  let t = turns.get(key);
  if (!t) turns.set(key, (t = { busy: false, waiters: [] }));
  if (t.busy) {
    if (timeoutMs === 0) throw timedOut();
    const turns_ = t;
    await new Promise<void>((res, rej) => {
      const wake = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        res();
      };
      const giveUp = (err: unknown) => {
        const i = turns_.waiters.indexOf(wake);
        if (i >= 0) turns_.waiters.splice(i, 1);
        opts.signal?.removeEventListener('abort', onAbort);
        rej(err);
      };
      const timer = setTimeout(() => giveUp(timedOut()), Math.max(0, deadline - Date.now()));
      const onAbort = () => {
        clearTimeout(timer);
        giveUp(opts.signal!.reason ?? new Error('aborted'));
      };
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      turns_.waiters.push(wake);
    });
  }
  t.busy = true;

  try {
    let wait = 2;
    for (;;) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      const db = tryOsLock(key);
      if (db) {
        let released = false;
        const turnsHeld = t;
        return {
          path: key,
          release() {
            if (released) return;
            released = true;
            try {
              db.exec('ROLLBACK');
            } catch {
              /* closing the connection releases the lock either way */
            }
            db.close();
            passTurn(key, turnsHeld);
          },
        };
      }
      const left = deadline - Date.now();
      if (timeoutMs === 0 || left <= 0) throw timedOut();
      await sleep(Math.min(wait, left), undefined, { signal: opts.signal });
      wait = Math.min(wait * 2, 50);
    }
  } catch (err) {
    passTurn(key, t);
    throw err;
  }
}

/** Runs `fn` under the lock and releases it afterwards, whatever happens. */
export async function withLock<T>(path: string, fn: () => T | Promise<T>, opts: LockOptions = {}): Promise<T> {
  const lock = await acquireLock(path, opts);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
