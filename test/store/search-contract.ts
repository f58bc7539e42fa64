// REST search and Group membership, run by contract.int.test.ts against every backend.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeGroup, makeObservation } from '../helpers/builders.js';
import type { Backend } from '../helpers/stores.js';
import { ids } from './contract-helpers.js';
import type { Open } from './contract-helpers.js';

export function searchContract(backend: Backend, open: Open): void {
  describe(`${backend.name} store: search and groups`, () => {
    test('search pages by cursor and filters by patient reference', async (t) => {
      const store = await open(t);
      await store.ingest(Array.from({ length: 7 }, (_, i) => makeObservation(`o${i}`, i % 2 ? 'p1' : 'p2')));
      const first = await store.search({ type: 'Observation', count: 3 });
      assert.equal(first.resources.length, 3);
      const second = await store.search({ type: 'Observation', count: 3, cursor: first.next! });
      const third = await store.search({ type: 'Observation', count: 3, cursor: second.next! });
      assert.equal(third.next, undefined);
      assert.equal(new Set(ids([...first.resources, ...second.resources, ...third.resources])).size, 7);
      const p1 = await store.search({
        type: 'Observation',
        count: 10,
        references: [{ param: 'patient', targets: ['Patient/p1'] }],
      });
      assert.deepEqual(ids(p1.resources).sort(), ['o1', 'o3', 'o5']);
      await assert.rejects(store.search({ type: 'Observation', count: 3, cursor: '!!' }), {
        code: 'FHIRHOSE_ERR_INVALID_REQUEST',
      });
    });

    test('a search counts its matches only when asked, on any page', async (t) => {
      const store = await open(t);
      await store.ingest(Array.from({ length: 7 }, (_, i) => makeObservation(`o${i}`, i % 2 ? 'p1' : 'p2')));
      const first = await store.search({ type: 'Observation', count: 3 });
      assert.equal('total' in first, false);
      const second = await store.search({ type: 'Observation', count: 3, cursor: first.next!, total: true });
      assert.equal(second.total, 7);
      assert.deepEqual(ids(second.resources).length, 3);
      const p1 = { param: 'patient', targets: ['Patient/p1'] };
      const counted = await store.search({ type: 'Observation', count: 0, references: [p1], total: true });
      assert.deepEqual([counted.total, counted.resources.length, counted.next], [3, 0, undefined]);
      const none = await store.search({ type: 'Observation', count: 10, ids: ['o9'], total: true });
      assert.deepEqual([none.total, none.resources.length], [0, 0]);
    });

    test('Group search matches name prefixes and identifiers', async (t) => {
      const store = await open(t);
      await store.ingest([
        makeGroup('g1', [], { name: 'Cardiology 100%', identifier: [{ system: 'urn:s', value: 'v1' }] }),
        makeGroup('g2', [], { name: 'Oncology' }),
      ]);
      const byName = await store.search({
        type: 'Group',
        count: 10,
        name: { values: ['cardiology 100%'], exact: false },
      });
      assert.deepEqual(ids(byName.resources), ['g1']);
      const exact = await store.search({
        type: 'Group',
        count: 10,
        name: { values: ['Oncology'], exact: true },
      });
      assert.deepEqual(ids(exact.resources), ['g2']);
      for (const identifier of [['urn:s|v1'], ['v1'], ['|v1', 'urn:s|v1']]) {
        const found = await store.search({ type: 'Group', count: 10, identifier });
        assert.deepEqual(ids(found.resources), ['g1']);
      }
    });

    test('nested groups are flattened, cycles terminate and inactive members are skipped', async (t) => {
      const store = await open(t);
      await store.ingest([
        makeGroup('outer', ['Patient/p1', 'Group/inner', 'urn:uuid:3b1a9cb0-e3d3-4bce-8b20-864c3dc7e8c0']),
        makeGroup('inner', ['http://example.org/fhir/Patient/p2', 'Group/outer']),
        {
          ...makeGroup('other', []),
          member: [
            { entity: { reference: 'Patient/p3' }, inactive: true },
            { entity: { reference: 'Patient/p4' } },
          ],
        },
      ]);
      const flat = ['3b1a9cb0-e3d3-4bce-8b20-864c3dc7e8c0', 'p1', 'p2'];
      assert.deepEqual(await store.groupPatients('outer'), flat);
      assert.deepEqual(await store.groupPatients('inner'), flat);
      assert.deepEqual(await store.groupPatients('other'), ['p4']);
      assert.deepEqual(await store.groupPatients('missing'), []);
    });

    test('updating a Group replaces its members and deleting it removes them', async (t) => {
      const store = await open(t);
      await store.update(makeGroup('g', ['Patient/a', 'Patient/b']));
      await store.update(makeGroup('g', ['Patient/c']));
      assert.deepEqual(await store.groupPatients('g'), ['c']);
      await store.delete('Group', 'g');
      assert.deepEqual(await store.groupPatients('g'), []);
    });
  });
}
