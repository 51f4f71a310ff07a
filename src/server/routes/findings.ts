import * as z from 'zod';
import { clockPolicy, type ClockPolicy } from '../../registry/disclosure-clock.js';
import { FINDING_ACTIONS, FINDING_STATES } from '../../registry/finding.js';
import { FINDING_ID_PATTERN, Findings, SEVERITIES } from '../../registry/findings.js';
import { OBLIGATION_STATES, Obligations } from '../../registry/obligations.js';
import { Scheduler } from '../../registry/scheduler.js';
import { AddressPolicy, Webhooks } from '../../registry/webhooks.js';
import { route, type Api } from '../http.js';

/**
 * `/api/v1` routes of findings and coordinated disclosure, verdict follow-through (obligations),
 * inboxes and webhooks (issue 24), and the deadline scheduler behind them.
 * Format: docs/formats/findings.md.
 */
export interface FollowUpOptions {
  /** Disclosure clock defaults for new findings (Project Zero's when absent). */
  findingClock?: Partial<ClockPolicy>;
  /** Days to fulfil an obligation whose action names no deadline (default 30). */
  obligationDays?: number;
  /** Scheduler period in ms (default 30 000; 0: only at start-up and on demand). */
  schedulerIntervalMs?: number;
  /** CIDRs webhooks may reach although private or loopback (e.g. "127.0.0.0/8" in tests). */
  webhookAllowList?: string[];
  webhookTimeoutMs?: number;
}

export interface FollowUp {
  findings: Findings;
  obligations: Obligations;
  webhooks: Webhooks;
  scheduler: Scheduler;
}

const id = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[A-Za-z0-9_-]{8,40}$`), `expected a ${prefix}_… identifier`);
const findingId = z.string().regex(new RegExp(FINDING_ID_PATTERN), 'expected a finding identifier AF-<year>-<scope>-<number>');
const reason = z.string().trim().min(1).max(4000);
const jurisdiction = z.string().regex(/^([A-Z]{2}|EU)$/, 'expected an ISO 3166-1 alpha-2 code or EU');
const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 lowercase hex>');
const cursor = z.string().max(400).optional();
const limit = z.coerce.number().int().min(1).max(200).optional();
const ok = z.object({ ok: z.literal(true) });
const envelope = z.object({ payloadType: z.string(), payload: z.string(), signatures: z.array(z.object({ keyid: z.string(), sig: z.string() })).min(1).max(8) }).passthrough();

const evidence = z.strictObject({ kind: z.enum(['report', 'transcript', 'link']), ref: z.string().min(1).max(2000), digest: digest.optional(), proof: z.unknown().optional() });
const details = z.strictObject({ description: z.string().min(1).max(100_000), reproduction: z.string().max(100_000), evidence: z.array(evidence).max(100) });
const clockPolicySchema = z.object({ fixDays: z.number(), publishAfterFixDays: z.number(), graceDays: z.number(), inTheWildDays: z.number(), inTheWildGraceDays: z.number(), preNotifyDays: z.number() });
export const findingSchema = z.object({
  id: z.string(), published: z.boolean(), state: z.enum(FINDING_STATES), resolution: z.enum(FINDING_STATES).nullable(), title: z.string(), riskDomain: z.string(), severity: z.enum(SEVERITIES), restricted: z.boolean(),
  inTheWild: z.boolean(), reporterId: z.string(), developerId: z.string(), engagementId: z.string().nullable(), modelIds: z.array(z.string()), jurisdictions: z.array(z.string()),
  details: details.nullable().describe('null when withheld: a restricted-class finding seen by the public (its detailsDigest is the commitment)'),
  detailsDigest: z.string().describe('SHA-256("assay/commit/v1\\n" ‖ nonce ‖ SHA-256(JCS(details)))'), detailsNonce: z.string().nullable().describe('base64url nonce opening the commitment (with the details)'),
  clock: z.object({
    policy: clockPolicySchema, track: z.enum(['standard', 'in-the-wild']).nullable(), notifiedAt: z.string(), fixDeadline: z.string().nullable(), graceGranted: z.boolean(), fixedAt: z.string().nullable(), fixedInTime: z.boolean().nullable(),
    preNotifyAt: z.string().nullable(), disclosureAt: z.string().nullable(), preNotifiedAt: z.string().nullable(), publishedAt: z.string().nullable(), inTheWildSince: z.string().nullable(),
  }),
  agencies: z.array(z.object({ orgId: z.string(), notifiedAt: z.string(), acknowledgedAt: z.string().nullable() })),
  timeline: z.array(z.object({ at: z.string(), kind: z.string(), by: z.string().nullable(), from: z.string().optional(), to: z.string().optional(), reason: z.string().nullable() })),
  createdAt: z.string(), updatedAt: z.string(),
});
const existence = z.object({ id: z.string(), published: z.literal(false) }).describe('all a non-party sees of an unpublished or merely reserved identifier');
const findingOrExistence = z.union([findingSchema, existence]);
const obligation = z.object({
  id: z.string(), verdictDigest: z.string(), developerId: z.string(), testerId: z.string(), action: z.record(z.string(), z.unknown()), title: z.string(), deadline: z.string(), state: z.enum(OBLIGATION_STATES),
  overdue: z.boolean(), overdueAt: z.string().nullable(), fulfilment: z.record(z.string(), z.unknown()).nullable(), review: z.record(z.string(), z.unknown()).nullable(), createdAt: z.string(), updatedAt: z.string(),
});
const message = z.object({ id: z.string(), kind: z.string(), subject: z.string(), data: z.record(z.string(), z.unknown()), createdAt: z.string(), readAt: z.string().nullable() });
const delivery = z.object({ id: z.string(), messageId: z.string(), state: z.enum(['pending', 'delivered', 'failed', 'cancelled']), attempts: z.number(), nextAttemptAt: z.string().nullable(), lastStatus: z.number().nullable(), lastError: z.string().nullable(), deliveredAt: z.string().nullable(), createdAt: z.string() });

export function registerFollowUp(api: Api, o: FollowUpOptions, afterWrite: () => void): FollowUp {
  const reg = api.registry;
  const findings = new Findings(reg.store, reg.now, clockPolicy(o.findingClock ?? {}), reg.commits);
  const obligations = new Obligations(findings, o.obligationDays ?? 30, (testerId) => reg.trustFor(testerId));
  const webhooks = new Webhooks(findings, { policy: new AddressPolicy(o.webhookAllowList ?? []), ...(o.webhookTimeoutMs ? { timeoutMs: o.webhookTimeoutMs } : {}) });
  const scheduler = new Scheduler({ findings, obligations, webhooks }, afterWrite);
  // Every successful write may leave deliveries due now: send them without waiting for the timer.
  api.app.addHook('onResponse', async (req, reply) => {
    if (req.method !== 'GET' && reply.statusCode < 400 && req.url.startsWith('/api/v1/')) scheduler.kick();
  });
  api.app.addHook('onClose', async () => scheduler.stop());

  // ── findings ──
  route(api, {
    method: 'POST', path: '/api/v1/finding-ids', tag: 'findings', auth: 'required', summary: 'An accredited tester reserves finding identifiers in its own scope (CVE-style; a reserved identifier shows only that it exists)', status: 201,
    body: z.strictObject({ testerId: id('org'), count: z.number().int().min(1).max(20).default(1) }), response: z.object({ ids: z.array(z.string()) }),
    handler: ({ actor, body }) => findings.reserve(actor, body.testerId, body.count),
  });
  route(api, {
    method: 'POST', path: '/api/v1/findings', tag: 'findings', auth: 'required', summary: 'A tester files a finding (in its engagement, or against any registered model release); the developer is notified and the disclosure clock starts', status: 201,
    body: z.strictObject({
      reporterId: id('org'), engagementId: id('eng').nullable().optional(), modelIds: z.array(id('mdl')).min(1).max(50), id: findingId.optional(), title: z.string().trim().min(1).max(300), riskDomain: z.string().trim().min(1).max(200),
      severity: z.enum(SEVERITIES), inTheWild: z.boolean().default(false), jurisdictions: z.array(jurisdiction).max(50).optional(), details,
    }),
    response: findingSchema,
    handler: ({ actor, body }) => findings.file(actor, body),
  });
  route(api, {
    method: 'GET', path: '/api/v1/findings', tag: 'findings', auth: 'public', summary: 'Published findings (public); mine=true: those the caller\'s organisations are party to or were pre-notified of',
    query: z.strictObject({ mine: z.enum(['true', 'false']).transform((v) => v === 'true').optional(), state: z.enum(FINDING_STATES).optional(), cursor, limit }), response: z.object({ items: z.array(findingSchema), next: z.string().nullable() }),
    handler: ({ actor, query }) => findings.list(actor, query),
  });
  route(api, {
    method: 'GET', path: '/api/v1/findings/:id', tag: 'findings', auth: 'public', summary: 'A finding with its deadlines and timeline (parties and notified agencies; the public once published; otherwise only its existence)',
    params: z.strictObject({ id: findingId }), response: findingOrExistence,
    handler: ({ actor, params }) => findings.get(actor, params.id),
  });
  route(api, {
    method: 'POST', path: '/api/v1/findings/:id/transition', tag: 'findings', auth: 'required', summary: 'acknowledge | triage | start-fix | fix | mitigate | wont-fix | duplicate | not-applicable (developer) or withdraw (reporter), with a reason',
    params: z.strictObject({ id: findingId }), body: z.strictObject({ action: z.enum(FINDING_ACTIONS), reason, duplicateOf: findingId.optional() }), response: findingOrExistence,
    handler: ({ actor, params, body }) => findings.transition(actor, params.id, body.action, body.reason, body.duplicateOf),
  });
  route(api, {
    method: 'POST', path: '/api/v1/findings/:id/grace', tag: 'findings', auth: 'required', summary: 'The developer requests the one grace period (with a reason), before the fix deadline',
    params: z.strictObject({ id: findingId }), body: z.strictObject({ reason }), response: findingOrExistence,
    handler: ({ actor, params, body }) => findings.grace(actor, params.id, body.reason),
  });
  route(api, {
    method: 'POST', path: '/api/v1/findings/:id/in-the-wild', tag: 'findings', auth: 'required', summary: 'Either side records exploitation in the wild (the 7-day clock applies)',
    params: z.strictObject({ id: findingId }), body: z.strictObject({ reason }), response: findingOrExistence,
    handler: ({ actor, params, body }) => findings.inTheWild(actor, params.id, body.reason),
  });
  route(api, {
    method: 'POST', path: '/api/v1/findings/:id/publish', tag: 'findings', auth: 'required', summary: 'Consent to publication: published when both sides consented, or at once after the deadline',
    params: z.strictObject({ id: findingId }), body: z.strictObject({ reason }), response: findingOrExistence,
    handler: ({ actor, params, body }) => findings.publish(actor, params.id, body.reason),
  });
  route(api, {
    method: 'POST', path: '/api/v1/findings/:id/acknowledge-notice', tag: 'findings', auth: 'required', summary: 'A pre-notified agency acknowledges the embargoed notice',
    params: z.strictObject({ id: findingId }), body: z.strictObject({ agencyId: id('org') }), response: findingOrExistence,
    handler: ({ actor, params, body }) => findings.acknowledgeNotice(actor, params.id, body.agencyId),
  });
  route(api, {
    method: 'POST', path: '/api/v1/findings/:id/reveal', tag: 'findings', auth: 'required', summary: 'The reporter reveals a restricted finding\'s details to a named organisation (recorded)',
    params: z.strictObject({ id: findingId }), body: z.strictObject({ orgId: id('org'), reason }), response: findingOrExistence,
    handler: ({ actor, params, body }) => findings.reveal(actor, params.id, body.orgId, body.reason),
  });
  route(api, {
    method: 'POST', path: '/api/v1/orgs/:id/agency-domains', tag: 'findings', auth: 'required', summary: 'An agency declares the risk domains it oversees (for pre-notification matching; none: all)',
    params: z.strictObject({ id: id('org') }), body: z.strictObject({ domains: z.array(z.string().trim().min(1).max(200)).max(100) }), response: z.object({ agencyId: z.string(), domains: z.array(z.string()) }),
    handler: ({ actor, params, body }) => findings.setAgencyDomains(actor, params.id, body.domains),
  });

  // ── verdict follow-through ──
  route(api, {
    method: 'POST', path: '/api/v1/verdicts', tag: 'obligations', auth: 'required', summary: 'A tester registers a signed verdict (`assay verdict --sign`) on a model release with what it rests on; the server recomputes it from the cited reports and the policy, and threshold-crossed creates one obligation per required action', status: 201, bodyLimit: 16 * 1024 * 1024,
    body: z.strictObject({
      testerId: id('org'), modelId: id('mdl'), verdict: envelope,
      policy: z.string().min(1).max(1024 * 1024).describe('the policy file (YAML text) the verdict names by digest'),
      reports: z.array(envelope).max(200).default([]).describe('every signed run report the verdict cites (as `assay verify --report`)'),
      modelFacts: z.string().max(256 * 1024).optional().describe('the model facts file (YAML text) when the verdict used one'),
      tamper: z.array(z.strictObject({ report: envelope, log: z.string().min(1).max(8 * 1024 * 1024).describe('the tamper log (tamper.jsonl text) the signed report is over') })).max(20).default([]).describe('every signed tamper report the verdict cites (policy v3 tamper rules), with its tamper log'),
      jurisdictions: z.array(jurisdiction).max(50).optional().describe('whose agencies oversee the follow-through (default: the developer\'s)'),
    }),
    response: z.object({ digest: z.string(), verdict: z.string(), recomputed: z.literal(true), developerId: z.string(), modelId: z.string(), obligations: z.array(obligation) }),
    handler: ({ actor, body }) => obligations.registerVerdict(actor, body.testerId, body.modelId, JSON.stringify(body.verdict), body.jurisdictions, { policy: body.policy, reports: body.reports.map((r) => JSON.stringify(r)), tamper: body.tamper.map((t) => ({ report: JSON.stringify(t.report), log: t.log })), ...(body.modelFacts ? { modelFacts: body.modelFacts } : {}) }),
  });
  route(api, {
    method: 'GET', path: '/api/v1/obligations', tag: 'obligations', auth: 'required', summary: 'Obligations of the caller\'s organisations (developer, tester, or agency of the developer\'s jurisdiction)',
    query: z.strictObject({ state: z.enum(OBLIGATION_STATES).optional(), overdue: z.enum(['true', 'false']).transform((v) => v === 'true').optional() }), response: z.object({ items: z.array(obligation) }),
    handler: ({ actor, query }) => obligations.list(actor, query),
  });
  route(api, {
    method: 'GET', path: '/api/v1/obligations/:id', tag: 'obligations', auth: 'required', summary: 'An obligation', params: z.strictObject({ id: id('obl') }), response: obligation,
    handler: ({ actor, params }) => obligations.get(actor, params.id),
  });
  route(api, {
    method: 'POST', path: '/api/v1/obligations/:id/fulfil', tag: 'obligations', auth: 'required', summary: 'The developer records how it fulfilled the obligation, with evidence',
    params: z.strictObject({ id: id('obl') }), body: z.strictObject({ statement: z.string().trim().min(1).max(10_000), evidence: z.array(z.strictObject({ kind: z.string().min(1).max(100), ref: z.string().min(1).max(2000), digest: digest.optional() })).max(50) }), response: obligation,
    handler: ({ actor, params, body }) => obligations.fulfil(actor, params.id, body),
  });
  route(api, {
    method: 'POST', path: '/api/v1/obligations/:id/:review', tag: 'obligations', auth: 'required', summary: 'confirm | dispute a fulfilment (the tester, or an agency of the developer\'s jurisdiction)',
    params: z.strictObject({ id: id('obl'), review: z.enum(['confirm', 'dispute']) }), body: z.strictObject({ reason }), response: obligation,
    handler: ({ actor, params, body }) => obligations.review(actor, params.id, params.review, body.reason),
  });

  // ── notifications ──
  route(api, {
    method: 'GET', path: '/api/v1/orgs/:id/inbox', tag: 'notifications', auth: 'required', summary: 'An organisation\'s inbox, newest first (its members)',
    params: z.strictObject({ id: id('org') }), query: z.strictObject({ unread: z.enum(['true', 'false']).transform((v) => v === 'true').optional(), cursor, limit }), response: z.object({ items: z.array(message), next: z.string().nullable() }),
    handler: ({ actor, params, query }) => webhooks.inbox(actor, params.id, query),
  });
  route(api, {
    method: 'POST', path: '/api/v1/orgs/:id/inbox/:messageId/read', tag: 'notifications', auth: 'required', summary: 'Mark a message read',
    params: z.strictObject({ id: id('org'), messageId: id('msg') }), body: z.strictObject({}), response: ok,
    handler: ({ actor, params }) => webhooks.markRead(actor, params.id, params.messageId),
  });
  route(api, {
    method: 'POST', path: '/api/v1/orgs/:id/webhooks', tag: 'notifications', auth: 'required', summary: 'Register a webhook (its admins); the signing secret is returned once. Private and loopback URLs are refused unless allow-listed', status: 201,
    params: z.strictObject({ id: id('org') }), body: z.strictObject({ url: z.string().min(1).max(2000) }), response: z.object({ id: z.string(), url: z.string(), secret: z.string(), createdAt: z.string() }),
    handler: ({ actor, params, body }) => webhooks.create(actor, params.id, body.url),
  });
  route(api, {
    method: 'GET', path: '/api/v1/orgs/:id/webhooks', tag: 'notifications', auth: 'required', summary: 'Webhooks and their recent deliveries (its admins)',
    params: z.strictObject({ id: id('org') }), response: z.object({ items: z.array(z.object({ id: z.string(), url: z.string(), createdAt: z.string(), disabledAt: z.string().nullable(), deliveries: z.array(delivery) })) }),
    handler: ({ actor, params }) => webhooks.list(actor, params.id),
  });
  route(api, {
    method: 'DELETE', path: '/api/v1/orgs/:id/webhooks/:hookId', tag: 'notifications', auth: 'required', summary: 'Remove a webhook (pending deliveries are cancelled)',
    params: z.strictObject({ id: id('org'), hookId: id('whk') }), response: ok,
    handler: async ({ actor, params }) => (await webhooks.remove(actor, params.id, params.hookId), { ok: true as const }),
  });

  return { findings, obligations, webhooks, scheduler };
}
