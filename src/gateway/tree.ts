import { inclusionProofFrom, leafHash, nodeHash, rootFrom, type NodeReader } from '../tlog/merkle.js';

/**
 * The access log as an RFC 9162 Merkle tree (tlog/merkle.ts does the hashing and proofs): leaf i
 * is SHA-256(0x00 ‖ record i's RFC 8785 text). Kept in memory as every complete subtree hash
 * (2n hashes of 32 bytes for n records), rebuilt from the store at start, appended to as records
 * are written; it answers roots and inclusion proofs for any earlier size.
 */
export class AppendTree {
  private readonly levels: Uint8Array[][] = [[]];

  get size(): number {
    return this.levels[0]!.length;
  }

  append(recordText: string): void {
    let h = leafHash(Buffer.from(recordText, 'utf8'));
    let level = 0;
    this.levels[0]!.push(h);
    // Each completed right child closes its parent.
    for (let i = this.levels[0]!.length - 1; i % 2 === 1; ) {
      h = nodeHash(this.levels[level]![i - 1]!, h);
      level++;
      (this.levels[level] ??= []).push(h);
      i = this.levels[level]!.length - 1;
    }
  }

  readonly node: NodeReader = (level, index) => {
    const h = this.levels[level]?.[index];
    if (!h) throw new RangeError(`no access-log tree node at level ${level} index ${index} (size ${this.size})`);
    return h;
  };

  root(size = this.size): Uint8Array {
    return rootFrom(this.node, size);
  }

  inclusionProof(index: number, size = this.size): Uint8Array[] {
    return inclusionProofFrom(this.node, index, size);
  }
}

export const hex = (b: Uint8Array): string => `sha256:${Buffer.from(b).toString('hex')}`;
