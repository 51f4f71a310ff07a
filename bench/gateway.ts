/**
 * Gateway benchmark: the latency the access gateway adds, at a steady request rate, against the
 * SIMULATED target (no added latency, so the difference is the gateway's own work: credential
 * check, rate and budget, strict parse, allow-list, proxying, commitments and the access-log
 * write). Direct = the same requests straight to the target. The target, the gateway and this
 * client are three processes; phases alternate direct / gateway so both see the same machine.
 * Writes its section of docs/benchmarks.md.
 *
 *   node dist-bench/bench/gateway.js           full run, writes docs/benchmarks.md
 *   node dist-bench/bench/gateway.js --quick   short run, prints only
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Agent, request } from 'undici';
import { GatewayStore } from '../src/gateway/store.js';
import { ROOT, writeBenchSection } from './harness.js';

const quick = process.argv.includes('--quick');
const loadAtStart = loadavg()[0]!;
const HERE = import.meta.dirname;
const js = (p: string) => (HERE.includes('dist-bench') ? join(HERE, p.replace(/\.ts$/, '.js')) : join(HERE, p));
const rateArg = process.argv.indexOf('--rate');
const RATE = rateArg > 0 ? Number(process.argv[rateArg + 1]) : 200; // requests per second, open loop
const PHASE_S = quick ? 2 : 6;
const ROUNDS = quick ? 1 : 2;

async function firstLine(child: ChildProcess, re: RegExp): Promise<RegExpExecArray> {
  const rl = createInterface({ input: child.stdout! });
  for await (const line of rl) {
    const m = re.exec(line);
    if (m) return m;
  }
  throw new Error('child did not start');
}

const children: ChildProcess[] = [];
const node = (args: string[]) => {
  const c = spawn(process.execPath, HERE.includes('dist-bench') ? args : ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  return c;
};

const target = node([HERE.includes('dist-bench') ? join(HERE, '../src/cli/main.js') : join(ROOT, 'src/cli/main.ts'), 'target', 'serve', '--port', '0', '--latency', '0', '--accuracy', '0.8']);
const targetUrl = (await firstLine(target, /(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
const gwChild = node([js('gateway-child.ts'), targetUrl]);
const { url: gwUrl, key } = JSON.parse((await firstLine(gwChild, /^\{.*\}$/))[0]) as { url: string; key: string };
// The same gateway with its store on tmpfs, where fsync returns at once: the difference to the
// disk-backed gateway is what durability costs a request; this one is the gateway's own work.
const shm = existsSync('/dev/shm') ? '/dev/shm' : null;
const shmChild = shm ? node([js('gateway-child.ts'), targetUrl, shm]) : null;
const shmGw = shmChild ? (JSON.parse((await firstLine(shmChild, /^\{.*\}$/))[0]) as { url: string; key: string }) : null;

const agent = new Agent({ connections: 32, pipelining: 1, keepAliveTimeout: 60_000 });
const body = (i: number) => JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: `Answer with the letter only.\nWhat is ${i % 97} + ${(i * 7) % 89}?\nA) ${i % 97}\nB) ${(i % 97) + ((i * 7) % 89)}\nC) 3\nD) 4` }], max_tokens: 4, logprobs: true, top_logprobs: 5 });

/** Sends `RATE` requests a second for `seconds`, open loop; returns per-request latencies (ms). */
async function phase(base: string, auth: string | null, seconds: number, offset: number): Promise<{ lat: number[]; errors: number }> {
  const n = RATE * seconds;
  const lat: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const start = performance.now();
    pending.push(
      request(`${base}/v1/chat/completions`, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) }, body: body(offset + i) })
        .then(async (r) => {
          await r.body.text();
          if (r.statusCode !== 200) errors++;
          lat.push(performance.now() - start);
        })
        .catch(() => void errors++),
    );
  }
  await Promise.all(pending);
  return { lat, errors };
}

/** CPU time (user + system, ms) a child has used, from /proc (Linux); null elsewhere. */
function cpuMs(c: ChildProcess): number | null {
  try {
    const f = readFileSync(`/proc/${c.pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return null;
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

// Warm both paths (connections, JIT) before measuring.
await phase(targetUrl, null, 1, 0);
await phase(gwUrl, key, 1, 0);
if (shmGw) await phase(shmGw.url, shmGw.key, 1, 0);
const direct: number[] = [];
const via: number[] = [];
const viaShm: number[] = [];
let errors = 0;
let gwCpu = 0;
let targetCpu = 0;
for (let r = 0; r < ROUNDS; r++) {
  const t0 = cpuMs(target);
  const d = await phase(targetUrl, null, PHASE_S, 10_000 * (r + 1));
  const t1 = cpuMs(target);
  targetCpu += t0 !== null && t1 !== null ? t1 - t0 : NaN;
  const c0 = cpuMs(gwChild);
  const g = await phase(gwUrl, key, PHASE_S, 10_000 * (r + 1));
  const c1 = cpuMs(gwChild);
  gwCpu += c0 !== null && c1 !== null ? c1 - c0 : NaN;
  direct.push(...d.lat);
  via.push(...g.lat);
  errors += d.errors + g.errors;
  if (shmGw) {
    const s = await phase(shmGw.url, shmGw.key, PHASE_S, 10_000 * (r + 1));
    viaShm.push(...s.lat);
    errors += s.errors;
  }
}
const loadAtEnd = loadavg()[0]!;
await agent.close();
for (const c of children) c.kill('SIGTERM');

const rows = [50, 90, 99].map((p) => ({ p, direct: pct(direct, p), via: pct(via, p), shm: viaShm.length ? pct(viaShm, p) : NaN }));

// What durability costs: one-record commits (a lone request's wait) with the WAL fsynced on every
// commit (FULL, what the gateway uses) and without (NORMAL: fsync only at WAL checkpoints).
async function commitMs(sync: 'FULL' | 'NORMAL'): Promise<number[]> {
  const s = await GatewayStore.open(join(mkdtempSync(join(tmpdir(), 'assay-gw-fsync-')), 'g.db'), { synchronous: sync });
  const ms: number[] = [];
  for (let i = 0; i < (quick ? 50 : 200); i++) {
    const t = performance.now();
    s.commit([{ seq: i, hash: `h${i}`, text: `{"seq":${i}}` }], new Map());
    ms.push(performance.now() - t);
  }
  await s.close();
  return ms;
}
const full = await commitMs('FULL');
const normal = await commitMs('NORMAL');
let commit = 'uncommitted';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
} catch {
  // not a checkout
}
const cpu = cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
const f2 = (x: number) => x.toFixed(2);
const added50 = rows[0]!.via - rows[0]!.direct;
const ownWork50 = rows[0]!.shm - rows[0]!.direct;
const cpuUs = Number.isFinite(gwCpu) ? (gwCpu / via.length) * 1000 : NaN;
// Where the figures stand against the target (≤ 2 ms added at p50, 200 req/s), and why.
const verdict = [
  `- Through the gateway as shipped (store on disk, fsync per group commit): **${f2(added50)} ms** added at p50 — target ${added50 <= 2 ? '**met**' : '**not met**'} on this run.`,
  Number.isFinite(ownWork50) ? `- The gateway's own work (the same gateway with its store on tmpfs, where fsync returns at once — a diagnostic, not a supported deployment): **${f2(ownWork50)} ms** added at p50 — ${ownWork50 <= 2 ? 'within' : 'over'} the 2 ms target.` : '- (no /dev/shm: the gateway-own-work row was not measured)',
  `- CPU the gateway spends per request: ${Number.isFinite(cpuUs) ? `${cpuUs.toFixed(0)} µs` : 'n/a'} — on an idle core, the floor of its added latency before the fsync; the one-record fsync below is the rest. ${pct(full, 50) > 2 ? `The fsync alone (p50 ${f2(pct(full, 50))} ms on this disk) exceeds 2 ms, so the p50 target cannot be met here with durable records; the issue's rule applies: durability wins.` : ''}`,
  Number.isFinite(cpuUs) ? `- Estimate for an idle machine (not a measurement): the gateway's CPU per request plus the one-record fsync p50 = ${f2(cpuUs / 1000 + pct(full, 50))} ms — ${cpuUs / 1000 + pct(full, 50) <= 2 ? 'within' : 'over'} the 2 ms target. The loaded figures above are dominated by waiting for a core, not by the gateway's work.` : '',
  `- Load average ${loadAtStart.toFixed(1)} at the start, ${loadAtEnd.toFixed(1)} at the end, on ${cpus().length} cores shared with other sessions: any figure above 1 per core means requests queue for a CPU at each of the gateway's two extra hops, which inflates the "through gateway" columns far more than the direct one.`,
].join('\n');
const md = `<!-- bench:gateway:start -->
## Access gateway: added latency (simulated upstream, no upstream latency)

Command: \`npm run bench\` (gateway part: \`node dist-bench/bench/gateway.js\`) · commit ${commit} · ${new Date().toISOString().slice(0, 10)} · Node ${process.version} · ${cpus().length} × ${cpu} · ${Math.round(totalmem() / 2 ** 30)} GiB · load average ${loadAtStart.toFixed(1)} at the start (other work on the machine inflates every figure below)

Open-loop load at **${RATE} requests/s**, ${ROUNDS} × ${PHASE_S} s per side, alternating direct / through the gateway / through the tmpfs gateway (${direct.length} + ${via.length} + ${viaShm.length} requests, ${errors} errors). Requests: OpenAI chat completions with logprobs (grey-box grant), distinct prompts. Direct = straight to the simulated target; gateway = the same requests with a grant's access key through \`startGateway\` (credential, rate, budget, strict parse, allow-list, proxy, commitments, hash-chained SQLite log). Target, gateway and client are separate processes on the same machine.

| percentile | direct ms | through gateway ms | added ms | gateway, store on tmpfs (no fsync) ms | added ms |
|---|---|---|---|---|---|
${rows.map((r) => `| p${r.p} | ${f2(r.direct)} | ${f2(r.via)} | **${f2(r.via - r.direct)}** | ${f2(r.shm)} | ${f2(r.shm - r.direct)} |`).join('\n')}

CPU time per request (user + system, from /proc): gateway process **${Number.isFinite(gwCpu) ? ((gwCpu / via.length) * 1000).toFixed(0) : 'n/a'} µs**; for scale, the simulated target's own per request in the direct phases ${Number.isFinite(targetCpu) ? ((targetCpu / direct.length) * 1000).toFixed(0) : 'n/a'} µs (an HTTP server doing almost nothing). On a busy machine latency also includes waiting for a core at each of the gateway's two extra process hops.

Durability (issue 17): an answer is released only after its record's transaction has committed with the WAL fsynced (SQLite \`synchronous=FULL\`, group commit: records that complete while a commit runs share the next). What the fsync costs, one-record commits on this machine's disk (${quick ? 50 : 200} each): FULL p50 **${f2(pct(full, 50))} ms** / p90 ${f2(pct(full, 90))} ms; without the fsync (NORMAL) p50 ${f2(pct(normal, 50))} ms / p90 ${f2(pct(normal, 90))} ms. Where the p50 target and durability conflict, durability wins.

Target (issues 10 and 17): ≤ 2 ms added at p50 at 200 requests/s.
${verdict}

Reproduce: \`npx tsc -p tsconfig.bench.json && node dist-bench/bench/gateway.js\` (\`--quick\` prints a short run without writing this file; \`--rate N\` changes the request rate). Run it on an otherwise idle machine for figures that speak to the target.
<!-- bench:gateway:end -->`;

process.stdout.write(`${md}\n`);
if (!quick) writeBenchSection('gateway', md);
process.exit(0);
