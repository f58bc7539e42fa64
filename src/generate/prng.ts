// sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128 bits of state, 32-bit output,
// and a counter word that guarantees a period of at least 2^32 for every seed. It is fast in V8
// because every step stays within int32 arithmetic.

const TWO_POW_32 = 4294967296;

/** splitmix32-style finalizer: spreads the bits of a 32-bit word. */
export function mix32(value: number): number {
  let z = (value + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A seeded pseudo-random generator. `(seed, stream)` picks an independent sequence, so each
 * patient has its own stream and can be regenerated without replaying the ones before it.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /**
   * @param seed - a non-negative safe integer
   * @param stream - a 32-bit stream number (patient index + 1, or a reserved number)
   */
  constructor(seed: number, stream: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new TypeError('seed must be a non-negative integer');
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
    this.a = mix32(lo);
    this.b = mix32(hi ^ 0x5bd1e995);
    this.c = mix32((stream ^ this.a) >>> 0);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** The next 32-bit unsigned integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.uint32() / TWO_POW_32;
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** A uniformly chosen element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.float() * items.length)];
    if (item === undefined) throw new TypeError('cannot pick from an empty list');
    return item;
  }

  /** An approximately normal value (Irwin-Hall sum of four uniforms): cheap, and bounded at 3.5 sd. */
  normal(mean: number, sd: number): number {
    const sum = this.float() + this.float() + this.float() + this.float();
    return mean + (sum - 2) * 1.7320508075688772 * sd;
  }
}
