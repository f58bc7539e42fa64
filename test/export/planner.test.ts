import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { exportTypes, memberChunks, provenanceMode, readsMembers } from '../../src/export/planner.js';
import type { ExportRequest } from '../../src/export/types.js';
import { openSqliteStore } from '../../src/store/index.js';
import type { SqliteStore } from '../../src/store/index.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { tempDir } from '../helpers/temp.js';

const BASE: ExportRequest = {
  level: 'patient',
  requestUrl: 'https://x.test/fhir/Patient/$export',
  outputFormat: 'application/fhir+ndjson',
  typeFilters: [],
  elements: [],
  includeAssociatedData: [],
  allowPartialManifests: false,
  lenient: true,
  separateExportStatus: false,
  warnings: [],
};

describe('provenanceMode', () => {
  it('includes Provenance targeting the compartment by default at patient level', () => {
    assert.equal(provenanceMode(BASE), 'relevant');
  });

  it('leaves out Provenance whose every _typeFilter query was dropped under lenient handling', () => {
    assert.equal(provenanceMode({ ...BASE, excludedTypes: ['Provenance'] }), undefined);
    const asked = { ...BASE, includeAssociatedData: ['RelevantProvenanceResources'] };
    assert.equal(provenanceMode({ ...asked, excludedTypes: ['Provenance'] }), undefined);
  });
});

/** A real SQLite store holding `resources`, closed after the test. */
async function storeWith(
  t: { after: (fn: () => void) => void },
  resources: Parameters<SqliteStore['ingest']>[0],
): Promise<SqliteStore> {
  const store = openSqliteStore(join(tempDir(t), 'planner.db'));
  t.after(() => store.close());
  if (resources.length > 0) await store.ingest(resources);
  return store;
}

const ids = (n: number, prefix = 'p') =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);

describe('memberChunks', () => {
  it('cuts a list into sorted, distinct chunks of 100 to 500 patients, an even number of even size when it can', () => {
    assert.deepEqual(memberChunks(['c', 'a', 'b', 'a']), [['a', 'b', 'c']]);
    assert.deepEqual(
      memberChunks(ids(250)).map((c) => c.length),
      [125, 125],
    );
    assert.deepEqual(
      memberChunks(ids(150)).map((c) => c.length),
      [100, 50],
    );
    assert.deepEqual(
      memberChunks(ids(1200)).map((c) => c.length),
      [300, 300, 300, 300],
    );
    assert.deepEqual(
      memberChunks(ids(1780)).map((c) => c.length),
      [445, 445, 445, 445],
    );
    assert.deepEqual(
      memberChunks(ids(2600)).map((c) => c.length),
      [434, 434, 434, 434, 434, 430],
    );
    const chunks = memberChunks([...ids(300)].reverse());
    assert.deepEqual(chunks.flat(), ids(300));
  });
});

describe('readsMembers', () => {
  it('reads a list of at most 30% of the patients member by member, a larger one by type scans', async (t) => {
    const store = await storeWith(
      t,
      ids(10).map((id) => makePatient(id)),
    );
    assert.equal(await readsMembers(store, ids(3)), true);
    assert.equal(await readsMembers(store, ids(4)), false);
    assert.equal(await readsMembers(store, undefined), false);
  });

  it('follows a forced read path, and reads members when the store has no patient', async (t) => {
    const store = await storeWith(t, []);
    assert.equal(await readsMembers(store, ['p1']), true);
    assert.equal(await readsMembers(store, ['p1'], 'types'), false);
    assert.equal(await readsMembers(store, undefined, 'members'), false);
    const full = await storeWith(t, [makePatient('p1')]);
    assert.equal(await readsMembers(full, ['p1'], 'members'), true);
  });
});

describe('exportTypes', () => {
  const SYSTEM: ExportRequest = { ...BASE, level: 'system', requestUrl: 'https://x.test/fhir/$export' };

  async function mixed(t: { after: (fn: () => void) => void }): Promise<SqliteStore> {
    const store = await storeWith(t, [
      makePatient('p1'),
      makeObservation('o1', 'p1'),
      { resourceType: 'Practitioner', id: 'pr1' },
      { resourceType: 'Group', id: 'g1', type: 'person', actual: true },
      { resourceType: 'Encounter', id: 'e1', status: 'finished', subject: { reference: 'Patient/p1' } },
    ]);
    await store.delete('Encounter', 'e1');
    return store;
  }

  it('at system level, exports every type present, sorted, without the excluded ones', async (t) => {
    const store = await mixed(t);
    assert.deepEqual(await exportTypes(store, SYSTEM), {
      main: ['Group', 'Observation', 'Patient', 'Practitioner'],
      supporting: [],
      deleted: ['Group', 'Observation', 'Patient', 'Practitioner'],
    });
    assert.deepEqual((await exportTypes(store, { ...SYSTEM, excludedTypes: ['Patient'] })).main, [
      'Group',
      'Observation',
      'Practitioner',
    ]);
  });

  it('owes a _since export the deletions of a type whose every resource was deleted', async (t) => {
    const store = await mixed(t);
    const since = await exportTypes(store, { ...SYSTEM, since: 0, types: ['Encounter', 'Patient'] });
    assert.deepEqual(since.main, ['Patient']);
    assert.deepEqual(since.deleted, ['Encounter', 'Patient']);
  });

  it('at patient level, keeps compartment types, moves referenced types to supporting, and Group only by name', async (t) => {
    const store = await mixed(t);
    assert.deepEqual(await exportTypes(store, BASE), {
      main: ['Observation', 'Patient'],
      supporting: ['Practitioner'],
      deleted: ['Observation', 'Patient'],
    });
    assert.deepEqual((await exportTypes(store, { ...BASE, types: ['Group', 'Patient'] })).main, [
      'Group',
      'Patient',
    ]);
  });
});
