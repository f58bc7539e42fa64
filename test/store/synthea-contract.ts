// The Synthea sample loaded into each backend, run by contract.int.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, readdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { loadPaths } from '../../src/store/index.js';
import type { ResourceStore } from '../../src/store/index.js';
import type { Backend, TestDatabase } from '../helpers/stores.js';
import { hasSynthea, SYNTHEA_DIR } from '../helpers/temp.js';

interface Line {
  resourceType: string;
  id: string;
  text: string;
  member?: { entity: { reference: string } }[];
}

let cached: Line[] | undefined;

function readSynthea(): Line[] {
  if (cached) return cached;
  const out: Line[] = [];
  for (const name of readdirSync(SYNTHEA_DIR).filter((n) => n.endsWith('.ndjson.gz'))) {
    const text = gunzipSync(readFileSync(join(SYNTHEA_DIR, name))).toString('utf8');
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      out.push({ ...(JSON.parse(line) as Line), text: line });
    }
  }
  cached = out;
  return out;
}

export function syntheaContract(backend: Backend): void {
  const skip = backend.skip || (hasSynthea ? false : `no sample at ${SYNTHEA_DIR}`);
  describe(`the Synthea sample in the ${backend.name} store`, { skip }, () => {
    let database: TestDatabase;
    let store: ResourceStore;
    let lines: Line[];

    before(async () => {
      database = await backend.create();
      store = await backend.open(database.db);
      lines = readSynthea();
      const report = await loadPaths(store, [SYNTHEA_DIR]);
      assert.equal(report.rejected, 0);
      assert.equal(report.created, 38_483);
    });
    after(async () => {
      await store?.close();
      await database?.drop();
    });

    test('loading the same files again makes no new versions', async () => {
      const report = await loadPaths(store, [SYNTHEA_DIR]);
      assert.equal(report.unchanged, 38_483);
      assert.equal(report.created + report.updated, 0);
    });

    test('each of the 8 Groups resolves its urn:uuid members to existing Patients', async () => {
      const groups = lines.filter((l) => l.resourceType === 'Group');
      assert.equal(groups.length, 8);
      const patientIds = new Set(lines.filter((l) => l.resourceType === 'Patient').map((l) => l.id));
      for (const g of groups) {
        const expected = (g.member ?? []).map((m) => m.entity.reference.replace('urn:uuid:', '')).sort();
        const got = await store.groupPatients(g.id);
        assert.deepEqual(got, [...new Set(expected)].sort());
        assert.ok(got.every((id) => patientIds.has(id)));
        assert.ok(got.length >= 3);
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
        assert.ok(got.length > 50);
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
      assert.equal(n, 38_483);
    });
  });
}
