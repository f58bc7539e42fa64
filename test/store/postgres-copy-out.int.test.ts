import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PgDb } from '../../src/store/postgres/db.js';
import { withDefaultUser } from '../../src/store/postgres.js';
import { PG_URL } from '../helpers/stores.js';

// CopyOutNdjson against a real server: what comes out, a server error mid-copy, and a consumer that
// stops early. No table is needed: the rows come from generate_series.

/** The row the queries below give for i. */
function row(i: number): string {
  return JSON.stringify({ i, s: 'ü✓'.repeat(i % 700) });
}

const ROWS_SQL = (n: number): string =>
  `SELECT '{"i":' || i || ',"s":"' || repeat('ü✓', i % 700) || '"}' FROM generate_series(1, ${n}) i ORDER BY i`;

describe('PgDb.copyOutNdjson', { skip: PG_URL ? false : 'FHIRHOSE_TEST_PG_URL is not set' }, () => {
  let db: PgDb;
  before(() => {
    db = new PgDb(withDefaultUser(PG_URL!), 2);
  });
  after(() => db.close());

  test('gives every row once, in order, each with its newline, in chunks that end at row ends', async () => {
    const n = 20_000;
    const chunks: { rows: number; bytes: Buffer }[] = [];
    for await (const chunk of db.copyOutNdjson(ROWS_SQL(n))) chunks.push(chunk);
    const expected = Array.from({ length: n }, (_, k) => row(k + 1) + '\n').join('');
    assert.equal(Buffer.concat(chunks.map((c) => c.bytes)).toString('utf8'), expected);
    assert.equal(
      chunks.reduce((sum, c) => sum + c.rows, 0),
      n,
    );
    assert.ok(chunks.length > 1, 'several chunks');
    for (const c of chunks) {
      assert.equal(c.bytes.at(-1), 10);
      assert.equal(c.bytes.toString('utf8').split('\n').length - 1, c.rows);
    }
  });

  test('a row larger than a chunk comes out whole', async () => {
    const sql = `SELECT repeat('x', s) FROM unnest(ARRAY[5, 1200000, 7]) WITH ORDINALITY AS t(s, k) ORDER BY k`;
    const chunks: Buffer[] = [];
    for await (const chunk of db.copyOutNdjson(sql)) chunks.push(chunk.bytes);
    assert.deepEqual(
      Buffer.concat(chunks)
        .toString('latin1')
        .split('\n')
        .map((l) => l.length),
      [5, 1_200_000, 7, 0],
    );
  });

  test('a server error after rows were sent rejects with it, and the pool goes on', async () => {
    const sql = `SELECT CASE WHEN i = 15000 THEN (1 / (i - 15000))::text ELSE repeat('y', 200) END FROM generate_series(1, 20000) i`;
    let rows = 0;
    await assert.rejects(
      (async () => {
        for await (const chunk of db.copyOutNdjson(sql)) rows += chunk.rows;
      })(),
      (err: Error) => (err.cause as { code?: string }).code === '22012',
    );
    assert.ok(rows > 0 && rows < 15_000, `rows before the error: ${rows}`);
    for (let i = 0; i < 3; i++)
      assert.equal((await db.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one, 1);
  });

  test('a consumer that stops early frees the connection', async () => {
    for (let i = 0; i < 3; i++) {
      for await (const chunk of db.copyOutNdjson(ROWS_SQL(50_000))) {
        assert.ok(chunk.rows > 0);
        break;
      }
    }
    // With 2 connections in the pool, three early stops that held theirs would leave this waiting.
    assert.equal(
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM generate_series(1, 3)')).rows[0]?.n,
      3,
    );
    const again: number[] = [];
    for await (const chunk of db.copyOutNdjson(ROWS_SQL(10))) again.push(chunk.rows);
    assert.deepEqual(again, [10]);
  });
});
