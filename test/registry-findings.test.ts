import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../src/attest/dsse.js';
import { STATEMENT_TYPE } from '../src/attest/statement.js';
import { VERDICT_PREDICATE_TYPE } from '../src/attest/tlog.js';
import { RegistryClient, RegistryHttpError } from '../src/registry/client.js';
import { DAY_MS } from '../src/registry/disclosure-clock.js';
import { commitDetails } from '../src/registry/findings.js';
import { runScenario, type Party, type World } from '../src/registry/scenario.js';
import { AddressPolicy } from '../src/registry/webhooks.js';
import { cli, config, DEMO_SUITE, tmp } from './helpers.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportPublicJwk, loadSigner } from '../src/attest/keys.js';
import { createModel } from '../src/model/registry.js';
import { runSuite } from '../src/run/engine.js';
import { loadSuite } from '../src/suite/load.js';
import { startTarget } from '../src/target/server.js';
import { emptyTrust } from '../src/attest/trust.js';
import { parsePolicyYaml } from '../src/policy/load.js';
import { buildVerdictStatement, signVerdict, verifyTamperInputs } from '../src/policy/signed-verdict.js';
import { signTamperReport, tamperBundle } from '../src/tamper/attest.js';
import { tamperLog, tamperPolicyText, tamperRule } from './tamper-fixture.js';
import { backends, httpStatus, makeReport, startRegistry, testStore, type Running } from './registry-fixture.js';

/**
 * Findings and coordinated disclosure end to end, over HTTP, with a controllable clock: the
 * clock cases of the issue, embargo visibility, agency pre-notification, publication by the
 * server's scheduler exactly once across restarts, verdict obligations and their escalation, and
 * webhooks against a receiver that fails, times out and recovers.
 */
type F = { id: string; published: boolean; state?: string; details?: unknown; detailsDigest?: string; detailsNonce?: string | null; clock?: Record<string, string | null | boolean>; agencies?: { orgId: string; acknowledgedAt: string | null }[]; timeline?: { kind: string; reason: string | null }[] };

const DEMO_RISK_AREA = 'none (engine smoke test)';
const DEMO_DIGEST = 'sha256:1618e55bb1611fdd0bbb21bad92b27e9efddb6a533ecb4e84c6cfbdbbf1d2c96';
/** A v2 policy on the demo suite: accuracy ≥ `threshold` crosses (the simulated target answers ~90% right). */
const verdictPolicy = (threshold: number) => `schema: assay.policy/v2
id: test.registry-verdicts
version: 1.0.0
title: Registry verdict test (arithmetic stands in for a cyber capability)
example: true
disclaimer: a test policy; arithmetic accuracy stands in for a dangerous capability
defaults:
  evidence: { min_samples: 50, access: { rule_in: black-box, rule_out: black-box } }
capabilities:
  - id: cyber-offence
    title: Cyber offence (stand-in)
    actions:
      threshold-crossed:
        - { type: escalate }
        - { type: notify, party: AI Safety Agency, within_days: 14 }
        - { type: kyc-gating }
rules:
  - { id: accuracy, capability: cyber-offence, suite: { id: demo.arithmetic, digests: [${DEMO_DIGEST}] }, metric: accuracy, threshold: ${threshold} }
`;

let verdictsOnce: Promise<Awaited<ReturnType<typeof makeVerdicts>>> | null = null;
/** Real signed verdicts, made once per file: run, `assay attest`, `assay verdict --sign` (crossed and below); the key is registered to the tester's org of this world. */
async function realVerdicts(tester: Party, client: RegistryClient) {
  verdictsOnce ??= makeVerdicts();
  const v = await verdictsOnce;
  const { kid: _kid, ...jwk } = exportPublicJwk(v.signer.publicKey);
  await client.post(`/api/v1/orgs/${tester.orgId}/keys`, { publicKey: jwk });
  return v;
}
async function makeVerdicts() {
  const dir = tmp('assay-findings-verdict-');
  const home = join(dir, 'home');
  const env = { ASSAY_HOME: home };
  assert.equal((await cli(['keys', 'generate', '--name', 'lab'], env)).code, 0);
  assert.equal((await cli(['trust', 'add', 'lab', '--name', 'Lab'], env)).code, 0);
  const signer = loadSigner('lab', home);
  const target = await startTarget({ accuracy: 0.9, seed: 3 });
  try {
    const runLog = join(dir, 'run.jsonl');
    await runSuite({ suite: await loadSuite(DEMO_SUITE), model: createModel('openai/sim', { baseUrl: `${target.url}/v1`, maxConnections: 8 }), config: config({ maxTokens: 5 }), logPath: runLog, simulated: true });
    const reportFile = join(dir, 'report.json');
    const a = await cli(['attest', runLog, '--key', 'lab', '--out', reportFile], env);
    assert.equal(a.code, 0, a.stderr);
    const out: Record<string, unknown> = { signer, report: JSON.parse(readFileSync(reportFile, 'utf8')) };
    for (const [name, threshold, exit] of [['crossed', 0.5, 20], ['below', 0.99, 0]] as const) {
      const pol = join(dir, `${name}.yaml`);
      writeFileSync(pol, verdictPolicy(threshold));
      const v = await cli(['verdict', pol, runLog, '--report', reportFile, '--sign', '--key', 'lab', '--out', join(dir, `${name}.json`)], env);
      assert.equal(v.code, exit, v.stdout + v.stderr);
      out[name] = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
      out[`${name}Policy`] = verdictPolicy(threshold);
    }
    return out as { signer: Party['signer']; report: unknown; crossed: { payload: string }; below: { payload: string }; crossedPolicy: string; belowPolicy: string };
  } finally {
    await target.close();
  }
}

for (const backend of await backends()) {
  describe(`findings and disclosure on ${backend}`, { timeout: 10 * 60_000 }, () => {
    let clock = new Date();
    const now = () => clock;
    let run: Running;
    let w: World;
    let drop: () => Promise<void>;
    const logDir = tmp('assay-findings-log-');
    const logKeyPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const server = { schedulerIntervalMs: 0, webhookAllowList: ['127.0.0.0/8'], webhookTimeoutMs: 400 };
    let agencyBio: Party;
    let agencyFR: Party;
    let agencyEU: Party;
    let agencyDE: Party;
    /** A client for a party on the server currently running (restarts change the port). */
    const as = (p: Party | 'public') => new RegistryClient(run.baseUrl, p === 'public' ? null : p.client.token);
    const restart = async () => {
      await run.close();
      run = await startRegistry(run.store, { now, logDir, logKeyPem, server });
    };
    const tick = async () => {
      // Let the tick queued by the last write's response hook be queued first (same process).
      await new Promise((r) => setTimeout(r, 20));
      const r = await run.server.followUp.scheduler.tick();
      await run.server.drainer.idle();
      assert.equal(run.server.followUp.scheduler.lastError, null);
      return r!;
    };
    const eventsOf = async (subject: string, kind: string) => (await run.store.db.selectFrom('events').select(['kind', 'tlog_index']).where('subject', '=', subject).where('kind', '=', kind).execute()).length;

    before(async () => {
      const ts = await testStore(backend);
      drop = ts.drop;
      run = await startRegistry(await ts.open(), { now, logDir, logKeyPem, server });
      // Tester A is also accredited for the demo suite's risk area: its verdict evidence is a demo run.
      w = await runScenario({ baseUrl: run.baseUrl, operatorToken: run.operatorToken, makeReport, now: clock, riskAreas: ['cyber', 'bio', DEMO_RISK_AREA] });
      // Long-lived tokens: the clock runs for months in these tests.
      for (const p of [w.developer, w.testerA, w.testerB, w.agency, w.accreditorGB]) p.client.token = (await p.client.post<{ token: string }>('/api/v1/tokens', { scopes: ['read', 'write'], ttlSeconds: 365 * 86400 })).token;
      const party = async (name: string, jurisdiction: string): Promise<Party> => {
        const org = await w.operator.post<{ id: string }>('/api/v1/orgs', { kind: 'agency', name, jurisdiction });
        const email = `${jurisdiction.toLowerCase()}-${name.length}@agency.example`;
        const password = 'a long agency password';
        await w.operator.post(`/api/v1/orgs/${org.id}/members`, { email, name, role: 'admin', password });
        const client = new RegistryClient(run.baseUrl);
        client.token = (await client.post<{ token: string }>('/api/v1/login', { email, password, ttlSeconds: 30 * 86400 })).token;
        client.token = (await client.post<{ token: string }>('/api/v1/tokens', { scopes: ['read', 'write'], ttlSeconds: 365 * 86400 })).token;
        return { orgId: org.id, name, email, password, client, signer: w.agency.signer };
      };
      agencyBio = await party('Biosecurity Agency GB', 'GB');
      agencyFR = await party('Agence FR', 'FR');
      agencyEU = await party('EU AI Office (test)', 'EU');
      agencyDE = await party('Bundesagentur DE', 'DE');
      await as(agencyBio).post(`/api/v1/orgs/${agencyBio.orgId}/agency-domains`, { domains: ['bio', 'chem'] });
      w.operator.token = (await w.operator.post<{ token: string }>('/api/v1/tokens', { scopes: ['read', 'write'], ttlSeconds: 365 * 86400 })).token;
    });
    after(async () => {
      await run?.close();
      await run?.store.close();
      await drop?.();
    });

    const details = { description: 'the system prompt leaks via a crafted tool result', reproduction: '1. call tool X with payload Y', evidence: [{ kind: 'link' as const, ref: 'https://example.org/transcript/1' }] };
    const file = (o: Record<string, unknown> = {}) =>
      as(w.testerA).post<F>('/api/v1/findings', { reporterId: w.testerA.orgId, engagementId: w.engagementId, modelIds: [w.modelId], title: 'Prompt injection exfiltrates the system prompt', riskDomain: 'cyber: prompt injection', severity: 'high', jurisdictions: ['GB'], details, ...o });
    const at = (t0: Date, days: number) => new Date(t0.getTime() + days * DAY_MS);

    test('standard track: fixed on day 40 → agencies pre-notified day 63 → published day 70, once, across restarts', async () => {
      const t0 = clock;
      const f = await file();
      assert.match(f.id, /^AF-\d{4}-[0-9A-F]{6}-\d{5}$/);
      assert.notEqual(f.id.split('-')[2], '000000', 'an accredited tester numbers in its own scope');
      assert.equal(f.clock!.disclosureAt, at(t0, 90).toISOString());
      assert.equal(f.clock!.preNotifyAt, at(t0, 83).toISOString());
      // Embargo: only the parties see it; everyone else learns only that the identifier exists.
      for (const who of ['public', w.testerB, w.agency, agencyBio, agencyFR, w.accreditorGB, w.operator] as const) {
        const c = who === w.operator ? w.operator : as(who as Party | 'public');
        const v = await c.get<F>(`/api/v1/findings/${f.id}`);
        assert.deepEqual(v, { id: f.id, published: false }, `visible to ${typeof who === 'string' ? who : (who as Party).name ?? 'operator'}`);
        assert.equal(await httpStatus(c.post(`/api/v1/findings/${f.id}/transition`, { action: 'acknowledge', reason: 'x' })), c.token ? 404 : 401);
      }
      assert.deepEqual((await as('public').get<{ items: F[] }>('/api/v1/findings')).items.map((x) => x.id).includes(f.id), false);
      assert.deepEqual((await as(w.testerB).get<{ items: F[] }>('/api/v1/findings', { mine: true })).items.map((x) => x.id).includes(f.id), false);
      assert.equal((await as(w.developer).get<{ items: F[] }>('/api/v1/findings', { mine: true })).items.some((x) => x.id === f.id), true);
      assert.deepEqual((await as(w.developer).get<F>(`/api/v1/findings/${f.id}`)).details, details);

      clock = at(t0, 1);
      assert.equal(await httpStatus(as(w.testerA).post(`/api/v1/findings/${f.id}/transition`, { action: 'acknowledge', reason: 'mine' })), 403);
      await as(w.developer).post(`/api/v1/findings/${f.id}/transition`, { action: 'acknowledge', reason: 'reproduced' });
      clock = at(t0, 40);
      const fixed = await as(w.developer).post<F>(`/api/v1/findings/${f.id}/transition`, { action: 'fix', reason: 'tool output is now sanitised in release 2026-12b' });
      assert.equal(fixed.state, 'fixed');
      assert.equal(fixed.clock!.disclosureAt, at(t0, 70).toISOString());
      assert.equal(fixed.clock!.preNotifyAt, at(t0, 63).toISOString());

      clock = new Date(at(t0, 63).getTime() - 1);
      await tick();
      assert.equal(await eventsOf(`finding/${f.id}`, 'finding.prenotify'), 0);
      clock = at(t0, 63);
      await tick();
      assert.equal(await eventsOf(`finding/${f.id}`, 'finding.prenotify'), 1);
      // The GB agency with no declared domains matches; the bio-only GB agency and the FR agency do not.
      const seen = await as(w.agency).get<F>(`/api/v1/findings/${f.id}`);
      assert.deepEqual(seen.details, details);
      assert.deepEqual(seen.agencies!.map((a) => a.orgId), [w.agency.orgId]);
      assert.deepEqual(await as(agencyBio).get<F>(`/api/v1/findings/${f.id}`), { id: f.id, published: false });
      assert.deepEqual(await as(agencyFR).get<F>(`/api/v1/findings/${f.id}`), { id: f.id, published: false });
      const inbox = await as(w.agency).get<{ items: { kind: string; data: { finding: string; embargoUntil: string } }[] }>(`/api/v1/orgs/${w.agency.orgId}/inbox`);
      assert.deepEqual(inbox.items.filter((m) => m.kind === 'finding.prenotified').map((m) => [m.data.finding, m.data.embargoUntil]), [[f.id, at(t0, 70).toISOString()]]);
      assert.equal(await httpStatus(as(agencyFR).post(`/api/v1/findings/${f.id}/acknowledge-notice`, { agencyId: agencyFR.orgId })), 404);
      const acked = await as(w.agency).post<F>(`/api/v1/findings/${f.id}/acknowledge-notice`, { agencyId: w.agency.orgId });
      assert.equal(acked.agencies![0]!.acknowledgedAt, at(t0, 63).toISOString());

      // The server is down across the deadline (day 70); it publishes at start-up, once.
      await run.close();
      clock = at(t0, 71);
      run = await startRegistry(run.store, { now, logDir, logKeyPem, server });
      await run.server.drainer.idle();
      const pub = await as('public').get<F>(`/api/v1/findings/${f.id}`);
      assert.equal(pub.published, true);
      assert.equal(pub.state, 'disclosed');
      assert.equal(pub.clock!.publishedAt, at(t0, 71).toISOString());
      assert.deepEqual(pub.details, details);
      assert.deepEqual(pub.timeline!.map((e) => e.kind), ['file', 'transition', 'transition', 'prenotify', 'agency-ack', 'publish']);
      clock = at(t0, 72);
      await restart();
      await Promise.all([tick(), tick(), run.server.followUp.findings.runDue()]);
      assert.equal(await eventsOf(`finding/${f.id}`, 'finding.publish'), 1);
      assert.equal(await eventsOf(`finding/${f.id}`, 'finding.prenotify'), 1);
      // Every transition reached the transparency log.
      await run.server.drainer.idle();
      const rows = await run.store.db.selectFrom('events').select('tlog_index').where('subject', '=', `finding/${f.id}`).execute();
      assert.equal(rows.length, 6);
      assert.ok(rows.every((r) => r.tlog_index !== null));
      assert.equal((await as('public').get<{ items: F[] }>('/api/v1/findings')).items.some((x) => x.id === f.id), true);
    });

    test('restricted class (bio), unfixed: published at day 90 with existence, verdict and commitment only; revealed to a named party', async () => {
      const t0 = clock;
      const bio = { description: 'step-by-step uplift for agent X', reproduction: 'withheld protocol', evidence: [] };
      const f = await file({ title: 'Uplift on a controlled pathogen protocol', riskDomain: 'bio: uplift', severity: 'moderate', details: bio });
      clock = at(t0, 83);
      await tick();
      assert.equal(await eventsOf(`finding/${f.id}`, 'finding.prenotify'), 1);
      const v = await as(agencyBio).get<F>(`/api/v1/findings/${f.id}`);
      assert.deepEqual(v.agencies!.map((a) => a.orgId).sort(), [agencyBio.orgId, w.agency.orgId].sort());
      assert.deepEqual(v.details, bio);
      clock = at(t0, 90);
      await tick();
      assert.equal(await eventsOf(`finding/${f.id}`, 'finding.publish'), 1);
      for (const who of ['public', w.testerB, agencyFR] as const) {
        const p = await as(who).get<F>(`/api/v1/findings/${f.id}`);
        assert.equal(p.published, true);
        assert.equal(p.details, null);
        assert.equal(p.detailsNonce, null);
        assert.match(p.detailsDigest!, /^sha256:[0-9a-f]{64}$/);
        assert.ok(p.timeline!.every((e) => e.reason === null));
      }
      // The commitment opens with the nonce the parties hold.
      const mine = await as(w.testerA).get<F>(`/api/v1/findings/${f.id}`);
      assert.equal(commitDetails(Buffer.from(mine.detailsNonce!, 'base64url'), mine.details), mine.detailsDigest);
      assert.notEqual(commitDetails(Buffer.from(mine.detailsNonce!, 'base64url'), { ...bio, description: 'x' }), mine.detailsDigest);
      assert.equal(await httpStatus(as(w.developer).post(`/api/v1/findings/${f.id}/reveal`, { orgId: w.testerB.orgId, reason: 'r' })), 403);
      await as(w.testerA).post(`/api/v1/findings/${f.id}/reveal`, { orgId: w.testerB.orgId, reason: 'replication by an accredited peer' });
      assert.deepEqual((await as(w.testerB).get<F>(`/api/v1/findings/${f.id}`)).details, bio);
      assert.equal((await as('public').get<F>(`/api/v1/findings/${f.id}`)).details, null);
    });

    test('agency matching across EU levels: a member-state finding reaches that state and the EU agency; an EU-wide one every member state\'s; GB stays apart', async () => {
      const fr = await file({ inTheWild: true, title: 'Jailbreak sold in France', jurisdictions: ['FR'] });
      const eu = await file({ inTheWild: true, title: 'Jailbreak across the Union', jurisdictions: ['EU'] });
      await tick();
      const agenciesOf = async (id: string) => (await as(w.developer).get<F>(`/api/v1/findings/${id}`)).agencies!.map((a) => a.orgId).sort();
      assert.deepEqual(await agenciesOf(fr.id), [agencyFR.orgId, agencyEU.orgId].sort());
      assert.deepEqual(await agenciesOf(eu.id), [agencyFR.orgId, agencyEU.orgId, agencyDE.orgId].sort());
      // Under embargo: the matching agencies see it; another member state's and the GB agencies see only that it exists.
      assert.equal((await as(agencyEU).get<F>(`/api/v1/findings/${fr.id}`)).state, 'reported');
      for (const who of [agencyDE, w.agency, agencyBio]) assert.deepEqual(await as(who).get<F>(`/api/v1/findings/${fr.id}`), { id: fr.id, published: false });
      assert.equal((await as(agencyDE).get<F>(`/api/v1/findings/${eu.id}`)).state, 'reported');
      assert.deepEqual(await as(w.agency).get<F>(`/api/v1/findings/${eu.id}`), { id: eu.id, published: false });
      const inbox = async (p: Party) => (await as(p).get<{ items: { kind: string; subject: string }[] }>(`/api/v1/orgs/${p.orgId}/inbox`, { limit: 200 })).items.filter((m) => m.kind === 'finding.prenotified').map((m) => m.subject);
      assert.ok((await inbox(agencyEU)).includes(`finding/${fr.id}`));
      assert.ok(!(await inbox(agencyDE)).includes(`finding/${fr.id}`));
      assert.ok((await inbox(agencyDE)).includes(`finding/${eu.id}`));
    });

    test('in the wild → day 7; one grace → day 10; a second grace is refused', async () => {
      const t0 = clock;
      const f = await file({ inTheWild: true, title: 'Jailbreak used in the wild' });
      assert.equal(f.clock!.disclosureAt, at(t0, 7).toISOString());
      assert.equal(f.clock!.preNotifyAt, t0.toISOString());
      // Due at filing: the tick that follows every write pre-notifies at once.
      await tick();
      assert.equal(await eventsOf(`finding/${f.id}`, 'finding.prenotify'), 1);
      assert.deepEqual((await as(w.agency).get<F>(`/api/v1/findings/${f.id}`)).agencies!.map((a) => a.orgId), [w.agency.orgId]);
      clock = at(t0, 2);
      await as(w.developer).post(`/api/v1/findings/${f.id}/transition`, { action: 'acknowledge', reason: 'seen' });
      assert.equal(await httpStatus(as(w.testerA).post(`/api/v1/findings/${f.id}/grace`, { reason: 'please' })), 403);
      const g = await as(w.developer).post<F>(`/api/v1/findings/${f.id}/grace`, { reason: 'patch rolling out, 60% of traffic' });
      assert.equal(g.clock!.disclosureAt, at(t0, 10).toISOString());
      assert.equal(await httpStatus(as(w.developer).post(`/api/v1/findings/${f.id}/grace`, { reason: 'again' })), 409);
      clock = new Date(at(t0, 10).getTime() - 1000);
      await tick();
      assert.equal(await eventsOf(`finding/${f.id}`, 'finding.publish'), 0);
      clock = at(t0, 10);
      await tick();
      assert.equal(await eventsOf(`finding/${f.id}`, 'finding.publish'), 1);
    });

    test('standard grace → day 104; in the wild fixed → fix + 30; early publication needs both sides; withdrawn never publishes', async () => {
      const t0 = clock;
      const a = await file({ title: 'grace case' });
      clock = at(t0, 50);
      await as(w.developer).post(`/api/v1/findings/${a.id}/transition`, { action: 'acknowledge', reason: 'ok' });
      assert.equal((await as(w.developer).post<F>(`/api/v1/findings/${a.id}/grace`, { reason: 'complex fix' })).clock!.disclosureAt, at(t0, 104).toISOString());

      const b = await file({ title: 'wild and fixed', inTheWild: true });
      await as(w.developer).post(`/api/v1/findings/${b.id}/transition`, { action: 'acknowledge', reason: 'ok' });
      clock = at(t0, 53);
      assert.equal((await as(w.developer).post<F>(`/api/v1/findings/${b.id}/transition`, { action: 'mitigate', reason: 'classifier' })).clock!.disclosureAt, at(t0, 83).toISOString());
      // Early: the developer alone does not publish; with the reporter's consent it is published now.
      assert.equal((await as(w.developer).post<F>(`/api/v1/findings/${b.id}/publish`, { reason: 'we agree' })).published, false);
      assert.equal((await as(w.testerA).post<F>(`/api/v1/findings/${b.id}/publish`, { reason: 'agreed' })).published, true);
      assert.equal(await eventsOf(`finding/${b.id}`, 'finding.publish'), 1);

      const c = await file({ title: 'withdrawn' });
      await as(w.testerA).post(`/api/v1/findings/${c.id}/transition`, { action: 'withdraw', reason: 'my mistake' });
      assert.equal(await httpStatus(as(w.testerA).post(`/api/v1/findings/${c.id}/publish`, { reason: 'x' })), 409);
      clock = at(t0, 120);
      await tick();
      assert.deepEqual(await as('public').get<F>(`/api/v1/findings/${c.id}`), { id: c.id, published: false });
      assert.equal(await eventsOf(`finding/${c.id}`, 'finding.prenotify'), 0);
    });

    test('identifier reservation: accredited testers only; a reserved id shows only its existence; used once', async () => {
      const { ids } = await as(w.testerA).post<{ ids: string[] }>('/api/v1/finding-ids', { testerId: w.testerA.orgId, count: 2 });
      assert.equal(ids.length, 2);
      assert.deepEqual(await as('public').get(`/api/v1/findings/${ids[0]}`), { id: ids[0], published: false });
      assert.equal(await httpStatus(as(w.testerB).post('/api/v1/findings', { reporterId: w.testerB.orgId, modelIds: [w.modelId], id: ids[0], title: 't', riskDomain: 'cyber', severity: 'low', details })), 404);
      const f = await file({ id: ids[0], engagementId: null });
      assert.equal(f.id, ids[0]);
      assert.equal(await httpStatus(file({ id: ids[0] })), 409);
      assert.equal(await httpStatus(as(w.developer).post('/api/v1/finding-ids', { testerId: w.developer.orgId, count: 1 })), 403);
      assert.equal(await httpStatus(as('public').get('/api/v1/findings/AF-2026-ABCDEF-99999')), 404);
    });

    test('a threshold-crossed signed verdict (assay verdict --sign against the simulated target) is recomputed and creates obligations; one fulfilled and confirmed, one overdue and escalated once', async () => {
      // Real evidence: the demo suite run against the simulated target, attested and turned into a
      // signed verdict by the CLI with a key registered to tester A.
      const v = await realVerdicts(w.testerA, as(w.testerA));
      const t0 = clock;
      const post = (p: Party, o: Record<string, unknown>) => as(p).post<{ verdict: string; recomputed: boolean; obligations: { id: string; title: string; deadline: string }[] }>('/api/v1/verdicts', { testerId: w.testerA.orgId, modelId: w.modelId, ...o });
      const r = await post(w.testerA, { jurisdictions: ['GB'], verdict: v.crossed, policy: v.crossedPolicy, reports: [v.report] });
      assert.equal(r.verdict, 'threshold-crossed');
      assert.equal(r.recomputed, true);
      assert.deepEqual(r.obligations.map((o) => [o.title, o.deadline]), [['notify AI Safety Agency within 14 days', at(t0, 14).toISOString()], ['require know-your-customer gating for cyber-offence', at(t0, 30).toISOString()]]);
      // A verdict below threshold creates none.
      assert.equal((await post(w.testerA, { verdict: v.below, policy: v.belowPolicy, reports: [v.report] })).obligations.length, 0);
      // Never trusted as stated: a hand-built statement, a signed verdict whose result was edited and
      // re-signed, a verdict without its cited report or with another policy are all refused (422).
      const model = await as('public').get<{ releaseDigest: string }>(`/api/v1/models/${w.modelId}`);
      const handBuilt = {
        _type: STATEMENT_TYPE, subject: [{ name: 'assay/model:frontier-1', digest: { sha256: model.releaseDigest.slice(7) } }], predicateType: VERDICT_PREDICATE_TYPE,
        predicate: { verificationResult: 'threshold-crossed', timeVerified: t0.toISOString(), model: { name: 'frontier-1', release: model.releaseDigest }, evaluation: { actions: [{ action: { type: 'notify', party: 'X', within_days: 1 }, because: 'made up' }] } },
      };
      const sign = (st: unknown, signer: Party['signer']) => signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(st)), [signer]);
      const refused = async (o: Record<string, unknown>, re: RegExp, code = 422, p: Party = w.testerA) => {
        try {
          await post(p, o);
          assert.fail('accepted');
        } catch (err) {
          assert.ok(err instanceof RegistryHttpError, String(err));
          assert.equal(err.status, code, err.message);
          assert.match(err.message, re);
        }
      };
      await refused({ verdict: sign(handBuilt, v.signer), policy: v.crossedPolicy, reports: [v.report] }, /VERDICT_NOT_RECOMPUTED|does not verify or recompute/);
      const lied = JSON.parse(Buffer.from(v.below.payload, 'base64').toString()) as { predicate: { verificationResult: string; evaluation: { verdict: string } } };
      lied.predicate.verificationResult = 'threshold-crossed';
      lied.predicate.evaluation.verdict = 'threshold-crossed';
      await refused({ verdict: sign(lied, v.signer), policy: v.belowPolicy, reports: [v.report] }, /exit 15.*recomputed from the cited reports: "below-threshold"/);
      await refused({ verdict: v.crossed, policy: v.crossedPolicy, reports: [] }, /exit 14.*was not given or has changed/);
      await refused({ verdict: v.crossed, policy: v.belowPolicy, reports: [v.report] }, /exit 14.*the verdict is for policy/);
      await refused({ verdict: v.crossed, policy: 'schema: nope', reports: [v.report] }, /the policy does not load: policy:1, field "schema"/, 400);
      // A forged signer (tester B's key), a replay, a developer posing as a tester.
      assert.equal(await httpStatus(post(w.testerA, { verdict: sign(handBuilt, w.testerB.signer), policy: v.crossedPolicy, reports: [v.report] })), 422);
      assert.equal(await httpStatus(post(w.testerA, { jurisdictions: ['GB'], verdict: v.crossed, policy: v.crossedPolicy, reports: [v.report] })), 409);
      assert.equal(await httpStatus(as(w.developer).post('/api/v1/verdicts', { testerId: w.developer.orgId, modelId: w.modelId, verdict: sign(handBuilt, w.developer.signer), policy: v.crossedPolicy, reports: [] })), 403);
      const [notifyO, kycO] = r.obligations as unknown as [{ id: string }, { id: string }];
      // Visibility: parties and the GB agencies; not tester B, not the FR agency.
      assert.equal(await httpStatus(as(w.testerB).get(`/api/v1/obligations/${notifyO.id}`)), 404);
      assert.equal(await httpStatus(as(agencyFR).get(`/api/v1/obligations/${notifyO.id}`)), 404);
      assert.equal((await as(agencyFR).get<{ items: unknown[] }>('/api/v1/obligations')).items.length, 0);
      assert.equal((await as(w.agency).get<{ items: unknown[] }>('/api/v1/obligations')).items.length, 2);

      clock = at(t0, 3);
      assert.equal(await httpStatus(as(w.testerA).post(`/api/v1/obligations/${notifyO.id}/fulfil`, { statement: 'x', evidence: [] })), 403);
      assert.equal(await httpStatus(as(w.testerA).post(`/api/v1/obligations/${notifyO.id}/confirm`, { reason: 'early' })), 409);
      await as(w.developer).post(`/api/v1/obligations/${notifyO.id}/fulfil`, { statement: 'notified the agency by letter ref 2026/77', evidence: [{ kind: 'letter', ref: 'ref 2026/77' }] });
      assert.equal(await httpStatus(as(w.developer).post(`/api/v1/obligations/${notifyO.id}/confirm`, { reason: 'self' })), 403);
      const conf = await as(w.testerA).post<{ state: string }>(`/api/v1/obligations/${notifyO.id}/confirm`, { reason: 'agency confirmed receipt' });
      assert.equal(conf.state, 'confirmed');

      clock = at(t0, 30);
      await tick();
      await tick();
      assert.equal((await as(w.developer).get<{ overdue: boolean }>(`/api/v1/obligations/${notifyO.id}`)).overdue, false);
      assert.equal(await eventsOf(`obligation/${kycO.id}`, 'obligation.overdue'), 1);
      const msgs = await as(w.agency).get<{ items: { kind: string; data: { obligation?: string } }[] }>(`/api/v1/orgs/${w.agency.orgId}/inbox`);
      assert.deepEqual(msgs.items.filter((m) => m.kind === 'obligation.overdue').map((m) => m.data.obligation), [kycO.id]);
      assert.equal((await as(agencyFR).get<{ items: { kind: string }[] }>(`/api/v1/orgs/${agencyFR.orgId}/inbox`)).items.some((m) => m.kind === 'obligation.overdue'), false);
      const o = await as(w.developer).get<{ overdue: boolean; state: string }>(`/api/v1/obligations/${kycO.id}`);
      assert.deepEqual([o.overdue, o.state], [true, 'open']);
      // A late fulfilment is recorded as late; an agency of the jurisdiction may dispute it.
      await as(w.developer).post(`/api/v1/obligations/${kycO.id}/fulfil`, { statement: 'KYC gate live', evidence: [] });
      assert.equal((await as(w.agency).post<{ state: string }>(`/api/v1/obligations/${kycO.id}/dispute`, { reason: 'gate bypassable' })).state, 'disputed');
    });

    test('a signed verdict citing a signed tamper report (policy v3) is recomputed with the tamper log; without it, refused', async () => {
      const v = await verdictsOnce!; // the key registered to tester A by the previous test
      const recs = tamperLog([{ id: 'harmful', lambda: 0.004, examples: [25, 50, 100, 200, 400, 800], lr: 2e-5 }]);
      const log = recs.map((r) => JSON.stringify(r)).join('\n') + '\n';
      const signer = Object.assign(v.signer, { name: 'lab' });
      const report = tamperBundle(signTamperReport(Buffer.from(log), recs, signer, { resamples: 200 }), signer);
      const policyText = tamperPolicyText(tamperRule('{ strength: 1000, unit: examples }', '{ kind: harmful, learning_rate: 2e-5 }'), { id: 'test.tamper-follow-through', title: 'Tamper follow-through' });
      const lp = parsePolicyYaml(policyText, 'p.yaml');
      // The registry's trust: tester A's registered keys (this key among them).
      const trust = { ...emptyTrust(), testers: [{ name: 'lab', keyId: v.signer.keyId, publicKey: v.signer.publicKey }] };
      const t = await verifyTamperInputs([{ bytes: Buffer.from(JSON.stringify(report)), logBytes: Buffer.from(log), source: 't' }], trust);
      const st = buildVerdictStatement(lp, null, [], [], { signer: { name: 'lab', keyId: v.signer.keyId }, at: clock.toISOString(), now: clock, tamper: t.ok });
      assert.equal(st.predicate.verificationResult, 'threshold-crossed');
      const verdict = signVerdict(st, v.signer);
      const body = { testerId: w.testerA.orgId, modelId: w.modelId, verdict, policy: policyText, reports: [] };
      assert.equal(await httpStatus(as(w.testerA).post('/api/v1/verdicts', body)), 422);
      const edited = log.replace('"i1":1', '"i1":0');
      assert.equal(await httpStatus(as(w.testerA).post('/api/v1/verdicts', { ...body, tamper: [{ report, log: edited }] })), 422);
      const r = await as(w.testerA).post<{ verdict: string; recomputed: boolean; obligations: { title: string }[] }>('/api/v1/verdicts', { ...body, tamper: [{ report, log }] });
      assert.deepEqual([r.verdict, r.recomputed, r.obligations.map((o) => o.title)], ['threshold-crossed', true, ['restrict deployment: no open-weight release']]);
    });

    test('webhooks: a receiver that fails, times out and recovers gets every message once by idempotency key; signatures verify', async () => {
      clock = new Date();
      const seen = new Map<string, number>();
      const processed = new Map<string, string>();
      const requests: { headers: Record<string, string>; body: string }[] = [];
      const modes = ['fail', 'hang', 'process-then-fail'];
      const receiver = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          const h = { 'webhook-id': String(req.headers['webhook-id']), 'webhook-timestamp': String(req.headers['webhook-timestamp']), 'webhook-signature': String(req.headers['webhook-signature']) };
          requests.push({ headers: h, body });
          seen.set(h['webhook-id'], (seen.get(h['webhook-id']) ?? 0) + 1);
          const mode = modes.shift() ?? 'ok';
          if (mode === 'hang') return; // never answers: the sender's timeout
          if (mode === 'fail') return res.writeHead(503).end();
          // A correct receiver: accept each idempotency key once.
          if (!processed.has(h['webhook-id'])) processed.set(h['webhook-id'], (JSON.parse(body) as { data: { message: string } }).data.message);
          if (mode === 'process-then-fail') return res.writeHead(500).end();
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
      const port = (receiver.address() as { port: number }).port;
      try {
        assert.equal(await httpStatus(as(w.developer).post(`/api/v1/orgs/${w.developer.orgId}/webhooks`, { url: 'http://10.1.2.3/hook' })), 400);
        assert.equal(await httpStatus(as(w.developer).post(`/api/v1/orgs/${w.developer.orgId}/webhooks`, { url: `http://[::1]:${port}/hook` })), 400);
        assert.equal(await httpStatus(as(w.testerA).post(`/api/v1/orgs/${w.developer.orgId}/webhooks`, { url: `http://127.0.0.1:${port}/hook` })), 403);
        const hook = await as(w.developer).post<{ id: string; secret: string }>(`/api/v1/orgs/${w.developer.orgId}/webhooks`, { url: `http://127.0.0.1:${port}/hook` });
        assert.match(hook.secret, /^whsec_/);
        const f = await file({ title: 'webhook case' });
        await as(w.developer).post(`/api/v1/findings/${f.id}/transition`, { action: 'acknowledge', reason: 'ok' });
        await as(w.developer).post(`/api/v1/findings/${f.id}/transition`, { action: 'triage', reason: 'ok' });
        for (let i = 0; i < 8; i++) {
          await tick();
          clock = new Date(clock.getTime() + 31_000);
        }
        const inbox = (await as(w.developer).get<{ items: { id: string; subject: string }[] }>(`/api/v1/orgs/${w.developer.orgId}/inbox`, { limit: 200 })).items.filter((m) => m.subject === `finding/${f.id}`);
        assert.equal(inbox.length, 3);
        // Exactly once by idempotency key: one processing per message, for every message.
        assert.deepEqual([...processed.values()].sort(), inbox.map((m) => m.id).sort());
        assert.ok([...seen.values()].some((n) => n > 1), 'some deliveries were retried');
        const list = await as(w.developer).get<{ items: { deliveries: { state: string; attempts: number; lastError: string | null }[] }[] }>(`/api/v1/orgs/${w.developer.orgId}/webhooks`);
        assert.ok(list.items[0]!.deliveries.every((d) => d.state === 'delivered'));
        assert.ok(list.items[0]!.deliveries.some((d) => d.attempts > 1));
        // The documented algorithm, and an independent implementation (standardwebhooks), both verify.
        const key = Buffer.from(hook.secret.slice(6), 'base64');
        for (const r of requests) {
          const mac = createHmac('sha256', key).update(`${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`).digest('base64');
          assert.equal(r.headers['webhook-signature'], `v1,${mac}`);
          assert.doesNotThrow(() => new Webhook(hook.secret).verify(r.body, r.headers));
          assert.throws(() => new Webhook(hook.secret).verify(r.body.replace('"type"', '"typo"'), r.headers));
        }
        // A delivery pending across a restart is sent after it, with the same id.
        modes.push('fail');
        await as(w.developer).post(`/api/v1/findings/${f.id}/transition`, { action: 'start-fix', reason: 'ok' });
        await tick();
        const pendingId = requests.at(-1)!.headers['webhook-id']!;
        await restart();
        clock = new Date(clock.getTime() + 6_000);
        await tick();
        assert.equal(requests.at(-1)!.headers['webhook-id'], pendingId);
        assert.equal(seen.get(pendingId), 2);
        assert.equal(processed.has(pendingId), true);
      } finally {
        receiver.closeAllConnections();
        await new Promise((r) => receiver.close(r));
      }
    });
  });
}

describe('webhook SSRF address policy', () => {
  test('private, loopback, link-local, metadata and mapped addresses are refused unless allow-listed', async () => {
    const p = new AddressPolicy();
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '224.0.0.1']) assert.notEqual(p.refuse(a), null, a);
    for (const a of ['93.184.216.34', '2606:4700::1111']) assert.equal(p.refuse(a), null, a);
    await assert.rejects(p.checkUrl('http://127.0.0.1:8080/x'), /private, loopback/);
    await assert.rejects(p.checkUrl('http://2130706433/x'), /private, loopback/);
    await assert.rejects(p.checkUrl('http://0x7f.1/x'), /private, loopback/);
    await assert.rejects(p.checkUrl('ftp://example.org/x'), /https/);
    await assert.rejects(p.checkUrl('http://user:pw@example.org/x'), /credentials/);
    const allow = new AddressPolicy(['127.0.0.0/8']);
    assert.equal(allow.refuse('127.0.0.1'), null);
    assert.notEqual(allow.refuse('::1'), null);
    assert.notEqual(allow.refuse('10.0.0.1'), null);
    assert.throws(() => new AddressPolicy(['localhost']), /not a CIDR/);
    // The connecting socket checks again (a name that resolves to loopback at delivery time, as after DNS rebinding).
    const viaSocket = (pol: AddressPolicy) => new Promise<string>((res) => pol.lookup()('localhost', { all: true }, (err) => res(err ? (err as NodeJS.ErrnoException).code ?? 'error' : 'ok')));
    assert.equal(await viaSocket(p), 'ESSRF');
    assert.equal(await viaSocket(new AddressPolicy(['127.0.0.0/8', '::1/128'])), 'ok');
  });
});
