import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { kickoff, readLines, runExport, startTestServer, waitForExport } from '../helpers/server.js';
import type { TestManifest } from '../helpers/server.js';
import { backends } from '../helpers/stores.js';

const keys = (lines: Record<string, unknown>[]): string[] =>
  lines.map((r) => `${String(r.resourceType)}/${String(r.id)}`).sort();

async function deletedKeys(m: TestManifest): Promise<string[]> {
  const bundles = (await readLines(m.deleted ?? [])) as {
    type: string;
    entry: { request: { method: string; url: string } }[];
  }[];
  for (const b of bundles) {
    assert.equal(b.type, 'transaction');
    assert.ok(b.entry.length >= 1);
    for (const e of b.entry) assert.equal(e.request.method, 'DELETE');
  }
  return bundles.flatMap((b) => b.entry.map((e) => e.request.url)).sort();
}

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    describe('incremental exports with _since', () => {
      test('an export since the last transactionTime holds exactly the changes, deletions apart', async (t) => {
        const srv = await startTestServer(t, { backend });
        const { store } = srv.runtime;
        await store.ingest([
          ...Array.from({ length: 20 }, (_, i) => makePatient(`p${i}`)),
          ...Array.from({ length: 40 }, (_, i) => makeObservation(`o${i}`, `p${i % 20}`)),
          { resourceType: 'Device', id: 'only-device' },
        ]);
        const first = await runExport(`${srv.baseUrl}/$export`);
        assert.equal(keys(await readLines(first.output)).length, 61);

        await store.update(makePatient('p3', { gender: 'female' }));
        await store.update(makeObservation('o7', 'p7', { status: 'amended' }));
        await store.update(makePatient('p20'));
        await store.delete('Observation', 'o9');
        await store.delete('Patient', 'p5');
        await store.delete('Device', 'only-device'); // the last of its type
        await store.update(makePatient('p4')); // unchanged content: no new version, not a change

        const second = await runExport(
          `${srv.baseUrl}/$export?_since=${encodeURIComponent(first.transactionTime)}`,
        );
        const out = await readLines(second.output);
        assert.deepEqual(keys(out), ['Observation/o7', 'Patient/p20', 'Patient/p3']);
        assert.equal((out.find((r) => r.id === 'o7') as { status: string }).status, 'amended');
        assert.deepEqual(await deletedKeys(second), ['Device/only-device', 'Observation/o9', 'Patient/p5']);

        const third = await runExport(
          `${srv.baseUrl}/$export?_since=${encodeURIComponent(second.transactionTime)}`,
        );
        assert.deepEqual(third.output, []);
        assert.deepEqual(await deletedKeys(third), []);
      });

      test('writes made after kick-off are not in that export and are caught by the next one', async (t) => {
        const srv = await startTestServer(t, { backend });
        const { store } = srv.runtime;
        await store.ingest(Array.from({ length: 500 }, (_, i) => makePatient(`p${i}`)));
        const status = await kickoff(`${srv.baseUrl}/$export?_type=Patient`);
        // These commit after the job's transactionTime, while it runs or before it starts.
        await store.update(makePatient('p1', { gender: 'male' }));
        await store.update(makePatient('late'));
        await store.delete('Patient', 'p2');
        const first = (await (await waitForExport(status)).json()) as TestManifest;
        const out = await readLines(first.output);
        assert.equal(out.length, 500);
        assert.ok(
          out.some((r) => r.id === 'p2'),
          'deleted after transactionTime: still in this snapshot',
        );
        assert.ok(!out.some((r) => r.id === 'late'));
        assert.equal((out.find((r) => r.id === 'p1') as { gender?: string }).gender, undefined);
        for (const r of out) {
          const lastUpdated = Date.parse((r.meta as { lastUpdated: string }).lastUpdated);
          assert.ok(lastUpdated <= Date.parse(first.transactionTime));
        }

        const next = await runExport(
          `${srv.baseUrl}/$export?_type=Patient&_since=${encodeURIComponent(first.transactionTime)}`,
        );
        assert.deepEqual(keys(await readLines(next.output)), ['Patient/late', 'Patient/p1']);
        assert.deepEqual(await deletedKeys(next), ['Patient/p2']);
      });

      test('_until excludes resources updated at or after it', async (t) => {
        const srv = await startTestServer(t, { backend });
        const { store } = srv.runtime;
        await store.ingest([makePatient('a'), makePatient('b')]);
        const cut = await store.tick();
        await store.update(makePatient('c'));
        const m = await runExport(
          `${srv.baseUrl}/$export?_until=${encodeURIComponent(new Date(cut).toISOString())}`,
        );
        assert.deepEqual(keys(await readLines(m.output)), ['Patient/a', 'Patient/b']);
      });

      test('a Group export with _since filters each resource by its own lastUpdated', async (t) => {
        const srv = await startTestServer(t, { backend });
        const { store } = srv.runtime;
        await store.ingest([
          makePatient('p1'),
          makePatient('p2'),
          makeObservation('o1', 'p1'),
          {
            resourceType: 'Group',
            id: 'g',
            type: 'person',
            actual: true,
            member: [{ entity: { reference: 'Patient/p1' } }],
          },
        ]);
        const since = new Date(await store.tick()).toISOString();
        await store.update(makeObservation('o2', 'p1'));
        await store.update(makeObservation('o3', 'p2'));
        await store.delete('Observation', 'o1');
        const m = await runExport(`${srv.baseUrl}/Group/g/$export?_since=${encodeURIComponent(since)}`);
        assert.deepEqual(keys(await readLines(m.output)), ['Observation/o2']);
        assert.deepEqual(await deletedKeys(m), ['Observation/o1']);
      });
    });

    describe('concurrent exports', () => {
      test('a kick-off past the queue cap gets 429 with Retry-After, and a cancel frees a place', async (t) => {
        const srv = await startTestServer(t, { backend, export: { maxQueuedJobsPerClient: 1, workers: 0 } });
        await srv.runtime.store.ingest([makePatient('a')]);
        const first = await kickoff(`${srv.baseUrl}/$export`);
        const second = await fetch(`${srv.baseUrl}/$export`, { headers: { prefer: 'respond-async' } });
        assert.equal(second.status, 429);
        assert.match(second.headers.get('retry-after') ?? '', /^\d+$/);
        assert.equal(((await second.json()) as { resourceType: string }).resourceType, 'OperationOutcome');
        assert.equal((await fetch(first, { method: 'DELETE' })).status, 202);
        const third = await fetch(`${srv.baseUrl}/$export`, { headers: { prefer: 'respond-async' } });
        assert.equal(third.status, 202);
      });
    });
  });
}
