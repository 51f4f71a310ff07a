/**
 * The registry's list queries without HTTP: p50/p99 of 200 pages of 50, walking the cursor, on a
 * seeded store (e.g. the SQLite file bench/registry.ts leaves in $TMPDIR/assay-bench-reg-*). Separates
 * the database's share of a list request from HTTP and scheduling on a loaded machine.
 *
 *   node dist-bench/bench/registry-probe.js <registry.db | postgres://…>
 */
import { openStore } from '../src/registry/db.js';
import { Registry } from '../src/registry/registry.js';

const store = await openStore(process.argv[2] ?? '');
const r = new Registry(store, { origin: 'probe' });
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const lists: [string, (c?: string) => Promise<{ next: string | null }>][] = [
  ['reports', (c) => r.listPublishedReports({ limit: 50, cursor: c })],
  ['events', (c) => r.listEvents({ limit: 50, cursor: c })],
];
for (const [name, f] of lists) {
  const ts: number[] = [];
  let c: string | undefined;
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    c = (await f(c)).next ?? undefined;
    ts.push(performance.now() - t0);
  }
  process.stdout.write(`${name}: in-process, cursor walk, p50 ${pct(ts, 50).toFixed(2)} ms, p99 ${pct(ts, 99).toFixed(2)} ms\n`);
}
await store.close();
