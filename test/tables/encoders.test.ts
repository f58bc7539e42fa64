import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { createEncoder, encodeRows, parseTableFormat } from '../../src/tables/index.js';
import type { TableFormat } from '../../src/tables/index.js';
import { InvalidViewDefinitionError } from '../../src/views/index.js';
import type { ColumnInfo, ViewRow } from '../../src/views/index.js';
import { NotSupportedError } from '../../src/fhir/index.js';
import { readParquet } from './duckdb-read.js';

const col = (name: string, type?: string, collection = false): ColumnInfo => ({ name, type, collection });

async function bytesOf(format: TableFormat, columns: ColumnInfo[], rows: ViewRow[], rowGroupBytes?: number) {
  const chunks: Buffer[] = [];
  for await (const chunk of encodeRows(createEncoder(format, columns, { rowGroupBytes }), rows))
    chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('CSV encoder', () => {
  const columns = [col('id', 'id'), col('text', 'string'), col('n', 'integer'), col('ok', 'boolean')];
  const rows: ViewRow[] = [
    { id: 'a', text: 'plain', n: 1, ok: true },
    { id: 'b', text: 'with, comma', n: null, ok: false },
    { id: 'c', text: 'say "hi"', n: -2, ok: null },
    { id: 'd', text: 'line\nbreak and\r\nCRLF', n: 0, ok: true },
    { id: 'e', text: '', n: 3, ok: true },
  ];

  test('quotes comma, quote, CR and LF per RFC 4180 and reads back field for field', async () => {
    const text = (await bytesOf('csv', columns, rows)).toString('utf8');
    assert.ok(text.startsWith('id,text,n,ok\r\n'));
    assert.ok(text.includes('"with, comma"'));
    assert.ok(text.includes('"say ""hi"""'));
    const parsed = parse(text, { columns: true }) as Record<string, string>[];
    assert.deepEqual(
      parsed.map((r) => r['text']),
      rows.map((r) => r['text']),
    );
    assert.deepEqual(
      parsed.map((r) => r['n']),
      ['1', '', '-2', '0', '3'],
    );
    assert.deepEqual(
      parsed.map((r) => r['ok']),
      ['true', 'false', '', 'true', 'true'],
    );
  });

  test('leaves the header out when asked', async () => {
    const chunks: Buffer[] = [];
    const encoder = createEncoder('csv', columns, { header: false });
    for await (const c of encodeRows(encoder, rows.slice(0, 1))) chunks.push(c);
    assert.equal(Buffer.concat(chunks).toString(), 'a,plain,1,true\r\n');
  });

  test('refuses a collection column, naming it', () => {
    assert.throws(
      () => createEncoder('csv', [col('id'), col('given', 'string', true)]),
      (err: unknown) => err instanceof InvalidViewDefinitionError && /given/.test(err.message),
    );
  });
});

describe('NDJSON and JSON encoders', () => {
  const columns = [col('id', 'id'), col('given', 'string', true), col('n', 'decimal')];
  const rows: ViewRow[] = [
    { n: 1.5, given: ['A', 'B'], id: 'a' },
    { id: 'b', given: [], n: null },
  ];

  test('NDJSON writes one object per line with keys in column order', async () => {
    const lines = (await bytesOf('ndjson', columns, rows)).toString().split('\n');
    assert.equal(lines.pop(), '');
    assert.deepEqual(
      lines.map((l) => JSON.parse(l) as unknown),
      rows,
    );
    assert.ok(lines[0]?.startsWith('{"id":"a","given":["A","B"],"n":1.5}'));
  });

  test('JSON writes one array, also when there are no rows', async () => {
    assert.deepEqual(JSON.parse((await bytesOf('json', columns, rows)).toString()), rows);
    assert.deepEqual(JSON.parse((await bytesOf('json', columns, [])).toString()), []);
  });
});

describe('Parquet encoder, read back by DuckDB', () => {
  const columns = [
    col('id', 'id'),
    col('n', 'integer'),
    col('big', 'integer64'),
    col('ok', 'boolean'),
    col('amount', 'decimal'),
    col('born', 'date'),
    col('at', 'dateTime'),
    col('given', 'string', true),
    col('ranks', 'integer', true),
    col('qty', 'Quantity'),
    col('untyped'),
  ];
  const rows: ViewRow[] = [
    {
      id: 'a',
      n: 7,
      big: '9007199254740993',
      ok: true,
      amount: 1.25,
      born: '1970-06',
      at: '2020-01-02T03:04:05+01:00',
      given: ['Ann', 'B'],
      ranks: [1, 2, 3],
      qty: { value: 5, unit: 'mg' },
      untyped: 'x',
    },
    {
      id: 'b',
      n: null,
      big: null,
      ok: null,
      amount: null,
      born: null,
      at: null,
      given: [],
      ranks: null,
      qty: null,
      untyped: null,
    },
  ];

  test('has a schema from the column types, and the values, nulls and lists come back', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'fhirhose-parquet-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'rows.parquet');
    await writeFile(file, await bytesOf('parquet', columns, rows));
    const read = await readParquet(file);
    assert.deepEqual(read.schema, [
      { name: 'id', type: 'VARCHAR' },
      { name: 'n', type: 'INTEGER' },
      { name: 'big', type: 'BIGINT' },
      { name: 'ok', type: 'BOOLEAN' },
      { name: 'amount', type: 'VARCHAR' },
      { name: 'born', type: 'VARCHAR' },
      { name: 'at', type: 'VARCHAR' },
      { name: 'given', type: 'VARCHAR[]' },
      { name: 'ranks', type: 'INTEGER[]' },
      { name: 'qty', type: 'JSON' },
      { name: 'untyped', type: 'VARCHAR' },
    ]);
    assert.deepEqual(read.rows[0], {
      id: 'a',
      n: 7,
      big: '9007199254740993',
      ok: true,
      amount: '1.25',
      born: '1970-06',
      at: '2020-01-02T03:04:05+01:00',
      given: ['Ann', 'B'],
      ranks: [1, 2, 3],
      qty: '{"value":5,"unit":"mg"}',
      untyped: 'x',
    });
    assert.deepEqual(read.rows[1], { ...rows[1], given: [] });
  });

  test('splits rows into row groups bounded in bytes, and a file without rows is still valid', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'fhirhose-parquet-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const many = Array.from({ length: 5000 }, (_, i) => ({ id: `id-${i}`, text: 'x'.repeat(100) }));
    const cols = [col('id', 'id'), col('text', 'string')];
    await writeFile(join(dir, 'many.parquet'), await bytesOf('parquet', cols, many, 64 * 1024));
    const read = await readParquet(join(dir, 'many.parquet'));
    assert.equal(read.rows.length, 5000);
    assert.deepEqual(read.rows[4999], many[4999]);
    // 5000 rows of ~120 bytes over 64 KiB groups: about ten groups.
    assert.ok(read.rowGroups >= 8 && read.rowGroups <= 12, `row groups: ${read.rowGroups}`);
    await writeFile(join(dir, 'empty.parquet'), await bytesOf('parquet', cols, []));
    assert.deepEqual((await readParquet(join(dir, 'empty.parquet'))).rows, []);
  });
});

describe('parseTableFormat', () => {
  test('takes codes and media types, refuses others as not supported', () => {
    assert.equal(parseTableFormat('CSV'), 'csv');
    assert.equal(parseTableFormat('application/x-ndjson'), 'ndjson');
    assert.equal(parseTableFormat('application/vnd.apache.parquet'), 'parquet');
    assert.throws(() => parseTableFormat('xml'), NotSupportedError);
  });
});
