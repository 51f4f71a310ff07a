import { setFlagsFromString } from 'node:v8';

/**
 * Process-wide V8 settings for the `assay` program (a library user's process is left alone).
 * Imported first by the CLI entry and by the benchmark's processes, so both run the same way.
 *
 * undici parses HTTP with llhttp compiled to WebAssembly. V8's optimising tier-up of that module
 * takes ~35 MB of transient memory during the first second of traffic (peak RSS 122 → 89 MB for a
 * bare undici client, docs/benchmarks.md) to save about a microsecond per response. Keep it on the
 * baseline compiler. Wasm flags are read when a module is compiled, and undici compiles llhttp on
 * its first connection, after this has run.
 */
setFlagsFromString('--liftoff-only');
