import { mix32 } from './prng.js';
import type { Prng } from './prng.js';

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const HEX3 = Array.from({ length: 4096 }, (_, i) => i.toString(16).padStart(3, '0'));
const TWO_POW_24 = 16777216;
const MAX_COUNTER = 65536;

function hex32(x: number): string {
  return HEX2[x >>> 24]! + HEX2[(x >>> 16) & 255]! + HEX2[(x >>> 8) & 255]! + HEX2[x & 255]!;
}

function hex24(x: number): string {
  return HEX2[x >>> 16]! + HEX2[(x >>> 8) & 255]! + HEX2[x & 255]!;
}

function round(x: number, key: number): number {
  let z = Math.imul(x ^ key, 0x2c1b3c6d);
  z ^= z >>> 12;
  z = Math.imul(z, 0x297a2d39);
  return (z ^ (z >>> 15)) & 0xffffff;
}

/** Four Feistel round keys derived from the seed. */
export function idKeys(seed: number): readonly number[] {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  return [mix32(lo ^ 0x1234567), mix32(hi ^ 0x7654321), mix32(lo + 0x3c6ef372), mix32(hi + 0xa54ff53a)];
}

/**
 * Issues UUID-v4-shaped ids for one block (block 0 = shared resources and groups, block i+1 = patient i).
 * The first 74 random bits come from the PRNG; the last 48 bits are a keyed Feistel permutation of
 * `(block, counter)`, so ids are unique by construction rather than by luck, yet look random.
 */
export class IdSource {
  private counter: number;

  constructor(
    private readonly prng: Prng,
    private readonly block: number,
    private readonly keys: readonly number[],
    start = 0,
  ) {
    if (!Number.isInteger(block) || block < 0 || block >= 4294967296)
      throw new TypeError('block out of range');
    this.counter = start;
  }

  /** The next id of this block. */
  next(): string {
    if (this.counter >= MAX_COUNTER) throw new TypeError('id counter exhausted for this block');
    const serial = this.block * MAX_COUNTER + this.counter++;
    let left = Math.floor(serial / TWO_POW_24);
    let right = serial % TWO_POW_24;
    for (const key of this.keys) {
      const next = left ^ round(right, key);
      left = right;
      right = next;
    }
    const r1 = this.prng.uint32();
    const r2 = this.prng.uint32();
    const r3 = this.prng.uint32();
    return (
      hex32(r1) +
      '-' +
      HEX2[r2 >>> 24]! +
      HEX2[(r2 >>> 16) & 255]! +
      '-4' +
      HEX3[r2 & 0xfff]! +
      '-' +
      HEX2[0x80 | (r3 >>> 26)]!.charAt(0) +
      HEX3[r3 & 0xfff]! +
      '-' +
      hex24(left) +
      hex24(right)
    );
  }
}
