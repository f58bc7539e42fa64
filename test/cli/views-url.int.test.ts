// `fhirhose views run --url`: a view run through a server's $viewdefinition-run over real HTTP with a
// SMART token, the rows streamed to the file; failures leave no file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { exportJWK } from 'jose';
import { runView } from '../../src/views/index.js';
import { jwksOf, makeKey, registerClient } from '../helpers/auth.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { startTestServer, suiteScope } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/temp.js';
import { readParquet } from '../tables/duckdb-read.js';

const BIN = new URL('../../../bin/fhirhose.js', import.meta.url).pathname;

interface Run {
  code: number | null;
  stderr: string;
}

/** Run the CLI without blocking this process, where the server lives. */
function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, FHIRHOSE_DB: '', FHIRHOSE_CLIENT_ID: '', FHIRHOSE_CLIENT_KEY: '' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

const VIEW = {
  resourceType: 'ViewDefinition',
  name: 'obs',
  resource: 'Observation',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()', type: 'id' },
        { name: 'patient', path: 'subject.getReferenceKey(Patient)', type: 'id' },
        { name: 'value', path: 'value.ofType(Quantity).value', type: 'decimal' },
      ],
    },
  ],
};
const quantity = (value: number): Record<string, unknown> => ({ valueQuantity: { value, unit: 'mmHg' } });
const DATA = [
  makePatient('p1'),
  makePatient('p2'),
  makeObservation('o1', 'p1', quantity(120)),
  makeObservation('o2', 'p2', quantity(80.5)),
  makeObservation('o3', 'p1'),
];
const byId = (a: Record<string, unknown>, b: Record<string, unknown>): number =>
  String(a['id']).localeCompare(String(b['id']));

describe('fhirhose views run --url', () => {
  const suite = suiteScope(after);
  const dir = tempDir({ after });
  const viewFile = join(dir, 'obs.view.json');
  let srv: TestServer;
  let auth: string[] = [];

  before(async () => {
    srv = await startTestServer(suite, { auth: true });
    await srv.runtime.store.ingest(DATA);
    const key = await makeKey('ES384');
    const id = await registerClient(srv.runtime, { jwks: jwksOf(key) }, 'system/Observation.rs');
    const keyFile = join(dir, 'key.jwk.json');
    writeFileSync(
      keyFile,
      JSON.stringify({ ...(await exportJWK(key.privateKey)), kid: key.kid, alg: key.alg }),
    );
    writeFileSync(viewFile, JSON.stringify(VIEW));
    auth = ['--client-id', id, '--key', keyFile, '--scope', 'system/Observation.rs'];
  });

  test('CSV through the server holds the rows the runner gives over the same resources', async () => {
    const out = join(dir, 'obs.csv');
    const run = await cli([
      'views',
      'run',
      viewFile,
      '--url',
      srv.baseUrl,
      ...auth,
      '--format',
      'csv',
      '--out',
      out,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /wrote \d+ bytes of csv/);
    const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
    const expected = [...runView(VIEW, DATA)].map((r) => ({
      id: String(r['id']),
      patient: String(r['patient']),
      value: r['value'] === null ? '' : String(r['value']),
    }));
    assert.deepEqual(rows.sort(byId), expected.sort(byId));
    assert.equal(existsSync(`${out}.part`), false);
  });

  test('Parquet with --limit and --patient is streamed to the file', async () => {
    const out = join(dir, 'obs.parquet');
    const run = await cli([
      'views',
      'run',
      viewFile,
      '--url',
      srv.baseUrl,
      ...auth,
      '--format',
      'parquet',
      '--patient',
      'p1',
      '--limit',
      '5',
      '--out',
      out,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const read = await readParquet(out);
    assert.deepEqual(read.rows.map((r) => r['id']).sort(), ['o1', 'o3']);
  });

  test('a refused run exits 1 with the server message and leaves no file', async () => {
    const out = join(dir, 'denied.csv');
    const run = await cli(['views', 'run', viewFile, '--url', srv.baseUrl, '--format', 'csv', '--out', out]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /401/);
    assert.equal(existsSync(out), false);
    assert.equal(existsSync(`${out}.part`), false);
    const patients = join(dir, 'patients.view.json');
    writeFileSync(
      patients,
      JSON.stringify({ ...VIEW, resource: 'Patient', select: [{ column: [{ name: 'id', path: 'id' }] }] }),
    );
    const forbidden = await cli([
      'views',
      'run',
      patients,
      '--url',
      srv.baseUrl,
      ...auth,
      '--format',
      'csv',
      '--out',
      out,
    ]);
    assert.equal(forbidden.code, 1);
    assert.match(forbidden.stderr, /403.*Patient/);
    assert.equal(existsSync(out), false);
  });

  test('an invalid view or --db with --url is a usage error (exit 2) before any request', async () => {
    const bad = join(dir, 'bad.view.json');
    writeFileSync(
      bad,
      JSON.stringify({ resource: 'Observation', select: [{ column: [{ name: 'x', path: '@@' }] }] }),
    );
    const run = await cli([
      'views',
      'run',
      bad,
      '--url',
      srv.baseUrl,
      ...auth,
      '--out',
      join(dir, 'x.ndjson'),
    ]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /select\[0\]\.column\[0\]\.path/);
    const both = await cli([
      'views',
      'run',
      viewFile,
      '--url',
      srv.baseUrl,
      '--db',
      join(dir, 'x.db'),
      '--out',
      join(dir, 'y'),
    ]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--db and --url/);
  });
});
