import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { runView } from '../../src/views/index.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { startTestServer, suiteScope } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { getToken, jwksOf, makeKey, registerClient } from '../helpers/auth.js';
import { backends } from '../helpers/stores.js';
import { readParquet } from '../tables/duckdb-read.js';

interface Outcome {
  resourceType: string;
  issue: { code: string; diagnostics?: string; expression?: string[] }[];
}

const OBS_VIEW = {
  resourceType: 'ViewDefinition',
  name: 'obs',
  resource: 'Observation',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()', type: 'id' },
        { name: 'patient', path: 'subject.getReferenceKey(Patient)', type: 'id' },
        { name: 'value', path: 'value.ofType(Quantity).value', type: 'decimal' },
        { name: 'codes', path: 'code.coding.code', type: 'code', collection: true },
      ],
    },
  ],
};
const FLAT_VIEW = {
  ...OBS_VIEW,
  select: [{ column: (OBS_VIEW.select[0]?.column ?? []).filter((c) => c.name !== 'codes') }],
};

const quantity = (value: number): Record<string, unknown> => ({
  valueQuantity: { value, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
});
const DATA = [
  makePatient('p1'),
  makePatient('p2'),
  makeObservation('o1', 'p1', quantity(120.5)),
  makeObservation('o2', 'p2', quantity(80)),
  makeObservation('o3', 'p1'),
];

const params = (...parameter: Record<string, unknown>[]): Record<string, unknown> => ({
  resourceType: 'Parameters',
  parameter,
});
const viewParam = (view: unknown = OBS_VIEW): Record<string, unknown> => ({
  name: 'viewResource',
  resource: view,
});
const format = (code: string): Record<string, unknown> => ({ name: '_format', valueCode: code });
const byId = (a: Record<string, unknown>, b: Record<string, unknown>): number =>
  String(a['id']).localeCompare(String(b['id']));

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', ...headers },
    body: JSON.stringify(body),
  });
}

const ndjsonRows = async (res: Response): Promise<Record<string, unknown>[]> =>
  (await res.text())
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

for (const backend of backends()) {
  describe(`$viewdefinition-run on ${backend.name}`, { skip: backend.skip }, () => {
    let srv: TestServer;
    let url: string;
    const suite = suiteScope(after);
    // The plain path: the runner over the same resources, without the server or the store.
    const expected = [...runView(OBS_VIEW, DATA)].sort(byId);

    before(async () => {
      srv = await startTestServer(suite, { backend });
      url = `${srv.baseUrl}/$viewdefinition-run`;
      await srv.runtime.store.ingest(DATA);
    });

    test('NDJSON and JSON over the server data equal the runner over the same resources', async () => {
      const res = await post(url, params(viewParam(), format('ndjson')));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
      assert.deepEqual((await ndjsonRows(res)).sort(byId), expected);
      assert.equal(expected.length, 3);
      const json = await post(
        `${srv.baseUrl}/ViewDefinition/$viewdefinition-run`,
        params(viewParam(), format('json')),
      );
      assert.equal(json.status, 200);
      assert.deepEqual(((await json.json()) as Record<string, unknown>[]).sort(byId), expected);
    });

    test('CSV has the header and the rows; _format wins over Accept', async () => {
      const res = await post(url, params(viewParam(FLAT_VIEW), format('csv')), {
        accept: 'application/json',
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
      const text = await res.text();
      assert.ok(text.startsWith('id,patient,value\r\n'));
      const rows = parse(text, { columns: true }) as Record<string, string>[];
      assert.deepEqual(rows.sort(byId), [
        { id: 'o1', patient: 'p1', value: '120.5' },
        { id: 'o2', patient: 'p2', value: '80' },
        { id: 'o3', patient: 'p1', value: '' },
      ]);
    });

    test('Parquet reads back in DuckDB with the schema and the rows', async () => {
      const res = await post(url, params(viewParam(), format('parquet')));
      assert.equal(res.status, 200);
      const file = join(srv.dir, 'run.parquet');
      await writeFile(file, Buffer.from(await res.arrayBuffer()));
      const read = await readParquet(file);
      assert.deepEqual(
        read.schema.map((c) => `${c.name}:${c.type}`),
        ['id:VARCHAR', 'patient:VARCHAR', 'value:VARCHAR', 'codes:VARCHAR[]'],
      );
      const asStored = expected.map((r) => ({
        ...r,
        value: r['value'] === null ? null : String(r['value']),
      }));
      assert.deepEqual(read.rows.sort(byId), asStored);
    });

    test('_limit caps the rows, and patient keeps one compartment', async () => {
      const limited = await post(
        url,
        params(viewParam(), format('ndjson'), { name: '_limit', valueInteger: 2 }),
      );
      assert.equal((await ndjsonRows(limited)).length, 2);
      const p1 = await post(
        url,
        params(viewParam(), format('ndjson'), {
          name: 'patient',
          valueReference: { reference: 'Patient/p1' },
        }),
      );
      assert.equal(p1.status, 200);
      assert.deepEqual((await ndjsonRows(p1)).map((r) => r['id']).sort(), ['o1', 'o3']);
      const unknown = await post(
        url,
        params(viewParam(), format('ndjson'), {
          name: 'patient',
          valueReference: { reference: 'Patient/nobody' },
        }),
      );
      assert.equal(unknown.status, 400);
    });

    test('inline resources are used instead of the server data', async () => {
      const inline = [
        makeObservation('x1', 'q1', quantity(1)),
        makeObservation('x2', 'q2'),
        makePatient('q1'),
      ];
      const res = await post(
        url,
        params(viewParam(), format('ndjson'), ...inline.map((r) => ({ name: 'resource', resource: r }))),
      );
      assert.equal(res.status, 200);
      assert.deepEqual(await ndjsonRows(res), [...runView(OBS_VIEW, inline)]);
      const forQ1 = await post(
        url,
        params(
          viewParam(),
          format('ndjson'),
          { name: 'patient', valueReference: { reference: 'Patient/q1' } },
          ...inline.map((r) => ({ name: 'resource', resource: r })),
        ),
      );
      assert.deepEqual(
        (await ndjsonRows(forQ1)).map((r) => r['id']),
        ['x1'],
      );
    });

    test('a bad view is 400 naming the path; an unknown _format is 400 not-supported', async () => {
      const bad = { resource: 'Observation', select: [{ column: [{ name: 'id', path: '@@' }] }] };
      const res = await post(url, params(viewParam(bad), format('ndjson')));
      assert.equal(res.status, 400);
      const outcome = (await res.json()) as Outcome;
      assert.equal(outcome.resourceType, 'OperationOutcome');
      assert.match(JSON.stringify(outcome.issue[0]), /select\[0\]\.column\[0\]\.path/);
      const xml = await post(url, params(viewParam(), format('xml')));
      assert.equal(xml.status, 400);
      assert.equal(((await xml.json()) as Outcome).issue[0]?.code, 'not-supported');
      const csvList = await post(url, params(viewParam(), format('csv')));
      assert.equal(csvList.status, 400);
      assert.match(JSON.stringify(await csvList.json()), /codes/);
      const noFormat = await post(url, params(viewParam()));
      assert.equal(noFormat.status, 400);
    });

    test('a column with several values on the first row is 422', async () => {
      const view = { resource: 'Patient', select: [{ column: [{ name: 'x', path: 'name.family | id' }] }] };
      const res = await post(url, params(viewParam(view), format('ndjson')));
      assert.equal(res.status, 422);
    });

    test('the CapabilityStatement lists the operation', async () => {
      const cs = (await (await fetch(`${srv.baseUrl}/metadata`)).json()) as {
        rest: { operation?: { name: string; definition: string }[] }[];
      };
      assert.ok(
        cs.rest[0]?.operation?.some(
          (o) =>
            o.name === 'viewdefinition-run' &&
            o.definition === 'http://sql-on-fhir.org/OperationDefinition/$viewdefinition-run',
        ),
      );
    });
  });
}

describe('$viewdefinition-run authorization', () => {
  let srv: TestServer;
  const suite = suiteScope(after);
  const tokens: Record<'narrow' | 'wide', string> = { narrow: '', wide: '' };

  before(async () => {
    srv = await startTestServer(suite, { auth: true });
    const key = await makeKey('ES384');
    const tokenUrl = `${srv.baseUrl}/auth/token`;
    const narrow = await registerClient(srv.runtime, { jwks: jwksOf(key) }, 'system/Patient.rs');
    const wide = await registerClient(srv.runtime, { jwks: jwksOf(key) }, 'system/*.rs');
    tokens.narrow = await getToken(tokenUrl, { id: narrow, key }, 'system/Patient.rs');
    tokens.wide = await getToken(tokenUrl, { id: wide, key });
    await srv.runtime.store.ingest(DATA);
  });

  test('needs a token, and scopes that cover the view resource type (403 otherwise)', async () => {
    const url = `${srv.baseUrl}/$viewdefinition-run`;
    const body = params(viewParam(), format('ndjson'));
    assert.equal((await post(url, body)).status, 401);
    const denied = await post(url, body, { authorization: `Bearer ${tokens.narrow}` });
    assert.equal(denied.status, 403);
    assert.match(JSON.stringify(await denied.json()), /Observation/);
    const allowed = await post(url, body, { authorization: `Bearer ${tokens.wide}` });
    assert.equal(allowed.status, 200);
    assert.equal((await ndjsonRows(allowed)).length, 3);
    const patients = { resource: 'Patient', select: [{ column: [{ name: 'id', path: 'id' }] }] };
    const own = await post(url, params(viewParam(patients), format('ndjson')), {
      authorization: `Bearer ${tokens.narrow}`,
    });
    assert.equal(own.status, 200);
    assert.equal((await ndjsonRows(own)).length, 2);
  });
});
