// Each data set (generated, and the Synthea sample when present) loaded into each backend, run by
// contract.int.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPaths } from '../../src/store/index.js';
import type { ResourceStore } from '../../src/store/index.js';
import type { Backend, TestDatabase } from '../helpers/stores.js';
import { countDataSet, groupPatientIds, readDataSet } from '../helpers/fixtures.js';
import type { DataSet, DataSetResource } from '../helpers/fixtures.js';

interface Line {
  resourceType: string;
  id: string;
  text: string;
  member?: { entity: { reference: string } }[];
}

function readLines(set: DataSet): Line[] {
  const out: Line[] = [];
  for (const type of countDataSet(set).byType.keys()) {
    for (const r of readDataSet(set, type)) out.push({ ...(r as unknown as Line), text: JSON.stringify(r) });
  }
  return out;
}

/** The data set's resources, Groups and compartments, read back from a store of the backend. */
export function dataSetContract(backend: Backend, set: DataSet): void {
  const total = countDataSet(set).total;
  describe(`the ${set.name} data set in the ${backend.name} store`, { skip: backend.skip }, () => {
    let database: TestDatabase;
    let store: ResourceStore;
    let lines: Line[];

    before(async () => {
      database = await backend.create();
      store = await backend.open(database.db);
      lines = readLines(set);
      const report = await loadPaths(store, [set.dir]);
      assert.equal(report.rejected, 0);
      assert.equal(report.created, total);
    });
    after(async () => {
      await store?.close();
      await database?.drop();
    });

    test('loading the same files again makes no new versions', async () => {
      const report = await loadPaths(store, [set.dir]);
      assert.equal(report.unchanged, total);
      assert.equal(report.created + report.updated, 0);
    });

    test('each Group resolves its members (nested Groups flattened) to existing Patients', async () => {
      const groups = lines.filter((l) => l.resourceType === 'Group');
      assert.ok(groups.length >= 3);
      const patientIds = new Set(lines.filter((l) => l.resourceType === 'Patient').map((l) => l.id));
      for (const g of groups) {
        const expected = groupPatientIds(
          groups as unknown as DataSetResource[],
          g as unknown as DataSetResource,
        );
        const got = await store.groupPatients(g.id);
        assert.deepEqual(got, [...new Set(expected)].sort());
        assert.ok(got.every((id) => patientIds.has(id)));
      }
    });

    test('a compartment scan returns exactly the resources that reference each patient', async () => {
      const asOf = await store.tick();
      const patients = lines.filter((l) => l.resourceType === 'Patient').slice(0, 5);
      const types = await store.types();
      for (const p of patients) {
        // Independent check: any Patient reference in the text (Device.patient is outside the R4 compartment).
        const expected = lines
          .filter((l) => l.resourceType !== 'Device' && l.text.includes(`"Patient/${p.id}"`))
          .map((l) => `${l.resourceType}/${l.id}`);
        expected.push(`Patient/${p.id}`);
        const got: string[] = [];
        for (const type of types) {
          for await (const batch of store.scan({ type, asOf, patients: [p.id] })) {
            for (const r of batch) got.push(`${r.type}/${r.id}`);
          }
        }
        assert.deepEqual(got.sort(), [...new Set(expected)].sort());
        assert.ok(got.length > 5);
        const blocks = [];
        for await (const block of store.patientBlocks({ patients: [p.id], asOf })) blocks.push(block);
        assert.deepEqual(blocks.flatMap((b) => b.resources.map((r) => `${r.type}/${r.id}`)).sort(), got);
      }
    });

    test('every stored resource is exported byte for byte as loaded, apart from meta', async () => {
      const asOf = await store.tick();
      const byKey = new Map(lines.map((l) => [`${l.resourceType}/${l.id}`, l.text]));
      let n = 0;
      for (const type of await store.types()) {
        for await (const batch of store.scan({ type, asOf })) {
          for (const r of batch) {
            n += 1;
            if (n % 5 !== 0) continue; // a sample keeps the test fast
            const { meta, ...rest } = JSON.parse(r.json) as { meta: Record<string, unknown> };
            const { meta: _m, ...orig } = JSON.parse(byKey.get(`${r.type}/${r.id}`)!) as { meta?: unknown };
            assert.deepEqual(rest, orig);
            assert.equal(meta.versionId, '1');
          }
        }
      }
      assert.equal(n, total);
    });
  });
}
