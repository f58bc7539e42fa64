import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FhirResource } from '../../src/fhir/index.js';
import { BatchBuilder, preparedRows } from '../../src/store/prepared-batch.js';
import { prepareRow } from '../../src/store/prepared-row.js';
import { makeGroup, makeObservation, makePatient } from '../helpers/builders.js';

type WithId = FhirResource & { id: string };

describe('BatchBuilder', () => {
  test('rows read back as prepareRow makes them, spliced or serialized', () => {
    const resources: [WithId, string | undefined][] = [
      [makePatient('p1') as WithId, JSON.stringify(makePatient('p1'))],
      [makeObservation('o1', 'p1', { meta: { source: 's' } }) as WithId, undefined],
      [makePatient('p2', { name: [{ family: 'Åström 😀' }] }) as WithId, undefined],
      [makeGroup('g1', ['Patient/p1', 'urn:uuid:11111111-2222-3333-4444-555555555555']) as WithId, undefined],
    ];
    const builder = new BatchBuilder(16);
    for (const [resource, text] of resources) builder.add(structuredClone(resource), text);
    const rows = preparedRows(builder.build());
    assert.equal(rows.length, resources.length);
    resources.forEach(([resource, text], i) =>
      assert.deepEqual(rows[i], prepareRow(structuredClone(resource), text)),
    );
  });

  test('sorting by key orders rows by type then id and keeps two versions of one resource in order', () => {
    const builder = new BatchBuilder();
    const input: [string, string][] = [
      ['Patient', 'zz'],
      ['Observation', 'b1'],
      ['Patient', 'aa'],
      ['Observation', 'a1'],
      ['Patient', 'zz'],
    ];
    input.forEach(([type, id], i) => builder.add({ resourceType: type, id, n: i } as WithId));
    const order = preparedRows(builder.build({ sortByKey: true })).map(
      (r) => `${r.type}/${r.id}/${r.head}${r.tail}`,
    );
    assert.deepEqual(
      order.map((o) => o.split('/').slice(0, 2).join('/')),
      ['Observation/a1', 'Observation/b1', 'Patient/aa', 'Patient/zz', 'Patient/zz'],
    );
    assert.ok(order[3]!.includes('"n":0') && order[4]!.includes('"n":4'));
  });
});
