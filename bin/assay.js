#!/usr/bin/env node
// Entry point: the bundled CLI (dist-cli/, built by `npm run build`, which `npm ci` runs via `prepare`).
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

// Heap settings for the streaming commands (docs/benchmarks.md, "Heap settings"). A run keeps
// ~20–35 MB live but allocates fast (a request, a response and a log line per sample); with V8's
// defaults the young generation grows to 32 MB and the old one 2–4× past its live size before a
// full collection, so a run of 100,000 samples peaked at 165–180 MB of RSS. Here the old generation
// grows 20% between full collections, and the young one stops growing once past 8 MB (it lands at
// 16 MB; smaller costs CPU, as each scavenge copies the in-flight requests whatever its size). V8 fixes the young generation's ceiling at start-up but reads both flags below at each
// collection, so they take effect when set here, before the CLI's modules load. A long-lived
// `assay server`, whose live heap is large, keeps V8's defaults.
if (['run', 'worker', 'stats', 'score'].includes(process.argv[2] ?? '')) {
  setFlagsFromString('--heap-growing-percent=20');
  const young = new PerformanceObserver(() => {
    const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    if (!space || space.space_size < 8 * 2 ** 20) return;
    setFlagsFromString('--semi-space-growth-factor=1');
    young.disconnect();
  });
  young.observe({ entryTypes: ['gc'] });
}
await import('../dist-cli/main.js');
