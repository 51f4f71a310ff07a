import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { Transaction } from 'kysely';
import { AssayError } from '../common/errors.js';
import { canonicalJson } from '../common/canonical.js';
import { keyIdOf, publicKeyFromJwk, exportPublicJwk, type PublicJwk } from '../attest/keys.js';
import { ACCREDITATION_PREDICATE_TYPE, accreditationPredicateSchema, type TrustPolicy } from '../attest/trust.js';
import { parseRelease } from '../gateway/release.js';
import { accreditationTransition, type AccreditationAction, type AccreditationState } from './accreditation.js';
import { canPropose, engagementTransition, type EngagementAction, type EngagementState, type Party } from './engagement.js';
import { appendEvent, newId } from './events.js';
import { GroupCommit } from './group-commit.js';
import { openGrantRequest, settleOnGrant } from './grant-requests.js';
import { inProcessVerifier, type PortableTrust, type ReportVerifier } from './report-verifier.js';
import { isRecognised, type Graph, type RecognitionAnswer } from './recognition.js';
import type { RegistryStore } from './db.js';
import type { OrgsTable, RegistryDB } from './schema.js';
import { ACCREDITATION_STATUS_PREDICATE, RECOGNITION_PREDICATE, accreditationStatusSchema, checkStatement, recognitionSchema } from './statements.js';

const scrypt = promisify(scryptCb) as (pw: string | Buffer, salt: Buffer, len: number, opts: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

export type OrgKind = OrgsTable['kind'];
export type Role = 'admin' | 'member' | 'viewer';
export const ORG_KINDS: OrgKind[] = ['developer', 'tester', 'accreditor', 'agency'];
export const TESTER_SUB_KINDS = ['company', 'university', 'government'] as const;
const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2 };

/** Who is asking: a signed-in user with memberships, or nobody (public). */
export interface Actor {
  userId: string;
  operator: boolean;
  memberships: { orgId: string; kind: OrgKind; role: Role }[];
  /** Token scopes: "read" and/or "write". A session has both. */
  scopes: string[];
}

/** Errors carry the HTTP status the server answers with. */
export class RegistryError extends AssayError {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429,
    code: string,
    problem: string,
    field?: string,
  ) {
    super(code, problem, field ? { field } : {});
  }
}
const notFound = (what: string) => new RegistryError(404, 'NOT_FOUND', `${what} not found`);
const forbidden = (why: string) => new RegistryError(403, 'FORBIDDEN', why);

/** Who is calling, with the token scope the operation needs (401 without a caller, 403 without the scope). */
export function requireActor(actor: Actor | null, scope: 'read' | 'write'): Actor {
  if (!actor) throw new RegistryError(401, 'UNAUTHENTICATED', 'sign in or present an API token');
  if (!actor.scopes.includes(scope)) throw forbidden(`this token lacks the "${scope}" scope`);
  return actor;
}
/** Roles in an organisation, weakest first. */
export const ROLE_RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2 };
/** Whether the caller holds at least `min` in the organisation. */
export const hasRole = (a: Actor, orgId: string, min: Role): boolean => {
  const r = a.memberships.find((m) => m.orgId === orgId)?.role;
  return r !== undefined && ROLE_RANK[r] >= ROLE_RANK[min];
};
const invalid = (why: string, field?: string) => new RegistryError(400, 'INVALID', why, field);
const conflict = (why: string) => new RegistryError(409, 'CONFLICT', why);

export interface Page<T> {
  items: T[];
  /** Opaque cursor for the next page, or null at the end. */
  next: string | null;
}

const encodeCursor = (v: string) => Buffer.from(v, 'utf8').toString('base64url');
function decodeCursor(c: string | undefined): string | null {
  if (!c) return null;
  const v = Buffer.from(c, 'base64url').toString('utf8');
  if (!v || v.length > 200 || encodeCursor(v) !== c) throw invalid('malformed cursor', 'cursor');
  return v;
}

/** An id-ordered list's cursor: the id to list after, which must match the ids' own `pattern`; null for the first page. */
export function afterId(cursor: string | undefined, pattern: RegExp): string | null {
  if (!cursor) return null;
  const after = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!pattern.test(after) || encodeCursor(after) !== cursor) throw invalid('malformed cursor', 'cursor');
  return after;
}

export interface RegistryOptions {
  /** This registry's name in identifiers and statements, e.g. "registry.example.org". */
  origin: string;
  now?: () => Date;
  /** Transparency logs trusted for reports' inclusion proofs. */
  trustedLogs?: TrustPolicy['logs'];
  /** Where uploaded run logs are kept (by digest). */
  dataDir?: string;
  /** Who verifies uploaded reports (default: in this thread; the server passes a worker pool). */
  verifier?: ReportVerifier;
}

export interface TokenInfo {
  id: string;
  token: string;
  expiresAt: string;
}

/** scrypt parameters for password hashes (N=2^15, r=8, p=1: ~32 MiB, ~50 ms). */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

export async function hashPassword(pw: string): Promise<string> {
  const salt = randomBytes(16);
  const h = await scrypt(pw.normalize('NFC'), salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${h.toString('base64url')}`;
}
export async function checkPassword(pw: string, stored: string | null): Promise<boolean> {
  const m = stored ? /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([\w-]+)\$([\w-]+)$/.exec(stored) : null;
  // Always spend the same work, so a missing account and a wrong password take as long.
  const salt = m ? Buffer.from(m[4]!, 'base64url') : Buffer.alloc(16);
  const h = await scrypt(pw.normalize('NFC'), salt, 32, SCRYPT);
  return m !== null && timingSafeEqual(h, Buffer.from(m[5]!, 'base64url'));
}
export const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * The registry: organisations, people, keys, accreditations and recognitions, models in scope,
 * engagements and verified reports. Every method checks the actor first (a refused request
 * changes nothing), then applies its change and an event row in one transaction.
 */
export class Registry {
  readonly now: () => Date;
  readonly verifier: ReportVerifier;
  /** Group commit of every write (the outbox drain's index updates join it too). */
  readonly commits: GroupCommit;
  constructor(
    readonly store: RegistryStore,
    readonly opts: RegistryOptions,
  ) {
    this.now = opts.now ?? (() => new Date());
    this.verifier = opts.verifier ?? inProcessVerifier();
    this.commits = new GroupCommit(store);
  }

  get db() {
    return this.store.db;
  }

  /**
   * A write transaction; writers are serialised (PostgreSQL: an advisory lock), so the event chain
   * never forks. Concurrent writes share one commit (group commit, each in its own savepoint: one
   * refused write rolls back alone), so a burst pays one fsync, not one each.
   */
  private async write<T>(fn: (trx: Transaction<RegistryDB>) => Promise<T>): Promise<T> {
    return this.commits.run(fn);
  }

  private event(trx: Transaction<RegistryDB>, actor: Actor | null, actorOrg: string | null, kind: string, subject: string, data: unknown) {
    return appendEvent(trx, { actorUser: actor?.userId ?? null, actorOrg, kind, subject, data, at: this.now() });
  }

  // ───────────────────────────── authorisation helpers ─────────────────────────────

  private need(actor: Actor | null, scope: 'read' | 'write'): Actor {
    return requireActor(actor, scope);
  }
  private role(actor: Actor | null, orgId: string): Role | null {
    return actor?.memberships.find((m) => m.orgId === orgId)?.role ?? null;
  }
  private needRole(actor: Actor | null, orgId: string, min: Role, scope: 'read' | 'write' = 'write'): Actor {
    const a = this.need(actor, scope);
    const r = this.role(a, orgId);
    if (r === null || RANK[r] < RANK[min]) throw forbidden(`needs the ${min} role in organisation ${orgId}`);
    return a;
  }

  private async org(id: string, trx: Transaction<RegistryDB> | null = null) {
    const o = await (trx ?? this.db).selectFrom('orgs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!o) throw notFound(`organisation ${id}`);
    return o;
  }
  private async orgKeys(orgId: string, trx: Transaction<RegistryDB> | null = null): Promise<KeyObject[]> {
    const rows = await (trx ?? this.db).selectFrom('org_keys').select('public_jwk').where('org_id', '=', orgId).where('revoked_at', 'is', null).execute();
    return rows.map((r) => publicKeyFromJwk(JSON.parse(r.public_jwk)));
  }

  // ───────────────────────────── bootstrap, people, tokens ─────────────────────────────

  /** First start: creates the operator account when there is no user yet; returns its first token (shown once). */
  async bootstrap(email: string): Promise<TokenInfo | null> {
    return this.write(async (trx) => {
      const any = await trx.selectFrom('users').select('id').limit(1).executeTakeFirst();
      if (any) return null;
      const id = newId('usr');
      await trx.insertInto('users').values({ id, email, name: 'Registry operator', password_hash: null, created_at: this.now().toISOString(), operator: 1 }).execute();
      await this.event(trx, null, null, 'user.bootstrap', `user/${id}`, { email });
      return this.insertToken(trx, id, ['read', 'write'], 30 * 86400);
    });
  }

  private async insertToken(trx: Transaction<RegistryDB>, userId: string, scopes: string[], ttlSeconds: number): Promise<TokenInfo> {
    const token = `assay_${randomBytes(32).toString('base64url')}`;
    const id = newId('tok');
    const expiresAt = new Date(this.now().getTime() + ttlSeconds * 1000).toISOString();
    await trx.insertInto('tokens').values({ id, user_id: userId, token_hash: tokenHash(token), scopes: JSON.stringify(scopes), created_at: this.now().toISOString(), expires_at: expiresAt, revoked_at: null }).execute();
    return { id, token, expiresAt };
  }

  /** The actor a bearer token stands for, or null (unknown, expired or revoked: all the same to the caller). */
  async actorForToken(token: string): Promise<Actor | null> {
    if (!/^assay_[\w-]{43}$/.test(token)) return null;
    const row = await this.db.selectFrom('tokens').innerJoin('users', 'users.id', 'tokens.user_id').select(['tokens.user_id', 'tokens.scopes', 'tokens.expires_at', 'tokens.revoked_at', 'users.operator']).where('token_hash', '=', tokenHash(token)).executeTakeFirst();
    if (!row || row.revoked_at || Date.parse(row.expires_at) <= this.now().getTime()) return null;
    return this.actorFor(row.user_id, Boolean(row.operator), JSON.parse(row.scopes) as string[]);
  }

  async actorFor(userId: string, operator: boolean, scopes: string[]): Promise<Actor> {
    const ms = await this.db.selectFrom('memberships').innerJoin('orgs', 'orgs.id', 'memberships.org_id').select(['memberships.org_id', 'memberships.role', 'orgs.kind']).where('user_id', '=', userId).execute();
    return { userId, operator, scopes, memberships: ms.map((m) => ({ orgId: m.org_id, kind: m.kind, role: m.role })) };
  }

  /** Password sign-in: a token, or a 401 that does not say whether the account exists. */
  async login(email: string, password: string, ttlSeconds = 12 * 3600): Promise<TokenInfo> {
    const u = await this.db.selectFrom('users').select(['id', 'password_hash']).where('email', '=', email.toLowerCase()).executeTakeFirst();
    const ok = await checkPassword(password, u?.password_hash ?? null);
    if (!u || !ok) throw new RegistryError(401, 'UNAUTHENTICATED', 'wrong e-mail or password');
    return this.write(async (trx) => {
      const t = await this.insertToken(trx, u.id, ['read', 'write'], ttlSeconds);
      await this.event(trx, { userId: u.id, operator: false, memberships: [], scopes: [] }, null, 'token.login', `user/${u.id}`, { token: t.id });
      return t;
    });
  }

  async createToken(actor: Actor | null, scopes: string[], ttlSeconds: number): Promise<TokenInfo> {
    const a = this.need(actor, 'write');
    const bad = scopes.find((s) => !a.scopes.includes(s));
    if (bad) throw forbidden(`cannot create a token with scope "${bad}" from a token without it`);
    return this.write(async (trx) => {
      const t = await this.insertToken(trx, a.userId, scopes, ttlSeconds);
      await this.event(trx, a, null, 'token.create', `user/${a.userId}`, { token: t.id, scopes, expiresAt: t.expiresAt });
      return t;
    });
  }

  async revokeToken(actor: Actor | null, tokenId: string): Promise<void> {
    const a = this.need(actor, 'write');
    await this.write(async (trx) => {
      const t = await trx.selectFrom('tokens').select(['user_id', 'revoked_at']).where('id', '=', tokenId).executeTakeFirst();
      if (!t || (t.user_id !== a.userId && !a.operator)) throw notFound(`token ${tokenId}`);
      if (t.revoked_at) return;
      await trx.updateTable('tokens').set({ revoked_at: this.now().toISOString() }).where('id', '=', tokenId).execute();
      await this.event(trx, a, null, 'token.revoke', `user/${t.user_id}`, { token: tokenId });
    });
  }

  // ───────────────────────────── organisations ─────────────────────────────

  async createOrg(actor: Actor | null, o: { kind: OrgKind; subKind?: string | null; name: string; jurisdiction: string }) {
    const a = this.need(actor, 'write');
    if (!a.operator) throw forbidden('only the registry operator registers organisations');
    if (o.kind === 'tester' && !(TESTER_SUB_KINDS as readonly string[]).includes(o.subKind ?? '')) throw invalid(`a tester needs a sub-kind: ${TESTER_SUB_KINDS.join(', ')}`, 'subKind');
    if (o.kind !== 'tester' && o.subKind) throw invalid('only testers have a sub-kind', 'subKind');
    return this.write(async (trx) => {
      const id = newId('org');
      const row = { id, kind: o.kind, sub_kind: o.subKind ?? null, name: o.name, jurisdiction: o.jurisdiction, created_at: this.now().toISOString() };
      await trx.insertInto('orgs').values(row).execute();
      await this.event(trx, a, null, 'org.create', `org/${id}`, { kind: o.kind, subKind: row.sub_kind, name: o.name, jurisdiction: o.jurisdiction });
      return orgView(row);
    });
  }

  async getOrg(id: string) {
    const o = await this.org(id);
    const keys = await this.db.selectFrom('org_keys').selectAll().where('org_id', '=', id).orderBy('added_at').execute();
    return { ...orgView(o), keys: keys.map((k) => ({ keyId: k.key_id, publicKey: JSON.parse(k.public_jwk) as PublicJwk, addedAt: k.added_at, revokedAt: k.revoked_at })) };
  }

  async listOrgs(q: { kind?: OrgKind; cursor?: string; limit?: number }): Promise<Page<ReturnType<typeof orgView>>> {
    const limit = q.limit ?? 50;
    let qb = this.db.selectFrom('orgs').selectAll().orderBy('id').limit(limit + 1);
    if (q.kind) qb = qb.where('kind', '=', q.kind);
    const after = decodeCursor(q.cursor);
    if (after) qb = qb.where('id', '>', after);
    const rows = await qb.execute();
    return paged(rows.map(orgView), limit, (r) => r.id);
  }

  async addMember(actor: Actor | null, orgId: string, m: { email: string; name: string; role: Role; password?: string }) {
    const a = this.need(actor, 'write');
    if (!a.operator) this.needRole(a, orgId, 'admin');
    await this.org(orgId);
    const hash = m.password ? await hashPassword(m.password) : null;
    return this.write(async (trx) => {
      const email = m.email.toLowerCase();
      let u = await trx.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
      if (!u) {
        u = { id: newId('usr') };
        await trx.insertInto('users').values({ id: u.id, email, name: m.name, password_hash: hash, created_at: this.now().toISOString(), operator: 0 }).execute();
      } else if (hash) throw conflict(`user ${email} exists; only its owner sets its password`);
      const had = await trx.selectFrom('memberships').select('role').where('user_id', '=', u.id).where('org_id', '=', orgId).executeTakeFirst();
      if (had) await trx.updateTable('memberships').set({ role: m.role }).where('user_id', '=', u.id).where('org_id', '=', orgId).execute();
      else await trx.insertInto('memberships').values({ user_id: u.id, org_id: orgId, role: m.role }).execute();
      await this.event(trx, a, orgId, 'org.member', `org/${orgId}`, { user: u.id, role: m.role });
      return { userId: u.id, orgId, role: m.role };
    });
  }

  /** Registers a public signing key of the organisation (its admins only). */
  async addKey(actor: Actor | null, orgId: string, jwk: unknown) {
    const a = this.needRole(actor, orgId, 'admin');
    let key: KeyObject;
    try {
      key = publicKeyFromJwk(jwk, { field: 'publicKey' });
    } catch (err) {
      throw invalid((err as Error).message, 'publicKey');
    }
    const keyId = keyIdOf(key);
    return this.write(async (trx) => {
      const had = await trx.selectFrom('org_keys').select('org_id').where('key_id', '=', keyId).executeTakeFirst();
      if (had) throw conflict(`key ${keyId} is already registered${had.org_id === orgId ? '' : ' to another organisation'}`);
      const { kid: _k, ...pub } = exportPublicJwk(key);
      await trx.insertInto('org_keys').values({ key_id: keyId, org_id: orgId, public_jwk: JSON.stringify(pub), added_at: this.now().toISOString(), revoked_at: null }).execute();
      await this.event(trx, a, orgId, 'org.key.add', `org/${orgId}`, { keyId });
      return { keyId };
    });
  }

  async revokeKey(actor: Actor | null, orgId: string, keyId: string) {
    const a = this.needRole(actor, orgId, 'admin');
    await this.write(async (trx) => {
      const k = await trx.selectFrom('org_keys').select(['org_id', 'revoked_at']).where('key_id', '=', keyId).executeTakeFirst();
      if (!k || k.org_id !== orgId) throw notFound(`key ${keyId}`);
      if (k.revoked_at) return;
      await trx.updateTable('org_keys').set({ revoked_at: this.now().toISOString() }).where('key_id', '=', keyId).execute();
      await this.event(trx, a, orgId, 'org.key.revoke', `org/${orgId}`, { keyId });
    });
  }

  /** A tester declares a conflict of interest with a developer (it then cannot take that developer's engagements). */
  async declareConflict(actor: Actor | null, testerId: string, developerId: string, reason: string) {
    const a = this.needRole(actor, testerId, 'member');
    const [t, d] = [await this.org(testerId), await this.org(developerId)];
    if (t.kind !== 'tester' || d.kind !== 'developer') throw invalid('a conflict is declared by a tester about a developer', 'developerId');
    await this.write(async (trx) => {
      const had = await trx.selectFrom('conflicts').select('tester_id').where('tester_id', '=', testerId).where('developer_id', '=', developerId).executeTakeFirst();
      if (had) return;
      await trx.insertInto('conflicts').values({ tester_id: testerId, developer_id: developerId, reason, declared_at: this.now().toISOString() }).execute();
      await this.event(trx, a, testerId, 'conflict.declare', `org/${testerId}`, { developer: developerId, reason });
    });
  }

  // ───────────────────────────── accreditation and recognition ─────────────────────────────

  /**
   * An accreditor grants a tester a scope: the body is an accreditation statement signed with one
   * of the accreditor's registered keys, naming one of the tester's registered keys.
   */
  async grantAccreditation(actor: Actor | null, accreditorId: string, testerId: string, statement: unknown) {
    const a = this.needRole(actor, accreditorId, 'member');
    const [acc, tester] = [await this.org(accreditorId), await this.org(testerId)];
    if (acc.kind !== 'accreditor') throw forbidden('only accreditors grant accreditations');
    if (tester.kind !== 'tester') throw invalid('accreditations are granted to testers', 'testerId');
    const st = checkStatement(statement, await this.orgKeys(accreditorId), ACCREDITATION_PREDICATE_TYPE, accreditationPredicateSchema, 'accreditation');
    const testerKeys = (await this.orgKeys(testerId)).map(keyIdOf);
    if (!testerKeys.includes(st.predicate.tester.keyId)) throw invalid(`the accredited key ${st.predicate.tester.keyId} is not a registered key of ${testerId}`, 'statement.payload.predicate.tester.keyId');
    const domains = st.predicate.scopes.riskAreas;
    if (!domains.length) throw invalid('an accreditation names at least one risk area', 'statement.payload.predicate.scopes.riskAreas');
    return this.write(async (trx) => {
      const dup = await trx.selectFrom('accreditations').select('id').where('id', '=', idFromDigest('acc', st.payloadDigest)).executeTakeFirst();
      if (dup) throw conflict(`this accreditation statement is already registered as ${dup.id}`);
      const id = idFromDigest('acc', st.payloadDigest);
      const now = this.now().toISOString();
      await trx.insertInto('accreditations').values({ id, accreditor_id: accreditorId, tester_id: testerId, scope: JSON.stringify({ riskAreas: domains }), state: 'granted', reassess_by: st.predicate.notAfter, statement: JSON.stringify(st.envelope), created_at: now, updated_at: now }).execute();
      await this.event(trx, a, accreditorId, 'accreditation.grant', `accreditation/${id}`, { tester: testerId, riskAreas: domains, reassessBy: st.predicate.notAfter, statement: st.payloadDigest, signedBy: st.signedBy });
      return { id, state: 'granted' as const, riskAreas: domains, reassessBy: st.predicate.notAfter };
    });
  }

  /** Suspends, reinstates or withdraws, with a status statement signed by the accreditor. */
  async changeAccreditation(actor: Actor | null, id: string, action: AccreditationAction, statement: unknown) {
    const row = await this.db.selectFrom('accreditations').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`accreditation ${id}`);
    const a = this.needRole(actor, row.accreditor_id, 'member');
    const t = accreditationTransition(row.state as AccreditationState, action);
    if (!t.ok) throw conflict(t.reason);
    const st = checkStatement(statement, await this.orgKeys(row.accreditor_id), ACCREDITATION_STATUS_PREDICATE, accreditationStatusSchema, 'accreditation status');
    const granted = checkStatement(JSON.parse(row.statement), await this.allOrgKeys(row.accreditor_id), ACCREDITATION_PREDICATE_TYPE, accreditationPredicateSchema, 'accreditation');
    if (st.predicate.accreditation !== granted.payloadDigest) throw invalid(`the statement names accreditation ${st.predicate.accreditation}, not ${granted.payloadDigest}`, 'statement.payload.predicate.accreditation');
    if (st.predicate.state !== t.next) throw invalid(`the statement says "${st.predicate.state}", the action gives "${t.next}"`, 'statement.payload.predicate.state');
    return this.write(async (trx) => {
      const cur = await trx.selectFrom('accreditations').select('state').where('id', '=', id).executeTakeFirstOrThrow();
      if (cur.state !== row.state) throw conflict('the accreditation changed meanwhile; retry');
      await trx.updateTable('accreditations').set({ state: t.next, updated_at: this.now().toISOString() }).where('id', '=', id).execute();
      await this.event(trx, a, row.accreditor_id, `accreditation.${action}`, `accreditation/${id}`, { from: row.state, to: t.next, reason: st.predicate.reason, statement: st.payloadDigest, signedBy: st.signedBy, signed: JSON.stringify(st.envelope) });
      return { id, state: t.next };
    });
  }

  /** Keys including revoked ones: a statement signed before a revocation stays readable. */
  private async allOrgKeys(orgId: string): Promise<KeyObject[]> {
    const rows = await this.db.selectFrom('org_keys').select('public_jwk').where('org_id', '=', orgId).execute();
    return rows.map((r) => publicKeyFromJwk(JSON.parse(r.public_jwk)));
  }

  /** One accreditor recognises another's accreditations within risk areas (a signed statement). Mutual = one each way. */
  async addRecognition(actor: Actor | null, recogniserId: string, recognisedId: string, statement: unknown) {
    const a = this.needRole(actor, recogniserId, 'member');
    const [r1, r2] = [await this.org(recogniserId), await this.org(recognisedId)];
    if (r1.kind !== 'accreditor' || r2.kind !== 'accreditor') throw invalid('recognition is between accreditors', 'recognisedId');
    if (recogniserId === recognisedId) throw invalid('an accreditor does not recognise itself', 'recognisedId');
    const st = checkStatement(statement, await this.orgKeys(recogniserId), RECOGNITION_PREDICATE, recognitionSchema, 'recognition');
    if (st.predicate.recogniser !== recogniserId || st.predicate.recognised !== recognisedId) throw invalid('the statement names other organisations', 'statement.payload.predicate.recognised');
    return this.write(async (trx) => {
      const id = idFromDigest('rec', st.payloadDigest);
      if (await trx.selectFrom('recognitions').select('id').where('id', '=', id).executeTakeFirst()) throw conflict(`already registered as ${id}`);
      await trx.insertInto('recognitions').values({ id, recogniser_id: recogniserId, recognised_id: recognisedId, scope: JSON.stringify({ riskAreas: st.predicate.riskAreas }), state: 'active', statement: JSON.stringify(st.envelope), created_at: this.now().toISOString() }).execute();
      await this.event(trx, a, recogniserId, 'recognition.add', `recognition/${id}`, { recognised: recognisedId, riskAreas: st.predicate.riskAreas, statement: st.payloadDigest });
      return { id, recogniserId, recognisedId, riskAreas: st.predicate.riskAreas };
    });
  }

  async listAccreditations(q: { testerId?: string; cursor?: string; limit?: number }) {
    const limit = q.limit ?? 50;
    let qb = this.db.selectFrom('accreditations').select(['id', 'accreditor_id', 'tester_id', 'scope', 'state', 'reassess_by', 'statement', 'created_at', 'updated_at']).orderBy('id').limit(limit + 1);
    if (q.testerId) qb = qb.where('tester_id', '=', q.testerId);
    const after = decodeCursor(q.cursor);
    if (after) qb = qb.where('id', '>', after);
    const rows = await qb.execute();
    return paged(rows.map((r) => ({ id: r.id, accreditorId: r.accreditor_id, testerId: r.tester_id, riskAreas: (JSON.parse(r.scope) as { riskAreas: string[] }).riskAreas, state: r.state, reassessBy: r.reassess_by, statementDigest: payloadDigestOf(r.statement), createdAt: r.created_at, updatedAt: r.updated_at })), limit, (r) => r.id);
  }

  async listRecognitions(q: { cursor?: string; limit?: number }) {
    const limit = q.limit ?? 50;
    let qb = this.db.selectFrom('recognitions').select(['id', 'recogniser_id', 'recognised_id', 'scope', 'state', 'created_at']).orderBy('id').limit(limit + 1);
    const after = decodeCursor(q.cursor);
    if (after) qb = qb.where('id', '>', after);
    const rows = await qb.execute();
    return paged(rows.map((r) => ({ id: r.id, recogniserId: r.recogniser_id, recognisedId: r.recognised_id, riskAreas: (JSON.parse(r.scope) as { riskAreas: string[] }).riskAreas, state: r.state, createdAt: r.created_at })), limit, (r) => r.id);
  }

  private async graph(): Promise<Graph> {
    const [orgs, accs, recs] = await Promise.all([
      this.db.selectFrom('orgs').select(['id', 'name', 'jurisdiction']).where('kind', '=', 'accreditor').execute(),
      this.db.selectFrom('accreditations').select(['id', 'accreditor_id', 'tester_id', 'scope', 'state', 'reassess_by']).execute(),
      this.db.selectFrom('recognitions').select(['id', 'recogniser_id', 'recognised_id', 'scope', 'state']).execute(),
    ]);
    return {
      orgs: new Map(orgs.map((o) => [o.id, o])),
      accreditations: accs.map((a) => ({ id: a.id, accreditorId: a.accreditor_id, testerId: a.tester_id, domains: (JSON.parse(a.scope) as { riskAreas: string[] }).riskAreas, state: a.state, reassessBy: a.reassess_by })),
      recognitions: recs.map((r) => ({ id: r.id, recogniserId: r.recogniser_id, recognisedId: r.recognised_id, domains: (JSON.parse(r.scope) as { riskAreas: string[] }).riskAreas, active: r.state === 'active' })),
    };
  }

  /** "Is tester T recognised in jurisdiction J for domain D, and through which chain?" */
  async recognition(testerId: string, jurisdiction: string, domain: string): Promise<RecognitionAnswer> {
    const t = await this.org(testerId);
    if (t.kind !== 'tester') throw invalid('not a tester', 'tester');
    return isRecognised(await this.graph(), testerId, jurisdiction, domain, this.now());
  }

  /**
   * A trust file (`assay.trust/v1`) for `assay verify` in jurisdiction J: every registered key of
   * every tester recognised there, scoped to the risk areas it is recognised for and valid until
   * the earliest reassessment date on its chain. Re-export to pick up suspensions.
   */
  async trustExport(jurisdiction: string, domains: string[]) {
    const g = await this.graph();
    const testers = await this.db.selectFrom('orgs').select(['id', 'name']).where('kind', '=', 'tester').orderBy('id').execute();
    const entries: Record<string, unknown>[] = [];
    for (const t of testers) {
      const areas: string[] = [];
      let until = '';
      for (const d of domains) {
        const ans = isRecognised(g, t.id, jurisdiction, d, this.now());
        if (!ans.recognised) continue;
        areas.push(d);
        const acc = g.accreditations.find((a) => a.id === ans.accreditation)!;
        if (!until || acc.reassessBy < until) until = acc.reassessBy;
      }
      if (!areas.length) continue;
      const keys = await this.db.selectFrom('org_keys').select(['key_id', 'public_jwk']).where('org_id', '=', t.id).where('revoked_at', 'is', null).orderBy('key_id').execute();
      for (const k of keys) entries.push({ name: t.name, keyId: k.key_id, publicKey: JSON.parse(k.public_jwk) as unknown, notAfter: until, scopes: { riskAreas: areas } });
    }
    return { schema: 'assay.trust/v1', testers: entries, cosigners: [], accreditationBodies: [], accreditations: [], logs: this.opts.trustedLogs ?? [] };
  }

  // ───────────────────────────── models ─────────────────────────────

  /** A developer registers a model release (its signed release statement), with model facts and a scope decision. */
  async registerModel(actor: Actor | null, developerId: string, m: { release: string; facts?: unknown; scopeDecision?: { inScope: boolean; policyDigest: string; reason?: string } | null }) {
    const a = this.needRole(actor, developerId, 'member');
    const dev = await this.org(developerId);
    if (dev.kind !== 'developer') throw forbidden('only developers register model releases');
    let rel;
    try {
      rel = parseRelease(Buffer.from(m.release, 'utf8'), 'release', await this.orgKeys(developerId));
    } catch (err) {
      throw invalid((err as Error).message, 'release');
    }
    return this.write(async (trx) => {
      const had = await trx.selectFrom('models').select('id').where('release_digest', '=', rel.digest).executeTakeFirst();
      if (had) throw conflict(`release ${rel.digest} is already registered as ${had.id}`);
      const id = newId('mdl');
      const name = `${rel.statement.predicate.model}@${rel.statement.predicate.version}`;
      await trx.insertInto('models').values({ id, developer_id: developerId, name, release_digest: rel.digest, release: m.release, facts: m.facts === undefined ? null : canonicalJson(m.facts), scope_decision: m.scopeDecision ? canonicalJson(m.scopeDecision) : null, in_scope: m.scopeDecision ? Number(m.scopeDecision.inScope) : null, created_at: this.now().toISOString() }).execute();
      await this.event(trx, a, developerId, 'model.register', `model/${id}`, { releaseDigest: rel.digest, name, inScope: m.scopeDecision?.inScope ?? null, policyDigest: m.scopeDecision?.policyDigest ?? null });
      return { id, name, releaseDigest: rel.digest, developerId, inScope: m.scopeDecision?.inScope ?? null };
    });
  }

  async listModels(q: { inScope?: boolean; developerId?: string; cursor?: string; limit?: number }) {
    const limit = q.limit ?? 50;
    let qb = this.db.selectFrom('models').select(['id', 'developer_id', 'name', 'release_digest', 'facts', 'scope_decision', 'created_at']).orderBy('id').limit(limit + 1);
    if (q.developerId) qb = qb.where('developer_id', '=', q.developerId);
    if (q.inScope !== undefined) qb = qb.where('in_scope', '=', Number(q.inScope));
    const after = decodeCursor(q.cursor);
    if (after) qb = qb.where('id', '>', after);
    return paged((await qb.execute()).map(modelView), limit, (r) => r.id);
  }

  async getModel(id: string) {
    const r = await this.db.selectFrom('models').select(['id', 'developer_id', 'name', 'release_digest', 'facts', 'scope_decision', 'created_at']).where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound(`model ${id}`);
    return modelView(r);
  }

  // ───────────────────────────── engagements ─────────────────────────────

  async proposeEngagement(actor: Actor | null, e: { developerId: string; testerId: string; modelId: string; suites: string[]; policyDigest?: string | null; accessLevel: string; windowStart: string; windowEnd: string }) {
    const a = this.need(actor, 'write');
    const side: Party | null = this.role(a, e.developerId) && RANK[this.role(a, e.developerId)!] >= 1 ? 'developer' : this.role(a, e.testerId) && RANK[this.role(a, e.testerId)!] >= 1 ? 'tester' : null;
    if (!side) throw forbidden('only a member of the developer or of the tester proposes an engagement');
    const [dev, tester] = [await this.org(e.developerId), await this.org(e.testerId)];
    if (dev.kind !== 'developer') throw invalid('not a developer', 'developerId');
    if (tester.kind !== 'tester') throw invalid('not a tester', 'testerId');
    const model = await this.db.selectFrom('models').select(['developer_id']).where('id', '=', e.modelId).executeTakeFirst();
    if (!model || model.developer_id !== e.developerId) throw invalid(`model ${e.modelId} is not a release of ${e.developerId}`, 'modelId');
    if (!(Date.parse(e.windowStart) < Date.parse(e.windowEnd))) throw invalid('the window must end after it starts', 'windowEnd');
    return this.write(async (trx) => {
      const c = await this.hasConflict(trx, e.testerId, e.developerId);
      const p = canPropose(c);
      if (!p.ok) throw conflict(p.reason);
      const id = newId('eng');
      const now = this.now().toISOString();
      await trx.insertInto('engagements').values({ id, developer_id: e.developerId, tester_id: e.testerId, model_id: e.modelId, suites: JSON.stringify(e.suites), policy_digest: e.policyDigest ?? null, access_level: e.accessLevel, window_start: e.windowStart, window_end: e.windowEnd, state: 'proposed', grant_digest: null, grant_level: null, created_at: now, updated_at: now }).execute();
      await this.event(trx, a, side === 'developer' ? e.developerId : e.testerId, 'engagement.propose', `engagement/${id}`, { by: side, developer: e.developerId, tester: e.testerId, model: e.modelId, suites: e.suites, policyDigest: e.policyDigest ?? null, accessLevel: e.accessLevel, window: [e.windowStart, e.windowEnd] });
      return this.engagementView(trx, id);
    });
  }

  private async hasConflict(trx: Transaction<RegistryDB>, testerId: string, developerId: string) {
    return Boolean(await trx.selectFrom('conflicts').select('tester_id').where('tester_id', '=', testerId).where('developer_id', '=', developerId).executeTakeFirst());
  }

  /** Which side of an engagement the actor is on, for a write; parties only. */
  private side(a: Actor, e: { developer_id: string; tester_id: string }, min: Role = 'member'): Party {
    const d = this.role(a, e.developer_id);
    const t = this.role(a, e.tester_id);
    if (d && RANK[d] >= RANK[min]) return 'developer';
    if (t && RANK[t] >= RANK[min]) return 'tester';
    throw forbidden('only the engagement\'s parties act on it');
  }

  private async visibleEngagement(actor: Actor | null, id: string, trx: Transaction<RegistryDB> | null = null) {
    const e = await (trx ?? this.db).selectFrom('engagements').selectAll().where('id', '=', id).executeTakeFirst();
    // Not a party (and not the operator): it does not exist, as far as the caller can tell.
    if (!e || !actor || !(actor.operator || this.role(actor, e.developer_id) || this.role(actor, e.tester_id))) throw notFound(`engagement ${id}`);
    return e;
  }

  async transitionEngagement(actor: Actor | null, id: string, action: Exclude<EngagementAction, 'report'>, data: { reason?: string; grantDigest?: string; grantLevel?: string } = {}) {
    const a = this.need(actor, 'write');
    return this.write(async (trx) => {
      const e = await this.visibleEngagement(a, id, trx);
      const side = this.side(a, e);
      const proposedBy = ((await trx.selectFrom('events').select('data').where('subject', '=', `engagement/${id}`).where('kind', '=', 'engagement.propose').executeTakeFirstOrThrow()).data);
      const t = engagementTransition({ state: e.state as EngagementState, proposedBy: (JSON.parse(proposedBy) as { by: Party }).by, conflict: await this.hasConflict(trx, e.tester_id, e.developer_id) }, action, side);
      if (!t.ok) throw conflict(t.reason);
      const set: Record<string, string | null> = { state: t.next, updated_at: this.now().toISOString() };
      if (action === 'grant') {
        if (!data.grantDigest || !/^sha256:[0-9a-f]{64}$/.test(data.grantDigest)) throw invalid('the grant\'s digest (sha256:<hex>) is required', 'grantDigest');
        if (!data.grantLevel) throw invalid('the grant\'s access level is required', 'grantLevel');
        set.grant_digest = data.grantDigest;
        set.grant_level = data.grantLevel;
      }
      await trx.updateTable('engagements').set(set).where('id', '=', id).execute();
      await this.event(trx, a, side === 'developer' ? e.developer_id : e.tester_id, `engagement.${action}`, `engagement/${id}`, { from: e.state, to: t.next, by: side, reason: data.reason ?? null, grantDigest: data.grantDigest ?? null, grantLevel: data.grantLevel ?? null });
      // Accepting opens the tester's grant request; recording a grant settles it (grant-requests.ts).
      if (action === 'accept') await openGrantRequest(trx, e, { origin: 'accept', requestedBy: side === 'tester' ? a.userId : null, actorOrg: e.tester_id, level: e.access_level, budget: null, note: null, at: this.now() });
      if (action === 'grant') await settleOnGrant(trx, id, { userId: a.userId, orgId: e.developer_id }, { grantDigest: data.grantDigest!, grantLevel: data.grantLevel! }, this.now());
      return this.engagementView(trx, id);
    });
  }

  private async engagementView(trx: Transaction<RegistryDB> | null, id: string) {
    const e = await (trx ?? this.db).selectFrom('engagements').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return {
      id: e.id, developerId: e.developer_id, testerId: e.tester_id, modelId: e.model_id, suites: JSON.parse(e.suites) as string[], policyDigest: e.policy_digest, accessLevel: e.access_level,
      windowStart: e.window_start, windowEnd: e.window_end, state: e.state, grantDigest: e.grant_digest, grantLevel: e.grant_level, createdAt: e.created_at, updatedAt: e.updated_at,
    };
  }

  async getEngagement(actor: Actor | null, id: string) {
    this.need(actor, 'read');
    await this.visibleEngagement(actor, id);
    return this.engagementView(null, id);
  }

  async listEngagements(actor: Actor | null, q: { cursor?: string; limit?: number }) {
    const a = this.need(actor, 'read');
    const limit = q.limit ?? 50;
    const orgs = a.memberships.map((m) => m.orgId);
    let qb = this.db.selectFrom('engagements').select('id').orderBy('id').limit(limit + 1);
    if (!a.operator) {
      if (!orgs.length) return { items: [], next: null };
      qb = qb.where((eb) => eb.or([eb('developer_id', 'in', orgs), eb('tester_id', 'in', orgs)]));
    }
    const after = decodeCursor(q.cursor);
    if (after) qb = qb.where('id', '>', after);
    const ids = await qb.execute();
    const items = [];
    for (const r of ids.slice(0, limit)) items.push(await this.engagementView(null, r.id));
    return { items, next: ids.length > limit ? encodeCursor(ids[limit - 1]!.id) : null };
  }

  // ───────────────────────────── reports ─────────────────────────────

  /** Trust for verifying a report in an engagement: the tester's registered keys, scoped to its accreditations in force. */
  async trustFor(testerId: string): Promise<PortableTrust> {
    const g = await this.graph();
    const areas = [...new Set(g.accreditations.filter((a) => a.testerId === testerId && a.state === 'granted' && Date.parse(a.reassessBy) >= this.now().getTime()).flatMap((a) => a.domains))];
    const until = g.accreditations.filter((a) => a.testerId === testerId && a.state === 'granted').map((a) => a.reassessBy).sort().at(-1);
    const keys = await this.db.selectFrom('org_keys').select(['key_id', 'public_jwk']).where('org_id', '=', testerId).where('revoked_at', 'is', null).execute();
    const t = await this.org(testerId);
    return {
      file: `registry:${testerId}`,
      // Keys stay JWKs here: the verifier (a worker thread) parses them once and caches them.
      testers: areas.length ? keys.map((k) => ({ name: t.name, keyId: k.key_id, publicKey: JSON.parse(k.public_jwk) as PublicJwk, notAfter: until, scopes: { riskAreas: areas } })) : [],
      cosigners: [],
      bodies: [],
      accreditations: [],
      logs: (this.opts.trustedLogs ?? []).map((l) => ({ vkey: l.vkey, witnesses: l.witnesses ?? [], witnessesRequired: l.witnessesRequired ?? 0 })) as PortableTrust['logs'],
    };
  }

  /**
   * The tester uploads a signed report (optionally with its run log). The server verifies it as
   * `assay verify` does, with trust from the registry's accreditation graph, and stores the result.
   */
  async uploadReport(actor: Actor | null, engagementId: string, bundle: string, runLog?: Buffer) {
    const a = this.need(actor, 'write');
    const e = await this.visibleEngagement(a, engagementId);
    if (this.side(a, e) !== 'tester') throw forbidden('only the engagement\'s tester submits reports');
    if (!['active', 'reporting'].includes(e.state)) throw conflict(`reports are accepted while the engagement is active or reporting, not ${e.state}`);
    const result = await this.verifier.verify({ bundle, trust: await this.trustFor(e.tester_id), now: this.now().toISOString(), ...(runLog ? { runLog } : {}) });
    if (!result.payloadSha256) throw new RegistryError(422, 'REPORT_UNVERIFIABLE', `the report is not signed by a key this registry knows: ${result.failures[0]?.message ?? 'no signature verified'}`, 'bundle');
    const payloadDigest = `sha256:${result.payloadSha256}`;
    const verification = { ok: result.ok, exitCode: result.exitCode, failures: result.failures, warnings: result.warnings, checkedAt: result.checkedAt, runLogChecked: Boolean(runLog), tlog: result.tlog };
    return this.write(async (trx) => {
      const cur = await trx.selectFrom('engagements').select('state').where('id', '=', engagementId).executeTakeFirstOrThrow();
      const t = engagementTransition({ state: cur.state as EngagementState, proposedBy: 'developer', conflict: false }, 'report', 'tester');
      if (!t.ok) throw conflict(t.reason);
      if (await trx.selectFrom('reports').select('id').where('payload_digest', '=', payloadDigest).executeTakeFirst()) throw conflict(`report ${payloadDigest} is already registered`);
      const id = newId('rep');
      await trx.insertInto('reports').values({ id, engagement_id: engagementId, tester_id: e.tester_id, payload_digest: payloadDigest, bundle, run_log_digest: runLog ? `sha256:${createHash('sha256').update(runLog).digest('hex')}` : null, verification: JSON.stringify(verification), verified: result.ok ? 1 : 0, published_at: null, created_at: this.now().toISOString() }).execute();
      if (cur.state !== t.next) await trx.updateTable('engagements').set({ state: t.next, updated_at: this.now().toISOString() }).where('id', '=', engagementId).execute();
      await this.event(trx, a, e.tester_id, 'report.upload', `report/${id}`, { engagement: engagementId, payloadDigest, verified: result.ok, exitCode: result.exitCode });
      return { id, engagementId, payloadDigest, verified: result.ok, exitCode: result.exitCode, failures: result.failures };
    });
  }

  /** The tester publishes a verified report; it then appears on the public pages and API. */
  async publishReport(actor: Actor | null, id: string) {
    const a = this.need(actor, 'write');
    return this.write(async (trx) => {
      const r = await trx.selectFrom('reports').selectAll().where('id', '=', id).executeTakeFirst();
      if (!r) throw notFound(`report ${id}`);
      const e = await this.visibleEngagement(a, r.engagement_id, trx).catch(() => {
        throw notFound(`report ${id}`);
      });
      if (this.side(a, e) !== 'tester') throw forbidden('only the tester publishes its report');
      if (!r.verified) throw conflict('only a report that verified can be published');
      if (r.published_at) return { id, publishedAt: r.published_at };
      const at = this.now().toISOString();
      await trx.updateTable('reports').set({ published_at: at }).where('id', '=', id).execute();
      await this.event(trx, a, r.tester_id, 'report.publish', `report/${id}`, { payloadDigest: r.payload_digest });
      return { id, publishedAt: at };
    });
  }

  private reportView(r: { id: string; engagement_id: string; tester_id: string; payload_digest: string; run_log_digest: string | null; verification: string; verified: number; published_at: string | null; created_at: string }) {
    return { id: r.id, engagementId: r.engagement_id, testerId: r.tester_id, payloadDigest: r.payload_digest, runLogDigest: r.run_log_digest, verified: Boolean(r.verified), verification: JSON.parse(r.verification) as unknown, publishedAt: r.published_at, createdAt: r.created_at };
  }

  /** A report: public once published; before that, only the engagement's parties see it. */
  async getReport(actor: Actor | null, id: string, withBundle = false) {
    const r = await this.db.selectFrom('reports').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound(`report ${id}`);
    if (!r.published_at) {
      if (!actor?.scopes.includes('read')) throw notFound(`report ${id}`);
      await this.visibleEngagement(actor, r.engagement_id).catch(() => {
        throw notFound(`report ${id}`);
      });
    }
    return { ...this.reportView(r), ...(withBundle ? { bundle: JSON.parse(r.bundle) as unknown } : {}) };
  }

  /** Published reports, newest first (cursor: publication time and id). */
  async listPublishedReports(q: { testerId?: string; modelId?: string; cursor?: string; limit?: number }) {
    const limit = q.limit ?? 50;
    // A published report names the model release its engagement tested (public once published).
    let qb = this.db
      .selectFrom('reports')
      .innerJoin('engagements', 'engagements.id', 'reports.engagement_id')
      .select(['reports.id', 'reports.engagement_id', 'reports.tester_id', 'reports.payload_digest', 'reports.run_log_digest', 'reports.verification', 'reports.verified', 'reports.published_at', 'reports.created_at', 'engagements.model_id'])
      .where('reports.published_at', 'is not', null)
      .orderBy('reports.published_at', 'desc')
      .orderBy('reports.id', 'desc')
      .limit(limit + 1);
    if (q.testerId) qb = qb.where('reports.tester_id', '=', q.testerId);
    if (q.modelId) qb = qb.where('engagements.model_id', '=', q.modelId);
    const after = decodeCursor(q.cursor);
    if (after) {
      const [at, id] = after.split('|');
      if (!at || !id) throw invalid('malformed cursor', 'cursor');
      qb = qb.where((eb) => eb.or([eb('reports.published_at', '<', at), eb.and([eb('reports.published_at', '=', at), eb('reports.id', '<', id)])]));
    }
    const rows = await qb.execute();
    return paged(rows.map((r) => ({ ...this.reportView(r), modelId: r.model_id })), limit, (r) => `${r.publishedAt}|${r.id}`);
  }

  /** Reports of one engagement (its parties). */
  async listEngagementReports(actor: Actor | null, engagementId: string) {
    this.need(actor, 'read');
    await this.visibleEngagement(actor, engagementId);
    const rows = await this.db.selectFrom('reports').select(['id', 'engagement_id', 'tester_id', 'payload_digest', 'run_log_digest', 'verification', 'verified', 'published_at', 'created_at']).where('engagement_id', '=', engagementId).orderBy('created_at').execute();
    return rows.map((r) => this.reportView(r));
  }

  // ───────────────────────────── events ─────────────────────────────

  /** The public event history (kind, subject, digest, log index): what the transparency log commits to. */
  async listEvents(q: { cursor?: string; limit?: number }) {
    const limit = q.limit ?? 100;
    let qb = this.db.selectFrom('events').select(['seq', 'at', 'kind', 'subject', 'digest', 'tlog_index']).orderBy('seq').limit(limit + 1);
    const after = decodeCursor(q.cursor);
    if (after) {
      if (!/^\d{1,15}$/.test(after)) throw invalid('malformed cursor', 'cursor');
      qb = qb.where('seq', '>', Number(after));
    }
    const rows = await qb.execute();
    return paged(rows.map((r) => ({ seq: Number(r.seq), at: r.at, kind: r.kind, subject: r.subject, digest: r.digest, tlogIndex: r.tlog_index === null ? null : Number(r.tlog_index) })), limit, (r) => String(r.seq));
  }
}

/** The first `limit` of `rows` (fetched with limit + 1), and the cursor after the last when there are more. */
export function paged<T>(rows: T[], limit: number, key: (r: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? encodeCursor(key(items[items.length - 1]!)) : null };
}

/** "sha256:<hex>" of a stored envelope's payload bytes: what status statements name. */
const payloadDigestOf = (envelopeJson: string) => `sha256:${createHash('sha256').update(Buffer.from((JSON.parse(envelopeJson) as { payload: string }).payload, 'base64')).digest('hex')}`;

/** Ids for signed statements derive from their payload digest: registering one twice is a conflict, not a copy. */
const idFromDigest = (prefix: string, d: string) => `${prefix}_${d.slice(7, 31)}`;

function orgView(o: { id: string; kind: string; sub_kind: string | null; name: string; jurisdiction: string; created_at: string }) {
  return { id: o.id, kind: o.kind as OrgKind, subKind: o.sub_kind, name: o.name, jurisdiction: o.jurisdiction, createdAt: o.created_at };
}

function modelView(r: { id: string; developer_id: string; name: string; release_digest: string; facts: string | null; scope_decision: string | null; created_at: string }) {
  return {
    id: r.id,
    developerId: r.developer_id,
    name: r.name,
    releaseDigest: r.release_digest,
    facts: r.facts ? (JSON.parse(r.facts) as unknown) : null,
    scopeDecision: r.scope_decision ? (JSON.parse(r.scope_decision) as { inScope: boolean; policyDigest: string; reason?: string }) : null,
    createdAt: r.created_at,
  };
}
