import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Usage } from './limits.js';
import type { GatewayStore, Rejection } from './store.js';

/**
 * Commits access-log batches off the event loop: a worker thread with its own SQLite connection
 * (WAL, synchronous=FULL) runs each batch's transaction, so the fsync that makes it durable does
 * not stall the requests the gateway is forwarding meanwhile. One batch is in flight at a time
 * (records stay in order); what completes meanwhile forms the next batch. An in-memory store (tests)
 * commits synchronously through the store itself.
 */

export interface Batch {
  records: { seq: number; hash: string; text: string }[];
  usage: [string, Usage][];
  rejections: Rejection[];
}

export interface Committer {
  commit(b: Batch): Promise<void>;
  close(): Promise<void>;
}

// Plain JavaScript, run with `eval`: no TypeScript loader is needed in the worker, under tsx or built.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 2000');
db.pragma('synchronous = FULL');
const rec = db.prepare('INSERT INTO records (seq, hash, text) VALUES (?, ?, ?)');
const use = db.prepare('INSERT INTO usage (jti, requests, input_tokens, output_tokens, cost_usd, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (jti) DO UPDATE SET requests = excluded.requests, input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens, cost_usd = excluded.cost_usd, updated_at = excluded.updated_at');
const rej = db.prepare('INSERT INTO rejections (time, status, code, reason, remote, count) VALUES (?, ?, ?, ?, ?, ?)');
const run = db.transaction((b) => {
  for (const r of b.records) rec.run(r.seq, r.hash, r.text);
  const now = new Date().toISOString();
  for (const [jti, u] of b.usage) use.run(jti, u.requests, u.inputTokens, u.outputTokens, u.costUsd, now);
  for (const r of b.rejections) rej.run(r.time, r.status, r.code, r.reason.slice(0, 512), r.remote.slice(0, 64), r.count);
});
parentPort.on('message', (m) => {
  if (m === 'close') { db.close(); parentPort.postMessage({ closed: true }); return; }
  try { run(m.batch); parentPort.postMessage({ id: m.id, ok: true }); }
  catch (e) { parentPort.postMessage({ id: m.id, ok: false, error: String(e && e.message || e) }); }
});
`;

export function committerFor(store: GatewayStore): Committer {
  if (store.file === ':memory:')
    return {
      commit: async (b) => store.commit(b.records, new Map(b.usage), b.rejections),
      close: async () => undefined,
    };
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, { eval: true, workerData: { file: store.file, sqlite } });
  worker.unref();
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let next = 0;
  let dead: Error | null = null;
  const failAll = (e: Error) => {
    dead = e;
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  worker.on('message', (m: { id: number; ok: boolean; error?: string; closed?: boolean }) => {
    if (m.closed) return;
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.ok) w?.resolve();
    else w?.reject(new Error(m.error ?? 'commit failed'));
  });
  worker.on('error', (e) => failAll(e));
  worker.on('exit', (code) => failAll(new Error(`the commit worker exited (${code})`)));
  return {
    commit(batch) {
      if (dead) return Promise.reject(dead);
      const id = next++;
      return new Promise<void>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, batch });
      });
    },
    async close() {
      if (dead) return;
      await new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        worker.on('message', (m: { closed?: boolean }) => void (m.closed ? worker.terminate() : undefined));
        worker.postMessage('close');
      });
    },
  };
}
