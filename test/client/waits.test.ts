import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backoff, parseRetryAfter } from '../../src/client/index.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('2024-05-01T10:00:00Z');

  test('reads delta-seconds as milliseconds', () => {
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter(['5', '9'], now), 5_000);
  });

  test('reads an HTTP-date as the time until it', () => {
    assert.equal(parseRetryAfter('Wed, 01 May 2024 10:00:30 GMT', now), 30_000);
  });

  test('never returns a negative wait for a date in the past', () => {
    assert.equal(parseRetryAfter('Fri, 31 Dec 1999 23:59:59 GMT', now), 0);
  });

  test('returns undefined when absent or unreadable', () => {
    assert.equal(parseRetryAfter(undefined, now), undefined);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter('', now), undefined);
  });
});

describe('backoff', () => {
  test('doubles per attempt up to the cap without jitter', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 10].map((n) => backoff(n, 100, 1000, 0)),
      [100, 200, 400, 800, 1000],
    );
  });

  test('randomises only the jitter fraction', () => {
    assert.equal(
      backoff(2, 100, 10_000, 0.5, () => 0),
      200,
    );
    assert.equal(
      backoff(2, 100, 10_000, 0.5, () => 1),
      400,
    );
  });
});
