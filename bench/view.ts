/**
 * Web UI benchmark (issue 25): time to first render of a 100,000-sample run and of its samples
 * list in Debian's Chromium (server already running; from navigation to the metrics table, and to
 * the first 50 sample rows, visible; median of 5 after one warm-up), and the viewer bundle's
 * gzipped size. The run is real: the demo suite × 500 epochs against the simulated target.
 * Writes its section of docs/benchmarks.md.
 *
 *   node dist-bench/bench/view.js            full run (100,000 samples)
 *   node dist-bench/bench/view.js --quick    10,000 samples, prints only
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { createModel } from '../src/model/registry.js';
import { newRunId, runSuite } from '../src/run/engine.js';
import { RunIndex } from '../src/store/runs.js';
import { loadSuite } from '../src/suite/load.js';
import { startTarget } from '../src/target/server.js';
import { startViewServer } from '../src/view/server.js';
import { ROOT, writeBenchSection, median } from './harness.js';

const quick = process.argv.includes('--quick');
const EPOCHS = quick ? 50 : 500; // × 200 samples
const BROWSER = '/usr/bin/chromium';

const UI = join(ROOT, 'dist-web');


function bundleSize(): { raw: number; gzip: number } {
  let raw = 0;
  let gzip = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const b = readFileSync(p);
        raw += b.length;
        gzip += gzipSync(b, { level: 9 }).length;
      }
    }
  };
  walk(UI);
  return { raw, gzip };
}

async function bigRun(home: string): Promise<{ runId: string; samples: number; ms: number }> {
  const target = await startTarget({ latencyMs: 0, accuracy: 0.8, seed: 1 });
  try {
    const suite = await loadSuite(join(ROOT, 'suites/demo-arithmetic/suite.yaml'));
    const runId = newRunId();
    const logPath = join(home, 'runs', `${runId}.jsonl`);
    const t0 = performance.now();
    const res = await runSuite({
      suite, model: createModel('openai/sim', { baseUrl: `${target.url}/v1`, maxConnections: 256 }), runId, logPath, simulated: true,
      config: { epochs: EPOCHS, seed: 0, limit: null, sampleIds: null, maxConnections: 256, maxTokens: 5, temperature: 0, timeoutMs: 30_000, maxRetries: 2, retryBaseMs: 10, retryMaxDelayMs: 100, access: 'grey-box', budget: { maxTokensTotal: null, maxCost: null, pricePerMTok: null } },
    });
    const ms = performance.now() - t0;
    const idx = await RunIndex.open(join(home, 'assay.db'));
    await idx.upsert({ runId, suiteId: suite.def.id, suiteVersion: suite.def.version, suiteDigest: suite.digest, model: 'openai/sim', simulated: true, logPath, status: res.status, startedAt: new Date().toISOString(), samples: res.totalSamples, errored: res.errored, rescoreOf: null, summary: null });
    await idx.close();
    return { runId, samples: res.totalSamples, ms };
  } finally {
    await target.close();
  }
}

const home = mkdtempSync(join(tmpdir(), 'assay-bench-view-'));
process.stderr.write(`running the demo suite × ${EPOCHS} epochs against the simulated target…\n`);
const run = await bigRun(home);
process.stderr.write(`${run.samples} samples in ${(run.ms / 1000).toFixed(1)} s\n`);
const view = await startViewServer({ home, uiDir: UI });
const browser = await chromium.launch({ executablePath: BROWSER, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'] });
// Tall enough that 50 rows of the list are on screen at once.
const page = await (await browser.newContext({ viewport: { width: 1280, height: 2200 } })).newPage();
await page.goto(`${view.url}?token=${view.token}`);

/** From navigation (a fresh page load) to the selector visible, in ms. */
async function timeTo(hash: string, ready: () => Promise<unknown>): Promise<number> {
  await page.goto('about:blank');
  const t0 = performance.now();
  await page.goto(`${view.url}#/${hash}`);
  await ready();
  return performance.now() - t0;
}
const runReady = () => page.waitForSelector('[data-testid=metrics-table] tbody tr', { timeout: 120_000 });
const samplesReady = () => page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('[data-testid=sample-row]').length >= 50, undefined, { timeout: 120_000 });

const coldRun = await timeTo(`run/${run.runId}`, runReady); // the server reads and summarises the log once
const coldSamples = await timeTo(`run/${run.runId}/samples`, samplesReady);
const runTimes: number[] = [];
const sampleTimes: number[] = [];
for (let i = 0; i < 5; i++) {
  runTimes.push(await timeTo(`run/${run.runId}`, runReady));
  sampleTimes.push(await timeTo(`run/${run.runId}/samples`, samplesReady));
}
const filtered: number[] = [];
for (let i = 0; i < 5; i++) filtered.push(await timeTo(`run/${run.runId}/samples?q=${encodeURIComponent('11 + 6')}&score=mcq_letter&max=0`, () => page.waitForSelector('[data-testid=samples-count]:not(:text("Loading"))')));
await browser.close();
await view.close();
rmSync(home, { recursive: true, force: true });

const b = bundleSize();
const kb = (n: number) => `${(n / 1024).toFixed(0)} kB`;
const md = `<!-- bench:view:start -->
## Web UI (\`assay view\`)
Command: \`npm run bench\` (\`node dist-bench/bench/view.js\`${quick ? ' --quick' : ''}). A real run of ${run.samples.toLocaleString('en')} samples (demo suite × ${EPOCHS} epochs against the simulated target, made in ${(run.ms / 1000).toFixed(1)} s), served by \`assay view\` and opened in Debian's Chromium (headless) through playwright-core. Times are from navigation to the metrics table visible (run screen) and to 50 sample rows visible (samples screen); median of 5 after the first (cold) visit, which reads and summarises the log once. ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at the end.
Targets: first render ≤ 1,500 ms; viewer bundle ≤ 500 kB gzipped.

| measure | value |
|---|---|
| run screen, first (cold) visit | ${coldRun.toFixed(0)} ms |
| run screen, median of 5 | **${median(runTimes).toFixed(0)} ms** (${runTimes.map((x) => x.toFixed(0)).join(', ')}) |
| samples list, first (cold) visit | ${coldSamples.toFixed(0)} ms |
| samples list (first 50 rows), median of 5 | **${median(sampleTimes).toFixed(0)} ms** (${sampleTimes.map((x) => x.toFixed(0)).join(', ')}) |
| samples filtered server-side (text + score), median of 5 | ${median(filtered).toFixed(0)} ms |
| viewer bundle (dist-web, all files) | ${kb(b.raw)} raw, **${kb(b.gzip)} gzipped** |
<!-- bench:view:end -->`;
process.stdout.write(`${md}\n`);
if (!quick) writeBenchSection('view', md);
process.exit(0);
