import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { openSqliteStore, loadPaths } from '../../src/store/index.js';
import type { ResourceStore, StoredResource } from '../../src/store/index.js';
import { makeGroup, makeObservation, makePatient } from '../helpers/builders.js';
import { tempDir } from '../helpers/temp.js';

async function collect(it: AsyncIterable<StoredResource[]>): Promise<StoredResource[]> {
  const out: StoredResource[] = [];
  for await (const batch of it) out.push(...batch);
  return out;
}

function open(t: { after: (fn: () => void) => void }, now?: () => number): ResourceStore {
  const store = openSqliteStore(join(tempDir(t), 'store.db'), now ? { now } : {});
  t.after(() => void store.close());
  return store;
}

describe('SqliteStore writes', () => {
  test('an update makes a new version with a later lastUpdated and keeps the old one', async (t) => {
    const store = open(t);
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
  });

  test('writing unchanged content makes no new version', async (t) => {
    const store = open(t);
    const first = await store.update(makePatient('p1'));
    const again = await store.update(makePatient('p1'));
    assert.equal(again.outcome, 'unchanged');
    assert.equal(again.versionId, first.versionId);
  });

  test('lastUpdated is strictly increasing even when the wall clock stands still', async (t) => {
    const store = open(t, () => 1_700_000_000_000);
    const a = await store.update(makePatient('a'));
    const b = await store.update(makePatient('b'));
    const tick = await store.tick();
    assert.ok(b.lastUpdated > a.lastUpdated);
    assert.ok(tick > b.lastUpdated);
  });

  test('a delete leaves a tombstone and a later create continues the version numbers', async (t) => {
    const store = open(t);
    const created = await store.update(makePatient('p1'));
    const tomb = await store.delete('Patient', 'p1');
    assert.equal(tomb?.versionId, created.versionId + 1);
    const read = await store.read('Patient', 'p1');
    assert.equal(read.status, 'deleted');
    assert.equal(await store.delete('Patient', 'p1'), undefined);
    const again = await store.update(makePatient('p1'));
    assert.equal(again.versionId, tomb!.versionId + 1);
  });

  test('If-Match with a stale version fails its precondition', async (t) => {
    const store = open(t);
    await store.update(makePatient('p1'));
    await assert.rejects(store.update(makePatient('p1', { gender: 'male' }), { ifMatch: 7 }), {
      code: 'FHIRHOSE_ERR_PRECONDITION_FAILED',
    });
  });
});

describe('SqliteStore snapshots', () => {
  test('a scan as of an instant sees the versions current then, not later writes', async (t) => {
    const store = open(t);
    await store.ingest([makePatient('p1'), makePatient('p2'), makePatient('p3')]);
    const asOf = await store.tick();
    await store.update(makePatient('p1', { gender: 'female' }));
    await store.delete('Patient', 'p2');
    await store.update(makePatient('p4'));
    const seen = await collect(store.scan({ type: 'Patient', asOf }));
    assert.deepEqual(seen.map((r) => r.id).sort(), ['p1', 'p2', 'p3']);
    assert.equal(JSON.parse(seen.find((r) => r.id === 'p1')!.json).gender, undefined);
    const now = await collect(store.scan({ type: 'Patient', asOf: await store.tick() }));
    assert.deepEqual(now.map((r) => r.id).sort(), ['p1', 'p3', 'p4']);
  });

  test('since and until bound the scan by lastUpdated', async (t) => {
    const store = open(t);
    const a = await store.update(makePatient('a'));
    const b = await store.update(makePatient('b'));
    const c = await store.update(makePatient('c'));
    const asOf = await store.tick();
    const got = await collect(
      store.scan({ type: 'Patient', asOf, since: a.lastUpdated, until: c.lastUpdated }),
    );
    assert.deepEqual(
      got.map((r) => r.id),
      ['b'],
    );
    assert.equal(got[0]!.lastUpdated, b.lastUpdated);
  });

  test('scans page through many rows in small byte-bounded batches without loss or repeats', async (t) => {
    const store = open(t);
    const patients = Array.from({ length: 12_345 }, (_, i) => makePatient(`p${i}`));
    await store.ingest(patients);
    const asOf = await store.tick();
    let batches = 0;
    const ids = new Set<string>();
    for await (const batch of store.scan({ type: 'Patient', asOf, batchBytes: 10_000 })) {
      batches += 1;
      for (const r of batch) ids.add(r.id);
    }
    assert.equal(ids.size, 12_345);
    assert.ok(batches > 100);
  });

  test('the connection accepts writes between scan batches (a lease heartbeat mid-scan)', async (t) => {
    const store = open(t);
    await store.ingest(Array.from({ length: 3000 }, (_, i) => makePatient(`p${i}`)));
    const asOf = await store.tick();
    let seen = 0;
    for await (const batch of store.scan({ type: 'Patient', asOf, batchBytes: 2000 })) {
      seen += batch.length;
      await store.tick();
      await store.jobs.countJobs(null, 'running');
    }
    assert.equal(seen, 3000);
  });

  test('deletedSince lists deletions in the window and skips resources recreated before asOf', async (t) => {
    const store = open(t);
    await store.ingest([makePatient('a'), makePatient('b'), makePatient('c')]);
    const since = await store.tick();
    await store.delete('Patient', 'a');
    await store.delete('Patient', 'b');
    await store.update(makePatient('b'));
    const asOf = await store.tick();
    await store.delete('Patient', 'c');
    const out = [];
    for await (const batch of store.deletedSince({ type: 'Patient', since, asOf })) out.push(...batch);
    assert.deepEqual(
      out.map((d) => d.id),
      ['a'],
    );
  });

  test('a compartment scan returns only the listed patients and their resources', async (t) => {
    const store = open(t);
    await store.ingest([
      makePatient('p1'),
      makePatient('p2'),
      makeObservation('o1', 'p1'),
      makeObservation('o2', 'p2'),
      makeObservation('o3', 'p1'),
    ]);
    const asOf = await store.tick();
    const obs = await collect(store.scan({ type: 'Observation', asOf, patients: ['p1'] }));
    assert.deepEqual(obs.map((r) => r.id).sort(), ['o1', 'o3']);
    const pats = await collect(store.scan({ type: 'Patient', asOf, patients: ['p2'] }));
    assert.deepEqual(
      pats.map((r) => r.id),
      ['p2'],
    );
  });
});

describe('SqliteStore groups', () => {
  test('nested groups are flattened, cycles terminate and inactive members are skipped', async (t) => {
    const store = open(t);
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
    assert.deepEqual(await store.groupPatients('outer'), [
      '3b1a9cb0-e3d3-4bce-8b20-864c3dc7e8c0',
      'p1',
      'p2',
    ]);
    assert.deepEqual(await store.groupPatients('inner'), [
      '3b1a9cb0-e3d3-4bce-8b20-864c3dc7e8c0',
      'p1',
      'p2',
    ]);
    assert.deepEqual(await store.groupPatients('other'), ['p4']);
    assert.deepEqual(await store.groupPatients('missing'), []);
  });
});

describe('loadPaths', () => {
  test('reports a bad NDJSON line with its line number and loads the rest', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'Patient.ndjson');
    const lines = [
      JSON.stringify(makePatient('a')),
      '{not json',
      JSON.stringify({ resourceType: 'Patient' }),
      JSON.stringify({ resourceType: 'Nonsense', id: 'x' }),
      '',
      JSON.stringify(makePatient('b')),
    ];
    writeFileSync(file, lines.join('\n') + '\n');
    const store = open(t);
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
          fullUrl: 'urn:uuid:aaaaaaaa-2222-3333-4444-555555555555',
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
    const store = open(t);
    const report = await loadPaths(store, [join(dir, 'bundle.json')]);
    assert.equal(report.created, 2);
    const obs = await store.read('Observation', 'aaaaaaaa-2222-3333-4444-555555555555');
    assert.equal(obs.status, 'found');
    if (obs.status === 'found')
      assert.equal(JSON.parse(obs.resource.json).subject.reference, `Patient/${pid}`);
    assert.deepEqual(await store.compartmentsOf('Observation', 'aaaaaaaa-2222-3333-4444-555555555555'), [
      pid,
    ]);
  });
});
