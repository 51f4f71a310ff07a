import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { issueAccreditation } from '../src/attest/trust.js';
import { exportPublicJwk, generateSigner } from '../src/attest/keys.js';
import { signRelease } from '../src/gateway/release.js';
import { ACCREDITATION_STATUS_PREDICATE, RECOGNITION_PREDICATE, signStatement } from '../src/registry/statements.js';
import { RegistryClient, RegistryHttpError } from '../src/registry/client.js';
import { followUpPolicy, signedVerdictFor } from '../src/registry/scenario-findings.js';
import { header, sample, writeRunLog } from './attest-fixture.js';
import { runScenario, type Party, type World } from '../src/registry/scenario.js';
import type { Kysely } from 'kysely';
import type { GrantDB } from '../src/registry/grant-requests.js';
import type { DispatchDB } from '../src/registry/run-dispatch.js';
import { backends, makeReport, startRegistry, testStore, type Running } from './registry-fixture.js';

// A whole run: its header records the suite's 40 items (policy-evaluation v4 counts only runs of known size).
const VERDICT_LOG = writeRunLog(Array.from({ length: 40 }, (_, i) => sample(`s${i}`, 1)), { header: header({ suite: { ...header().suite, items: 40 } }) });
const VERDICT_POLICY = followUpPolicy('fixture.qa', 'accuracy');

/**
 * The authorisation matrix: every endpoint of the OpenAPI document × every kind of caller
 * (anonymous, operator, each role of each organisation kind, a party and a non-party tester, a
 * read-only token). The expectations below are the specification, written independently of the
 * implementation; a refused request must change nothing in the database.
 */
type Who = 'public' | 'operator' | `${'dev' | 'testerA' | 'testerB' | 'accGB' | 'agency'}-${'admin' | 'member' | 'viewer'}` | 'dev-admin-readonly';
const ORGS = ['dev', 'testerA', 'testerB', 'accGB', 'agency'] as const;
const ROLES = ['admin', 'member', 'viewer'] as const;
const ALL: Who[] = ['public', 'operator', ...ORGS.flatMap((o) => ROLES.map((r) => `${o}-${r}` as Who)), 'dev-admin-readonly'];
const AUTHED = ALL.filter((w) => w !== 'public');
const writers = (...orgs: (typeof ORGS)[number][]) => orgs.flatMap((o) => [`${o}-admin`, `${o}-member`] as Who[]);
const anyRole = (...orgs: (typeof ORGS)[number][]) => [...orgs.flatMap((o) => ROLES.map((r) => `${o}-${r}` as Who)), ...(orgs.includes('dev') ? (['dev-admin-readonly'] as Who[]) : [])];

interface Case {
  allowed: Who[];
  /** Builds the request anew for each caller (fresh signatures, fresh bodies). */
  req: () => Promise<{ method: 'GET' | 'POST' | 'DELETE'; path: string; body?: unknown; query?: Record<string, string> }>;
  /** A 200 whose body withholds the resource (e.g. an embargoed finding's bare existence) is a refusal. */
  withheld?: (body: unknown) => boolean;
}

for (const backend of await backends()) {
  describe(`authorisation matrix on ${backend}`, () => {
    let run: Running;
    let w: World;
    let drop: () => Promise<void>;
    const clients = new Map<Who, RegistryClient>();
    let unpublished = '';
    let openEngagement = '';
    let runEngagement = '';
    let devAdminTokenId = '';
    let accreditationId = '';
    let grantRequest = '';
    // Findings and follow-through (issue 24).
    let embargoed = '';
    let closedFinding = '';
    let wildFinding = '';
    let obligationId = '';
    let devMessage = '';
    let hookId = '';

    before(async () => {
      const ts = await testStore(backend);
      drop = ts.drop;
      run = await startRegistry(await ts.open());
      w = await runScenario({ baseUrl: run.baseUrl, operatorToken: run.operatorToken, makeReport });
      const parties: Record<(typeof ORGS)[number], Party> = { dev: w.developer, testerA: w.testerA, testerB: w.testerB, accGB: w.accreditorGB, agency: w.agency };
      clients.set('public', new RegistryClient(run.baseUrl));
      clients.set('operator', w.operator);
      for (const o of ORGS) {
        const p = parties[o];
        clients.set(`${o}-admin`, p.client);
        for (const role of ['member', 'viewer'] as const) {
          const email = `${role}.${o}@example.org`;
          const password = `a long ${role} password for ${o}`;
          await p.client.post(`/api/v1/orgs/${p.orgId}/members`, { email, name: `${o} ${role}`, role, password });
          const c = new RegistryClient(run.baseUrl);
          c.token = (await c.post<{ token: string }>('/api/v1/login', { email, password })).token;
          clients.set(`${o}-${role}`, c);
        }
      }
      const ro = await w.developer.client.post<{ id: string; token: string }>('/api/v1/tokens', { scopes: ['read'], ttlSeconds: 3600 });
      clients.set('dev-admin-readonly', new RegistryClient(run.baseUrl, ro.token));
      devAdminTokenId = (await w.developer.client.post<{ id: string }>('/api/v1/tokens', { scopes: ['read', 'write'], ttlSeconds: 3600 })).id;
      // An engagement left active with an unpublished report.
      const eng = await w.developer.client.post<{ id: string }>('/api/v1/engagements', {
        developerId: w.developer.orgId, testerId: w.testerA.orgId, modelId: w.modelId, suites: ['fixture.qa'], accessLevel: 'black-box',
        windowStart: new Date().toISOString(), windowEnd: new Date(Date.now() + 86400e3).toISOString(),
      });
      await w.testerA.client.post(`/api/v1/engagements/${eng.id}/accept`, {});
      await w.developer.client.post(`/api/v1/engagements/${eng.id}/grant`, { grantDigest: `sha256:${'d'.repeat(64)}`, grantLevel: 'black-box' });
      const { bundle } = await makeReport({ signer: w.testerA.signer, name: w.testerA.name });
      unpublished = (await w.testerA.client.post<{ id: string }>(`/api/v1/engagements/${eng.id}/reports`, { bundle: JSON.parse(bundle) })).id;
      openEngagement = eng.id;
      // Its own active engagement for run dispatch (other rows close openEngagement along the way).
      const runEng = await w.developer.client.post<{ id: string }>('/api/v1/engagements', {
        developerId: w.developer.orgId, testerId: w.testerA.orgId, modelId: w.modelId, suites: ['fixture.qa'], accessLevel: 'black-box',
        windowStart: new Date().toISOString(), windowEnd: new Date(Date.now() + 86400e3).toISOString(),
      });
      await w.testerA.client.post(`/api/v1/engagements/${runEng.id}/accept`, {});
      await w.developer.client.post(`/api/v1/engagements/${runEng.id}/grant`, { grantDigest: `sha256:${'f'.repeat(64)}`, grantLevel: 'black-box' });
      runEngagement = runEng.id;
      grantRequest = (await w.testerA.client.post<{ id: string }>(`/api/v1/engagements/${eng.id}/grant-requests`, { level: 'white-box' })).id;
      accreditationId = (await w.operator.get<{ items: { id: string; testerId: string }[] }>('/api/v1/accreditations')).items.find((a) => a.testerId === w.testerA.orgId)!.id;
      const fileFinding = async (o: Record<string, unknown> = {}) =>
        (await w.testerA.client.post<{ id: string }>('/api/v1/findings', { reporterId: w.testerA.orgId, modelIds: [w.modelId], title: 'flaw', riskDomain: 'cyber', severity: 'high', jurisdictions: ['GB'], details: { description: 'd', reproduction: 'r', evidence: [] }, ...o })).id;
      embargoed = await fileFinding();
      closedFinding = await fileFinding();
      await w.testerA.client.post(`/api/v1/findings/${closedFinding}/transition`, { action: 'withdraw', reason: 'test' });
      // In the wild: pre-notified (the GB agency) at filing.
      wildFinding = await fileFinding({ inTheWild: true });
      await run.server.followUp.scheduler.tick();
      obligationId = (await w.testerA.client.post<{ obligations: { id: string }[] }>('/api/v1/verdicts', { testerId: w.testerA.orgId, modelId: w.modelId, jurisdictions: ['GB'], ...(await verdict()) })).obligations[0]!.id;
      devMessage = (await w.developer.client.get<{ items: { id: string }[] }>(`/api/v1/orgs/${w.developer.orgId}/inbox`)).items[0]!.id;
      hookId = (await w.developer.client.post<{ id: string }>(`/api/v1/orgs/${w.developer.orgId}/webhooks`, { url: 'https://93.184.216.34/hook' })).id;
      await run.server.followUp.scheduler.stop();
    });
    after(async () => {
      await run?.close();
      await run?.store.close();
      await drop?.();
    });

    const fresh = () => {
      const s = generateSigner();
      const { kid: _k, ...jwk } = exportPublicJwk(s.publicKey);
      return jwk;
    };
    // A real signed verdict (the registry recomputes it): 40 correct answers on the fixture suite
    // cross the follow-through policy's threshold; each call signs at another time, so each is new.
    let nonce = 0;
    const verdict = async () => {
      const v = await signedVerdictFor(VERDICT_LOG, w.testerA.signer, w.testerA.name, VERDICT_POLICY, new Date(Date.now() + ++nonce * 1000));
      return { verdict: v.verdict, policy: VERDICT_POLICY, reports: [v.report] };
    };
    const window = () => ({ windowStart: new Date().toISOString(), windowEnd: new Date(Date.now() + 86400e3).toISOString() });
    const runSuiteRef = { id: 'fixture.qa', version: '1.0.0', digest: `sha256:${'e'.repeat(64)}` };
    const newSpec = () => w.testerA.client.post<{ id: string }>(`/api/v1/engagements/${runEngagement}/run-specs`, { suite: runSuiteRef, model: 'openai/sim' });
    /** A spec claimed by the tester's own coordinator: its id and claim id (claims take the oldest runnable spec). */
    const claimedSpec = async () => {
      await newSpec();
      const { spec } = await w.testerA.client.post<{ spec: { id: string; claimId: string } }>('/api/v1/run-specs/claim', { engagement: runEngagement });
      return spec;
    };
    const cases = (): Record<string, Case> => ({
      'GET /api/v1/openapi.json': { allowed: ALL, req: async () => ({ method: 'GET', path: '/api/v1/openapi.json' }) },
      'POST /api/v1/login': { allowed: ALL, req: async () => ({ method: 'POST', path: '/api/v1/login', body: { email: w.agency.email, password: w.agency.password } }) },
      'POST /api/v1/session': { allowed: ALL, req: async () => ({ method: 'POST', path: '/api/v1/session', body: { email: w.agency.email, password: w.agency.password } }) },
      // Bearer-token callers have no browser session: 400 (allowed, nothing to return); the public 401.
      'GET /api/v1/session': { allowed: AUTHED, req: async () => ({ method: 'GET', path: '/api/v1/session' }) },
      'GET /api/v1/me': { allowed: AUTHED, req: async () => ({ method: 'GET', path: '/api/v1/me' }) },
      'POST /api/v1/tokens': { allowed: AUTHED.filter((x) => x !== 'dev-admin-readonly'), req: async () => ({ method: 'POST', path: '/api/v1/tokens', body: { scopes: ['read'], ttlSeconds: 600 } }) },
      'DELETE /api/v1/tokens/{id}': { allowed: ['operator', 'dev-admin'], req: async () => ({ method: 'DELETE', path: `/api/v1/tokens/${devAdminTokenId}` }) },
      'GET /api/v1/orgs': { allowed: ALL, req: async () => ({ method: 'GET', path: '/api/v1/orgs' }) },
      'GET /api/v1/orgs/{id}': { allowed: ALL, req: async () => ({ method: 'GET', path: `/api/v1/orgs/${w.developer.orgId}` }) },
      'POST /api/v1/orgs': { allowed: ['operator'], req: async () => ({ method: 'POST', path: '/api/v1/orgs', body: { kind: 'agency', name: 'Another agency', jurisdiction: 'DE' } }) },
      'POST /api/v1/orgs/{id}/members': { allowed: ['operator', 'dev-admin'], req: async () => ({ method: 'POST', path: `/api/v1/orgs/${w.developer.orgId}/members`, body: { email: 'new.viewer@dev.example', name: 'New viewer', role: 'viewer' } }) },
      'POST /api/v1/orgs/{id}/keys': { allowed: ['dev-admin'], req: async () => ({ method: 'POST', path: `/api/v1/orgs/${w.developer.orgId}/keys`, body: { publicKey: fresh() } }) },
      'DELETE /api/v1/orgs/{id}/keys/{keyId}': { allowed: ['dev-admin'], req: async () => ({ method: 'DELETE', path: `/api/v1/orgs/${w.developer.orgId}/keys/sha256:${'e'.repeat(64)}` }) },
      'POST /api/v1/orgs/{id}/conflicts': { allowed: writers('testerB'), req: async () => ({ method: 'POST', path: `/api/v1/orgs/${w.testerB.orgId}/conflicts`, body: { developerId: w.developer.orgId, reason: 'advised them' } }) },
      'GET /api/v1/accreditations': { allowed: ALL, req: async () => ({ method: 'GET', path: '/api/v1/accreditations' }) },
      'POST /api/v1/accreditations': {
        allowed: writers('accGB'),
        req: async () => ({
          method: 'POST', path: '/api/v1/accreditations',
          body: { accreditorId: w.accreditorGB.orgId, testerId: w.testerA.orgId, statement: issueAccreditation({ body: w.accreditorGB.signer, bodyName: 'x', tester: { name: 'A', publicKey: w.testerA.signer.publicKey }, scopes: { riskAreas: ['chem'] }, notBefore: new Date(), notAfter: new Date(Date.now() + 86400e3 * Math.random() * 100 + 86400e3) }) },
        }),
      },
      'POST /api/v1/accreditations/{id}/{action}': {
        allowed: writers('accGB'),
        // Signed over a digest that is not the accreditation's: allowed callers get 400, never a change.
        req: async () => ({ method: 'POST', path: `/api/v1/accreditations/${accreditationId}/suspend`, body: { statement: signStatement(w.accreditorGB.signer, 'assay/accreditation', 'f'.repeat(64), ACCREDITATION_STATUS_PREDICATE, { accreditation: `sha256:${'f'.repeat(64)}`, state: 'suspended', reason: 'test', at: new Date().toISOString() }) } }),
      },
      'GET /api/v1/recognitions': { allowed: ALL, req: async () => ({ method: 'GET', path: '/api/v1/recognitions' }) },
      'POST /api/v1/recognitions': {
        allowed: writers('accGB'),
        req: async () => ({ method: 'POST', path: '/api/v1/recognitions', body: { recogniserId: w.accreditorGB.orgId, recognisedId: w.accreditorFR.orgId, statement: signStatement(w.accreditorGB.signer, 'assay/accreditor', 'a'.repeat(64), RECOGNITION_PREDICATE, { recogniser: w.accreditorGB.orgId, recognised: w.accreditorFR.orgId, riskAreas: ['bio'], issuedAt: new Date(Date.now() - Math.floor(Math.random() * 1e9)).toISOString() }) } }),
      },
      'GET /api/v1/recognition': { allowed: ALL, req: async () => ({ method: 'GET', path: '/api/v1/recognition', query: { tester: w.testerB.orgId, jurisdiction: 'GB', domain: 'cyber' } }) },
      'GET /api/v1/trust': { allowed: ALL, req: async () => ({ method: 'GET', path: '/api/v1/trust', query: { jurisdiction: 'GB', domains: 'cyber' } }) },
      'GET /api/v1/models': { allowed: ALL, req: async () => ({ method: 'GET', path: '/api/v1/models' }) },
      'GET /api/v1/models/{id}': { allowed: ALL, req: async () => ({ method: 'GET', path: `/api/v1/models/${w.modelId}` }) },
      'POST /api/v1/models': {
        allowed: writers('dev'),
        req: async () => ({ method: 'POST', path: '/api/v1/models', body: { developerId: w.developer.orgId, release: signRelease(w.developer.signer, { model: 'm', version: String(Math.random()), versionId: String(Math.random()), developer: 'dev' }).text } }),
      },
      'GET /api/v1/engagements': { allowed: AUTHED, req: async () => ({ method: 'GET', path: '/api/v1/engagements' }) },
      'POST /api/v1/engagements': { allowed: writers('dev', 'testerA'), req: async () => ({ method: 'POST', path: '/api/v1/engagements', body: { developerId: w.developer.orgId, testerId: w.testerA.orgId, modelId: w.modelId, suites: ['s'], accessLevel: 'black-box', ...window() } }) },
      'GET /api/v1/engagements/{id}': { allowed: ['operator', ...anyRole('dev', 'testerA')], req: async () => ({ method: 'GET', path: `/api/v1/engagements/${openEngagement}` }) },
      // Cancel is a write of either party; the engagement is re-created for each allowed caller below.
      'POST /api/v1/engagements/{id}/{action}': { allowed: writers('dev', 'testerA'), req: async () => ({ method: 'POST', path: `/api/v1/engagements/${openEngagement}/close`, body: {} }) },
      'POST /api/v1/engagements/{id}/reports': {
        allowed: writers('testerA'),
        req: async () => ({ method: 'POST', path: `/api/v1/engagements/${openEngagement}/reports`, body: { bundle: JSON.parse((await makeReport({ signer: w.testerA.signer, name: w.testerA.name })).bundle) } }),
      },
      'GET /api/v1/engagements/{id}/reports': { allowed: ['operator', ...anyRole('dev', 'testerA')], req: async () => ({ method: 'GET', path: `/api/v1/engagements/${openEngagement}/reports` }) },
      'GET /api/v1/reports': { allowed: ALL, req: async () => ({ method: 'GET', path: '/api/v1/reports' }) },
      'GET /api/v1/reports/{id}': { allowed: ['operator', ...anyRole('dev', 'testerA')], req: async () => ({ method: 'GET', path: `/api/v1/reports/${unpublished}` }) },
      'POST /api/v1/reports/{id}/publish': { allowed: writers('testerA'), req: async () => ({ method: 'POST', path: `/api/v1/reports/${unpublished}/publish`, body: {} }) },
      'GET /api/v1/events': { allowed: ALL, req: async () => ({ method: 'GET', path: '/api/v1/events' }) },
      // Grant requests (issue 23): the tester asks, the developer approves or refuses, the tester withdraws.
      'POST /api/v1/engagements/{id}/grant-requests': { allowed: writers('testerA'), req: async () => ({ method: 'POST', path: `/api/v1/engagements/${openEngagement}/grant-requests`, body: { level: 'grey-box' } }) },
      'GET /api/v1/grant-requests': { allowed: AUTHED, req: async () => ({ method: 'GET', path: '/api/v1/grant-requests' }) },
      'GET /api/v1/grant-requests/{id}': { allowed: ['operator', ...anyRole('dev', 'testerA')], req: async () => ({ method: 'GET', path: `/api/v1/grant-requests/${grantRequest}` }) },
      'POST /api/v1/grant-requests/{id}/approve': {
        allowed: writers('dev'),
        req: async () => ({ method: 'POST', path: `/api/v1/grant-requests/${grantRequest}/approve`, body: { grantDigest: `sha256:${createHash('sha256').update(String(Math.random())).digest('hex')}`, level: 'grey-box', budget: { tokens: 1000, costUsd: null }, expiresAt: new Date(Date.now() + 3600e3).toISOString() } }),
      },
      'POST /api/v1/grant-requests/{id}/refuse': { allowed: writers('dev'), req: async () => ({ method: 'POST', path: `/api/v1/grant-requests/${grantRequest}/refuse`, body: { reason: 'no' } }) },
      'POST /api/v1/grant-requests/{id}/withdraw': { allowed: writers('testerA'), req: async () => ({ method: 'POST', path: `/api/v1/grant-requests/${grantRequest}/withdraw`, body: {} }) },
      // Run dispatch (issue 26): the engagement's tester plans and runs; both parties read; only the claim's holder reports.
      'POST /api/v1/engagements/{id}/run-specs': { allowed: writers('testerA'), req: async () => ({ method: 'POST', path: `/api/v1/engagements/${runEngagement}/run-specs`, body: { suite: runSuiteRef, model: 'openai/sim' } }) },
      'GET /api/v1/run-specs': { allowed: AUTHED, req: async () => ({ method: 'GET', path: '/api/v1/run-specs' }) },
      'GET /api/v1/run-specs/{id}': { allowed: ['operator', ...anyRole('dev', 'testerA')], req: async () => ({ method: 'GET', path: `/api/v1/run-specs/${(await newSpec()).id}` }) },
      'POST /api/v1/run-specs/claim': { allowed: writers('testerA', 'testerB'), req: async () => ({ method: 'POST', path: '/api/v1/run-specs/claim', body: {} }) },
      'POST /api/v1/run-specs/{id}/heartbeat': { allowed: writers('testerA'), req: async () => { const c = await claimedSpec(); return { method: 'POST', path: `/api/v1/run-specs/${c.id}/heartbeat`, body: { claimId: c.claimId } }; } },
      'POST /api/v1/run-specs/{id}/complete': {
        allowed: writers('testerA'),
        req: async () => { const c = await claimedSpec(); return { method: 'POST', path: `/api/v1/run-specs/${c.id}/complete`, body: { claimId: c.claimId, result: { runId: 'r-20261205T000000Z-abcdef', logDigest: `sha256:${'c'.repeat(64)}`, status: 'completed', samples: 1, errored: 0, reportId: null } } }; },
      },
      'POST /api/v1/run-specs/{id}/fail': { allowed: writers('testerA'), req: async () => { const c = await claimedSpec(); return { method: 'POST', path: `/api/v1/run-specs/${c.id}/fail`, body: { claimId: c.claimId, reason: 'down' } }; } },
      'POST /api/v1/run-specs/{id}/cancel': { allowed: writers('testerA'), req: async () => ({ method: 'POST', path: `/api/v1/run-specs/${(await newSpec()).id}/cancel`, body: {} }) },
      // ── findings: an embargoed finding exists for everyone, and is visible only to its parties ──
      'POST /api/v1/finding-ids': { allowed: writers('testerA'), req: async () => ({ method: 'POST', path: '/api/v1/finding-ids', body: { testerId: w.testerA.orgId, count: 1 } }) },
      'POST /api/v1/findings': { allowed: writers('testerA'), req: async () => ({ method: 'POST', path: '/api/v1/findings', body: { reporterId: w.testerA.orgId, modelIds: [w.modelId], title: 't', riskDomain: 'cyber', severity: 'low', details: { description: 'd', reproduction: 'r', evidence: [] } } }) },
      'GET /api/v1/findings': { allowed: ALL, req: async () => ({ method: 'GET', path: '/api/v1/findings' }) },
      'GET /api/v1/findings/{id}': { allowed: anyRole('dev', 'testerA'), withheld: (b) => !(b as { state?: string }).state, req: async () => ({ method: 'GET', path: `/api/v1/findings/${embargoed}` }) },
      'POST /api/v1/findings/{id}/transition': { allowed: writers('dev'), req: async () => ({ method: 'POST', path: `/api/v1/findings/${closedFinding}/transition`, body: { action: 'acknowledge', reason: 'r' } }) },
      'POST /api/v1/findings/{id}/grace': { allowed: writers('dev'), req: async () => ({ method: 'POST', path: `/api/v1/findings/${closedFinding}/grace`, body: { reason: 'r' } }) },
      'POST /api/v1/findings/{id}/in-the-wild': { allowed: writers('dev', 'testerA'), req: async () => ({ method: 'POST', path: `/api/v1/findings/${closedFinding}/in-the-wild`, body: { reason: 'r' } }) },
      'POST /api/v1/findings/{id}/publish': { allowed: writers('dev', 'testerA'), req: async () => ({ method: 'POST', path: `/api/v1/findings/${closedFinding}/publish`, body: { reason: 'r' } }) },
      'POST /api/v1/findings/{id}/acknowledge-notice': { allowed: writers('agency'), req: async () => ({ method: 'POST', path: `/api/v1/findings/${wildFinding}/acknowledge-notice`, body: { agencyId: w.agency.orgId } }) },
      'POST /api/v1/findings/{id}/reveal': { allowed: writers('testerA'), req: async () => ({ method: 'POST', path: `/api/v1/findings/${closedFinding}/reveal`, body: { orgId: w.agency.orgId, reason: 'r' } }) },
      'POST /api/v1/orgs/{id}/agency-domains': { allowed: ['agency-admin'], req: async () => ({ method: 'POST', path: `/api/v1/orgs/${w.agency.orgId}/agency-domains`, body: { domains: [] } }) },
      // ── verdict follow-through: parties and the agencies of the verdict's jurisdictions ──
      'POST /api/v1/verdicts': { allowed: writers('testerA'), req: async () => ({ method: 'POST', path: '/api/v1/verdicts', body: { testerId: w.testerA.orgId, modelId: w.modelId, ...(await verdict()) } }) },
      'GET /api/v1/obligations': { allowed: AUTHED, req: async () => ({ method: 'GET', path: '/api/v1/obligations' }) },
      'GET /api/v1/obligations/{id}': { allowed: anyRole('dev', 'testerA', 'agency'), req: async () => ({ method: 'GET', path: `/api/v1/obligations/${obligationId}` }) },
      'POST /api/v1/obligations/{id}/fulfil': { allowed: writers('dev'), req: async () => ({ method: 'POST', path: `/api/v1/obligations/${obligationId}/fulfil`, body: { statement: 's', evidence: [] } }) },
      'POST /api/v1/obligations/{id}/{review}': { allowed: writers('testerA', 'agency'), req: async () => ({ method: 'POST', path: `/api/v1/obligations/${obligationId}/confirm`, body: { reason: 'r' } }) },
      // ── notifications: an organisation's own ──
      'GET /api/v1/orgs/{id}/inbox': { allowed: anyRole('dev'), req: async () => ({ method: 'GET', path: `/api/v1/orgs/${w.developer.orgId}/inbox` }) },
      'POST /api/v1/orgs/{id}/inbox/{messageId}/read': { allowed: writers('dev'), req: async () => ({ method: 'POST', path: `/api/v1/orgs/${w.developer.orgId}/inbox/${devMessage}/read`, body: {} }) },
      'POST /api/v1/orgs/{id}/webhooks': { allowed: ['dev-admin'], req: async () => ({ method: 'POST', path: `/api/v1/orgs/${w.developer.orgId}/webhooks`, body: { url: 'https://93.184.216.34/other' } }) },
      'GET /api/v1/orgs/{id}/webhooks': { allowed: ['dev-admin', 'dev-admin-readonly'], req: async () => ({ method: 'GET', path: `/api/v1/orgs/${w.developer.orgId}/webhooks` }) },
      'DELETE /api/v1/orgs/{id}/webhooks/{hookId}': { allowed: ['dev-admin'], req: async () => ({ method: 'DELETE', path: `/api/v1/orgs/${w.developer.orgId}/webhooks/${hookId}` }) },
    });

    async function snapshot(): Promise<string> {
      const h = createHash('sha256');
      // Deliveries excluded: their attempt columns change in the background by design.
      const tables: (keyof (GrantDB & DispatchDB))[] = ['orgs', 'org_keys', 'users', 'memberships', 'tokens', 'accreditations', 'recognitions', 'conflicts', 'models', 'engagements', 'reports', 'events', 'grant_requests', 'run_specs', 'findings', 'finding_ids', 'finding_parties', 'agency_domains', 'verdicts', 'obligations', 'inbox', 'webhooks'];
      for (const t of tables) {
        const rows = await (run.store.db as unknown as Kysely<GrantDB & DispatchDB>).selectFrom(t).selectAll().execute();
        // The outbox drain fills events.tlog_index in the background after earlier (allowed) writes.
        h.update(t + JSON.stringify(rows.map((r) => JSON.stringify(t === 'events' ? { ...r, tlog_index: null } : r)).sort()));
      }
      return h.digest('hex');
    }

    test('every endpoint of the OpenAPI document has a row in the matrix', async () => {
      const doc = await clients.get('public')!.get<{ paths: Record<string, Record<string, unknown>> }>('/api/v1/openapi.json');
      const routes = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
      routes.push('GET /api/v1/openapi.json');
      assert.deepEqual(routes.sort(), Object.keys(cases()).sort());
    });

    test('each caller is allowed exactly where the specification says; a refused request changes nothing', async () => {
      const mismatches: string[] = [];
      for (const [name, c] of Object.entries(cases())) {
        for (const who of ALL) {
          const r = await c.req();
          const before = await snapshot();
          let status = 200;
          try {
            const out = await clients.get(who)!.call(r.method, r.path, r.body, r.query);
            if (c.withheld?.(out)) status = 404;
          } catch (err) {
            if (!(err instanceof RegistryHttpError)) throw err;
            status = err.status;
          }
          // Rate-limited sign-in is neither allowed nor refused by role; the limit is tested elsewhere.
          if (status === 429) continue;
          const authzRefusal = status === 401 || status === 403 || (status === 404 && !name.startsWith('DELETE /api/v1/orgs/{id}/keys'));
          const allowed = c.allowed.includes(who);
          if (allowed === authzRefusal) mismatches.push(`${name} as ${who}: HTTP ${status}, expected ${allowed ? 'allowed' : 'refused'}`);
          if (authzRefusal && (await snapshot()) !== before) mismatches.push(`${name} as ${who}: refused (HTTP ${status}) but the database changed`);
        }
      }
      assert.deepEqual(mismatches, []);
    });
  });
}
