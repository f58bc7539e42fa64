// Relative Attachment URLs are exported absolute (issue 13, item 10), on the byte-copy path and on the
// parsed path (_elements), and the Binary they name is read with the rules of the export files: a
// token whose scopes cover Binary, over real HTTP, on every store backend.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FhirResource } from '../../src/fhir/index.js';
import { getToken, jwksOf, makeKey, registerClient } from '../helpers/auth.js';
import { makePatient } from '../helpers/builders.js';
import { kickoff, startTestServer, suiteScope, waitForExport } from '../helpers/server.js';
import type { TestManifest, TestServer } from '../helpers/server.js';
import { backends } from '../helpers/stores.js';

const ABSOLUTE = 'https://elsewhere.example/doc.pdf';
const DATA = 'data:text/plain;base64,aGk=';
const URN = 'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0';

const documentReference: FhirResource = {
  resourceType: 'DocumentReference',
  id: 'd1',
  status: 'current',
  subject: { reference: 'Patient/p1' },
  extension: [{ url: 'relative-extension', valueString: 'kept' }],
  content: [
    {
      attachment: {
        contentType: 'text/plain',
        url: 'Binary/b1',
        extension: [{ url: 'attachment-extension', valueString: 'kept' }],
      },
    },
    { attachment: { contentType: 'application/pdf', url: '/attachments/x.pdf' } },
    { attachment: { contentType: 'application/pdf', url: ABSOLUTE } },
    { attachment: { contentType: 'text/plain', url: DATA } },
    { attachment: { contentType: 'text/plain', url: URN } },
  ],
};
const binary: FhirResource = { resourceType: 'Binary', id: 'b1', contentType: 'text/plain', data: 'aGk=' };

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

type Row = Record<string, unknown> & { resourceType: string; id: string };

async function exported(url: string, headers: Record<string, string>): Promise<Map<string, Row>> {
  const status = await kickoff(url, { headers });
  const res = await waitForExport(status, headers);
  assert.equal(res.status, 200, await res.clone().text());
  const manifest = (await res.json()) as TestManifest;
  const rows = new Map<string, Row>();
  for (const entry of manifest.output) {
    const text = await (await fetch(entry.url, { headers })).text();
    for (const line of text.split('\n').filter((l) => l !== '')) {
      const row = JSON.parse(line) as Row;
      rows.set(`${row.resourceType}/${row.id}`, row);
    }
  }
  return rows;
}

const urlsOf = (row: Row | undefined): string[] =>
  ((row?.content ?? []) as { attachment: { url: string } }[]).map((c) => c.attachment.url);

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    describe('exported Attachment urls', () => {
      let srv: TestServer;
      let headers: Record<string, string>;
      let patientsOnly: Record<string, string>;
      const suite = suiteScope(after);

      before(async () => {
        srv = await startTestServer(suite, { backend, auth: true });
        const key = await makeKey('ES384');
        const id = await registerClient(srv.runtime, { jwks: jwksOf(key) }, 'system/*.read');
        headers = bearer(await getToken(`${srv.baseUrl}/auth/token`, { id, key }, 'system/*.read'));
        patientsOnly = bearer(
          await getToken(`${srv.baseUrl}/auth/token`, { id, key }, 'system/Patient.read'),
        );
        await srv.runtime.store.ingest([
          makePatient('p1', { photo: [{ contentType: 'image/png', url: 'Binary/b1' }] }),
          makePatient('p2', { photo: [{ contentType: 'image/png', url: DATA }] }),
          // Ingest stamps `meta` on what it is given: the fixtures stay as written.
          structuredClone(documentReference),
          structuredClone(binary),
        ]);
      });

      const expected = (base: string): string[] => [
        `${base}/Binary/b1`,
        `${new URL(base).origin}/attachments/x.pdf`,
        ABSOLUTE,
        DATA,
        URN,
      ];

      test('are absolute in a system export that copies stored bytes', async () => {
        const rows = await exported(`${srv.baseUrl}/$export`, headers);
        const doc = rows.get('DocumentReference/d1');
        assert.deepEqual(urlsOf(doc), expected(srv.baseUrl));
        assert.deepEqual(doc?.extension, documentReference.extension, 'extension urls are untouched');
        const content = doc?.content as { attachment: { extension?: unknown } }[];
        assert.deepEqual(content[0]?.attachment.extension, [
          { url: 'attachment-extension', valueString: 'kept' },
        ]);
        assert.deepEqual(rows.get('Patient/p1')?.photo, [
          { contentType: 'image/png', url: `${srv.baseUrl}/Binary/b1` },
        ]);
        assert.deepEqual(rows.get('Patient/p2')?.photo, [{ contentType: 'image/png', url: DATA }]);
        const row = rows.get('Binary/b1');
        assert.ok(row);
        const { meta, ...stored } = row;
        assert.deepEqual(stored, binary);
        assert.ok(meta, 'exported as stored');
      });

      test('are absolute in a patient export, and with _elements on the parsed path', async () => {
        const patients = await exported(
          `${srv.baseUrl}/Patient/$export?_type=Patient,DocumentReference`,
          headers,
        );
        assert.deepEqual(urlsOf(patients.get('DocumentReference/d1')), expected(srv.baseUrl));
        const projected = await exported(
          `${srv.baseUrl}/$export?_type=Patient,DocumentReference&_elements=content,photo`,
          headers,
        );
        const doc = projected.get('DocumentReference/d1');
        assert.deepEqual(urlsOf(doc), expected(srv.baseUrl));
        assert.equal(doc?.extension, undefined, 'projected away');
        assert.deepEqual(projected.get('Patient/p1')?.photo, [
          { contentType: 'image/png', url: `${srv.baseUrl}/Binary/b1` },
        ]);
      });

      test('a resolved Binary url is read with the export token, and not without one or with a narrower one', async () => {
        const url = `${srv.baseUrl}/Binary/b1`;
        const res = await fetch(url, { headers });
        assert.equal(res.status, 200);
        const { meta, ...read } = (await res.json()) as Row;
        assert.deepEqual(read, binary);
        assert.ok(meta);
        const anonymous = await fetch(url);
        await anonymous.arrayBuffer();
        assert.equal(anonymous.status, 401);
        const narrow = await fetch(url, { headers: patientsOnly });
        await narrow.arrayBuffer();
        assert.equal(narrow.status, 403, 'a token whose scopes do not cover Binary');
      });

      test('a url fhirhose does not serve is made absolute but answers 404', async () => {
        const res = await fetch(`${new URL(srv.baseUrl).origin}/attachments/x.pdf`, { headers });
        await res.arrayBuffer();
        assert.equal(res.status, 404);
      });
    });

    describe('a Binary without authorization', () => {
      const suite = suiteScope(after);
      let srv: TestServer;
      before(async () => {
        srv = await startTestServer(suite, { backend });
        await srv.runtime.store.ingest([structuredClone(binary)]);
      });

      test('is read with no token', async () => {
        const res = await fetch(`${srv.baseUrl}/Binary/b1`);
        assert.equal(res.status, 200);
        assert.equal(((await res.json()) as Row).id, 'b1');
      });
    });
  });
}
