import { attestRun } from '../attest/bundle.js';
import { decodeBase64Strict } from '../attest/dsse.js';
import { sha256Hex } from '../common/canonical.js';
import { evidenceFromPredicate } from '../policy/evidence.js';
import { parsePolicyYaml } from '../policy/load.js';
import { buildVerdictStatement, signVerdict } from '../policy/signed-verdict.js';
import { DAY_MS } from './disclosure-clock.js';
import { RegistryClient } from './client.js';
import type { World } from './scenario.js';

/**
 * The follow-through walk-through for `assay demo --registry` (after the registry scenario): a
 * finding filed, acknowledged, fixed, pre-notified and published on schedule by the server's
 * scheduler; a threshold-crossed signed verdict creating obligations, one fulfilled and
 * confirmed, one overdue and escalated to the agency. The server's clock is simulated: `advance`
 * moves it, `tick` runs the scheduler once (the server would on its timer).
 */
export interface FollowUpDriver {
  world: World;
  /**
   * A completed run log whose suite tester A is accredited for (the demo run against the simulated
   * target): the evidence of the signed verdict, which the registry recomputes.
   */
  verdictRunLog: string;
  now: () => Date;
  advance: (days: number) => void;
  tick: () => Promise<void>;
}

export interface FollowUpSummary {
  findingId: string;
  timeline: { day: number; kind: string; to?: string }[];
  published: { day: number; details: boolean };
  obligations: { id: string; title: string; deadlineDay: number; state: string; overdue: boolean }[];
  agencyMessages: string[];
}

/**
 * An illustrative policy for the follow-through: the run's metric at or above 0.5 stands in for a
 * crossed cyber capability, with a notification due in 14 days and KYC gating (default deadline).
 */
export function followUpPolicy(suiteId: string, metric: string): string {
  return `schema: assay.policy/v2
id: examples.registry-follow-through
version: 1.0.0
title: Registry follow-through demo (a stand-in capability)
example: true
disclaimer: Illustrative only; the demo run's metric stands in for a dangerous capability.
defaults:
  evidence: { min_samples: 10 }
capabilities:
  - id: cyber-offence
    title: Cyber offence (stand-in)
    actions:
      threshold-crossed:
        - { type: notify, party: AI Safety Agency (demo), within_days: 14 }
        - { type: kyc-gating }
rules:
  - { id: stand-in, capability: cyber-offence, suite: { id: ${JSON.stringify(suiteId)} }, metric: ${JSON.stringify(metric)}, threshold: 0.5 }
`;
}

/**
 * What \`assay attest\` then \`assay verdict <policy> --report <r> --sign\` produce, in-process: the
 * run's signed report and the signed verdict citing it (evaluated from the report's signed numbers).
 */
export async function signedVerdictFor(runLog: string, signer: World['testerA']['signer'], signerName: string, policyText: string, at: Date) {
  const lp = parsePolicyYaml(policyText, 'follow-up-policy.yaml');
  const { bundle: report, statement } = await attestRun(runLog, { signer, testerName: signerName });
  const input = { predicate: statement.predicate, payloadSha256: sha256Hex(decodeBase64Strict(report.payload, 'payload')), logged: false };
  const evidence = evidenceFromPredicate(statement.predicate, { signed: true, logged: false, grant: null });
  const st = buildVerdictStatement(lp, null, [input], [evidence], { signer: { name: signerName, keyId: signer.keyId }, at: at.toISOString(), now: at });
  return { verdict: signVerdict(st, signer), report, result: st.predicate.verificationResult };
}

export async function runFollowUpScenario(d: FollowUpDriver): Promise<FollowUpSummary> {
  const { world: w } = d;
  const anon = new RegistryClient(w.operator.baseUrl);
  const t0 = d.now().getTime();
  const dayOf = (iso: string) => Math.round(((Date.parse(iso) - t0) / DAY_MS) * 100) / 100;
  // Tokens that outlive the simulated months.
  for (const p of [w.developer, w.testerA, w.agency]) p.client.token = (await p.client.post<{ token: string }>('/api/v1/tokens', { scopes: ['read', 'write'], ttlSeconds: 365 * 86400 })).token;

  const f = await w.testerA.client.post<{ id: string }>('/api/v1/findings', {
    reporterId: w.testerA.orgId, engagementId: w.engagementId, modelIds: [w.modelId], title: 'Indirect prompt injection exfiltrates tool credentials', riskDomain: 'cyber: prompt injection', severity: 'high', jurisdictions: ['GB'],
    details: { description: 'A crafted web page returned by the browsing tool makes the model send stored credentials to a third party.', reproduction: 'See the disclosed transcript items.', evidence: [{ kind: 'report', ref: w.reportId }] },
  });
  d.advance(2);
  await w.developer.client.post(`/api/v1/findings/${f.id}/transition`, { action: 'acknowledge', reason: 'reproduced internally' });
  d.advance(10);
  await w.developer.client.post(`/api/v1/findings/${f.id}/transition`, { action: 'start-fix', reason: 'tool-output isolation under way' });
  d.advance(28);
  await w.developer.client.post(`/api/v1/findings/${f.id}/transition`, { action: 'fix', reason: 'release 2026-12b isolates tool output' });
  // Day 63: the scheduler pre-notifies the GB agency; it acknowledges. Day 70: published.
  d.advance(23);
  await d.tick();
  await w.agency.client.post(`/api/v1/findings/${f.id}/acknowledge-notice`, { agencyId: w.agency.orgId });
  d.advance(7);
  await d.tick();
  const pub = await w.developer.client.get<{ timeline: { at: string; kind: string; to?: string }[]; clock: { publishedAt: string }; details: unknown }>(`/api/v1/findings/${f.id}`);
  const publicView = await anon.get<{ details: unknown }>(`/api/v1/findings/${f.id}`);

  // Verdict follow-through: a real signed verdict, recomputed by the registry from the cited report and the policy.
  const header = JSON.parse((await import('node:fs')).readFileSync(d.verdictRunLog, 'utf8').split('\n', 1)[0]!) as { suite: { definition: { id: string; metrics?: { name: string }[] } } };
  const metric = header.suite.definition.metrics?.[0]?.name ?? 'accuracy';
  const policy = followUpPolicy(header.suite.definition.id, metric);
  const sv = await signedVerdictFor(d.verdictRunLog, w.testerA.signer, w.testerA.name, policy, d.now());
  const v = await w.testerA.client.post<{ obligations: { id: string }[] }>('/api/v1/verdicts', { testerId: w.testerA.orgId, modelId: w.modelId, jurisdictions: ['GB'], verdict: sv.verdict, policy, reports: [sv.report] });
  if (v.obligations.length < 2) throw new Error(`the follow-through verdict on the run is ${sv.result}, not threshold-crossed: its ${metric} must lie above 0.5 to show obligations (e.g. assay demo --registry with --accuracy above 0.5)`);
  const [notifyO, kycO] = v.obligations as [{ id: string }, { id: string }];
  d.advance(5);
  await w.developer.client.post(`/api/v1/obligations/${notifyO.id}/fulfil`, { statement: 'notified the agency (letter ref 2026/77)', evidence: [{ kind: 'letter', ref: '2026/77' }] });
  await w.testerA.client.post(`/api/v1/obligations/${notifyO.id}/confirm`, { reason: 'the agency confirmed receipt' });
  d.advance(26);
  await d.tick();
  const obligations = await Promise.all([notifyO, kycO].map((o) => w.developer.client.get<{ id: string; title: string; deadline: string; state: string; overdue: boolean }>(`/api/v1/obligations/${o.id}`)));
  const inbox = await w.agency.client.get<{ items: { kind: string; subject: string }[] }>(`/api/v1/orgs/${w.agency.orgId}/inbox`, { limit: 200 });
  return {
    findingId: f.id,
    timeline: pub.timeline.map((e) => ({ day: dayOf(e.at), kind: e.kind, ...(e.to ? { to: e.to } : {}) })),
    published: { day: dayOf(pub.clock.publishedAt), details: publicView.details !== null },
    obligations: obligations.map((o) => ({ id: o.id, title: o.title, deadlineDay: dayOf(o.deadline), state: o.state, overdue: o.overdue })),
    agencyMessages: inbox.items.map((m) => `${m.kind} ${m.subject}`).reverse(),
  };
}
