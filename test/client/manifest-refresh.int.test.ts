import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BulkDataClient, readState } from '../../src/client/index.js';
import type { BulkClientOptions, ClientEvent, ExportSummary } from '../../src/client/index.js';
import { tempDir } from '../helpers/temp.js';
import { startFaultServer } from './fault-server.js';
import type { FaultFile, FaultServer } from './fault-server.js';
import { FAST_WAITS, fakeClock, ndjson, recorder } from './helpers.js';

type T = { after: (fn: () => Promise<void> | void) => void };
type Refresh = Extract<ClientEvent, { kind: 'manifest-refresh' }>;

const FILES: FaultFile[] = [
  { name: 'p1.ndjson', type: 'Patient', body: ndjson('Patient', 40), count: true },
  { name: 'o1.ndjson', type: 'Observation', body: ndjson('Observation', 120), count: true },
  { name: 'o2.ndjson', type: 'Observation', body: ndjson('Observation', 60, 'obs2'), count: true },
];

const JOB = '/fhir/status/job-1';

async function run(
  t: T,
  server: FaultServer,
  options: BulkClientOptions & { parallel?: number } = {},
  out = join(tempDir(t), 'out'),
): Promise<{ summary: ExportSummary; refreshes: Refresh[]; out: string }> {
  const rec = recorder();
  const client = new BulkDataClient(server.baseUrl, { waits: FAST_WAITS, onEvent: rec.listener, ...options });
  try {
    const summary = await client.export(
      { level: 'system', params: {} },
      { outDir: out, parallel: options.parallel ?? 2 },
    );
    return { summary, refreshes: refreshesOf(rec.events), out };
  } finally {
    await client.close();
  }
}

const refreshesOf = (events: ClientEvent[]): Refresh[] =>
  events.filter((e): e is Refresh => e.kind === 'manifest-refresh');

/** Every file is downloaded, verified, and equal to the file the server holds. */
function assertComplete(summary: ExportSummary, out: string, files: FaultFile[]): void {
  assert.equal(summary.ok, true, JSON.stringify(summary.files.filter((f) => f.status !== 'done')));
  assert.equal(summary.files.length, files.length);
  for (const f of summary.files) {
    const source = files.find((x) => new URL(f.url).pathname === `/files/${x.name}`);
    assert.ok(source, f.url);
    assert.equal(readFileSync(join(out, f.path), 'utf8'), source.body, f.path);
  }
}

const requestsFor = (server: FaultServer, name: string): FaultServer['seen'] =>
  server.seen.filter((s) => s.url.startsWith(`/files/${name}?`));
const statusGets = (server: FaultServer, path = JOB): number =>
  server.seen.filter((s) => s.method === 'GET' && s.url === path).length;

describe('client re-fetching the manifest for expired file URLs (IG F5)', () => {
  test('a URL refused as expired mid-download is refreshed from its own page and resumed with Range', async (t) => {
    const server = await startFaultServer(t, {
      files: FILES,
      pageSize: 2,
      signed: { uses: 1 },
      fileFaults: { 'o2.ndjson': ['truncate'] },
    });
    const { summary, refreshes, out } = await run(t, server);
    assertComplete(summary, out, FILES);
    assert.deepEqual(
      refreshes.map((r) => [r.url, r.reason, r.status, r.refresh, r.files]),
      [[`${server.origin}${JOB}/page/1`, 'refused', 403, 1, 1]],
    );
    assert.equal(statusGets(server), 1, 'the first page is not fetched again');
    assert.equal(statusGets(server, `${JOB}/page/1`), 2);
    const o2 = requestsFor(server, 'o2.ndjson');
    assert.equal(o2.length, 3, 'truncated, refused, resumed');
    assert.match(o2[2]?.url ?? '', /\?sig=3&/);
    assert.match(o2[2]?.headers.range ?? '', /^bytes=[1-9]\d*-$/);
    const state = await readState(out);
    assert.match(state.files.find((f) => f.path === 'output/Observation.2.ndjson')?.url ?? '', /\?sig=3&/);
  });

  test('401 (no token sent), 404 and 410 on a file URL are taken as expiry too', async (t) => {
    for (const status of [401, 404, 410]) {
      const files = FILES.slice(0, 1);
      const server = await startFaultServer(t, {
        files,
        signed: { uses: 1, status },
        fileFaults: { 'p1.ndjson': ['truncate'] },
      });
      const { summary, refreshes, out } = await run(t, server);
      assertComplete(summary, out, files);
      assert.deepEqual(
        refreshes.map((r) => r.status),
        [status],
      );
    }
  });

  test('a manifest whose Expires passed before a download starts is fetched again first', async (t) => {
    const server = await startFaultServer(t, {
      files: FILES.slice(0, 2),
      signed: { expiresInSeconds: 60 },
      // o1 (more resources) starts first; its retry moves the fake clock 120 s on, past the page's
      // Expires, before p1 starts.
      fileFaults: { 'o1.ndjson': [{ status: 503, retryAfter: '120' }] },
    });
    const { summary, refreshes, out } = await run(t, server, {
      parallel: 1,
      clock: fakeClock(),
      waits: { ...FAST_WAITS, maxWaitMs: 600_000 },
    });
    assertComplete(summary, out, FILES.slice(0, 2));
    assert.deepEqual(
      refreshes.map((r) => [r.reason, r.refresh]),
      [['expires', 1]],
    );
    assert.equal(statusGets(server), 2);
    assert.deepEqual(
      requestsFor(server, 'p1.ndjson').map((s) => /sig=(\d+)/.exec(s.url)?.[1]),
      ['2'],
    );
    const state = await readState(out);
    assert.ok(Date.parse(state.manifestExpires?.[`${server.origin}${JOB}`] ?? '') > 0);
  });

  test('gives up with FHIRHOSE_ERR_CLIENT_URL_EXPIRED after three refreshes when fresh URLs never work', async (t) => {
    const server = await startFaultServer(t, { files: FILES.slice(0, 2), signed: { uses: 0 } });
    const { summary, refreshes } = await run(t, server);
    assert.equal(summary.ok, false);
    for (const f of summary.files) {
      assert.equal(f.status, 'failed');
      assert.equal(f.error?.code, 'FHIRHOSE_ERR_CLIENT_URL_EXPIRED');
      assert.equal(f.error?.status, 403);
      assert.match(f.error?.message ?? '', /after 3 manifest refreshes/);
    }
    assert.deepEqual(
      refreshes.map((r) => r.refresh),
      [1, 2, 3],
    );
    assert.equal(statusGets(server), 4);
  });

  test('a 404 on the status URL while refreshing fails the export: the job is gone', async (t) => {
    const server = await startFaultServer(t, { files: FILES.slice(0, 1), signed: { uses: 0, goneAfter: 1 } });
    await assert.rejects(run(t, server), {
      code: 'FHIRHOSE_ERR_CLIENT_EXPORT_FAILED',
      status: 404,
      message: /export job is gone/,
    });
  });

  test('a server that signs anew on each manifest GET yields no duplicate files from a partial manifest', async (t) => {
    const server = await startFaultServer(t, { files: FILES, pageSize: 2, partialFirst: true, signed: {} });
    const { summary, refreshes, out } = await run(t, server);
    assertComplete(summary, out, FILES);
    assert.equal(refreshes.length, 0);
  });

  test('a server whose URLs do not expire never triggers a refresh', async (t) => {
    const server = await startFaultServer(t, { files: FILES });
    const { summary, refreshes, out } = await run(t, server);
    assertComplete(summary, out, FILES);
    assert.equal(refreshes.length, 0);
    assert.equal(statusGets(server), 1);
  });

  test('resume of a finished export whose URLs expired fetches the manifest again and completes', async (t) => {
    const server = await startFaultServer(t, {
      files: FILES.slice(0, 2),
      signed: {},
      fileFaults: { 'o1.ndjson': [{ status: 500, outcome: 'processing' }] },
    });
    const first = await run(t, server);
    assert.equal(first.summary.ok, false);
    server.expireSignatures();

    const rec = recorder();
    const client = new BulkDataClient(server.baseUrl, { waits: FAST_WAITS, onEvent: rec.listener });
    const summary = await client.resume({ outDir: first.out }).finally(() => client.close());
    assertComplete(summary, first.out, FILES.slice(0, 2));
    assert.equal(summary.files[0]?.skipped, true);
    assert.deepEqual(
      refreshesOf(rec.events).map((r) => [r.reason, r.status]),
      [['refused', 403]],
    );
    const state = await readState(first.out);
    assert.ok(state.files.every((f) => /\?sig=2&/.test(f.url)));
  });
});
