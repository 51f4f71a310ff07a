import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import { AssayError } from '../common/errors.js';
import { migrationProvider } from './migrations.js';
import type { RegistryDB } from './schema.js';

export interface RegistryStore {
  db: Kysely<RegistryDB>;
  dialect: 'sqlite' | 'postgres';
  /** Where it is, without credentials (for messages). */
  where: string;
  close(): Promise<void>;
}

export const isPostgresUrl = (s: string): boolean => /^postgres(ql)?:\/\//.test(s);

/** Opens (and migrates) the registry store: a PostgreSQL URL, or a SQLite file path. */
export async function openStore(location: string): Promise<RegistryStore> {
  let db: Kysely<RegistryDB>;
  let dialect: RegistryStore['dialect'];
  let where: string;
  if (isPostgresUrl(location)) {
    const { default: pg } = await import('pg');
    // bigint/bigserial (event seq, tlog index) arrive as numbers: both stay far below 2^53.
    pg.types.setTypeParser(20, (v: string) => Number(v));
    const pool = new pg.Pool({ connectionString: location, max: 10 });
    // An idle client's connection ended by the server (restart, failover, an administrator) emits
    // 'error' on the pool; unhandled, it would crash the process. The pool drops that client and the
    // next query connects afresh; queries in flight still get their own error.
    pool.on('error', (err) => process.emitWarning(`registry database: an idle connection ended (${err.message}); reconnecting on next use`));
    db = new Kysely<RegistryDB>({ dialect: new PostgresDialect({ pool }) });
    dialect = 'postgres';
    const u = new URL(location);
    where = `postgres://${u.host}${u.pathname}`;
  } else {
    if (location !== ':memory:') mkdirSync(dirname(location), { recursive: true });
    const sqlite = new Database(location);
    sqlite.pragma('journal_mode = WAL');
    // FULL: a committed state change survives power loss, not only a process crash.
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 10000');
    db = new Kysely<RegistryDB>({ dialect: new SqliteDialect({ database: sqlite }) });
    dialect = 'sqlite';
    where = location;
  }
  const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new AssayError('REGISTRY_DB', `cannot migrate the registry database${failed ? ` (migration ${failed})` : ''}: ${(error as Error).message}`, { file: where });
  }
  return { db, dialect, where, close: () => db.destroy() };
}
