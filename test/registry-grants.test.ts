import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { generateSigner } from '../src/attest/keys.js';
import { defaultGrant, issueGrantToken, tokenDigest } from '../src/gateway/grant.js';
import { grantTerms } from '../src/cli/commands/registry-grants.js';
import { auditRegistry } from '../src/registry/audit.js';
import { RegistryClient, RegistryHttpError } from '../src/registry/client.js';
import type { World } from '../src/registry/scenario.js';
import { logSource } from '../src/tlog/client.js';
import { backends, httpStatus, registryWithParties, type Running } from './registry-fixture.js';

/**
 * Grant requests: a tester asks for gateway access, the developer sees it in its inbox and approves
 * with the grant its own gateway issued (or refuses); every step is an event. Run on both databases.
 */
interface Req {
  id: string;
  engagementId: string;
  state: string;
  origin: string;
  level: string;
  decision: Record<string, unknown> | null;
}
interface Eng {
  id: string;
  state: string;
  grantDigest: string | null;
  grantLevel: string | null;
}

for (const backend of await backends()) {
  describe(`grant requests on ${backend}`, { timeout: 600_000 }, () => {
    let run: Running;
    let w: World;
    let close: (() => Promise<void>) | undefined;
    before(async () => ({ run, w, close } = await registryWithParties(backend)));
    after(async () => close?.());

    const window = (hours = 48) => ({ windowStart: new Date().toISOString(), windowEnd: new Date(Date.now() + hours * 3600e3).toISOString() });
    async function acceptedEngagement(level = 'grey-box'): Promise<string> {
      const e = await w.developer.client.post<Eng>('/api/v1/engagements', { developerId: w.developer.orgId, testerId: w.testerA.orgId, modelId: w.modelId, suites: ['fixture.qa'], accessLevel: level, ...window() });
      await w.testerA.client.post(`/api/v1/engagements/${e.id}/accept`, {});
      return e.id;
    }
    /** What the developer's gateway would issue (`assay grant issue`), with its own key. */
    const gatewayKey = generateSigner();
    const issue = (level: 'black-box' | 'grey-box' | 'white-box', ttlSeconds = 3600, tokens: number | null = 100_000) =>
      issueGrantToken(gatewayKey, { tester: w.testerA.name, audience: 'gw.dev.example', grant: { ...defaultGrant(level, ['frontier-1']), budget: { tokens, costUsd: 25 } }, ttlSeconds }).token;

    test('accepting opens a request; the developer sees it, approves with its gateway grant; the engagement is active at the level granted; events and log agree', async () => {
      const engId = await acceptedEngagement('grey-box');
      const inbox = await w.developer.client.get<{ items: Req[] }>('/api/v1/grant-requests', { state: 'pending', engagement: engId });
      assert.equal(inbox.items.length, 1);
      const req = inbox.items[0]!;
      assert.deepEqual([req.origin, req.level, req.state], ['accept', 'grey-box', 'pending']);
      // The tester sees its own request too.
      assert.equal((await w.testerA.client.get<Req>(`/api/v1/grant-requests/${req.id}`)).id, req.id);

      const token = issue('black-box');
      const terms = grantTerms(token, 'grant.jwt');
      assert.equal(terms.grantDigest, tokenDigest(token));
      assert.deepEqual(terms.budget, { tokens: 100_000, costUsd: 25 });
      const approved = await w.developer.client.post<Req>(`/api/v1/grant-requests/${req.id}/approve`, terms);
      assert.equal(approved.state, 'approved');
      assert.equal(approved.decision?.level, 'black-box');
      assert.equal(approved.decision?.grantDigest, terms.grantDigest);
      const eng = await w.testerA.client.get<Eng>(`/api/v1/engagements/${engId}`);
      // The level actually granted, not the one agreed, is what the engagement carries.
      assert.deepEqual([eng.state, eng.grantDigest, eng.grantLevel], ['active', terms.grantDigest, 'black-box']);
      // Approving twice is a conflict, not a second grant.
      assert.equal(await httpStatus(w.developer.client.post(`/api/v1/grant-requests/${req.id}/approve`, terms)), 409);

      // The tester asks for more; the developer refuses; the tester asks again and withdraws.
      const more = await w.testerA.client.post<Req>(`/api/v1/engagements/${engId}/grant-requests`, { level: 'white-box', budget: { tokens: 5_000_000, costUsd: null }, note: 'for the weights probe' });
      assert.deepEqual([more.origin, more.state], ['tester', 'pending']);
      assert.equal(await httpStatus(w.testerA.client.post(`/api/v1/engagements/${engId}/grant-requests`, { level: 'white-box' })), 409, 'one pending request at a time');
      assert.equal((await w.developer.client.post<Req>(`/api/v1/grant-requests/${more.id}/refuse`, { reason: 'not in the agreed scope' })).state, 'refused');
      const again = await w.testerA.client.post<Req>(`/api/v1/engagements/${engId}/grant-requests`, { level: 'grey-box' });
      assert.equal((await w.testerA.client.post<Req>(`/api/v1/grant-requests/${again.id}/withdraw`, {})).state, 'withdrawn');

      await run.server.drainer.idle();
      const kinds = await run.store.db.selectFrom('events').select(['kind', 'subject', 'tlog_index']).where('kind', 'like', 'grant.%').orderBy('seq').execute();
      const mine = kinds.filter((k) => [req.id, more.id, again.id].some((id) => k.subject === `grant-request/${id}`)).map((k) => k.kind);
      assert.deepEqual(mine, ['grant.request', 'grant.approve', 'grant.request', 'grant.refuse', 'grant.request', 'grant.withdraw']);
      assert.ok(kinds.every((k) => k.tlog_index !== null), 'every grant event reached the transparency log');
      const audit = await auditRegistry(run.store, { src: logSource(run.logDir), vkey: run.vkey });
      assert.equal(audit.ok, true, audit.problems.join('\n'));
    });

    test('authorisation: only the engagement\'s developer approves or refuses; another tester, an agency or an accreditor sees nothing; refused requests change nothing', async () => {
      const engId = await acceptedEngagement();
      const req = (await w.developer.client.get<{ items: Req[] }>('/api/v1/grant-requests', { state: 'pending', engagement: engId })).items[0]!;
      const snapshot = async () => createHash('sha256').update(JSON.stringify([
        await run.store.db.selectFrom('engagements').selectAll().where('id', '=', engId).execute(),
        await (run.store.db as never as import('kysely').Kysely<{ grant_requests: { engagement_id: string } }>).selectFrom('grant_requests').selectAll().where('engagement_id', '=', engId).execute(),
        (await run.store.db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n,
      ])).digest('hex');
      const viewer = new RegistryClient(run.baseUrl);
      await w.developer.client.post(`/api/v1/orgs/${w.developer.orgId}/members`, { email: 'viewer.grants@dev.example', name: 'Dev viewer', role: 'viewer', password: 'a long viewer password' });
      viewer.token = (await viewer.post<{ token: string }>('/api/v1/login', { email: 'viewer.grants@dev.example', password: 'a long viewer password' })).token;
      const readOnly = new RegistryClient(run.baseUrl, (await w.developer.client.post<{ token: string }>('/api/v1/tokens', { scopes: ['read'], ttlSeconds: 600 })).token);
      const terms = grantTerms(issue('grey-box'), 'grant.jwt');
      const outsiders = { testerB: w.testerB.client, agency: w.agency.client, accreditor: w.accreditorGB.client };
      for (const [who, c] of Object.entries(outsiders)) {
        const before = await snapshot();
        assert.deepEqual((await c.get<{ items: Req[] }>('/api/v1/grant-requests')).items.filter((r) => r.engagementId === engId), [], `${who} lists nothing of it`);
        assert.equal(await httpStatus(c.get(`/api/v1/grant-requests/${req.id}`)), 404, `${who} cannot see it`);
        assert.equal(await httpStatus(c.post(`/api/v1/grant-requests/${req.id}/approve`, terms)), 404, `${who} cannot approve`);
        assert.equal(await httpStatus(c.post(`/api/v1/grant-requests/${req.id}/refuse`, { reason: 'x' })), 404, `${who} cannot refuse`);
        assert.equal(await httpStatus(c.post(`/api/v1/engagements/${engId}/grant-requests`, { level: 'white-box' })), 404, `${who} cannot ask in it`);
        assert.equal(await snapshot(), before, `${who}: nothing changed`);
      }
      const before = await snapshot();
      assert.equal(await httpStatus(new RegistryClient(run.baseUrl).get('/api/v1/grant-requests')), 401, 'anonymous');
      assert.equal(await httpStatus(w.testerA.client.post(`/api/v1/grant-requests/${req.id}/approve`, terms)), 403, 'the tester cannot approve its own request');
      assert.equal(await httpStatus(w.testerA.client.post(`/api/v1/grant-requests/${req.id}/refuse`, { reason: 'x' })), 403);
      assert.equal(await httpStatus(w.developer.client.post(`/api/v1/grant-requests/${req.id}/withdraw`, {})), 403, 'the developer cannot withdraw the tester\'s request');
      assert.equal(await httpStatus(w.developer.client.post(`/api/v1/engagements/${engId}/grant-requests`, { level: 'white-box' })), 403, 'the developer does not ask itself');
      assert.equal(await httpStatus(viewer.post(`/api/v1/grant-requests/${req.id}/approve`, terms)), 403, 'a viewer of the developer cannot approve');
      assert.equal(await httpStatus(readOnly.post(`/api/v1/grant-requests/${req.id}/approve`, terms)), 403, 'a read-only token cannot approve');
      assert.equal(await httpStatus(w.operator.post(`/api/v1/grant-requests/${req.id}/approve`, terms)), 403, 'the operator does not approve for a developer');
      assert.equal(await snapshot(), before, 'refused requests changed nothing');
      assert.equal((await viewer.get<Req>(`/api/v1/grant-requests/${req.id}`)).id, req.id, 'a viewer of a party reads it');
      assert.equal((await w.developer.client.post<Req>(`/api/v1/grant-requests/${req.id}/approve`, terms)).state, 'approved');
    });

    test('hostile and racing input: expired or overlong grants, unknown fields, bad ids, a closed engagement, ten concurrent approvals', async () => {
      const engId = await acceptedEngagement();
      const req = (await w.developer.client.get<{ items: Req[] }>('/api/v1/grant-requests', { state: 'pending', engagement: engId })).items[0]!;
      const terms = grantTerms(issue('grey-box'), 'grant.jwt');
      const d = w.developer.client;
      const field = async (p: Promise<unknown>) => {
        try {
          await p;
          return 'ok';
        } catch (e) {
          return `${(e as RegistryHttpError).status} ${(e as RegistryHttpError).body?.field ?? ''}`.trim();
        }
      };
      assert.equal(await field(d.post(`/api/v1/grant-requests/${req.id}/approve`, { ...terms, expiresAt: new Date(Date.now() - 1000).toISOString() })), '400 expiresAt');
      assert.equal(await field(d.post(`/api/v1/grant-requests/${req.id}/approve`, { ...terms, expiresAt: new Date(Date.now() + 90 * 86400e3).toISOString() })), '400 expiresAt', 'outlives the window');
      assert.equal(await field(d.post(`/api/v1/grant-requests/${req.id}/approve`, { ...terms, admin: true })), '400');
      assert.equal(await field(d.post(`/api/v1/grant-requests/${req.id}/approve`, { ...terms, level: 'root' })), '400 level');
      assert.equal(await field(d.post(`/api/v1/grant-requests/${req.id}/approve`, { ...terms, grantDigest: "sha256:' or 1=1 --" })), '400 grantDigest');
      assert.equal(await field(d.post(`/api/v1/grant-requests/${req.id}/approve`, { ...terms, budget: { tokens: -1, costUsd: null } })), '400 budget.tokens');
      assert.equal(await field(d.get(`/api/v1/grant-requests/grq_${encodeURIComponent("x' or '1'='1")}`)), '400 id');
      assert.equal(await field(d.get('/api/v1/grant-requests/..%2f..%2fetc%2fpasswd')), '400 id');
      assert.equal(await field(d.get('/api/v1/grant-requests', { cursor: 'not a cursor!' })), '400 cursor');
      assert.equal((await d.get<Req>(`/api/v1/grant-requests/${req.id}`)).state, 'pending', 'still pending after every refusal');

      // Ten approvals at once (different grants): exactly one wins, one approval event.
      const tokens = Array.from({ length: 10 }, () => grantTerms(issue('grey-box'), 'grant.jwt'));
      const results = await Promise.all(tokens.map((t) => httpStatus(d.post(`/api/v1/grant-requests/${req.id}/approve`, t))));
      assert.deepEqual(results.sort(), [200, ...Array(9).fill(409)]);
      const approvals = await run.store.db.selectFrom('events').select('data').where('kind', '=', 'grant.approve').where('subject', '=', `grant-request/${req.id}`).execute();
      assert.equal(approvals.length, 1);
      const eng = await d.get<Eng>(`/api/v1/engagements/${engId}`);
      assert.equal(eng.grantDigest, (JSON.parse(approvals[0]!.data) as { grantDigest: string }).grantDigest, 'the engagement carries the winning grant');

      // Ten requests at once by the tester: one pending, nine conflicts.
      const asks = await Promise.all(Array.from({ length: 10 }, () => httpStatus(w.testerA.client.post(`/api/v1/engagements/${engId}/grant-requests`, { level: 'white-box' }))));
      assert.deepEqual(asks.sort(), [200, ...Array(9).fill(409)]);
      // A cancelled engagement takes no more requests, and its pending one cannot be approved.
      const pending = (await d.get<{ items: Req[] }>('/api/v1/grant-requests', { state: 'pending', engagement: engId })).items[0]!;
      await w.testerA.client.post(`/api/v1/engagements/${engId}/cancel`, { reason: 'stopped' });
      assert.equal(await httpStatus(d.post(`/api/v1/grant-requests/${pending.id}/approve`, grantTerms(issue('white-box'), 'g'))), 409);
      assert.equal(await httpStatus(w.testerA.client.post(`/api/v1/engagements/${engId}/grant-requests`, { level: 'black-box' })), 409);
    });

    test('a token that is not a grant is refused by the CLI helper before anything is sent', () => {
      assert.throws(() => grantTerms('abc.def', 'f.jwt'), /not a grant token/);
      assert.throws(() => grantTerms(`x.${Buffer.from('{"iss":"a"}').toString('base64url')}.y`, 'f.jwt'), /not a grant token/);
    });
  });
}
