import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { attestRun, bundleText } from '../../attest/bundle.js';
import { assayHome } from '../../home.js';
import { auditRegistry } from '../../registry/audit.js';
import { RegistryClient } from '../../registry/client.js';
import { openStore } from '../../registry/db.js';
import { runScenario } from '../../registry/scenario.js';
import { runFollowUpScenario } from '../../registry/scenario-findings.js';
import { buildServer } from '../../server/app.js';
import { logSource } from '../../tlog/client.js';
import { initLog, openConfiguredLog } from '../../tlog/config.js';

/**
 * `assay demo --registry`: the regime on one laptop. A fresh registry (SQLite and its own
 * transparency log under $ASSAY_HOME/registry-demo) with two accreditors in two jurisdictions that
 * recognise each other, a developer, two testers and an agency; a model release in scope; an
 * engagement from proposal to the demo run's signed report, verified on upload and published.
 */
export async function registryDemo(runLogPath: string, opts: { serve?: boolean; port?: number } = {}): Promise<number> {
  const dir = join(assayHome(), 'registry-demo');
  rmSync(dir, { recursive: true, force: true });
  const store = await openStore(join(dir, 'registry.db'));
  await initLog(join(dir, 'log'), 'registry.demo/log', join(dir, 'log-key.pem'));
  const log = await openConfiguredLog(join(dir, 'log'));
  // A simulated clock: the follow-through part moves it over months (deadlines, pre-notification, publication).
  let clock = new Date();
  const server = await buildServer({ store, origin: 'registry.demo', sink: { append: async (e) => (await log.append(e)).indices }, secureCookies: false, now: () => clock, schedulerIntervalMs: 0 });
  await server.app.listen({ host: '127.0.0.1', port: opts.port ?? 0 });
  const url = `http://127.0.0.1:${(server.app.server.address() as { port: number }).port}`;
  const say = (s: string) => void process.stdout.write(s);
  try {
    const boot = await server.registry.bootstrap('operator@registry.demo');
    const header = JSON.parse(readFileSync(runLogPath, 'utf8').split('\n', 1)[0]!) as { suite: { definition: { riskArea: string } } };
    const w = await runScenario({
      baseUrl: url,
      operatorToken: boot!.token,
      riskAreas: [header.suite.definition.riskArea, 'cyber'],
      makeReport: async (t) => {
        const { bundle } = await attestRun(runLogPath, { signer: t.signer, testerName: t.name });
        return { bundle: bundleText(bundle), runLog: readFileSync(runLogPath) };
      },
    });
    const pub = new RegistryClient(url);
    const chain = await pub.get<{ recognised: boolean; chain: { kind: string; id: string; recogniser?: string; recognised?: string; accreditor?: string; tester?: string }[] }>('/api/v1/recognition', { tester: w.testerB.orgId, jurisdiction: 'GB', domain: 'cyber' });
    const names = new Map((await pub.all<{ id: string; name: string }>('/api/v1/orgs')).map((o) => [o.id, o.name]));
    const n = (id?: string) => names.get(id ?? '') ?? id;
    const fu = await runFollowUpScenario({ world: w, verdictRunLog: runLogPath, now: () => clock, advance: (days) => (clock = new Date(clock.getTime() + days * 86400e3)), tick: async () => void (await server.followUp.scheduler.tick()) });
    await server.drainer.idle();
    const audit = await auditRegistry(store, { src: logSource(join(dir, 'log')), vkey: log.vkey });
    say(
      `\nregistry (SQLite ${store.where}; transparency log ${join(dir, 'log')}) at ${url}\n` +
        `  accreditors: ${n(w.accreditorGB.orgId)} (GB) and ${n(w.accreditorFR.orgId)} (FR), mutual recognition for "cyber"\n` +
        `  model release ${w.modelId} of ${n(w.developer.orgId)}: in scope\n` +
        `  engagement ${w.engagementId}: proposed → accepted → active (grant recorded) → reporting → closed\n` +
        `  report ${w.reportId}: ${w.exitCode === 0 ? 'VERIFIED on upload (signature, accreditation graph, every number from the run log) and published' : `verification failed (exit ${w.exitCode})`}\n` +
        `  public URL: ${url}/api/v1/reports/${w.reportId}\n` +
        `  is ${n(w.testerB.orgId)} (FR) recognised in GB for "cyber"? ${chain.recognised ? 'yes, through:' : 'no'}\n` +
        chain.chain.map((l) => (l.kind === 'recognition' ? `    ${n(l.recogniser)} recognises ${n(l.recognised)} (${l.id})\n` : `    ${n(l.accreditor)} accredits ${n(l.tester)} (${l.id})\n`)).join('') +
        `  finding ${fu.findingId} (simulated clock, day 0 = filing): ${fu.timeline.map((e) => `day ${e.day} ${e.to ?? e.kind}`).join(' → ')}; published on schedule at day ${fu.published.day} (details public: ${fu.published.details ? 'yes' : 'no'})\n` +
        `  threshold-crossed signed verdict → obligations:\n` +
        fu.obligations.map((o) => `    ${o.id} "${o.title}" due day ${o.deadlineDay}: ${o.state}${o.overdue ? ', OVERDUE (escalated to the agency)' : ''}\n`).join('') +
        `  agency inbox: ${fu.agencyMessages.join('; ')}\n` +
        `  audit: ${audit.events} events, all in the transparency log: ${audit.ok ? 'OK' : `FAILED: ${audit.problems.join('; ')}`}\n`,
    );
    if (opts.serve) {
      say(`serving at ${url} until Ctrl-C (OpenAPI: ${url}/api/v1/openapi.json)\n`);
      await new Promise<void>((res) => process.once('SIGINT', () => res()));
    }
    return w.exitCode === 0 && audit.ok ? 0 : 1;
  } finally {
    await server.app.close();
    await server.drainer.idle();
    log.close();
    await store.close();
  }
}
