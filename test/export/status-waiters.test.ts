import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusWaiters } from '../../src/export/status-waiters.js';

// Waits that should not end by their timeout get a day, so only the event under test can end them.
const DAY_MS = 86_400_000;

describe('StatusWaiters', () => {
  test('releases the waiters of the job named, and only those', async () => {
    const waiters = new StatusWaiters({ maxHeld: 4 });
    const a1 = waiters.wait('a', DAY_MS);
    const a2 = waiters.wait('a', DAY_MS);
    const b = waiters.wait('b', DAY_MS);
    waiters.notify('a');
    assert.deepEqual(await Promise.all([a1, a2]), ['event', 'event']);
    assert.equal(waiters.size, 1, 'the waiter of job b is still held');
    waiters.notify('b');
    assert.equal(await b, 'event');
    assert.equal(waiters.size, 0);
  });

  test('ends a wait by its timeout when no event comes', async () => {
    const waiters = new StatusWaiters({ maxHeld: 1 });
    assert.equal(await waiters.wait('a', 0), 'timeout');
    assert.equal(waiters.size, 0);
  });

  test('refuses a wait beyond the cap, and holds again once one ends', async () => {
    const waiters = new StatusWaiters({ maxHeld: 2 });
    const held = [waiters.wait('a', DAY_MS), waiters.wait('b', DAY_MS)];
    assert.equal(await waiters.wait('c', DAY_MS), 'refused');
    waiters.notify('a');
    assert.equal(await held[0], 'event');
    const again = waiters.wait('c', DAY_MS);
    assert.equal(waiters.size, 2);
    waiters.close();
    assert.deepEqual(await Promise.all([held[1], again]), ['closed', 'closed']);
  });

  test('answers every held wait on close, and every later one at once', async () => {
    const waiters = new StatusWaiters({ maxHeld: 8 });
    const held = [waiters.wait('a', DAY_MS), waiters.wait('b', DAY_MS)];
    waiters.close();
    assert.deepEqual(await Promise.all(held), ['closed', 'closed']);
    assert.equal(await waiters.wait('a', DAY_MS), 'closed');
    assert.equal(waiters.size, 0);
  });
});
