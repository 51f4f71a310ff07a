import type { KeyObject } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AssayError } from '../common/errors.js';
import { formatCheckpoint, openCheckpoint, parseCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import {
  EMPTY_ROOT, HASH_SIZE, bytesEqual, consistencyProofFrom, inclusionProofFrom, leafHash, rootFrom, type NodeReader,
} from './merkle.js';
import { ed25519Signer, ed25519Verifier, formatNote, parseNote, signNote, type NoteSignature } from './note.js';
import {
  MAX_ENTRY_SIZE, TILE_WIDTH, entriesPath, formatEntryBundle, hashInTile, levelCount, parseEntryBundle, tileForNode, tilePath, tileRoot, tileWidth,
} from './tiles.js';

/**
 * A single-writer tiles log in a local directory (layout: see tiles.ts), plus two private files
 * that are never served: `.lock` (writer's pid) and `.pending` (the batch journal).
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
const LOCK = '.lock';

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

  private constructor(
    readonly dir: string,
    readonly origin: string,
    private readonly signer: ReturnType<typeof ed25519Signer>,
    cp: SignedCheckpoint,
    private readonly fault?: OpenOptions['faultInjection'],
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
   * Opens (creating if absent) the log in `dir`. Takes the writer lock, rolls back an interrupted
   * batch, and checks the tiles reproduce the checkpoint's root.
   */
  static open(dir: string, opts: OpenOptions): LocalLog {
    const signer = ed25519Signer(opts.origin, opts.signerKey);
    dir = resolve(dir);
    mkdirSync(dir, { recursive: true });
    takeLock(dir);
    try {
      const cpFile = join(dir, 'checkpoint');
      if (!existsSync(cpFile)) {
        if (existsSync(join(dir, 'tile'))) throw new AssayError('LOG_CORRUPT', 'has tiles but no checkpoint; refusing to start a new log over them', { file: dir });
        writeDurable(cpFile, signNote(formatCheckpoint({ origin: opts.origin, size: 0, root: EMPTY_ROOT, extensions: [] }), [signer]));
        fsyncDir(dir);
      }
      const text = readFileSync(cpFile, 'utf8');
      const origin = parseCheckpoint(parseNote(text, { file: cpFile }).text, { file: cpFile }).origin;
      if (origin !== opts.origin) throw new AssayError('LOG_ORIGIN', `log has origin ${JSON.stringify(origin)}, not ${JSON.stringify(opts.origin)}`, { file: cpFile });
      const cp = openCheckpoint(text, [ed25519Verifier(signer.vkey)], { origin: opts.origin, where: { file: cpFile } });
      const log = new LocalLog(dir, opts.origin, signer, cp, opts.faultInjection);
      log.recover();
      log.load();
      return log;
    } catch (err) {
      releaseLock(dir);
      throw err;
    }
  }

  /** Releases the writer lock. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    releaseLock(this.dir);
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
  append(entries: readonly Uint8Array[]): AppendResult {
    if (this.closed) throw new AssayError('LOG_CLOSED', 'log is closed', { file: this.dir });
    entries.forEach((e, i) => {
      if (!(e instanceof Uint8Array)) throw new AssayError('USAGE', `entry ${i} is not bytes`);
      if (e.length > MAX_ENTRY_SIZE) throw new AssayError('ENTRY_FORMAT', `entry ${i} has ${e.length} bytes; tiles allow at most ${MAX_ENTRY_SIZE}`);
    });
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
  attachCosignatures(cosignedNote: string): number {
    const incoming = parseNote(cosignedNote);
    const cur = parseNote(this.current.noteText);
    if (incoming.text !== cur.text) return 0;
    const have = new Set(cur.sigs.map((s) => `${s.name}+${s.keyId}`));
    const add: NoteSignature[] = incoming.sigs.filter((s) => !have.has(`${s.name}+${s.keyId}`));
    if (!add.length) return 0;
    const text = formatNote({ text: cur.text, sigs: [...cur.sigs, ...add] });
    writeDurable(join(this.dir, 'checkpoint'), text);
    fsyncDir(this.dir);
    this.current = openCheckpoint(text, [ed25519Verifier(this.signer.vkey)], { origin: this.origin });
    return add.length;
  }
}

/**
 * Adds cosignature lines to the checkpoint published in `dir` when no LocalLog is open on it
 * (takes the writer lock; needs no signing key). Same rule as LocalLog.attachCosignatures.
 */
export function attachCosignatures(dir: string, cosignedNote: string): number {
  dir = resolve(dir);
  takeLock(dir);
  try {
    const file = join(dir, 'checkpoint');
    const cur = parseNote(readFileSync(file, 'utf8'), { file });
    const incoming = parseNote(cosignedNote);
    if (incoming.text !== cur.text) return 0;
    const add = incoming.sigs.filter((s) => !cur.sigs.some((c) => c.name === s.name && c.keyId === s.keyId));
    if (!add.length) return 0;
    writeDurable(file, formatNote({ text: cur.text, sigs: [...cur.sigs, ...add] }));
    fsyncDir(dir);
    return add.length;
  } finally {
    releaseLock(dir);
  }
}

// ---------------------------------------------------------------------------------------------
// Writer lock: one process appends at a time. A lock whose pid is gone is stale and taken over.

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const takeLock = (dir: string) => takeLockFile(join(dir, LOCK), dir);
const releaseLock = (dir: string) => rmSync(join(dir, LOCK), { force: true });

/** Takes an exclusive lock file holding our pid; a lock left by a dead process is taken over. */
export function takeLockFile(file: string, what = file): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid))
        throw new AssayError('LOCKED', `is in use by process ${pid} (lock file ${file})`, { file: what });
      if (pid === process.pid) throw new AssayError('LOCKED', `is already in use in this process (lock file ${file})`, { file: what });
      rmSync(file, { force: true });
    }
  }
  throw new AssayError('LOCKED', `could not take the lock ${file}`, { file: what });
}

/** True if `dir` holds a tiles log (a checkpoint file). */
export const isLogDir = (dir: string): boolean => {
  try {
    return statSync(join(dir, 'checkpoint')).isFile();
  } catch {
    return false;
  }
};
