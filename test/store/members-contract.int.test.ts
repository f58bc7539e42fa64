import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MemberOptions, ResourceStore, ScanOptions } from '../../src/store/index.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { backends, openFresh } from '../helpers/stores.js';
import { chunkKeys } from './contract-helpers.js';

// readMembers must read what the type scan with a patient list reads (each resource once across the
// members), at the same snapshot: both are run here on the same data and compared row by row.

/** Every row readMembers returns, as `Type/id@version` keys, and how often each came. */
async function viaMembers(store: ResourceStore, o: MemberOptions): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of store.readMembers(o)) {
    for (const [type, chunk] of batch.types) out.push(...chunkKeys(type, chunk));
  }
  return out.sort();
}

/** The same through the type scan with a patient list. */
async function viaScan(
  store: ResourceStore,
  types: string[],
  o: Omit<ScanOptions, 'type'>,
): Promise<string[]> {
  const out: string[] = [];
  for (const type of types) {
    for await (const batch of store.scan({ ...o, type })) {
      for (const r of batch) out.push(`${type}/${r.id}@${r.versionId}`);
    }
  }
  return out.sort();
}

async function seed(store: ResourceStore): Promise<void> {
  const patients = Array.from({ length: 12 }, (_, i) => makePatient(`p${String(i).padStart(2, '0')}`));
  const observations = Array.from({ length: 60 }, (_, i) =>
    makeObservation(`o${i}`, `p${String(i % 12).padStart(2, '0')}`),
  );
  // In the compartments of two patients: written once, by the lower member.
  observations.push(
    makeObservation('shared-a', 'p03', { performer: [{ reference: 'Patient/p07' }] }),
    makeObservation('shared-b', 'p10', { performer: [{ reference: 'Patient/p02' }] }),
  );
  const encounters = Array.from({ length: 12 }, (_, i) => ({
    resourceType: 'Encounter',
    id: `e${i}`,
    status: 'finished',
    class: { code: 'AMB' },
    subject: { reference: `Patient/p${String(i).padStart(2, '0')}` },
  }));
  await store.ingest([...patients, ...observations, ...encounters]);
}

for (const backend of backends()) {
  describe(`${backend.name} store: readMembers`, { skip: backend.skip }, () => {
    const open = (t: { after: (fn: () => Promise<void>) => void }): Promise<ResourceStore> =>
      openFresh(backend, t);
    const types = ['Encounter', 'Observation', 'Patient'];

    test('reads what the type scan with the same patient list reads, each resource once', async (t) => {
      const store = await open(t);
      await seed(store);
      const asOf = await store.tick();
      const members = ['p02', 'p03', 'p07', 'p10', 'p11', 'nobody'];
      const scanned = await viaScan(store, types, { asOf, patients: members });
      // Split as units split them: each unit reads a share, the ownership rule spans all members.
      const read = [
        ...(await viaMembers(store, { patients: ['p02', 'p03'], members, types, asOf, batchPatients: 1 })),
        ...(await viaMembers(store, { patients: ['p07', 'p10', 'p11', 'nobody'], members, types, asOf })),
      ].sort();
      assert.deepEqual(read, scanned);
      assert.equal(new Set(read).size, read.length, 'no resource twice');
      assert.ok(read.includes('Observation/shared-a@1') && read.includes('Observation/shared-b@1'));
      assert.ok(read.length > 30);
    });

    test('a resource shared with a non-member is read for the member', async (t) => {
      const store = await open(t);
      await seed(store);
      const asOf = await store.tick();
      const read = await viaMembers(store, { patients: ['p07'], members: ['p07'], types, asOf });
      assert.ok(read.includes('Observation/shared-a@1'), 'p03 is no member: p07 owns it');
      assert.deepEqual(read, await viaScan(store, types, { asOf, patients: ['p07'] }));
    });

    test('reads the versions current at asOf, within since/until, after a checkpoint patient', async (t) => {
      const store = await open(t);
      await seed(store);
      const mid = await store.tick();
      await store.update(makeObservation('o5', 'p05', { status: 'amended' }));
      await store.update(makePatient('p06', { gender: 'female' }));
      const asOf = await store.tick();
      // Writes after asOf move versions current at asOf to history, and delete others.
      await store.update(makeObservation('o6', 'p06', { status: 'amended' }));
      await store.update(makeObservation('o7', 'p07', { subject: { reference: 'Patient/p01' } }));
      await store.update(makePatient('p05', { gender: 'male' }));
      await store.delete('Observation', 'o8');
      await store.delete('Patient', 'p04');
      const members = ['p04', 'p05', 'p06', 'p07', 'p08'];
      for (const window of [{}, { since: mid }, { until: mid }]) {
        const o = { asOf, ...window };
        const read = await viaMembers(store, { patients: members, members, types, ...o, batchPatients: 2 });
        assert.deepEqual(
          read,
          await viaScan(store, types, { ...o, patients: members }),
          JSON.stringify(window),
        );
      }
      const all = await viaMembers(store, { patients: members, members, types, asOf });
      for (const key of ['Observation/o5@2', 'Observation/o6@1', 'Observation/o7@1', 'Observation/o8@1'])
        assert.ok(all.includes(key), key);
      assert.ok(
        all.includes('Patient/p04@1') && all.includes('Patient/p05@1') && all.includes('Patient/p06@2'),
      );
      const since = await viaMembers(store, { patients: members, members, types, asOf, since: mid });
      assert.deepEqual(since, ['Observation/o5@2', 'Patient/p06@2']);
      const rest = await viaMembers(store, { patients: members, members, types, asOf, afterPatient: 'p06' });
      const tail = await viaMembers(store, { patients: ['p07', 'p08'], members, types, asOf });
      assert.deepEqual(rest, tail);
      assert.ok(rest.includes('Observation/shared-a@1') && rest.includes('Patient/p08@1'));
      assert.ok(!rest.some((k) => k.startsWith('Patient/p06')));
    });

    test('reads only the wanted types', async (t) => {
      const store = await open(t);
      await seed(store);
      const asOf = await store.tick();
      const read = await viaMembers(store, {
        patients: ['p01'],
        members: ['p01'],
        types: ['Encounter'],
        asOf,
      });
      assert.deepEqual(read, ['Encounter/e1@1']);
    });
  });
}
