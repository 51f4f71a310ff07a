/**
 * Issue 20: per-answer CPU cost of the answer extractor. 10,000 answers (extraction sets 1-4 repeated),
 * 7 interleaved runs, median and minimum. With a second module path, the same answers are read by both
 * (e.g. the previous extractor: `git show d6f7fac:src/score/extract.ts | sed "s#'./refusal.js'#'../src/score/refusal.js'#" > scratch/extract6.ts`).
 *   node --import tsx scripts/bench-extract.ts [path/to/other-extract.ts]
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as cur from '../src/score/extract.js';

type Mod = { extractAnswer: typeof cur.extractAnswer; EXTRACTOR_VERSION: string };
const ROOT = join(import.meta.dirname, '..');
// BENCH_SETS=all reads the spent sets 1-6 (round 5 measured 30,000 answers: BENCH_N=30000 BENCH_SETS=all).
const files = ['extraction-set.jsonl', 'extraction-set-2.jsonl', 'extraction-set-3.jsonl', 'extraction-set-4.jsonl', ...(process.env.BENCH_SETS === 'all' ? ['extraction-set-5.jsonl', 'extraction-set-6.jsonl'] : [])];
const rows = files.flatMap((f) => readFileSync(join(ROOT, 'test/fixtures/extraction', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { response: string; options: cur.ShownOption[] }));
const N = Number(process.env.BENCH_N ?? 10_000);
const items = Array.from({ length: N }, (_, i) => rows[i % rows.length]!);
const mods: Mod[] = [cur];
if (process.argv[2]) mods.unshift((await import(pathToFileURL(resolve(process.argv[2])).href)) as Mod);
for (const m of mods) for (const r of items.slice(0, 2000)) m.extractAnswer(r.response, r.options); // warm-up
const times = mods.map(() => [] as number[]);
for (let rep = 0; rep < 7; rep++) {
  mods.forEach((m, k) => {
    const t0 = process.hrtime.bigint();
    for (const r of items) m.extractAnswer(r.response, r.options);
    times[k]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
  });
}
mods.forEach((m, k) => {
  const t = times[k]!.sort((a, b) => a - b);
  console.log(`${m.EXTRACTOR_VERSION}: ${N} answers (${rows.length} distinct, sets ${files.length === 6 ? '1-6' : '1-4'} repeated): median ${(1000 * t[3]! / N).toFixed(1)} µs/answer, min ${(1000 * t[0]! / N).toFixed(1)} µs/answer`);
});
if (mods.length === 2) console.log(`ratio (current / other): median ${(times[1]![3]! / times[0]![3]!).toFixed(2)}, min ${(times[1]![0]! / times[0]![0]!).toFixed(2)}`);
