/** The engine side of the benchmark, in its own process so its peak RSS is its own. */
import '../src/cli/runtime.js'; // the same V8 settings as the assay program
import { loadSuite } from '../src/suite/load.js';
import { createModel } from '../src/model/registry.js';
import { runSuite } from '../src/run/engine.js';

const [suitePath, baseUrl, nStr, cStr, logPath, mode] = process.argv.slice(2) as [string, string, string, string, string, string?];
const n = Number(nStr), c = Number(cStr);
const suite = await loadSuite(suitePath);
const model = createModel('openai/sim-bench', { baseUrl: `${baseUrl}/v1`, maxConnections: c });
const t0 = performance.now();
const res = await runSuite({
  suite,
  model,
  logPath,
  simulated: true,
  // Diagnostic only: `nosync` shows what fdatasync costs; the published figures keep it on.
  durable: mode !== 'nosync',
  config: {
    epochs: 1, seed: 0, limit: n, sampleIds: null, maxConnections: c, maxTokens: null, temperature: null,
    timeoutMs: 30_000, maxRetries: 6, retryBaseMs: 100, retryMaxDelayMs: 5_000, access: 'grey-box',
    budget: { maxTokensTotal: null, maxCost: null, pricePerMTok: null },
  },
});
const wallMs = performance.now() - t0;
(globalThis as { gc?: () => void }).gc?.();
const mu = process.memoryUsage();
console.log(JSON.stringify({ wallMs, maxRssMB: process.resourceUsage().maxRSS / 1024, samples: res.totalSamples, errors: res.errored, heapTotalMB: mu.heapTotal / 2 ** 20, heapUsedMB: mu.heapUsed / 2 ** 20, externalMB: mu.external / 2 ** 20 }));
