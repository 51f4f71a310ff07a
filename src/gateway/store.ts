import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql, type Generated } from 'kysely';
import type { GrantClaims } from './grant.js';
import type { Usage } from './limits.js';

/**
 * The gateway's state in SQLite (Kysely over better-sqlite3, WAL): grants and their revocation,
 * cumulative usage per grant, the access log, and signed heads. The CLI (`assay grant revoke`)
 * and a running gateway share the file; the gateway reads a grant's row on every request, so a
 * revocation takes effect with the next request.
 */

interface GrantsTable {
  jti: string;
  tester: string;
  level: string;
  models_json: string;
  token_sha256: string;
  claims_json: string;
  issued_at: string;
  expires_at: string;
  revoked_at: string | null;
  revoke_reason: string | null;
}
interface UsageTable {
  jti: string;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  updated_at: string;
}
interface RecordsTable {
  seq: number;
  hash: string;
  text: string;
}
interface HeadsTable {
  size: number;
  head: string;
  time: string;
  envelope_json: string;
  tlog_index: number | null;
  /** c2sp tlog-proof of the head's transparency-log entry (v2 heads). */
  tlog_proof: string | null;
}
/** Requests refused before they belonged to a grant (401), and refusals past the record rate. */
interface RejectionsTable {
  id: Generated<number>;
  time: string;
  status: number;
  code: string;
  reason: string;
  remote: string;
  /** 1 for a single rejection; > 1 for a summary row of rejections not written one by one. */
  count: number;
}
interface DB {
  grants: GrantsTable;
  usage: UsageTable;
  records: RecordsTable;
  heads: HeadsTable;
  rejections: RejectionsTable;
}

export interface Rejection {
  time: string;
  status: number;
  code: string;
  reason: string;
  remote: string;
  count: number;
}

export interface StoredHead {
  size: number;
  head: string;
  time: string;
  envelopeJson: string;
  tlogIndex: number | null;
  tlogProof: string | null;
}

export interface GrantRow {
  jti: string;
  tester: string;
  level: string;
  models: string[];
  tokenSha256: string;
  claims: GrantClaims;
  issuedAt: string;
  expiresAt: string;
  revokedAt: string | null;
  revokeReason: string | null;
  usage: Usage;
}

const emptyUsage = (): Usage => ({ requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 });

export class GatewayStore {
  // The per-request read and the log append run as statements prepared once from SQL that Kysely
  // compiled: synchronous better-sqlite3 calls, no per-query builder or promise overhead.
  private readonly hot: { status: Database.Statement; record: Database.Statement; usage: Database.Statement; rejection: Database.Statement; commit: (records: { seq: number; hash: string; text: string }[], usage: Map<string, Usage>, rejections: Rejection[]) => void };

  private constructor(
    private readonly db: Kysely<DB>,
    private readonly sqlite: Database.Database,
    /** The SQLite file (":memory:" in tests). */
    readonly file: string,
  ) {
    const status = db.selectFrom('grants').select(['token_sha256', 'revoked_at']).where('jti', '=', '?').compile();
    const record = db.insertInto('records').values({ seq: 0, hash: '', text: '' }).compile();
    const usageRow = { requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, updated_at: '' };
    const usage = db.insertInto('usage').values({ jti: '', ...usageRow }).onConflict((oc) => oc.column('jti').doUpdateSet({ requests: sql`excluded.requests`, input_tokens: sql`excluded.input_tokens`, output_tokens: sql`excluded.output_tokens`, cost_usd: sql`excluded.cost_usd`, updated_at: sql`excluded.updated_at` })).compile();
    const rejection = db.insertInto('rejections').values({ time: '', status: 0, code: '', reason: '', remote: '', count: 0 }).compile();
    const hot = { status: sqlite.prepare(status.sql), record: sqlite.prepare(record.sql), usage: sqlite.prepare(usage.sql), rejection: sqlite.prepare(rejection.sql) };
    this.hot = {
      ...hot,
      commit: sqlite.transaction((records: { seq: number; hash: string; text: string }[], u: Map<string, Usage>, rej: Rejection[]) => {
        for (const r of records) hot.record.run(r.seq, r.hash, r.text);
        const now = new Date().toISOString();
        for (const [jti, x] of u) hot.usage.run(jti, x.requests, x.inputTokens, x.outputTokens, x.costUsd, now);
        for (const r of rej) hot.rejection.run(r.time, r.status, r.code, r.reason.slice(0, 512), r.remote.slice(0, 64), r.count);
      }),
    };
  }

  /** `synchronous: 'NORMAL'` exists only so the benchmark can say what fsync costs; the gateway uses FULL. */
  static async open(file: string, opts: { synchronous?: 'FULL' | 'NORMAL' } = {}): Promise<GatewayStore> {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const sqlite = new Database(file);
    sqlite.pragma('journal_mode = WAL');
    // A write lock held by another connection (a CLI command) is waited for at most 2 s; past that
    // the commit fails and the gateway stops serving rather than answer without a record.
    sqlite.pragma('busy_timeout = 2000');
    // WAL + FULL: every commit fsyncs the WAL before it returns, so a committed record survives a
    // power cut too. The gateway group-commits (one transaction, one fsync, for all the records
    // that completed while the previous commit ran) and answers only after its record's commit.
    sqlite.pragma(`synchronous = ${opts.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
    const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
    await db.schema
      .createTable('grants')
      .ifNotExists()
      .addColumn('jti', 'text', (c) => c.primaryKey())
      .addColumn('tester', 'text', (c) => c.notNull())
      .addColumn('level', 'text', (c) => c.notNull())
      .addColumn('models_json', 'text', (c) => c.notNull())
      .addColumn('token_sha256', 'text', (c) => c.notNull())
      .addColumn('claims_json', 'text', (c) => c.notNull())
      .addColumn('issued_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .addColumn('revoke_reason', 'text')
      .execute();
    await db.schema
      .createTable('usage')
      .ifNotExists()
      .addColumn('jti', 'text', (c) => c.primaryKey())
      .addColumn('requests', 'integer', (c) => c.notNull())
      .addColumn('input_tokens', 'integer', (c) => c.notNull())
      .addColumn('output_tokens', 'integer', (c) => c.notNull())
      .addColumn('cost_usd', 'real', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('records').ifNotExists().addColumn('seq', 'integer', (c) => c.primaryKey()).addColumn('hash', 'text', (c) => c.notNull()).addColumn('text', 'text', (c) => c.notNull()).execute();
    await db.schema
      .createTable('heads')
      .ifNotExists()
      .addColumn('size', 'integer', (c) => c.primaryKey())
      .addColumn('head', 'text', (c) => c.notNull())
      .addColumn('time', 'text', (c) => c.notNull())
      .addColumn('envelope_json', 'text', (c) => c.notNull())
      .addColumn('tlog_index', 'integer')
      .addColumn('tlog_proof', 'text')
      .execute();
    // Stores made before v2 heads lack the proof column.
    if (!(sqlite.pragma('table_info(heads)') as { name: string }[]).some((c) => c.name === 'tlog_proof')) sqlite.exec('ALTER TABLE heads ADD COLUMN tlog_proof TEXT');
    await db.schema
      .createTable('rejections')
      .ifNotExists()
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('time', 'text', (c) => c.notNull())
      .addColumn('status', 'integer', (c) => c.notNull())
      .addColumn('code', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('remote', 'text', (c) => c.notNull())
      .addColumn('count', 'integer', (c) => c.notNull())
      .execute();
    return new GatewayStore(db, sqlite, file);
  }

  async registerGrant(claims: GrantClaims, tokenSha256: string): Promise<void> {
    await this.db
      .insertInto('grants')
      .values({
        jti: claims.jti,
        tester: claims.sub,
        level: claims.assay.level,
        models_json: JSON.stringify(claims.assay.models),
        token_sha256: tokenSha256,
        claims_json: JSON.stringify(claims),
        issued_at: new Date(claims.iat * 1000).toISOString(),
        expires_at: new Date(claims.exp * 1000).toISOString(),
        revoked_at: null,
        revoke_reason: null,
      })
      .execute();
  }

  /** What the hot path needs: the registered token digest and revocation. */
  grantStatus(jti: string): { tokenSha256: string; revokedAt: string | null } | null {
    const r = this.hot.status.get(jti) as { token_sha256: string; revoked_at: string | null } | undefined;
    return r ? { tokenSha256: r.token_sha256, revokedAt: r.revoked_at } : null;
  }

  async getGrant(jti: string): Promise<GrantRow | null> {
    return (await this.listGrants({ jti }))[0] ?? null;
  }

  async listGrants(opts: { jti?: string; tester?: string } = {}): Promise<GrantRow[]> {
    let q = this.db
      .selectFrom('grants')
      .leftJoin('usage', 'usage.jti', 'grants.jti')
      .select(['grants.jti', 'tester', 'level', 'models_json', 'token_sha256', 'claims_json', 'issued_at', 'expires_at', 'revoked_at', 'revoke_reason', 'requests', 'input_tokens', 'output_tokens', 'cost_usd'])
      .orderBy('issued_at', 'asc');
    if (opts.jti) q = q.where('grants.jti', '=', opts.jti);
    if (opts.tester) q = q.where('tester', '=', opts.tester);
    return (await q.execute()).map((r) => ({
      jti: r.jti,
      tester: r.tester,
      level: r.level,
      models: JSON.parse(r.models_json) as string[],
      tokenSha256: r.token_sha256,
      claims: JSON.parse(r.claims_json) as GrantClaims,
      issuedAt: r.issued_at,
      expiresAt: r.expires_at,
      revokedAt: r.revoked_at,
      revokeReason: r.revoke_reason,
      usage: r.requests === null ? emptyUsage() : { requests: r.requests, inputTokens: r.input_tokens ?? 0, outputTokens: r.output_tokens ?? 0, costUsd: r.cost_usd ?? 0 },
    }));
  }

  /** Revokes a grant (idempotent: the first revocation time is kept). False when unknown. */
  async revokeGrant(jti: string, reason: string | null, now = new Date()): Promise<boolean> {
    const row = await this.db.selectFrom('grants').select(['revoked_at']).where('jti', '=', jti).executeTakeFirst();
    if (!row) return false;
    if (!row.revoked_at) await this.db.updateTable('grants').set({ revoked_at: now.toISOString(), revoke_reason: reason }).where('jti', '=', jti).execute();
    return true;
  }

  async usageOf(jti: string): Promise<Usage> {
    const r = await this.db.selectFrom('usage').selectAll().where('jti', '=', jti).executeTakeFirst();
    return r ? { requests: r.requests, inputTokens: r.input_tokens, outputTokens: r.output_tokens, costUsd: r.cost_usd } : emptyUsage();
  }

  /** Appends records, the usage totals they changed and rejections, in one transaction (fsynced). */
  commit(records: { seq: number; hash: string; text: string }[], usage: Map<string, Usage>, rejections: Rejection[] = []): void {
    if (!records.length && !usage.size && !rejections.length) return;
    this.hot.commit(records, usage, rejections);
  }

  /** Every record, in order, without loading them all at once (startup: rebuilds the Merkle tree). */
  *iterateRecords(): Generator<{ seq: number; hash: string; text: string }> {
    yield* this.sqlite.prepare('SELECT seq, hash, text FROM records ORDER BY seq').iterate() as Iterable<{ seq: number; hash: string; text: string }>;
  }

  recordAt(seq: number): { seq: number; hash: string; text: string } | null {
    return (this.sqlite.prepare('SELECT seq, hash, text FROM records WHERE seq = ?').get(seq) as { seq: number; hash: string; text: string } | undefined) ?? null;
  }

  async rejections(): Promise<Rejection[]> {
    return this.db.selectFrom('rejections').select(['time', 'status', 'code', 'reason', 'remote', 'count']).orderBy('id', 'asc').execute();
  }

  /** Replaces a grant's claims and token (extend / narrow: same jti, new token). */
  async updateGrant(claims: GrantClaims, tokenSha256: string): Promise<void> {
    await this.db
      .updateTable('grants')
      .set({ level: claims.assay.level, models_json: JSON.stringify(claims.assay.models), token_sha256: tokenSha256, claims_json: JSON.stringify(claims), expires_at: new Date(claims.exp * 1000).toISOString() })
      .where('jti', '=', claims.jti)
      .execute();
  }

  async lastRecord(): Promise<{ seq: number; hash: string } | null> {
    const r = await this.db.selectFrom('records').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return r ?? null;
  }

  /** Records in sequence order, from `from` (inclusive), at most `limit`. */
  async records(from = 0, limit = 1_000_000): Promise<{ seq: number; hash: string; text: string }[]> {
    return this.db.selectFrom('records').selectAll().where('seq', '>=', from).orderBy('seq', 'asc').limit(limit).execute();
  }

  async saveHead(h: { size: number; head: string; time: string; envelopeJson: string; tlogIndex: number | null; tlogProof?: string | null }): Promise<void> {
    const v = { head: h.head, time: h.time, envelope_json: h.envelopeJson, tlog_index: h.tlogIndex, tlog_proof: h.tlogProof ?? null };
    await this.db.insertInto('heads').values({ size: h.size, ...v }).onConflict((oc) => oc.column('size').doUpdateSet(v)).execute();
  }

  async heads(): Promise<StoredHead[]> {
    return (await this.db.selectFrom('heads').selectAll().orderBy('size', 'asc').execute()).map((r) => ({ size: r.size, head: r.head, time: r.time, envelopeJson: r.envelope_json, tlogIndex: r.tlog_index, tlogProof: r.tlog_proof ?? null }));
  }

  /** Tests only: direct access to alter a stored record. */
  async _rawUpdateRecord(seq: number, text: string): Promise<void> {
    await this.db.updateTable('records').set({ text }).where('seq', '=', seq).execute();
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
