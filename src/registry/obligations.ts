import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import { IN_TOTO_PAYLOAD_TYPE, decodeBase64Strict, parseEnvelope, verifySignature } from '../attest/dsse.js';
import { publicKeyFromJwk } from '../attest/keys.js';
import { STATEMENT_TYPE } from '../attest/statement.js';
import { VERDICT_PREDICATE_TYPE } from '../attest/tlog.js';
import { describeAction } from '../policy/format.js';
import type { Action } from '../policy/schema.js';
import { DAY_MS } from './disclosure-clock.js';
import { appendEvent, newId } from './events.js';
import type { Findings } from './findings.js';
import { notify } from './notify.js';
import { agencyCovers, agencyJurisdictionsFor } from './jurisdiction.js';
import { RegistryError, type Actor, requireActor } from './registry.js';
import type { RegistryDB } from './schema.js';
import type { ObligationsTable } from './findings-schema.js';
import { liveTrust, type PortableTrust } from './report-verifier.js';
import { parseModelFactsYaml, parsePolicyYaml } from '../policy/load.js';
import { verifyVerdictDocument } from '../policy/signed-verdict.js';

/**
 * Verdict follow-through. A tester registers a SIGNED VERDICT (the two-stage verdict document,
 * not one run's report); when its result is threshold-crossed, the registry creates one
 * obligation per required action of the policy, each with a deadline (the action's `within_days`,
 * else the registry default). The developer records how it fulfilled each; the tester or an
 * agency of the developer's jurisdiction confirms or disputes. An open obligation past its
 * deadline is flagged overdue by the scheduler, once, and the agencies are told.
 *
 *   open ──fulfil──► fulfilled ──confirm──► confirmed
 *     ▲                  │ dispute
 *     └──── (fulfil) ── disputed
 */
export const OBLIGATION_STATES = ['open', 'fulfilled', 'confirmed', 'disputed'] as const;
export type ObligationState = (typeof OBLIGATION_STATES)[number];
/** Tester steps, not developer obligations. */
const NOT_OBLIGATIONS = new Set(['escalate']);

const notFound = (what: string) => new RegistryError(404, 'NOT_FOUND', `${what} not found`);
const forbidden = (why: string) => new RegistryError(403, 'FORBIDDEN', why);
const invalid = (why: string, field?: string) => new RegistryError(400, 'INVALID', why, field);
const conflict = (why: string) => new RegistryError(409, 'CONFLICT', why);

/** What a signed verdict rests on, sent with it so the registry recomputes it. */
export interface VerdictEvidence {
  /** The policy file's YAML text (its digest must be the verdict's). */
  policy: string;
  /** Every cited signed run report (bundle JSON). */
  reports: string[];
  /** The model facts file's YAML text, when the verdict used facts. */
  modelFacts?: string;
  /** Every cited signed tamper report (bundle JSON) with the text of its tamper log. */
  tamper?: { report: string; log: string }[];
}

/** Which required actions become obligations, with their deadlines (pure). */
export function obligationsFor(actions: { action: Action; because: string }[], registeredAt: Date, defaultDays: number): { action: Action; because: string; title: string; deadline: Date }[] {
  return actions
    .filter((a) => !NOT_OBLIGATIONS.has(a.action.type))
    .map((a) => {
      const days = 'within_days' in a.action && typeof a.action.within_days === 'number' ? a.action.within_days : defaultDays;
      return { action: a.action, because: a.because, title: describeAction(a.action), deadline: new Date(registeredAt.getTime() + days * DAY_MS) };
    });
}

export class Obligations {
  constructor(
    private readonly findings: Findings,
    private readonly defaultDays = 30,
    /** The registry's trust for a tester's signatures (its registered keys, scoped to its accreditations in force). */
    private readonly trustFor: ((testerId: string) => Promise<PortableTrust>) | null = null,
  ) {}

  /**
   * Recomputes a signed verdict as `assay verify <verdict> --policy --report…` does: the verdict
   * and every cited report signed by the tester's registered keys (the reports within its
   * accredited risk areas), the policy (and facts) the signed ones, and the verdict and every
   * per-rule number equal to those recomputed from the reports. Any failure is a 422 naming it.
   */
  private async recompute(testerId: string, envelopeJson: string, e: VerdictEvidence): Promise<void> {
    if (!this.trustFor) throw new RegistryError(422, 'VERDICT_UNVERIFIABLE', 'this registry has no trust source to recompute verdicts with', 'verdict');
    let policy, facts;
    try {
      policy = parsePolicyYaml(e.policy, 'policy');
    } catch (err) {
      throw invalid(`the policy does not load: ${(err as Error).message}`, 'policy');
    }
    try {
      facts = e.modelFacts ? parseModelFactsYaml(e.modelFacts, 'modelFacts').facts : null;
    } catch (err) {
      throw invalid(`the model facts do not load: ${(err as Error).message}`, 'modelFacts');
    }
    const t = await this.trustFor(testerId);
    // An accredited tester (any risk area in force) may sign verdicts; the cited reports stay bound to its areas.
    const trust = liveTrust({ ...t, testers: t.testers.map((k) => ({ ...k, scopes: { ...k.scopes, riskAreas: [...(k.scopes?.riskAreas ?? []), 'policy-verdict'] } })) });
    const r = await verifyVerdictDocument(Buffer.from(envelopeJson), { trust, policy, facts, reports: e.reports.map((b, i) => ({ bytes: Buffer.from(b), source: `reports[${i}]` })), tamper: (e.tamper ?? []).map((t, i) => ({ bytes: Buffer.from(t.report), logBytes: Buffer.from(t.log), source: `tamper[${i}]` })), now: this.now(), source: 'verdict' });
    if (!r.ok) {
      const f = r.failures[0]!;
      throw new RegistryError(422, 'VERDICT_NOT_RECOMPUTED', `the verdict does not verify or recompute (exit ${f.exit}): ${f.where}: ${f.message}${r.failures.length > 1 ? ` (and ${r.failures.length - 1} more)` : ''}`, 'verdict');
    }
  }

  private get db() {
    return this.findings.db;
  }
  private get now() {
    return this.findings.now;
  }
  private need(actor: Actor | null, scope: 'read' | 'write'): Actor {
    return requireActor(actor, scope);
  }
  private member(a: Actor, orgId: string, min: 'viewer' | 'member') {
    const r = a.memberships.find((m) => m.orgId === orgId)?.role;
    return r !== undefined && (min === 'viewer' || r !== 'viewer');
  }

  /** Agencies of the verdict's jurisdictions: they see its obligations and are told when one is overdue. */
  private async agenciesOf(trx: Transaction<RegistryDB> | null, verdictDigest: string): Promise<string[]> {
    const v = await (trx ?? this.db).selectFrom('verdicts').select('jurisdictions').where('digest', '=', verdictDigest).executeTakeFirst();
    const js = v ? (JSON.parse(v.jurisdictions) as string[]) : [];
    if (!js.length) return [];
    return (await (trx ?? this.db).selectFrom('orgs').select('id').where('kind', '=', 'agency').where('jurisdiction', 'in', agencyJurisdictionsFor(js)).orderBy('id').execute()).map((x) => x.id);
  }

  /** The tester registers a signed verdict about one registered model release. */
  async registerVerdict(actor: Actor | null, testerId: string, modelId: string, envelopeJson: string, jurisdictions: string[] | undefined, evidence: VerdictEvidence) {
    const a = this.need(actor, 'write');
    if (!this.member(a, testerId, 'member')) throw forbidden(`needs the member role in organisation ${testerId}`);
    let env;
    try {
      env = parseEnvelope(envelopeJson);
    } catch (err) {
      throw invalid(`not a DSSE envelope: ${(err as Error).message}`, 'verdict');
    }
    if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw invalid(`payloadType must be ${IN_TOTO_PAYLOAD_TYPE}`, 'verdict.payloadType');
    const payload = decodeBase64Strict(env.payload, 'payload');
    const keys = await this.db.selectFrom('org_keys').select('public_jwk').where('org_id', '=', testerId).where('revoked_at', 'is', null).execute();
    const signed = env.signatures.some((s) => keys.some((k) => {
      try {
        return verifySignature(env.payloadType, payload, decodeBase64Strict(s.sig, 'sig'), publicKeyFromJwk(JSON.parse(k.public_jwk)));
      } catch {
        return false;
      }
    }));
    if (!signed) throw new RegistryError(422, 'VERDICT_UNVERIFIABLE', 'the verdict is not signed by a registered key of the tester', 'verdict');
    let st: { _type?: string; predicateType?: string; subject?: { digest?: { sha256?: string } }[]; predicate?: { verificationResult?: string; model?: { release?: string | null }; evaluation?: { actions?: { action: Action; because: string }[] } } };
    try {
      st = JSON.parse(payload.toString('utf8'));
    } catch {
      throw invalid('the verdict payload is not JSON', 'verdict.payload');
    }
    if (st._type !== STATEMENT_TYPE || st.predicateType !== VERDICT_PREDICATE_TYPE) throw invalid(`the statement is not a verdict (${VERDICT_PREDICATE_TYPE})`, 'verdict.payload');
    const verdict = st.predicate?.verificationResult;
    if (typeof verdict !== 'string') throw invalid('the verdict has no verificationResult', 'verdict.payload');
    const digest = `sha256:${createHash('sha256').update(payload).digest('hex')}`;
    // Never trusted as stated: recomputed from the cited reports and the policy before anything is created.
    if ((await this.db.selectFrom('orgs').select('kind').where('id', '=', testerId).executeTakeFirst())?.kind !== 'tester') throw forbidden('only testers register verdicts');
    await this.recompute(testerId, envelopeJson, evidence);
    return this.findings.write(async (trx) => {
      const t = await trx.selectFrom('orgs').select('kind').where('id', '=', testerId).executeTakeFirst();
      if (t?.kind !== 'tester') throw forbidden('only testers register verdicts');
      const m = await trx.selectFrom('models').select(['id', 'developer_id', 'release_digest']).where('id', '=', modelId).executeTakeFirst();
      if (!m) throw invalid(`model ${modelId} is not registered`, 'modelId');
      const release = st.predicate?.model?.release;
      if (release && release !== m.release_digest) throw invalid(`the verdict concerns release ${release}, not model ${modelId} (${m.release_digest})`, 'modelId');
      if (await trx.selectFrom('verdicts').select('digest').where('digest', '=', digest).executeTakeFirst()) throw conflict(`verdict ${digest} is already registered`);
      const at = this.now();
      const dev = await trx.selectFrom('orgs').select('jurisdiction').where('id', '=', m.developer_id).executeTakeFirstOrThrow();
      const js = [...new Set(jurisdictions?.length ? jurisdictions : [dev.jurisdiction])].sort();
      await trx.insertInto('verdicts').values({ digest, tester_id: testerId, developer_id: m.developer_id, model_id: modelId, jurisdictions: JSON.stringify(js), verdict, envelope: envelopeJson, created_at: at.toISOString() }).execute();
      await appendEvent(trx, { actorUser: a.userId, actorOrg: testerId, kind: 'verdict.register', subject: `verdict/${digest}`, data: { verdict, model: modelId, developer: m.developer_id }, at });
      const made = verdict === 'threshold-crossed' ? obligationsFor(st.predicate?.evaluation?.actions ?? [], at, this.defaultDays) : [];
      const ids: string[] = [];
      for (const o of made) {
        const id = newId('obl');
        ids.push(id);
        await trx.insertInto('obligations').values({ id, verdict_digest: digest, developer_id: m.developer_id, tester_id: testerId, action: JSON.stringify({ ...o.action, because: o.because }), title: o.title, deadline: o.deadline.toISOString(), state: 'open', fulfilment: null, review: null, overdue_at: null, created_at: at.toISOString(), updated_at: at.toISOString() }).execute();
        await appendEvent(trx, { actorUser: a.userId, actorOrg: testerId, kind: 'obligation.create', subject: `obligation/${id}`, data: { verdict: digest, title: o.title, deadline: o.deadline.toISOString() }, at });
      }
      if (ids.length) await notify(trx, [m.developer_id, testerId, ...(await this.agenciesOf(trx, digest))], { kind: 'obligation.created', subject: `verdict/${digest}`, data: { verdict: digest, obligations: ids } }, at);
      return { digest, verdict, recomputed: true as const, developerId: m.developer_id, modelId, obligations: await Promise.all(ids.map((id) => this.view(trx, id))) };
    });
  }

  private async view(trx: Transaction<RegistryDB> | null, id: string) {
    const r = await (trx ?? this.db).selectFrom('obligations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return obligationView(r, this.now());
  }

  private async visible(trx: Transaction<RegistryDB> | null, a: Actor, id: string) {
    const r = await (trx ?? this.db).selectFrom('obligations').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound(`obligation ${id}`);
    const agencies = await this.agenciesOf(trx, r.verdict_digest);
    const sides = { developer: this.member(a, r.developer_id, 'viewer'), tester: this.member(a, r.tester_id, 'viewer'), agency: agencies.find((x) => this.member(a, x, 'viewer')) ?? null };
    if (!sides.developer && !sides.tester && !sides.agency) throw notFound(`obligation ${id}`);
    return { r, sides };
  }

  async get(actor: Actor | null, id: string) {
    const a = this.need(actor, 'read');
    await this.visible(null, a, id);
    return this.view(null, id);
  }

  async list(actor: Actor | null, q: { state?: string; overdue?: boolean }) {
    const a = this.need(actor, 'read');
    const orgs = a.memberships.map((m) => m.orgId);
    if (!orgs.length) return { items: [] };
    // Agencies see the obligations of verdicts registered for their jurisdiction.
    const agencyJs = new Set((await this.db.selectFrom('orgs').select('jurisdiction').where('kind', '=', 'agency').where('id', 'in', orgs).execute()).map((x) => x.jurisdiction));
    const verdicts = agencyJs.size ? (await this.db.selectFrom('verdicts').select(['digest', 'jurisdictions']).execute()).filter((v) => [...agencyJs].some((aj) => agencyCovers(aj, JSON.parse(v.jurisdictions) as string[]))).map((v) => v.digest) : [];
    let qb = this.db.selectFrom('obligations').selectAll().where((eb) => eb.or([eb('developer_id', 'in', orgs), eb('tester_id', 'in', orgs), ...(verdicts.length ? [eb('verdict_digest', 'in', verdicts)] : [])])).orderBy('deadline').orderBy('id').limit(500);
    if (q.state) qb = qb.where('state', '=', q.state);
    if (q.overdue) qb = qb.where('overdue_at', 'is not', null);
    return { items: (await qb.execute()).map((r) => obligationView(r, this.now())) };
  }

  /** The developer records how it fulfilled the obligation (evidence: a new release, a passing re-test…). */
  async fulfil(actor: Actor | null, id: string, f: { statement: string; evidence: { kind: string; ref: string; digest?: string }[] }) {
    const a = this.need(actor, 'write');
    return this.findings.write(async (trx) => {
      const { r, sides } = await this.visible(trx, a, id);
      if (!sides.developer || !this.member(a, r.developer_id, 'member')) throw forbidden('only the developer records a fulfilment');
      if (!['open', 'disputed'].includes(r.state)) throw conflict(`the obligation is ${r.state}`);
      const at = this.now();
      await trx.updateTable('obligations').set({ state: 'fulfilled', fulfilment: JSON.stringify({ ...f, at: at.toISOString(), late: at.getTime() > Date.parse(r.deadline) }), review: null, updated_at: at.toISOString() }).where('id', '=', id).execute();
      await appendEvent(trx, { actorUser: a.userId, actorOrg: r.developer_id, kind: 'obligation.fulfil', subject: `obligation/${id}`, data: { statement: f.statement, evidence: f.evidence }, at });
      await notify(trx, [r.tester_id, ...(r.overdue_at ? await this.agenciesOf(trx, r.verdict_digest) : [])], { kind: 'obligation.fulfilled', subject: `obligation/${id}`, data: { obligation: id } }, at);
      return this.view(trx, id);
    });
  }

  /** The tester, or an agency of the developer's jurisdiction, confirms or disputes a fulfilment. */
  async review(actor: Actor | null, id: string, verdict: 'confirm' | 'dispute', reason: string) {
    const a = this.need(actor, 'write');
    if (!reason.trim()) throw invalid('a reason is required', 'reason');
    return this.findings.write(async (trx) => {
      const { r, sides } = await this.visible(trx, a, id);
      const by = this.member(a, r.tester_id, 'member') ? r.tester_id : sides.agency && this.member(a, sides.agency, 'member') ? sides.agency : null;
      if (!by) throw forbidden('only the tester or an agency confirms or disputes a fulfilment');
      if (r.state !== 'fulfilled') throw conflict(`only a fulfilled obligation is reviewed; this one is ${r.state}`);
      const at = this.now();
      const state: ObligationState = verdict === 'confirm' ? 'confirmed' : 'disputed';
      await trx.updateTable('obligations').set({ state, review: JSON.stringify({ by, verdict, reason, at: at.toISOString() }), updated_at: at.toISOString() }).where('id', '=', id).execute();
      await appendEvent(trx, { actorUser: a.userId, actorOrg: by, kind: `obligation.${verdict}`, subject: `obligation/${id}`, data: { reason }, at });
      await notify(trx, [r.developer_id, r.tester_id], { kind: `obligation.${state}`, subject: `obligation/${id}`, data: { obligation: id, by } }, at);
      return this.view(trx, id);
    });
  }

  /** Scheduler pass: open (or disputed) obligations past their deadline are flagged once and the agencies told. */
  async runDue(): Promise<string[]> {
    const now = this.now().toISOString();
    const due = await this.db.selectFrom('obligations').select('id').where('overdue_at', 'is', null).where('state', 'in', ['open', 'disputed']).where('deadline', '<=', now).orderBy('id').limit(500).execute();
    const flagged: string[] = [];
    for (const d of due) {
      const did = await this.findings.write(async (trx) => {
        const r = await trx.selectFrom('obligations').selectAll().where('id', '=', d.id).executeTakeFirstOrThrow();
        if (r.overdue_at || !['open', 'disputed'].includes(r.state)) return false;
        const at = this.now();
        const agencies = await this.agenciesOf(trx, r.verdict_digest);
        await trx.updateTable('obligations').set({ overdue_at: at.toISOString(), updated_at: at.toISOString() }).where('id', '=', d.id).execute();
        await appendEvent(trx, { actorUser: null, actorOrg: null, kind: 'obligation.overdue', subject: `obligation/${d.id}`, data: { deadline: r.deadline, agencies }, at });
        await notify(trx, [...agencies, r.developer_id, r.tester_id], { kind: 'obligation.overdue', subject: `obligation/${d.id}`, data: { obligation: d.id, title: r.title, deadline: r.deadline, developer: r.developer_id } }, at);
        return true;
      });
      if (did) flagged.push(d.id);
    }
    return flagged;
  }
}

export function obligationView(r: ObligationsTable, now: Date) {
  return {
    id: r.id, verdictDigest: r.verdict_digest, developerId: r.developer_id, testerId: r.tester_id, action: JSON.parse(r.action) as Record<string, unknown>, title: r.title, deadline: r.deadline,
    state: r.state as ObligationState, overdue: r.overdue_at !== null || (['open', 'disputed'].includes(r.state) && Date.parse(r.deadline) <= now.getTime()), overdueAt: r.overdue_at,
    fulfilment: r.fulfilment ? (JSON.parse(r.fulfilment) as Record<string, unknown>) : null, review: r.review ? (JSON.parse(r.review) as Record<string, unknown>) : null, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}
