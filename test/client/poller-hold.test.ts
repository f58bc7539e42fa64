import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { holdSeconds } from '../../src/client/poller.js';

describe('holdSeconds', () => {
  test('asks for no hold when the wait before the next poll is under a second', () => {
    assert.equal(holdSeconds(0), 0);
    assert.equal(holdSeconds(999), 0);
  });

  test('asks for the whole seconds of the wait, never more than the wait', () => {
    assert.equal(holdSeconds(1000), 1);
    assert.equal(holdSeconds(2500), 2);
  });

  test('asks for at most ten seconds however long the wait', () => {
    assert.equal(holdSeconds(300_000), 10);
  });
});
