/** Bare client: the same request bodies the engine sends, over an undici pool, no scoring, no log. */
import '../src/cli/runtime.js'; // the same V8 settings as the assay program
import { Agent, request } from 'undici';
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
const agent = new Agent({ connections: c, pipelining: 1, keepAliveTimeout: 30_000 });
let next = 0, errors = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: c }, async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const res = await request(`${baseUrl}/v1/chat/completions`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: agent });
      await res.body.arrayBuffer();
      if (res.statusCode !== 200) errors++;
    }
  }),
);
const wallMs = performance.now() - t0;
await agent.close();
console.log(JSON.stringify({ wallMs, maxRssMB: process.resourceUsage().maxRSS / 1024, samples: bodies.length, errors }));
