import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FhirResource } from '../../src/fhir/index.js';
import { provenanceTargets } from '../../src/fhir/index.js';
import type { MemberRidBatch, MemberRidOptions, ResourceStore, SqliteStore } from '../../src/store/index.js';
import { makeObservation, makePatient, makeProvenance } from '../helpers/builders.js';
import { backends, openFresh } from '../helpers/stores.js';
import { chunkKeys } from './contract-helpers.js';

// readMemberRids (SQLite) reads the members' rows in row id ranges. Ranges and batches cut anywhere
// must together read what the type scan with the same patient list reads at asOf, each row once,
// while writes move rows to history before, between and after the batches; and find the `relevant`
// Provenance the Provenance scan keeps.

const pid = (i: number): string => `p${String(i).padStart(2, '0')}`;
const types = ['Encounter', 'Observation', 'Patient'];

const provenance = makeProvenance;

async function seed(store: ResourceStore): Promise<void> {
  await store.ingest([
    ...Array.from({ length: 12 }, (_, i) => makePatient(pid(i))),
    // Linked to a member: in p03's compartment (Patient.link), but not a member's own Patient row.
    makePatient('linked', { link: [{ other: { reference: 'Patient/p03' }, type: 'seealso' }] }),
    ...Array.from({ length: 60 }, (_, i) => makeObservation(`o${i}`, pid(i % 12))),
    makeObservation('shared-a', 'p03', { performer: [{ reference: 'Patient/p07' }] }),
    makeObservation('shared-b', 'p10', { performer: [{ reference: 'Patient/p02' }] }),
    ...Array.from({ length: 12 }, (_, i) => ({
      resourceType: 'Encounter',
      id: `e${i}`,
      status: 'finished',
      class: { code: 'AMB' },
      subject: { reference: `Patient/${pid(i)}` },
    })),
    provenance('one', ['Observation/o1']),
    provenance('patient', ['Patient/p04']),
    provenance('outside', ['Observation/o5']),
    provenance('late-change', ['Observation/o3']),
    provenance('late-delete', ['Observation/o15']),
  ]);
}

/** Rows of a batch as `Type/id@version` keys; each chunk's buffer is handed back. */
function keysOf(batch: MemberRidBatch): string[] {
  const out: string[] = [];
  for (const [type, chunk] of batch.types) {
    out.push(...chunkKeys(type, chunk));
    chunk.release?.();
  }
  return out;
}

/** Every range of `ranges` (bounds from the store), read in batches of `batchRows` rows. */
async function viaRanges(
  store: ResourceStore,
  o: Omit<MemberRidOptions, 'after'>,
  cut: { ranges: number; batchRows: number; between?: (batch: number) => Promise<void> },
): Promise<{ rows: string[]; provenance: Set<string>; bounds: number[] }> {
  const { bounds } = await store.memberRidBounds!(o.members, () => cut.ranges);
  const rows: string[] = [];
  const found = new Set<string>();
  let n = 0;
  const starts = [0, ...bounds];
  for (let i = 0; i < starts.length; i++) {
    const range: MemberRidOptions = { ...o, after: starts[i]!, batchRows: cut.batchRows };
    if (i < bounds.length) range.upTo = bounds[i]!;
    if (i === 0) range.unkeyedHistory = true;
    for await (const batch of store.readMemberRids!(range)) {
      rows.push(...keysOf(batch));
      for (const id of batch.provenanceIds) found.add(id);
      await cut.between?.(n++);
    }
  }
  return { rows: rows.sort(), provenance: found, bounds };
}

/** The same rows through the type scan with a patient list. */
async function viaScan(store: ResourceStore, o: { members: string[]; asOf: number; since?: number }) {
  const out: string[] = [];
  for (const type of types) {
    const scan = {
      type,
      asOf: o.asOf,
      patients: o.members,
      ...(o.since === undefined ? {} : { since: o.since }),
    };
    for await (const batch of store.scan(scan)) {
      for (const r of batch) {
        // The scan's patient filter keeps every Patient row of a member's compartment; the member
        // path keeps only the members' own (as readMembers does).
        if (type === 'Patient' && !o.members.includes(r.id)) continue;
        out.push(`${type}/${r.id}@${r.versionId}`);
      }
    }
  }
  return out.sort();
}

/** The ids of the Provenance the Provenance scan keeps (provenance.ts), as of asOf. */
async function provenanceViaScan(
  store: ResourceStore,
  members: string[],
  asOf: number,
): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const batch of store.scan({ type: 'Provenance', asOf })) {
    for (const row of batch) {
      const targets = provenanceTargets(JSON.parse(row.json) as FhirResource).filter((t) =>
        types.includes(t.type),
      );
      const owners = await store.compartmentsOfMany(targets.filter((t) => t.type !== 'Patient'));
      const kept = targets.some((t) =>
        t.type === 'Patient'
          ? members.includes(t.id)
          : (owners.get(`${t.type}/${t.id}`) ?? []).some((p) => members.includes(p)),
      );
      if (kept) out.add(row.id);
    }
  }
  return out;
}

for (const backend of backends().filter((b) => b.name === 'SQLite')) {
  describe(`${backend.name} store: readMemberRids`, { skip: backend.skip }, () => {
    const open = async (t: { after: (fn: () => Promise<void>) => void }): Promise<ResourceStore> => {
      const store = await openFresh(backend, t);
      await seed(store);
      return store;
    };
    const members = ['p02', 'p03', 'p05', 'p07', 'p10', 'nobody'];

    test('ranges and batches cut anywhere read what the type scan reads, each row once', async (t) => {
      const store = await open(t);
      const asOf = await store.tick();
      const want = await viaScan(store, { members, asOf });
      for (const cut of [
        { ranges: 1, batchRows: 1000 },
        { ranges: 3, batchRows: 7 },
        { ranges: 5, batchRows: 1 },
      ]) {
        const got = await viaRanges(store, { members, types, asOf }, cut);
        assert.deepEqual(got.rows, want, JSON.stringify(cut));
        assert.equal(new Set(got.rows).size, got.rows.length, 'no row twice');
        if (cut.ranges > 1) assert.ok(got.bounds.length > 0, 'the store cut the rows into ranges');
      }
      assert.ok(want.includes('Observation/shared-a@1') && want.includes('Observation/shared-b@1'));
      // The linked Patient lies in a member's compartment, yet is read for nobody.
      assert.deepEqual(await store.compartmentsOf('Patient', 'linked'), ['linked', 'p03']);
      assert.ok(!want.some((k) => k.startsWith('Patient/linked')));
      assert.ok(want.length > 30);
    });

    test('reads the versions current at asOf within since, whatever moves to history meanwhile', async (t) => {
      const store = await open(t);
      const mid = await store.tick();
      await store.update(makeObservation('o5', 'p05', { status: 'amended' }));
      await store.update(makePatient('p07', { gender: 'female' }));
      const asOf = await store.tick();
      // Before reading: versions current at asOf move to history or go.
      await store.update(makeObservation('o7', 'p07', { subject: { reference: 'Patient/p01' } }));
      await store.delete('Observation', 'o10');
      await store.update(makePatient('p05', { gender: 'male' }));
      for (const window of [{}, { since: mid }]) {
        const want = await viaScan(store, { members, asOf, ...window });
        // While reading: after every batch another row of the members moves to history or goes, so
        // rows already read and rows not yet read both move between the batches.
        const moves = [
          () => store.update(makeObservation('o22', 'p10', { status: 'amended' })),
          () => store.delete('Observation', 'o15'),
          () => store.update(makeObservation('o2', 'p02', { status: 'cancelled' })),
          () => store.update(makeObservation('o51', 'p03', { subject: { reference: 'Patient/p00' } })),
          () => store.delete('Encounter', 'e2'),
          () => store.update(makeObservation('shared-a', 'p03', { status: 'amended' })),
        ];
        const got = await viaRanges(
          store,
          { members, types, asOf, ...window },
          {
            ranges: 3,
            batchRows: 5,
            between: async (n) => {
              await moves[n]?.();
            },
          },
        );
        assert.deepEqual(got.rows, want, JSON.stringify(window));
        // Undo nothing: the second window reads after all the moves, from history.
      }
      const all = await viaScan(store, { members, asOf });
      for (const key of ['Observation/o5@2', 'Observation/o7@1', 'Observation/o10@1', 'Patient/p05@1'])
        assert.ok(all.includes(key), key);
    });

    test('a checkpoint after a batch resumes with exactly the rest', async (t) => {
      const store = await open(t);
      const asOf = await store.tick();
      const whole: string[] = [];
      const batches: MemberRidBatch[] = [];
      for await (const b of store.readMemberRids!({ members, types, asOf, after: 0, batchRows: 9 })) {
        batches.push(b);
        whole.push(...keysOf(b));
      }
      assert.ok(batches.length > 3);
      const at = batches[1]!.lastRid;
      const rest: string[] = [];
      for await (const b of store.readMemberRids!({ members, types, asOf, after: at, batchRows: 9 }))
        rest.push(...keysOf(b));
      const firstTwo: string[] = [];
      for await (const b of store.readMemberRids!({ members, types, asOf, after: 0, upTo: at, batchRows: 9 }))
        firstTwo.push(...keysOf(b));
      assert.deepEqual([...firstTwo, ...rest].sort(), [...whole].sort());
      assert.ok(firstTwo.length > 0 && rest.length > 0);
    });

    test('finds the relevant Provenance the Provenance scan keeps, as of asOf', async (t) => {
      const store = await open(t);
      await store.update(provenance('outside', ['Observation/o5', 'Observation/o7']));
      const asOf = await store.tick();
      // After asOf: the version current at asOf is judged by its own targets.
      await store.update(provenance('late-change', ['Observation/o4']));
      await store.delete('Provenance', 'late-delete');
      await store.ingest([provenance('too-late', ['Observation/o2'])]);
      const want = await provenanceViaScan(store, members, asOf);
      for (const cut of [
        { ranges: 1, batchRows: 1000 },
        { ranges: 4, batchRows: 3 },
      ]) {
        const got = await viaRanges(store, { members, types, asOf, provenance: true }, cut);
        assert.deepEqual([...got.provenance].sort(), [...want].sort(), JSON.stringify(cut));
      }
      assert.deepEqual([...want].sort(), ['late-change', 'late-delete', 'outside']);
      const withPatients = await viaRanges(
        store,
        { members: ['p04'], types, asOf, provenance: true },
        { ranges: 1, batchRows: 1000 },
      );
      assert.deepEqual([...withPatients.provenance], ['patient']);
    });

    test('a version superseded before row ids were kept is read once, with the first range', async (t) => {
      const store = await open(t);
      const asOf = await store.tick();
      await store.update(makeObservation('o3', 'p03', { status: 'amended' }));
      // As a store written before the step that keeps row ids with history.
      (store as SqliteStore).db.exec(
        "UPDATE resource_history SET rid = NULL WHERE type = 'Observation' AND id = 'o3'",
      );
      const want = await viaScan(store, { members, asOf });
      assert.ok(want.includes('Observation/o3@1'));
      const got = await viaRanges(store, { members, types, asOf }, { ranges: 3, batchRows: 4 });
      assert.deepEqual(got.rows, want);
    });
  });
}
