import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AssayError } from '../common/errors.js';
import { withLock } from '../common/lock.js';
import { assayHome } from '../home.js';
import { openCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import type { LogSource } from './client.js';
import { bytesEqual, consistencyFailure } from './merkle.js';
import { ed25519Verifier } from './note.js';
import { fsyncDir, writeDurable } from './storage.js';
import { TileReader } from './tiles.js';

/**
 * Rollback protection for verifiers: the largest checkpoint this machine has seen of each log
 * (`assay.tlog-seen/v1`, by default `$ASSAY_HOME/tlog/seen.json`), keyed by the log's vkey.
 *
 *   {"schema":"assay.tlog-seen/v1","logs":{"<vkey>":{"size":n,"root":"<base64>","checkpoint":"<note>"}}}
 *
 * Rules (docs/formats/tlog.md §9):
 * - a log presenting as its *current* tree one smaller than the largest seen has rolled back
 *   (or shows this verifier a fork): ROLLBACK;
 * - any checkpoint of the size seen with another root: SPLIT_VIEW;
 * - a larger checkpoint replaces the one seen only once a consistency proof from the one seen
 *   verifies (proof from the log's tiles); without the log at hand it is not recorded;
 * - an *older* checkpoint (e.g. the one a report's inclusion proof names) passes when a
 *   consistency proof from it to the largest seen verifies.
 * Read-check-write happens under the shared lock (src/common/lock.ts) on `<file>.lock`.
 */

export const SEEN_SCHEMA = 'assay.tlog-seen/v1';
export const defaultSeenFile = (home = assayHome()) => join(home, 'tlog', 'seen.json');

interface SeenEntry {
  size: number;
  root: string;
  checkpoint: string;
}
interface SeenState {
  schema: typeof SEEN_SCHEMA;
  logs: Record<string, SeenEntry>;
}

export type Observation =
  /** First checkpoint of this log seen here (trust on first use); recorded. */
  | { status: 'first'; size: number }
  /** Same tree as the one seen. */
  | { status: 'same'; size: number }
  /** Proven consistent with the largest seen: `recorded` when it became the largest seen. */
  | { status: 'consistent'; size: number; seenSize: number; recorded: boolean }
  /** Could not be proven either way (no tiles to build the proof from); nothing recorded. */
  | { status: 'unproven'; size: number; seenSize: number; why: string };

function load(file: string): SeenState {
  if (!existsSync(file)) return { schema: SEEN_SCHEMA, logs: {} };
  let v: SeenState;
  try {
    v = JSON.parse(readFileSync(file, 'utf8')) as SeenState;
  } catch (err) {
    throw new AssayError('SEEN_STATE', `not JSON: ${(err as Error).message}`, { file });
  }
  if (v?.schema !== SEEN_SCHEMA || typeof v.logs !== 'object' || !v.logs) throw new AssayError('SEEN_STATE', `not an ${SEEN_SCHEMA} file`, { file });
  return v;
}

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

/** The largest checkpoint seen of the log with this vkey, or null. */
export function seenCheckpoint(file: string, vkey: string): SignedCheckpoint | null {
  const e = load(file).logs[vkey];
  if (!e) return null;
  return openCheckpoint(e.checkpoint, [ed25519Verifier(vkey)], { where: { file } });
}

/**
 * Checks `cp` (signature already verified with `vkey`) against the largest checkpoint seen and
 * records it when it is larger and proven consistent. `current`: the log presents it as its tree
 * now (fetched from the log), so a smaller one is a rollback. `src`: the log, for tiles.
 */
export async function observeCheckpoint(file: string, vkey: string, cp: SignedCheckpoint, opts: { current: boolean; src?: LogSource | null; srcSize?: number; source?: string }): Promise<Observation> {
  const where = { file: opts.source ?? opts.src?.target ?? file };
  return withLock(
    `${file}.lock`,
    async () => {
      const state = load(file);
      const seen = state.logs[vkey];
      const record = () => {
        state.logs[vkey] = { size: cp.size, root: b64(cp.root), checkpoint: cp.noteText };
        writeDurable(file, `${JSON.stringify(state, null, 2)}\n`);
        fsyncDir(dirname(file));
      };
      if (!seen) {
        record();
        return { status: 'first', size: cp.size } as const;
      }
      const seenRoot = Buffer.from(seen.root, 'base64');
      if (cp.size === seen.size) {
        if (!bytesEqual(cp.root, seenRoot))
          throw new AssayError('SPLIT_VIEW', `split view: log ${cp.origin} signed two different trees of size ${cp.size} (root ${b64(cp.root)}; this verifier saw ${seen.root}, kept in ${file}); keep both signed checkpoints as evidence`, where);
        return { status: 'same', size: cp.size } as const;
      }
      if (cp.size < seen.size && opts.current)
        throw new AssayError(
          'ROLLBACK',
          `rollback: log ${cp.origin} presents a tree of size ${cp.size}, smaller than the size ${seen.size} this verifier has already seen (kept in ${file}); the log rolled back, or is showing this verifier a fork`,
          where,
        );
      const [m, n, rootM, rootN] = cp.size < seen.size ? [cp.size, seen.size, cp.root, seenRoot] : [seen.size, cp.size, seenRoot, cp.root];
      if (!opts.src) {
        const why = `no log tiles to prove consistency between sizes ${m} and ${n} (pass the log's directory or URL)`;
        return { status: 'unproven', size: cp.size, seenSize: seen.size, why } as const;
      }
      let proof: Uint8Array[];
      try {
        proof = await new TileReader(opts.src.fetch, n, { file: opts.src.target }, opts.srcSize).consistencyProof(m);
      } catch (err) {
        return { status: 'unproven', size: cp.size, seenSize: seen.size, why: `cannot build a consistency proof from the log's tiles: ${(err as Error).message}` } as const;
      }
      const why = consistencyFailure(m, n, proof, rootM, rootN);
      if (why)
        throw new AssayError(
          'SPLIT_VIEW',
          `split view: checkpoint of size ${m} (root ${b64(rootM)}) is not a prefix of checkpoint of size ${n} (root ${b64(rootN)}) of log ${cp.origin} (the larger seen by this verifier, kept in ${file}): ${why}`,
          where,
        );
      const larger = cp.size > seen.size;
      if (larger) record();
      return { status: 'consistent', size: cp.size, seenSize: seen.size, recorded: larger } as const;
    },
    { what: `checkpoint state ${file}` },
  );
}
