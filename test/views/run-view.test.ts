import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createViewRunner, runView, runViewAsync } from '../../src/views/index.js';

const VIEW = {
  resource: 'Patient',
  select: [
    { column: [{ name: 'id', path: 'id', type: 'id' }] },
    { forEach: 'name', column: [{ name: 'family', path: 'family' }] },
  ],
};
const RESOURCES = [
  { resourceType: 'Patient', id: 'a', name: [{ family: 'A1' }, { family: 'A2' }] },
  { resourceType: 'Observation', id: 'o' },
  { resourceType: 'Patient', id: 'b' },
  { resourceType: 'Patient', id: 'c', name: [{ family: 'C1' }] },
];
const EXPECTED = [
  { id: 'a', family: 'A1' },
  { id: 'a', family: 'A2' },
  { id: 'c', family: 'C1' },
];

describe('runView', () => {
  test('yields the rows of every resource in input order', () => {
    assert.deepEqual([...runView(VIEW, RESOURCES)], EXPECTED);
  });

  test('yields the same rows from an async source', async () => {
    async function* source(): AsyncGenerator<unknown> {
      for (const r of RESOURCES) yield await Promise.resolve(r);
    }
    const rows = [];
    for await (const row of runViewAsync(VIEW, source())) rows.push(row);
    assert.deepEqual(rows, EXPECTED);
  });

  test('lists the columns in view order with their declared type', () => {
    assert.deepEqual(createViewRunner(VIEW).columns, [
      { name: 'id', type: 'id', collection: false },
      { name: 'family', type: undefined, collection: false },
    ]);
  });
});
