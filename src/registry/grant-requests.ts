import type { Kysely, Transaction } from 'kysely';
import { ACCESS_LEVELS, type AccessLevel } from '../model/types.js';
import { engagementTransition, type EngagementState } from './engagement.js';
import { appendEvent, newId } from './events.js';
import { RegistryError, afterId, paged, type Actor, type Page, type Registry, requireActor, hasRole, type Role } from './registry.js';
import type { RegistryDB } from './schema.js';

/**
 * Grant requests: a tester asks for gateway access in an engagement; the engagement's developer
 * sees the request, issues the grant with its own gateway key (the registry never holds it) and
 * approves the request with the grant's digest, level, budget and expiry, or refuses it. Accepting
 * an engagement opens one automatically. Every step is an event in the same transaction.
 *
 *   pending ──approve (developer)──► approved
 *      │ refuse (developer) ──► refused
 *      │ withdraw (tester)  ──► withdrawn
 */
export interface GrantRequestsTable {
  id: string;
  engagement_id: string;
  developer_id: string;
  tester_id: string;
  /** 'accept' (opened by accepting the engagement) or 'tester' (asked for explicitly). */
  origin: string;
  requested_by: string | null;
  level: string;
  /** JSON {tokens, costUsd} (null members: no limit asked) or null. */
  budget: string | null;
  note: string | null;
  state: 'pending' | 'approved' | 'refused' | 'withdrawn';
  /** JSON of the decision: {level, budget, expiresAt, grantDigest} or {reason}. */
  decision: string | null;
  decided_by: string | null;
  created_at: string;
  decided_at: string | null;
}
export type GrantDB = RegistryDB & { grant_requests: GrantRequestsTable };

export const GRANT_REQUEST_STATES = ['pending', 'approved', 'refused', 'withdrawn'] as const;
export interface Budget {
  tokens: number | null;
  costUsd: number | null;
}

const notFound = (id: string) => new RegistryError(404, 'NOT_FOUND', `grant request ${id} not found`);
const conflict = (why: string) => new RegistryError(409, 'CONFLICT', why);
const invalid = (why: string, field?: string) => new RegistryError(400, 'INVALID', why, field);
const forbidden = (why: string) => new RegistryError(403, 'FORBIDDEN', why);

/** Where a request can be opened: an engagement agreed and not over. */
const OPEN_STATES: EngagementState[] = ['accepted', 'active', 'reporting'];

const t = (trx: Transaction<RegistryDB>) => trx as unknown as Transaction<GrantDB>;

/** Opens a grant request inside the caller's transaction (engagement acceptance uses this). */
export async function openGrantRequest(
  trx: Transaction<RegistryDB>,
  e: { id: string; developer_id: string; tester_id: string; access_level: string },
  r: { origin: 'accept' | 'tester'; requestedBy: string | null; actorOrg: string | null; level: string; budget: Budget | null; note: string | null; at: Date },
): Promise<string> {
  const pending = await t(trx).selectFrom('grant_requests').select('id').where('engagement_id', '=', e.id).where('state', '=', 'pending').executeTakeFirst();
  if (pending) throw conflict(`engagement ${e.id} already has a pending grant request (${pending.id})`);
  const id = newId('grq');
  await t(trx).insertInto('grant_requests').values({
    id, engagement_id: e.id, developer_id: e.developer_id, tester_id: e.tester_id, origin: r.origin, requested_by: r.requestedBy, level: r.level,
    budget: r.budget ? JSON.stringify(r.budget) : null, note: r.note, state: 'pending', decision: null, decided_by: null, created_at: r.at.toISOString(), decided_at: null,
  }).execute();
  await appendEvent(trx, { actorUser: r.requestedBy, actorOrg: r.actorOrg, kind: 'grant.request', subject: `grant-request/${id}`, data: { engagement: e.id, origin: r.origin, level: r.level, budget: r.budget, note: r.note }, at: r.at });
  return id;
}

/**
 * The engagement's `grant` action (recording a grant without going through a request) settles the
 * pending request it answers, so no request stays pending beside a grant in force.
 */
export async function settleOnGrant(trx: Transaction<RegistryDB>, engagementId: string, by: { userId: string; orgId: string }, g: { grantDigest: string; grantLevel: string }, at: Date): Promise<void> {
  const pending = await t(trx).selectFrom('grant_requests').select(['id', 'level']).where('engagement_id', '=', engagementId).where('state', '=', 'pending').executeTakeFirst();
  if (!pending) return;
  const decision = { grantDigest: g.grantDigest, level: g.grantLevel, budget: null, expiresAt: null, reason: 'recorded with the engagement\'s grant action' };
  await t(trx).updateTable('grant_requests').set({ state: 'approved', decision: JSON.stringify(decision), decided_by: by.userId, decided_at: at.toISOString() }).where('id', '=', pending.id).execute();
  await appendEvent(trx, { actorUser: by.userId, actorOrg: by.orgId, kind: 'grant.approve', subject: `grant-request/${pending.id}`, data: { engagement: engagementId, requested: pending.level, ...decision }, at });
}

export function grantRequestView(r: GrantRequestsTable) {
  return {
    id: r.id, engagementId: r.engagement_id, developerId: r.developer_id, testerId: r.tester_id, origin: r.origin, requestedBy: r.requested_by, level: r.level,
    budget: r.budget ? (JSON.parse(r.budget) as Budget) : null, note: r.note, state: r.state, decision: r.decision ? (JSON.parse(r.decision) as Record<string, unknown>) : null,
    decidedBy: r.decided_by, createdAt: r.created_at, decidedAt: r.decided_at,
  };
}
export type GrantRequestView = ReturnType<typeof grantRequestView>;

/** The grant-request workflow over a registry (authorisation first; a refused request changes nothing). */
export class GrantRequests {
  constructor(private readonly reg: Registry) {}

  private get db() {
    return this.reg.db as unknown as Kysely<GrantDB>;
  }
  private need(actor: Actor | null, scope: 'read' | 'write'): Actor {
    return requireActor(actor, scope);
  }
  private atLeast(a: Actor, orgId: string, min: Role): boolean {
    return hasRole(a, orgId, min);
  }
  /** A party (any role) or the operator sees it; to anyone else it does not exist. */
  private async visible(a: Actor, id: string, db: Kysely<GrantDB> | Transaction<GrantDB> = this.db) {
    const r = await db.selectFrom('grant_requests').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r || !(a.operator || this.atLeast(a, r.developer_id, 'viewer') || this.atLeast(a, r.tester_id, 'viewer'))) throw notFound(id);
    return r;
  }

  /** The tester asks for (more) access in an engagement it is party to. */
  async request(actor: Actor | null, engagementId: string, body: { level: AccessLevel; budget?: Budget | null; note?: string | null }): Promise<GrantRequestView> {
    const a = this.need(actor, 'write');
    return this.reg.commits.run(async (trx) => {
      const e = await trx.selectFrom('engagements').selectAll().where('id', '=', engagementId).executeTakeFirst();
      const party = e && (a.operator || this.atLeast(a, e.developer_id, 'viewer') || this.atLeast(a, e.tester_id, 'viewer'));
      if (!e || !party) throw new RegistryError(404, 'NOT_FOUND', `engagement ${engagementId} not found`);
      if (!this.atLeast(a, e.tester_id, 'member')) throw forbidden('only a member of the engagement\'s tester asks for access');
      if (!OPEN_STATES.includes(e.state as EngagementState)) throw conflict(`access is requested while the engagement is ${OPEN_STATES.join(', ')}, not ${e.state}`);
      const id = await openGrantRequest(trx, e, { origin: 'tester', requestedBy: a.userId, actorOrg: e.tester_id, level: body.level, budget: body.budget ?? null, note: body.note ?? null, at: this.reg.now() });
      return grantRequestView(await t(trx).selectFrom('grant_requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
    });
  }

  /** Requests the caller's organisations are party to (developer: its inbox; tester: its asks), in id order. */
  async list(actor: Actor | null, q: { state?: GrantRequestsTable['state']; engagementId?: string; cursor?: string; limit?: number }): Promise<Page<GrantRequestView>> {
    const a = this.need(actor, 'read');
    const limit = q.limit ?? 50;
    const orgs = a.memberships.map((m) => m.orgId);
    if (!a.operator && !orgs.length) return { items: [], next: null };
    let qb = this.db.selectFrom('grant_requests').selectAll().orderBy('id').limit(limit + 1);
    if (!a.operator) qb = qb.where((eb) => eb.or([eb('developer_id', 'in', orgs), eb('tester_id', 'in', orgs)]));
    if (q.state) qb = qb.where('state', '=', q.state);
    if (q.engagementId) qb = qb.where('engagement_id', '=', q.engagementId);
    const after = afterId(q.cursor, /^grq_[\w-]{8,40}$/);
    if (after) qb = qb.where('id', '>', after);
    const page = paged(await qb.execute(), limit, (r) => r.id);
    return { items: page.items.map(grantRequestView), next: page.next };
  }

  async get(actor: Actor | null, id: string): Promise<GrantRequestView> {
    return grantRequestView(await this.visible(this.need(actor, 'read'), id));
  }

  /**
   * The developer approves: it has issued the grant with its own gateway (`assay grant issue`) and
   * records the token's digest and the terms it carries. An `accepted` engagement becomes active.
   */
  async approve(actor: Actor | null, id: string, d: { grantDigest: string; level: AccessLevel; budget: Budget; expiresAt: string; reason?: string | null }): Promise<GrantRequestView> {
    const a = this.need(actor, 'write');
    const now = this.reg.now();
    return this.reg.commits.run(async (trx) => {
      const r = await this.visible(a, id, t(trx));
      if (!this.atLeast(a, r.developer_id, 'member')) throw forbidden('only a member of the engagement\'s developer approves a grant request');
      if (r.state !== 'pending') throw conflict(`grant request ${id} is ${r.state}, not pending`);
      if (!ACCESS_LEVELS.includes(d.level)) throw invalid(`unknown access level ${d.level}`, 'level');
      const e = await trx.selectFrom('engagements').selectAll().where('id', '=', r.engagement_id).executeTakeFirstOrThrow();
      if (!OPEN_STATES.includes(e.state as EngagementState)) throw conflict(`the engagement is ${e.state}; grants are recorded while it is ${OPEN_STATES.join(', ')}`);
      const exp = Date.parse(d.expiresAt);
      if (!(exp > now.getTime())) throw invalid('the grant has already expired', 'expiresAt');
      if (exp > Date.parse(e.window_end)) throw invalid(`the grant outlives the engagement's window (ends ${e.window_end})`, 'expiresAt');
      if (await trx.selectFrom('engagements').select('id').where('grant_digest', '=', d.grantDigest).where('id', '!=', e.id).executeTakeFirst()) throw conflict('this grant is already recorded for another engagement');
      const decision = { grantDigest: d.grantDigest, level: d.level, budget: d.budget, expiresAt: new Date(exp).toISOString(), reason: d.reason ?? null };
      await t(trx).updateTable('grant_requests').set({ state: 'approved', decision: JSON.stringify(decision), decided_by: a.userId, decided_at: now.toISOString() }).where('id', '=', id).execute();
      // The engagement carries the grant in force (the latest approved), so verdicts can rely on the level actually granted.
      const tr = e.state === 'accepted' ? engagementTransition({ state: 'accepted', proposedBy: 'developer', conflict: false }, 'grant', 'developer') : null;
      if (tr && !tr.ok) throw conflict(tr.reason);
      await trx.updateTable('engagements').set({ state: tr?.ok ? tr.next : e.state, grant_digest: d.grantDigest, grant_level: d.level, updated_at: now.toISOString() }).where('id', '=', e.id).execute();
      await appendEvent(trx, { actorUser: a.userId, actorOrg: r.developer_id, kind: 'grant.approve', subject: `grant-request/${id}`, data: { engagement: e.id, requested: r.level, ...decision, engagementFrom: e.state, engagementTo: tr?.ok ? tr.next : e.state }, at: now });
      return grantRequestView(await t(trx).selectFrom('grant_requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
    });
  }

  /** The developer refuses (with a reason), or the tester withdraws its own request. */
  async close(actor: Actor | null, id: string, action: 'refuse' | 'withdraw', reason: string | null): Promise<GrantRequestView> {
    const a = this.need(actor, 'write');
    const now = this.reg.now();
    return this.reg.commits.run(async (trx) => {
      const r = await this.visible(a, id, t(trx));
      const org = action === 'refuse' ? r.developer_id : r.tester_id;
      if (!this.atLeast(a, org, 'member')) throw forbidden(action === 'refuse' ? 'only a member of the engagement\'s developer refuses a grant request' : 'only a member of the engagement\'s tester withdraws its request');
      if (r.state !== 'pending') throw conflict(`grant request ${id} is ${r.state}, not pending`);
      const state = action === 'refuse' ? 'refused' : 'withdrawn';
      await t(trx).updateTable('grant_requests').set({ state, decision: JSON.stringify({ reason }), decided_by: a.userId, decided_at: now.toISOString() }).where('id', '=', id).execute();
      await appendEvent(trx, { actorUser: a.userId, actorOrg: org, kind: `grant.${action}`, subject: `grant-request/${id}`, data: { engagement: r.engagement_id, reason }, at: now });
      return grantRequestView(await t(trx).selectFrom('grant_requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
    });
  }
}
