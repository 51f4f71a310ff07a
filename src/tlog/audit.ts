import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { problemOf } from '../common/errors.js';
import { openCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import { fetchCheckpoint, type LogSource } from './client.js';
import { HASH_SIZE, MemoryTree, bytesEqual, leafHash } from './merkle.js';
import { ed25519Verifier } from './note.js';
import { TILE_WIDTH, decodeTileIndex, entriesPath, levelCount, parseEntryBundle, tilePath, tileRoot } from './tiles.js';

/**
 * `assay log audit`: recomputes a log from its entry bundles alone — every leaf hash, every hash
 * tile and the root — and compares that with what the log publishes: the signed checkpoint, every
 * tile and bundle file (for a local directory, every file under `tile/`, partial ones included),
 * and any other checkpoints of the log the auditor holds (each must describe a prefix of the
 * recomputed tree; one larger than the log's current tree means the log was rolled back).
 *
 * Cost: one pass over all bundles and tiles; memory 32 bytes per entry (all leaf hashes) plus
 * the upper levels.
 */

export interface AuditProblem {
  /** A log path (`tile/0/005`), `checkpoint`, or the source of a checkpoint given to check. */
  where: string;
  message: string;
  kind: 'corrupt' | 'fork' | 'rollback';
}

export interface AuditResult {
  origin: string;
  size: number;
  root: string;
  /** Files read and checked. */
  filesChecked: number;
  /** Other checkpoints checked against the recomputed tree. */
  checkpoints: { source: string; size: number; ok: boolean }[];
  problems: AuditProblem[];
}

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

export async function auditLog(src: LogSource, vkey: string, opts: { checkpoints?: { text: string; source: string }[]; localDir?: string } = {}): Promise<AuditResult> {
  const cp = await fetchCheckpoint(src, vkey);
  const size = cp.size;
  const problems: AuditProblem[] = [];
  const corrupt = (where: string, message: string) => void problems.push({ where, message, kind: 'corrupt' });
  let filesChecked = 0;

  // 1. Leaves from the entry bundles.
  const leaves: Uint8Array[] = [];
  const bundles = Math.ceil(size / TILE_WIDTH);
  let leavesOk = true;
  for (let n = 0; n < bundles; n++) {
    const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
    let path = entriesPath(n, width);
    let data = await src.fetch(path);
    // A pruned partial bundle: a wider one (written by a later batch) has the same prefix.
    if (!data && width < TILE_WIDTH) data = await src.fetch((path = entriesPath(n)));
    filesChecked++;
    if (!data) {
      corrupt(entriesPath(n, width), `entry bundle is missing: entries ${n * TILE_WIDTH}…${n * TILE_WIDTH + width - 1} cannot be recomputed`);
      leavesOk = false;
      break;
    }
    let entries: Uint8Array[];
    try {
      entries = parseEntryBundle(data, { file: path });
    } catch (err) {
      corrupt(path, problemOf(err));
      leavesOk = false;
      break;
    }
    if (entries.length < width || (path === entriesPath(n, width) && entries.length !== width)) {
      corrupt(path, `entry bundle holds ${entries.length} entries, expected ${width}`);
      leavesOk = false;
      break;
    }
    for (const e of entries.slice(0, width)) leaves.push(leafHash(e));
  }
  if (!leavesOk) return { origin: cp.origin, size, root: b64(cp.root), filesChecked, checkpoints: [], problems };

  // 2. Every level of tiles, recomputed, against the published tiles.
  const tree = new MemoryTree(leaves);
  const levels: Uint8Array[][] = [leaves];
  for (let L = 0; levelCount(L + 1, size) > 0; L++) {
    const row = levels[L]!;
    const next: Uint8Array[] = [];
    for (let t = 0; (t + 1) * TILE_WIDTH <= row.length; t++) next.push(tileRoot(row.slice(t * TILE_WIDTH, (t + 1) * TILE_WIDTH)));
    levels.push(next);
  }
  const expectTile = (L: number, n: number, width: number) => Buffer.concat(levels[L]!.slice(n * TILE_WIDTH, n * TILE_WIDTH + width));
  for (let L = 0; L < levels.length; L++) {
    const c = levels[L]!.length;
    for (let n = 0; n * TILE_WIDTH < c; n++) {
      const width = Math.min(TILE_WIDTH, c - n * TILE_WIDTH);
      let path = tilePath(L, n, width);
      let data = await src.fetch(path);
      if (!data && width < TILE_WIDTH) data = await src.fetch((path = tilePath(L, n)));
      filesChecked++;
      if (!data) {
        corrupt(tilePath(L, n, width), 'hash tile is missing');
        continue;
      }
      const want = expectTile(L, n, width);
      const full = path === tilePath(L, n) && width === TILE_WIDTH;
      if ((full || path === tilePath(L, n, width)) && data.length !== want.length) corrupt(path, `hash tile has ${data.length} bytes, expected ${want.length}`);
      else if (!bytesEqual(data.subarray(0, want.length), want)) corrupt(path, `hash tile differs from the hashes recomputed from the entry bundles (first difference at hash ${firstDiff(data, want)})`);
    }
  }

  // 3. The root against the signed checkpoint.
  const root = tree.root(size);
  if (!bytesEqual(root, cp.root)) corrupt('checkpoint', `the entry bundles give root ${b64(root)} at size ${size}, but the signed checkpoint says ${b64(cp.root)}`);

  // 4. Local directory: every file under tile/ must be part of this tree and hold what it should.
  if (opts.localDir) filesChecked += checkStrayFiles(opts.localDir, size, levels, corrupt);

  // 5. Other checkpoints of this log held by the auditor.
  const checkpoints: AuditResult['checkpoints'] = [];
  for (const c of opts.checkpoints ?? []) {
    let other: SignedCheckpoint;
    try {
      other = openCheckpoint(c.text, [ed25519Verifier(vkey)], { origin: cp.origin, where: { file: c.source } });
    } catch (err) {
      problems.push({ where: c.source, message: problemOf(err), kind: 'corrupt' });
      checkpoints.push({ source: c.source, size: -1, ok: false });
      continue;
    }
    let bad: AuditProblem | null = null;
    if (other.size > size)
      bad = { where: c.source, kind: 'rollback', message: `checkpoint of size ${other.size} is larger than the log's current tree (size ${size}): the log rolled back, or forked` };
    else if (!bytesEqual(tree.root(other.size), other.root))
      bad = {
        where: c.source,
        kind: 'fork',
        message: `split view: checkpoint of size ${other.size} has root ${b64(other.root)}, but the log's entries give ${b64(tree.root(other.size))} at that size; keep both signed checkpoints as evidence`,
      };
    if (bad) problems.push(bad);
    checkpoints.push({ source: c.source, size: other.size, ok: !bad });
  }
  return { origin: cp.origin, size, root: b64(cp.root), filesChecked, checkpoints, problems };
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return Math.floor(i / HASH_SIZE);
  return Math.floor(Math.min(a.length, b.length) / HASH_SIZE);
}

/** Checks every file under `<dir>/tile`: a known path, inside the tree, with the right content. */
function checkStrayFiles(dir: string, size: number, levels: Uint8Array[][], corrupt: (where: string, msg: string) => void): number {
  const root = join(dir, 'tile');
  const files: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(relative(dir, p));
    }
  };
  walk(root);
  let checked = 0;
  for (const rel of files) {
    const m = /^tile\/(entries|\d{1,2})\/((?:x\d{3}\/)*\d{3})(?:\.p\/(\d{1,3}))?$/.exec(rel);
    const index = m ? decodeTileIndex(m[2]!) : null;
    const width = m?.[3] ? Number(m[3]) : TILE_WIDTH;
    if (!m || index === null || width < 1 || width > TILE_WIDTH || (m[3] && width === TILE_WIDTH)) {
      corrupt(rel, 'not a tiles-log file name (temporary or foreign file in the published tree)');
      continue;
    }
    const level = m[1] === 'entries' ? 0 : Number(m[1]);
    if (index * TILE_WIDTH + width > levelCount(level, size)) {
      corrupt(rel, `lies beyond the checkpoint's tree of size ${size}`);
      continue;
    }
    checked++;
    const data = readFileSync(join(dir, rel));
    if (m[1] === 'entries') {
      let entries: Uint8Array[];
      try {
        entries = parseEntryBundle(data, { file: rel });
      } catch (err) {
        corrupt(rel, problemOf(err));
        continue;
      }
      if (entries.length !== width) corrupt(rel, `entry bundle holds ${entries.length} entries, expected ${width}`);
      else if (entries.some((e, k) => !bytesEqual(leafHash(e), levels[0]![index * TILE_WIDTH + k]!))) corrupt(rel, 'entry bundle differs from the entries the tree was recomputed from');
      continue;
    }
    const want = Buffer.concat(levels[level]!.slice(index * TILE_WIDTH, index * TILE_WIDTH + width));
    if (!bytesEqual(data, want)) corrupt(rel, `hash tile differs from the hashes recomputed from the entry bundles${data.length === want.length ? '' : ` (${data.length} bytes, expected ${want.length})`}`);
  }
  return checked;
}
