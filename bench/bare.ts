/**
 * Bare client: the same request bodies the engine sends, over the same undici pool and the same
 * exchange function the adapters use (src/model/http.ts), no parsing, no scoring, no log.
 */
import '../src/cli/runtime.js'; // the same V8 settings as the assay program
import { createPool, exchange } from '../src/model/http.js';
import { loadSuite } from '../src/suite/load.js';
import { buildPrompt } from '../src/run/prompt.js';

const [suitePath, baseUrl, nStr, cStr] = process.argv.slice(2) as [string, string, string, string];
const n = Number(nStr), c = Number(cStr);
const suite = await loadSuite(suitePath);
const bodies: string[] = [];
for await (const s of suite.samples()) {
  if (bodies.length >= n) break;
  const { messages } = buildPrompt(suite.def, s, 0, 1);
  bodies.push(JSON.stringify({ model: 'sim-bench', messages, logprobs: true, top_logprobs: 10 }));
}
const pool = createPool(c);
const url = `${baseUrl}/v1/chat/completions`;
let next = 0, errors = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: c }, async () => {
    while (next < bodies.length) {
      const res = await exchange(pool, url, {}, bodies[next++]!, 30_000);
      if (res.status !== 200) errors++;
    }
  }),
);
const wallMs = performance.now() - t0;
await pool.close();
console.log(JSON.stringify({ wallMs, maxRssMB: process.resourceUsage().maxRSS / 1024, samples: bodies.length, errors }));
