// Downloads and manifests check the token's scopes, not only the job's owner (Bulk IG "Privacy and
// Security": only what the client is authorized for), over real HTTP with real signed tokens, on every
// store backend, with local files and with S3 (s3rver) in pre-signed mode.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FhirResource } from '../../src/fhir/index.js';
import { getToken, jwksOf, makeKey, registerClient } from '../helpers/auth.js';
import type { TestKey } from '../helpers/auth.js';
import { makeGroup, makeObservation, makePatient } from '../helpers/builders.js';
import { startS3 } from '../helpers/s3.js';
import type { TestS3 } from '../helpers/s3.js';
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

/** The file name of a manifest URL (a server file URL or a pre-signed S3 URL). */
const nameOf = (url: string): string => decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');

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

/** Every name in a manifest's output, deleted and error arrays. */
const namesOf = (m: Manifest): string[] =>
  [...m.output, ...(m.deleted ?? []), ...m.error].map((e) => nameOf(e.url)).sort();

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
      const manifestFor = async (url: string, scope: string): Promise<Manifest> =>
        JSON.parse(
          await expectStatus(await fetch(url, { headers: bearer(await token('owner', scope)) }), 200),
        );
      const fileOf = (type: string): string => {
        const entry = full.output.find((e) => e.type === type);
        assert.ok(entry, `an ${type} output file`);
        return entry.url;
      };

      before(async () => {
        srv = await startTestServer(suite, {
          backend,
          auth: true,
          // Group exports read member by member whatever their share (only the Group test has one).
          export: { manifestPageUnits: 2, readPath: 'members' },
        });
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

      test('the manifest served to a narrower token lists only its files, and the error file', async () => {
        const narrow = await manifestFor(statusUrl, PATIENT);
        assert.deepEqual(
          narrow.output.map((e) => e.type),
          ['Patient'],
        );
        assert.deepEqual(
          narrow.deleted?.map((e) => e.url),
          [deletedOf.Patient],
        );
        assert.deepEqual(narrow.error, full.error);
        assert.equal(narrow.transactionTime, full.transactionTime);
        const observations = await manifestFor(statusUrl, OBSERVATION);
        assert.deepEqual(
          observations.output.map((e) => e.type),
          ['Observation'],
        );
        assert.deepEqual(observations.deleted, []);
        assert.deepEqual(observations.error, full.error);
      });

      test('partial manifest pages list only the files the token may read', async () => {
        const broad = bearer(await token('owner', BROAD));
        const status = await kickoff(`${srv.baseUrl}/$export?allowPartialManifests=true`, { headers: broad });
        await (await waitForExport(status, broad)).arrayBuffer();
        const walk = async (scope: string): Promise<{ pages: number; types: string[] }> => {
          const types: string[] = [];
          let pages = 0;
          for (let url: string | undefined = status; url !== undefined; pages++) {
            const page = await manifestFor(url, scope);
            types.push(...page.output.map((e) => e.type));
            url = page.link?.find((l) => l.relation === 'next')?.url;
          }
          return { pages, types: types.sort() };
        };
        const all = await walk(BROAD);
        assert.ok(all.pages > 1, 'several pages');
        assert.deepEqual(all.types, ['AllergyIntolerance', 'Observation', 'Patient']);
        const narrow = await walk(PATIENT);
        assert.equal(narrow.pages, all.pages, 'the same pages, fewer files');
        assert.deepEqual(narrow.types, ['Patient']);
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
        assert.deepEqual((await manifestFor(status, PATIENT)).output, []);
      });

      test('a Group export read member by member serves each file only to its type', async () => {
        // The member units write one series per type: before 3 December 2026 their files were served
        // to any token of the owner.
        const { store } = srv.runtime;
        await store.ingest([makeGroup('scoped', ['Patient/p1', 'Patient/p2'])]);
        const broad = bearer(await token('owner', BROAD));
        const status = await kickoff(`${srv.baseUrl}/Group/scoped/$export?_type=Patient,Observation`, {
          headers: broad,
        });
        const group = (await (await waitForExport(status, broad)).json()) as Manifest;
        const units = await store.jobs.listUnits(status.split('/').pop()!);
        const kinds = units.map((u) => (JSON.parse(u.spec) as { kind: string }).kind);
        assert.ok(kinds.includes('members') || kinds.includes('memberRange'), kinds.join());
        const observations = group.output.find((e) => e.type === 'Observation')!.url;
        const patients = group.output.find((e) => e.type === 'Patient')!.url;
        const patientOnly = bearer(await token('owner', PATIENT));
        assert.match(await expect403(await fetch(observations, { headers: patientOnly })), /Observation/);
        await expectStatus(await fetch(patients, { headers: patientOnly }), 200);
        assert.deepEqual(
          (await manifestFor(status, PATIENT)).output.map((e) => e.type),
          ['Patient'],
        );
      });

      test('another client gets 404 for the job, its pages and every file, whatever its scopes', async () => {
        const theirs = bearer(await token('other', BROAD));
        await expectStatus(await fetch(statusUrl, { headers: theirs }), 404);
        await expectStatus(await fetch(`${statusUrl}/page/1`, { headers: theirs }), 404);
        for (const e of [...full.output, ...(full.deleted ?? []), ...full.error])
          await expectStatus(await fetch(e.url, { headers: theirs }), 404);
      });
    });

    describe('pre-signed S3 downloads follow the token scopes', () => {
      let s3: TestS3;
      let srv: TestServer;
      let key: TestKey;
      let owner = '';
      const suite = suiteScope(after);

      before(async () => {
        s3 = await startS3(suite);
        srv = await startTestServer(suite, {
          backend,
          auth: true,
          env: s3.env,
          storage: `s3://${s3.bucket}/scopes/`,
          downloadMode: 'presigned',
        });
        key = await makeKey('ES384');
        owner = await registerClient(srv.runtime, { jwks: jwksOf(key) }, BROAD);
        await seed(srv);
      });

      test('a narrower token gets pre-signed URLs only for the files of its types', async () => {
        const token = (scope: string): Promise<string> =>
          getToken(`${srv.baseUrl}/auth/token`, { id: owner, key }, scope);
        const broad = bearer(await token(BROAD));
        const status = await kickoff(`${srv.baseUrl}${SINCE_EXPORT}`, { headers: { ...broad, ...LENIENT } });
        const full = (await (await waitForExport(status, broad)).json()) as Manifest;
        assert.equal(full.requiresAccessToken, false);
        assert.equal(full.output.length, 3);
        assert.equal(full.deleted?.length, 2);

        const narrowToken = await token(PATIENT);
        const narrow = JSON.parse(
          await expectStatus(await fetch(status, { headers: bearer(narrowToken) }), 200),
        ) as Manifest;
        assert.deepEqual(
          narrow.output.map((e) => e.type),
          ['Patient'],
        );
        assert.equal(narrow.deleted?.length, 1);
        assert.equal(narrow.error.length, 1);
        const signed = [...narrow.output, ...(narrow.deleted ?? []), ...narrow.error];
        for (const e of signed) {
          assert.ok(e.url.startsWith(`${s3.endpoint}/${s3.bucket}/scopes/`), e.url);
          assert.match(e.url, /X-Amz-Signature=/);
        }
        // The narrow manifest names exactly the Patient output, the Patient deletions and the error file.
        assert.deepEqual(await deletedTypes(narrow.deleted![0]!.url, {}), ['Patient']);
        const patientName = nameOf(full.output.find((e) => e.type === 'Patient')!.url);
        assert.deepEqual(
          namesOf(narrow),
          [nameOf(narrow.deleted![0]!.url), nameOf(full.error[0]!.url), patientName].sort(),
        );
        // Each pre-signed URL works as it stands, without the token.
        for (const e of signed) await expectStatus(await fetch(e.url), 200);

        // The token-checked file route on S3 storage refuses the other types as well.
        const jobId = status.slice(status.lastIndexOf('/') + 1);
        const route = (name: string): string => `${srv.baseUrl}/$export-files/${jobId}/${name}`;
        const allergyName = nameOf(full.output.find((e) => e.type === 'AllergyIntolerance')!.url);
        await expect403(await fetch(route(allergyName), { headers: bearer(narrowToken) }));
        await expectStatus(await fetch(route(patientName), { headers: bearer(narrowToken) }), 200);
      });
    });
  });
}
