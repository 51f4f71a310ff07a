import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { issueAccreditation } from '../src/attest/trust.js';
import { exportPublicJwk, generateSigner } from '../src/attest/keys.js';
import { signRelease } from '../src/gateway/release.js';
import { ACCREDITATION_STATUS_PREDICATE, RECOGNITION_PREDICATE, signStatement } from '../src/registry/statements.js';
import { RegistryClient, RegistryHttpError } from '../src/registry/client.js';
import { runScenario, type Party, type World } from '../src/registry/scenario.js';
import type { Kysely } from 'kysely';
import type { GrantDB } from '../src/registry/grant-requests.js';
import { backends, makeReport, startRegistry, testStore, type Running } from './registry-fixture.js';

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
}

for (const backend of await backends()) {
  describe(`authorisation matrix on ${backend}`, () => {
    let run: Running;
    let w: World;
    let drop: () => Promise<void>;
    const clients = new Map<Who, RegistryClient>();
    let unpublished = '';
    let openEngagement = '';
    let devAdminTokenId = '';
    let accreditationId = '';
    let grantRequest = '';

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
      grantRequest = (await w.testerA.client.post<{ id: string }>(`/api/v1/engagements/${eng.id}/grant-requests`, { level: 'white-box' })).id;
      accreditationId = (await w.operator.get<{ items: { id: string; testerId: string }[] }>('/api/v1/accreditations')).items.find((a) => a.testerId === w.testerA.orgId)!.id;
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
    const window = () => ({ windowStart: new Date().toISOString(), windowEnd: new Date(Date.now() + 86400e3).toISOString() });
    const cases = (): Record<string, Case> => ({
      'GET /api/v1/openapi.json': { allowed: ALL, req: async () => ({ method: 'GET', path: '/api/v1/openapi.json' }) },
      'POST /api/v1/login': { allowed: ALL, req: async () => ({ method: 'POST', path: '/api/v1/login', body: { email: w.agency.email, password: w.agency.password } }) },
      'POST /api/v1/session': { allowed: ALL, req: async () => ({ method: 'POST', path: '/api/v1/session', body: { email: w.agency.email, password: w.agency.password } }) },
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
    });

    async function snapshot(): Promise<string> {
      const h = createHash('sha256');
      const tables: (keyof GrantDB)[] = ['orgs', 'org_keys', 'users', 'memberships', 'tokens', 'accreditations', 'recognitions', 'conflicts', 'models', 'engagements', 'reports', 'events', 'grant_requests'];
      for (const t of tables) {
        const rows = await (run.store.db as unknown as Kysely<GrantDB>).selectFrom(t).selectAll().execute();
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
            await clients.get(who)!.call(r.method, r.path, r.body, r.query);
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
