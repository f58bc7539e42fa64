import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgres.js';
import type { PostgresStore, ScanKey, StoredResource } from '../../src/store/index.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { backends } from '../helpers/stores.js';
import type { TestDatabase } from '../helpers/stores.js';

// Range planning from a sample of the table's pages (postgres-reader.ts), which production uses only
// on tables of 160 MB and more: here the thresholds are lowered so a small table is sampled.

const postgres = backends().find((b) => b.name === 'PostgreSQL')!;

async function collect(iterable: AsyncIterable<StoredResource[]>): Promise<StoredResource[]> {
  const out: StoredResource[] = [];
  for await (const batch of iterable) out.push(...batch);
  return out;
}

describe('PostgreSQL sampled range planning', { skip: postgres.skip }, () => {
  let database: TestDatabase;
  let store: PostgresStore;
  before(async () => {
    database = await postgres.create();
    store = await openPostgresStore(database.db, { sampling: { minTablePages: 1, pages: 40 } });
    for (let i = 0; i < 6; i++) {
      await store.ingest(
        Array.from({ length: 500 }, (_, j) => makePatient(`p${i}-${j}`, { gender: 'x'.repeat(300) })),
      );
    }
    await store.ingest(Array.from({ length: 30 }, (_, j) => makeObservation(`o${j}`, `p0-${j}`)));
    // relpages, which decides whether to sample, is kept by ANALYZE.
    const c = new pg.Client({ connectionString: database.db });
    await c.connect();
    await c.query('ANALYZE resource');
    await c.end();
  });
  after(async () => {
    await store.close();
    await database.drop();
  });

  test('sampled ranges still cover every row exactly once, and the count is an estimate near the truth', async () => {
    const asOf = await store.tick();
    const { count, bounds } = await store.planRanges('Patient', 500);
    assert.ok(count > 1500 && count < 6000, `estimate ${count} for 3000 rows`);
    assert.ok(bounds.length >= 2, `bounds: ${bounds.length}`);
    for (let i = 1; i < bounds.length; i++) {
      const [a, b] = [bounds[i - 1]!, bounds[i]!];
      assert.ok(
        a.lastUpdated < b.lastUpdated || (a.lastUpdated === b.lastUpdated && a.id < b.id),
        'increasing',
      );
    }
    const seen: string[] = [];
    let afterKey: ScanKey | undefined;
    for (const upTo of [...bounds, undefined]) {
      const part = await collect(
        store.scan({
          type: 'Patient',
          asOf,
          ...(afterKey ? { after: afterKey } : {}),
          ...(upTo ? { upTo } : {}),
        }),
      );
      seen.push(...part.map((r) => r.id));
      afterKey = upTo;
    }
    assert.equal(seen.length, 3000);
    assert.equal(new Set(seen).size, 3000);
  });

  test('a type too rare for the sample is counted and split exactly', async () => {
    assert.deepEqual(await store.planRanges('Observation', 500), { count: 30, bounds: [] });
    const split = await store.planRanges('Observation', 10);
    assert.equal(split.count, 30);
    assert.deepEqual(split.bounds, await store.rangeBoundaries('Observation', 10));
    assert.equal(split.bounds.length, 3);
  });
});
