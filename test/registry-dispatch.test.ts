import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateSigner } from '../src/attest/keys.js';
import { defaultGrant, issueGrantToken } from '../src/gateway/grant.js';
import { grantTerms } from '../src/cli/commands/registry-grants.js';
import { leaseExpired } from '../src/registry/run-dispatch.js';
import type { World } from '../src/registry/scenario.js';
import { loadSuite } from '../src/suite/load.js';
import { startTarget } from '../src/target/server.js';
import { backends, httpStatus, registryWithParties, type Running } from './registry-fixture.js';
import { cli, ROOT, tmp } from './helpers.js';

/**
 * Run dispatch (issue 26): the tester plans an engagement's runs in the registry, its coordinator
 * claims them (one holder at a time, with a lease another coordinator takes over when it lapses),
 * runs them and reports the run id and log digest. On both databases; the CLI pull end to end
 * against the simulated target.
 */
interface Spec {
  id: string;
  state: string;
  claimId?: string | null;
  attempts: number;
  suite: { id: string; version: string; digest: string };
  result: Record<string, unknown> | null;
}
const DEMO = join(ROOT, 'suites/demo-arithmetic/suite.yaml');

for (const backend of await backends()) {
  describe(`run dispatch on ${backend}`, { timeout: 600_000 }, () => {
    let run: Running;
    let w: World;
    let close: (() => Promise<void>) | undefined;
    let clock = Date.now();
    let demo: { id: string; version: string; digest: string };
    const target = startTarget({ seed: 1 });
    before(async () => {
      ({ run, w, close } = await registryWithParties(backend, { now: () => new Date(clock) }));
      const s = await loadSuite(DEMO);
      demo = { id: s.def.id, version: s.def.version, digest: s.digest };
    });
    after(async () => {
      await close?.();
      await (await target).close();
    });

    const gatewayKey = generateSigner();
    /** An engagement over the demo suite, accepted by the tester and granted by the developer: active. */
    async function activeEngagement(): Promise<string> {
      const e = await w.developer.client.post<{ id: string }>('/api/v1/engagements', {
        developerId: w.developer.orgId, testerId: w.testerA.orgId, modelId: w.modelId, suites: ['demo.arithmetic'], accessLevel: 'black-box',
        windowStart: new Date(clock).toISOString(), windowEnd: new Date(clock + 48 * 3600e3).toISOString(),
      });
      await w.testerA.client.post(`/api/v1/engagements/${e.id}/accept`, {});
      const inbox = await w.developer.client.get<{ items: { id: string }[] }>('/api/v1/grant-requests', { state: 'pending', engagement: e.id });
      const token = issueGrantToken(gatewayKey, { tester: w.testerA.name, audience: 'gw.dev.example', grant: { ...defaultGrant('black-box', ['frontier-1']), budget: { tokens: 100_000, costUsd: 25 } }, ttlSeconds: 3600 }).token;
      await w.developer.client.post(`/api/v1/grant-requests/${inbox.items[0]!.id}/approve`, grantTerms(token, 'grant.jwt'));
      return e.id;
    }

    test('the tester plans runs; only its coordinator claims them, one holder per spec, and only that claim reports', async () => {
      const eng = await activeEngagement();
      const add = (c = w.testerA.client, body: Record<string, unknown> = {}) => c.post<Spec>(`/api/v1/engagements/${eng}/run-specs`, { suite: demo, model: 'openai/sim', seed: 3, ...body });
      const spec = await add();
      assert.equal(spec.state, 'queued');
      assert.equal(spec.claimId, undefined, 'a listed spec never shows a claim id');
      // The developer does not plan the tester's runs; another tester does not see them.
      assert.equal(await httpStatus(add(w.developer.client)), 403);
      assert.equal(await httpStatus(w.testerB.client.get(`/api/v1/run-specs/${spec.id}`)), 404);
      assert.equal((await w.testerB.client.get<{ items: Spec[] }>('/api/v1/run-specs')).items.length, 0);
      assert.equal(await httpStatus(add(w.testerB.client)), 404);
      // Only suites the engagement agreed; hostile values refused by the schema.
      assert.equal(await httpStatus(add(undefined, { suite: { ...demo, id: 'other.suite' } })), 400);
      assert.equal(await httpStatus(add(undefined, { suite: { ...demo, digest: 'sha256:xyz' } })), 400);
      assert.equal(await httpStatus(add(undefined, { model: 'openai/x; DROP TABLE run_specs' })), 400);
      assert.equal(await httpStatus(add(undefined, { extra: 1 })), 400);
      // The developer cannot claim (it is not a tester); another tester's claim finds nothing of this engagement; the tester's finds the spec.
      assert.equal(await httpStatus(w.developer.client.post('/api/v1/run-specs/claim', { engagement: eng })), 403);
      assert.equal((await w.testerB.client.post<{ spec: Spec | null }>('/api/v1/run-specs/claim', { engagement: eng })).spec, null);
      const claimed = (await w.testerA.client.post<{ spec: Spec | null }>('/api/v1/run-specs/claim', { engagement: eng })).spec!;
      assert.equal(claimed.id, spec.id);
      assert.match(claimed.claimId ?? '', /^clm_/);
      assert.equal((await w.testerA.client.post<{ spec: Spec | null }>('/api/v1/run-specs/claim', { engagement: eng })).spec, null);
      // Parallel claims over three new specs: each spec goes to exactly one claimer.
      for (let i = 0; i < 3; i++) await add(undefined, { seed: 10 + i });
      const got = await Promise.all(Array.from({ length: 8 }, () => w.testerA.client.post<{ spec: Spec | null }>('/api/v1/run-specs/claim', { engagement: eng })));
      const ids = got.map((g) => g.spec?.id).filter(Boolean);
      assert.equal(ids.length, 3);
      assert.equal(new Set(ids).size, 3);
      // Reporting needs the claim; a result is recorded once.
      const result = { runId: 'r-20261205T000000Z-abcdef', logDigest: `sha256:${'a'.repeat(64)}`, status: 'completed', samples: 5, errored: 0, reportId: null };
      assert.equal(await httpStatus(w.testerA.client.post(`/api/v1/run-specs/${spec.id}/complete`, { claimId: 'clm_wrongwrongwrong', result })), 409);
      assert.equal(await httpStatus(w.developer.client.post(`/api/v1/run-specs/${spec.id}/complete`, { claimId: claimed.claimId, result })), 403);
      const fin = await w.testerA.client.post<Spec>(`/api/v1/run-specs/${spec.id}/complete`, { claimId: claimed.claimId, result });
      assert.deepEqual([fin.state, fin.result?.runId], ['completed', result.runId]);
      assert.equal(await httpStatus(w.testerA.client.post(`/api/v1/run-specs/${spec.id}/complete`, { claimId: claimed.claimId, result })), 409);
      assert.equal(await httpStatus(w.testerA.client.post(`/api/v1/run-specs/${spec.id}/cancel`, {})), 409);
      // Every step is an event the developer can read too.
      const dev = await w.developer.client.get<Spec>(`/api/v1/run-specs/${spec.id}`);
      assert.equal(dev.state, 'completed');
    });

    test('a lapsed claim is taken over; the first coordinator can then neither renew nor report', async () => {
      const eng = await activeEngagement();
      await w.testerA.client.post(`/api/v1/engagements/${eng}/run-specs`, { suite: demo, model: 'openai/sim' });
      const first = (await w.testerA.client.post<{ spec: Spec }>('/api/v1/run-specs/claim', { engagement: eng, leaseSeconds: 30 })).spec;
      // Renewed while alive...
      clock += 20_000;
      await w.testerA.client.post(`/api/v1/run-specs/${first.id}/heartbeat`, { claimId: first.claimId, leaseSeconds: 30 });
      clock += 20_000;
      assert.equal((await w.testerA.client.post<{ spec: Spec | null }>('/api/v1/run-specs/claim', { engagement: eng })).spec, null, 'the renewed lease still holds');
      // ...then silent past its lease: the next claim takes it over.
      clock += 31_000;
      assert.equal(leaseExpired({ state: 'claimed', lease_until: new Date(clock - 1).toISOString() }, new Date(clock)), true);
      const second = (await w.testerA.client.post<{ spec: Spec }>('/api/v1/run-specs/claim', { engagement: eng, leaseSeconds: 600 })).spec;
      assert.equal(second.id, first.id);
      assert.equal(second.attempts, 2);
      assert.notEqual(second.claimId, first.claimId);
      assert.equal(await httpStatus(w.testerA.client.post(`/api/v1/run-specs/${first.id}/heartbeat`, { claimId: first.claimId })), 409);
      assert.equal(await httpStatus(w.testerA.client.post(`/api/v1/run-specs/${first.id}/fail`, { claimId: first.claimId, reason: 'late' })), 409);
      const failed = await w.testerA.client.post<Spec>(`/api/v1/run-specs/${first.id}/fail`, { claimId: second.claimId, reason: 'endpoint down' });
      assert.deepEqual([failed.state, failed.result?.reason], ['failed', 'endpoint down']);
    });

    test('assay registry run add + pull: the coordinator runs the pinned suite against the model and reports the run id and log digest; a suite whose digest differs fails the spec, naming both', { timeout: 300_000 }, async () => {
      const eng = await activeEngagement();
      const t = await target;
      const conn = ['--url', run.baseUrl, '--token', w.testerA.client.token!];
      const added = await cli(['registry', 'run', 'add', eng, '--suite', DEMO, '--model', 'openai/sim', '--limit', '12', ...conn]);
      assert.equal(added.code, 0, added.stderr);
      const spec = JSON.parse(added.stdout) as Spec;
      assert.deepEqual(spec.suite, demo);
      const out = tmp();
      const pulled = await cli(['registry', 'run', 'pull', '--engagement', eng, '--base-url', `${t.url}/v1`, '--simulated', '--out-dir', out, ...conn], { ASSAY_HOME: tmp(), OPENAI_API_KEY: 'sim' });
      assert.equal(pulled.code, 0, pulled.stderr);
      const r = JSON.parse(pulled.stdout) as { pulled: number; specs: Spec[] };
      assert.equal(r.pulled, 1);
      const done = r.specs[0]!;
      assert.equal(done.state, 'completed', JSON.stringify(done.result));
      const log = join(out, `${spec.id}.jsonl`);
      const bytes = readFileSync(log);
      assert.equal(done.result!.logDigest, `sha256:${createHash('sha256').update(bytes).digest('hex')}`);
      const header = JSON.parse(bytes.toString('utf8').split('\n')[0]!) as { runId: string; suite: { digest: string }; config: { limit: number } };
      assert.equal(done.result!.runId, header.runId);
      assert.equal(header.suite.digest, demo.digest);
      assert.equal(header.config.limit, 12);
      assert.equal(done.result!.samples, 12);

      // A coordinator whose copy of the suite differs (same id and version, other data) does not run it.
      const copy = tmp();
      cpSync(join(ROOT, 'suites/demo-arithmetic'), copy, { recursive: true });
      const data = join(copy, 'data.jsonl');
      const original = readFileSync(data, 'utf8');
      writeFileSync(data, original.replace(/"answer":\d+/, '"answer":0'));
      assert.notEqual(readFileSync(data, 'utf8'), original);
      await cli(['registry', 'run', 'add', eng, '--suite', DEMO, '--model', 'openai/sim', ...conn]);
      const bad = await cli(['registry', 'run', 'pull', '--engagement', eng, '--suites', copy, '--base-url', `${t.url}/v1`, '--simulated', '--out-dir', out, ...conn], { ASSAY_HOME: tmp(), OPENAI_API_KEY: 'sim' });
      assert.equal(bad.code, 3);
      const b = (JSON.parse(bad.stdout) as { specs: Spec[] }).specs[0]!;
      assert.equal(b.state, 'failed');
      assert.match(String(b.result!.reason), new RegExp(`no local suite matches demo\\.arithmetic@${demo.version.replace(/\./g, '\\.')} ${demo.digest}; found .*sha256:`));
      // Nothing left: a pull with nothing to do says so and exits 0.
      const none = await cli(['registry', 'run', 'pull', '--engagement', eng, ...conn]);
      assert.equal(none.code, 0, none.stderr);
      assert.equal((JSON.parse(none.stdout) as { pulled: number }).pulled, 0);
    });
  });
}
