import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentile, spread } from '../../src/bench/stats.js';

describe('spread', () => {
  it('gives the middle value of an odd count as the median, with min and max', () => {
    assert.deepEqual(spread([30, 10, 20]), { median: 20, min: 10, max: 30, n: 3 });
  });

  it('averages the two middle values of an even count', () => {
    assert.deepEqual(spread([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4, n: 4 });
  });

  it('reports a single run as its own median, min and max', () => {
    assert.deepEqual(spread([7]), { median: 7, min: 7, max: 7, n: 1 });
  });

  it('rejects no runs and non-finite values as programmer errors', () => {
    assert.throws(() => spread([]), TypeError);
    assert.throws(() => spread([1, Number.NaN]), TypeError);
  });
});

describe('percentile', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);

  it('uses the nearest rank: p50 and p99 of 1..100 are 50 and 99', () => {
    assert.equal(percentile(hundred, 50), 50);
    assert.equal(percentile(hundred, 99), 99);
  });

  it('returns the minimum for p0 and the maximum for p100', () => {
    assert.equal(percentile(hundred, 0), 1);
    assert.equal(percentile(hundred, 100), 100);
  });

  it('gives the maximum as p99 of fewer than 100 samples', () => {
    assert.equal(percentile([5, 1, 9, 3], 99), 9);
  });

  it('rejects a percentile outside 0 to 100', () => {
    assert.throws(() => percentile([1], 101), TypeError);
    assert.throws(() => percentile([1], -1), TypeError);
  });
});
