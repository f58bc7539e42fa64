import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { runView } from '../../src/views/index.js';
import { tempDir } from '../helpers/temp.js';
import { readParquet } from '../tables/duckdb-read.js';

const BIN = new URL('../../../bin/fhirhose.js', import.meta.url).pathname;

function fhirhose(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, FHIRHOSE_DB: '' },
    timeout: 120_000,
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

const VIEW = {
  resourceType: 'ViewDefinition',
  name: 'patient_demographics',
  resource: 'Patient',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()', type: 'id' },
        { name: 'gender', path: 'gender', type: 'code' },
        { name: 'birth_date', path: 'birthDate', type: 'date' },
        { name: 'deceased', path: 'deceased.exists()', type: 'boolean' },
      ],
    },
    {
      forEachOrNull: "name.where(use = 'official').first()",
      column: [{ name: 'family', path: 'family', type: 'string' }],
    },
  ],
};

const byId = (a: Record<string, unknown>, b: Record<string, unknown>): number =>
  String(a['id']).localeCompare(String(b['id']));

describe('fhirhose views run', () => {
  // One store of generated data for every case: generating and loading is the slow part.
  const dir = tempDir({ after });
  const db = join(dir, 'store.db');
  const viewFile = join(dir, 'patients.view.json');
  writeFileSync(viewFile, JSON.stringify(VIEW));
  let expected: Record<string, unknown>[] = [];

  test('generated data loads into a SQLite store', () => {
    const gen = fhirhose(['generate', '--out', join(dir, 'data'), '--patients', '8', '--seed', '3']);
    assert.equal(gen.status, 0, gen.stderr);
    const load = fhirhose(['load', '--quiet', '--db', db, join(dir, 'data')]);
    assert.equal(load.status, 0, load.stderr);
    const patients = readFileSync(join(dir, 'data', 'Patient.ndjson'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as unknown);
    // The plain path: the runner over the generator's own file, not through the store.
    expected = [...runView(VIEW, patients)].sort(byId);
    assert.equal(expected.length, 8);
  });

  test('NDJSON, CSV and Parquet hold the rows the runner gives over the source files', async () => {
    const nd = fhirhose([
      'views',
      'run',
      viewFile,
      '--db',
      db,
      '--format',
      'ndjson',
      '--out',
      join(dir, 'p.ndjson'),
    ]);
    assert.equal(nd.status, 0, nd.stderr);
    assert.match(nd.stderr, /wrote 8 rows of Patient as ndjson/);
    const ndRows = readFileSync(join(dir, 'p.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(ndRows.sort(byId), expected);

    const csv = fhirhose([
      'views',
      'run',
      viewFile,
      '--db',
      db,
      '--format',
      'csv',
      '--out',
      join(dir, 'p.csv'),
    ]);
    assert.equal(csv.status, 0, csv.stderr);
    const csvRows = parse(readFileSync(join(dir, 'p.csv'), 'utf8'), { columns: true }) as Record<
      string,
      string
    >[];
    const asText = (v: unknown): string => (v === null ? '' : String(v));
    assert.deepEqual(
      csvRows.sort(byId),
      expected.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, asText(v)]))),
    );

    const pq = fhirhose([
      'views',
      'run',
      viewFile,
      '--db',
      db,
      '--format',
      'parquet',
      '--out',
      join(dir, 'p.parquet'),
    ]);
    assert.equal(pq.status, 0, pq.stderr);
    const read = await readParquet(join(dir, 'p.parquet'));
    assert.deepEqual(
      read.schema.map((c) => `${c.name}:${c.type}`),
      ['id:VARCHAR', 'gender:VARCHAR', 'birth_date:VARCHAR', 'deceased:BOOLEAN', 'family:VARCHAR'],
    );
    assert.deepEqual(read.rows.sort(byId), expected);
  });

  test('--limit and --patient narrow the rows', () => {
    const limited = fhirhose(['views', 'run', viewFile, '--db', db, '--limit', '3']);
    assert.equal(limited.status, 0, limited.stderr);
    assert.equal(limited.stdout.trim().split('\n').length, 3);
    const id = String(expected[2]?.['id']);
    const one = fhirhose(['views', 'run', viewFile, '--db', db, '--patient', id]);
    assert.equal(one.status, 0, one.stderr);
    assert.deepEqual(JSON.parse(one.stdout) as unknown, expected[2]);
  });

  test('a bad view exits 2 naming the file and the path, and writes nothing', () => {
    const bad = join(dir, 'bad.view.json');
    writeFileSync(
      bad,
      JSON.stringify({ resource: 'Patient', select: [{ column: [{ name: 'id', path: '@@' }] }] }),
    );
    const r = fhirhose(['views', 'run', bad, '--db', db, '--out', join(dir, 'bad.csv')]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /bad\.view\.json: invalid ViewDefinition: .*select\[0\]\.column\[0\]\.path/);
    assert.equal(existsSync(join(dir, 'bad.csv')), false);
  });

  test('a collection column in CSV and an unknown format are usage errors (exit 2)', () => {
    const coll = join(dir, 'names.view.json');
    const view = {
      resource: 'Patient',
      select: [{ column: [{ name: 'given', path: 'name.given', collection: true }] }],
    };
    writeFileSync(coll, JSON.stringify(view));
    const r = fhirhose(['views', 'run', coll, '--db', db, '--format', 'csv']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /given.*collection/);
    const x = fhirhose(['views', 'run', viewFile, '--db', db, '--format', 'xml']);
    assert.equal(x.status, 2, x.stderr);
    assert.match(x.stderr, /--format 'xml' is not supported/);
  });

  test('a row the view cannot produce exits 1 and leaves no output file', () => {
    const multi = join(dir, 'multi.view.json');
    writeFileSync(
      multi,
      JSON.stringify({ resource: 'Patient', select: [{ column: [{ name: 'given', path: 'name.given' }] }] }),
    );
    const r = fhirhose(['views', 'run', multi, '--db', db, '--out', join(dir, 'multi.ndjson')]);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(existsSync(join(dir, 'multi.ndjson')), false);
    assert.equal(existsSync(join(dir, 'multi.ndjson.part')), false);
  });
});
