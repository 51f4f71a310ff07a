/**
 * Whole-process benchmark: `assay run` as a user runs it (node start-up, suite load, pre-flight,
 * the run, the log, statistics, exit), side by side with the bare client (bench/bare.ts) run the
 * same way, against the simulated target at 50 ms latency. Wall time is spawn to exit; peak RSS is
 * from /usr/bin/time; start-up is spawn to the first request the target sees (through a
 * pass-through proxy used only for that measurement). Needs `npm run build` (the bundled CLI).
 *   node dist-bench/bench/whole.js [--quick] [--n 2000,10000,100000] [--reps 3]
 */
import { spawn } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import { mkdtempSync, existsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, arithmeticSuite, median, startSimulatedTarget } from './harness.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(HERE, '../src/cli/main.js');
// `assay run` as a user runs it: bin/assay.js, which loads the bundle `npm run build` makes.
const ASSAY = join(ROOT, 'bin/assay.js');
if (!existsSync(join(ROOT, 'dist-cli/main.js'))) throw new Error('dist-cli/ missing: run npm run build');
const quick = process.argv.includes('--quick');
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const NS = (arg('--n') ?? (quick ? '500' : '2000,10000')).split(',').map(Number);
const C = 64;
const REPS = Number(arg('--reps') ?? (quick ? 1 : 3));


/** Runs `node args…` under /usr/bin/time; wall ms (spawn → exit) and peak RSS MB. */
function timed(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ wallMs: number; rssMB: number; code: number | null }> {
  return new Promise((res) => {
    const t0 = performance.now();
    const p = spawn('/usr/bin/time', ['-f', 'MAXRSS %M', process.execPath, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    p.on('exit', (code) => {
      const wallMs = performance.now() - t0;
      const m = /MAXRSS (\d+)/.exec(err);
      if (code !== 0) process.stderr.write(err);
      res({ wallMs, rssMB: m ? Number(m[1]) / 1024 : NaN, code });
    });
  });
}

/** Spawn → first request seen, through a pass-through proxy in front of the target. */
async function startupMs(args: (url: string) => string[], upstream: string, env: NodeJS.ProcessEnv): Promise<number> {
  const u = new URL(upstream);
  let first = 0;
  const proxy = createServer((req, res) => {
    first ||= performance.now();
    const up = httpRequest({ host: u.hostname, port: u.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  const t0 = performance.now();
  await timed(args(url), env);
  proxy.close();
  return first - t0;
}

const t = await startSimulatedTarget(CLI, ['--latency', '50', '--accuracy', '0.8']);
console.log(`load average at start: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
try {
 for (const N of NS) {
  const dir = mkdtempSync(join(tmpdir(), 'assay-whole-'));
  const suite = arithmeticSuite(dir, N, 'Whole-process benchmark (generated)');
  const bare = join(HERE, 'bare.js');
  if (!existsSync(bare)) throw new Error(`${bare} missing: run tsc -p tsconfig.bench.json`);
  let k = 0;
  const assayArgs = (url: string) => [ASSAY, 'run', suite, '--model', 'openai/sim-bench', '--base-url', `${url}/v1`, '-c', String(C), '--no-progress', '--json', '--out', join(dir, `run-${k++}.jsonl`)];
  const env = { ASSAY_HOME: join(dir, 'home') };
  // Warm the file cache and the target once each.
  await timed([bare, suite, t.url, String(Math.min(N, 200)), String(C)]);
  const a: { wallMs: number; rssMB: number }[] = [];
  const b: { wallMs: number; rssMB: number }[] = [];
  for (let r = 0; r < REPS; r++) {
    b.push(await timed([bare, suite, t.url, String(N), String(C)]));
    a.push(await timed(assayArgs(t.url), env));
  }
  const ups: number[] = [];
  for (let r = 0; r < REPS; r++) ups.push(await startupMs(assayArgs, t.url, env));
  const bareUps: number[] = [];
  for (let r = 0; r < REPS; r++) bareUps.push(await startupMs((url) => [bare, suite, url, String(N), String(C)], t.url, {}));
  const row = {
    n: N, c: C, reps: REPS,
    assayWallMs: median(a.map((x) => x.wallMs)), bareWallMs: median(b.map((x) => x.wallMs)),
    ratio: median(a.map((x) => x.wallMs)) / median(b.map((x) => x.wallMs)),
    assayPeakRssMB: Math.max(...a.map((x) => x.rssMB)), barePeakRssMB: Math.max(...b.map((x) => x.rssMB)),
    assayStartupMs: median(ups), bareStartupMs: median(bareUps),
  };
  console.log(JSON.stringify(row));
  console.log(`load average now: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`| ${N} | ${C} | ${row.bareWallMs.toFixed(0)} | ${row.assayWallMs.toFixed(0)} | **${row.ratio.toFixed(2)}×** | ${row.bareStartupMs.toFixed(0)} | ${row.assayStartupMs.toFixed(0)} | ${row.barePeakRssMB.toFixed(0)} | ${row.assayPeakRssMB.toFixed(0)} |`);
  }
} finally {
  t.stop();
}
