import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { FhirResource } from '../../src/fhir/index.js';
import { provenanceTargets } from '../../src/fhir/index.js';
import type { MemberOptions, ResourceStore } from '../../src/store/index.js';
import { makeObservation, makePatient, makeProvenance } from '../helpers/builders.js';
import { backends } from '../helpers/stores.js';
import type { Backend } from '../helpers/stores.js';

// readMembers with `provenance` finds Provenance through the target index (provenance_target). It must
// choose what the Provenance unit's scan chooses (every Provenance as of asOf, kept when a target of an
// exported type is a member Patient or lies in a member's compartment in the current data), each once
// across the members, while Provenance and their targets are written, moved and deleted.

const provenance = makeProvenance;

/** The Provenance readMembers returns, as `Provenance/id@version` keys, in order. */
async function viaMembers(store: ResourceStore, o: MemberOptions): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of store.readMembers({ ...o, provenance: true })) {
    const chunk = batch.types.get('Provenance');
    if (!chunk) continue;
    const lines = chunk.bytes.toString('utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, chunk.rows);
    for (const line of lines) {
      const r = JSON.parse(line) as { id: string; meta: { versionId: string } };
      out.push(`Provenance/${r.id}@${r.meta.versionId}`);
    }
  }
  return out.sort();
}

/** What the Provenance unit keeps (provenance.ts), computed from a scan of every Provenance. */
async function viaScan(
  store: ResourceStore,
  o: { members: string[]; types: string[]; asOf: number; since?: number },
): Promise<string[]> {
  const members = new Set(o.members);
  const out: string[] = [];
  const scan = { type: 'Provenance', asOf: o.asOf, ...(o.since === undefined ? {} : { since: o.since }) };
  for await (const batch of store.scan(scan)) {
    for (const row of batch) {
      const targets = provenanceTargets(JSON.parse(row.json) as FhirResource).filter((t) =>
        o.types.includes(t.type),
      );
      const owners = await store.compartmentsOfMany(targets.filter((t) => t.type !== 'Patient'));
      const kept = targets.some((t) =>
        t.type === 'Patient'
          ? members.has(t.id)
          : (owners.get(`${t.type}/${t.id}`) ?? []).some((p) => members.has(p)),
      );
      if (kept) out.push(`Provenance/${row.id}@${row.versionId}`);
    }
  }
  return out.sort();
}

const pid = (i: number): string => `p${String(i).padStart(2, '0')}`;

async function seed(store: ResourceStore): Promise<void> {
  await store.ingest([
    ...Array.from({ length: 12 }, (_, i) => makePatient(pid(i))),
    ...Array.from({ length: 12 }, (_, i) => makeObservation(`o${i}`, pid(i))),
    {
      resourceType: 'Encounter',
      id: 'e7',
      status: 'finished',
      class: { code: 'AMB' },
      subject: { reference: 'Patient/p07' },
    },
    provenance('one', ['Observation/o1']),
    provenance('two-members', ['Observation/o2', 'Observation/o3']),
    provenance('patient', ['Patient/p04']),
    provenance('outside', ['Observation/o5']),
    provenance('mixed', ['Observation/o5', 'Encounter/e7']),
    provenance('absolute', ['https://elsewhere.test/fhir/Observation/o7/_history/1']),
    provenance('untyped', ['urn:uuid:0b6f5a4e-1c1e-4c55-9a7a-111111111111']),
    provenance('repeated', ['Observation/o8', 'Observation/o8']),
    provenance('moves', ['Observation/o1']),
    provenance('goes', ['Observation/o2']),
    provenance('late-change', ['Observation/o3']),
    provenance('late-delete', ['Observation/o3']),
    provenance('target-moves', ['Observation/o9']),
    provenance('unknown-target', ['Observation/never']),
  ]);
}

/** Writes after the seed, before and after asOf; returns the instants the tests read at. */
async function churn(store: ResourceStore): Promise<{ mid: number; asOf: number }> {
  const mid = await store.tick();
  await store.update(provenance('moves', ['Observation/o5']));
  await store.delete('Provenance', 'goes');
  await store.ingest([provenance('fresh', ['Observation/o7'])]);
  // The target changes compartment: judged by the current data, as the scan path does.
  await store.update(makeObservation('o9', 'p02'));
  const asOf = await store.tick();
  await store.update(provenance('late-change', ['Observation/o5']));
  await store.delete('Provenance', 'late-delete');
  await store.ingest([provenance('too-late', ['Observation/o1'])]);
  return { mid, asOf };
}

/** Make a store look as it did before the target index: the migration then has to fill it. */
async function dropTargetIndex(backend: Backend, db: string): Promise<void> {
  if (backend.name === 'SQLite') {
    const sqlite = new Database(db);
    // The target index is the last step but one (the history's row ids came after it, and that step
    // runs again harmlessly): two versions back is the schema before it.
    const version = sqlite.pragma('user_version', { simple: true }) as number;
    sqlite.exec('DROP TABLE provenance_target');
    sqlite.pragma(`user_version = ${version - 2}`);
    sqlite.close();
    return;
  }
  const c = new pg.Client({ connectionString: db });
  await c.connect();
  try {
    await c.query('DROP TABLE provenance_target; UPDATE schema_version SET version = version - 1');
  } finally {
    await c.end();
  }
}

for (const backend of backends()) {
  describe(`${backend.name} store: readMembers with Provenance`, { skip: backend.skip }, () => {
    const types = ['Encounter', 'Observation', 'Patient'];

    test('chooses what the Provenance scan chooses, each Provenance once, as of asOf', async (t) => {
      const database = await backend.create();
      t.after(() => database.drop());
      const store = await backend.open(database.db);
      t.after(() => store.close());
      await seed(store);
      const { mid, asOf } = await churn(store);
      const members = ['p01', 'p02', 'p03', 'p04', 'p07', 'p08', 'nobody'];
      for (const window of [{}, { since: mid }]) {
        const o = { members, types, asOf, ...window };
        const want = await viaScan(store, o);
        // Split as units split them, in batches of one and two patients.
        const got = [
          ...(await viaMembers(store, { ...o, patients: ['p01', 'p02'], batchPatients: 1 })),
          ...(await viaMembers(store, {
            ...o,
            patients: ['p03', 'p04', 'p07', 'p08', 'nobody'],
            batchPatients: 2,
          })),
        ].sort();
        assert.deepEqual(got, want, JSON.stringify(window));
        assert.equal(new Set(got).size, got.length, 'no Provenance twice');
      }
      const all = await viaMembers(store, { members, patients: members, types, asOf });
      assert.deepEqual(all, [
        'Provenance/absolute@1',
        'Provenance/fresh@1',
        'Provenance/late-change@1',
        'Provenance/late-delete@1',
        'Provenance/mixed@1',
        'Provenance/one@1',
        'Provenance/patient@1',
        'Provenance/repeated@1',
        'Provenance/target-moves@1',
        'Provenance/two-members@1',
      ]);
      // Only the exported types' targets count; Patient targets need Patient exported.
      const observations = await viaMembers(store, {
        members,
        patients: members,
        types: ['Observation'],
        asOf,
      });
      assert.deepEqual(observations, await viaScan(store, { members, types: ['Observation'], asOf }));
      assert.ok(
        !observations.includes('Provenance/patient@1') && !observations.includes('Provenance/mixed@1'),
      );
      // A non-member's resource is no reason; a member sharing it is.
      assert.deepEqual(await viaMembers(store, { members: ['p05'], patients: ['p05'], types, asOf }), [
        'Provenance/mixed@1',
        'Provenance/moves@2',
        'Provenance/outside@1',
      ]);
    });

    test('a store written before the target index gets it filled when it opens', async (t) => {
      const database = await backend.create();
      t.after(() => database.drop());
      let store = await backend.open(database.db);
      await seed(store);
      const { asOf } = await churn(store);
      const members = ['p01', 'p02', 'p03', 'p04', 'p05', 'p07'];
      const before = await viaMembers(store, { members, patients: members, types, asOf });
      await store.close();
      await dropTargetIndex(backend, database.db);
      store = await backend.open(database.db);
      t.after(() => store.close());
      assert.deepEqual(await viaMembers(store, { members, patients: members, types, asOf }), before);
      assert.deepEqual(before, await viaScan(store, { members, types, asOf }));
      assert.ok(before.length >= 8);
    });
  });
}
