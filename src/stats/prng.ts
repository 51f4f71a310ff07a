/**
 * Seeded 32-bit generator: a Weyl sequence through a 32-bit avalanche mix. Reproducible across
 * platforms (integer ops only), which is all a bootstrap needs; not for cryptography.
 */
export class Prng {
  private state: number;
  constructor(seed: number) {
    // Fold any finite seed (negative, > 2^32, fractional) into 32 bits so every seed is usable.
    this.state = (Math.trunc(seed) ^ Math.trunc(seed / 2 ** 32)) >>> 0;
  }
  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 2 ** 32;
  }
  /** Uniform integer in [0, n); n ≤ 2^32. Bias ≤ n / 2^32, negligible for resampling. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Standard normal deviate (Box–Muller; one of the pair is discarded to keep the stream simple). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
