// Exports into S3 (a real s3rver on loopback): pre-signed downloads by our client, and files streamed
// through the server with Range, with auth on in both.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BulkDataClient } from '../../src/client/index.js';
import type { BulkClientOptions, ExportSummary } from '../../src/client/index.js';
import { loadPaths } from '../../src/store/index.js';
import { getToken, makeKey, jwksOf, registerClient } from '../helpers/auth.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { startS3 } from '../helpers/s3.js';
import type { TestS3 } from '../helpers/s3.js';
import { kickoff, startTestServer, suiteScope, waitForExport } from '../helpers/server.js';
import type { TestManifest, TestServer } from '../helpers/server.js';
import { dataSets } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp.js';
import { FAST_WAITS, makeKeys } from '../client/helpers.js';

// One data set is enough here: the largest there is (Synthea when present), for more units and files.
const set = (await dataSets()).at(-1)!;

const jobIdOf = (statusUrl: string): string => statusUrl.slice(statusUrl.lastIndexOf('/') + 1);

describe(`system export of the ${set.name} data set into S3 with pre-signed downloads and auth on`, () => {
  let s3: TestS3;
  let srv: TestServer;
  let smart: BulkClientOptions['smart'];
  let loaded = 0;
  let offsetMs = 0;
  let stepMs = 0;
  const suite = suiteScope(after);

  before(async () => {
    s3 = await startS3(suite);
    srv = await startTestServer(suite, {
      auth: true,
      env: s3.env,
      storage: `s3://${s3.bucket}/presigned/`,
      downloadMode: 'presigned',
      export: { workers: 2, manifestPageUnits: 5, rowsPerUnit: 2000 },
      exportNow: () => Date.now() + (offsetMs += stepMs),
    });
    const { privateJwk, publicJwk } = await makeKeys('ES384');
    const clientId = await registerClient(srv.runtime, { jwks: { keys: [publicJwk] } }, 'system/*.rs');
    smart = { clientId, privateJwk };
    loaded = (await loadPaths(srv.runtime.store, [set.dir])).created;
  });

  test('our client downloads every file by its pre-signed URL without sending its token', async () => {
    const out = join(tempDir(suite), 'out');
    const client = new BulkDataClient(srv.baseUrl, { smart, waits: { ...FAST_WAITS, maxWaitMs: 300 } });
    let summary: ExportSummary;
    try {
      summary = await client.export({ level: 'system', params: {} }, { outDir: out, cleanup: true });
    } finally {
      await client.close();
    }
    assert.equal(summary.ok, true);
    assert.equal(summary.requiresAccessToken, false);
    assert.equal(summary.resources, loaded);
    const outputs = summary.files.filter((f) => f.kind === 'output');
    assert.ok(outputs.length > 10);
    for (const f of summary.files) {
      assert.ok(f.url.startsWith(`${s3.endpoint}/${s3.bucket}/presigned/`), f.url);
      assert.match(f.url, /X-Amz-Signature=/);
      if (f.count !== undefined) assert.equal(f.lines, f.count, f.url);
      const lines = readFileSync(join(out, f.path), 'utf8')
        .split('\n')
        .filter((l) => l !== '');
      assert.equal(lines.length, f.lines);
    }

    const downloads = s3.requests.filter((r) => r.method === 'GET' && r.presigned);
    assert.equal(downloads.length, summary.files.length, 'one pre-signed GET per file');
    assert.deepEqual(
      downloads.filter((r) => r.authorization !== undefined),
      [],
      'no download carried an Authorization header',
    );

    // cleanup: true sent DELETE after the verified download; the job's objects went with it.
    assert.equal(summary.jobDeleted, true);
    // DELETE answers before the objects are gone; they go in the background.
    await srv.runtime.service.settled();
    assert.deepEqual(await s3.keys(`presigned/${jobIdOf(summary.statusUrl)}/`), []);
  });

  test('with partial manifests, re-signed URLs of a listed file are not downloaded twice', async () => {
    const out = join(tempDir(suite), 'out');
    const client = new BulkDataClient(srv.baseUrl, { smart, waits: { ...FAST_WAITS, maxWaitMs: 300 } });
    let summary: ExportSummary;
    // Every clock reading is a second later, so each poll signs different URLs. Whether the client
    // sees page 0 before the job completes depends on timing; fileIdentity has a unit test.
    stepMs = 1000;
    try {
      summary = await client.export(
        { level: 'system', params: { allowPartialManifests: true } },
        { outDir: out, cleanup: true },
      );
    } finally {
      stepMs = 0;
      await client.close();
    }
    assert.equal(summary.ok, true);
    assert.equal(summary.resources, loaded);
    const paths = summary.files.map((f) => f.path);
    assert.equal(new Set(paths).size, paths.length);
  });

  test('each poll of a complete job signs its URLs afresh, and the token-checked file route still works', async () => {
    const key = await makeKey('ES384');
    const id = await registerClient(srv.runtime, { jwks: jwksOf(key) }, 'system/*.rs');
    const token = await getToken(`${srv.baseUrl}/auth/token`, { id, key });
    const auth = { authorization: `Bearer ${token}` };
    const status = await kickoff(`${srv.baseUrl}/$export?_type=Patient`, { headers: auth });
    const first = (await (await waitForExport(status, auth)).json()) as TestManifest;
    assert.equal(first.requiresAccessToken, false);
    const [entry] = first.output;
    assert.ok(entry);
    assert.match(entry.url, /X-Amz-Expires=300&/);

    // URLs are signed when the manifest is served: a poll a minute later gets other signatures.
    offsetMs += 60_000;
    const again = (await (await fetch(status, { headers: auth })).json()) as TestManifest;
    const signedAt = (url: string): string | null => new URL(url).searchParams.get('X-Amz-Date');
    assert.notEqual(signedAt(again.output[0]!.url), signedAt(entry.url));
    assert.notEqual(again.output[0]!.url, entry.url);

    const viaS3 = await (await fetch(entry.url)).text();
    const name = new URL(entry.url).pathname.split('/').pop()!;
    const route = `${srv.baseUrl}/$export-files/${jobIdOf(status)}/${name}`;
    assert.equal((await fetch(route)).status, 401);
    const viaServer = await fetch(route, { headers: auth });
    assert.equal(viaServer.status, 200);
    assert.equal(await viaServer.text(), viaS3);
    assert.equal(viaS3.split('\n').filter((l) => l !== '').length, entry.count);
  });
});

describe('export into S3 streamed through the server, auth on', () => {
  let s3: TestS3;
  let srv: TestServer;
  let auth: Record<string, string>;
  let offsetMs = 0;
  const suite = suiteScope(after);

  before(async () => {
    s3 = await startS3(suite);
    srv = await startTestServer(suite, {
      auth: true,
      env: s3.env,
      storage: `s3://${s3.bucket}/proxied`,
      exportNow: () => Date.now() + offsetMs,
    });
    const key = await makeKey('ES384');
    const id = await registerClient(srv.runtime, { jwks: jwksOf(key) }, 'system/*.rs');
    auth = { authorization: `Bearer ${await getToken(`${srv.baseUrl}/auth/token`, { id, key })}` };
    const patients = Array.from({ length: 30 }, (_, i) => `p${i}`);
    await srv.runtime.store.ingest([
      ...patients.map((p) => makePatient(p)),
      ...patients.map((p) => makeObservation(`${p}-o`, p)),
    ]);
  });

  async function exportPatients(): Promise<{ status: string; manifest: TestManifest }> {
    const status = await kickoff(`${srv.baseUrl}/$export?_type=Patient,Observation`, { headers: auth });
    const res = await waitForExport(status, auth);
    assert.equal(res.status, 200);
    return { status, manifest: (await res.json()) as TestManifest };
  }

  test('files are server URLs that need the token, served from S3 whole, by Range and gzipped', async () => {
    const { manifest } = await exportPatients();
    assert.equal(manifest.requiresAccessToken, true);
    const entry = manifest.output.find((o) => o.type === 'Patient');
    assert.ok(entry);
    assert.ok(entry.url.startsWith(`${srv.baseUrl}/$export-files/`));
    assert.equal((await fetch(entry.url)).status, 401);

    const whole = await fetch(entry.url, { headers: { ...auth, 'accept-encoding': 'identity' } });
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'application/fhir+ndjson');
    const text = await whole.text();
    assert.equal(text.split('\n').filter((l) => l !== '').length, 30);
    assert.equal(Number(whole.headers.get('content-length')), Buffer.byteLength(text));

    const part = await fetch(entry.url, { headers: { ...auth, range: 'bytes=10-59' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 10-59/${Buffer.byteLength(text)}`);
    assert.equal(await part.text(), Buffer.from(text).subarray(10, 60).toString());

    const tail = await fetch(entry.url, { headers: { ...auth, range: 'bytes=-7' } });
    assert.equal(tail.status, 206);
    assert.equal(await tail.text(), Buffer.from(text).subarray(-7).toString());

    // fetch decodes gzip itself; the header shows the server compressed the S3 stream.
    const gz = await fetch(entry.url, { headers: { ...auth, 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    assert.equal(await gz.text(), text);

    assert.deepEqual(
      s3.requests.filter((r) => r.presigned),
      [],
      'no pre-signed URL was made or used',
    );
  });

  test('DELETE on a completed job removes its S3 objects', async () => {
    const { status } = await exportPatients();
    const prefix = `proxied/${jobIdOf(status)}/`;
    assert.ok((await s3.keys(prefix)).length >= 2);
    const res = await fetch(status, { method: 'DELETE', headers: auth });
    assert.equal(res.status, 202);
    assert.equal((await fetch(status, { headers: auth })).status, 404);
    await srv.runtime.service.settled();
    assert.deepEqual(await s3.keys(prefix), []);
  });

  test('the reaper removes the S3 objects of an expired job', async () => {
    const { status } = await exportPatients();
    const prefix = `proxied/${jobIdOf(status)}/`;
    assert.ok((await s3.keys(prefix)).length >= 2);
    offsetMs = 2 * 24 * 3600 * 1000;
    const reaped = await srv.runtime.service.reap();
    assert.ok(reaped >= 1);
    assert.deepEqual(await s3.keys(prefix), []);
    assert.equal((await fetch(status, { headers: auth })).status, 404);
    offsetMs = 0;
  });
});
