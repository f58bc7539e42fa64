import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { getToken, jwksOf, makeKey, registerClient } from '../helpers/auth.js';
import {
  kickoff,
  readLines,
  runExport,
  startTestServer,
  suiteScope,
  waitForExport,
} from '../helpers/server.js';
import type { TestManifest, TestServer } from '../helpers/server.js';
import { backends } from '../helpers/stores.js';

interface Outcome {
  resourceType: string;
  issue: { code: string; diagnostics?: string; expression?: string[] }[];
}
interface SearchBundle {
  total?: number;
  entry?: { resource: { id: string; name?: string } }[];
}

const CANONICAL = 'http://example.org/fhir/ViewDefinition/patient_ids';
const patientView = (version: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  resourceType: 'ViewDefinition',
  url: CANONICAL,
  version,
  name: 'patient_ids',
  status: 'active',
  resource: 'Patient',
  select: [{ column: [{ name: 'id', path: 'getResourceKey()', type: 'id' }] }],
  ...extra,
});
const obsView: Record<string, unknown> = {
  resourceType: 'ViewDefinition',
  name: 'obs_subjects',
  status: 'draft',
  resource: 'Observation',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()', type: 'id' },
        { name: 'patient', path: 'subject.getReferenceKey(Patient)', type: 'id' },
      ],
    },
  ],
};
const DATA = [makePatient('p1'), makePatient('p2'), makeObservation('o1', 'p1')];

function send(method: string, url: string, body?: unknown, token?: string): Promise<Response> {
  return fetch(url, {
    method,
    headers: {
      'content-type': 'application/fhir+json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

const runBody = (...parameter: Record<string, unknown>[]): Record<string, unknown> => ({
  resourceType: 'Parameters',
  parameter: [{ name: '_format', valueCode: 'ndjson' }, ...parameter],
});
const byRef = (reference: string): Record<string, unknown> => ({
  name: 'viewReference',
  valueReference: { reference },
});
const lines = async (res: Response): Promise<Record<string, unknown>[]> =>
  (await res.text())
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

for (const backend of backends()) {
  describe(`stored ViewDefinitions on ${backend.name}`, { skip: backend.skip }, () => {
    let srv: TestServer;
    const suite = suiteScope(after);
    const ids: Record<string, string> = {};

    before(async () => {
      srv = await startTestServer(suite, { backend });
      await srv.runtime.store.ingest(DATA);
    });

    test('create, read, update and delete a ViewDefinition through REST', async () => {
      const created = await send('POST', `${srv.baseUrl}/ViewDefinition`, patientView('1'));
      assert.equal(created.status, 201);
      const body = (await created.json()) as { id: string; name: string };
      assert.equal(body.name, 'patient_ids');
      ids.v1 = body.id;
      const read = await send('GET', `${srv.baseUrl}/ViewDefinition/${body.id}`);
      assert.equal(read.status, 200);
      assert.equal(((await read.json()) as { version: string }).version, '1');
      const put = await send('PUT', `${srv.baseUrl}/ViewDefinition/v2`, patientView('2', { id: 'v2' }));
      assert.equal(put.status, 201);
      ids.v2 = 'v2';
      const obs = await send('PUT', `${srv.baseUrl}/ViewDefinition/obs`, { ...obsView, id: 'obs' });
      assert.equal(obs.status, 201);
      const updated = await send('PUT', `${srv.baseUrl}/ViewDefinition/obs`, {
        ...obsView,
        id: 'obs',
        status: 'active',
      });
      assert.equal(updated.status, 200);
      const gone = await send('PUT', `${srv.baseUrl}/ViewDefinition/tmp`, { ...obsView, id: 'tmp' });
      assert.equal(gone.status, 201);
      assert.equal((await send('DELETE', `${srv.baseUrl}/ViewDefinition/tmp`)).status, 200);
      assert.equal((await send('GET', `${srv.baseUrl}/ViewDefinition/tmp`)).status, 410);
    });

    test('an invalid view is refused with 422 naming the column path', async () => {
      const bad = {
        ...obsView,
        select: [
          {
            column: [
              { name: 'id', path: 'id' },
              { name: 'x', path: 'where(' },
            ],
          },
        ],
      };
      const res = await send('POST', `${srv.baseUrl}/ViewDefinition`, bad);
      assert.equal(res.status, 422);
      const outcome = (await res.json()) as Outcome;
      assert.equal(outcome.resourceType, 'OperationOutcome');
      assert.deepEqual(outcome.issue[0]?.expression, ['select[0].column[1].path']);
      const badStatus = await send('PUT', `${srv.baseUrl}/ViewDefinition/s`, {
        ...obsView,
        id: 's',
        status: 'published',
      });
      assert.equal(badStatus.status, 422);
      const noResource = await send('POST', `${srv.baseUrl}/ViewDefinition`, {
        ...obsView,
        resource: 'Nope',
      });
      assert.equal(noResource.status, 422);
      assert.match(JSON.stringify(await noResource.json()), /"resource"/);
    });

    test('search by name, url, url|version and status', async () => {
      const search = async (query: string): Promise<string[]> => {
        const res = await send('GET', `${srv.baseUrl}/ViewDefinition?${query}`);
        assert.equal(res.status, 200, query);
        const bundle = (await res.json()) as SearchBundle;
        return (bundle.entry ?? []).map((e) => e.resource.id).sort();
      };
      assert.deepEqual(await search('name=patient'), [ids.v1, 'v2'].sort());
      assert.deepEqual(await search('name=OBS_'), ['obs']);
      assert.deepEqual(await search('name:exact=obs'), []);
      assert.deepEqual(await search('name:exact=obs_subjects'), ['obs']);
      assert.deepEqual(await search(`url=${encodeURIComponent(CANONICAL)}`), [ids.v1, 'v2'].sort());
      assert.deepEqual(await search(`url=${encodeURIComponent(`${CANONICAL}|2`)}`), ['v2']);
      assert.deepEqual(await search('status=draft'), []);
      assert.deepEqual(await search('status=active,retired'), [ids.v1, 'v2', 'obs'].sort());
      assert.deepEqual(await search('status=active&name=obs'), ['obs']);
      const onPatient = await send('GET', `${srv.baseUrl}/Patient?url=x`);
      assert.equal(onPatient.status, 400);
    });

    test('$viewdefinition-run takes a viewReference: relative, canonical, absolute to this server', async () => {
      const url = `${srv.baseUrl}/$viewdefinition-run`;
      const relative = await send('POST', url, runBody(byRef('ViewDefinition/obs')));
      assert.equal(relative.status, 200);
      assert.deepEqual(await lines(relative), [{ id: 'o1', patient: 'p1' }]);
      const canonical = await send('POST', url, runBody(byRef(`${CANONICAL}|2`)));
      assert.equal(canonical.status, 200);
      assert.deepEqual((await lines(canonical)).map((r) => r['id']).sort(), ['p1', 'p2']);
      const latest = await send('POST', url, runBody(byRef(CANONICAL)));
      assert.equal(latest.status, 200);
      const absolute = await send('POST', url, runBody(byRef(`${srv.baseUrl}/ViewDefinition/obs`)));
      assert.equal(absolute.status, 200);
      await absolute.arrayBuffer();
    });

    test('an unknown reference is 404, a bad or foreign one 400', async () => {
      const url = `${srv.baseUrl}/$viewdefinition-run`;
      const cases: [string, number, string][] = [
        ['ViewDefinition/nope', 404, 'not-found'],
        ['ViewDefinition/tmp', 404, 'not-found'],
        [`${CANONICAL}|9`, 404, 'not-found'],
        ['https://other.example.com/ViewDefinition/x', 400, 'not-supported'],
        ['Patient/p1', 400, 'invalid'],
      ];
      for (const [reference, status, code] of cases) {
        const res = await send('POST', url, runBody(byRef(reference)));
        assert.equal(res.status, status, reference);
        const outcome = (await res.json()) as Outcome;
        assert.equal(outcome.issue[0]?.code, code, reference);
        assert.deepEqual(outcome.issue[0]?.expression, ['viewReference'], reference);
      }
      const both = await send(
        'POST',
        url,
        runBody(byRef('ViewDefinition/obs'), { name: 'viewResource', resource: obsView }),
      );
      assert.equal(both.status, 400);
      await both.arrayBuffer();
    });

    test('the instance level runs the stored view by GET and POST', async () => {
      const get = await fetch(`${srv.baseUrl}/ViewDefinition/obs/$viewdefinition-run?_format=csv`);
      assert.equal(get.status, 200);
      assert.equal(await get.text(), 'id,patient\r\no1,p1\r\n');
      const post = await send('POST', `${srv.baseUrl}/ViewDefinition/obs/$viewdefinition-run`, runBody());
      assert.deepEqual(await lines(post), [{ id: 'o1', patient: 'p1' }]);
      const missing = await fetch(`${srv.baseUrl}/ViewDefinition/nope/$viewdefinition-run?_format=csv`);
      assert.equal(missing.status, 404);
      await missing.arrayBuffer();
      const twice = await send(
        'POST',
        `${srv.baseUrl}/ViewDefinition/obs/$viewdefinition-run`,
        runBody(byRef('ViewDefinition/obs')),
      );
      assert.equal(twice.status, 400);
      await twice.arrayBuffer();
    });

    test('a system export without _type leaves the stored views out', async () => {
      const manifest = await runExport(`${srv.baseUrl}/$export`);
      const types = manifest.output.map((o) => o.type).sort();
      assert.deepEqual([...new Set(types)], ['Observation', 'Patient']);
      const rows = await readLines(manifest.output);
      assert.ok(rows.every((r) => r['resourceType'] !== 'ViewDefinition'));
      const named = await fetch(`${srv.baseUrl}/$export?_type=ViewDefinition`, {
        headers: { prefer: 'respond-async', accept: 'application/fhir+json' },
      });
      assert.equal(named.status, 400);
      await named.arrayBuffer();
    });
  });
}

describe('stored ViewDefinitions and scopes', () => {
  let srv: TestServer;
  const suite = suiteScope(after);
  const tokens: Record<string, string> = {};

  before(async () => {
    srv = await startTestServer(suite, { auth: true });
    const key = await makeKey('ES384');
    const tokenUrl = `${srv.baseUrl}/auth/token`;
    const grants: Record<string, string> = {
      reader: 'system/ViewDefinition.rs system/Patient.rs system/Observation.rs',
      writer: 'system/ViewDefinition.cud',
      dataOnly: 'system/Patient.rs system/Observation.rs',
      all: 'system/*.rs',
    };
    for (const [who, scope] of Object.entries(grants)) {
      const id = await registerClient(srv.runtime, { jwks: jwksOf(key) }, scope);
      tokens[who] = await getToken(tokenUrl, { id, key }, scope);
    }
    await srv.runtime.store.ingest(DATA);
  });

  test('.cud writes, .rs reads and searches; each alone is refused the other', async () => {
    const put = (token: string): Promise<Response> =>
      send('PUT', `${srv.baseUrl}/ViewDefinition/obs`, { ...obsView, id: 'obs' }, token);
    const refused = await put(tokens.reader as string);
    assert.equal(refused.status, 403);
    await refused.arrayBuffer();
    const written = await put(tokens.writer as string);
    assert.equal(written.status, 201);
    await written.arrayBuffer();
    const read = await send('GET', `${srv.baseUrl}/ViewDefinition/obs`, undefined, tokens.writer);
    assert.equal(read.status, 403);
    await read.arrayBuffer();
    const found = await send('GET', `${srv.baseUrl}/ViewDefinition?name=obs`, undefined, tokens.reader);
    assert.equal(found.status, 200);
    assert.deepEqual(
      ((await found.json()) as SearchBundle).entry?.map((e) => e.resource.id),
      ['obs'],
    );
  });

  test('a viewReference needs ViewDefinition read as well as the data types', async () => {
    const url = `${srv.baseUrl}/$viewdefinition-run`;
    const denied = await send('POST', url, runBody(byRef('ViewDefinition/obs')), tokens.dataOnly);
    assert.equal(denied.status, 403);
    assert.match(JSON.stringify(await denied.json()), /ViewDefinition/);
    const allowed = await send('POST', url, runBody(byRef('ViewDefinition/obs')), tokens.reader);
    assert.equal(allowed.status, 200);
    assert.deepEqual(await lines(allowed), [{ id: 'o1', patient: 'p1' }]);
  });

  test('a system export by a token that may read ViewDefinition still leaves it out', async () => {
    const headers = { authorization: `Bearer ${tokens.reader as string}` };
    const status = await kickoff(`${srv.baseUrl}/$export`, { headers });
    const done = await waitForExport(status, headers);
    assert.equal(done.status, 200);
    const manifest = (await done.json()) as TestManifest;
    const types = [...new Set(manifest.output.map((o) => o.type))].sort();
    assert.deepEqual(types, ['Observation', 'Patient']);
  });
});
