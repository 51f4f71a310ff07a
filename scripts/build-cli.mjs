// Bundles the CLI into dist-cli/ (run by `npm run build` and `prepare`, after tsc has type-checked
// and emitted dist/). Why: loading ~430 separate ES modules and CommonJS files (resolution, reads,
// one compile each) was most of `assay run`'s start-up (docs/benchmarks.md, "Start-up"). Code
// splitting keeps what the sources import lazily (`await import(…)`) in chunks loaded on use.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist-cli');

// Left as ordinary imports from node_modules: native addons (.node files), packages that load files
// by path next to their own modules (worker scripts, Lua scripts, browsers), and optional peers.
const EXTERNAL = [
  'better-sqlite3', // native addon
  '@ast-grep/*', // native addon and its language packages
  'pg', 'pg-native', // optional native binding
  'bullmq', 'ioredis', 'msgpackr', 'msgpackr-extract', // bullmq reads its Lua scripts by path; msgpackr-extract is native
  'piscina', '@napi-rs/*', // worker entry by path; optional native helper
  'playwright-core', // browsers and driver files by path
  'fastify', '@fastify/*', 'pino', 'thread-stream', // pino transports run worker files by path
];

mkdirSync(OUT, { recursive: true });
const startedAt = Date.now();
const result = await build({
  absWorkingDir: ROOT,
  // Every file loaded by path at run time is an entry of its own, named as the code expects it
  // next to the module that loads it (registry/verify-pool.ts: ./verify-worker.js).
  entryPoints: { main: 'src/cli/main.ts', 'verify-worker': 'src/registry/verify-worker.ts' },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  external: EXTERNAL,
  // All chunks sit side by side in dist-cli/, one level below the package root, as dist/version.js
  // does: version.ts finds package.json and the package root (suites/, python/, dist-web/) from there.
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  // Bundled CommonJS (undici, …) calls require() for node: built-ins; ES modules have none.
  banner: { js: "import { createRequire as __assayCreateRequire } from 'node:module'; const require = __assayCreateRequire(import.meta.url);" },
  sourcemap: 'linked',
  legalComments: 'none',
  // Without comments and whitespace V8 has less to scan, and no file stays two-byte for a non-ASCII
  // character in a comment (~45 ms of start-up). Names are kept: stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  metafile: true,
});

// Chunk names carry a content hash. A running `assay` (a server, `assay view`) still imports its
// lazily loaded chunks by the old names, so a rebuild leaves older outputs in place and removes
// only those over a day old that this build did not write.
const written = new Set(Object.keys(result.metafile.outputs).map((f) => join(ROOT, f)));
for (const name of readdirSync(OUT)) {
  const f = join(OUT, name);
  if (!written.has(f) && statSync(f).mtimeMs < startedAt - 86_400_000) rmSync(f, { force: true });
}
const files = [...written].filter((f) => f.endsWith('.js')).length;
if (process.argv.includes('--verbose')) console.log(`dist-cli: ${files} files`);
