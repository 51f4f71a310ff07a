import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { RegistryClient, RegistryHttpError } from '../src/registry/client.js';
import { runScenario, type World } from '../src/registry/scenario.js';
import { auditRegistry } from '../src/registry/audit.js';
import { logSource } from '../src/tlog/client.js';
import { backends, makeReport, startRegistry, testStore, type Running } from './registry-fixture.js';

const refused = async (p: Promise<unknown>, status: number, re?: RegExp) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof RegistryHttpError, `expected an HTTP error, got ${String(e)}`);
    assert.equal(e.status, status, e.message);
    if (re) assert.match(e.message, re);
    return true;
  });

for (const backend of await backends()) {
  describe(`registry on ${backend}`, () => {
    let run: Running;
    let world: World;
    let dropStore: () => Promise<void>;
    after(async () => {
      await run?.close();
      await run?.store.close();
      await dropStore?.();
    });

    test('the walk-through: orgs, accreditation, recognition, a model in scope, an engagement to a verified, published report', async () => {
      const ts = await testStore(backend);
      dropStore = ts.drop;
      run = await startRegistry(await ts.open());
      world = await runScenario({ baseUrl: run.baseUrl, operatorToken: run.operatorToken, makeReport });
      assert.equal(world.exitCode, 0);
      const pub = new RegistryClient(run.baseUrl);
      const reports = await pub.get<{ items: { id: string; verified: boolean; publishedAt: string | null }[] }>('/api/v1/reports');
      assert.deepEqual(reports.items.map((r) => [r.id, r.verified, Boolean(r.publishedAt)]), [[world.reportId, true, true]]);
      // Each published report names the release its engagement tested; `model` filters on it (with the cursor).
      const byModel = await pub.get<{ items: { id: string; modelId: string }[]; next: string | null }>('/api/v1/reports', { model: world.modelId, limit: 1 });
      assert.deepEqual([byModel.items.map((r) => [r.id, r.modelId]), byModel.next], [[[world.reportId, world.modelId]], null]);
      assert.deepEqual((await pub.get<{ items: unknown[] }>('/api/v1/reports', { model: 'mdl_nosuchmodel00' })).items, []);
      const eng = await world.developer.client.get<{ state: string; grantLevel: string }>(`/api/v1/engagements/${world.engagementId}`);
      assert.equal(eng.state, 'closed');
      assert.equal(eng.grantLevel, 'black-box');
      const inScope = await pub.get<{ items: { id: string }[] }>('/api/v1/models', { inScope: true });
      assert.deepEqual(inScope.items.map((m) => m.id), [world.modelId]);
      assert.equal((await pub.get<{ items: unknown[] }>('/api/v1/models', { inScope: false })).items.length, 0);
    });

    test('recognition across jurisdictions names its chain; scope and suspension are honoured', async () => {
      const pub = new RegistryClient(run.baseUrl);
      const q = (tester: string, jurisdiction: string, domain: string) => pub.get<{ recognised: boolean; chain?: { kind: string; id: string }[]; reason?: string }>('/api/v1/recognition', { tester, jurisdiction, domain });
      // The French university is recognised in GB for cyber through GB→FR recognition, not for bio.
      const a = await q(world.testerB.orgId, 'GB', 'cyber');
      assert.equal(a.recognised, true);
      assert.deepEqual(a.chain!.map((l) => l.kind), ['recognition', 'accreditation']);
      assert.equal((await q(world.testerB.orgId, 'GB', 'bio')).recognised, false);
      assert.equal((await q(world.testerA.orgId, 'FR', 'cyber')).recognised, true);
      assert.equal((await q(world.testerA.orgId, 'FR', 'bio')).recognised, false, 'FR recognises GB only for cyber');
      assert.equal((await q(world.testerA.orgId, 'US', 'cyber')).recognised, false, 'no accreditor in US');
      // The trust export covers exactly what is recognised.
      const trust = await pub.get<{ testers: { keyId: string; scopes: { riskAreas: string[] } }[] }>('/api/v1/trust', { jurisdiction: 'GB', domains: 'cyber|bio' });
      const byKey = new Map(trust.testers.map((t) => [t.keyId, t.scopes.riskAreas]));
      assert.deepEqual(byKey.get(world.testerA.signer.keyId), ['cyber', 'bio']);
      assert.deepEqual(byKey.get(world.testerB.signer.keyId), ['cyber']);
    });

    test('the event history matches the transparency log; an edited or deleted row is detected', async () => {
      await run.server.drainer.idle();
      const log = { src: logSource(run.logDir), vkey: run.vkey };
      const clean = await auditRegistry(run.store, log);
      assert.equal(clean.ok, true, clean.problems.join('\n'));
      assert.equal(clean.undrained, 0);
      assert.ok(clean.events >= 30, `events: ${clean.events}`);
      const db = run.store.db;
      // Edit a row's data (as a developer with database access might).
      const victim = await db.selectFrom('events').selectAll().where('kind', '=', 'report.upload').executeTakeFirstOrThrow();
      await db.updateTable('events').set({ data: victim.data.replace('"verified":true', '"verified":false') }).where('seq', '=', victim.seq).execute();
      const edited = await auditRegistry(run.store, log);
      assert.equal(edited.ok, false);
      assert.match(edited.problems.join('\n'), new RegExp(`event ${victim.seq} \\(report.upload\\): its content does not hash`));
      await db.updateTable('events').set({ data: victim.data }).where('seq', '=', victim.seq).execute();
      // Delete the newest row: the chain alone cannot see it, the log does.
      const last = await db.selectFrom('events').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
      await db.deleteFrom('events').where('seq', '=', last.seq).execute();
      const deleted = await auditRegistry(run.store, log);
      assert.equal(deleted.ok, false);
      assert.match(deleted.problems.join('\n'), /has no row in the database/);
      await db.insertInto('events').values(last).execute();
      assert.equal((await auditRegistry(run.store, log)).ok, true);
    });

    test('parties only: a developer cannot touch a tester\'s report, other testers see nothing unpublished', async () => {
      const { developer, testerA, testerB } = world;
      // A second engagement whose report stays unpublished.
      const eng = await developer.client.post<{ id: string }>('/api/v1/engagements', {
        developerId: developer.orgId, testerId: testerA.orgId, modelId: world.modelId, suites: ['fixture.qa'], accessLevel: 'black-box',
        windowStart: new Date().toISOString(), windowEnd: new Date(Date.now() + 86400e3).toISOString(),
      });
      // The proposer cannot accept its own proposal; the developer cannot report.
      await refused(developer.client.post(`/api/v1/engagements/${eng.id}/accept`, {}), 409, /only the other party/);
      await testerA.client.post(`/api/v1/engagements/${eng.id}/accept`, {});
      await refused(testerA.client.post(`/api/v1/engagements/${eng.id}/grant`, { grantDigest: `sha256:${'c'.repeat(64)}`, grantLevel: 'black-box' }), 409, /only the developer/);
      await developer.client.post(`/api/v1/engagements/${eng.id}/grant`, { grantDigest: `sha256:${'c'.repeat(64)}`, grantLevel: 'black-box' });
      const { bundle, runLog } = await makeReport({ signer: testerA.signer, name: testerA.name });
      await refused(developer.client.post(`/api/v1/engagements/${eng.id}/reports`, { bundle: JSON.parse(bundle), runLog: runLog.toString('base64') }), 403);
      const rep = await testerA.client.post<{ id: string }>(`/api/v1/engagements/${eng.id}/reports`, { bundle: JSON.parse(bundle) });
      // Not published: tester B and the public get 404 (existence not revealed); parties see it.
      await refused(testerB.client.get(`/api/v1/reports/${rep.id}`), 404);
      await refused(new RegistryClient(run.baseUrl).get(`/api/v1/reports/${rep.id}`), 404);
      await refused(testerB.client.get(`/api/v1/engagements/${eng.id}`), 404);
      assert.equal((await developer.client.get<{ id: string }>(`/api/v1/reports/${rep.id}`)).id, rep.id);
      // The developer cannot publish the tester's report; there is no edit or delete route at all.
      await refused(developer.client.post(`/api/v1/reports/${rep.id}/publish`, {}), 403);
      await refused(developer.client.del(`/api/v1/reports/${rep.id}`), 404, /no route/);
    });

    test('independence: a tester with a declared conflict cannot take the developer\'s engagement', async () => {
      const { developer, testerB } = world;
      await testerB.client.post(`/api/v1/orgs/${testerB.orgId}/conflicts`, { developerId: developer.orgId, reason: 'advised on its safety framework in 2026' });
      await refused(
        developer.client.post('/api/v1/engagements', {
          developerId: developer.orgId, testerId: testerB.orgId, modelId: world.modelId, suites: ['x'], accessLevel: 'grey-box',
          windowStart: new Date().toISOString(), windowEnd: new Date(Date.now() + 86400e3).toISOString(),
        }),
        409,
        /conflict of interest/,
      );
    });
  });
}

test('schemas/registry-api.v1.openapi.json is the document the server serves (UPDATE_SCHEMAS=1 rewrites it)', async () => {
  const { readFileSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { ROOT } = await import('./helpers.js');
  const ts = await testStore('sqlite');
  const store = await ts.open();
  const run = await startRegistry(store);
  try {
    const doc = await new RegistryClient(run.baseUrl).get<{ openapi: string; paths: Record<string, unknown> }>('/api/v1/openapi.json');
    assert.equal(doc.openapi, '3.1.0');
    const file = join(ROOT, 'schemas/registry-api.v1.openapi.json');
    const text = `${JSON.stringify(doc, null, 2)}\n`;
    if (process.env.UPDATE_SCHEMAS === '1') writeFileSync(file, text);
    assert.ok(readFileSync(file, 'utf8') === text, 'schemas/registry-api.v1.openapi.json is stale: re-run with UPDATE_SCHEMAS=1'); // a boolean: assert.equal's diff of two large texts can take minutes
  } finally {
    await run.close();
    await store.close();
  }
});
