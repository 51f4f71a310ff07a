import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { AssayError } from '../../common/errors.js';
import type { RegistryClient } from '../../registry/client.js';
import type { RunSpecView } from '../../registry/run-dispatch.js';
import { loadSuite } from '../../suite/load.js';
import type { LoadedSuite } from '../../suite/types.js';
import { ASSAY_ROOT } from '../../version.js';
import { int } from '../options.js';

/**
 * `assay registry run …` (issue 26): the tester plans an engagement's runs in the registry; its
 * coordinator pulls them — claims one, runs it here or on BullMQ workers (`--queue`), keeps the
 * claim alive while it runs, and reports the run id and the log's digest (or why it failed). The
 * suite must be the one the spec pins: same id, version and digest, or the spec fails with both
 * digests named. The registry never sees the model's key.
 */
type Conn = { url?: string; token?: string };
interface Helpers {
  withConn: (c: Command) => Command;
  client: (o: Conn) => RegistryClient;
  json: (v: unknown) => void;
}

/** Suite files under the given folders (each folder itself, and one level of sub-folders). */
export function suiteFiles(dirs: string[]): string[] {
  const out: string[] = [];
  for (const d of dirs.map((x) => resolve(x))) {
    if (existsSync(join(d, 'suite.yaml'))) out.push(join(d, 'suite.yaml'));
    if (!existsSync(d)) continue;
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory() && existsSync(join(d, e.name, 'suite.yaml'))) out.push(join(d, e.name, 'suite.yaml'));
  }
  return out;
}

/** The local suite a spec pins, or the reason there is none (named for the registry's record). */
export async function findPinnedSuite(spec: Pick<RunSpecView, 'suite'>, dirs: string[]): Promise<{ suite: LoadedSuite } | { reason: string }> {
  const want = spec.suite;
  const near: string[] = [];
  for (const f of suiteFiles(dirs)) {
    let s: LoadedSuite;
    try {
      s = await loadSuite(f);
    } catch {
      continue; // an unreadable suite elsewhere in the folder is not this spec's concern
    }
    if (s.def.id !== want.id) continue;
    if (s.def.version === want.version && s.digest === want.digest) return { suite: s };
    near.push(`${f}: ${s.def.id}@${s.def.version} ${s.digest}`);
  }
  return { reason: near.length ? `no local suite matches ${want.id}@${want.version} ${want.digest}; found ${near.join('; ')}` : `no local suite ${want.id} in ${dirs.join(', ')}` };
}

const fileDigest = (path: string) =>
  new Promise<string>((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (c) => h.update(c)).on('error', rej).on('end', () => res(`sha256:${h.digest('hex')}`));
  });

interface PullFlags extends Conn {
  engagement?: string;
  suites?: string[];
  baseUrl?: string;
  apiKey?: string;
  maxConnections: number;
  outDir?: string;
  queue?: string;
  queuePrefix?: string;
  lease: number;
  all?: boolean;
  simulated?: boolean;
}

export function addDispatchCommands(reg: Command, h: Helpers): void {
  const { withConn, client, json } = h;
  const run = reg.command('run').description('Run dispatch: the tester plans an engagement\'s runs; its coordinator pulls, runs and reports them');
  withConn(run.command('add').description('As the tester: plan a run of a suite (pinned by its digest) against the engagement\'s model').argument('<engagement>'))
    .requiredOption('--suite <suite.yaml>', 'the suite file; its id, version and digest are what the spec pins')
    .requiredOption('-m, --model <name>', 'provider/model the coordinator will call')
    .option('--epochs <n>', 'epochs (default: the suite\'s)', int(1, 1000))
    .option('--seed <n>', 'seed', int(0), 0)
    .option('--limit <n>', 'only the first n samples (a partial run; policies may not count it)', int(1))
    .action(async (engagement: string, o: Conn & { suite: string; model: string; epochs?: number; seed: number; limit?: number }) => {
      const s = await loadSuite(o.suite);
      json(await client(o).post(`/api/v1/engagements/${encodeURIComponent(engagement)}/run-specs`, { suite: { id: s.def.id, version: s.def.version, digest: s.digest }, model: o.model, epochs: o.epochs ?? null, seed: o.seed, limit: o.limit ?? null }));
    });
  withConn(run.command('list').description('Run specs of your engagements'))
    .option('--state <state>', 'queued | claimed | completed | failed | cancelled')
    .option('--engagement <id>')
    .action(async (o: Conn & { state?: string; engagement?: string }) => json(await client(o).all('/api/v1/run-specs', { state: o.state, engagement: o.engagement })));
  withConn(run.command('show').argument('<spec>')).action(async (id: string, o: Conn) => json(await client(o).get(`/api/v1/run-specs/${encodeURIComponent(id)}`)));
  withConn(run.command('cancel').argument('<spec>')).option('--reason <text>').action(async (id: string, o: Conn & { reason?: string }) => json(await client(o).post(`/api/v1/run-specs/${encodeURIComponent(id)}/cancel`, o.reason ? { reason: o.reason } : {})));
  withConn(run.command('pull').description('As the tester\'s coordinator: claim a planned run, do it (here, or on BullMQ workers with --queue), report it'))
    .option('--engagement <id>', 'only this engagement\'s specs')
    .option('--suites <dir...>', 'folders holding suites (default: the shipped suites)')
    .option('--base-url <url>', 'API base URL of the model (default: the provider\'s)')
    .option('--api-key <key>', 'API key (default: the provider\'s environment variable); never sent to the registry')
    .option('-c, --max-connections <n>', 'maximum concurrent requests', int(1, 4096), 16)
    .option('-o, --out-dir <dir>', 'where run logs go (default: $ASSAY_HOME/runs)')
    .option('--queue <url>', 'distributed: put the units on the BullMQ queue at this Redis URL for `assay worker`s')
    .option('--queue-prefix <prefix>', 'Redis key prefix of the queue', 'assay')
    .option('--lease <s>', 'claim lease in seconds, renewed while the run goes on', int(30, 86_400), 900)
    .option('--all', 'keep pulling until no spec is left')
    .option('--simulated', 'the endpoint is the simulated target (recorded in the run log)')
    .action(async (o: PullFlags) => {
      const c = client(o);
      const { interruptSignal } = await import('./run.js');
      const signal = interruptSignal();
      const done: unknown[] = [];
      for (;;) {
        const { spec } = await c.post<{ spec: (RunSpecView & { claimId: string }) | null }>('/api/v1/run-specs/claim', { ...(o.engagement ? { engagement: o.engagement } : {}), leaseSeconds: o.lease });
        if (!spec) break;
        done.push(await doSpec(c, spec, o, signal));
        if (!o.all || signal.aborted) break;
      }
      json({ pulled: done.length, specs: done });
      if (done.some((d) => (d as { state?: string }).state !== 'completed')) process.exitCode = 3;
    });
}

async function doSpec(c: RegistryClient, spec: RunSpecView & { claimId: string }, o: PullFlags, signal: AbortSignal): Promise<unknown> {
  const base = `/api/v1/run-specs/${encodeURIComponent(spec.id)}`;
  const fail = (reason: string) => c.post(`${base}/fail`, { claimId: spec.claimId, reason: reason.slice(0, 2000) });
  const found = await findPinnedSuite(spec, o.suites?.length ? o.suites : [join(ASSAY_ROOT, 'suites')]);
  if ('reason' in found) return fail(found.reason);
  // The lease is renewed at a third of its length; a renewal refused (claim taken over) stops nothing
  // here, and the final report then fails with the registry's reason.
  const beat = setInterval(() => void c.post(`${base}/heartbeat`, { claimId: spec.claimId, leaseSeconds: o.lease }).catch(() => {}), Math.max(10, o.lease / 3) * 1000);
  beat.unref();
  try {
    const { executeRun, indexRun } = await import('./run.js');
    const { summarise } = await import('../results.js');
    const out = o.outDir ? join(resolve(o.outDir), `${spec.id}.jsonl`) : undefined;
    const res = await executeRun(found.suite.file, {
      model: spec.model, ...(o.baseUrl ? { baseUrl: o.baseUrl } : {}), ...(o.apiKey ? { apiKey: o.apiKey } : {}), maxConnections: o.maxConnections,
      ...(spec.config.epochs ? { epochs: spec.config.epochs } : {}), ...(spec.config.limit ? { limit: spec.config.limit } : {}), seed: spec.config.seed,
      timeout: 120, maxRetries: 6, retryBaseMs: 1000, progress: false, json: true, ...(out ? { out } : {}), ...(o.simulated ? { simulated: true } : {}),
      ...(o.queue ? { queue: o.queue, queuePrefix: o.queuePrefix ?? 'assay', queueTimeout: 30 } : {}),
    }, signal);
    await indexRun({ ...res, status: res.reason ? `interrupted (${res.reason})` : res.status }, await summarise(res.logPath));
    if (res.status !== 'completed') return fail(`run ${res.runId} ${res.reason ?? res.status}; resume it with assay run --resume ${res.runId} and report by hand, or let the spec be claimed again`);
    return c.post(`${base}/complete`, { claimId: spec.claimId, result: { runId: res.runId, logDigest: await fileDigest(res.logPath), status: res.status, samples: res.totalSamples, errored: res.errored, reportId: null } });
  } catch (e) {
    const msg = e instanceof AssayError ? `${e.code}: ${e.message}` : (e as Error).message;
    return fail(`the run could not be done: ${msg}`);
  } finally {
    clearInterval(beat);
  }
}
