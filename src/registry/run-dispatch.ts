import type { Kysely, Transaction } from 'kysely';
import { appendEvent, newId } from './events.js';
import { RegistryError, afterId, paged, type Actor, type Page, type Registry, requireActor, hasRole, type Role, ROLE_RANK } from './registry.js';
import type { RegistryDB } from './schema.js';

/**
 * Run dispatch (issue 26): the registry holds an engagement's run specifications — which suite
 * (pinned by digest), which model, epochs and seed — and a tester's coordinator pulls them
 * (`assay registry run pull`), runs them locally or on its BullMQ workers, and reports the result.
 * The registry never holds the tester's keys or calls a model: "dispatch" is that pull.
 *
 *   queued ──claim (tester's coordinator; lease)──► claimed ──complete──► completed
 *     ▲                                               │ fail ──► failed
 *     └──────── lease expired (next claim takes it) ──┘
 *   queued | claimed ──cancel (tester)──► cancelled
 *
 * A claim carries a random claim id: only that claim completes or fails the spec, so a
 * coordinator whose lease ran out cannot overwrite the result of the one that took over.
 */
export interface RunSpecsTable {
  id: string;
  engagement_id: string;
  developer_id: string;
  tester_id: string;
  /** JSON {id, version, digest}. */
  suite: string;
  model: string;
  /** JSON {epochs, seed, limit}. */
  config: string;
  state: 'queued' | 'claimed' | 'completed' | 'failed' | 'cancelled';
  claim_id: string | null;
  claimed_by: string | null;
  lease_until: string | null;
  attempts: number;
  /** JSON of the outcome: {runId, logDigest, status, samples, errored, reportId} or {reason}. */
  result: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
}
export type DispatchDB = RegistryDB & { run_specs: RunSpecsTable };

export const RUN_SPEC_STATES = ['queued', 'claimed', 'completed', 'failed', 'cancelled'] as const;
export interface SuiteRef {
  id: string;
  version: string;
  digest: string;
}
export interface RunSpecConfig {
  epochs: number | null;
  seed: number;
  limit: number | null;
}
export interface RunOutcome {
  runId: string;
  logDigest: string;
  status: string;
  samples: number;
  errored: number;
  reportId: string | null;
}

/** How long a claim lasts before another coordinator may take the spec over (renewed by `heartbeat`). */
export const DEFAULT_LEASE_SECONDS = 15 * 60;
/** A spec claimed this many times without a result is failed rather than handed out again. */
export const MAX_ATTEMPTS = 5;
/** Engagement states in which runs are dispatched: access granted and the work not yet over. */
const RUNNABLE = ['active', 'reporting'];

const notFound = (id: string) => new RegistryError(404, 'NOT_FOUND', `run spec ${id} not found`);
const conflict = (why: string) => new RegistryError(409, 'CONFLICT', why);
const forbidden = (why: string) => new RegistryError(403, 'FORBIDDEN', why);
const invalid = (why: string, field?: string) => new RegistryError(400, 'INVALID', why, field);
const t = (trx: Transaction<RegistryDB>) => trx as unknown as Transaction<DispatchDB>;

export function runSpecView(r: RunSpecsTable, viewer?: { claimId?: boolean }) {
  return {
    id: r.id,
    engagementId: r.engagement_id,
    developerId: r.developer_id,
    testerId: r.tester_id,
    suite: JSON.parse(r.suite) as SuiteRef,
    model: r.model,
    config: JSON.parse(r.config) as RunSpecConfig,
    state: r.state,
    // The claim id is the claimer's capability: returned to it once, never listed.
    ...(viewer?.claimId ? { claimId: r.claim_id } : {}),
    claimedBy: r.claimed_by,
    leaseUntil: r.lease_until,
    attempts: r.attempts,
    result: r.result ? (JSON.parse(r.result) as Record<string, unknown>) : null,
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
export type RunSpecView = ReturnType<typeof runSpecView>;

/** Whether a claimed spec's lease has run out at `now` (pure: the domain rule the claim query applies). */
export const leaseExpired = (r: Pick<RunSpecsTable, 'state' | 'lease_until'>, now: Date): boolean => r.state === 'claimed' && r.lease_until !== null && Date.parse(r.lease_until) <= now.getTime();

export class RunDispatch {
  constructor(private readonly reg: Registry) {}

  private get db() {
    return this.reg.db as unknown as Kysely<DispatchDB>;
  }
  private need(actor: Actor | null, scope: 'read' | 'write'): Actor {
    return requireActor(actor, scope);
  }
  private atLeast(a: Actor, orgId: string, min: Role): boolean {
    return hasRole(a, orgId, min);
  }
  private async visible(a: Actor, id: string, db: Kysely<DispatchDB> | Transaction<DispatchDB> = this.db) {
    const r = await db.selectFrom('run_specs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r || !(a.operator || this.atLeast(a, r.developer_id, 'viewer') || this.atLeast(a, r.tester_id, 'viewer'))) throw notFound(id);
    return r;
  }

  /** The tester plans a run in an engagement it is party to (the suite must be one the engagement agreed). */
  async add(actor: Actor | null, engagementId: string, body: { suite: SuiteRef; model: string; epochs?: number | null; seed?: number; limit?: number | null }): Promise<RunSpecView> {
    const a = this.need(actor, 'write');
    const now = this.reg.now();
    return this.reg.commits.run(async (trx) => {
      const e = await trx.selectFrom('engagements').selectAll().where('id', '=', engagementId).executeTakeFirst();
      const party = e && (a.operator || this.atLeast(a, e.developer_id, 'viewer') || this.atLeast(a, e.tester_id, 'viewer'));
      if (!e || !party) throw new RegistryError(404, 'NOT_FOUND', `engagement ${engagementId} not found`);
      if (!this.atLeast(a, e.tester_id, 'member')) throw forbidden('only a member of the engagement\'s tester plans its runs');
      if (!RUNNABLE.includes(e.state)) throw conflict(`runs are dispatched while the engagement is ${RUNNABLE.join(' or ')} (access granted), not ${e.state}`);
      const agreed = JSON.parse(e.suites) as string[];
      if (!agreed.includes(body.suite.id)) throw invalid(`suite ${body.suite.id} is not in the engagement's agreed suites (${agreed.join(', ')})`, 'suite.id');
      const id = newId('rsp');
      const config: RunSpecConfig = { epochs: body.epochs ?? null, seed: body.seed ?? 0, limit: body.limit ?? null };
      await t(trx).insertInto('run_specs').values({
        id, engagement_id: e.id, developer_id: e.developer_id, tester_id: e.tester_id, suite: JSON.stringify(body.suite), model: body.model, config: JSON.stringify(config),
        state: 'queued', claim_id: null, claimed_by: null, lease_until: null, attempts: 0, result: null, created_by: a.userId, created_at: now.toISOString(), updated_at: now.toISOString(),
      }).execute();
      await appendEvent(trx, { actorUser: a.userId, actorOrg: e.tester_id, kind: 'run.dispatch', subject: `run-spec/${id}`, data: { engagement: e.id, suite: body.suite, model: body.model, config }, at: now });
      return runSpecView(await t(trx).selectFrom('run_specs').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
    });
  }

  async list(actor: Actor | null, q: { state?: RunSpecsTable['state']; engagementId?: string; cursor?: string; limit?: number }): Promise<Page<RunSpecView>> {
    const a = this.need(actor, 'read');
    const limit = q.limit ?? 50;
    const orgs = a.memberships.map((m) => m.orgId);
    if (!a.operator && !orgs.length) return { items: [], next: null };
    let qb = this.db.selectFrom('run_specs').selectAll().orderBy('id').limit(limit + 1);
    if (!a.operator) qb = qb.where((eb) => eb.or([eb('developer_id', 'in', orgs), eb('tester_id', 'in', orgs)]));
    if (q.state) qb = qb.where('state', '=', q.state);
    if (q.engagementId) qb = qb.where('engagement_id', '=', q.engagementId);
    const after = afterId(q.cursor, /^rsp_[\w-]{8,40}$/);
    if (after) qb = qb.where('id', '>', after);
    const page = paged(await qb.execute(), limit, (r) => r.id);
    return { items: page.items.map((r) => runSpecView(r)), next: page.next };
  }

  async get(actor: Actor | null, id: string): Promise<RunSpecView> {
    return runSpecView(await this.visible(this.need(actor, 'read'), id));
  }

  /**
   * A tester's coordinator takes the oldest runnable spec of its organisations (optionally of one
   * engagement): queued, or claimed with its lease run out. One transaction under the registry's
   * write lock, so two coordinators never hold the same spec.
   */
  async claim(actor: Actor | null, q: { engagementId?: string; leaseSeconds?: number }): Promise<RunSpecView | null> {
    const a = this.need(actor, 'write');
    const now = this.reg.now();
    const lease = Math.min(Math.max(q.leaseSeconds ?? DEFAULT_LEASE_SECONDS, 30), 24 * 3600);
    const orgs = a.memberships.filter((m) => m.kind === 'tester' && ROLE_RANK[m.role] >= ROLE_RANK.member).map((m) => m.orgId);
    if (!orgs.length) throw forbidden('only a member of a tester organisation claims runs');
    return this.reg.commits.run(async (trx) => {
      let qb = t(trx).selectFrom('run_specs').selectAll().where('tester_id', 'in', orgs)
        .where((eb) => eb.or([eb('state', '=', 'queued'), eb.and([eb('state', '=', 'claimed'), eb('lease_until', '<=', now.toISOString())])]))
        .orderBy('created_at').orderBy('id').limit(20);
      if (q.engagementId) qb = qb.where('engagement_id', '=', q.engagementId);
      for (const r of await qb.execute()) {
        const e = await trx.selectFrom('engagements').select(['state']).where('id', '=', r.engagement_id).executeTakeFirstOrThrow();
        // The engagement ended or was suspended since the spec was planned: the spec is not handed out.
        if (!RUNNABLE.includes(e.state)) continue;
        if (r.attempts >= MAX_ATTEMPTS) {
          await this.finish(trx, r, 'failed', { reason: `claimed ${r.attempts} times without a result; planned again by the tester if still wanted` }, a, now);
          continue;
        }
        const claimId = newId('clm');
        const taken = await t(trx).updateTable('run_specs')
          .set({ state: 'claimed', claim_id: claimId, claimed_by: a.userId, lease_until: new Date(now.getTime() + lease * 1000).toISOString(), attempts: r.attempts + 1, updated_at: now.toISOString() })
          .where('id', '=', r.id).where('state', '=', r.state).where('attempts', '=', r.attempts)
          .executeTakeFirst();
        if (Number(taken.numUpdatedRows) !== 1) continue;
        await appendEvent(trx, { actorUser: a.userId, actorOrg: r.tester_id, kind: 'run.claim', subject: `run-spec/${r.id}`, data: { engagement: r.engagement_id, attempt: r.attempts + 1, takenOver: r.state === 'claimed', leaseSeconds: lease }, at: now });
        return runSpecView(await t(trx).selectFrom('run_specs').selectAll().where('id', '=', r.id).executeTakeFirstOrThrow(), { claimId: true });
      }
      return null;
    });
  }

  /** The claimer extends its lease while its run goes on. */
  async heartbeat(actor: Actor | null, id: string, claimId: string, leaseSeconds?: number): Promise<RunSpecView> {
    const a = this.need(actor, 'write');
    const now = this.reg.now();
    const lease = Math.min(Math.max(leaseSeconds ?? DEFAULT_LEASE_SECONDS, 30), 24 * 3600);
    return this.reg.commits.run(async (trx) => {
      const r = await this.claimed(a, id, claimId, trx, now);
      await t(trx).updateTable('run_specs').set({ lease_until: new Date(now.getTime() + lease * 1000).toISOString(), updated_at: now.toISOString() }).where('id', '=', r.id).execute();
      return runSpecView(await t(trx).selectFrom('run_specs').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
    });
  }

  /** The claimer reports the run: completed with its run id and log digest, or failed with a reason. */
  async report(actor: Actor | null, id: string, claimId: string, outcome: { completed: RunOutcome } | { failed: string }): Promise<RunSpecView> {
    const a = this.need(actor, 'write');
    const now = this.reg.now();
    return this.reg.commits.run(async (trx) => {
      const r = await this.claimed(a, id, claimId, trx, now);
      if ('completed' in outcome) await this.finish(trx, r, 'completed', outcome.completed, a, now);
      else await this.finish(trx, r, 'failed', { reason: outcome.failed }, a, now);
      return runSpecView(await t(trx).selectFrom('run_specs').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
    });
  }

  /** The tester cancels a spec not yet finished. */
  async cancel(actor: Actor | null, id: string, reason: string | null): Promise<RunSpecView> {
    const a = this.need(actor, 'write');
    const now = this.reg.now();
    return this.reg.commits.run(async (trx) => {
      const r = await this.visible(a, id, t(trx));
      if (!this.atLeast(a, r.tester_id, 'member')) throw forbidden('only a member of the engagement\'s tester cancels its runs');
      if (r.state !== 'queued' && r.state !== 'claimed') throw conflict(`run spec ${id} is ${r.state}`);
      await this.finish(trx, r, 'cancelled', { reason }, a, now);
      return runSpecView(await t(trx).selectFrom('run_specs').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
    });
  }

  private async claimed(a: Actor, id: string, claimId: string, trx: Transaction<RegistryDB>, now: Date): Promise<RunSpecsTable> {
    const r = await this.visible(a, id, t(trx));
    if (!this.atLeast(a, r.tester_id, 'member')) throw forbidden('only the engagement\'s tester reports its runs');
    if (r.state !== 'claimed') throw conflict(`run spec ${id} is ${r.state}, not claimed`);
    if (r.claim_id !== claimId) throw conflict(`run spec ${id} is held by another claim (this one ran out and was taken over, or never held it)`);
    if (leaseExpired(r, now)) throw conflict(`the claim on run spec ${id} ran out at ${r.lease_until}; another coordinator may take it`);
    return r;
  }

  private async finish(trx: Transaction<RegistryDB>, r: RunSpecsTable, state: 'completed' | 'failed' | 'cancelled', result: object, a: Actor, now: Date): Promise<void> {
    await t(trx).updateTable('run_specs').set({ state, result: JSON.stringify(result), claim_id: null, lease_until: null, updated_at: now.toISOString() }).where('id', '=', r.id).execute();
    await appendEvent(trx, { actorUser: a.userId, actorOrg: r.tester_id, kind: `run.${state === 'completed' ? 'complete' : state === 'failed' ? 'fail' : 'cancel'}`, subject: `run-spec/${r.id}`, data: { engagement: r.engagement_id, ...result }, at: now });
  }
}
