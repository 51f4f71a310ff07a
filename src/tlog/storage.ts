import type { KeyObject } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AssayError } from '../common/errors.js';
import { withLock, type LockOptions } from '../common/lock.js';
import { formatCheckpoint, openCheckpoint, parseCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import {
  EMPTY_ROOT, HASH_SIZE, bytesEqual, consistencyProofFrom, inclusionProofFrom, leafHash, rootFrom, type NodeReader,
} from './merkle.js';
import { ed25519Signer, ed25519Verifier, formatNote, parseNote, signNote, type NoteSignature } from './note.js';
import {
  MAX_ENTRY_SIZE, TILE_WIDTH, entriesPath, formatEntryBundle, hashInTile, levelCount, parseEntryBundle, tileForNode, tilePath, tileRoot, tileWidth,
} from './tiles.js';

/**
 * A tiles log in a local directory (layout: see tiles.ts), plus private files that are never
 * served: `.writer.lock` (the writer lock, src/common/lock.ts) and `.pending` (the batch journal).
 *
 * Writer model. Any number of processes may hold a LocalLog on one directory; each append runs
 * under the directory's exclusive writer lock, which the kernel releases when its holder dies (no
 * pid files, no staleness rules), and waits for it (default 30 s) rather than failing. Under the
 * lock the writer first re-reads the on-disk state — another process may have appended, or died
 * mid-batch — and only then computes and writes its batch. A LocalLog's read methods (size, root,
 * proofs, entry) answer for the state it last saw (open, or its last append / refresh).
 *
 * Crash safety. A batch is: (1) journal the tiles/bundles it will create, atomically; (2) write
 * each to a temp file, fsync, rename into place, fsync its directory; (3) write the new signed
 * checkpoint the same way — the commit point; (4) drop the journal. A checkpoint therefore never
 * names data that is not durable. On open, a journal left by a crash is rolled back: every file
 * it lists that lies beyond the checkpoint's tree is deleted, so an interrupted batch is never
 * half-visible and the caller (who got no answer) simply appends again — appends are idempotent
 * by leaf hash, so a retry of a batch that did commit returns the existing indices.
 */

export interface OpenOptions {
  /** Log identity, e.g. "example.org/assay/log/v1"; also the checkpoint key name. */
  origin: string;
  /** Ed25519 private key that signs checkpoints. */
  signerKey: KeyObject;
  /** Tests only: called at each commit stage; throwing there simulates a crash at that point. */
  faultInjection?: (stage: 'journaled' | 'data-written') => void;
  /** How long an append waits for another writer (ms; default 30,000). */
  lockTimeoutMs?: number;
}

export interface AppendResult {
  /** Index the first new entry got (= tree size before the batch). */
  firstIndex: number;
  /** Index of each input entry, in order (existing index for entries already logged). */
  indices: number[];
  /** Tree size after the batch. */
  size: number;
  /** The signed checkpoint note published for the batch. */
  checkpoint: string;
}

interface JournalItem {
  kind: 'tile' | 'entries';
  level: number;
  index: number;
  width: number;
}

const JOURNAL = '.pending';
/** The writer lock (a SQLite file held in BEGIN EXCLUSIVE; see src/common/lock.ts). */
export const WRITER_LOCK = '.writer.lock';

const itemPath = (it: JournalItem) => (it.kind === 'tile' ? tilePath(it.level, it.index, it.width) : entriesPath(it.index, it.width));
/** Whether a file the journal lists belongs to the tree of `size` leaves. */
const itemValid = (it: JournalItem, size: number) => it.index * TILE_WIDTH + it.width <= levelCount(it.kind === 'tile' ? it.level : 0, size);

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Write-to-temp, fsync, rename. The caller fsyncs the directory (once per batch and directory). */
export function writeDurable(file: string, data: Uint8Array | string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    for (let at = 0; at < buf.length; ) at += writeSync(fd, buf, at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

const key = (h: Uint8Array) => Buffer.from(h).toString('latin1');

export class LocalLog {
  private rows: Uint8Array[][] = []; // rows[L]: hashes of the rightmost, incomplete level-L tile
  private bundle: Uint8Array[] = []; // entries of the rightmost, incomplete entry bundle
  private index: Map<string, number> | null = null; // leaf hash → index, built on first append
  private readonly cache = new Map<string, Uint8Array>(); // full tiles read back from disk
  private current: SignedCheckpoint;
  private closed = false;
  private loaded = false;

  private constructor(
    readonly dir: string,
    readonly origin: string,
    private readonly signer: ReturnType<typeof ed25519Signer>,
    cp: SignedCheckpoint,
    private readonly fault?: OpenOptions['faultInjection'],
    private readonly lockTimeoutMs = 30_000,
  ) {
    this.current = cp;
  }

  /** The log's verifier key (`name+keyid+base64`), for clients and witnesses. */
  get vkey(): string {
    return this.signer.vkey;
  }
  get size(): number {
    return this.current.size;
  }
  get root(): Uint8Array {
    return this.current.root;
  }

  /**
   * Opens (creating if absent) the log in `dir`. Under the writer lock: rolls back an interrupted
   * batch and checks the tiles reproduce the checkpoint's root. The lock is not kept.
   */
  static async open(dir: string, opts: OpenOptions): Promise<LocalLog> {
    const signer = ed25519Signer(opts.origin, opts.signerKey);
    dir = resolve(dir);
    createLogDir(dir, opts.origin, opts.signerKey);
    const log = new LocalLog(dir, opts.origin, signer, readCheckpoint(dir, opts.origin, signer.vkey), opts.faultInjection, opts.lockTimeoutMs);
    await log.locked(() => undefined);
    return log;
  }

  /** No lock is held between operations; this only makes further appends fail. */
  close(): void {
    this.closed = true;
  }

  /** Re-reads the on-disk state under the writer lock (recovering an interrupted batch). */
  async refresh(): Promise<void> {
    await this.locked(() => undefined);
  }

  /**
   * Runs `fn` under the writer lock, after re-reading the published checkpoint, rolling back any
   * batch a dead writer left half-done, and reloading the right edge when the tree changed.
   */
  private async locked<T>(fn: () => T, opts: LockOptions = {}): Promise<T> {
    return withLock(
      join(this.dir, WRITER_LOCK),
      () => {
        const cp = readCheckpoint(this.dir, this.origin, this.signer.vkey);
        if (cp.size < this.current.size)
          throw new AssayError('LOG_CORRUPT', `the published checkpoint has size ${cp.size}, smaller than the size ${this.current.size} this writer saw: the log directory was rolled back or replaced`, { file: this.dir });
        const changed = !this.loaded || cp.size !== this.current.size || !bytesEqual(cp.root, this.current.root);
        this.current = cp;
        this.recover();
        if (changed) {
          this.index = null; // another writer appended: rebuilt on the next append
          this.loaded = false;
          this.load();
          this.loaded = true;
        }
        return fn();
      },
      { timeoutMs: this.lockTimeoutMs, what: `transparency log ${this.dir}`, ...opts },
    );
  }

  /** The current signed checkpoint note. */
  checkpoint(): string {
    return this.current.noteText;
  }

  private recover(): void {
    const jf = join(this.dir, JOURNAL);
    rmSync(`${jf}.tmp`, { force: true });
    if (!existsSync(jf)) return;
    const { items } = JSON.parse(readFileSync(jf, 'utf8')) as { items: JournalItem[] };
    const dirs = new Set<string>();
    for (const it of items) {
      const p = join(this.dir, itemPath(it));
      rmSync(`${p}.tmp`, { force: true });
      if (!itemValid(it, this.size)) {
        rmSync(p, { force: true });
        dirs.add(dirname(p));
      }
    }
    for (const d of dirs) if (existsSync(d)) fsyncDir(d);
    unlinkSync(jf);
    fsyncDir(this.dir);
  }

  private readFile(rel: string): Uint8Array | null {
    try {
      return readFileSync(join(this.dir, rel));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Loads the right edge (incomplete tiles and bundle) and checks it reproduces the root. */
  private load(): void {
    const size = this.size;
    this.rows = [];
    for (let L = 0; levelCount(L, size) > 0; L++) {
      const c = levelCount(L, size);
      const w = c % TILE_WIDTH;
      const row: Uint8Array[] = [];
      if (w) {
        const rel = tilePath(L, Math.floor(c / TILE_WIDTH), w);
        const data = this.readFile(rel);
        if (!data || data.length !== w * HASH_SIZE) throw new AssayError('LOG_CORRUPT', `tile ${rel} is missing or has the wrong length for tree size ${size}`, { file: this.dir });
        for (let k = 0; k < w; k++) row.push(data.subarray(k * HASH_SIZE, (k + 1) * HASH_SIZE));
      }
      this.rows.push(row);
    }
    const w = size % TILE_WIDTH;
    this.bundle = [];
    if (w) {
      const rel = entriesPath(Math.floor(size / TILE_WIDTH), w);
      const data = this.readFile(rel);
      if (!data) throw new AssayError('LOG_CORRUPT', `entry bundle ${rel} is missing`, { file: this.dir });
      this.bundle = parseEntryBundle(data, { file: join(this.dir, rel) });
      if (this.bundle.length !== w) throw new AssayError('LOG_CORRUPT', `entry bundle ${rel} holds ${this.bundle.length} entries, expected ${w}`, { file: this.dir });
    }
    const root = rootFrom(this.node, size);
    if (!bytesEqual(root, this.root)) throw new AssayError('LOG_CORRUPT', `tiles do not reproduce the checkpoint root at size ${size}`, { file: this.dir });
  }

  /** Node lookup: the right edge from memory, completed subtrees from full tiles on disk. */
  private readonly node: NodeReader = (level, index) => {
    const t = tileForNode(level, index);
    const row = this.rows[t.tileLevel];
    if (row && t.tileIndex === Math.floor(levelCount(t.tileLevel, this.size) / TILE_WIDTH)) {
      if (t.offset + t.count > row.length) throw new RangeError(`node ${level}/${index} is not complete at size ${this.size}`);
      return hashInTile(Buffer.concat(row.slice(t.offset, t.offset + t.count)), 0, t.count);
    }
    return hashInTile(this.fullTile(t.tileLevel, t.tileIndex), t.offset, t.count);
  };

  private fullTile(level: number, index: number): Uint8Array {
    const k = `${level}/${index}`;
    let data = this.cache.get(k);
    if (!data) {
      const rel = tilePath(level, index);
      const d = this.readFile(rel);
      if (!d || d.length !== TILE_WIDTH * HASH_SIZE) throw new AssayError('LOG_CORRUPT', `full tile ${rel} is missing or truncated`, { file: this.dir });
      data = d;
      if (this.cache.size > 64) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(k, data);
    }
    return data;
  }

  private buildIndex(): Map<string, number> {
    const m = new Map<string, number>();
    const size = this.size;
    const full = Math.floor(size / TILE_WIDTH);
    for (let n = 0; n < full; n++) {
      const data = this.readFile(tilePath(0, n));
      if (!data || data.length !== TILE_WIDTH * HASH_SIZE) throw new AssayError('LOG_CORRUPT', `tile ${tilePath(0, n)} is missing or truncated`, { file: this.dir });
      for (let k = 0; k < TILE_WIDTH; k++) if (!m.has(key(data.subarray(k * HASH_SIZE, (k + 1) * HASH_SIZE)))) m.set(key(data.subarray(k * HASH_SIZE, (k + 1) * HASH_SIZE)), n * TILE_WIDTH + k);
    }
    this.rows[0]?.forEach((h, k) => {
      if (!m.has(key(h))) m.set(key(h), full * TILE_WIDTH + k);
    });
    return m;
  }

  /**
   * Appends a batch and publishes one checkpoint for it. Entries already in the log (same bytes)
   * are not added again; their existing index is returned.
   */
  async append(entries: readonly Uint8Array[]): Promise<AppendResult> {
    if (this.closed) throw new AssayError('LOG_CLOSED', 'log is closed', { file: this.dir });
    entries.forEach((e, i) => {
      if (!(e instanceof Uint8Array)) throw new AssayError('USAGE', `entry ${i} is not bytes`);
      if (e.length > MAX_ENTRY_SIZE) throw new AssayError('ENTRY_FORMAT', `entry ${i} has ${e.length} bytes; tiles allow at most ${MAX_ENTRY_SIZE}`);
    });
    return this.locked(() => this.appendLocked(entries));
  }

  private appendLocked(entries: readonly Uint8Array[]): AppendResult {
    this.index ??= this.buildIndex();
    const oldSize = this.size;
    const indices: number[] = [];
    const fresh: Array<{ data: Uint8Array; hash: Uint8Array }> = [];
    const batchIndex = new Map<string, number>();
    for (const data of entries) {
      const hash = leafHash(data);
      const k = key(hash);
      const known = this.index.get(k) ?? batchIndex.get(k);
      if (known !== undefined) {
        indices.push(known);
        continue;
      }
      const i = oldSize + fresh.length;
      batchIndex.set(k, i);
      fresh.push({ data, hash });
      indices.push(i);
    }
    if (!fresh.length) return { firstIndex: oldSize, indices, size: oldSize, checkpoint: this.checkpoint() };

    // Compute every file the batch creates, in memory, on copies of the right edge.
    const rows = this.rows.map((r) => r.slice());
    const bundle = this.bundle.slice();
    const writes: Array<{ item: JournalItem; data: Uint8Array }> = [];
    const dirtyLevels = new Set<number>();
    let entryDirty = false;
    let size = oldSize;
    const completedTiles: JournalItem[] = [];
    for (const { data, hash } of fresh) {
      bundle.push(data);
      entryDirty = true;
      if (bundle.length === TILE_WIDTH) {
        const item: JournalItem = { kind: 'entries', level: 0, index: Math.floor(size / TILE_WIDTH), width: TILE_WIDTH };
        writes.push({ item, data: formatEntryBundle(bundle) });
        completedTiles.push(item);
        bundle.length = 0;
        entryDirty = false;
      }
      size++;
      // Push the leaf hash up through every tile it completes.
      let h = hash;
      for (let L = 0; ; L++) {
        const row = (rows[L] ??= []);
        row.push(h);
        dirtyLevels.add(L);
        if (row.length < TILE_WIDTH) break;
        const item: JournalItem = { kind: 'tile', level: L, index: Math.floor(levelCount(L, size) / TILE_WIDTH) - 1, width: TILE_WIDTH };
        writes.push({ item, data: Buffer.concat(row) });
        completedTiles.push(item);
        h = tileRoot(row);
        rows[L] = [];
        dirtyLevels.delete(L);
      }
    }
    for (const L of dirtyLevels) {
      const row = rows[L]!;
      if (row.length) writes.push({ item: { kind: 'tile', level: L, index: Math.floor(levelCount(L, size) / TILE_WIDTH), width: row.length }, data: Buffer.concat(row) });
    }
    if (entryDirty && bundle.length) writes.push({ item: { kind: 'entries', level: 0, index: Math.floor(size / TILE_WIDTH), width: bundle.length }, data: formatEntryBundle(bundle) });

    // The new root from the new right edge (completed tiles of this batch are not on disk yet).
    const saved = { rows: this.rows, current: this.current };
    this.rows = rows;
    this.current = { ...this.current, size };
    const pending = new Map(writes.filter((w) => w.item.kind === 'tile' && w.item.width === TILE_WIDTH).map((w) => [`${w.item.level}/${w.item.index}`, w.data]));
    for (const [k, d] of pending) this.cache.set(k, d);
    let root: Uint8Array;
    try {
      root = rootFrom(this.node, size);
    } finally {
      this.rows = saved.rows;
      this.current = saved.current;
      for (const k of pending.keys()) this.cache.delete(k);
    }
    const noteText = signNote(formatCheckpoint({ origin: this.origin, size, root, extensions: [] }), [this.signer]);

    // (1) journal, (2) data files, (3) checkpoint, (4) drop journal.
    writeDurable(join(this.dir, JOURNAL), JSON.stringify({ oldSize, newSize: size, items: writes.map((w) => w.item) }));
    fsyncDir(this.dir);
    this.fault?.('journaled');
    const dirs = new Set<string>();
    const parentsOfNew = new Set<string>(); // a new directory is durable once its parent is synced
    for (const w of writes) {
      const p = join(this.dir, itemPath(w.item));
      for (let d = dirname(p); d.length > this.dir.length && !existsSync(d); d = dirname(d)) parentsOfNew.add(dirname(d));
      writeDurable(p, w.data);
      dirs.add(dirname(p));
    }
    for (const d of dirs) fsyncDir(d);
    for (const d of [...parentsOfNew].sort((a, b) => b.length - a.length)) fsyncDir(d);
    this.fault?.('data-written');
    writeDurable(join(this.dir, 'checkpoint'), noteText);
    fsyncDir(this.dir);
    unlinkSync(join(this.dir, JOURNAL));

    // Committed: adopt the new state.
    this.rows = rows;
    this.bundle = bundle;
    for (const f of fresh.entries()) this.index.set(key(f[1].hash), oldSize + f[0]);
    this.current = openCheckpoint(noteText, [ed25519Verifier(this.signer.vkey)], { origin: this.origin });
    // Partial tiles of tiles now full are superseded; readers fall back to the full tile.
    for (const it of completedTiles) rmSync(join(this.dir, `${itemPath(it)}.p`), { recursive: true, force: true });
    return { firstIndex: oldSize, indices, size, checkpoint: noteText };
  }

  /** Index of an entry already in the log, or null. */
  find(entry: Uint8Array): number | null {
    this.index ??= this.buildIndex();
    return this.index.get(key(leafHash(entry))) ?? null;
  }

  /** Entry bytes at `index`. */
  entry(index: number): Uint8Array {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) throw new AssayError('USAGE', `entry index ${index} is outside the log (size ${this.size})`);
    const n = Math.floor(index / TILE_WIDTH);
    if (n === Math.floor(this.size / TILE_WIDTH)) return this.bundle[index % TILE_WIDTH]!;
    const data = this.readFile(entriesPath(n));
    if (!data) throw new AssayError('LOG_CORRUPT', `entry bundle ${entriesPath(n)} is missing`, { file: this.dir });
    return parseEntryBundle(data)[index % TILE_WIDTH]!;
  }

  /** Root of the tree at an earlier size (from tiles). */
  rootAt(size: number): Uint8Array {
    this.checkSize(size);
    return rootFrom(this.node, size);
  }

  inclusionProof(index: number, size = this.size): Uint8Array[] {
    this.checkSize(size);
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new AssayError('USAGE', `entry index ${index} is outside a tree of size ${size}`);
    return inclusionProofFrom(this.node, index, size);
  }

  consistencyProof(oldSize: number, newSize = this.size): Uint8Array[] {
    this.checkSize(newSize);
    if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > newSize) throw new AssayError('USAGE', `old size ${oldSize} must be between 0 and ${newSize}`);
    return consistencyProofFrom(this.node, oldSize, newSize);
  }

  private checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size) throw new AssayError('USAGE', `tree size ${size} is outside the log (size ${this.size})`);
  }

  /**
   * Adds witness cosignature lines to the published checkpoint, if they are over its exact text
   * (cosignatures of an older checkpoint are dropped: they sign different text).
   */
  async attachCosignatures(cosignedNote: string): Promise<number> {
    return this.locked(() => {
      const n = addCosignatureLines(this.dir, cosignedNote);
      if (n) this.current = readCheckpoint(this.dir, this.origin, this.signer.vkey);
      return n;
    });
  }
}

/**
 * Adds cosignature lines to the checkpoint published in `dir` (under the writer lock; needs no
 * signing key). Same rule as LocalLog.attachCosignatures.
 */
export async function attachCosignatures(dir: string, cosignedNote: string, opts: LockOptions = {}): Promise<number> {
  dir = resolve(dir);
  return withLock(join(dir, WRITER_LOCK), () => addCosignatureLines(dir, cosignedNote), { what: `transparency log ${dir}`, ...opts });
}

/** Caller holds the writer lock. */
function addCosignatureLines(dir: string, cosignedNote: string): number {
  const file = join(dir, 'checkpoint');
  const cur = parseNote(readBounded(file), { file });
  const incoming = parseNote(cosignedNote);
  if (incoming.text !== cur.text) return 0;
  const add: NoteSignature[] = incoming.sigs.filter((s) => !cur.sigs.some((c) => c.name === s.name && c.keyId === s.keyId));
  if (!add.length) return 0;
  writeDurable(file, formatNote({ text: cur.text, sigs: [...cur.sigs, ...add] }));
  fsyncDir(dir);
  return add.length;
}

/** A checkpoint note is a few hundred bytes (100 signature lines at most); refuse to read more. */
export const MAX_CHECKPOINT_FILE = 64 * 1024;

/** Reads a checkpoint file, refusing one larger than `max` bytes without reading it whole. */
export function readBounded(file: string, max = MAX_CHECKPOINT_FILE): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(max + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r;
    if (n > max) throw new AssayError('LOG_CORRUPT', `checkpoint file is larger than ${max} bytes`, { file });
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Reads and verifies the published checkpoint (origin and the log's signature). */
function readCheckpoint(dir: string, origin: string, vkey: string): SignedCheckpoint {
  const cpFile = join(dir, 'checkpoint');
  const text = readBounded(cpFile);
  const found = parseCheckpoint(parseNote(text, { file: cpFile }).text, { file: cpFile }).origin;
  if (found !== origin) throw new AssayError('LOG_ORIGIN', `log has origin ${JSON.stringify(found)}, not ${JSON.stringify(origin)}`, { file: cpFile });
  return openCheckpoint(text, [ed25519Verifier(vkey)], { origin, where: { file: cpFile } });
}

/**
 * Creates `dir` holding the signed empty checkpoint, unless it has a checkpoint. Needs no lock:
 * the checkpoint is hard-linked into place, which fails if another process created it first.
 */
export function createLogDir(dir: string, origin: string, signerKey: KeyObject): void {
  mkdirSync(dir, { recursive: true });
  const cpFile = join(dir, 'checkpoint');
  if (existsSync(cpFile)) return;
  if (existsSync(join(dir, 'tile'))) throw new AssayError('LOG_CORRUPT', 'has tiles but no checkpoint; refusing to start a new log over them', { file: dir });
  const tmp = `${cpFile}.init-${process.pid}`;
  writeDurable(tmp, signNote(formatCheckpoint({ origin, size: 0, root: EMPTY_ROOT, extensions: [] }), [ed25519Signer(origin, signerKey)]));
  try {
    linkSync(tmp, cpFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  fsyncDir(dir);
}

/** True if `dir` holds a tiles log (a checkpoint file). */
export const isLogDir = (dir: string): boolean => {
  try {
    return statSync(join(dir, 'checkpoint')).isFile();
  } catch {
    return false;
  }
};
