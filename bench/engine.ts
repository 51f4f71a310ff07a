/**
 * Engine benchmark: the run engine (scoring + crash-safe log on) against the SIMULATED target
 * at a fixed latency, compared with a bare HTTP client sending the same requests (no scoring,
 * no log) — the practical limit of this machine. Each measured side runs in its own process
 * so peak RSS is its own; the target runs in a third process.
 *
 *   npm run bench                 full settings, writes docs/benchmarks.md
 *   npm run bench -- --quick      small settings, prints only
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { ROOT, arithmeticSuite, median, startSimulatedTarget, writeBenchSection } from './harness.js';

// Runs compiled (npm run bench builds dist-bench/): measuring under a TypeScript loader would
// add the loader's own memory and start-up to every figure.
const HERE = import.meta.dirname;
const LATENCY_MS = 50;
const quick = process.argv.includes('--quick');
const settings: Array<{ n: number; c: number }> = quick
  ? [{ n: 400, c: 16 }, { n: 2000, c: 256 }]
  : [{ n: 2000, c: 16 }, { n: 2000, c: 64 }, { n: 20000, c: 64 }, { n: 20000, c: 256 }];
// Two shared cores give a few per cent of noise run to run: each side runs several times,
// alternating, and the table shows median wall times and the highest peak RSS seen. Short
// settings (about 2 s at 64 connections) get more passes, since one stall moves them most.
const repsFor = (n: number) => (quick ? 1 : n <= 2000 ? 5 : 3);

interface Measure { wallMs: number; maxRssMB: number; samples: number; errors: number; heapUsedMB?: number }

function child(script: string, args: string[]): Promise<Measure> {
  return new Promise((res, rej) => {
    // --expose-gc only lets the engine side measure its live heap after the run; it changes no GC behaviour.
    const p = spawn(process.execPath, ['--expose-gc', join(HERE, script.replace(/\.ts$/, '.js')), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? res(JSON.parse(out.trim().split('\n').at(-1)!) as Measure) : rej(new Error(`${script} exited ${code}`))));
  });
}

const target = await startSimulatedTarget(join(HERE, '../src/cli/main.js'), ['--latency', String(LATENCY_MS), '--accuracy', '0.8']);
const work = mkdtempSync(join(tmpdir(), 'assay-bench-'));
const rows: string[] = [];
let longRun = '';
try {
  for (const { n, c } of settings) {
    const dir = join(work, `n${n}-c${c}`);
    mkdirSync(dir);
    const suite = arithmeticSuite(dir, n, 'Engine benchmark (generated)');
    // Warm the target's JIT once per setting so neither side pays for it.
    await child('bare.ts', [suite, target.url, String(Math.min(n, 500)), String(c)]);
    const bares: Measure[] = [];
    const engs: Measure[] = [];
    const reps = repsFor(n);
    for (let r = 0; r < reps; r++) {
      bares.push(await child('bare.ts', [suite, target.url, String(n), String(c)]));
      engs.push(await child('engine-child.ts', [suite, target.url, String(n), String(c), join(dir, `run-${r}.jsonl`)]));
    }
    const bare: Measure = { wallMs: median(bares.map((m) => m.wallMs)), maxRssMB: Math.max(...bares.map((m) => m.maxRssMB)), samples: n, errors: Math.max(...bares.map((m) => m.errors)) };
    const eng: Measure = { wallMs: median(engs.map((m) => m.wallMs)), maxRssMB: Math.max(...engs.map((m) => m.maxRssMB)), samples: engs[0]!.samples, errors: Math.max(...engs.map((m) => m.errors)), heapUsedMB: Math.max(...engs.map((m) => m.heapUsedMB ?? NaN)) };
    const ideal = (n * LATENCY_MS) / c;
    const row = {
      n, c,
      engineRate: n / (eng.wallMs / 1000),
      engineWall: eng.wallMs,
      bareWall: bare.wallMs,
      vsBare: eng.wallMs / bare.wallMs,
      vsIdeal: eng.wallMs / ideal,
      bareVsIdeal: bare.wallMs / ideal,
      engRss: eng.maxRssMB,
      bareRss: bare.maxRssMB,
      errors: eng.errors,
    };
    console.log(JSON.stringify(row));
    rows.push(
      `| ${n} | ${c} | ${ideal.toFixed(0)} | ${bare.wallMs.toFixed(0)} (${row.bareVsIdeal.toFixed(2)}×) | ${eng.wallMs.toFixed(0)} | ${row.engineRate.toFixed(0)} | **${row.vsBare.toFixed(3)}×** | ${row.vsIdeal.toFixed(3)}× | ${eng.maxRssMB.toFixed(0)} | ${eng.heapUsedMB!.toFixed(1)} | ${bare.maxRssMB.toFixed(0)} | ${eng.errors} |`,
    );
  }
  if (!quick) {
    // Memory over a longer run than the targets name, one pass per side: peak RSS against live heap.
    const n = 100_000, c = 256;
    const dir = join(work, `n${n}-c${c}`);
    mkdirSync(dir);
    const suite = arithmeticSuite(dir, n, 'Engine benchmark (generated)');
    const bare = await child('bare.ts', [suite, target.url, String(n), String(c)]);
    const eng = await child('engine-child.ts', [suite, target.url, String(n), String(c), join(dir, 'run.jsonl')]);
    console.log(JSON.stringify({ longRun: true, n, c, engineWall: eng.wallMs, bareWall: bare.wallMs, engRss: eng.maxRssMB, heapUsedMB: eng.heapUsedMB, bareRss: bare.maxRssMB }));
    longRun = `Longer run, one pass per side: N=${n.toLocaleString('en')} at ${c} connections — engine ${eng.wallMs.toFixed(0)} ms (${(eng.wallMs / bare.wallMs).toFixed(3)}× bare), engine peak RSS **${eng.maxRssMB.toFixed(0)} MB** with live heap ${eng.heapUsedMB!.toFixed(1)} MB after the run; bare client peak RSS ${bare.maxRssMB.toFixed(0)} MB.`;
  }
} finally {
  target.stop();
  rmSync(work, { recursive: true, force: true });
}

if (!quick) {
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  const commit = (() => { try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim(); } catch { return 'unknown'; } })();
  const section = [
    '<!-- bench:engine:start -->',
    '## Engine vs bare client (simulated target, 50 ms latency)',
    '',
    `Command: \`npm run bench\` · commit ${commit} · ${new Date().toISOString().slice(0, 10)} · Node ${process.version} · ${cpus().length} × ${cpu} · ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    '',
    'Engine = `runSuite` with both MCQ scorers (letter + logprob, so logprobs are requested and parsed), the fdatasync group-commit run log, adaptive concurrency and the progress accounting. Bare = the same undici pool and exchange function the adapters use (`src/model/http.ts`), sending the same request bodies (built before its clock starts) and discarding the answers: no parsing, scoring or log. Each side is its own process with the `assay` program\'s V8 settings (src/cli/runtime.ts); the target is a third. Ideal = N × latency ÷ connections.',
    '',
    `Each side ran ${repsFor(2000)} times per setting at N ≤ 2,000 and ${repsFor(20000)} times above, alternating; walls are medians, peak RSS is the highest of the runs.`,
    '',
    '| N | connections | ideal ms | bare ms (× ideal) | engine ms | engine samples/s | engine ÷ bare | engine ÷ ideal | engine peak RSS MB | engine live heap after run MB | bare peak RSS MB | errors |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    'Live heap = V8 heap in use after a full collection at the end of the run (what the engine still holds); peak RSS also counts garbage V8 had not yet collected.',
    '',
    longRun,
    '',
    'Targets (issue 2): engine ÷ bare ≤ 1.15 at every setting, engine ÷ ideal ≤ 1.1 at 16 connections, peak RSS ≤ 120 MB and not growing with N.',
    '<!-- bench:engine:end -->',
  ].join('\n');
  writeBenchSection('engine', section);
}
