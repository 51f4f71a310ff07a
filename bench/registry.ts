/**
 * Registry benchmark (issue 23): verified report uploads per second on SQLite, and p50/p99 of
 * paginated list endpoints with 100,000 reports and 1,000,000 events, on SQLite and PostgreSQL.
 * Writes its section of docs/benchmarks.md.
 *
 *   node dist-bench/bench/registry.js            full run (PostgreSQL at $ASSAY_TEST_PG_URL or local)
 *   node dist-bench/bench/registry.js --quick    10,000 reports / 100,000 events, prints only
 */
import { randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { attestRun, bundleText } from '../src/attest/bundle.js';
import { createModel } from '../src/model/registry.js';
import { newRunId, runSuite } from '../src/run/engine.js';
import { loadSuite } from '../src/suite/load.js';
import { startTarget } from '../src/target/server.js';
import { RegistryClient } from '../src/registry/client.js';
import { openStore, type RegistryStore } from '../src/registry/db.js';
import { runScenario, type World } from '../src/registry/scenario.js';
import { buildServer } from '../src/server/app.js';
import { ROOT, writeBenchSection } from './harness.js';

const quick = process.argv.includes('--quick');
// --uploads-only: the verified-upload rate on SQLite alone (no seeding), printed, not written.
const uploadsOnly = process.argv.includes('--uploads-only');
const argN = (flag: string) => {
  const i = process.argv.indexOf(flag);
  return i > 0 ? Number(process.argv[i + 1]) : null;
};
const REPORTS = argN('--reports') ?? (quick ? 10_000 : 100_000);
const EVENTS = argN('--events') ?? (quick ? 100_000 : 1_000_000);
const UPLOADS = argN('--uploads') ?? (quick ? 60 : 300);
const PG_ADMIN = process.env.ASSAY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';


const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** A small real run log (the demo suite, 20 samples, simulated target): what every uploaded report covers. */
async function demoRunLog(): Promise<string> {
  const target = await startTarget({ latencyMs: 0, accuracy: 0.8, seed: 1 });
  try {
    const suite = await loadSuite(join(ROOT, 'suites/demo-arithmetic/suite.yaml'));
    const dir = mkdtempSync(join(tmpdir(), 'assay-bench-reg-'));
    const logPath = join(dir, 'run.jsonl');
    await runSuite({
      suite, model: createModel('openai/sim', { baseUrl: `${target.url}/v1`, maxConnections: 8 }), runId: newRunId(), logPath, simulated: true,
      config: { epochs: 1, seed: 0, limit: 20, sampleIds: null, maxConnections: 8, maxTokens: 5, temperature: 0, timeoutMs: 10_000, maxRetries: 2, retryBaseMs: 10, retryMaxDelayMs: 100, access: 'grey-box', budget: { maxTokensTotal: null, maxCost: null, pricePerMTok: null } },
    });
    return logPath;
  } finally {
    await target.close();
  }
}

async function pgStore(): Promise<{ store: RegistryStore; drop: () => Promise<void> } | null> {
  const { default: pg } = await import('pg');
  const name = `assay_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  try {
    await admin.connect();
    await admin.query(`create database ${name}`);
  } catch (err) {
    process.stderr.write(`PostgreSQL not available (${(err as Error).message}); SQLite only\n`);
    return null;
  } finally {
    await admin.end().catch(() => {});
  }
  const u = new URL(PG_ADMIN);
  u.pathname = `/${name}`;
  const store = await openStore(u.toString());
  return {
    store,
    async drop() {
      await store.close();
      const a = new pg.Client({ connectionString: PG_ADMIN });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

/** Bulk rows straight into the tables (the bench measures reads, not how fast we can seed). */
async function seed(store: RegistryStore, w: World, engagementId: string): Promise<void> {
  const db = store.db;
  const now = Date.now();
  const rows = (n: number, at: number) =>
    Array.from({ length: n }, (_, i) => {
      const k = at + i;
      return {
        id: `rep_bench${String(k).padStart(9, '0')}`, engagement_id: engagementId, tester_id: w.testerA.orgId,
        payload_digest: `sha256:${createHash('sha256').update(`r${k}`).digest('hex')}`, bundle: '{}', run_log_digest: null,
        verification: '{"ok":true,"exitCode":0,"failures":[]}', verified: 1, published_at: new Date(now - k * 1000).toISOString(), created_at: new Date(now - k * 1000).toISOString(),
      };
    });
  for (let at = 0; at < REPORTS; at += 1000) await db.insertInto('reports').values(rows(Math.min(1000, REPORTS - at), at)).execute();
  const last = await db.selectFrom('events').select(['digest']).orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
  let prev = last.digest;
  for (let at = 0; at < EVENTS; at += 2000) {
    const batch = Array.from({ length: Math.min(2000, EVENTS - at) }, (_, i) => {
      const digest = `sha256:${createHash('sha256').update(`e${at + i}`).digest('hex')}`;
      const r = { id: `ev_bench${at + i}`, at: new Date(now).toISOString(), actor_user: null, actor_org: null, kind: 'bench.event', subject: `bench/${at + i}`, data: '{}', prev_digest: prev, digest, tlog_index: at + i + 1000 };
      prev = digest;
      return r;
    });
    await db.insertInto('events').values(batch).execute();
  }
  if (store.dialect === 'postgres') await sql`analyze`.execute(db);
  else await sql`analyze`.execute(db);
}

async function timeList(c: RegistryClient, path: string, n: number, deep: boolean): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const page = await c.get<{ next: string | null }>(path, { limit: 50, cursor });
    times.push(performance.now() - t0);
    // Deep: walk forward page after page (keyset cursors must not slow down with depth).
    cursor = deep ? (page.next ?? undefined) : undefined;
  }
  return { p50: pct(times, 50), p99: pct(times, 99) };
}

interface Row {
  db: string;
  uploadsPerSec: number | null;
  cpuMsPerUpload: number | null;
  reports: { p50: number; p99: number };
  reportsDeep: { p50: number; p99: number };
  events: { p50: number; p99: number };
  eventsDeep: { p50: number; p99: number };
  models: { p50: number; p99: number };
}

async function benchOne(label: string, store: RegistryStore, runLog: string): Promise<Row> {
  const server = await buildServer({ store, origin: 'bench', sink: { append: async (e) => e.map((_, i) => i) }, secureCookies: false, loginPerMinute: 10_000 });
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(server.app.server.address() as { port: number }).port}`;
  try {
    const boot = await server.registry.bootstrap('op@bench');
    const header = JSON.parse(readFileSync(runLog, 'utf8').split('\n', 1)[0]!) as { suite: { definition: { riskArea: string } } };
    const w = await runScenario({ baseUrl: url, operatorToken: boot!.token, riskAreas: [header.suite.definition.riskArea], partiesOnly: true, makeReport: async () => ({ bundle: '', runLog: Buffer.alloc(0) }) });
    const eng = await w.developer.client.post<{ id: string }>('/api/v1/engagements', { developerId: w.developer.orgId, testerId: w.testerA.orgId, modelId: w.modelId, suites: ['demo.arithmetic'], accessLevel: 'black-box', windowStart: new Date().toISOString(), windowEnd: new Date(Date.now() + 86400e3).toISOString() });
    await w.testerA.client.post(`/api/v1/engagements/${eng.id}/accept`, {});
    await w.developer.client.post(`/api/v1/engagements/${eng.id}/grant`, { grantDigest: `sha256:${'b'.repeat(64)}`, grantLevel: 'black-box' });
    let uploadsPerSec: number | null = null;
    let cpuMsPerUpload: number | null = null;
    if (store.dialect === 'sqlite') {
      // Distinct reports over one run log; each upload is verified in full (signature, trust, every number recomputed).
      const bundles: string[] = [];
      for (let i = 0; i < UPLOADS; i++) bundles.push(bundleText((await attestRun(runLog, { signer: w.testerA.signer, testerName: w.testerA.name, now: new Date(Date.now() - i * 1000) })).bundle));
      const log64 = readFileSync(runLog).toString('base64');
      let next = 0;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (next < bundles.length) {
          const b = bundles[next++]!;
          const r = await w.testerA.client.post<{ verified: boolean }>(`/api/v1/engagements/${eng.id}/reports`, { bundle: JSON.parse(b), runLog: log64 });
          if (!r.verified) throw new Error('a bench upload did not verify');
        }
      }));
      uploadsPerSec = UPLOADS / ((performance.now() - t0) / 1000);
      const cpu = process.cpuUsage(cpu0);
      // CPU time of this process (server, worker threads and the uploading client together) per upload:
      // what the rate would be on idle cores, independent of other load on the machine.
      cpuMsPerUpload = (cpu.user + cpu.system) / 1000 / UPLOADS;
      process.stderr.write(`${label}: ${UPLOADS} verified uploads at ${uploadsPerSec.toFixed(1)}/s, ${cpuMsPerUpload.toFixed(1)} ms CPU each; load average ${loadavg()[0]!.toFixed(1)}\n`);
      if (uploadsOnly) {
        process.stdout.write(`SQLite: ${UPLOADS} verified uploads (8 concurrent) at ${uploadsPerSec.toFixed(1)}/s, ${cpuMsPerUpload.toFixed(1)} ms CPU each (server + client); load average ${loadavg()[0]!.toFixed(1)}\n`);
        process.exit(0);
      }
    }
    process.stderr.write(`${label}: seeding ${REPORTS} reports and ${EVENTS} events…\n`);
    await seed(store, w, eng.id);
    const pub = new RegistryClient(url);
    // Warm-up. Seeding blocked the event loop for minutes, so keep-alive sockets from before it may be
    // dead; the first requests may fail once and are retried (they are not timed).
    for (let i = 0; i < 20; i++) await pub.get('/api/v1/reports', { limit: 50 }).catch(() => pub.get('/api/v1/reports', { limit: 50 }));
    const row: Row = {
      db: label,
      uploadsPerSec,
      cpuMsPerUpload,
      reports: await timeList(pub, '/api/v1/reports', 200, false),
      reportsDeep: await timeList(pub, '/api/v1/reports', 200, true),
      events: await timeList(pub, '/api/v1/events', 200, false),
      eventsDeep: await timeList(pub, '/api/v1/events', 200, true),
      models: await timeList(pub, '/api/v1/models', 200, false),
    };
    process.stderr.write(`${label}: ${JSON.stringify(row)}\n`);
    return row;
  } finally {
    await server.app.close();
  }
}

const runLog = await demoRunLog();
const rows: Row[] = [];
const sqlitePath = join(mkdtempSync(join(tmpdir(), 'assay-bench-reg-')), 'registry.db');
const sqliteStore = await openStore(sqlitePath);
rows.push(await benchOne('SQLite', sqliteStore, runLog));
await sqliteStore.close();
const pg = await pgStore();
if (pg) {
  rows.push(await benchOne('PostgreSQL', pg.store, runLog));
  await pg.drop();
}

const f = (x: { p50: number; p99: number }) => `${x.p50.toFixed(2)} / ${x.p99.toFixed(2)}`;
const md = `<!-- bench:registry:start -->
## Registry (\`assay server\`)
Command: \`npx tsc -p tsconfig.bench.json && node dist-bench/bench/registry.js\`${quick ? ' --quick' : ''}. ${REPORTS.toLocaleString('en')} published reports and ${EVENTS.toLocaleString('en')} events seeded
into each database; list latencies are p50 / p99 in ms over 200 requests of 50 items each through HTTP on loopback ("deep": walking the
cursor forward page after page). Uploads: ${UPLOADS} distinct signed reports with their run log (20 samples), 8 at a time, each verified in full on
arrival (signature, trust from the accreditation graph, every number recomputed from the run log). ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at the end.
Targets: list p50 ≤ 20 ms at this size; ≥ 100 verified uploads/s on SQLite. The machine is shared with other sessions (see the
load average): the wall-clock rate is bounded by this process's share of the CPU; "CPU ms per upload" (server, verification
threads and the uploading client together) is the figure that carries to an idle machine. \`--uploads-only [--uploads N]\` measures uploads alone.

| database | verified uploads/s | CPU ms per upload | reports | reports (deep) | events | events (deep) | models |
|---|---|---|---|---|---|---|---|
${rows.map((r) => `| ${r.db} | ${r.uploadsPerSec === null ? '—' : r.uploadsPerSec.toFixed(0)} | ${r.cpuMsPerUpload === null ? '—' : r.cpuMsPerUpload.toFixed(1)} | ${f(r.reports)} | ${f(r.reportsDeep)} | ${f(r.events)} | ${f(r.eventsDeep)} | ${f(r.models)} |`).join('\n')}
<!-- bench:registry:end -->`;
process.stdout.write(`${md}\n`);
if (!quick) writeBenchSection('registry', md);
process.exit(0);
