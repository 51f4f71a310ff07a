/**
 * Compact per-sample accumulators for statistics over a run log (issue 22: peak memory of the
 * end-of-run statistics). Sample ids, clusters and group values are interned to small integers
 * and every per-sample number lives in a typed-array column indexed by the sample, so a
 * 100,000-sample log costs a few bytes per sample and metric instead of an object in each of
 * several Maps. Pure: no I/O.
 */

/**
 * Distinct values, each stored once and named by its index. Index 0 is reserved for `undefined`
 * (so zero-filled columns mean "none"). Keys compare as Map keys do (1 and "1" are different).
 */
export class Interner<T = unknown> {
  private readonly index = new Map<T | undefined, number>([[undefined, 0]]);
  readonly values: (T | undefined)[] = [undefined];

  id(v: T | undefined): number {
    let i = this.index.get(v);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(v);
      this.index.set(v, i);
    }
    return i;
  }

  /** Index of v, or 0 when it was never interned. */
  find(v: T): number {
    return this.index.get(v) ?? 0;
  }
}

type Column = Float64Array | Uint32Array;

function grow<C extends Column>(c: C, cap: number): C {
  const n = new (c.constructor as new (n: number) => C)(cap);
  n.set(c);
  return n;
}

type LazyColumn = 'cluster' | 'group' | 'missK' | 'missCluster' | 'missGroup';
const LAZY: LazyColumn[] = ['cluster', 'group', 'missK', 'missCluster', 'missGroup'];

/** Value s of a column that may not be allocated yet (0 then). */
export const at = (c: Uint32Array, s: number): number => c[s] ?? 0;

/**
 * One metric's accumulators per sample: scored epochs (sum, sum of squares, count) with the cluster
 * and group of the first scored record, and excluded records (count) with the cluster and group of
 * the first excluded record. Cluster and group columns hold Interner indices (0: none). Most logs
 * have no clusters, groups or exclusions: those columns stay empty until a value is written (read
 * them with `at`).
 */
export class MetricColumns {
  sum = new Float64Array(0);
  sumsq = new Float64Array(0);
  k = new Uint32Array(0);
  cluster = new Uint32Array(0);
  group = new Uint32Array(0);
  missK = new Uint32Array(0);
  missCluster = new Uint32Array(0);
  missGroup = new Uint32Array(0);
  private cap = 0;

  resize(cap: number): void {
    this.cap = cap;
    this.sum = grow(this.sum, cap);
    this.sumsq = grow(this.sumsq, cap);
    this.k = grow(this.k, cap);
    for (const name of LAZY) if (this[name].length) this[name] = grow(this[name], cap);
  }

  /** Column `name`, allocated to the table's capacity, for writing. */
  writable(name: LazyColumn): Uint32Array {
    if (!this[name].length) this[name] = new Uint32Array(this.cap);
    return this[name];
  }
}

/**
 * Samples of a log by interned id, the epochs seen of each (first record of a key wins), and one
 * MetricColumns per metric. Epochs 1–32 are bits of a mask; any other epoch value goes to a side
 * list (rare: only odd logs have them).
 */
export class SampleTable {
  /** Sample ids by index (index 0 is unused: the Interner's `undefined`). */
  readonly ids = new Interner<string>();
  readonly metrics: MetricColumns[];
  private mask = new Uint32Array(0);
  private readonly otherEpochs = new Map<number, unknown[]>();

  /** `expected`: samples the log should hold (its header says), so the columns need not grow as it is read. */
  constructor(metrics: number, expected = 0) {
    this.metrics = Array.from({ length: metrics }, () => new MetricColumns());
    // Index 0 is the Interner's `undefined`: one more than the samples.
    if (expected > 0) this.resize(expected + 1);
  }

  private resize(cap: number): void {
    this.mask = grow(this.mask, cap);
    for (const m of this.metrics) m.resize(cap);
  }

  /** Distinct samples seen. */
  get size(): number {
    return this.ids.values.length - 1;
  }

  /** The sample's index for this record, or -1 when its (sample, epoch) key was seen before. */
  add(sampleId: string, epoch: unknown): number {
    const i = this.ids.id(sampleId);
    if (i >= this.mask.length) this.resize(Math.max(1024, this.mask.length * 2));
    if (typeof epoch === 'number' && Number.isInteger(epoch) && epoch >= 1 && epoch <= 32) {
      if ((this.mask[i]! >>> (epoch - 1)) & 1) return -1;
      this.mask[i] = this.mask[i]! | (1 << (epoch - 1));
      return i;
    }
    const other = this.otherEpochs.get(i);
    if (other?.includes(epoch)) return -1;
    if (other) other.push(epoch);
    else this.otherEpochs.set(i, [epoch]);
    return i;
  }

  /** Sample indices in ascending id order (the order every figure is computed in). */
  sorted(): Uint32Array {
    const ids = this.ids.values as string[];
    const order = new Uint32Array(this.size);
    for (let i = 0; i < order.length; i++) order[i] = i + 1;
    return order.sort((a, b) => (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : 0));
  }
}
