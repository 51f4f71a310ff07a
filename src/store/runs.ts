import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The run index: a queryable catalogue of run logs. The logs stay the source of truth.
 * Plain better-sqlite3 statements, not Kysely: every `assay run` opens this index, and importing
 * Kysely cost ~15 MB of RSS for five fixed statements (docs/decisions.md). The table's columns are
 * unchanged, so an index written by earlier versions opens as is.
 */
interface RunsTable {
  run_id: string;
  suite_id: string;
  suite_version: string;
  suite_digest: string;
  model: string;
  simulated: number;
  log_path: string;
  status: string;
  started_at: string;
  updated_at: string;
  samples: number;
  errored: number;
  rescore_of: string | null;
  summary_json: string | null;
}

export interface RunRow {
  runId: string;
  suiteId: string;
  suiteVersion: string;
  suiteDigest: string;
  model: string;
  simulated: boolean;
  logPath: string;
  status: string;
  startedAt: string;
  updatedAt: string;
  samples: number;
  errored: number;
  rescoreOf: string | null;
  summary: unknown;
}

const CREATE = `create table if not exists "runs" (
  "run_id" text primary key, "suite_id" text not null, "suite_version" text not null, "suite_digest" text not null,
  "model" text not null, "simulated" integer default 0 not null, "log_path" text not null, "status" text not null,
  "started_at" text not null, "updated_at" text not null, "samples" integer not null, "errored" integer not null,
  "rescore_of" text, "summary_json" text)`;
const COLUMNS = ['run_id', 'suite_id', 'suite_version', 'suite_digest', 'model', 'simulated', 'log_path', 'status', 'started_at', 'updated_at', 'samples', 'errored', 'rescore_of', 'summary_json'] as const;
const UPSERT =
  `insert into "runs" (${COLUMNS.map((c) => `"${c}"`).join(', ')}) values (${COLUMNS.map((c) => `@${c}`).join(', ')}) ` +
  `on conflict ("run_id") do update set ${COLUMNS.slice(1).map((c) => `"${c}" = excluded."${c}"`).join(', ')}`;

export class RunIndex {
  // Prepared once: reindexing calls upsert once per run log.
  private readonly upsertStmt: Database.Statement;
  private constructor(private readonly db: Database.Database) {
    this.upsertStmt = db.prepare(UPSERT);
  }

  static async open(file: string): Promise<RunIndex> {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const sqlite = new Database(file);
    try {
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('busy_timeout = 5000');
      sqlite.exec(CREATE);
    } catch (e) {
      sqlite.close();
      throw e;
    }
    return new RunIndex(sqlite);
  }

  /** Insert or update by run id (idempotent: re-indexing a log gives the same row). */
  async upsert(r: Omit<RunRow, 'updatedAt'>): Promise<void> {
    const row: RunsTable = {
      run_id: r.runId,
      suite_id: r.suiteId,
      suite_version: r.suiteVersion,
      suite_digest: r.suiteDigest,
      model: r.model,
      simulated: r.simulated ? 1 : 0,
      log_path: r.logPath,
      status: r.status,
      started_at: r.startedAt,
      updated_at: new Date().toISOString(),
      samples: r.samples,
      errored: r.errored,
      rescore_of: r.rescoreOf,
      summary_json: r.summary === undefined || r.summary === null ? null : JSON.stringify(r.summary),
    };
    this.upsertStmt.run(row);
  }

  async list(opts: { suite?: string; model?: string; limit?: number } = {}): Promise<RunRow[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (opts.suite) where.push('"suite_id" = ?'), params.push(opts.suite);
    if (opts.model) where.push('"model" = ?'), params.push(opts.model);
    const sql = `select * from "runs"${where.length ? ` where ${where.join(' and ')}` : ''} order by "started_at" desc${opts.limit ? ' limit ?' : ''}`;
    if (opts.limit) params.push(opts.limit);
    return (this.db.prepare(sql).all(...params) as RunsTable[]).map(fromRow);
  }

  /** Find a run by full id or unique prefix. */
  async get(idOrPrefix: string): Promise<RunRow | null> {
    const rows = this.db.prepare('select * from "runs" where "run_id" like ? limit 2').all(`${idOrPrefix.replace(/[%_]/g, '')}%`) as RunsTable[];
    return rows.length === 1 ? fromRow(rows[0]!) : null;
  }

  async close(): Promise<void> {
    this.db.close();
  }

  /** Every row's log path (reindex keeps logs that live outside the runs folder). */
  async logPaths(): Promise<string[]> {
    return (this.db.prepare('select "log_path" from "runs"').all() as { log_path: string }[]).map((r) => r.log_path);
  }

  /**
   * Opens the index, never failing on its own state: a corrupt file is moved aside
   * (`<file>.corrupt-<time>`) and a missing or moved-aside index is rebuilt from the run logs by
   * `rebuild`, with a warning saying what happened. The logs are the source of truth.
   */
  static async openOrRebuild(file: string, rebuild: (idx: RunIndex) => Promise<number>, warn: (msg: string) => void): Promise<RunIndex> {
    const existed = existsSync(file);
    let idx: RunIndex;
    let why: string | null = existed ? null : 'was missing';
    try {
      idx = await RunIndex.open(file);
      try {
        idx.db.prepare('select "run_id" from "runs" limit 1').all();
      } catch (e) {
        await idx.close();
        throw e;
      }
    } catch (e) {
      if (!/^SQLITE_/.test(String((e as { code?: unknown }).code ?? ''))) throw e;
      const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      for (const ext of ['', '-wal', '-shm']) if (existsSync(file + ext)) renameSync(file + ext, aside + ext);
      why = `was unreadable (${(e as Error).message}; moved to ${aside})`;
      idx = await RunIndex.open(file);
    }
    if (why) {
      const n = await rebuild(idx);
      if (existed || n > 0) warn(`run index ${file} ${why}: rebuilt from ${n} run log(s)`);
    }
    return idx;
  }
}

/** Run logs (`*.jsonl`) directly in `dir`, absolute, sorted. */
export function runLogsIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.jsonl'))
    .map((e) => resolve(join(dir, e.name)))
    .sort();
}

function fromRow(r: RunsTable): RunRow {
  return {
    runId: r.run_id,
    suiteId: r.suite_id,
    suiteVersion: r.suite_version,
    suiteDigest: r.suite_digest,
    model: r.model,
    simulated: r.simulated === 1,
    logPath: r.log_path,
    status: r.status,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    samples: r.samples,
    errored: r.errored,
    rescoreOf: r.rescore_of,
    summary: r.summary_json ? JSON.parse(r.summary_json) : null,
  };
}
