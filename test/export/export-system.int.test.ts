import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { loadPaths } from '../../src/store/index.js';
import { countDataSet, dataSets } from '../helpers/fixtures.js';
import {
  kickoff,
  readLines,
  runExport,
  startTestServer,
  suiteScope,
  waitForExport,
} from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { backends } from '../helpers/stores.js';

const sets = await dataSets();

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    for (const set of sets) {
      const counts = countDataSet(set);
      describe(`system-level $export over the ${set.name} data set`, () => {
        let srv: TestServer;
        const suite = suiteScope(after);

        before(async () => {
          srv = await startTestServer(suite, { backend });
          const report = await loadPaths(srv.runtime.store, [set.dir]);
          assert.equal(report.created, counts.total);
        });

        test('kick-off answers 202 with an absolute Content-Location', async () => {
          const res = await fetch(`${srv.baseUrl}/$export?_type=Patient`, {
            headers: { prefer: 'respond-async' },
          });
          assert.equal(res.status, 202);
          assert.match(
            res.headers.get('content-location') ?? '',
            /^http:\/\/127\.0\.0\.1:\d+\/\$export-status\/[0-9a-f-]+$/,
          );
          await waitForExport(res.headers.get('content-location')!);
        });

        test('an unfiltered export holds every resource once, each file one type, with counts that match', async () => {
          const manifest = await runExport(`${srv.baseUrl}/$export`);
          assert.deepEqual(manifest.error, []);
          assert.equal(manifest.deleted, undefined);
          assert.equal(manifest.requiresAccessToken, false);
          assert.match(manifest.transactionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
          const seen = new Set<string>();
          for (const entry of manifest.output) {
            assert.match(entry.url, /^http:\/\//);
            const res = await fetch(entry.url);
            assert.equal(res.headers.get('content-type'), 'application/fhir+ndjson');
            const text = await res.text();
            assert.ok(text.endsWith('\n'));
            const lines = text.split('\n').filter((l) => l !== '');
            assert.equal(lines.length, entry.count);
            for (const line of lines) {
              const r = JSON.parse(line) as { resourceType: string; id: string };
              assert.equal(r.resourceType, entry.type);
              const key = `${r.resourceType}/${r.id}`;
              assert.ok(!seen.has(key), `${key} twice`);
              seen.add(key);
            }
          }
          assert.equal(seen.size, counts.total);
        });

        test('the three _outputFormat aliases are accepted and anything else is a 400 OperationOutcome', async () => {
          for (const f of ['application/fhir+ndjson', 'application/ndjson', 'ndjson']) {
            await waitForExport(
              await kickoff(`${srv.baseUrl}/$export?_type=Device&_outputFormat=${encodeURIComponent(f)}`),
            );
          }
          const res = await fetch(`${srv.baseUrl}/$export?_outputFormat=text/csv`);
          assert.equal(res.status, 400);
          assert.match(res.headers.get('content-type') ?? '', /application\/fhir\+json/);
          const body = (await res.json()) as { resourceType: string; issue: { diagnostics: string }[] };
          assert.equal(body.resourceType, 'OperationOutcome');
          assert.match(body.issue[0]!.diagnostics, /_outputFormat/);
        });

        test('repeated _type equals the comma-joined form', async () => {
          const a = await runExport(`${srv.baseUrl}/$export?_type=Patient&_type=Device`);
          const b = await runExport(`${srv.baseUrl}/$export?_type=Patient,Device`);
          const types = (m: typeof a): string[] => m.output.map((o) => o.type).sort();
          assert.deepEqual(types(a), ['Device', 'Patient']);
          assert.deepEqual(types(a), types(b));
        });

        test('POST with a Parameters body exports the same as the GET', async () => {
          const body = {
            resourceType: 'Parameters',
            parameter: [
              { name: '_type', valueString: 'Patient' },
              { name: '_outputFormat', valueString: 'ndjson' },
            ],
          };
          const post = await runExport(`${srv.baseUrl}/$export`, {
            method: 'POST',
            body: JSON.stringify(body),
            headers: { 'content-type': 'application/fhir+json' },
          });
          assert.equal(post.request, `${srv.baseUrl}/$export`);
          assert.deepEqual(
            post.output.map((o) => [o.type, o.count]),
            [['Patient', counts.byType.get('Patient')]],
          );
        });

        test('invalid _since, unknown _type and _until before _since are 400s naming the parameter', async () => {
          for (const [query, param] of [
            ['_since=yesterday', '_since'],
            ['_type=Foo', '_type'],
            ['_since=2020-01-02T00:00:00Z&_until=2020-01-01T00:00:00Z', '_until'],
          ] as const) {
            const res = await fetch(`${srv.baseUrl}/$export?${query}`);
            assert.equal(res.status, 400, query);
            const body = (await res.json()) as { issue: { expression?: string[]; diagnostics: string }[] };
            assert.ok(JSON.stringify(body.issue).includes(param), `${query}: ${JSON.stringify(body)}`);
          }
        });

        test('an unknown parameter is a 400, and under handling=lenient a warning in the error file', async () => {
          const strict = await fetch(`${srv.baseUrl}/$export?_type=Patient&frobnicate=1`);
          assert.equal(strict.status, 400);
          const manifest = await runExport(`${srv.baseUrl}/$export?_type=Patient&frobnicate=1`, {
            headers: { prefer: 'respond-async, handling=lenient' },
          });
          assert.equal(manifest.error.length, 1);
          const outcomes = await readLines(manifest.error);
          assert.equal(outcomes[0]!.resourceType, 'OperationOutcome');
          assert.match(JSON.stringify(outcomes[0]), /frobnicate/);
        });

        test('status polls carry Retry-After and a short X-Progress, and over-polling gets 429', async () => {
          const status = await kickoff(`${srv.baseUrl}/$export`);
          const first = await fetch(status);
          if (first.status === 202) {
            assert.match(first.headers.get('retry-after') ?? '', /^\d+$/);
            assert.ok((first.headers.get('x-progress') ?? '').length < 100);
            const second = await fetch(status);
            assert.ok(second.status === 429 || second.status === 200, `got ${second.status}`);
            if (second.status === 429) assert.match(second.headers.get('retry-after') ?? '', /^\d+$/);
          }
          await waitForExport(status);
        });

        test('separate-export-status answers 200 with X-Export-Status and echoes Preference-Applied', async () => {
          const res = await fetch(`${srv.baseUrl}/$export?_type=Patient`, {
            headers: { prefer: 'respond-async, separate-export-status' },
          });
          assert.equal(res.status, 202);
          assert.match(res.headers.get('preference-applied') ?? '', /separate-export-status/);
          const done = await waitForExport(res.headers.get('content-location')!);
          assert.equal(done.status, 200);
          assert.equal(done.headers.get('x-export-status'), '200 OK');
        });

        test('the complete status is application/json with Expires and every required key', async () => {
          const status = await kickoff(`${srv.baseUrl}/$export?_type=Device`);
          const res = await waitForExport(status);
          assert.equal(res.status, 200);
          assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
          assert.ok(Date.parse(res.headers.get('expires') ?? '') > Date.now());
          const m = (await res.json()) as Record<string, unknown>;
          for (const key of ['transactionTime', 'request', 'requiresAccessToken', 'output', 'error'])
            assert.ok(key in m, key);
        });

        test('files are gzip-encoded only when the client offers it, and Range returns 206', async () => {
          const manifest = await runExport(`${srv.baseUrl}/$export?_type=Patient`);
          const url = manifest.output[0]!.url;
          const plain = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
          assert.equal(plain.headers.get('content-encoding'), null);
          const text = await plain.text();
          const { request } = await import('undici');
          const gz = await request(url, { headers: { 'accept-encoding': 'gzip' } });
          assert.equal(gz.headers['content-encoding'], 'gzip');
          assert.equal(gunzipSync(Buffer.from(await gz.body.arrayBuffer())).toString('utf8'), text);
          const part = await fetch(url, { headers: { range: 'bytes=10-19' } });
          assert.equal(part.status, 206);
          assert.equal(await part.text(), text.slice(10, 20));
          const none = await fetch(url, { headers: { range: `bytes=${text.length + 5}-` } });
          assert.equal(none.status, 416);
          const head = await fetch(url, { method: 'HEAD', headers: { 'accept-encoding': 'identity' } });
          assert.equal(head.status, 200);
          assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(text)));
          assert.equal(await head.text(), '');
        });

        test('a download dropped after its first chunk closes its file, and the next is whole', async () => {
          const manifest = await runExport(`${srv.baseUrl}/$export`);
          // The largest file: several reads of 256 KiB where the data set allows it.
          const file = manifest.output.reduce((a, b) => ((b.count ?? 0) > (a.count ?? 0) ? b : a));
          const { request } = await import('undici');
          const whole = Buffer.from(
            await (await fetch(file.url, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer(),
          );
          const openFiles = (): number => readdirSync('/proc/self/fd').length;
          const before = openFiles();
          for (const encoding of ['identity', 'gzip']) {
            const res = await request(file.url, { headers: { 'accept-encoding': encoding } });
            for await (const _ of res.body) break;
          }
          // The server sees the hang-ups a moment later.
          for (let i = 0; i < 50 && openFiles() > before; i++) await new Promise((r) => setTimeout(r, 20));
          assert.ok(openFiles() <= before, `${openFiles()} descriptors open, ${before} before`);
          const again = Buffer.from(
            await (await fetch(file.url, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer(),
          );
          assert.ok(again.equals(whole));
        });

        test('DELETE cancels with 202 and the status URL then answers 404 with an OperationOutcome', async () => {
          const status = await kickoff(`${srv.baseUrl}/$export`);
          const del = await fetch(status, { method: 'DELETE' });
          assert.equal(del.status, 202);
          const after = await fetch(status);
          assert.equal(after.status, 404);
          assert.equal(((await after.json()) as { resourceType: string }).resourceType, 'OperationOutcome');
          const again = await fetch(status, { method: 'DELETE' });
          assert.equal(again.status, 404);
        });

        test('DELETE after completion removes the files', async () => {
          const status = await kickoff(`${srv.baseUrl}/$export?_type=Patient`);
          const manifest = (await (await waitForExport(status)).json()) as { output: { url: string }[] };
          assert.equal((await fetch(manifest.output[0]!.url)).status, 200);
          assert.equal((await fetch(status, { method: 'DELETE' })).status, 202);
          assert.equal((await fetch(manifest.output[0]!.url)).status, 404);
        });

        test('the CapabilityStatement instantiates bulk-data and names the three export operations', async () => {
          const cs = (await (await fetch(`${srv.baseUrl}/metadata`)).json()) as {
            instantiates: string[];
            rest: {
              operation: { name: string; definition: string }[];
              resource: { type: string; operation?: { name: string; definition: string }[] }[];
            }[];
          };
          assert.ok(
            cs.instantiates.includes('http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data'),
          );
          assert.equal(cs.rest.length, 1);
          const rest = cs.rest[0]!;
          assert.ok(
            rest.operation.some(
              (o) => o.name === 'export' && o.definition.endsWith('/OperationDefinition/export'),
            ),
          );
          for (const [type, id] of [
            ['Patient', 'patient-export'],
            ['Group', 'group-export'],
          ]) {
            const r = rest.resource.find((x) => x.type === type);
            assert.ok(
              r?.operation?.some(
                (o) => o.name === 'export' && o.definition.endsWith(`/OperationDefinition/${id}`),
              ),
              type,
            );
          }
          const obs = rest.resource.find((x) => x.type === 'Observation') as unknown as {
            searchParam: { name: string }[];
          };
          assert.ok(
            obs.searchParam.some((p) => p.name === 'code'),
            'the _typeFilter parameters are listed',
          );
          const od = await fetch(`${srv.baseUrl}/OperationDefinition/group-export`);
          assert.equal(od.status, 200);
          assert.equal(((await od.json()) as { code: string }).code, 'export');
        });
      });
    }
  });
}
