import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Prng } from '../../src/generate/prng.js';

function draws(prng: Prng, n: number): number[] {
  return Array.from({ length: n }, () => prng.uint32());
}

describe('Prng', () => {
  it('repeats the same sequence for the same seed and stream', () => {
    assert.deepEqual(draws(new Prng(42, 7), 100), draws(new Prng(42, 7), 100));
  });

  it('gives different sequences for different seeds, streams and seeds beyond 32 bits', () => {
    const base = draws(new Prng(42, 7), 8);
    assert.notDeepEqual(draws(new Prng(43, 7), 8), base);
    assert.notDeepEqual(draws(new Prng(42, 8), 8), base);
    assert.notDeepEqual(draws(new Prng(42 + 2 ** 32, 7), 8), base);
  });

  it('keeps int() within its inclusive bounds and reaches both ends', () => {
    const prng = new Prng(1, 1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const x = prng.int(3, 7);
      assert.ok(x >= 3 && x <= 7);
      seen.add(x);
    }
    assert.deepEqual([...seen].sort(), [3, 4, 5, 6, 7]);
  });

  it('rejects a negative or fractional seed as a programmer error', () => {
    assert.throws(() => new Prng(-1, 0), TypeError);
    assert.throws(() => new Prng(1.5, 0), TypeError);
  });
});
