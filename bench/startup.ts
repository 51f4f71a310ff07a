/**
 * Start-up benchmark (issue 22): spawn → first request seen by the target for `assay run` as a user
 * runs it (`node bin/assay.js run …`, the same arguments as bench/whole.ts), the bare client
 * (bench/bare.ts), and `node -e fetch`; plus `node -e 0` to exit. Alternating runs; for each, the
 * wall time and the child's CPU time (all threads, /proc/<pid>/task/*\/schedstat) at the moment its
 * first request arrives — CPU time is what load on a shared machine disturbs least.
 *   node dist-bench/bench/startup.js [--reps 11] [--n 2000] [--only assay,bare,fetch,node0]
 * (`tsc` and `bundle` run dist/cli/main.js and dist-cli/main.js in place of bin/assay.js, `alt`
 * the entry given by --alt.)
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, arithmeticSuite, median } from './harness.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const REPS = Number(arg('--reps') ?? 11);
const N = Number(arg('--n') ?? 2000);
const ONLY = (arg('--only') ?? 'assay,bare,fetch,node0').split(',');

/** CPU ns of every thread of `pid` so far (first field of each task's schedstat). */
function cpuMs(pid: number): number {
  let ns = 0;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try { ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]); } catch { /* thread gone */ }
    }
  } catch { return NaN; }
  return ns / 1e6;
}

/**
 * A target that answers every request with a minimal chat completion (the probe and the run's
 * requests alike); `onFirst` fires on the first request of each spawned child.
 */
const body = JSON.stringify({ id: 'x', object: 'chat.completion', model: 'sim', choices: [{ index: 0, message: { role: 'assistant', content: 'A' }, finish_reason: 'stop', logprobs: { content: [{ token: 'A', logprob: -0.1, top_logprobs: [{ token: 'A', logprob: -0.1 }] }] } }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
let onFirst: (() => void) | undefined;
let current = '';
const server = createServer((req, res) => {
  // Each child gets its own path prefix, so a late request of a killed child is not counted.
  if (req.url?.startsWith(`/${current}/`)) { const f = onFirst; onFirst = undefined; f?.(); }
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(body); });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

const dir = mkdtempSync(join(tmpdir(), 'assay-startup-'));
const suite = arithmeticSuite(dir, N, 'Start-up benchmark (generated)');
let k = 0;
const next = () => `${url}/${(current = `c${++k}`)}`;
const runArgs = (entry: string) => [entry, 'run', suite, '--model', 'openai/sim-bench', '--base-url', `${next()}/v1`, '-c', '64', '--no-progress', '--json', '--out', join(dir, `run-${k}.jsonl`)];
const cmds: Record<string, () => string[]> = {
  assay: () => runArgs(join(ROOT, 'bin/assay.js')),
  // The two builds side by side: tsc's module tree, and the bundle bin/assay.js loads.
  tsc: () => runArgs(join(ROOT, 'dist/cli/main.js')),
  bundle: () => runArgs(join(ROOT, 'dist-cli/main.js')),
  alt: () => runArgs(arg('--alt') ?? 'missing --alt <entry.js>'),
  bare: () => [join(ROOT, 'dist-bench/bench/bare.js'), suite, next(), String(N), '64'],
  fetch: () => ['-e', `fetch(${JSON.stringify(next() + '/v1/chat/completions')}, { method: 'POST', body: '{}' }).then((r) => r.text())`],
};

/** Spawn one child; wall and CPU ms at its first request (then kill it: the rest is not start-up). */
function once(args: string[]): Promise<{ wallMs: number; cpuMs: number }> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ASSAY_HOME: join(dir, 'home') } });
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    let out: { wallMs: number; cpuMs: number } | undefined;
    onFirst = () => {
      out = { wallMs: performance.now() - t0, cpuMs: cpuMs(p.pid!) };
      p.kill('SIGKILL');
    };
    p.on('exit', () => (out ? res(out) : rej(new Error(`no request: ${err}`))));
  });
}

/** `node -e 0` spawn → exit: wall, and user+sys CPU from /usr/bin/time (10 ms resolution). */
function node0(): { wallMs: number; cpuMs: number } {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, '-e', '0'], { encoding: 'utf8' });
  const wallMs = performance.now() - t0;
  const [u, s] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number];
  return { wallMs, cpuMs: (u + s) * 1000 };
}

console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const results: Record<string, { wallMs: number; cpuMs: number }[]> = Object.fromEntries(ONLY.map((n) => [n, []]));
for (const name of ONLY) if (name !== 'node0') await once(cmds[name]!()); // warm the file cache
for (let r = 0; r < REPS; r++) {
  for (const name of ONLY) results[name]!.push(name === 'node0' ? node0() : await once(cmds[name]!()));
}
console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (const name of ONLY) {
  const xs = results[name]!;
  console.log(`${name.padEnd(6)} CPU ms median ${median(xs.map((x) => x.cpuMs)).toFixed(0)} (min ${Math.min(...xs.map((x) => x.cpuMs)).toFixed(0)})  wall ms median ${median(xs.map((x) => x.wallMs)).toFixed(0)} (min ${Math.min(...xs.map((x) => x.wallMs)).toFixed(0)})`);
}
server.close();
