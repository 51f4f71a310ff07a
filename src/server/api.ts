import * as z from 'zod';
import { ACCREDITATION_ACTIONS } from '../registry/accreditation.js';
import { ENGAGEMENT_ACTIONS } from '../registry/engagement.js';
import { ORG_KINDS, RegistryError, TESTER_SUB_KINDS } from '../registry/registry.js';
import { ACCESS_LEVELS } from '../model/types.js';
import { CSRF_HEADER, SESSION_COOKIE, csrfFor, route, type Api } from './http.js';

/** `/api/v1`: every endpoint of the registry, declared once (validation + OpenAPI). docs/formats/registry-api.md. */

const id = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[A-Za-z0-9_-]{8,40}$`), `expected a ${prefix}_… identifier`);
const name = z.string().trim().min(1).max(200);
const jurisdiction = z.string().regex(/^([A-Z]{2}|EU)$/, 'expected an ISO 3166-1 alpha-2 code or EU');
const iso = z.iso.datetime({ offset: true });
const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 lowercase hex>');
// Risk areas are the suites' own free-text names (e.g. "cyber: prompt injection").
const domain = z.string().trim().min(1).max(200);
const limit = z.coerce.number().int().min(1).max(200).optional();
const cursor = z.string().max(400).optional();
const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), next: z.string().nullable() });
const envelope = z.object({ payloadType: z.string(), payload: z.string(), signatures: z.array(z.object({ keyid: z.string(), sig: z.string() })).max(8) }).passthrough();
const jwk = z.strictObject({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string().max(64) });

const org = z.object({ id: z.string(), kind: z.enum(ORG_KINDS as [string, ...string[]]), subKind: z.string().nullable(), name: z.string(), jurisdiction: z.string(), createdAt: z.string() });
const orgDetail = org.extend({ keys: z.array(z.object({ keyId: z.string(), publicKey: z.unknown(), addedAt: z.string(), revokedAt: z.string().nullable() })) });
const accreditation = z.object({ id: z.string(), accreditorId: z.string(), testerId: z.string(), riskAreas: z.array(z.string()), state: z.string(), reassessBy: z.string(), statementDigest: z.string(), createdAt: z.string(), updatedAt: z.string() });
const recognition = z.object({ id: z.string(), recogniserId: z.string(), recognisedId: z.string(), riskAreas: z.array(z.string()), state: z.string(), createdAt: z.string() });
const model = z.object({ id: z.string(), developerId: z.string(), name: z.string(), releaseDigest: z.string(), facts: z.unknown(), scopeDecision: z.object({ inScope: z.boolean(), policyDigest: z.string(), reason: z.string().optional() }).nullable(), createdAt: z.string() });
const engagement = z.object({
  id: z.string(), developerId: z.string(), testerId: z.string(), modelId: z.string(), suites: z.array(z.string()), policyDigest: z.string().nullable(), accessLevel: z.string(),
  windowStart: z.string(), windowEnd: z.string(), state: z.string(), grantDigest: z.string().nullable(), grantLevel: z.string().nullable(), createdAt: z.string(), updatedAt: z.string(),
});
const report = z.object({ id: z.string(), engagementId: z.string(), testerId: z.string(), payloadDigest: z.string(), runLogDigest: z.string().nullable(), verified: z.boolean(), verification: z.unknown(), publishedAt: z.string().nullable(), createdAt: z.string() });
const token = z.object({ id: z.string(), token: z.string(), expiresAt: z.string() });
const ok = z.object({ ok: z.literal(true) });

export function registerApi(api: Api, opts: { secureCookies: boolean; loginPerMinute: number }) {
  const loginLimit = { max: opts.loginPerMinute, timeWindow: '1 minute' };
  const r = api.registry;
  const login = z.strictObject({ email: z.string().email().max(320), password: z.string().min(1).max(1024) });

  // ── sign-in ──
  route(api, {
    method: 'POST', path: '/api/v1/login', tag: 'auth', auth: 'public', summary: 'Exchange e-mail and password for an API token (for the CLI)',
    body: login.extend({ ttlSeconds: z.number().int().min(60).max(30 * 86400).optional() }), response: token, rateLimit: loginLimit,
    handler: ({ body }) => r.login(body.email, body.password, body.ttlSeconds),
  });
  route(api, {
    method: 'POST', path: '/api/v1/session', tag: 'auth', auth: 'public', summary: 'Browser sign-in: sets an HttpOnly session cookie and returns the CSRF token for unsafe requests',
    body: login, response: z.object({ csrfToken: z.string(), csrfHeader: z.string(), expiresAt: z.string() }), rateLimit: loginLimit,
    handler: async ({ body, reply }) => {
      const t = await r.login(body.email, body.password);
      reply.setCookie(SESSION_COOKIE, t.token, { httpOnly: true, secure: opts.secureCookies, sameSite: 'strict', path: '/', expires: new Date(t.expiresAt) });
      return { csrfToken: csrfFor(api.csrfKey, t.token), csrfHeader: CSRF_HEADER, expiresAt: t.expiresAt };
    },
  });
  route(api, {
    method: 'GET', path: '/api/v1/session', tag: 'auth', auth: 'required', summary: 'The CSRF token of the browser session (a page reload forgets it; same-origin only: no CORS)',
    response: z.object({ csrfToken: z.string(), csrfHeader: z.string() }),
    handler: async ({ req }) => {
      const s = req.cookies[SESSION_COOKIE];
      if (!s) throw new RegistryError(400, 'NO_SESSION', 'no browser session: sign in with POST /api/v1/session (API tokens need no CSRF token)');
      return { csrfToken: csrfFor(api.csrfKey, s), csrfHeader: CSRF_HEADER };
    },
  });
  route(api, {
    method: 'GET', path: '/api/v1/me', tag: 'auth', auth: 'required', summary: 'Who the credentials stand for', response: z.object({ userId: z.string(), operator: z.boolean(), memberships: z.array(z.object({ orgId: z.string(), kind: z.string(), role: z.string() })), scopes: z.array(z.string()) }),
    handler: async ({ actor }) => actor,
  });
  route(api, {
    method: 'POST', path: '/api/v1/tokens', tag: 'auth', auth: 'required', summary: 'Create an API token (shown once; stored hashed)', status: 201,
    body: z.strictObject({ scopes: z.array(z.enum(['read', 'write'])).min(1).max(2), ttlSeconds: z.number().int().min(60).max(365 * 86400) }), response: token, rateLimit: { max: 30, timeWindow: '1 minute' },
    handler: ({ actor, body }) => r.createToken(actor, body.scopes, body.ttlSeconds),
  });
  route(api, {
    method: 'DELETE', path: '/api/v1/tokens/:id', tag: 'auth', auth: 'required', summary: 'Revoke a token', params: z.strictObject({ id: id('tok') }), response: ok,
    handler: async ({ actor, params }) => (await r.revokeToken(actor, params.id), { ok: true as const }),
  });

  // ── organisations ──
  route(api, {
    method: 'GET', path: '/api/v1/orgs', tag: 'organisations', auth: 'public', summary: 'The directory of organisations',
    query: z.strictObject({ kind: z.enum(ORG_KINDS as [string, ...string[]]).optional(), cursor, limit }), response: page(org),
    handler: ({ query }) => r.listOrgs(query as never),
  });
  route(api, {
    method: 'GET', path: '/api/v1/orgs/:id', tag: 'organisations', auth: 'public', summary: 'An organisation and its public signing keys', params: z.strictObject({ id: id('org') }), response: orgDetail,
    handler: ({ params }) => r.getOrg(params.id),
  });
  route(api, {
    method: 'POST', path: '/api/v1/orgs', tag: 'organisations', auth: 'required', summary: 'Register an organisation (registry operator)', status: 201,
    body: z.strictObject({ kind: z.enum(ORG_KINDS as [string, ...string[]]), subKind: z.enum(TESTER_SUB_KINDS).nullable().optional(), name, jurisdiction }), response: org,
    handler: ({ actor, body }) => r.createOrg(actor, body as never),
  });
  route(api, {
    method: 'POST', path: '/api/v1/orgs/:id/members', tag: 'organisations', auth: 'required', summary: 'Add a person to an organisation, or change their role (its admins)', status: 201,
    params: z.strictObject({ id: id('org') }), body: z.strictObject({ email: z.string().email().max(320), name, role: z.enum(['admin', 'member', 'viewer']), password: z.string().min(12).max(1024).optional() }),
    response: z.object({ userId: z.string(), orgId: z.string(), role: z.string() }),
    handler: ({ actor, params, body }) => r.addMember(actor, params.id, body),
  });
  route(api, {
    method: 'POST', path: '/api/v1/orgs/:id/keys', tag: 'organisations', auth: 'required', summary: 'Register a public signing key (its admins)', status: 201,
    params: z.strictObject({ id: id('org') }), body: z.strictObject({ publicKey: jwk }), response: z.object({ keyId: z.string() }),
    handler: ({ actor, params, body }) => r.addKey(actor, params.id, body.publicKey),
  });
  route(api, {
    method: 'DELETE', path: '/api/v1/orgs/:id/keys/:keyId', tag: 'organisations', auth: 'required', summary: 'Revoke a signing key (its admins)',
    params: z.strictObject({ id: id('org'), keyId: digest }), response: ok,
    handler: async ({ actor, params }) => (await r.revokeKey(actor, params.id, params.keyId), { ok: true as const }),
  });
  route(api, {
    method: 'POST', path: '/api/v1/orgs/:id/conflicts', tag: 'organisations', auth: 'required', summary: 'A tester declares a conflict of interest with a developer', status: 201,
    params: z.strictObject({ id: id('org') }), body: z.strictObject({ developerId: id('org'), reason: z.string().min(1).max(2000) }), response: ok,
    handler: async ({ actor, params, body }) => (await r.declareConflict(actor, params.id, body.developerId, body.reason), { ok: true as const }),
  });

  // ── accreditation and recognition ──
  route(api, {
    method: 'GET', path: '/api/v1/accreditations', tag: 'accreditation', auth: 'public', summary: 'Accreditations, all states (withdrawn ones stay visible)',
    query: z.strictObject({ tester: id('org').optional(), cursor, limit }), response: page(accreditation),
    handler: ({ query }) => r.listAccreditations({ testerId: query.tester, cursor: query.cursor, limit: query.limit }),
  });
  route(api, {
    method: 'POST', path: '/api/v1/accreditations', tag: 'accreditation', auth: 'required', summary: 'An accreditor grants a tester a scope (a statement signed with the accreditor\'s key)', status: 201,
    body: z.strictObject({ accreditorId: id('org'), testerId: id('org'), statement: envelope }), response: z.object({ id: z.string(), state: z.string(), riskAreas: z.array(z.string()), reassessBy: z.string() }),
    handler: ({ actor, body }) => r.grantAccreditation(actor, body.accreditorId, body.testerId, body.statement),
  });
  route(api, {
    method: 'POST', path: '/api/v1/accreditations/:id/:action', tag: 'accreditation', auth: 'required', summary: 'Suspend, reinstate or withdraw (a status statement signed by the accreditor)',
    params: z.strictObject({ id: id('acc'), action: z.enum(ACCREDITATION_ACTIONS) }), body: z.strictObject({ statement: envelope }), response: z.object({ id: z.string(), state: z.string() }),
    handler: ({ actor, params, body }) => r.changeAccreditation(actor, params.id, params.action, body.statement),
  });
  route(api, {
    method: 'GET', path: '/api/v1/recognitions', tag: 'accreditation', auth: 'public', summary: 'Recognition agreements between accreditors', query: z.strictObject({ cursor, limit }), response: page(recognition),
    handler: ({ query }) => r.listRecognitions(query),
  });
  route(api, {
    method: 'POST', path: '/api/v1/recognitions', tag: 'accreditation', auth: 'required', summary: 'An accreditor recognises another\'s accreditations for risk areas (signed)', status: 201,
    body: z.strictObject({ recogniserId: id('org'), recognisedId: id('org'), statement: envelope }), response: z.object({ id: z.string(), recogniserId: z.string(), recognisedId: z.string(), riskAreas: z.array(z.string()) }),
    handler: ({ actor, body }) => r.addRecognition(actor, body.recogniserId, body.recognisedId, body.statement),
  });
  route(api, {
    method: 'GET', path: '/api/v1/recognition', tag: 'accreditation', auth: 'public', summary: 'Is tester T recognised in jurisdiction J for risk area D, and through which chain?',
    query: z.strictObject({ tester: id('org'), jurisdiction, domain }),
    response: z.union([z.object({ recognised: z.literal(true), chain: z.array(z.record(z.string(), z.string())), accreditation: z.string() }), z.object({ recognised: z.literal(false), reason: z.string() })]),
    handler: ({ query }) => r.recognition(query.tester, query.jurisdiction, query.domain),
  });
  route(api, {
    method: 'GET', path: '/api/v1/trust', tag: 'accreditation', auth: 'public', summary: 'A trust file (assay.trust/v1) for `assay verify` in a jurisdiction, from the accreditation graph',
    query: z.strictObject({ jurisdiction, domains: z.string().max(4000).transform((s) => s.split('|')).pipe(z.array(domain).min(1).max(64)) }), response: z.record(z.string(), z.unknown()),
    handler: ({ query }) => r.trustExport(query.jurisdiction, query.domains),
  });

  // ── models ──
  route(api, {
    method: 'GET', path: '/api/v1/models', tag: 'models', auth: 'public', summary: 'Registered model releases (filter: in scope of a policy)',
    query: z.strictObject({ inScope: z.enum(['true', 'false']).transform((v) => v === 'true').optional(), developer: id('org').optional(), cursor, limit }), response: page(model),
    handler: ({ query }) => r.listModels({ inScope: query.inScope, developerId: query.developer, cursor: query.cursor, limit: query.limit }),
  });
  route(api, {
    method: 'GET', path: '/api/v1/models/:id', tag: 'models', auth: 'public', summary: 'A model release', params: z.strictObject({ id: id('mdl') }), response: model,
    handler: ({ params }) => r.getModel(params.id),
  });
  route(api, {
    method: 'POST', path: '/api/v1/models', tag: 'models', auth: 'required', summary: 'A developer registers a signed model-release statement, its facts and its scope decision', status: 201,
    body: z.strictObject({ developerId: id('org'), release: z.string().min(1).max(64 * 1024), facts: z.record(z.string(), z.unknown()).optional(), scopeDecision: z.strictObject({ inScope: z.boolean(), policyDigest: digest, reason: z.string().max(2000).optional() }).nullable().optional() }),
    response: z.object({ id: z.string(), name: z.string(), releaseDigest: z.string(), developerId: z.string(), inScope: z.boolean().nullable() }),
    handler: ({ actor, body }) => r.registerModel(actor, body.developerId, body),
  });

  // ── engagements ──
  route(api, {
    method: 'GET', path: '/api/v1/engagements', tag: 'engagements', auth: 'required', summary: 'Engagements the caller\'s organisations are party to', query: z.strictObject({ cursor, limit }), response: page(engagement),
    handler: ({ actor, query }) => r.listEngagements(actor, query),
  });
  route(api, {
    method: 'POST', path: '/api/v1/engagements', tag: 'engagements', auth: 'required', summary: 'Propose an engagement (a member of the developer or the tester)', status: 201,
    body: z.strictObject({ developerId: id('org'), testerId: id('org'), modelId: id('mdl'), suites: z.array(z.string().min(1).max(200)).min(1).max(100), policyDigest: digest.nullable().optional(), accessLevel: z.enum(ACCESS_LEVELS), windowStart: iso, windowEnd: iso }),
    response: engagement,
    handler: ({ actor, body }) => r.proposeEngagement(actor, body),
  });
  route(api, {
    method: 'GET', path: '/api/v1/engagements/:id', tag: 'engagements', auth: 'required', summary: 'An engagement (its parties)', params: z.strictObject({ id: id('eng') }), response: engagement,
    handler: ({ actor, params }) => r.getEngagement(actor, params.id),
  });
  route(api, {
    method: 'POST', path: '/api/v1/engagements/:id/:action', tag: 'engagements', auth: 'required', summary: 'accept | decline | grant | close | cancel (the right party; grant records the gateway grant\'s digest and level)',
    params: z.strictObject({ id: id('eng'), action: z.enum(ENGAGEMENT_ACTIONS.filter((a) => a !== 'report') as ['accept', 'decline', 'grant', 'close', 'cancel']) }),
    body: z.strictObject({ reason: z.string().max(2000).optional(), grantDigest: digest.optional(), grantLevel: z.enum(ACCESS_LEVELS).optional() }), response: engagement,
    handler: ({ actor, params, body }) => r.transitionEngagement(actor, params.id, params.action, body),
  });

  // ── reports ──
  route(api, {
    method: 'POST', path: '/api/v1/engagements/:id/reports', tag: 'reports', auth: 'required', summary: 'The tester uploads a signed report (and optionally its run log, base64); verified on arrival', status: 201, bodyLimit: 64 * 1024 * 1024,
    params: z.strictObject({ id: id('eng') }), body: z.strictObject({ bundle: envelope, runLog: z.base64().optional() }),
    response: z.object({ id: z.string(), engagementId: z.string(), payloadDigest: z.string(), verified: z.boolean(), exitCode: z.number(), failures: z.array(z.unknown()) }),
    handler: ({ actor, params, body }) => r.uploadReport(actor, params.id, JSON.stringify(body.bundle), body.runLog ? Buffer.from(body.runLog, 'base64') : undefined),
  });
  route(api, {
    method: 'GET', path: '/api/v1/engagements/:id/reports', tag: 'reports', auth: 'required', summary: 'Reports of an engagement (its parties)', params: z.strictObject({ id: id('eng') }), response: z.array(report),
    handler: ({ actor, params }) => r.listEngagementReports(actor, params.id),
  });
  route(api, {
    method: 'GET', path: '/api/v1/reports', tag: 'reports', auth: 'public', summary: 'Published, verified reports, newest first, each with the model release its engagement tested (filter: tester, model)', query: z.strictObject({ tester: id('org').optional(), model: id('mdl').optional(), cursor, limit }), response: page(report.extend({ modelId: z.string() })),
    handler: ({ query }) => r.listPublishedReports({ testerId: query.tester, modelId: query.model, cursor: query.cursor, limit: query.limit }),
  });
  route(api, {
    method: 'GET', path: '/api/v1/reports/:id', tag: 'reports', auth: 'public', summary: 'A report with its verification (public once published; parties before)',
    params: z.strictObject({ id: id('rep') }), query: z.strictObject({ bundle: z.enum(['true', 'false']).optional() }), response: report.extend({ bundle: z.unknown().optional() }),
    handler: ({ actor, params, query }) => r.getReport(actor, params.id, query.bundle === 'true'),
  });
  route(api, {
    method: 'POST', path: '/api/v1/reports/:id/publish', tag: 'reports', auth: 'required', summary: 'The tester publishes a verified report', params: z.strictObject({ id: id('rep') }), body: z.strictObject({}),
    response: z.object({ id: z.string(), publishedAt: z.string() }),
    handler: ({ actor, params }) => r.publishReport(actor, params.id),
  });

  // ── audit trail ──
  route(api, {
    method: 'GET', path: '/api/v1/events', tag: 'events', auth: 'public', summary: 'The event history the transparency log commits to (digests, kinds, subjects)',
    query: z.strictObject({ cursor, limit }), response: page(z.object({ seq: z.number(), at: z.string(), kind: z.string(), subject: z.string(), digest: z.string(), tlogIndex: z.number().nullable() })),
    handler: ({ query }) => r.listEvents(query),
  });
}
