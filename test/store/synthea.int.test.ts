import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { openSqliteStore, loadPaths } from '../../src/store/index.js';
import type { SqliteStore } from '../../src/store/index.js';
import { hasSynthea, SYNTHEA_DIR } from '../helpers/temp.js';

interface Line {
  resourceType: string;
  id: string;
  text: string;
  member?: { entity: { reference: string } }[];
}

function readSynthea(): Line[] {
  const out: Line[] = [];
  for (const name of readdirSync(SYNTHEA_DIR).filter((n) => n.endsWith('.ndjson.gz'))) {
    const text = gunzipSync(readFileSync(join(SYNTHEA_DIR, name))).toString('utf8');
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const r = JSON.parse(line) as Line;
      out.push({ ...r, text: line });
    }
  }
  return out;
}

describe(
  'the Synthea sample in the SQLite store',
  { skip: hasSynthea ? false : `no sample at ${SYNTHEA_DIR}` },
  () => {
    let dir: string;
    let store: SqliteStore;
    let lines: Line[];

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'fhirhose-synthea-'));
      store = openSqliteStore(join(dir, 'store.db'));
      lines = readSynthea();
      const report = await loadPaths(store, [SYNTHEA_DIR]);
      assert.equal(report.rejected, 0);
      assert.equal(report.created, 38_483);
    });
    after(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
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
      for (const p of patients) {
        // Independent check: any Patient reference in the text (Device.patient is outside the R4 compartment).
        const expected = lines
          .filter((l) => l.resourceType !== 'Device' && l.text.includes(`"Patient/${p.id}"`))
          .map((l) => `${l.resourceType}/${l.id}`);
        expected.push(`Patient/${p.id}`);
        const got: string[] = [];
        for (const type of await store.types()) {
          for await (const batch of store.scan({ type, asOf, patients: [p.id] })) {
            for (const r of batch) got.push(`${r.type}/${r.id}`);
          }
        }
        assert.deepEqual(got.sort(), [...new Set(expected)].sort());
        assert.ok(got.length > 50);
      }
    });
  },
);
