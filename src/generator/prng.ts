/**
 * Seeded pseudo-random numbers. Every value is drawn from a small per-person stream derived from
 * (seed, stream tag, person index, batch), so the output of one person never depends on how the
 * population is chunked or on how many workers generate it (an old seed keeps reproducing).
 * The generator is sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state).
 */

/** A 32-bit avalanche mix (lowbias32 by Chris Wellons). */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hashes up to four 32-bit words into one (order-sensitive). */
export function hash4(a: number, b: number, c = 0, d = 0): number {
  let h = mix32(a ^ 0x9e3779b9);
  h = mix32(h ^ b);
  h = mix32((h + Math.imul(c, 0x85ebca6b)) >>> 0);
  h = mix32(h ^ Math.imul(d + 1, 0xc2b2ae35));
  return h;
}

/** A uniform number in [0, 1) from a hash, for one-off decisions that need no stream. */
export function hashUnit(a: number, b: number, c = 0, d = 0): number {
  return hash4(a, b, c, d) / 4294967296;
}

/** Splits a seed (a safe integer) into two 32-bit words. */
export function seedWords(seed: number): [number, number] {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  return [lo, hi];
}

/** Stream tags: one independent stream per concern, so adding draws to one leaves the others intact. */
export const STREAM = {
  person: 1,
  sources: 2,
  claims: 3,
  events: 4,
  defects: 5,
  changes: 6,
  activity: 7,
  pairs: 8,
  orphans: 9,
} as const;

export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  constructor(seedLo = 0, seedHi = 0, stream = 0, index = 0, batch = 0) {
    this.reseed(seedLo, seedHi, stream, index, batch);
  }

  /** Re-initialises the stream in place (no allocation), for (seed, stream, index, batch). */
  reseed(seedLo: number, seedHi: number, stream: number, index: number, batch = 0): this {
    // The state is kept as int32 (`| 0`): the same bits as the uint32 hashes, but V8 then keeps the
    // fields as plain integers instead of boxed doubles (several times faster; the draws are the same).
    let a = hash4(seedLo, stream, index, batch) | 0;
    let b = hash4(seedHi, index, stream, batch ^ 0x5bd1e995) | 0;
    let c = hash4(index, seedLo ^ 0x27d4eb2f, batch, stream) | 0;
    let d = 1;
    for (let i = 0; i < 12; i++) {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (((c << 21) | (c >>> 11)) + t) | 0;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    return this;
  }

  nextU32(): number {
    const b = this.b;
    const c = this.c;
    const t = (((this.a + b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = b ^ (b >>> 9);
    this.b = (c + (c << 3)) | 0;
    this.c = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Standard normal (Box–Muller, one value per call). */
  normal(mean = 0, sd = 1): number {
    const u = 1 - this.next();
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Poisson by Knuth's multiplication method (fine for the small means used here). */
  poisson(lambda: number): number {
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }
}

/**
 * A discrete distribution over items: item i is drawn for u in [c[i-1], c[i]) of the cumulative
 * weights c. A guide table (the first candidate for each of `n` equal slices of [0, 1)) replaces
 * the binary search: from there a short forward scan finds the same index (exact: the scan first
 * steps back while the guide is past the answer, so float rounding at slice edges cannot matter).
 */
export class Weighted<T> {
  readonly items: readonly T[];
  private readonly cumulative: Float64Array;
  private readonly guide: Int32Array;

  constructor(items: readonly T[], weights: readonly number[]) {
    if (items.length === 0 || items.length !== weights.length) {
      throw new Error('Weighted needs one positive weight per item');
    }
    this.items = items;
    this.cumulative = new Float64Array(weights.length);
    let total = 0;
    for (let i = 0; i < weights.length; i++) {
      total += weights[i] as number;
      this.cumulative[i] = total;
    }
    for (let i = 0; i < weights.length; i++) this.cumulative[i] = (this.cumulative[i] as number) / total;
    this.cumulative[weights.length - 1] = 1;
    const n = weights.length;
    this.guide = new Int32Array(n);
    let i = 0;
    for (let j = 0; j < n; j++) {
      while (i < n - 1 && (this.cumulative[i] as number) <= j / n) i++;
      this.guide[j] = i;
    }
  }

  sample(rng: Rng): T {
    return this.items[this.indexFor(rng.next())] as T;
  }

  /** The first index i with u < cumulative[i] (u in [0, 1)). */
  indexFor(u: number): number {
    const c = this.cumulative;
    let i = this.guide[Math.min(c.length - 1, Math.floor(u * c.length))] as number;
    while (i > 0 && u < (c[i - 1] as number)) i--;
    while (u >= (c[i] as number)) i++;
    return i;
  }
}
