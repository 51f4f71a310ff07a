import { createHash, randomBytes } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import { canonicalJson } from '../common/canonical.js';
import { computeClock, dueActions, graceRefusal, clockPolicy, type ClockPolicy } from './disclosure-clock.js';
import { findingTransition, foldFinding, isRestricted, publishable, type FindingAction, type FindingEvent, type FindingFacts, type FindingSide, type FindingState } from './finding.js';
import { agencyJurisdictionsFor } from './jurisdiction.js';
import { appendEvent } from './events.js';
import { notify } from './notify.js';
import { RegistryError, type Actor, requireActor } from './registry.js';
import type { GroupCommit } from './group-commit.js';
import type { RegistryStore } from './db.js';
import type { RegistryDB } from './schema.js';
import type { FindingsTable } from './findings-schema.js';

/**
 * Findings and coordinated disclosure (persistence and authorisation). The state and every
 * deadline are folds of the finding's registry events (finding.ts, disclosure-clock.ts); the row
 * keeps a copy for queries, rewritten in the same transaction as each event. Who sees what:
 *  - the reporting tester and the developer (their members; viewers read) — everything;
 *  - agencies matching the finding's jurisdictions and risk domain — everything, once
 *    pre-notified (before that, nothing), under embargo until publication;
 *  - anyone else (other testers, other agencies, the operator, the public) — before publication
 *    only that the identifier exists; after publication the record and its timeline, with the
 *    details of a restricted-class finding withheld (its commitment public) unless revealed to them.
 */
const FID = /^AF-(\d{4})-([0-9A-F]{6})-(\d{5,9})$/;
export const FINDING_ID_PATTERN = FID.source;
/** The registry's own numbering scope, for testers without an accreditation ("last resort"). */
export const REGISTRY_SCOPE = '000000';
const SEVERITIES = ['low', 'moderate', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export { SEVERITIES };

const RANK = { viewer: 0, member: 1, admin: 2 } as const;
const notFound = (what: string) => new RegistryError(404, 'NOT_FOUND', `${what} not found`);
const forbidden = (why: string) => new RegistryError(403, 'FORBIDDEN', why);
const invalid = (why: string, field?: string) => new RegistryError(400, 'INVALID', why, field);
const conflict = (why: string) => new RegistryError(409, 'CONFLICT', why);

export interface FindingDetails {
  description: string;
  reproduction: string;
  /** Links to signed reports (by payload digest), selectively disclosed transcripts (Merkle proofs), other references. */
  evidence: { kind: 'report' | 'transcript' | 'link'; ref: string; digest?: string; proof?: unknown }[];
}

export interface FileFinding {
  reporterId: string;
  engagementId?: string | null;
  modelIds: string[];
  id?: string;
  title: string;
  riskDomain: string;
  severity: Severity;
  inTheWild: boolean;
  jurisdictions?: string[];
  details: FindingDetails;
}

const scopeOf = (orgId: string) => createHash('sha256').update(orgId).digest('hex').slice(0, 6).toUpperCase();
export const commitDetails = (nonce: Buffer, details: unknown) =>
  `sha256:${createHash('sha256').update('assay/commit/v1\n').update(nonce).update(createHash('sha256').update(canonicalJson(details as Record<string, unknown>)).digest()).digest('hex')}`;

export class Findings {
  readonly clock: ClockPolicy;
  constructor(
    readonly store: RegistryStore,
    readonly now: () => Date,
    clock: Partial<ClockPolicy> = {},
    /** The registry's group commit, so findings share its serialised writes and fsyncs (absent: own transactions). */
    private readonly commits?: GroupCommit,
  ) {
    this.clock = clockPolicy(clock);
  }

  get db() {
    return this.store.db;
  }

  /** Same serialisation as the registry's writes (one event chain). */
  async write<T>(fn: (trx: Transaction<RegistryDB>) => Promise<T>): Promise<T> {
    if (this.commits) return this.commits.run(fn);
    return this.db.transaction().execute(async (trx) => {
      if (this.store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(730519)`.execute(trx);
      return fn(trx);
    });
  }

  private need(actor: Actor | null, scope: 'read' | 'write'): Actor {
    return requireActor(actor, scope);
  }
  private role(a: Actor | null, orgId: string) {
    return a?.memberships.find((m) => m.orgId === orgId)?.role ?? null;
  }
  private atLeast(a: Actor | null, orgId: string, min: keyof typeof RANK) {
    const r = this.role(a, orgId);
    return r !== null && RANK[r] >= RANK[min];
  }
  private needMember(a: Actor, orgId: string, what: string) {
    if (!this.atLeast(a, orgId, 'member')) throw forbidden(`needs the member role in organisation ${orgId} to ${what}`);
  }

  private async accredited(trx: Transaction<RegistryDB> | null, testerId: string): Promise<boolean> {
    const rows = await (trx ?? this.db).selectFrom('accreditations').select('reassess_by').where('tester_id', '=', testerId).where('state', '=', 'granted').execute();
    return rows.some((r) => Date.parse(r.reassess_by) >= this.now().getTime());
  }

  private async allocate(trx: Transaction<RegistryDB>, testerId: string, scope: string, filed: boolean): Promise<string> {
    const year = this.now().getUTCFullYear();
    const last = await trx.selectFrom('finding_ids').select(sql<number>`max(seq)`.as('m')).where('scope', '=', scope).where('year', '=', year).executeTakeFirst();
    const seq = Number(last?.m ?? 0) + 1;
    const id = `AF-${year}-${scope}-${String(seq).padStart(5, '0')}`;
    await trx.insertInto('finding_ids').values({ id, scope, year, seq, tester_id: testerId, reserved_at: this.now().toISOString(), filed: filed ? 1 : 0 }).execute();
    return id;
  }

  /** CVE-style reservation: an accredited tester reserves identifiers in its own scope. */
  async reserve(actor: Actor | null, testerId: string, count: number) {
    const a = this.need(actor, 'write');
    this.needMember(a, testerId, 'reserve finding identifiers');
    if (!Number.isInteger(count) || count < 1 || count > 20) throw invalid('count must be 1..20', 'count');
    return this.write(async (trx) => {
      const org = await trx.selectFrom('orgs').select('kind').where('id', '=', testerId).executeTakeFirst();
      if (org?.kind !== 'tester') throw forbidden('only testers reserve finding identifiers');
      if (!(await this.accredited(trx, testerId))) throw forbidden('only an accredited tester holds a numbering scope; file without an identifier to get one from the registry');
      const ids: string[] = [];
      for (let i = 0; i < count; i++) ids.push(await this.allocate(trx, testerId, scopeOf(testerId), false));
      await appendEvent(trx, { actorUser: a.userId, actorOrg: testerId, kind: 'finding.reserve', subject: `org/${testerId}`, data: { ids }, at: this.now() });
      return { ids };
    });
  }

  /** A tester files a finding: in its engagement, or against a registered (deployed) model release. */
  async file(actor: Actor | null, f: FileFinding) {
    const a = this.need(actor, 'write');
    this.needMember(a, f.reporterId, 'file a finding for it');
    return this.write(async (trx) => {
      const reporter = await trx.selectFrom('orgs').select(['kind']).where('id', '=', f.reporterId).executeTakeFirst();
      if (reporter?.kind !== 'tester') throw forbidden('only testers file findings');
      const models = await trx.selectFrom('models').select(['id', 'developer_id']).where('id', 'in', f.modelIds).execute();
      const missing = f.modelIds.find((m) => !models.some((x) => x.id === m));
      if (missing) throw invalid(`model ${missing} is not registered`, 'modelIds');
      const devs = [...new Set(models.map((m) => m.developer_id))];
      if (devs.length !== 1) throw invalid('the affected releases must all be one developer\'s (file one finding per developer)', 'modelIds');
      const developerId = devs[0]!;
      if (f.engagementId) {
        const e = await trx.selectFrom('engagements').select(['tester_id', 'developer_id', 'model_id']).where('id', '=', f.engagementId).executeTakeFirst();
        if (!e || e.tester_id !== f.reporterId) throw notFound(`engagement ${f.engagementId}`);
        if (e.developer_id !== developerId) throw invalid('the affected releases are not the engagement developer\'s', 'modelIds');
      }
      const dev = await trx.selectFrom('orgs').select('jurisdiction').where('id', '=', developerId).executeTakeFirstOrThrow();
      let id: string;
      if (f.id) {
        const r = await trx.selectFrom('finding_ids').selectAll().where('id', '=', f.id).executeTakeFirst();
        if (!r || r.tester_id !== f.reporterId) throw notFound(`reserved identifier ${f.id}`);
        if (r.filed) throw conflict(`identifier ${f.id} is already used`);
        await trx.updateTable('finding_ids').set({ filed: 1 }).where('id', '=', f.id).execute();
        id = f.id;
      } else {
        id = await this.allocate(trx, f.reporterId, (await this.accredited(trx, f.reporterId)) ? scopeOf(f.reporterId) : REGISTRY_SCOPE, true);
      }
      const now = this.now();
      const nonce = randomBytes(32);
      const restricted = isRestricted(f.riskDomain, f.severity);
      const row: FindingsTable = {
        id, reporter_id: f.reporterId, developer_id: developerId, engagement_id: f.engagementId ?? null, title: f.title, risk_domain: f.riskDomain, severity: f.severity, restricted: restricted ? 1 : 0,
        models: JSON.stringify(f.modelIds), jurisdictions: JSON.stringify([...new Set(f.jurisdictions?.length ? f.jurisdictions : [dev.jurisdiction])].sort()), details: canonicalJson(f.details as unknown as Record<string, unknown>),
        details_digest: commitDetails(nonce, f.details), details_nonce: nonce.toString('base64url'), clock: JSON.stringify(this.clock), state: 'reported', in_the_wild: f.inTheWild ? 1 : 0,
        notified_at: now.toISOString(), fix_deadline: null, disclosure_at: null, prenotify_at: null, prenotified_at: null, published_at: null, created_at: now.toISOString(), updated_at: now.toISOString(),
      };
      await trx.insertInto('findings').values(row).execute();
      // The event commits to the details by digest only: the log never carries hazardous text.
      await this.event(trx, a, f.reporterId, id, 'file', { reporter: f.reporterId, developer: developerId, severity: f.severity, riskDomain: f.riskDomain, restricted, inTheWild: f.inTheWild, detailsDigest: row.details_digest, models: f.modelIds });
      await this.refresh(trx, id);
      await notify(trx, [developerId, f.reporterId], { kind: 'finding.filed', subject: `finding/${id}`, data: { finding: id, severity: f.severity, inTheWild: f.inTheWild } }, now);
      return this.view(trx, a, id);
    });
  }

  private event(trx: Transaction<RegistryDB>, a: Actor | null, org: string | null, id: string, kind: string, data: Record<string, unknown>) {
    return appendEvent(trx, { actorUser: a?.userId ?? null, actorOrg: org, kind: `finding.${kind}`, subject: `finding/${id}`, data, at: this.now() });
  }

  private async history(trx: Transaction<RegistryDB> | null, id: string) {
    const rows = await (trx ?? this.db).selectFrom('events').select(['seq', 'at', 'kind', 'data', 'actor_org']).where('subject', '=', `finding/${id}`).orderBy('seq').execute();
    return rows.filter((r) => r.kind.startsWith('finding.') && r.kind !== 'finding.reserve').map((r) => ({ kind: r.kind.slice(8), at: r.at, data: JSON.parse(r.data) as Record<string, unknown>, actorOrg: r.actor_org }));
  }

  private async facts(trx: Transaction<RegistryDB> | null, id: string): Promise<{ f: FindingFacts; events: (FindingEvent & { actorOrg: string | null })[] }> {
    const events = await this.history(trx, id);
    return { f: foldFinding(events), events };
  }

  /** Rewrites the row's copy of the fold (state, deadlines) after an event. */
  private async refresh(trx: Transaction<RegistryDB>, id: string) {
    const row = await trx.selectFrom('findings').select('clock').where('id', '=', id).executeTakeFirstOrThrow();
    const { f } = await this.facts(trx, id);
    const c = computeClock(f, JSON.parse(row.clock) as ClockPolicy);
    await trx.updateTable('findings').set({
      state: f.state, in_the_wild: f.inTheWildSince ? 1 : 0, fix_deadline: c?.fixDeadline.toISOString() ?? null, disclosure_at: c && !f.publishedAt ? c.disclosureAt.toISOString() : (f.publishedAt?.toISOString() ?? null),
      prenotify_at: c?.preNotifyAt.toISOString() ?? null, prenotified_at: f.preNotifiedAt?.toISOString() ?? null, published_at: f.publishedAt?.toISOString() ?? null, updated_at: this.now().toISOString(),
    }).where('id', '=', id).execute();
    return f;
  }

  private async row(trx: Transaction<RegistryDB> | null, id: string) {
    return (trx ?? this.db).selectFrom('findings').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The caller's side on a finding, for writes (members and admins). */
  private side(a: Actor, r: { developer_id: string; reporter_id: string }): FindingSide | null {
    if (this.atLeast(a, r.developer_id, 'member')) return 'developer';
    if (this.atLeast(a, r.reporter_id, 'member')) return 'reporter';
    return null;
  }

  private async agencyParty(trx: Transaction<RegistryDB> | null, a: Actor | null, findingId: string, role: 'agency' | 'reveal') {
    if (!a) return null;
    const orgs = a.memberships.map((m) => m.orgId);
    if (!orgs.length) return null;
    return (await (trx ?? this.db).selectFrom('finding_parties').select('org_id').where('finding_id', '=', findingId).where('role', '=', role).where('org_id', 'in', orgs).executeTakeFirst())?.org_id ?? null;
  }

  /** How much of a finding the caller may see: all (parties, notified agencies), public (published), or existence only. */
  private async access(trx: Transaction<RegistryDB> | null, a: Actor | null, r: FindingsTable): Promise<'party' | 'agency' | 'public' | 'existence'> {
    const reads = a?.scopes.includes('read') ? a : null;
    if (reads && (this.role(reads, r.developer_id) || this.role(reads, r.reporter_id))) return 'party';
    if (reads && (await this.agencyParty(trx, reads, r.id, 'agency'))) return 'agency';
    return r.published_at ? 'public' : 'existence';
  }

  /** Write access for the engagement's sides (refused callers learn nothing beyond existence). */
  private async forWrite(trx: Transaction<RegistryDB>, a: Actor, id: string) {
    const r = await this.row(trx, id);
    if (!r) throw notFound(`finding ${id}`);
    const side = this.side(a, r);
    if (!side) {
      if ((await this.access(trx, a, r)) === 'existence') throw notFound(`finding ${id}`);
      throw forbidden('only the developer and the reporting tester act on a finding');
    }
    return { r, side };
  }

  async transition(actor: Actor | null, id: string, action: FindingAction, reason: string, duplicateOf?: string) {
    const a = this.need(actor, 'write');
    return this.write(async (trx) => {
      const { r, side } = await this.forWrite(trx, a, id);
      const { f } = await this.facts(trx, id);
      const t = findingTransition(f.state, action, side, reason);
      if (!t.ok) throw t.wrongSide ? forbidden(t.reason) : conflict(t.reason);
      if (action === 'duplicate') {
        if (!duplicateOf || duplicateOf === id) throw invalid('duplicateOf (the original finding) is required', 'duplicateOf');
        const orig = await this.row(trx, duplicateOf);
        if (!orig || orig.developer_id !== r.developer_id) throw invalid(`finding ${duplicateOf} is not one of this developer's`, 'duplicateOf');
      }
      await this.event(trx, a, side === 'developer' ? r.developer_id : r.reporter_id, id, 'transition', { action, from: f.state, to: t.next, by: side, reason, ...(duplicateOf ? { duplicateOf } : {}) });
      const nf = await this.refresh(trx, id);
      await notify(trx, [r.developer_id, r.reporter_id, ...(await this.agencies(trx, id))], { kind: 'finding.transition', subject: `finding/${id}`, data: { finding: id, from: f.state, to: nf.state, by: side } }, this.now());
      return this.view(trx, a, id);
    });
  }

  private async agencies(trx: Transaction<RegistryDB>, id: string) {
    return (await trx.selectFrom('finding_parties').select('org_id').where('finding_id', '=', id).where('role', '=', 'agency').execute()).map((x) => x.org_id);
  }

  /** The developer asks for the one grace period, with a reason: granted when asked in time. */
  async grace(actor: Actor | null, id: string, reason: string) {
    const a = this.need(actor, 'write');
    if (!reason.trim()) throw invalid('a reason is required for a grace period', 'reason');
    return this.write(async (trx) => {
      const { r, side } = await this.forWrite(trx, a, id);
      if (side !== 'developer') throw forbidden('only the developer asks for a grace period');
      const { f } = await this.facts(trx, id);
      if (f.publishedAt) throw conflict('the finding is already published');
      const why = graceRefusal(f, this.now(), JSON.parse(r.clock) as ClockPolicy);
      if (why) throw conflict(why);
      await this.event(trx, a, r.developer_id, id, 'grace', { reason });
      await this.refresh(trx, id);
      await notify(trx, [r.developer_id, r.reporter_id, ...(await this.agencies(trx, id))], { kind: 'finding.grace', subject: `finding/${id}`, data: { finding: id } }, this.now());
      return this.view(trx, a, id);
    });
  }

  /** Either side records that the flaw is exploited in the wild: the shorter clock applies from now. */
  async inTheWild(actor: Actor | null, id: string, reason: string) {
    const a = this.need(actor, 'write');
    if (!reason.trim()) throw invalid('a reason is required', 'reason');
    return this.write(async (trx) => {
      const { r, side } = await this.forWrite(trx, a, id);
      const { f } = await this.facts(trx, id);
      if (f.inTheWildSince) throw conflict('already recorded as exploited in the wild');
      if (f.publishedAt || f.closed) throw conflict(`the finding is ${f.state}`);
      await this.event(trx, a, side === 'developer' ? r.developer_id : r.reporter_id, id, 'in-the-wild', { reason, by: side });
      await this.refresh(trx, id);
      await notify(trx, [r.developer_id, r.reporter_id, ...(await this.agencies(trx, id))], { kind: 'finding.in-the-wild', subject: `finding/${id}`, data: { finding: id } }, this.now());
      return this.view(trx, a, id);
    });
  }

  /**
   * Early publication needs both sides' consent (each side calls this); at or after the
   * deadline either side may publish at once (the scheduler does it anyway).
   */
  async publish(actor: Actor | null, id: string, reason: string) {
    const a = this.need(actor, 'write');
    return this.write(async (trx) => {
      const { r, side } = await this.forWrite(trx, a, id);
      const { f } = await this.facts(trx, id);
      if (f.publishedAt) return this.view(trx, a, id);
      if (!publishable(f.state)) throw conflict(`a ${f.state} finding is never published`);
      if (!f.consents.includes(side)) await this.event(trx, a, side === 'developer' ? r.developer_id : r.reporter_id, id, 'consent', { side, reason });
      const after = await this.facts(trx, id);
      const clock = computeClock(after.f, JSON.parse(r.clock) as ClockPolicy)!;
      if (after.f.consents.length === 2 || this.now().getTime() >= clock.disclosureAt.getTime()) await this.applyDue(trx, id, { force: true, by: side });
      else await this.refresh(trx, id);
      return this.view(trx, a, id);
    });
  }

  /** An agency acknowledges its embargoed pre-notification. */
  async acknowledgeNotice(actor: Actor | null, id: string, agencyId: string) {
    const a = this.need(actor, 'write');
    return this.write(async (trx) => {
      const r = await this.row(trx, id);
      if (!r) throw notFound(`finding ${id}`);
      const p = await trx.selectFrom('finding_parties').selectAll().where('finding_id', '=', id).where('org_id', '=', agencyId).where('role', '=', 'agency').executeTakeFirst();
      if (!p || !this.role(a, agencyId)) {
        if ((await this.access(trx, a, r)) === 'existence') throw notFound(`finding ${id}`);
        throw forbidden('only a pre-notified agency acknowledges its notice');
      }
      if (!this.atLeast(a, agencyId, 'member')) throw forbidden(`needs the member role in organisation ${agencyId}`);
      if (p.acknowledged_at) return this.view(trx, a, id);
      await trx.updateTable('finding_parties').set({ acknowledged_at: this.now().toISOString() }).where('finding_id', '=', id).where('org_id', '=', agencyId).where('role', '=', 'agency').execute();
      await this.event(trx, a, agencyId, id, 'agency-ack', { agency: agencyId });
      await notify(trx, [r.developer_id, r.reporter_id], { kind: 'finding.agency-ack', subject: `finding/${id}`, data: { finding: id, agency: agencyId } }, this.now());
      return this.view(trx, a, id);
    });
  }

  /** The reporter reveals a restricted finding's details to a named organisation (recorded). */
  async reveal(actor: Actor | null, id: string, orgId: string, reason: string) {
    const a = this.need(actor, 'write');
    if (!reason.trim()) throw invalid('a reason is required', 'reason');
    return this.write(async (trx) => {
      const { r, side } = await this.forWrite(trx, a, id);
      if (side !== 'reporter') throw forbidden('only the reporting tester reveals details to a named party');
      if (!(await trx.selectFrom('orgs').select('id').where('id', '=', orgId).executeTakeFirst())) throw invalid(`organisation ${orgId} not found`, 'orgId');
      const had = await trx.selectFrom('finding_parties').select('org_id').where('finding_id', '=', id).where('org_id', '=', orgId).where('role', '=', 'reveal').executeTakeFirst();
      if (!had) {
        await trx.insertInto('finding_parties').values({ finding_id: id, org_id: orgId, role: 'reveal', at: this.now().toISOString(), acknowledged_at: null }).execute();
        await this.event(trx, a, r.reporter_id, id, 'reveal', { to: orgId, reason });
        await notify(trx, [orgId], { kind: 'finding.revealed', subject: `finding/${id}`, data: { finding: id } }, this.now());
      }
      return this.view(trx, a, id);
    });
  }

  /** An agency declares the risk domains it oversees (none declared: every domain in its jurisdiction). */
  async setAgencyDomains(actor: Actor | null, agencyId: string, domains: string[]) {
    const a = this.need(actor, 'write');
    if (!this.atLeast(a, agencyId, 'admin')) throw forbidden(`needs the admin role in organisation ${agencyId}`);
    return this.write(async (trx) => {
      const o = await trx.selectFrom('orgs').select('kind').where('id', '=', agencyId).executeTakeFirst();
      if (o?.kind !== 'agency') throw invalid('only agencies declare oversight domains');
      const d = JSON.stringify([...new Set(domains.map((x) => x.trim().toLowerCase()))].sort());
      await trx.deleteFrom('agency_domains').where('agency_id', '=', agencyId).execute();
      await trx.insertInto('agency_domains').values({ agency_id: agencyId, domains: d, updated_at: this.now().toISOString() }).execute();
      await appendEvent(trx, { actorUser: a.userId, actorOrg: agencyId, kind: 'agency.domains', subject: `org/${agencyId}`, data: { domains: JSON.parse(d) }, at: this.now() });
      return { agencyId, domains: JSON.parse(d) as string[] };
    });
  }

  /**
   * Agencies whose jurisdiction covers one of the finding's (the same; an EU-level agency for a
   * member state; a member state's agency for the EU — src/registry/jurisdiction.ts) and whose
   * domains include its risk domain.
   */
  private async matchingAgencies(trx: Transaction<RegistryDB>, r: FindingsTable): Promise<string[]> {
    const js = JSON.parse(r.jurisdictions) as string[];
    const rows = await trx.selectFrom('orgs').leftJoin('agency_domains', 'agency_domains.agency_id', 'orgs.id').select(['orgs.id', 'orgs.jurisdiction', 'agency_domains.domains']).where('orgs.kind', '=', 'agency').where('orgs.jurisdiction', 'in', agencyJurisdictionsFor(js)).orderBy('orgs.id').execute();
    const head = r.risk_domain.trim().toLowerCase().split(/[\s:/]+/)[0] ?? '';
    return rows.filter((x) => {
      if (!x.domains) return true;
      const ds = JSON.parse(x.domains) as string[];
      return ds.length === 0 || ds.includes(r.risk_domain.trim().toLowerCase()) || ds.includes(head);
    }).map((x) => x.id);
  }

  /**
   * Applies whatever deadline action is due for one finding, inside a serialised write: the
   * fold is re-read there, so two schedulers (or a restart mid-way) apply each action once.
   */
  private async applyDue(trx: Transaction<RegistryDB>, id: string, o: { force?: boolean; by?: FindingSide } = {}): Promise<string[]> {
    const r = (await this.row(trx, id))!;
    const { f } = await this.facts(trx, id);
    const policy = JSON.parse(r.clock) as ClockPolicy;
    let due = dueActions(f, { preNotified: f.preNotifiedAt !== null, published: f.publishedAt !== null }, this.now(), policy);
    if (o.force && !f.publishedAt && publishable(f.state)) due = [...new Set([...(f.preNotifiedAt ? [] : (['prenotify'] as const)), ...due, 'publish' as const])];
    const done: string[] = [];
    for (const act of due) {
      if (act === 'prenotify') {
        const agencies = await this.matchingAgencies(trx, r);
        for (const ag of agencies) await trx.insertInto('finding_parties').values({ finding_id: id, org_id: ag, role: 'agency', at: this.now().toISOString(), acknowledged_at: null }).execute();
        const clock = computeClock(f, policy)!;
        await this.event(trx, null, null, id, 'prenotify', { agencies, disclosureAt: clock.disclosureAt.toISOString() });
        await notify(trx, agencies, { kind: 'finding.prenotified', subject: `finding/${id}`, data: { finding: id, embargoUntil: clock.disclosureAt.toISOString(), severity: r.severity, riskDomain: r.risk_domain } }, this.now());
        await notify(trx, [r.developer_id, r.reporter_id], { kind: 'finding.agencies-notified', subject: `finding/${id}`, data: { finding: id, agencies } }, this.now());
      } else {
        const clock = computeClock(f, policy);
        const automatic = !o.force || (clock !== null && this.now().getTime() >= clock.disclosureAt.getTime());
        await this.event(trx, null, null, id, 'publish', { automatic, consent: o.force && !automatic ? 'both sides' : null, resolution: f.resolution, restricted: Boolean(r.restricted), detailsDigest: r.details_digest, detailsPublished: !r.restricted });
        await notify(trx, [r.developer_id, r.reporter_id, ...(await this.agencies(trx, id))], { kind: 'finding.published', subject: `finding/${id}`, data: { finding: id, restricted: Boolean(r.restricted) } }, this.now());
      }
      done.push(act);
    }
    if (done.length) await this.refresh(trx, id);
    return done;
  }

  /** The scheduler's pass: every finding with a deadline action due at `now`. Returns what was done. */
  async runDue(): Promise<{ id: string; actions: string[] }[]> {
    const now = this.now().toISOString();
    const candidates = await this.db.selectFrom('findings').select('id').where('published_at', 'is', null)
      .where((eb) => eb.or([eb.and([eb('prenotified_at', 'is', null), eb('prenotify_at', '<=', now)]), eb('disclosure_at', '<=', now)])).orderBy('id').limit(500).execute();
    const out: { id: string; actions: string[] }[] = [];
    for (const c of candidates) {
      const actions = await this.write((trx) => this.applyDue(trx, c.id));
      if (actions.length) out.push({ id: c.id, actions });
    }
    return out;
  }

  // ───────────────────────────── views ─────────────────────────────

  async get(actor: Actor | null, id: string) {
    if (!FID.test(id)) throw notFound(`finding ${id}`);
    return this.view(null, actor, id);
  }

  private async view(trx: Transaction<RegistryDB> | null, a: Actor | null, id: string): Promise<FindingView | FindingExistence> {
    const r = await this.row(trx, id);
    if (!r) {
      // A reserved identifier exists; it shows nothing else (CVE "RESERVED").
      if (await (trx ?? this.db).selectFrom('finding_ids').select('id').where('id', '=', id).executeTakeFirst()) return { id, published: false };
      throw notFound(`finding ${id}`);
    }
    const access = await this.access(trx, a, r);
    if (access === 'existence') return { id, published: false };
    const { f, events } = await this.facts(trx, id);
    const clock = computeClock(f, JSON.parse(r.clock) as ClockPolicy);
    const revealed = access === 'public' && (await this.agencyParty(trx, a?.scopes.includes('read') ? a : null, id, 'reveal')) !== null;
    const showDetails = access !== 'public' || !r.restricted || revealed;
    const parties = await (trx ?? this.db).selectFrom('finding_parties').selectAll().where('finding_id', '=', id).where('role', '=', 'agency').orderBy('org_id').execute();
    return {
      id, published: r.published_at !== null, state: f.state, resolution: f.resolution, title: r.title, riskDomain: r.risk_domain, severity: r.severity as Severity, restricted: Boolean(r.restricted),
      inTheWild: f.inTheWildSince !== null, reporterId: r.reporter_id, developerId: r.developer_id, engagementId: r.engagement_id, modelIds: JSON.parse(r.models) as string[], jurisdictions: JSON.parse(r.jurisdictions) as string[],
      details: showDetails ? (JSON.parse(r.details) as FindingDetails) : null,
      detailsDigest: r.details_digest,
      detailsNonce: showDetails ? r.details_nonce : null,
      clock: {
        policy: JSON.parse(r.clock) as ClockPolicy, track: clock?.track ?? null, notifiedAt: f.notifiedAt.toISOString(), fixDeadline: clock?.fixDeadline.toISOString() ?? null, graceGranted: f.graceGranted,
        fixedAt: f.fixedAt?.toISOString() ?? null, fixedInTime: clock?.fixedInTime ?? null, preNotifyAt: clock?.preNotifyAt.toISOString() ?? null, disclosureAt: clock?.disclosureAt.toISOString() ?? null,
        preNotifiedAt: f.preNotifiedAt?.toISOString() ?? null, publishedAt: f.publishedAt?.toISOString() ?? null, inTheWildSince: f.inTheWildSince?.toISOString() ?? null,
      },
      agencies: parties.map((p) => ({ orgId: p.org_id, notifiedAt: p.at, acknowledgedAt: p.acknowledged_at })),
      // Reasons can describe the flaw: on a public restricted record only kinds and times are shown.
      timeline: events.map((e) => ({ at: e.at, kind: e.kind, by: e.actorOrg, ...(e.kind === 'transition' ? { from: e.data.from as string, to: e.data.to as string } : {}), reason: showDetails && typeof e.data.reason === 'string' ? e.data.reason : null })),
      createdAt: r.created_at, updatedAt: r.updated_at,
    };
  }

  /** Findings the caller can see in full: published ones (public), or with mine=true those it is party to or notified of. */
  async list(actor: Actor | null, q: { mine?: boolean; state?: FindingState; cursor?: string; limit?: number }) {
    const limit = q.limit ?? 50;
    let qb = this.db.selectFrom('findings').select('id').orderBy('id').limit(limit + 1);
    if (q.mine) {
      const a = this.need(actor, 'read');
      const orgs = a.memberships.map((m) => m.orgId);
      if (!orgs.length) return { items: [], next: null };
      const notified = (await this.db.selectFrom('finding_parties').select('finding_id').where('role', '=', 'agency').where('org_id', 'in', orgs).execute()).map((x) => x.finding_id);
      qb = qb.where((eb) => eb.or([eb('developer_id', 'in', orgs), eb('reporter_id', 'in', orgs), ...(notified.length ? [eb('id', 'in', notified)] : [])]));
    } else qb = qb.where('published_at', 'is not', null);
    if (q.state) qb = qb.where('state', '=', q.state);
    if (q.cursor) {
      const after = Buffer.from(q.cursor, 'base64url').toString('utf8');
      if (!FID.test(after)) throw invalid('malformed cursor', 'cursor');
      qb = qb.where('id', '>', after);
    }
    const ids = await qb.execute();
    const items: FindingView[] = [];
    for (const r of ids.slice(0, limit)) items.push((await this.view(null, actor, r.id)) as FindingView);
    return { items, next: ids.length > limit ? Buffer.from(ids[limit - 1]!.id, 'utf8').toString('base64url') : null };
  }
}

export interface FindingExistence {
  id: string;
  published: false;
}

export interface FindingView {
  id: string;
  published: boolean;
  state: FindingState;
  resolution: FindingState | null;
  title: string;
  riskDomain: string;
  severity: Severity;
  restricted: boolean;
  inTheWild: boolean;
  reporterId: string;
  developerId: string;
  engagementId: string | null;
  modelIds: string[];
  jurisdictions: string[];
  details: FindingDetails | null;
  detailsDigest: string;
  detailsNonce: string | null;
  clock: {
    policy: ClockPolicy; track: 'standard' | 'in-the-wild' | null; notifiedAt: string; fixDeadline: string | null; graceGranted: boolean; fixedAt: string | null; fixedInTime: boolean | null;
    preNotifyAt: string | null; disclosureAt: string | null; preNotifiedAt: string | null; publishedAt: string | null; inTheWildSince: string | null;
  };
  agencies: { orgId: string; notifiedAt: string; acknowledgedAt: string | null }[];
  timeline: { at: string; kind: string; by: string | null; from?: string; to?: string; reason: string | null }[];
  createdAt: string;
  updatedAt: string;
}
