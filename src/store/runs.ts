import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, type Generated } from 'kysely';

/** The run index: a queryable catalogue of run logs. The logs stay the source of truth. */
interface RunsTable {
  run_id: string;
  suite_id: string;
  suite_version: string;
  suite_digest: string;
  model: string;
  simulated: Generated<number>;
  log_path: string;
  status: string;
  started_at: string;
  updated_at: string;
  samples: number;
  errored: number;
  rescore_of: string | null;
  summary_json: string | null;
}

interface DB {
  runs: RunsTable;
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

export class RunIndex {
  private constructor(readonly db: Kysely<DB>) {}

  static async open(file: string): Promise<RunIndex> {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const sqlite = new Database(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('busy_timeout = 5000');
    const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
    await db.schema
      .createTable('runs')
      .ifNotExists()
      .addColumn('run_id', 'text', (c) => c.primaryKey())
      .addColumn('suite_id', 'text', (c) => c.notNull())
      .addColumn('suite_version', 'text', (c) => c.notNull())
      .addColumn('suite_digest', 'text', (c) => c.notNull())
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn('simulated', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('log_path', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('samples', 'integer', (c) => c.notNull())
      .addColumn('errored', 'integer', (c) => c.notNull())
      .addColumn('rescore_of', 'text')
      .addColumn('summary_json', 'text')
      .execute();
    return new RunIndex(db);
  }

  /** Insert or update by run id (idempotent: re-indexing a log gives the same row). */
  async upsert(r: Omit<RunRow, 'updatedAt'>): Promise<void> {
    const row = {
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
    const { run_id: _id, ...rest } = row;
    await this.db.insertInto('runs').values(row).onConflict((oc) => oc.column('run_id').doUpdateSet(rest)).execute();
  }

  async list(opts: { suite?: string; model?: string; limit?: number } = {}): Promise<RunRow[]> {
    let q = this.db.selectFrom('runs').selectAll().orderBy('started_at', 'desc');
    if (opts.suite) q = q.where('suite_id', '=', opts.suite);
    if (opts.model) q = q.where('model', '=', opts.model);
    if (opts.limit) q = q.limit(opts.limit);
    return (await q.execute()).map(fromRow);
  }

  /** Find a run by full id or unique prefix. */
  async get(idOrPrefix: string): Promise<RunRow | null> {
    const rows = await this.db.selectFrom('runs').selectAll().where('run_id', 'like', `${idOrPrefix.replace(/[%_]/g, '')}%`).limit(2).execute();
    return rows.length === 1 ? fromRow(rows[0]!) : null;
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  /** Every row's log path (reindex keeps logs that live outside the runs folder). */
  async logPaths(): Promise<string[]> {
    return (await this.db.selectFrom('runs').select('log_path').execute()).map((r) => r.log_path);
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
      await idx.db.selectFrom('runs').select('run_id').limit(1).execute();
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

function fromRow(r: { [K in keyof RunsTable]: RunsTable[K] extends Generated<infer T> ? T : RunsTable[K] }): RunRow {
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
