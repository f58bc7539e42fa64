// The ResourceStore and JobStore contract: the same tests against every backend (SQLite always,
// PostgreSQL when FHIRHOSE_TEST_PG_URL is set).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { loadPaths, openStore } from '../../src/store/index.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { backends } from '../helpers/stores.js';
import type { Backend, TestDatabase, TestStore } from '../helpers/stores.js';
import { tempDir } from '../helpers/temp.js';
import { jobContract } from './job-contract.js';
import { dataSetContract } from './dataset-contract.js';
import { dataSets } from '../helpers/fixtures.js';
import { scanContract } from './scan-contract.js';
import { searchContract } from './search-contract.js';

type TestContext = { after: (fn: () => Promise<void> | void) => void };

/** Tests share one database per backend, emptied before each test; `open` gives a store on it. */
function storeContract(backend: Backend): void {
  let database: TestDatabase;
  before(async () => {
    database = await backend.create();
  });
  after(() => database?.drop());
  const open = async (t: TestContext, now?: () => number): Promise<TestStore> => {
    const store = await backend.open(await backend.empty(database), now ? { now } : {});
    t.after(() => store.close());
    return store;
  };

  describe(`${backend.name} store: writes`, () => {
    test('an update makes a new version with a later lastUpdated and keeps the old one', async (t) => {
      const store = await open(t);
      const first = await store.update(makePatient('p1'));
      const second = await store.update(makePatient('p1', { gender: 'female' }));
      assert.equal(first.outcome, 'created');
      assert.equal(second.outcome, 'updated');
      assert.equal(second.versionId, first.versionId + 1);
      assert.ok(second.lastUpdated > first.lastUpdated);
      const old = await store.readVersion('Patient', 'p1', first.versionId);
      assert.equal(JSON.parse(old!.json).gender, undefined);
      const meta = JSON.parse(second.json).meta;
      assert.equal(meta.versionId, String(second.versionId));
      assert.equal(meta.lastUpdated, new Date(second.lastUpdated).toISOString());
      const read = await store.read('Patient', 'p1');
      assert.equal(read.status === 'found' && read.resource.json, second.json);
    });

    test('writing unchanged content makes no new version', async (t) => {
      const store = await open(t);
      const first = await store.update(makePatient('p1'));
      const again = await store.update(makePatient('p1'));
      assert.equal(again.outcome, 'unchanged');
      assert.equal(again.versionId, first.versionId);
      assert.equal(again.lastUpdated, first.lastUpdated);
    });

    test('create assigns a new id to each resource', async (t) => {
      const store = await open(t);
      const a = await store.create(makePatient('ignored'));
      const b = await store.create(makePatient('ignored'));
      assert.notEqual(a.id, b.id);
      assert.equal((await store.read('Patient', a.id)).status, 'found');
    });

    test('lastUpdated is strictly increasing even when the wall clock stands still', async (t) => {
      const store = await open(t, () => 1_700_000_000_000);
      const a = await store.update(makePatient('a'));
      const b = await store.update(makePatient('b'));
      const tick = await store.tick();
      assert.ok(b.lastUpdated > a.lastUpdated);
      assert.ok(tick > b.lastUpdated);
    });

    test('a tick falls after every write finished before it and before every write begun after it', async (t) => {
      const store = await open(t, () => 1_700_000_000_000);
      const before = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.update(makePatient(`a${i}`))),
      );
      const tick = await store.tick();
      const after = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.update(makePatient(`b${i}`))),
      );
      assert.ok(before.every((w) => w.lastUpdated < tick));
      assert.ok(after.every((w) => w.lastUpdated > tick));
      assert.equal(new Set([...before, ...after].map((w) => w.lastUpdated)).size, 16);
    });

    test('a delete leaves a tombstone and a later create continues the version numbers', async (t) => {
      const store = await open(t);
      const created = await store.update(makePatient('p1'));
      const tomb = await store.delete('Patient', 'p1');
      assert.equal(tomb?.versionId, created.versionId + 1);
      const read = await store.read('Patient', 'p1');
      assert.equal(read.status, 'deleted');
      assert.equal(await store.delete('Patient', 'p1'), undefined);
      const again = await store.update(makePatient('p1'));
      assert.equal(again.versionId, tomb!.versionId + 1);
      assert.deepEqual(await store.deletedTypes(), ['Patient']);
    });

    test('a batch ingest continues version numbers after a deletion', async (t) => {
      const store = await open(t);
      await store.ingest([makePatient('p1'), makePatient('p2')]);
      await store.delete('Patient', 'p1');
      const summary = await store.ingest([makePatient('p1'), makePatient('p2'), makePatient('p3')]);
      assert.deepEqual(summary, { created: 2, updated: 0, unchanged: 1 });
      const p1 = await store.read('Patient', 'p1');
      assert.equal(p1.status === 'found' && p1.resource.versionId, 3);
    });

    test('a batch mixing new, changed and unchanged resources reports each', async (t) => {
      const store = await open(t);
      await store.ingest([makePatient('p1'), makePatient('p2')]);
      const summary = await store.ingest([
        makePatient('p3'),
        makePatient('p2', { gender: 'other' }),
        makePatient('p1'),
      ]);
      assert.deepEqual(summary, { created: 1, updated: 1, unchanged: 1 });
      const p2 = await store.readVersion('Patient', 'p2', 2);
      assert.equal(JSON.parse(p2!.json).gender, 'other');
      assert.equal(await store.count('Patient'), 3);
    });

    test('a resource listed twice in one batch is written twice, in order', async (t) => {
      const store = await open(t);
      const summary = await store.ingest([
        makePatient('p1'),
        makePatient('p2'),
        makePatient('p1', { gender: 'male' }),
        makePatient('p1', { gender: 'male' }),
      ]);
      assert.deepEqual(summary, { created: 2, updated: 1, unchanged: 1 });
      const p1 = await store.read('Patient', 'p1');
      assert.ok(p1.status === 'found');
      assert.equal(p1.resource.versionId, 2);
      assert.equal(JSON.parse(p1.resource.json).gender, 'male');
    });

    test('If-Match with a stale version fails its precondition, and with the current one succeeds', async (t) => {
      const store = await open(t);
      await store.update(makePatient('p1'));
      await assert.rejects(store.update(makePatient('p1', { gender: 'male' }), { ifMatch: 7 }), {
        code: 'FHIRHOSE_ERR_PRECONDITION_FAILED',
      });
      const ok = await store.update(makePatient('p1', { gender: 'male' }), { ifMatch: 1 });
      assert.equal(ok.versionId, 2);
    });

    test('types, deletedTypes and count describe the current resources', async (t) => {
      const store = await open(t);
      await store.ingest([makePatient('p1'), makePatient('p2'), makeObservation('o1', 'p1')]);
      assert.deepEqual(await store.types(), ['Observation', 'Patient']);
      assert.deepEqual(await store.deletedTypes(), []);
      assert.equal(await store.count('Patient'), 2);
      assert.equal(await store.count('Encounter'), 0);
    });
  });

  scanContract(backend, open);
  searchContract(backend, open);
  describe(`${backend.name} store: loading`, () => {
    test('reports a bad NDJSON line with its line number and loads the rest', async (t) => {
      const dir = tempDir(t);
      const lines = [
        JSON.stringify(makePatient('a')),
        '{not json',
        JSON.stringify({ resourceType: 'Patient' }),
        JSON.stringify({ resourceType: 'Nonsense', id: 'x' }),
        '',
        JSON.stringify(makePatient('b')),
      ];
      writeFileSync(join(dir, 'Patient.ndjson'), lines.join('\n') + '\n');
      const store = await open(t);
      const problems: { line: number; reason: string }[] = [];
      const report = await loadPaths(store, [dir], { onProblem: (p) => problems.push(p) });
      assert.equal(report.created, 2);
      assert.equal(report.rejected, 3);
      assert.deepEqual(
        problems.map((p) => p.line),
        [2, 3, 4],
      );
      assert.match(problems[0]!.reason, /invalid JSON/);
      assert.match(problems[2]!.reason, /unknown resourceType/);
    });

    test('a transaction Bundle with urn:uuid fullUrls is loaded with references rewritten', async (t) => {
      const dir = tempDir(t);
      const pid = '11111111-2222-3333-4444-555555555555';
      const oid = 'aaaaaaaa-2222-3333-4444-555555555555';
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: `urn:uuid:${pid}`,
            resource: { resourceType: 'Patient' },
            request: { method: 'POST', url: 'Patient' },
          },
          {
            fullUrl: `urn:uuid:${oid}`,
            resource: {
              resourceType: 'Observation',
              status: 'final',
              code: {},
              subject: { reference: `urn:uuid:${pid}` },
            },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      };
      writeFileSync(join(dir, 'bundle.json'), JSON.stringify(bundle));
      const store = await open(t);
      const report = await loadPaths(store, [join(dir, 'bundle.json')]);
      assert.equal(report.created, 2);
      const obs = await store.read('Observation', oid);
      assert.ok(obs.status === 'found');
      assert.equal(JSON.parse(obs.resource.json).subject.reference, `Patient/${pid}`);
      assert.deepEqual(await store.compartmentsOf('Observation', oid), [pid]);
    });
  });

  jobContract(backend, open);
}

const sets = await dataSets();
for (const backend of backends()) {
  describe(`${backend.name} store contract`, { skip: backend.skip }, () => storeContract(backend));
  for (const set of sets) dataSetContract(backend, set);
}

describe('openStore', () => {
  test('opens a SQLite file for a path', async (t) => {
    const store = await openStore(join(tempDir(t), 'x.db'));
    t.after(() => store.close());
    assert.equal((await store.update(makePatient('p'))).outcome, 'created');
  });
});
