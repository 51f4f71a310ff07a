import { createHash } from 'node:crypto';

/**
 * RFC 9162 (= RFC 6962) Merkle tree hashing, proofs and their verification. Pure.
 *
 * Sizes and indices are JavaScript numbers, exact below 2^53; halving uses division rather than
 * `>>`, which would truncate to 32 bits.
 *
 * A "node" (level h, index i) is the root of the perfect subtree over leaves [i·2^h, (i+1)·2^h).
 * Only perfect subtrees are ever stored (tiles, in-memory levels); every other subtree hash —
 * the right edge of an unbalanced tree — is recomputed from them.
 */

export const HASH_SIZE = 32;

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** MTH({d}) = SHA-256(0x00 ‖ d). */
export const leafHash = (data: Uint8Array): Uint8Array => sha256(LEAF_PREFIX, data);
/** SHA-256(0x01 ‖ left ‖ right). */
export const nodeHash = (left: Uint8Array, right: Uint8Array): Uint8Array => sha256(NODE_PREFIX, left, right);
/** MTH({}) = SHA-256(""). */
export const EMPTY_ROOT: Uint8Array = sha256();

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const half = (x: number) => Math.floor(x / 2);
const isOdd = (x: number) => x % 2 === 1;

/** Largest power of two strictly less than n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const isPow2 = (n: number) => n > 0 && 2 ** Math.round(Math.log2(n)) === n;

function checkSize(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative safe integer, got ${n}`);
}

// ---------------------------------------------------------------------------------------------
// Ranges: which subtree hashes a proof consists of, independent of where hashes are stored.

/** A half-open leaf range [start, end) whose RFC 9162 subtree hash MTH(D[start:end]) is wanted. */
export type Range = readonly [start: number, end: number];
/** A perfect subtree: level h, index i (covers leaves [i·2^h, (i+1)·2^h)). */
export interface NodeId {
  level: number;
  index: number;
}

/** Audit path PATH(m, D[n]) (RFC 9162 §2.1.3.1) as leaf ranges, listed from the leaf upwards. */
export function inclusionRanges(index: number, size: number): Range[] {
  checkSize('index', index);
  checkSize('size', size);
  if (index >= size) throw new RangeError(`index ${index} is not below tree size ${size}`);
  const out: Range[] = [];
  const path = (m: number, lo: number, hi: number): void => {
    const n = hi - lo;
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < k) {
      path(m, lo, lo + k);
      out.push([lo + k, hi]);
    } else {
      path(m - k, lo + k, hi);
      out.push([lo, lo + k]);
    }
  };
  path(index, 0, size);
  return out;
}

/** Consistency proof PROOF(m, D[n]) (RFC 9162 §2.1.4.1) as leaf ranges. Empty when m is 0 or m = n. */
export function consistencyRanges(m: number, n: number): Range[] {
  checkSize('old size', m);
  checkSize('new size', n);
  if (m > n) throw new RangeError(`old size ${m} is larger than new size ${n}`);
  if (m === 0 || m === n) return [];
  const out: Range[] = [];
  const sub = (m: number, lo: number, hi: number, b: boolean): void => {
    const n = hi - lo;
    if (m === n) {
      if (!b) out.push([lo, hi]);
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      sub(m, lo, lo + k, b);
      out.push([lo + k, hi]);
    } else {
      sub(m - k, lo + k, hi, false);
      out.push([lo, lo + k]);
    }
  };
  sub(m, 0, n, true);
  return out;
}

/**
 * The perfect subtrees whose fold is MTH(D[start:end]), largest (leftmost) first. Valid for the
 * ranges proofs and roots use: `start` is a multiple of the largest power of two not above
 * end − start. The hash is their right fold: H(p0, H(p1, … H(pk−1, pk))).
 */
export function rangeNodes([start, end]: Range): NodeId[] {
  const out: NodeId[] = [];
  let lo = start;
  while (lo < end) {
    let size = 1;
    while (size * 2 <= end - lo && lo % (size * 2) === 0) size *= 2;
    out.push({ level: Math.round(Math.log2(size)), index: lo / size });
    lo += size;
  }
  return out;
}

/** Right fold of node hashes into one subtree hash. */
export function foldRight(hashes: Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return EMPTY_ROOT;
  let acc = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) acc = nodeHash(hashes[i]!, acc);
  return acc;
}

/** Looks up a perfect-subtree hash. */
export type NodeReader = (level: number, index: number) => Uint8Array;

export const rangeHash = (read: NodeReader, range: Range): Uint8Array => foldRight(rangeNodes(range).map((n) => read(n.level, n.index)));
export const rootFrom = (read: NodeReader, size: number): Uint8Array => (size === 0 ? EMPTY_ROOT : rangeHash(read, [0, size]));
export const inclusionProofFrom = (read: NodeReader, index: number, size: number): Uint8Array[] =>
  inclusionRanges(index, size).map((r) => rangeHash(read, r));
export const consistencyProofFrom = (read: NodeReader, m: number, n: number): Uint8Array[] =>
  consistencyRanges(m, n).map((r) => rangeHash(read, r));

// ---------------------------------------------------------------------------------------------
// In-memory trees (e.g. a run's per-sample transcript digests).

/** All perfect-subtree hashes over a list of leaf hashes: levels[h][i]. O(n) memory. */
export class MemoryTree {
  readonly levels: Uint8Array[][];
  constructor(leafHashes: readonly Uint8Array[]) {
    this.levels = [leafHashes.slice()];
    for (let row = this.levels[0]!; row.length > 1; ) {
      const next: Uint8Array[] = [];
      for (let i = 0; i + 1 < row.length; i += 2) next.push(nodeHash(row[i]!, row[i + 1]!));
      this.levels.push(next);
      row = next;
    }
  }
  get size(): number {
    return this.levels[0]!.length;
  }
  readonly node: NodeReader = (level, index) => {
    const h = this.levels[level]?.[index];
    if (!h) throw new RangeError(`no node at level ${level} index ${index} in a tree of ${this.size} leaves`);
    return h;
  };
  root(size = this.size): Uint8Array {
    return rootFrom(this.node, size);
  }
  inclusionProof(index: number, size = this.size): Uint8Array[] {
    return inclusionProofFrom(this.node, index, size);
  }
  consistencyProof(m: number, n = this.size): Uint8Array[] {
    return consistencyProofFrom(this.node, m, n);
  }
}

/**
 * MTH over a list of leaf hashes (already H(0x00 ‖ d)), in O(log n) memory: a compact range of
 * the right border, merging equal-height roots as leaves arrive. Empty list → SHA-256("").
 */
export function merkleRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  const stack: Uint8Array[] = [];
  for (let i = 0; i < leafHashes.length; i++) {
    let h = leafHashes[i]!;
    // Each trailing 1 bit of i is a completed left sibling to merge with.
    for (let j = i; j % 2 === 1; j = half(j)) h = nodeHash(stack.pop()!, h);
    stack.push(h);
  }
  return foldRight(stack);
}

/** Audit path for leaf `index` in the tree of all of `leafHashes` (or its first `size`). */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number, size = leafHashes.length): Uint8Array[] {
  return new MemoryTree(leafHashes.slice(0, size)).inclusionProof(index);
}

export function consistencyProof(leafHashes: readonly Uint8Array[], m: number, n = leafHashes.length): Uint8Array[] {
  return new MemoryTree(leafHashes.slice(0, n)).consistencyProof(m);
}

// ---------------------------------------------------------------------------------------------
// Verification (RFC 9162 §2.1.3.2 and §2.1.4.2). Each check returns null when the proof holds,
// else the reason, so callers can report what broke.

/** Why an inclusion proof fails, or null when it holds. */
export function inclusionFailure(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): string | null {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || size < 0) return 'index and tree size must be non-negative integers';
  if (index >= size) return `leaf index ${index} is not below tree size ${size}`;
  if (leaf.length !== HASH_SIZE) return `leaf hash has ${leaf.length} bytes, expected ${HASH_SIZE}`;
  if (root.length !== HASH_SIZE) return `root hash has ${root.length} bytes, expected ${HASH_SIZE}`;
  for (const [i, p] of proof.entries()) if (p.length !== HASH_SIZE) return `proof hash ${i} has ${p.length} bytes, expected ${HASH_SIZE}`;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return `proof has ${proof.length} hashes, more than a tree of ${size} needs`;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn)) while (!isOdd(fn) && fn !== 0) ((fn = half(fn)), (sn = half(sn)));
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return `proof has ${proof.length} hashes, fewer than a tree of ${size} needs`;
  if (!bytesEqual(r, root)) return 'recomputed root does not match the expected root';
  return null;
}

export const verifyInclusion = (leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean =>
  inclusionFailure(leaf, index, size, proof, root) === null;

/** Why a consistency proof between (size1, root1) and (size2, root2) fails, or null when it holds. */
export function consistencyFailure(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): string | null {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size2 < 0) return 'tree sizes must be non-negative integers';
  if (size1 > size2) return `old tree size ${size1} is larger than new tree size ${size2}`;
  // The empty tree has exactly one root; anything else claiming size 0 is wrong.
  if (size1 === 0 && !bytesEqual(root1, EMPTY_ROOT)) return 'a tree of size 0 must have the empty-tree root SHA-256("")';
  if (size1 === size2) {
    if (proof.length) return `tree sizes are equal (${size1}) but the proof is not empty`;
    if (!bytesEqual(root1, root2)) return `two different roots for the same tree size ${size1}`;
    return null;
  }
  if (root2.length !== HASH_SIZE) return `new root hash has ${root2.length} bytes, expected ${HASH_SIZE}`;
  if (size1 === 0) return proof.length ? 'a proof from the empty tree must be empty' : null;
  if (root1.length !== HASH_SIZE) return `old root hash has ${root1.length} bytes, expected ${HASH_SIZE}`;
  if (proof.length === 0) return 'empty consistency proof between different tree sizes';
  for (const [i, p] of proof.entries()) if (p.length !== HASH_SIZE) return `proof hash ${i} has ${p.length} bytes, expected ${HASH_SIZE}`;
  const path = isPow2(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) ((fn = half(fn)), (sn = half(sn)));
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return `proof has ${proof.length} hashes, more than sizes ${size1} → ${size2} need`;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) while (!isOdd(fn) && fn !== 0) ((fn = half(fn)), (sn = half(sn)));
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return `proof has ${proof.length} hashes, fewer than sizes ${size1} → ${size2} need`;
  if (!bytesEqual(fr, root1)) return `proof does not reproduce the old root (size ${size1})`;
  if (!bytesEqual(sr, root2)) return `proof does not reproduce the new root (size ${size2})`;
  return null;
}

export const verifyConsistency = (size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): boolean =>
  consistencyFailure(size1, size2, proof, root1, root2) === null;
