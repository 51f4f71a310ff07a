import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { canonicalJson, sha256Hex } from '../common/canonical.js';
import type { JobStatus, Receipt } from './job.js';

export const LEDGER_SCHEMA = 'assay.enclave-ledger/v1';
export const LEDGER_GENESIS = `sha256:${'0'.repeat(64)}`;

/**
 * One entry of the enclave's hash-chained ledger: a finished job (released, held, refused) or a
 * reviewer's decision. `hash` = SHA-256 of the entry's RFC 8785 text; each names the one before.
 */
export interface LedgerEntry {
  schema: typeof LEDGER_SCHEMA;
  seq: number;
  prev: string;
  time: string;
  event: 'job' | 'review';
  job: string;
  grant: string;
  requestId: string | null;
  status: string;
  refusal: string | null;
  receipt: Receipt | null;
  reviewer: string | null;
}

/**
 * The enclave's job ledger (SQLite, WAL): one row per job with its digests, status, refusal, the
 * held outputs while a reviewer decides, and the sandbox's exit facts (developer-only); and a
 * hash-chained append-only `ledger` of every finished job and every review decision with its
 * receipt, so the developer can show what left and a later edit is detectable against a head it
 * published. The reviewer CLI (`assay enclave review`) and a running enclave share the file;
 * appends are IMMEDIATE transactions, so two processes never fork the chain.
 */
export interface JobRow {
  id: string;
  /** The gateway's request id of the submission (its access-log record). */
  request_id: string | null;
  grant: string;
  tester: string;
  model: string;
  submitted_at: string;
  finished_at: string | null;
  status: JobStatus | 'running';
  code_digest: string;
  request_digest: string;
  receipt_json: string | null;
  /** Canonical JSON texts of the outputs, name → text: held while awaiting review; kept after release so a result can be fetched again. */
  outputs_json: string | null;
  released_bytes: number;
  refusal_code: string | null;
  /** The refusal in detail (developer only). */
  refusal: string | null;
  /** What the tester was told. */
  refusal_public: string | null;
  /** Developer-only: exit status, signal, durations, stderr tail. Never sent to the tester. */
  exec_json: string | null;
  reviewer: string | null;
  review_note: string | null;
}

export class EnclaveStore {
  readonly db: Database.Database;
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.db = new Database(join(dir, 'enclave.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS jobs (
      id TEXT PRIMARY KEY, request_id TEXT, grant TEXT NOT NULL, tester TEXT NOT NULL, model TEXT NOT NULL,
      submitted_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL,
      code_digest TEXT NOT NULL, request_digest TEXT NOT NULL, receipt_json TEXT, outputs_json TEXT,
      released_bytes INTEGER NOT NULL DEFAULT 0, refusal_code TEXT, refusal TEXT, refusal_public TEXT, exec_json TEXT,
      reviewer TEXT, review_note TEXT)`);
    this.db.exec('CREATE TABLE IF NOT EXISTS ledger (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, text TEXT NOT NULL)');
    this.db.exec('CREATE INDEX IF NOT EXISTS jobs_grant ON jobs(grant)');
    this.db.exec('CREATE INDEX IF NOT EXISTS jobs_request ON jobs(request_id)');
  }

  insert(r: Pick<JobRow, 'id' | 'grant' | 'tester' | 'model' | 'submitted_at' | 'code_digest' | 'request_digest'> & { request_id?: string | null }): void {
    this.db.prepare(`INSERT INTO jobs (id, request_id, grant, tester, model, submitted_at, status, code_digest, request_digest) VALUES (@id, @request_id, @grant, @tester, @model, @submitted_at, 'running', @code_digest, @request_digest)`).run({ request_id: null, ...r });
  }

  /** Appends a ledger entry (inside the caller's transaction). */
  private chain(e: Omit<LedgerEntry, 'schema' | 'seq' | 'prev' | 'time'>): void {
    const last = this.db.prepare('SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
    const entry: LedgerEntry = { schema: LEDGER_SCHEMA, seq: last ? last.seq + 1 : 0, prev: last?.hash ?? LEDGER_GENESIS, time: new Date().toISOString(), ...e };
    const text = canonicalJson(entry);
    this.db.prepare('INSERT INTO ledger (seq, hash, text) VALUES (?, ?, ?)').run(entry.seq, `sha256:${sha256Hex(text)}`, text);
  }

  finish(id: string, f: { status: JobStatus; receipt: Receipt | null; outputs: Record<string, string> | null; releasedBytes: number; refusalCode: string | null; refusal: string | null; refusalPublic?: string | null; exec: unknown }): void {
    this.db
      .transaction(() => {
        this.db
          .prepare(`UPDATE jobs SET finished_at = ?, status = ?, receipt_json = ?, outputs_json = ?, released_bytes = ?, refusal_code = ?, refusal = ?, refusal_public = ?, exec_json = ? WHERE id = ?`)
          .run(new Date().toISOString(), f.status, f.receipt ? JSON.stringify(f.receipt) : null, f.outputs ? JSON.stringify(f.outputs) : null, f.releasedBytes, f.refusalCode, f.refusal, f.refusalPublic ?? f.refusal, JSON.stringify(f.exec ?? null), id);
        const row = this.get(id)!;
        this.chain({ event: 'job', job: id, grant: row.grant, requestId: row.request_id, status: f.status, refusal: f.refusalCode, receipt: f.receipt, reviewer: null });
      })
      .immediate();
  }

  /** Recomputes the ledger's chain: its size, head and every problem (a changed, missing or reordered entry). */
  verifyLedger(): { size: number; head: string; problems: string[] } {
    let prev = LEDGER_GENESIS;
    let n = 0;
    const problems: string[] = [];
    for (const r of this.db.prepare('SELECT seq, hash, text FROM ledger ORDER BY seq').iterate() as IterableIterator<{ seq: number; hash: string; text: string }>) {
      let e: LedgerEntry | null = null;
      try {
        e = JSON.parse(r.text) as LedgerEntry;
      } catch {
        problems.push(`entry ${r.seq}: not JSON`);
      }
      const h = `sha256:${sha256Hex(r.text)}`;
      if (r.seq !== n) problems.push(`entry ${r.seq}: expected sequence number ${n}`);
      if (e && (e.seq !== r.seq || e.prev !== prev)) problems.push(`entry ${r.seq}: does not follow entry ${n - 1} (prev ${e.prev}, expected ${prev})`);
      if (h !== r.hash) problems.push(`entry ${r.seq}: text does not match its stored hash`);
      if (e && canonicalJson(e) !== r.text) problems.push(`entry ${r.seq}: not in canonical form`);
      prev = h;
      n = r.seq + 1;
    }
    return { size: n, head: prev, problems };
  }

  /** The stored hash of entry `size - 1` (the genesis value for 0), or null when the ledger is shorter. */
  hashAt(size: number): string | null {
    if (size === 0) return LEDGER_GENESIS;
    const r = this.db.prepare('SELECT hash FROM ledger WHERE seq = ?').get(size - 1) as { hash: string } | undefined;
    return r?.hash ?? null;
  }

  ledger(): LedgerEntry[] {
    return (this.db.prepare('SELECT text FROM ledger ORDER BY seq').all() as { text: string }[]).map((r) => JSON.parse(r.text) as LedgerEntry);
  }

  /** Bytes released or held for review under a grant (held bytes count, so parallel jobs cannot overshoot the cap). */
  grantBytes(grant: string): number {
    return (this.db.prepare(`SELECT COALESCE(SUM(released_bytes), 0) AS n FROM jobs WHERE grant = ? AND status IN ('released', 'approved', 'awaiting_review')`).get(grant) as { n: number }).n;
  }

  get(id: string): JobRow | undefined {
    return this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
  }

  byRequest(requestId: string): JobRow | undefined {
    return this.db.prepare('SELECT * FROM jobs WHERE request_id = ?').get(requestId) as JobRow | undefined;
  }

  list(status?: string): JobRow[] {
    return (status ? this.db.prepare('SELECT * FROM jobs WHERE status = ? ORDER BY submitted_at').all(status) : this.db.prepare('SELECT * FROM jobs ORDER BY submitted_at').all()) as JobRow[];
  }

  /** A reviewer's decision on a job awaiting review; returns false when it is not awaiting review. A rejection drops the held outputs. */
  decide(id: string, approve: boolean, reviewer: string, note: string | null): boolean {
    return this.db
      .transaction(() => {
        const r = approve
          ? this.db.prepare(`UPDATE jobs SET status = 'approved', reviewer = ?, review_note = ? WHERE id = ? AND status = 'awaiting_review'`).run(reviewer, note, id)
          : this.db.prepare(`UPDATE jobs SET status = 'rejected', reviewer = ?, review_note = ?, outputs_json = NULL, released_bytes = 0 WHERE id = ? AND status = 'awaiting_review'`).run(reviewer, note, id);
        if (r.changes !== 1) return false;
        const row = this.get(id)!;
        this.chain({ event: 'review', job: id, grant: row.grant, requestId: row.request_id, status: row.status, refusal: approve ? null : 'review_rejected', receipt: row.receipt_json ? (JSON.parse(row.receipt_json) as Receipt) : null, reviewer });
        return true;
      })
      .immediate();
  }

  close(): void {
    this.db.close();
  }
}
