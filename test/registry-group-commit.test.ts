import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { RegistryError } from '../src/registry/registry.js';
import { GroupCommit } from '../src/registry/group-commit.js';
import { appendEvent, contentOfRow, eventDigest, GENESIS } from '../src/registry/events.js';
import { RegistryHttpError } from '../src/registry/client.js';
import type { World } from '../src/registry/scenario.js';
import type { RegistryStore } from '../src/registry/db.js';
import { backends, makeReport, registryWithParties, testStore, type Running } from './registry-fixture.js';

/**
 * Group commit and the verification pool, attacked by other routes: a database error or a refusal
 * in the middle of a shared commit, and a burst of concurrent uploads mixing valid, forged,
 * duplicate and damaged reports. Each must land or vanish whole, alone.
 */
async function chainIntact(store: RegistryStore): Promise<number> {
  const rows = await store.db.selectFrom('events').selectAll().orderBy('seq').execute();
  let prev = GENESIS;
  for (const r of rows) {
    assert.equal(r.prev_digest, prev, `event ${r.seq} names its predecessor`);
    assert.equal(eventDigest(contentOfRow(r)), r.digest, `event ${r.seq} digest`);
    prev = r.digest;
  }
  return rows.length;
}

for (const backend of await backends()) {
  describe(`group commit on ${backend}`, { timeout: 600_000 }, () => {
    let store: RegistryStore;
    let drop: () => Promise<void>;
    before(async () => {
      const ts = await testStore(backend);
      drop = ts.drop;
      store = await ts.open();
    });
    after(async () => {
      await store?.close();
      await drop?.();
    });

    test('a database error or a refusal inside a shared commit rolls back that write alone; the others commit, the chain holds', async () => {
      const gc = new GroupCommit(store);
      const at = new Date();
      const org = (i: number) => ({ id: `org_gc${String(i).padStart(8, '0')}`, kind: 'agency' as const, sub_kind: null, name: `gc ${i}`, jurisdiction: 'GB', created_at: at.toISOString() });
      const jobs = Array.from({ length: 30 }, (_, i) =>
        gc.run(async (trx) => {
          await trx.insertInto('orgs').values(org(i)).execute();
          await appendEvent(trx, { actorUser: null, actorOrg: null, kind: 'org.create', subject: `org/${org(i).id}`, data: { i }, at });
          // Every third: a primary-key violation raised by the database itself, after writing.
          if (i % 3 === 1) await trx.insertInto('orgs').values(org(i)).execute();
          // Every third: a refusal thrown by the rules, after writing.
          if (i % 3 === 2) throw new RegistryError(409, 'CONFLICT', `refused ${i}`);
          return i;
        }),
      );
      const settled = await Promise.allSettled(jobs);
      const ok = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      assert.deepEqual(ok, Array.from({ length: 10 }, (_, k) => k * 3));
      settled.forEach((s, i) => {
        if (i % 3 === 2) assert.match(String((s as PromiseRejectedResult).reason?.message), new RegExp(`refused ${i}`));
        if (i % 3 === 1) assert.equal(s.status, 'rejected');
      });
      const orgs = await store.db.selectFrom('orgs').select('id').where('id', 'like', 'org_gc%').orderBy('id').execute();
      assert.deepEqual(orgs.map((o) => o.id), ok.map((i) => org(i).id));
      assert.equal(await chainIntact(store), 10);
      // The committer is still usable after failures.
      assert.equal(await gc.run(async () => 'after'), 'after');
    });
  });

  describe(`concurrent uploads through the verification pool on ${backend}`, { timeout: 600_000 }, () => {
    let run: Running;
    let w: World;
    let close: (() => Promise<void>) | undefined;
    before(async () => ({ run, w, close } = await registryWithParties(backend)));
    after(async () => close?.());

    test('valid, forged, duplicate and damaged reports at once: each lands or vanishes whole; verification results are the serial ones', async () => {
      const e = await w.developer.client.post<{ id: string }>('/api/v1/engagements', { developerId: w.developer.orgId, testerId: w.testerA.orgId, modelId: w.modelId, suites: ['fixture.qa'], accessLevel: 'black-box', windowStart: new Date().toISOString(), windowEnd: new Date(Date.now() + 86400e3).toISOString() });
      await w.testerA.client.post(`/api/v1/engagements/${e.id}/accept`, {});
      await w.developer.client.post(`/api/v1/engagements/${e.id}/grant`, { grantDigest: `sha256:${'c'.repeat(64)}`, grantLevel: 'black-box' });
      const valid = [];
      for (let i = 0; i < 5; i++) {
        valid.push(await makeReport({ signer: w.testerA.signer, name: w.testerA.name }));
        await new Promise((r) => setTimeout(r, 5)); // distinct signing times, so distinct payloads
      }
      const digests = new Set(valid.map((v) => createHash('sha256').update(Buffer.from((JSON.parse(v.bundle) as { payload: string }).payload, 'base64')).digest('hex')));
      assert.equal(digests.size, 5);
      const forged = valid.slice(0, 3).map((v) => {
        const b = JSON.parse(v.bundle) as { signatures: { sig: string }[] };
        const sig = Buffer.from(b.signatures[0]!.sig, 'base64');
        sig[5]! ^= 1;
        b.signatures[0]!.sig = sig.toString('base64');
        return b;
      });
      const post = (body: unknown) =>
        w.testerA.client.post<{ verified: boolean; exitCode: number }>(`/api/v1/engagements/${e.id}/reports`, body).then(
          (r) => (r.verified ? 'verified' : `unverified ${r.exitCode}`),
          (err: RegistryHttpError) => String(err.status),
        );
      const results = await Promise.all([
        ...valid.slice(0, 3).map((v) => post({ bundle: JSON.parse(v.bundle), runLog: v.runLog.toString('base64') })),
        ...forged.map((b) => post({ bundle: b })),
        // The same report twice more: one row in the end.
        post({ bundle: JSON.parse(valid[3]!.bundle) }), post({ bundle: JSON.parse(valid[3]!.bundle) }), post({ bundle: JSON.parse(valid[3]!.bundle) }),
        // A run log that does not match the report: stored, not verified.
        post({ bundle: JSON.parse(valid[4]!.bundle), runLog: Buffer.from('{"not":"a run log"}\n').toString('base64') }),
      ]);
      assert.deepEqual(results.slice(0, 3), ['verified', 'verified', 'verified']);
      assert.deepEqual(results.slice(3, 6), ['422', '422', '422']);
      assert.deepEqual(results.slice(6, 9).sort(), ['409', '409', 'verified']);
      assert.match(results[9]!, /^unverified [1-9]/);
      const rows = await run.store.db.selectFrom('reports').select(['payload_digest', 'verified']).where('engagement_id', '=', e.id).execute();
      assert.equal(rows.length, 5);
      assert.equal(rows.filter((r) => r.verified).length, 4);
      const uploads = await run.store.db.selectFrom('events').select('data').where('kind', '=', 'report.upload').execute();
      assert.equal(uploads.filter((u) => (JSON.parse(u.data) as { engagement: string }).engagement === e.id).length, 5, 'one upload event per stored report, none for a refused one');
      await run.server.drainer.idle();
      await chainIntact(run.store);
      // And the server still verifies after all that.
      assert.equal((await w.testerA.client.get<{ items: unknown[] }>('/api/v1/engagements')).items.length > 0, true);
    });
  });
}
