import { AssayError, type Location } from '../common/errors.js';
import {
  HASH_SIZE, consistencyRanges, foldRight, inclusionRanges, nodeHash, rangeNodes, type NodeId, type NodeReader, type Range,
} from './merkle.js';

/**
 * C2SP tlog-tiles layout (pure: paths, tile arithmetic, bundle codec, proof assembly).
 *
 *   checkpoint                     signed checkpoint note
 *   tile/<L>/<N>                   full hash tile: 256 × 32-byte hashes
 *   tile/<L>/<N>.p/<W>             partial hash tile: the first W (1..255) hashes
 *   tile/entries/<N>[.p/<W>]       entry bundle: entries N·256 …, each as u16be length ‖ bytes
 *
 * A level-L tile holds the hashes of tree level 8·L: hashes N·256 … of the perfect subtrees over
 * 256^L leaves each. Any other node is recomputed from at most 128 hashes of one tile.
 * <N> is written in 3-digit groups, each but the last prefixed with "x": 1234067 → x001/x234/067.
 */

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
export const MAX_ENTRY_SIZE = 0xffff;

export function encodeTileIndex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`tile index must be a non-negative integer, got ${n}`);
  let s = String(n);
  s = s.padStart(Math.ceil(s.length / 3) * 3, '0');
  const groups = s.match(/\d{3}/g)!;
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/** Inverse of encodeTileIndex; null when the text is not a canonical encoding. */
export function decodeTileIndex(s: string): number | null {
  if (!/^(x\d{3}\/)*\d{3}$/.test(s)) return null;
  const n = Number(s.replace(/[x/]/g, ''));
  return Number.isSafeInteger(n) && encodeTileIndex(n) === s ? n : null;
}

const widthSuffix = (width: number) => {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) throw new RangeError(`tile width must be 1..256, got ${width}`);
  return width === TILE_WIDTH ? '' : `.p/${width}`;
};

export const tilePath = (level: number, index: number, width = TILE_WIDTH): string => `tile/${level}/${encodeTileIndex(index)}${widthSuffix(width)}`;
export const entriesPath = (index: number, width = TILE_WIDTH): string => `tile/entries/${encodeTileIndex(index)}${widthSuffix(width)}`;

/** Matches exactly the paths a tiles log serves (used to whitelist requests). */
export const SERVABLE_PATH = /^(checkpoint|tile\/(?:entries|\d{1,2})\/(?:x\d{3}\/)*\d{3}(?:\.p\/(?:[1-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-5]))?)$/;

/** Number of stored hashes at tree level 8·L for a tree of `size` leaves. */
export const levelCount = (level: number, size: number): number => Math.floor(size / TILE_WIDTH ** level);

/** Width of tile (L, N) in a tree of `size` leaves: 256, 1..255 (partial), or 0 (does not exist). */
export function tileWidth(level: number, index: number, size: number): number {
  const c = levelCount(level, size);
  return Math.max(0, Math.min(TILE_WIDTH, c - index * TILE_WIDTH));
}

/** Where node (h, i) lives: tile level/index and the run of stored hashes it folds. */
export function tileForNode(level: number, index: number): { tileLevel: number; tileIndex: number; offset: number; count: number } {
  const tileLevel = Math.floor(level / TILE_HEIGHT);
  const count = 2 ** (level - tileLevel * TILE_HEIGHT);
  const first = index * count;
  return { tileLevel, tileIndex: Math.floor(first / TILE_WIDTH), offset: first % TILE_WIDTH, count };
}

/** Root of the `count` (a power of two) consecutive hashes at `offset` in a tile. */
export function hashInTile(tile: Uint8Array, offset: number, count: number): Uint8Array {
  let row: Uint8Array[] = [];
  for (let k = 0; k < count; k++) row.push(tile.subarray((offset + k) * HASH_SIZE, (offset + k + 1) * HASH_SIZE));
  while (row.length > 1) {
    const next: Uint8Array[] = [];
    for (let k = 0; k < row.length; k += 2) next.push(nodeHash(row[k]!, row[k + 1]!));
    row = next;
  }
  return row[0]!;
}

/** Root of a full 256-hash tile: the level-8(L+1) hash it contributes to the tile above. */
export const tileRoot = (hashes: readonly Uint8Array[]): Uint8Array => hashInTile(Buffer.concat(hashes), 0, TILE_WIDTH);

export function formatEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    if (e.length > MAX_ENTRY_SIZE) throw new RangeError(`entry of ${e.length} bytes exceeds ${MAX_ENTRY_SIZE}`);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(e.length);
    parts.push(len, e);
  }
  return Buffer.concat(parts);
}

export function parseEntryBundle(data: Uint8Array, where: Location = {}): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < data.length) {
    if (at + 2 > data.length) throw new AssayError('TILE_FORMAT', `entry bundle ends inside a length prefix at byte ${at}`, where);
    const len = (data[at]! << 8) | data[at + 1]!;
    if (at + 2 + len > data.length) throw new AssayError('TILE_FORMAT', `entry ${out.length} at byte ${at} claims ${len} bytes but the bundle ends first`, where);
    out.push(data.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading a log through its tiles.

/** Fetches a file of the log by its relative path; null when it does not exist. */
export type TileFetch = (path: string) => Promise<Uint8Array | null>;

/**
 * Reads the tree of one checkpoint (`size` leaves) through tiles: each needed tile is fetched
 * once, proofs are assembled from the hashes. Works for any log following tlog-tiles.
 */
export class TileReader {
  private readonly tiles = new Map<string, Uint8Array>();
  constructor(
    private readonly fetch: TileFetch,
    readonly size: number,
    private readonly where: Location = {},
    /** Size of a newer checkpoint of the same log, whose (wider) partial tiles may be read instead. */
    private readonly newerSize?: number,
  ) {}

  /** Tile (L, N) as of this tree size; falls back to the full tile when a partial was pruned. */
  async tile(level: number, index: number): Promise<Uint8Array> {
    const width = tileWidth(level, index, this.size);
    const key = `${level}/${index}`;
    const cached = this.tiles.get(key);
    if (cached) return cached;
    if (width === 0) throw new AssayError('TILE_MISSING', `tile ${level}/${index} is beyond tree size ${this.size}`, this.where);
    // A partial tile may have been replaced by a wider one or the full tile: its prefix is the same.
    let data = await this.fetch(tilePath(level, index, width));
    const wider = this.newerSize === undefined ? 0 : tileWidth(level, index, this.newerSize);
    if (!data && width < wider && wider < TILE_WIDTH) data = await this.fetch(tilePath(level, index, wider));
    if (!data && width < TILE_WIDTH) data = await this.fetch(tilePath(level, index));
    if (!data) throw new AssayError('TILE_MISSING', `hash tile ${tilePath(level, index, width)} is missing`, { ...this.where, field: tilePath(level, index, width) });
    if (data.length < width * HASH_SIZE || (width === TILE_WIDTH ? data.length !== width * HASH_SIZE : data.length % HASH_SIZE !== 0))
      throw new AssayError('TILE_FORMAT', `hash tile ${tilePath(level, index, width)} has ${data.length} bytes, expected ${width * HASH_SIZE}`, this.where);
    data = data.subarray(0, width * HASH_SIZE);
    this.tiles.set(key, data);
    return data;
  }

  async prefetch(nodes: readonly NodeId[]): Promise<void> {
    const want = new Map<string, [number, number]>();
    for (const n of nodes) {
      const t = tileForNode(n.level, n.index);
      want.set(`${t.tileLevel}/${t.tileIndex}`, [t.tileLevel, t.tileIndex]);
    }
    await Promise.all([...want.values()].map(([l, i]) => this.tile(l, i)));
  }

  /** Synchronous node lookup; the node's tile must have been prefetched. */
  readonly node: NodeReader = (level, index) => {
    const t = tileForNode(level, index);
    const data = this.tiles.get(`${t.tileLevel}/${t.tileIndex}`);
    if (!data) throw new Error(`internal: tile ${t.tileLevel}/${t.tileIndex} not prefetched`);
    return hashInTile(data, t.offset, t.count);
  };

  private async hashes(ranges: readonly Range[]): Promise<Uint8Array[]> {
    const nodes = ranges.map(rangeNodes);
    await this.prefetch(nodes.flat());
    return nodes.map((ns) => foldRight(ns.map((n) => this.node(n.level, n.index))));
  }

  async root(): Promise<Uint8Array> {
    return this.size === 0 ? foldRight([]) : (await this.hashes([[0, this.size]]))[0]!;
  }
  inclusionProof(index: number): Promise<Uint8Array[]> {
    return this.hashes(inclusionRanges(index, this.size));
  }
  consistencyProof(oldSize: number): Promise<Uint8Array[]> {
    return this.hashes(consistencyRanges(oldSize, this.size));
  }
  /** Leaf hash of entry `index` (from the level-0 tile). */
  async leafHash(index: number): Promise<Uint8Array> {
    await this.prefetch([{ level: 0, index }]);
    return this.node(0, index);
  }

  /** Finds the index of a leaf hash by scanning the level-0 tiles (reads size × 32 bytes). */
  async findLeaf(leaf: Uint8Array): Promise<number | null> {
    const want = Buffer.from(leaf);
    for (let n = 0; n * TILE_WIDTH < this.size; n++) {
      const data = Buffer.from(await this.tile(0, n));
      for (let off = data.indexOf(want); off >= 0; off = data.indexOf(want, off + 1)) if (off % HASH_SIZE === 0) return n * TILE_WIDTH + off / HASH_SIZE;
      this.tiles.delete(`0/${n}`); // don't hold the whole bottom level in memory
    }
    return null;
  }

  /** Entry `index` from its bundle. */
  async entry(index: number): Promise<Uint8Array> {
    if (index >= this.size) throw new AssayError('TILE_MISSING', `entry ${index} is beyond tree size ${this.size}`, this.where);
    const n = Math.floor(index / TILE_WIDTH);
    const width = tileWidth(0, n, this.size);
    let data = await this.fetch(entriesPath(n, width));
    const wider = this.newerSize === undefined ? 0 : tileWidth(0, n, this.newerSize);
    if (!data && width < wider && wider < TILE_WIDTH) data = await this.fetch(entriesPath(n, wider));
    if (!data && width < TILE_WIDTH) data = await this.fetch(entriesPath(n));
    if (!data) throw new AssayError('TILE_MISSING', `entry bundle ${entriesPath(n, width)} is missing`, this.where);
    const entries = parseEntryBundle(data, { ...this.where, field: entriesPath(n, width) });
    const e = entries[index % TILE_WIDTH];
    if (!e || entries.length < width || entries.length > TILE_WIDTH) throw new AssayError('TILE_FORMAT', `entry bundle ${entriesPath(n, width)} holds ${entries.length} entries, expected ${width}`, this.where);
    return e;
  }
}
