import { followUpPolicy, signedVerdictFor } from '../src/registry/scenario-findings.js';
import { runScenario, type World } from '../src/registry/scenario.js';
import { makeReport, startRegistry, testStore, type Running } from './registry-fixture.js';
import { header, sample, writeRunLog } from './attest-fixture.js';

/**
 * Fixture data for the registry screens (`assay server`, /ui/), made through the registry's HTTP
 * API by the parties it belongs to, in real time (the screens' countdowns count against the real
 * clock): the registry scenario (accreditors with a mutual recognition, a developer, testers, an
 * agency, a verified published report), then four findings (one with hostile markup in its title
 * and details, acknowledged; one exploited in the wild, so the GB agency is pre-notified at once;
 * one low; one published by both sides' consent) and a tester-signed threshold-crossed verdict whose
 * two obligations are created, one fulfilled. SQLite; the scheduler runs only when ticked here.
 */

/** Hostile finding text: testers quote model outputs; none of it may become markup or a link. */
export const HOSTILE_TITLE = '<script>window.__pwned="title"</script> Tool output <img src=x onerror="window.__pwned=\'img\'"> leaks the prompt';
export const HOSTILE_DESCRIPTION = '[click me](javascript:window.__pwned=\'md\') <a href="javascript:window.__pwned=\'a\'">a</a> ![tracker](http://outside.example/pixel.png) <iframe src="http://outside.example/"></iframe>';
export type UiFinding = { id: string; title: string; state: string; severity: string; clock: { disclosureAt: string | null; publishedAt: string | null; fixDeadline: string | null } };

export interface RegistryUiFixture {
  run: Running;
  w: World;
  /** Run logs of the reports the scenario uploaded (to compare the public page with `assay stats`). */
  runLogs: Buffer[];
  f: Record<'hostile' | 'wild' | 'published' | 'low', UiFinding>;
  obligations: { id: string; title: string }[];
  close(): Promise<void>;
}

export async function makeRegistryUiFixture(): Promise<RegistryUiFixture> {
  const runLogs: Buffer[] = [];
  const f = {} as RegistryUiFixture['f'];
  const ts = await testStore('sqlite');
  const run = await startRegistry(await ts.open(), { server: { schedulerIntervalMs: 0 } });
  const w = await runScenario({ baseUrl: run.baseUrl, operatorToken: run.operatorToken, makeReport: async (t) => {
    const r = await makeReport(t);
    runLogs.push(r.runLog);
    return r;
  } });
  // Follow-up data, each step by the party it belongs to.
  const file = (o: Record<string, unknown>) => w.testerA.client.post<UiFinding>('/api/v1/findings', { reporterId: w.testerA.orgId, engagementId: w.engagementId, modelIds: [w.modelId], riskDomain: 'cyber: prompt injection', severity: 'high', jurisdictions: ['GB'], details: { description: 'the system prompt leaks via a crafted tool result', reproduction: '1. call the tool with the payload', evidence: [{ kind: 'report', ref: w.reportId }] }, ...o });
  f.hostile = await file({ title: HOSTILE_TITLE, details: { description: HOSTILE_DESCRIPTION, reproduction: '<script>window.__pwned="repro"</script>', evidence: [{ kind: 'link', ref: 'javascript:window.__pwned=\'evidence\'' }] } });
  await w.developer.client.post(`/api/v1/findings/${f.hostile.id}/transition`, { action: 'acknowledge', reason: 'reproduced' });
  f.wild = await file({ title: 'Credentials exfiltrated through the browsing tool', severity: 'moderate', inTheWild: true });
  f.low = await file({ title: 'Refusal bypass with role-play framing', severity: 'low' });
  f.published = await file({ title: 'Unsafe code suggestions under time pressure', severity: 'moderate', jurisdictions: ['US'] });
  await w.testerA.client.post(`/api/v1/findings/${f.published.id}/publish`, { reason: 'fixed upstream; publish now' });
  await w.developer.client.post(`/api/v1/findings/${f.published.id}/publish`, { reason: 'agreed' });
  // The scheduler (on a timer in production) pre-notifies the GB agency of the in-the-wild finding at once.
  await run.server.followUp.scheduler.tick();
  await run.server.drainer.idle();
  // A threshold-crossed verdict signed by the tester (what `assay attest` + `assay verdict --sign` produce over a
  // whole 40-item run), which the registry recomputes from the cited report and the policy: two obligations; the
  // developer fulfils one.
  const policy = followUpPolicy('fixture.qa', 'accuracy');
  const runLog = writeRunLog(Array.from({ length: 40 }, (_, i) => sample(`s${i}`, 1)), { header: header({ suite: { ...header().suite, items: 40 } }) });
  const sv = await signedVerdictFor(runLog, w.testerA.signer, w.testerA.name, policy, new Date());
  const v = await w.testerA.client.post<{ obligations: { id: string; title: string }[] }>('/api/v1/verdicts', { testerId: w.testerA.orgId, modelId: w.modelId, jurisdictions: ['GB'], verdict: sv.verdict, policy, reports: [sv.report] });
  const obligations = v.obligations;
  await w.developer.client.post(`/api/v1/obligations/${v.obligations[0]!.id}/fulfil`, { statement: 'notified the agency (letter ref 2026/77)', evidence: [{ kind: 'letter', ref: '2026/77' }] });

  return { run, w, runLogs, f, obligations, close: async () => {
    await run.close();
    await run.store.close();
    await ts.drop();
  } };
}
