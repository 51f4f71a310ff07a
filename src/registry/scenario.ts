import { exportPublicJwk, generateSigner, type Signer } from '../attest/keys.js';
import { issueAccreditation } from '../attest/trust.js';
import { signRelease } from '../gateway/release.js';
import { RegistryClient } from './client.js';
import { RECOGNITION_PREDICATE, signStatement } from './statements.js';

/**
 * The registry walk-through shared by `assay demo --registry` and the tests: two accreditors in
 * two jurisdictions with a mutual-recognition agreement, a developer, two testers and an agency;
 * a model release in scope; an engagement from proposal to a verified, published report. Every
 * step goes through the HTTP API as the party it belongs to; keys are made here, client-side.
 */
export interface Party {
  orgId: string;
  name: string;
  email: string;
  password: string;
  client: RegistryClient;
  signer: Signer;
}

export interface World {
  operator: RegistryClient;
  accreditorGB: Party;
  accreditorFR: Party;
  developer: Party;
  testerA: Party;
  testerB: Party;
  agency: Party;
  modelId: string;
  engagementId: string;
  reportId: string;
  /** Published report's verification exit code. */
  exitCode: number;
}

const pub = (s: Signer) => {
  const { kid: _k, ...jwk } = exportPublicJwk(s.publicKey);
  return jwk;
};

export interface ScenarioOptions {
  baseUrl: string;
  operatorToken: string;
  now?: Date;
  /** Produces a signed report bundle (JSON text) and its run log, as the tester would with `assay attest`. */
  makeReport: (tester: { signer: Signer; name: string }) => Promise<{ bundle: string; runLog: Buffer }>;
  /** Risk areas tester A is accredited for in GB (default cyber and bio); FR's tester gets cyber. */
  riskAreas?: string[];
  /** Stop after setting up the parties (for tests that drive the rest themselves). */
  partiesOnly?: boolean;
}

export async function runScenario(o: ScenarioOptions): Promise<World> {
  const now = o.now ?? new Date();
  const operator = new RegistryClient(o.baseUrl, o.operatorToken);
  const year = new Date(now.getTime() + 365 * 86400e3);
  let n = 0;
  const party = async (kind: string, name: string, jurisdiction: string, subKind?: string): Promise<Party> => {
    const org = await operator.post<{ id: string }>('/api/v1/orgs', { kind, name, jurisdiction, ...(subKind ? { subKind } : {}) });
    const email = `admin${++n}@${kind}.example`;
    const password = `correct horse battery ${n} staple`;
    await operator.post(`/api/v1/orgs/${org.id}/members`, { email, name: `${name} admin`, role: 'admin', password });
    const client = new RegistryClient(o.baseUrl);
    client.token = (await client.post<{ token: string }>('/api/v1/login', { email, password })).token;
    const signer = generateSigner();
    await client.post(`/api/v1/orgs/${org.id}/keys`, { publicKey: pub(signer) });
    return { orgId: org.id, name, email, password, client, signer };
  };

  const accreditorGB = await party('accreditor', 'Accreditation Body GB (demo)', 'GB');
  const accreditorFR = await party('accreditor', 'Organisme d’accréditation FR (demo)', 'FR');
  const developer = await party('developer', 'Frontier Labs (demo)', 'US');
  const testerA = await party('tester', 'Acme Assurance (demo)', 'GB', 'company');
  const testerB = await party('tester', 'Université de Test (demo)', 'FR', 'university');
  const agency = await party('agency', 'AI Safety Agency (demo)', 'GB');

  // Accreditation: each accreditor accredits the tester of its own country, signed client-side.
  const accredit = async (body: Party, tester: Party, riskAreas: string[]) =>
    body.client.post('/api/v1/accreditations', {
      accreditorId: body.orgId,
      testerId: tester.orgId,
      statement: issueAccreditation({ body: body.signer, bodyName: body.name, tester: { name: tester.name, publicKey: tester.signer.publicKey }, scopes: { riskAreas }, notBefore: now, notAfter: year, now }),
    });
  await accredit(accreditorGB, testerA, o.riskAreas ?? ['cyber', 'bio']);
  await accredit(accreditorFR, testerB, ['cyber']);
  // Mutual recognition for cyber: one signed statement each way.
  const recognise = async (a: Party, b: Party, riskAreas: string[]) =>
    a.client.post('/api/v1/recognitions', {
      recogniserId: a.orgId,
      recognisedId: b.orgId,
      statement: signStatement(a.signer, 'assay/accreditor', b.signer.keyId.slice(7), RECOGNITION_PREDICATE, { recogniser: a.orgId, recognised: b.orgId, riskAreas, issuedAt: now.toISOString() }),
    });
  await recognise(accreditorGB, accreditorFR, ['cyber']);
  await recognise(accreditorFR, accreditorGB, ['cyber']);

  // A model release in scope of a policy.
  const release = signRelease(developer.signer, { model: 'frontier-1', version: '2026-12', versionId: 'frontier-1-2026-12-04', developer: developer.name, now });
  const model = await developer.client.post<{ id: string }>('/api/v1/models', {
    developerId: developer.orgId,
    release: release.text,
    facts: { schema: 'assay.model-facts/v1', model: 'frontier-1', training_compute_flop: 3e26 },
    scopeDecision: { inScope: true, policyDigest: `sha256:${'a'.repeat(64)}`, reason: 'training compute above 1e26 FLOP' },
  });
  const world = { operator, accreditorGB, accreditorFR, developer, testerA, testerB, agency, modelId: model.id, engagementId: '', reportId: '', exitCode: -1 };
  if (o.partiesOnly) return world;

  // An engagement: proposed by the developer, accepted by the tester, granted by the developer's gateway.
  const eng = await developer.client.post<{ id: string }>('/api/v1/engagements', {
    developerId: developer.orgId,
    testerId: testerA.orgId,
    modelId: model.id,
    suites: ['fixture.qa@1.2.0'],
    accessLevel: 'black-box',
    windowStart: now.toISOString(),
    windowEnd: new Date(now.getTime() + 30 * 86400e3).toISOString(),
  });
  await testerA.client.post(`/api/v1/engagements/${eng.id}/accept`, {});
  await developer.client.post(`/api/v1/engagements/${eng.id}/grant`, { grantDigest: `sha256:${'b'.repeat(64)}`, grantLevel: 'black-box' });
  const { bundle, runLog } = await o.makeReport({ signer: testerA.signer, name: testerA.name });
  const rep = await testerA.client.post<{ id: string; exitCode: number; verified: boolean }>(`/api/v1/engagements/${eng.id}/reports`, { bundle: JSON.parse(bundle), runLog: runLog.toString('base64') });
  if (rep.verified) await testerA.client.post(`/api/v1/reports/${rep.id}/publish`, {});
  await testerA.client.post(`/api/v1/engagements/${eng.id}/close`, {});
  return { ...world, engagementId: eng.id, reportId: rep.id, exitCode: rep.exitCode };
}
