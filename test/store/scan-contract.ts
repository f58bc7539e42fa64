// Snapshot scans, deletions and Patient blocks, run by contract.int.test.ts against every backend.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  ResourceStore,
  ScanKey,
  ScanOptions,
  StoredResource,
  Tombstone,
} from '../../src/store/index.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import type { Backend } from '../helpers/stores.js';
import { collect, ids } from './contract-helpers.js';
import type { Open } from './contract-helpers.js';

/** A scan batch as texts, whatever form the store gave them in. */
interface TextBatch {
  texts: string[];
  cursor: ScanKey;
}

async function* mapBatches<B>(
  batches: AsyncIterable<B>,
  texts: (b: B) => string[],
  cursor: (b: B) => ScanKey,
): AsyncGenerator<TextBatch> {
  for await (const b of batches) yield { texts: texts(b), cursor: cursor(b) };
}

export function scanContract(backend: Backend, open: Open): void {
  describe(`${backend.name} store: snapshots`, () => {
    test('a scan as of an instant sees the versions current then, not later writes', async (t) => {
      const store = await open(t);
      await store.ingest([makePatient('p1'), makePatient('p2'), makePatient('p3')]);
      const asOf = await store.tick();
      await store.update(makePatient('p1', { gender: 'female' }));
      await store.delete('Patient', 'p2');
      await store.update(makePatient('p4'));
      const seen = await collect(store.scan({ type: 'Patient', asOf }));
      assert.deepEqual(ids(seen).sort(), ['p1', 'p2', 'p3']);
      assert.equal(JSON.parse(seen.find((r) => r.id === 'p1')!.json).gender, undefined);
      const now = await collect(store.scan({ type: 'Patient', asOf: await store.tick() }));
      assert.deepEqual(ids(now).sort(), ['p1', 'p3', 'p4']);
      assert.deepEqual(await store.patientIds(asOf), ['p1', 'p2', 'p3']);
    });

    test('since and until bound the scan by lastUpdated', async (t) => {
      const store = await open(t);
      const a = await store.update(makePatient('a'));
      const b = await store.update(makePatient('b'));
      const c = await store.update(makePatient('c'));
      const asOf = await store.tick();
      const got = await collect(
        store.scan({ type: 'Patient', asOf, since: a.lastUpdated, until: c.lastUpdated }),
      );
      assert.deepEqual(ids(got), ['b']);
      assert.equal(got[0]!.lastUpdated, b.lastUpdated);
    });

    test('scans page through many rows in small byte-bounded batches without loss or repeats', async (t) => {
      const store = await open(t);
      await store.ingest(Array.from({ length: 12_345 }, (_, i) => makePatient(`p${i}`)));
      const asOf = await store.tick();
      let batches = 0;
      const seen = new Set<string>();
      for await (const batch of store.scan({ type: 'Patient', asOf, batchBytes: 10_000 })) {
        batches += 1;
        assert.ok(batch.reduce((n, r) => n + r.json.length, 0) < 10_000 + 200);
        for (const r of batch) seen.add(r.id);
      }
      assert.equal(seen.size, 12_345);
      assert.ok(batches > 100);
    });

    test('a scan resumed after any batch cursor reads exactly the rest, with writes in between', async (t) => {
      const store = await open(t);
      await store.ingest(Array.from({ length: 400 }, (_, i) => makeObservation(`o${i}`, `p${i % 7}`)));
      await store.ingest([makePatient('p0'), makePatient('p3')]);
      // Changes after asOf leave superseded versions for the history pass, in a key range of its own.
      const asOf = await store.tick();
      for (let i = 0; i < 400; i += 9)
        await store.update(makeObservation(`o${i}`, `p${i % 7}`, { status: 'amended' }));
      await store.delete('Observation', 'o5');
      for (const patients of [undefined, ['p0', 'p3']]) {
        const base = { type: 'Observation', asOf, batchBytes: 3000, ...(patients ? { patients } : {}) };
        const whole: string[] = [];
        const cursors: { at: number; cursor: ScanKey }[] = [];
        for await (const batch of store.scan(base)) {
          for (const r of batch) whole.push(`${r.id}@${r.versionId}`);
          cursors.push({ at: whole.length, cursor: batch.cursor });
        }
        assert.equal(new Set(whole.map((k) => k.split('@')[0])).size, whole.length, 'no resource twice');
        if (!patients)
          assert.ok(whole.includes('o9@1') && whole.includes('o5@1'), 'the versions current at asOf');
        assert.ok(cursors.length > 5);
        let round = 0;
        for (const { at, cursor } of cursors) {
          // Writes between two segments move versions already read (and not yet read) to history.
          round += 1;
          for (let i = round; i < 400; i += 23)
            await store.update(makeObservation(`o${i}`, 'p1', { id: `o${i}` }));
          const rest: string[] = [];
          for await (const batch of store.scan({ ...base, after: cursor })) {
            for (const r of batch) rest.push(`${r.id}@${r.versionId}`);
          }
          assert.deepEqual(rest, whole.slice(at), `resumed after ${cursor.id}`);
        }
      }
    });

    test('writes during a byte scan never make a resource appear twice or go missing', async (t) => {
      const store = await open(t);
      await store.ingest(Array.from({ length: 2000 }, (_, i) => makePatient(`p${i}`, { gender: 'male' })));
      const asOf = await store.tick();
      const seen: string[] = [];
      let writes = 0;
      for await (const chunk of store.scanNdjson({ type: 'Patient', asOf, batchBytes: 4000 })) {
        for (const line of chunk.bytes.toString('utf8').split('\n')) {
          if (line !== '') seen.push((JSON.parse(line) as { id: string }).id);
        }
        // Rows already read (and some not yet read) move to history while the scan goes on.
        if (writes < 40) {
          writes += 1;
          await store.update(makePatient(`p${writes * 37}`, { gender: 'female' }));
          await store.update(makePatient(seen[seen.length - 1]!, { gender: 'other' }));
        }
      }
      assert.equal(seen.length, 2000);
      assert.equal(new Set(seen).size, 2000);
    });

    test('the store accepts writes between scan batches (a lease heartbeat mid-scan)', async (t) => {
      const store = await open(t);
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

    test('a scan left early frees its connection for the next one', async (t) => {
      const store = await open(t);
      await store.ingest(Array.from({ length: 3000 }, (_, i) => makePatient(`p${i}`)));
      const asOf = await store.tick();
      for (let i = 0; i < 12; i++) {
        for await (const batch of store.scan({ type: 'Patient', asOf, batchBytes: 1000 })) {
          assert.ok(batch.length > 0);
          break;
        }
      }
      assert.equal(await store.count('Patient'), 3000);
    });

    test('key ranges from rangeBoundaries cover every row exactly once', async (t) => {
      const store = await open(t);
      for (let i = 0; i < 5; i++)
        await store.ingest(Array.from({ length: 200 }, (_, j) => makePatient(`p${i}-${j}`)));
      const asOf = await store.tick();
      const bounds = await store.rangeBoundaries('Patient', 150);
      assert.equal(bounds.length, 6);
      const all: StoredResource[] = [];
      let after: { lastUpdated: number; id: string } | undefined;
      for (const upTo of [...bounds, undefined]) {
        const part = await collect(
          store.scan({ type: 'Patient', asOf, ...(after ? { after } : {}), ...(upTo ? { upTo } : {}) }),
        );
        if (upTo) assert.equal(part.length, 150);
        all.push(...part);
        after = upTo;
      }
      assert.equal(new Set(ids(all)).size, 1000);
      assert.equal(all.length, 1000);
    });

    test('planRanges counts every row and splits as rangeBoundaries does, at every edge', async (t) => {
      const store = await open(t);
      await store.ingest(Array.from({ length: 300 }, (_, i) => makePatient(`p${i}`)));
      await store.delete('Patient', 'p7');
      // 299 rows: ranges of exactly 299, one row fewer or more, an even split and a remainder.
      for (const size of [299, 300, 298, 100, 13, 1]) {
        const plan = await store.planRanges('Patient', size);
        assert.equal(plan.count, 299, `${size}`);
        const bounds = plan.count > size ? await store.rangeBoundaries('Patient', size) : [];
        assert.deepEqual(plan.bounds, bounds, `${size}`);
      }
      assert.deepEqual(await store.planRanges('Observation', 10), { count: 0, bounds: [] });
    });

    test('scanNdjson yields the bytes of scan, line for line (as a set on PostgreSQL), for every kind of scan', async (t) => {
      const store = await open(t);
      const patients = ['p1', 'p2', 'p3'].map((id) => makePatient(id));
      const observations = Array.from({ length: 30 }, (_, i) =>
        makeObservation(`o${i}`, `p${(i % 3) + 1}`, { valueString: `caf\u00e9 ${'x'.repeat(i * 7)}` }),
      );
      await store.ingest([...patients, ...observations]);
      const mid = await store.tick();
      // Later versions move the snapshot's rows into history, which both paths must read too.
      await store.update(makeObservation('o3', 'p2'));
      await store.delete('Observation', 'o4');
      const asOf = await store.tick();
      const bounds = await store.rangeBoundaries('Observation', 10);
      const cases = [
        { type: 'Observation', asOf },
        { type: 'Observation', asOf: mid },
        { type: 'Observation', asOf: mid, patients: ['p2'] },
        { type: 'Observation', asOf, patients: 'all' as const },
        { type: 'Observation', asOf: mid, ids: ['o3', 'o4', 'o5'] },
        { type: 'Observation', asOf: mid, upTo: bounds[0]!, batchBytes: 600 },
        { type: 'Observation', asOf: mid, after: bounds[0]!, batchBytes: 1 },
      ];
      for (const options of cases) {
        // PostgreSQL's byte path reads current rows, then history, in two passes; SQLite merges both.
        const order = (lines: string[]): string[] => (backend.name === 'PostgreSQL' ? lines.sort() : lines);
        const lines = order((await collect(store.scan(options))).map((r) => r.json));
        let bytes = '';
        let rows = 0;
        for await (const chunk of store.scanNdjson(options)) {
          bytes += chunk.bytes.toString('utf8');
          rows += chunk.rows;
          // Given back as an export does once written: the next chunks may fill this buffer again.
          chunk.release?.();
        }
        assert.ok(bytes.endsWith('\n') || bytes === '', JSON.stringify(options));
        assert.deepEqual(order(bytes.split('\n').slice(0, -1)), lines, JSON.stringify(options));
        assert.equal(rows, lines.length, JSON.stringify(options));
      }
    });

    test('scanNdjson hands each row of a chunk marked textsSeen to onText, as the text of its line', async (t) => {
      const store = await open(t);
      await store.ingest([
        makePatient('p1'),
        makePatient('p2'),
        ...Array.from({ length: 20 }, (_, i) =>
          makeObservation(`o${i}`, `p${(i % 2) + 1}`, { valueString: `\u00fc${i}` }),
        ),
      ]);
      await store.update(makeObservation('o3', 'p2'));
      const asOf = await store.tick();
      for (const options of [
        { type: 'Observation', asOf, batchBytes: 500 },
        { type: 'Observation', asOf, patients: 'all' as const },
      ]) {
        let texts: string[] = [];
        let seen = 0;
        for await (const chunk of store.scanNdjson(options, (json) => texts.push(json))) {
          const lines = chunk.bytes.toString('utf8').split('\n').slice(0, -1);
          // A store either reads every row of a chunk as text first, or none (PostgreSQL's COPY).
          if (chunk.textsSeen) {
            assert.deepEqual(texts, lines, JSON.stringify(options));
            seen += lines.length;
          } else assert.deepEqual(texts, [], JSON.stringify(options));
          texts = [];
          chunk.release?.();
        }
        assert.equal(seen, backend.name === 'SQLite' ? 20 : 0, JSON.stringify(options));
      }
    });

    // Both read the rows of scan, as bytes or as text, with cursors of their own.
    const textScans: Record<string, (store: ResourceStore, o: ScanOptions) => AsyncIterable<TextBatch>> = {
      scanRows: (store, o) =>
        mapBatches(
          store.scanRows(o),
          (b) => b.rows.map((r) => r.toString('utf8')),
          (b) => b.cursor,
        ),
      scanTexts: (store, o) =>
        mapBatches(
          store.scanTexts(o),
          (b) => b.texts,
          (b) => b.cursor,
        ),
    };
    for (const [name, read] of Object.entries(textScans)) {
      test(`${name} yields the rows of scan, in order, with cursors that resume exactly`, async (t) => {
        const store = await open(t);
        await store.ingest([makePatient('p1'), makePatient('p2')]);
        await store.ingest(
          Array.from({ length: 60 }, (_, i) =>
            makeObservation(`o${i}`, `p${(i % 2) + 1}`, { valueString: `caf\u00e9 ${'y'.repeat(i * 5)}` }),
          ),
        );
        const mid = await store.tick();
        await store.update(makeObservation('o3', 'p2'));
        await store.delete('Observation', 'o4');
        const asOf = await store.tick();
        const cases: ScanOptions[] = [
          { type: 'Observation', asOf, batchBytes: 700 },
          { type: 'Observation', asOf: mid, batchBytes: 1 },
          { type: 'Observation', asOf: mid, patients: ['p2'] },
          { type: 'Observation', asOf: mid, patients: 'all' as const, ids: ['o3', 'o4', 'o5'] },
        ];
        for (const options of cases) {
          const expected = (await collect(store.scan(options))).map((r) => r.json);
          const got: string[] = [];
          const cursors: { at: number; cursor: ScanKey }[] = [];
          for await (const batch of read(store, options)) {
            assert.ok(batch.texts.length > 0);
            got.push(...batch.texts);
            cursors.push({ at: got.length, cursor: batch.cursor });
          }
          assert.deepEqual(got, expected, JSON.stringify(options));
          for (const { at, cursor } of cursors) {
            const rest: string[] = [];
            for await (const batch of read(store, { ...options, after: cursor })) rest.push(...batch.texts);
            assert.deepEqual(rest, expected.slice(at), `resumed after ${cursor.id}`);
          }
        }
      });
    }

    test('a scan by ids returns only those ids', async (t) => {
      const store = await open(t);
      await store.ingest([makePatient('a'), makePatient('b'), makePatient('c')]);
      const asOf = await store.tick();
      assert.deepEqual(
        ids(await collect(store.scan({ type: 'Patient', asOf, ids: ['c', 'a', 'x'] }))).sort(),
        ['a', 'c'],
      );
      assert.deepEqual(await collect(store.scan({ type: 'Patient', asOf, ids: [] })), []);
    });

    test('deletedSince lists deletions in the window and skips resources recreated before asOf', async (t) => {
      const store = await open(t);
      await store.ingest([makePatient('a'), makePatient('b'), makePatient('c')]);
      const since = await store.tick();
      await store.delete('Patient', 'a');
      await store.delete('Patient', 'b');
      await store.update(makePatient('b'));
      const asOf = await store.tick();
      await store.delete('Patient', 'c');
      const out: Tombstone[] = await collect(store.deletedSince({ type: 'Patient', since, asOf }));
      assert.deepEqual(ids(out), ['a']);
      assert.equal(out[0]!.versionId, 2);
    });

    test('deletedSince with patients lists only deletions from those compartments', async (t) => {
      const store = await open(t);
      await store.ingest([makeObservation('o1', 'p1'), makeObservation('o2', 'p2')]);
      const since = await store.tick();
      await store.delete('Observation', 'o1');
      await store.delete('Observation', 'o2');
      const asOf = await store.tick();
      const mine = await collect(store.deletedSince({ type: 'Observation', since, asOf, patients: ['p1'] }));
      assert.deepEqual(ids(mine), ['o1']);
      const any = await collect(store.deletedSince({ type: 'Observation', since, asOf, patients: 'all' }));
      assert.deepEqual(ids(any), ['o1', 'o2']);
    });

    test('a compartment scan returns only the listed patients and their resources', async (t) => {
      const store = await open(t);
      await store.ingest([
        makePatient('p1'),
        makePatient('p2'),
        makeObservation('o1', 'p1'),
        makeObservation('o2', 'p2'),
        makeObservation('o3', 'p1'),
        makeObservation('o4', 'nobody-listed', { subject: undefined }),
      ]);
      const asOf = await store.tick();
      assert.deepEqual(
        ids(await collect(store.scan({ type: 'Observation', asOf, patients: ['p1'] }))).sort(),
        ['o1', 'o3'],
      );
      assert.deepEqual(ids(await collect(store.scan({ type: 'Patient', asOf, patients: ['p2'] }))), ['p2']);
      const all = await collect(store.scan({ type: 'Observation', asOf, patients: 'all' }));
      assert.deepEqual(ids(all).sort(), ['o1', 'o2', 'o3']);
      assert.deepEqual(await store.compartmentsOf('Observation', 'o1'), ['p1']);
    });

    test('compartmentsOfMany answers compartmentsOf for many resources, past one query worth of keys', async (t) => {
      const store = await open(t);
      await store.ingest([
        makePatient('p1'),
        makePatient('p2'),
        makeObservation('o1', 'p2'),
        makeObservation('o2', 'p2', { performer: [{ reference: 'Patient/p1' }] }),
        makeObservation('o3', 'nobody', { subject: undefined }),
      ]);
      // Unknown keys first, so the stored ones fall in a later query of the store's chunks.
      const missing = Array.from({ length: 4100 }, (_, i) => ({ type: 'Observation', id: `none-${i}` }));
      const refs = [...missing, ...['o1', 'o2', 'o3', 'o2'].map((id) => ({ type: 'Observation', id }))];
      const owners = await store.compartmentsOfMany(refs);
      assert.deepEqual([...owners].sort(), [
        ['Observation/o1', ['p2']],
        ['Observation/o2', ['p1', 'p2']],
      ]);
      for (const id of ['o1', 'o2', 'o3']) {
        assert.deepEqual(
          owners.get(`Observation/${id}`) ?? [],
          await store.compartmentsOf('Observation', id),
        );
      }
      assert.deepEqual(await store.compartmentsOfMany([]), new Map());
    });

    test('a compartment scan as of an earlier instant follows the compartment of the version then', async (t) => {
      const store = await open(t);
      await store.ingest([makeObservation('o1', 'p1')]);
      const asOf = await store.tick();
      await store.update(makeObservation('o1', 'p2'));
      assert.deepEqual(ids(await collect(store.scan({ type: 'Observation', asOf, patients: ['p1'] }))), [
        'o1',
      ]);
      assert.deepEqual(await collect(store.scan({ type: 'Observation', asOf, patients: ['p2'] })), []);
      assert.deepEqual(await store.compartmentsOf('Observation', 'o1'), ['p2']);
    });

    test('patient blocks come in the given order, the Patient first, as of the snapshot', async (t) => {
      const store = await open(t);
      await store.ingest([
        makePatient('p1'),
        makePatient('p2'),
        makeObservation('o1', 'p1'),
        makeObservation('o2', 'p2'),
      ]);
      const asOf = await store.tick();
      await store.update(makeObservation('o2', 'p2', { status: 'amended' }));
      await store.update(makeObservation('o3', 'p2'));
      const blocks = [];
      for await (const block of store.patientBlocks({ patients: ['p2', 'nobody', 'p1'], asOf }))
        blocks.push(block);
      assert.deepEqual(
        blocks.map((b) => [b.patientId, b.resources.map((r) => `${r.type}/${r.id}`)]),
        [
          ['p2', ['Patient/p2', 'Observation/o2']],
          ['p1', ['Patient/p1', 'Observation/o1']],
        ],
      );
      assert.equal(JSON.parse(blocks[0]!.resources[1]!.json).status, 'final');
      const typed = [];
      for await (const block of store.patientBlocks({ patients: ['p1'], asOf, types: ['Observation'] }))
        typed.push(block);
      assert.deepEqual(
        typed.map((b) => b.resources.map((r) => r.id)),
        [['o1']],
      );
    });
  });
}
