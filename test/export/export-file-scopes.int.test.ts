// Downloads check the token's scopes, not only the job's owner (Bulk IG "Privacy and
// Security": only what the client is authorized for), over real HTTP with real signed tokens, on every
// store backend.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FhirResource } from '../../src/fhir/index.js';
import { getToken, jwksOf, makeKey, registerClient } from '../helpers/auth.js';
import type { TestKey } from '../helpers/auth.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { kickoff, startTestServer, suiteScope, waitForExport } from '../helpers/server.js';
import type { TestManifest, TestServer } from '../helpers/server.js';
import { backends } from '../helpers/stores.js';

type Entry = { type?: string; url: string };
interface Manifest extends TestManifest {
  output: (Entry & { type: string })[];
  link?: { relation: string; url: string }[];
}

const BROAD = 'system/*.read';
const PATIENT = 'system/Patient.read';
const OBSERVATION = 'system/Observation.read';
const LENIENT = { prefer: 'respond-async, handling=lenient' };

const allergy = (id: string, patientId: string): FhirResource => ({
  resourceType: 'AllergyIntolerance',
  id,
  patient: { reference: `Patient/${patientId}` },
});

/** Three patients, Observations and AllergyIntolerances; then Patient p3 and allergy a1 are deleted. */
async function seed(srv: TestServer): Promise<void> {
  const { store } = srv.runtime;
  await store.ingest([
    makePatient('p1'),
    makePatient('p2'),
    makePatient('p3'),
    makeObservation('o1', 'p1'),
    makeObservation('o2', 'p2'),
    allergy('a1', 'p1'),
    allergy('a2', 'p2'),
  ]);
  await store.delete('AllergyIntolerance', 'a1');
  await store.delete('Patient', 'p3');
}

/** `_since` before every write: all current resources, both deletions, and (lenient) a warning file. */
const SINCE_EXPORT = '/$export?_since=2000-01-01T00:00:00Z&_unknownParameter=1';

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

async function expect403(res: Response): Promise<string> {
  assert.equal(res.status, 403);
  assert.match(res.headers.get('content-type') ?? '', /^application\/fhir\+json/);
  const outcome = (await res.json()) as {
    resourceType: string;
    issue: { code: string; diagnostics: string }[];
  };
  assert.equal(outcome.resourceType, 'OperationOutcome');
  assert.equal(outcome.issue[0]?.code, 'forbidden');
  return outcome.issue[0]?.diagnostics ?? '';
}

async function expectStatus(res: Response, status: number): Promise<string> {
  const body = await res.text();
  assert.equal(res.status, status, body);
  return body;
}

/** The resource types a deleted file's DELETE entries name, read with a token that may read them. */
async function deletedTypes(url: string, headers: Record<string, string>): Promise<string[]> {
  const text = await expectStatus(await fetch(url, { headers }), 200);
  const types = new Set<string>();
  for (const line of text.split('\n').filter((l) => l !== '')) {
    for (const e of (JSON.parse(line) as { entry: { request: { url: string } }[] }).entry)
      types.add(e.request.url.split('/')[0] as string);
  }
  return [...types].sort();
}

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    describe('export file downloads and manifests follow the token scopes', () => {
      let srv: TestServer;
      let key: TestKey;
      const clients = { owner: '', other: '' };
      const suite = suiteScope(after);
      let statusUrl = '';
      let full: Manifest;
      /** Deleted file URLs by the type of their DELETE entries. */
      const deletedOf: Record<string, string> = {};

      const token = (who: keyof typeof clients, scope: string): Promise<string> =>
        getToken(`${srv.baseUrl}/auth/token`, { id: clients[who], key }, scope);
      const fileOf = (type: string): string => {
        const entry = full.output.find((e) => e.type === type);
        assert.ok(entry, `an ${type} output file`);
        return entry.url;
      };

      before(async () => {
        srv = await startTestServer(suite, { backend, auth: true, export: { manifestPageUnits: 2 } });
        key = await makeKey('ES384');
        clients.owner = await registerClient(srv.runtime, { jwks: jwksOf(key) }, BROAD);
        clients.other = await registerClient(srv.runtime, { jwks: jwksOf(key) }, BROAD);
        await seed(srv);
        const broad = bearer(await token('owner', BROAD));
        statusUrl = await kickoff(`${srv.baseUrl}${SINCE_EXPORT}`, { headers: { ...broad, ...LENIENT } });
        full = (await (await waitForExport(statusUrl, broad)).json()) as Manifest;
        for (const entry of full.deleted ?? []) {
          const [type, ...more] = await deletedTypes(entry.url, broad);
          assert.deepEqual(more, [], 'one type per deleted file');
          deletedOf[type as string] = entry.url;
        }
      });

      test('the broad token that started the export sees every file', () => {
        assert.deepEqual(full.output.map((e) => e.type).sort(), [
          'AllergyIntolerance',
          'Observation',
          'Patient',
        ]);
        assert.deepEqual(Object.keys(deletedOf).sort(), ['AllergyIntolerance', 'Patient']);
        assert.equal(full.error.length, 1, 'the lenient warning');
        assert.equal(full.requiresAccessToken, true);
      });

      test('a narrower token of the same client downloads only the files of its types', async () => {
        const narrow = bearer(await token('owner', PATIENT));
        const patients = await expectStatus(await fetch(fileOf('Patient'), { headers: narrow }), 200);
        assert.equal(patients.trim().split('\n').length, 2);
        assert.match(
          await expect403(await fetch(fileOf('AllergyIntolerance'), { headers: narrow })),
          /AllergyIntolerance/,
        );
        assert.match(await expect403(await fetch(fileOf('Observation'), { headers: narrow })), /Observation/);
        // Range and gzip requests are checked the same way.
        await expect403(await fetch(fileOf('Observation'), { headers: { ...narrow, range: 'bytes=0-9' } }));
        await expect403(
          await fetch(fileOf('Observation'), { headers: { ...narrow, 'accept-encoding': 'gzip' } }),
        );
      });

      test('deleted files need read access to the deleted type', async () => {
        const narrow = bearer(await token('owner', PATIENT));
        assert.deepEqual(await deletedTypes(deletedOf.Patient as string, narrow), ['Patient']);
        assert.match(
          await expect403(await fetch(deletedOf.AllergyIntolerance as string, { headers: narrow })),
          /AllergyIntolerance/,
        );
        const observations = bearer(await token('owner', OBSERVATION));
        await expect403(await fetch(deletedOf.Patient as string, { headers: observations }));
      });

      test('the error file is served to any token of the owner', async () => {
        for (const scope of [PATIENT, OBSERVATION]) {
          const text = await expectStatus(
            await fetch(full.error[0]!.url, { headers: bearer(await token('owner', scope)) }),
            200,
          );
          assert.equal(
            (JSON.parse(text.split('\n')[0]!) as { resourceType: string }).resourceType,
            'OperationOutcome',
          );
        }
      });

      test('a token scoped to Observation gets 403 on the Patient file and 200 on its own', async () => {
        const observations = bearer(await token('owner', OBSERVATION));
        await expect403(await fetch(fileOf('Patient'), { headers: observations }));
        await expectStatus(await fetch(fileOf('Observation'), { headers: observations }), 200);
      });

      test('organized output needs every type its blocks may hold', async () => {
        const scope = 'system/Patient.read system/Observation.read';
        const both = bearer(await token('owner', scope));
        const status = await kickoff(
          `${srv.baseUrl}/Patient/$export?_type=Patient,Observation&organizeOutputBy=Patient`,
          { headers: both },
        );
        const organized = (await (await waitForExport(status, both)).json()) as Manifest;
        assert.equal(organized.output.length, 1);
        const url = organized.output[0]!.url;
        await expectStatus(await fetch(url, { headers: both }), 200);
        await expect403(await fetch(url, { headers: bearer(await token('owner', PATIENT)) }));
      });

      test('another client gets 404 for the job, its pages and every file, whatever its scopes', async () => {
        const theirs = bearer(await token('other', BROAD));
        await expectStatus(await fetch(statusUrl, { headers: theirs }), 404);
        await expectStatus(await fetch(`${statusUrl}/page/1`, { headers: theirs }), 404);
        for (const e of [...full.output, ...(full.deleted ?? []), ...full.error])
          await expectStatus(await fetch(e.url, { headers: theirs }), 404);
      });
    });
  });
}
