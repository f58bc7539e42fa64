import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { patientCompartmentRefs } from '../../src/fhir/index.js';
import type { FhirResource } from '../../src/fhir/index.js';
import { loadPaths } from '../../src/store/index.js';
import { runView } from '../../src/views/index.js';
import { getToken, jwksOf, makeKey, registerClient } from '../helpers/auth.js';
import { makeGroup, makeObservation } from '../helpers/builders.js';
import { generatedDataSet, readDataSet } from '../helpers/fixtures.js';
import type { DataSetResource } from '../helpers/fixtures.js';
import { startTestServer, suiteScope } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { backends } from '../helpers/stores.js';
import { readParquet } from '../tables/duckdb-read.js';

type Row = Record<string, unknown>;
interface Param {
  name: string;
  valueString?: string;
  valueCode?: string;
  valueUri?: string;
  valueInteger?: number;
  valueInstant?: string;
  part?: Param[];
}
interface Parameters {
  resourceType: string;
  parameter: Param[];
}
interface Outcome {
  resourceType: string;
  issue: { code: string; diagnostics?: string; expression?: string[] }[];
}

const PATIENT_VIEW = {
  resourceType: 'ViewDefinition',
  name: 'patients',
  resource: 'Patient',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()', type: 'id' },
        { name: 'gender', path: 'gender', type: 'code' },
        { name: 'birth_date', path: 'birthDate', type: 'date' },
      ],
    },
  ],
};
const OBS_VIEW = {
  resourceType: 'ViewDefinition',
  name: 'observations',
  resource: 'Observation',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()', type: 'id' },
        { name: 'patient', path: 'subject.getReferenceKey(Patient)', type: 'id' },
        { name: 'status', path: 'status', type: 'code' },
        { name: 'code', path: 'code.coding.first().code', type: 'code' },
      ],
    },
  ],
};

const PRACTITIONER_VIEW = {
  resourceType: 'ViewDefinition',
  name: 'practitioners',
  resource: 'Practitioner',
  select: [{ column: [{ name: 'id', path: 'getResourceKey()', type: 'id' }] }],
};

const params = (...parameter: unknown[]): unknown => ({ resourceType: 'Parameters', parameter });
const view = (resource: unknown, name?: string): unknown => ({
  name: 'view',
  part: [...(name ? [{ name: 'name', valueString: name }] : []), { name: 'viewResource', resource }],
});
const format = (code: string): unknown => ({ name: '_format', valueCode: code });
const ref = (name: string, reference: string): unknown => ({ name, valueReference: { reference } });
const value = (p: Parameters, name: string): unknown => {
  const found = p.parameter.find((x) => x.name === name);
  return (
    found?.valueString ?? found?.valueCode ?? found?.valueUri ?? found?.valueInteger ?? found?.valueInstant
  );
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const byId = (a: Row, b: Row): number => String(a['id']).localeCompare(String(b['id']));

/** A view export client: one bearer token, real HTTP. */
class Client {
  constructor(
    readonly base: string,
    readonly token: string | undefined,
  ) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  kickoff(body: unknown, prefer = true): Promise<Response> {
    return fetch(`${this.base}/$viewdefinition-export`, {
      method: 'POST',
      headers: this.headers({
        'content-type': 'application/fhir+json',
        ...(prefer ? { prefer: 'respond-async' } : {}),
      }),
      body: JSON.stringify(body),
    });
  }

  get(url: string): Promise<Response> {
    return fetch(url, { headers: this.headers(), redirect: 'manual' });
  }

  /** Kick off, poll to the 303, and read the result. */
  async run(body: unknown): Promise<{ status: string; result: Parameters }> {
    const res = await this.kickoff(body);
    assert.equal(res.status, 202, await res.clone().text());
    const status = res.headers.get('content-location')!;
    const accepted = (await res.json()) as Parameters;
    assert.equal(value(accepted, 'location'), status);
    assert.equal(value(accepted, 'status'), 'accepted');
    for (let i = 0; i < 300; i++) {
      const poll = await this.get(status);
      if (poll.status === 303) {
        await poll.arrayBuffer();
        const result = await this.get(poll.headers.get('location')!);
        assert.equal(result.status, 200);
        return { status, result: (await result.json()) as Parameters };
      }
      assert.equal(poll.status, 202, await poll.clone().text());
      assert.ok(poll.headers.get('retry-after'));
      const body = (await poll.json()) as Parameters;
      assert.ok(!body.parameter.some((p) => p.name === 'output'));
      await sleep(100);
    }
    throw new Error('view export did not finish');
  }
}

/** Each view's file URLs from a result, by output name. */
function outputs(result: Parameters): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of result.parameter.filter((x) => x.name === 'output')) {
    const name = p.part!.find((x) => x.name === 'name')!.valueString!;
    out.set(
      name,
      p.part!.filter((x) => x.name === 'location').map((x) => x.valueUri!),
    );
  }
  return out;
}

async function ndjsonRows(client: Client, urls: string[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const url of urls) {
    const res = await client.get(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    for (const line of (await res.text()).split('\n')) if (line !== '') rows.push(JSON.parse(line) as Row);
  }
  return rows.sort(byId);
}

const set = await generatedDataSet();
const patientsOf = readDataSet(set, 'Patient');
const observationsOf = readDataSet(set, 'Observation');
const expectedObs = (keep: (r: DataSetResource) => boolean = () => true): Row[] =>
  [...runView(OBS_VIEW, observationsOf.filter(keep))].sort(byId);
const inCompartments = (ids: Set<string>) => (r: DataSetResource) =>
  patientCompartmentRefs(r as unknown as FhirResource).some((c) => ids.has(c.patientId));

for (const backend of backends()) {
  describe(`$viewdefinition-export on ${backend.name}`, { skip: backend.skip }, () => {
    let srv: TestServer;
    const suite = suiteScope(after);
    const clients: Record<'wide' | 'other' | 'patientOnly' | 'obsOnly', Client> = {} as never;

    /** How a finished job read its patients: member by member or by type scans. */
    const readPath = async (status: string): Promise<string> => {
      const units = await srv.runtime.store.jobs.listUnits(status.split('/').pop()!);
      const specs = units.map((u) => JSON.parse(u.spec) as { kind: string; patients?: string[] });
      return specs.some((s) => s.kind === 'view' && (s.patients?.length ?? 0) > 0) ? 'members' : 'types';
    };

    before(async () => {
      // Small units and files, so one view runs as several units and writes several parts.
      srv = await startTestServer(suite, {
        backend,
        auth: true,
        export: { rowsPerUnit: 700, fileMaxBytes: 64 * 1024 },
      });
      await loadPaths(srv.runtime.store, [set.dir]);
      const key = await makeKey('ES384');
      const tokenUrl = `${srv.baseUrl}/auth/token`;
      const make = async (scope: string): Promise<Client> => {
        const id = await registerClient(srv.runtime, { jwks: jwksOf(key) }, scope);
        return new Client(srv.baseUrl, await getToken(tokenUrl, { id, key }, scope));
      };
      clients.wide = await make('system/*.rs');
      clients.other = await make('system/*.rs');
      clients.patientOnly = await make('system/Patient.rs');
      clients.obsOnly = await make('system/Observation.rs');
    });

    test('NDJSON: every view lists its parts, whose rows are exactly the runner over the data', async () => {
      const c = clients.wide;
      const { status, result } = await c.run(
        params(view(PATIENT_VIEW), view(OBS_VIEW, 'obs'), format('ndjson'), {
          name: 'clientTrackingId',
          valueString: 'track-1',
        }),
      );
      assert.equal(value(result, 'status'), 'completed');
      assert.equal(value(result, 'clientTrackingId'), 'track-1');
      assert.equal(value(result, '_format'), 'ndjson');
      assert.equal(value(result, 'exportId'), status.split('/').pop());
      assert.equal(typeof value(result, 'exportDuration'), 'number');
      const files = outputs(result);
      assert.deepEqual([...files.keys()], ['patients', 'obs']);
      const obs = files.get('obs')!;
      assert.ok(obs.length > 1, 'several parts');
      obs.forEach((url, i) => assert.ok(url.endsWith(`/obs.part${i + 1}.ndjson`), url));
      assert.deepEqual(await ndjsonRows(c, obs), expectedObs());
      assert.deepEqual(
        await ndjsonRows(c, files.get('patients')!),
        [...runView(PATIENT_VIEW, patientsOf)].sort(byId),
      );
      // The result stays valid: a second GET answers the same.
      const again = await c.get(status.replace('-status/', '-result/'));
      assert.equal(again.status, 200);
      assert.deepEqual(outputs((await again.json()) as Parameters), files);
    });

    test('CSV: a header row in each file, and the rows of the runner', async () => {
      const c = clients.wide;
      const { result } = await c.run(params(view(OBS_VIEW), format('csv')));
      const urls = outputs(result).get('observations')!;
      assert.ok(urls.length > 1);
      const rows: Row[] = [];
      for (const url of urls) {
        assert.match(url, /observations\.part\d+\.csv$/);
        const res = await c.get(url);
        assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
        const text = await res.text();
        assert.ok(text.startsWith('id,patient,status,code\r\n'), 'header in each file');
        rows.push(...(parse(text, { columns: true }) as Row[]));
      }
      const expected = expectedObs().map((r) =>
        Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? '' : String(v)])),
      );
      assert.deepEqual(rows.sort(byId), expected);
    });

    test('Parquet: DuckDB reads every part with the schema and the row count', async () => {
      const c = clients.wide;
      const { result } = await c.run(params(view(OBS_VIEW), view(PATIENT_VIEW), format('parquet')));
      const files = outputs(result);
      let obsRows: Row[] = [];
      for (const [name, urls] of files) {
        for (const [i, url] of urls.entries()) {
          const res = await c.get(url);
          assert.equal(res.headers.get('content-type'), 'application/vnd.apache.parquet');
          const path = join(srv.dir, `${name}-${i}.parquet`);
          await writeFile(path, Buffer.from(await res.arrayBuffer()));
          const read = await readParquet(path);
          const types = Object.fromEntries(read.schema.map((s) => [s.name, s.type]));
          if (name === 'patients')
            assert.deepEqual(types, { id: 'VARCHAR', gender: 'VARCHAR', birth_date: 'VARCHAR' });
          else {
            assert.deepEqual(Object.keys(types), ['id', 'patient', 'status', 'code']);
            obsRows = obsRows.concat(read.rows);
          }
        }
      }
      assert.equal(obsRows.length, observationsOf.length);
      assert.deepEqual(
        obsRows.map((r) => r['id']).sort(),
        expectedObs()
          .map((r) => r['id'])
          .sort(),
      );
    });

    test('patient= and group= give exactly the rows of the members compartments', async () => {
      const c = clients.wide;
      const ids = patientsOf.map((p) => p.id).sort();
      const listed = [ids[3]!, ids[40]!];
      const few = ids.filter((_, i) => i % 10 === 1);
      // Most patients: read by type scans with the patient filter instead of member by member.
      const most = ids.filter((_, i) => i % 10 !== 0);
      await srv.runtime.store.ingest([
        makeGroup(
          'vx-few',
          few.map((p) => `Patient/${p}`),
        ),
        makeGroup(
          'vx-most',
          most.map((p) => `Patient/${p}`),
        ),
      ]);
      const cases: [unknown[], string[]][] = [
        [listed.map((p) => ref('patient', `Patient/${p}`)), listed],
        [[ref('group', 'Group/vx-few')], few],
        [[ref('group', 'Group/vx-most')], most],
        [
          [ref('group', 'Group/vx-few'), ref('patient', `Patient/${ids[0]}`)],
          [...few, ids[0]!],
        ],
      ];
      const read: string[] = [];
      for (const [filter, members] of cases) {
        const { status, result } = await c.run(params(view(OBS_VIEW), view(PATIENT_VIEW), ...filter));
        read.push(await readPath(status));
        const files = outputs(result);
        const expected = expectedObs(inCompartments(new Set(members)));
        assert.ok(expected.length > 0);
        assert.deepEqual(await ndjsonRows(c, files.get('observations')!), expected);
        const pats = await ndjsonRows(c, files.get('patients')!);
        assert.deepEqual(
          pats.map((r) => r['id']),
          [...new Set(members)].sort(),
        );
      }
    });

    test('a view with no rows still lists one file: Parquet keeps its schema, CSV its header', async () => {
      const c = clients.wide;
      const none = { ...OBS_VIEW, name: 'none', where: [{ path: "status = 'no-such-status'" }] };
      const { result } = await c.run(params(view(none), format('parquet')));
      const urls = outputs(result).get('none')!;
      assert.equal(urls.length, 1);
      const path = join(srv.dir, 'none.parquet');
      await writeFile(path, Buffer.from(await (await c.get(urls[0]!)).arrayBuffer()));
      const parquet = await readParquet(path);
      assert.deepEqual(
        parquet.schema.map((s) => s.name),
        ['id', 'patient', 'status', 'code'],
      );
      assert.equal(parquet.rows.length, 0);
      const absent = { ...PRACTITIONER_VIEW, resource: 'Specimen', name: 'specimens' };
      const csv = await c.run(params(view(absent), format('csv')));
      const files = outputs(csv.result).get('specimens')!;
      assert.equal(files.length, 1);
      assert.equal(await (await c.get(files[0]!)).text(), 'id\r\n');
    });

    test('_since keeps only what changed after it', async () => {
      const c = clients.wide;
      const since = new Date(Date.now() - 1).toISOString();
      await sleep(5);
      const changed = observationsOf.slice(0, 3).map((o) => ({ ...o, status: 'amended' }));
      await srv.runtime.store.ingest(changed as unknown as FhirResource[]);
      await srv.runtime.store.ingest([makeObservation('vx-new', patientsOf[0]!.id)]);
      const { result } = await c.run(params(view(OBS_VIEW), { name: '_since', valueInstant: since }));
      const rows = await ndjsonRows(c, outputs(result).get('observations')!);
      assert.deepEqual(
        rows.map((r) => r['id']),
        [...changed.map((o) => o.id), 'vx-new'].sort(),
      );
      assert.ok(rows.filter((r) => r['id'] !== 'vx-new').every((r) => r['status'] === 'amended'));
    });

    test('scopes: a view, patient= or group= the token may not read is 403', async () => {
      const body = params(view(OBS_VIEW));
      const denied = await clients.patientOnly.kickoff(body);
      assert.equal(denied.status, 403);
      assert.match(JSON.stringify(await denied.json()), /Observation/);
      const noPatient = await clients.obsOnly.kickoff(params(view(OBS_VIEW), ref('patient', 'Patient/x')));
      assert.equal(noPatient.status, 403);
      const noGroup = await clients.obsOnly.kickoff(params(view(OBS_VIEW), ref('group', 'Group/x')));
      assert.equal(noGroup.status, 403);
      const anonymous = await new Client(srv.baseUrl, undefined).kickoff(body);
      assert.equal(anonymous.status, 401);
      // The patient view is within its scopes.
      const { result } = await clients.patientOnly.run(params(view(PATIENT_VIEW)));
      assert.equal(outputs(result).get('patients')!.length, 1);
    });

    test("another client's job, result and files are 404; cancel then polls 404", async () => {
      const { status, result } = await clients.wide.run(params(view(PATIENT_VIEW)));
      const file = outputs(result).get('patients')![0]!;
      const resultUrl = status.replace('-status/', '-result/');
      for (const url of [status, resultUrl, file]) assert.equal((await clients.other.get(url)).status, 404);
      const del = await fetch(status, { method: 'DELETE', headers: clients.other.headers() });
      assert.equal(del.status, 404);
      assert.equal((await clients.wide.get(file)).status, 200);
      // The owner releases it: status, result and files are gone.
      const mine = await fetch(status, { method: 'DELETE', headers: clients.wide.headers() });
      assert.equal(mine.status, 202);
      for (const url of [status, resultUrl, file]) assert.equal((await clients.wide.get(url)).status, 404);
      // A running job cancelled: later polls are 404.
      const res = await clients.wide.kickoff(params(view(OBS_VIEW), view(PATIENT_VIEW)));
      const running = res.headers.get('content-location')!;
      const cancel = await fetch(running, { method: 'DELETE', headers: clients.wide.headers() });
      assert.equal(cancel.status, 202);
      assert.equal((await clients.wide.get(running)).status, 404);
    });

    test('bad kick-offs get 400 or 422 with an OperationOutcome naming the fault', async () => {
      const c = clients.wide;
      const expect = async (res: Response, status: number, code: string, text: RegExp): Promise<void> => {
        assert.equal(res.status, status);
        const body = (await res.json()) as Outcome;
        assert.equal(body.resourceType, 'OperationOutcome');
        assert.equal(body.issue[0]?.code, code);
        assert.match(JSON.stringify(body), text);
      };
      await expect(await c.kickoff(params(view(OBS_VIEW)), false), 400, 'invalid', /respond-async/);
      await expect(await c.kickoff({ resourceType: 'Bundle' }), 400, 'invalid', /Parameters/);
      await expect(await c.kickoff(params(format('ndjson'))), 400, 'invalid', /view/);
      await expect(await c.kickoff(params(view(OBS_VIEW), format('xml'))), 400, 'not-supported', /_format/);
      await expect(
        await c.kickoff(params(view(OBS_VIEW), { name: 'source', valueString: 'x' })),
        400,
        'not-supported',
        /source/,
      );
      await expect(
        await c.kickoff(
          params({
            name: 'view',
            part: [{ name: 'viewReference', valueReference: { reference: 'ViewDefinition/x' } }],
          }),
        ),
        400,
        'not-supported',
        /viewReference/,
      );
      await expect(
        await c.kickoff(params({ name: 'view', part: [{ name: 'name', valueString: 'x' }] })),
        400,
        'invalid',
        /exactly one of viewResource and viewReference/,
      );
      const broken = { ...OBS_VIEW, select: [{ column: [{ name: 'id', path: 'id.(' }] }] };
      await expect(
        await c.kickoff(params(view(OBS_VIEW), view(broken, 'bad'))),
        422,
        'processing',
        /bad.*view\[1\]/,
      );
      const listy = {
        ...OBS_VIEW,
        select: [{ column: [{ name: 'codes', path: 'code.coding.code', collection: true }] }],
      };
      await expect(await c.kickoff(params(view(listy), format('csv'))), 422, 'processing', /codes/);
      await expect(
        await c.kickoff(params(view(OBS_VIEW), { name: '_since', valueInstant: '2999-01-01T00:00:00Z' })),
        400,
        'invalid',
        /future/,
      );
      await expect(
        await c.kickoff(params(view(OBS_VIEW), ref('patient', 'Patient/nobody-here'))),
        400,
        'invalid',
        /nobody-here/,
      );
      await expect(
        await c.kickoff(params(view(OBS_VIEW, 'a'), view(PATIENT_VIEW, 'a'))),
        400,
        'invalid',
        /'a'/,
      );
      await expect(await c.kickoff(params(view(OBS_VIEW, '../x'))), 400, 'invalid', /name/);
    });

    test('the CapabilityStatement lists $viewdefinition-export with its canonical URL', async () => {
      const cs = (await (await fetch(`${srv.baseUrl}/metadata`)).json()) as {
        rest: { operation?: { name: string; definition: string }[] }[];
      };
      assert.ok(
        cs.rest[0]!.operation!.some(
          (o) =>
            o.name === 'viewdefinition-export' &&
            o.definition === 'http://sql-on-fhir.org/OperationDefinition/$viewdefinition-export',
        ),
      );
    });
  });
}
