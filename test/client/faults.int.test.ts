import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BulkDataClient } from '../../src/client/index.js';
import type {
  BulkClientOptions,
  ClientEvent,
  ExportSummary,
  KickoffRequest,
} from '../../src/client/index.js';
import { tempDir } from '../helpers/temp.js';
import { startFaultServer } from './fault-server.js';
import type { FaultFile, FaultServer } from './fault-server.js';
import { FAST_WAITS, fakeClock, makeKeys, ndjson, recorder } from './helpers.js';

type T = { after: (fn: () => Promise<void> | void) => void };

const SYSTEM: KickoffRequest = { level: 'system', params: {} };

const FILES: FaultFile[] = [
  { name: 'p1.ndjson', type: 'Patient', body: ndjson('Patient', 50), count: true },
  { name: 'o1.ndjson', type: 'Observation', body: ndjson('Observation', 200), count: true },
  { name: 'o2.ndjson', type: 'Observation', body: ndjson('Observation', 30, 'obs2') },
];

async function run(
  t: T,
  server: FaultServer,
  options: BulkClientOptions = {},
  request: KickoffRequest = SYSTEM,
  cleanup = false,
  out = join(tempDir(t), 'out'),
): Promise<{ summary: ExportSummary; events: ClientEvent[]; out: string }> {
  const rec = recorder();
  const client = new BulkDataClient(server.baseUrl, { waits: FAST_WAITS, onEvent: rec.listener, ...options });
  try {
    const summary = await client.export(request, { outDir: out, parallel: 2, cleanup });
    return { summary, events: rec.events, out };
  } finally {
    await client.close();
  }
}

/** Every downloaded file equals the file the server holds. */
function assertFilesMatch(summary: ExportSummary, out: string, files: FaultFile[]): void {
  assert.equal(summary.ok, true, JSON.stringify(summary.files.filter((f) => f.status !== 'done')));
  assert.equal(summary.files.length, files.length);
  for (const f of summary.files) {
    const source = files.find((x) => f.url.endsWith(`/${x.name}`));
    assert.ok(source, f.url);
    assert.equal(readFileSync(join(out, f.path), 'utf8'), source.body, f.path);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await sleep(5);
}

const fileRequests = (server: FaultServer, name: string): FaultServer['seen'] =>
  server.seen.filter((s) => s.url === `/files/${name}`);

describe('client against a fault-injecting server', () => {
  test('kick-off and polling survive 429, 503 and transient errors and honour both Retry-After forms', async (t) => {
    // Whole seconds, as an HTTP-date has; the fake time at the first poll is start + 2 s + 200 ms.
    const clock = fakeClock(Math.floor(Date.now() / 1000) * 1000 - 200);
    const httpDate = new Date(clock.now() + 2_200 + 30_000).toUTCString();
    const server = await startFaultServer(t, {
      files: FILES,
      kickoff: [{ status: 429, retryAfter: '2' }, { status: 503 }],
      status: [
        { status: 503, retryAfter: httpDate },
        { status: 202, retryAfter: '7200', progress: '10% complete' },
        { status: 500, outcome: 'transient' },
        { status: 429, retryAfter: '3' },
        { status: 202, progress: '90% complete' },
      ],
    });
    const { summary, events, out } = await run(t, server, {
      clock,
      waits: { ...FAST_WAITS, maxWaitMs: 60_000, pollMaxMs: 60_000, retryBaseMs: 100, pollBaseMs: 500 },
    });
    assertFilesMatch(summary, out, FILES);
    assert.equal(summary.transactionTime, '2024-05-01T10:00:00.000Z');
    assert.equal(server.seen.filter((s) => s.url.startsWith('/fhir/$export')).length, 3);
    const waits = events.filter((e) => e.kind === 'wait');
    assert.deepEqual(
      waits.map((e) => [e.reason, e.requestedMs, e.ms]),
      [
        ['retry-after', 7_200_000, 60_000],
        ['backoff', 1000, 1000],
      ],
    );
    const retries = events.flatMap((e) => (e.kind === 'retry' ? [[e.status, e.requestedMs] as const] : []));
    assert.deepEqual(retries[0], [429, 2000]);
    assert.deepEqual(retries[1], [503, 200]);
    assert.deepEqual(retries.slice(2), [
      [503, 30_000],
      [500, 100],
      [429, 3000],
    ]);
    assert.deepEqual(
      events.flatMap((e) => (e.kind === 'progress' ? [e.text] : [])),
      ['10% complete', '90% complete'],
    );
  });

  test('a held poll shortens the next wait by the hold the server reports, and only by that', async (t) => {
    // Every reading of this clock moves it on 700 ms, as a slow server's answers would: that time
    // must not be taken for a hold, or the client polls again at once and breaks the server's pace.
    const clock = fakeClock(Date.UTC(2026, 0, 1));
    let drift = 0;
    const slowClock = { ...clock, now: () => clock.now() + (drift += 700) };
    const server = await startFaultServer(t, {
      files: FILES,
      status: [
        { status: 202, retryAfter: '3', serverTiming: 'hold;dur=2000' },
        { status: 202, retryAfter: '3' },
      ],
    });
    const { summary, out } = await run(t, server, {
      clock: slowClock,
      waits: { ...FAST_WAITS, pollBaseMs: 3000, pollMaxMs: 60_000, maxWaitMs: 60_000 },
    });
    assertFilesMatch(summary, out, FILES);
    const polls = server.seen.filter((s) => s.url === '/fhir/status/job-1');
    assert.ok(polls.length >= 3);
    for (const p of polls) assert.equal(p.headers['prefer'], 'wait=3');
    assert.deepEqual(clock.sleeps.slice(0, 2), [1000, 3000]);
  });

  test('downloads retry 429, 503 and a truncated body, resuming the truncated file with Range', async (t) => {
    const out = join(tempDir(t), 'out');
    const part = join(out, 'output', 'Observation.1.ndjson.part');
    const server = await startFaultServer(t, {
      files: FILES,
      gzip: true,
      // Cut o1 only once some of it is on disk, so that the retry must resume it.
      beforeTruncate: (name) =>
        name === 'o1.ndjson' ? until(() => existsSync(part) && statSync(part).size > 0) : sleep(20),
      fileFaults: {
        'p1.ndjson': [{ status: 429, retryAfter: '0' }, 'truncate'],
        'o1.ndjson': ['truncate'],
        'o2.ndjson': [{ status: 503, outcome: 'transient' }],
      },
    });
    const { summary } = await run(t, server, {}, SYSTEM, false, out);
    assertFilesMatch(summary, out, FILES);
    const o1 = fileRequests(server, 'o1.ndjson');
    assert.equal(o1.length, 2);
    assert.equal(o1[0]?.headers['accept-encoding'], 'gzip');
    assert.match(o1[1]?.headers.range ?? '', /^bytes=[1-9]\d*-$/);
    assert.equal(o1[1]?.headers['accept-encoding'], 'identity');
    assert.equal(fileRequests(server, 'p1.ndjson').length, 3);
    assert.deepEqual(readdirSync(join(out, 'output')).sort(), [
      'Observation.1.ndjson',
      'Observation.2.ndjson',
      'Patient.1.ndjson',
    ]);
  });

  test('with gzip off, downloads ask for identity encoding', async (t) => {
    const out = join(tempDir(t), 'out');
    const server = await startFaultServer(t, { files: FILES, gzip: true });
    const client = new BulkDataClient(server.baseUrl, { waits: FAST_WAITS });
    t.after(() => client.close());
    const summary = await client.export(SYSTEM, { outDir: out, parallel: 2, gzip: false });
    assertFilesMatch(summary, out, FILES);
    for (const f of FILES) {
      assert.deepEqual(
        fileRequests(server, f.name).map((r) => r.headers['accept-encoding']),
        ['identity'],
        f.name,
      );
    }
  });

  test('starts a file again when the server ignores Range', async (t) => {
    const server = await startFaultServer(t, {
      files: FILES,
      fileFaults: { 'o1.ndjson': ['truncate', 'ignore-range'] },
    });
    const { summary, out } = await run(t, server);
    assertFilesMatch(summary, out, FILES);
  });

  test('never sends the token across a redirect to another origin', async (t) => {
    const keys = await makeKeys('RS384');
    const server = await startFaultServer(t, {
      files: FILES,
      redirectAll: true,
      requiresAccessToken: true,
      auth: { clientId: 'c1', publicJwk: keys.publicJwk },
    });
    const { summary, out } = await run(t, server, { smart: { clientId: 'c1', privateJwk: keys.privateJwk } });
    assertFilesMatch(summary, out, FILES);
    assert.equal(server.seenElsewhere.length, FILES.length);
    for (const s of server.seenElsewhere) assert.equal(s.headers.authorization, undefined, s.url);
    for (const s of server.seen.filter((x) => x.url.startsWith('/files/'))) {
      assert.match(s.headers.authorization ?? '', /^Bearer token-1$/);
    }
  });

  test('sends no Authorization to file URLs when requiresAccessToken is false', async (t) => {
    const keys = await makeKeys('ES384');
    const server = await startFaultServer(t, {
      files: FILES,
      requiresAccessToken: false,
      auth: { clientId: 'c1', publicJwk: keys.publicJwk },
    });
    const { summary, out } = await run(t, server, {
      smart: { clientId: 'c1', privateJwk: keys.privateJwk, tokenUrl: server.tokenUrl },
    });
    assertFilesMatch(summary, out, FILES);
    const files = server.seen.filter((x) => x.url.startsWith('/files/'));
    assert.equal(files.length, FILES.length);
    for (const s of files) assert.equal(s.headers.authorization, undefined);
    for (const s of server.seen.filter(
      (x) => x.url.startsWith('/fhir/$export') || x.url.startsWith('/fhir/status'),
    )) {
      assert.equal(s.headers.authorization, 'Bearer token-1');
    }
    assert.equal(server.seen.filter((s) => s.url.includes('smart-configuration')).length, 0);
  });

  test('follows partial manifests through link next and fetches each file once', async (t) => {
    const files = [
      ...FILES,
      { name: 'del.ndjson', kind: 'deleted', type: 'Bundle', body: deletedBundle('Patient/gone') },
      { name: 'err.ndjson', kind: 'error', type: 'OperationOutcome', body: `${outcomeLine()}\n` },
    ] satisfies FaultFile[];
    const server = await startFaultServer(t, { files, pageSize: 2, partialFirst: true });
    const { summary, events, out } = await run(
      t,
      server,
      {},
      { level: 'system', params: { allowPartialManifests: true } },
    );
    assertFilesMatch(summary, out, files);
    for (const f of files) assert.equal(fileRequests(server, f.name).length, 1, f.name);
    const pages = events.flatMap((e) => (e.kind === 'manifest' ? [[e.final, e.newFiles]] : []));
    assert.deepEqual(pages, [
      [false, 1],
      [true, 1],
      [false, 1],
      [true, 1],
      [false, 1],
      [true, 0],
    ]);
    assert.ok(existsSync(join(out, 'deleted', 'Bundle.1.ndjson')));
    assert.ok(existsSync(join(out, 'error', 'OperationOutcome.1.ndjson')));
    assert.match(server.seen[0]?.url ?? '', /allowPartialManifests=true/);
  });

  test('gets a new token after a 401 for an expired one', async (t) => {
    const keys = await makeKeys('ES384');
    const server = await startFaultServer(t, {
      files: FILES,
      status: [{ status: 202 }, { status: 202 }],
      auth: { clientId: 'c1', publicJwk: keys.publicJwk, expireFirstTokenAfter: 2 },
    });
    const { summary, out } = await run(t, server, { smart: { clientId: 'c1', privateJwk: keys.privateJwk } });
    assertFilesMatch(summary, out, FILES);
    assert.equal(server.jtis.length, 2);
    assert.notEqual(server.jtis[0], server.jtis[1]);
    const refused = server.seen.findIndex(
      (s) => s.headers.authorization === 'Bearer token-1' && s.url.startsWith('/fhir/status'),
    );
    assert.ok(refused >= 0);
    assert.ok(server.seen.some((s) => s.headers.authorization === 'Bearer token-2'));
  });

  test('fetches a new token before the old one expires', async (t) => {
    const keys = await makeKeys('RS384');
    const server = await startFaultServer(t, {
      files: FILES,
      status: [
        { status: 202, retryAfter: '200' },
        { status: 202, retryAfter: '200' },
      ],
      auth: { clientId: 'c1', publicJwk: keys.publicJwk, expiresIn: 300 },
    });
    const { summary } = await run(t, server, {
      clock: fakeClock(),
      waits: { ...FAST_WAITS, maxWaitMs: 600_000 },
      smart: { clientId: 'c1', privateJwk: keys.privateJwk },
    });
    assert.equal(summary.ok, true);
    assert.equal(server.jtis.length, 2);
    assert.equal(server.seen.filter((s) => s.headers['www-authenticate'] !== undefined).length, 0);
  });

  test('a token endpoint that refuses the assertion gives TokenRequestError', async (t) => {
    const keys = await makeKeys('RS384');
    const other = await makeKeys('RS384');
    const server = await startFaultServer(t, {
      files: FILES,
      auth: { clientId: 'c1', publicJwk: other.publicJwk },
    });
    await assert.rejects(run(t, server, { smart: { clientId: 'c1', privateJwk: keys.privateJwk } }), {
      code: 'FHIRHOSE_ERR_CLIENT_TOKEN',
      status: 401,
      message: /invalid_client/,
    });
  });

  test('a refused kick-off is a BulkClientError carrying the OperationOutcome', async (t) => {
    const server = await startFaultServer(t, {
      files: FILES,
      kickoff: [{ status: 400, outcome: 'invalid' }],
    });
    await assert.rejects(
      run(t, server),
      (err: { code: string; status: number; outcome: { issue: { code: string }[] } }) => {
        assert.equal(err.code, 'FHIRHOSE_ERR_CLIENT_HTTP');
        assert.equal(err.status, 400);
        assert.equal(err.outcome.issue[0]?.code, 'invalid');
        return true;
      },
    );
  });

  test('a failed job is an ExportFailedError with its OperationOutcome, after no retries', async (t) => {
    const server = await startFaultServer(t, {
      files: FILES,
      status: [{ status: 500, outcome: 'processing' }],
    });
    await assert.rejects(run(t, server), {
      code: 'FHIRHOSE_ERR_CLIENT_EXPORT_FAILED',
      status: 500,
      outcome: {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'processing', diagnostics: 'processing' }],
      },
    });
    assert.equal(server.seen.filter((s) => s.url.startsWith('/fhir/status')).length, 1);
  });

  test('a file with a bad line fails the export and leaves no file behind; a short count is a kept warning', async (t) => {
    const files: FaultFile[] = [
      FILES[0]!,
      {
        name: 'bad.ndjson',
        type: 'Observation',
        body: `${ndjson('Observation', 3)}{"resourceType":"Patient"}\n`,
      },
      { name: 'short.ndjson', type: 'Condition', body: ndjson('Condition', 3), count: 4 },
    ];
    const server = await startFaultServer(t, { files });
    const { summary, out } = await run(t, server);
    assert.equal(summary.ok, false);
    const bad = summary.files.filter((f) => f.status === 'failed');
    assert.deepEqual(
      bad.map((f) => [f.path, f.error?.code]),
      [['output/Observation.1.ndjson', 'FHIRHOSE_ERR_CLIENT_VERIFY']],
    );
    const short = summary.files.find((f) => f.path === 'output/Condition.1.ndjson');
    assert.equal(short?.status, 'done');
    assert.deepEqual(short?.countMismatch, {
      manifest: 4,
      lines: 3,
      message: 'the manifest count is 4 but the file holds 3 resources',
    });
    assert.equal(summary.countMismatches, 1);
    assert.deepEqual(readdirSync(join(out, 'output')).sort(), ['Condition.1.ndjson', 'Patient.1.ndjson']);
    assert.equal(readFileSync(join(out, 'output/Condition.1.ndjson'), 'utf8'), files[2]!.body);
  });

  test('with strict a count mismatch fails the file but keeps it, on the first run and on resume', async (t) => {
    const files: FaultFile[] = [
      FILES[0]!,
      { name: 'long.ndjson', type: 'Condition', body: ndjson('Condition', 5), count: 4 },
    ];
    const server = await startFaultServer(t, { files });
    const out = join(tempDir(t), 'out');
    const client = new BulkDataClient(server.baseUrl, { waits: FAST_WAITS });
    try {
      const lenient = await client.export(SYSTEM, { outDir: out });
      assert.equal(lenient.ok, true);
      assert.equal(lenient.files[1]?.countMismatch?.lines, 5);
      // The recorded result carries the mismatch, so a strict resume fails the file without fetching it.
      const before = server.seen.length;
      const strict = await client.resume({ outDir: out, strict: true });
      assert.equal(server.seen.length, before);
      assert.equal(strict.ok, false);
      assert.deepEqual(
        strict.files.map((f) => [f.path, f.status, f.error?.code]),
        [
          ['output/Patient.1.ndjson', 'done', undefined],
          ['output/Condition.1.ndjson', 'failed', 'FHIRHOSE_ERR_CLIENT_VERIFY'],
        ],
      );
      const fresh = join(tempDir(t), 'fresh');
      const first = await client.export(SYSTEM, { outDir: fresh, strict: true });
      assert.equal(first.ok, false);
      assert.equal(first.files[1]?.status, 'failed');
      assert.equal(first.files[1]?.countMismatch?.manifest, 4);
      assert.equal(readFileSync(join(fresh, 'output/Condition.1.ndjson'), 'utf8'), files[1]!.body);
    } finally {
      await client.close();
    }
  });

  test('error files are kept whatever their count, and their issues are in the summary', async (t) => {
    const outcome = (i: number): string =>
      JSON.stringify({
        resourceType: 'OperationOutcome',
        issue: [
          { severity: 'error', code: 'processing', diagnostics: `unit ${i} failed: disk full` },
          { severity: 'warning', code: 'informational', details: { text: `detail ${i}` } },
        ],
      });
    const errorBody = `${[0, 1, 2].map(outcome).join('\n')}\n`;
    const files: FaultFile[] = [
      FILES[0]!,
      { name: 'err.ndjson', kind: 'error', type: 'OperationOutcome', body: errorBody, count: 1 },
    ];
    const server = await startFaultServer(t, { files });
    const out = join(tempDir(t), 'out');
    const client = new BulkDataClient(server.baseUrl, { waits: FAST_WAITS });
    try {
      const summary = await client.export(SYSTEM, { outDir: out, serverIssues: 4 });
      assert.equal(summary.ok, true);
      assert.equal(readFileSync(join(out, 'error/OperationOutcome.1.ndjson'), 'utf8'), errorBody);
      assert.equal(summary.files[1]?.countMismatch?.lines, 3);
      assert.equal(summary.serverErrors?.issues, 6);
      assert.deepEqual(
        summary.serverErrors?.first.map((i) => [i.severity, i.code, i.text]),
        [
          ['error', 'processing', 'unit 0 failed: disk full'],
          ['warning', 'informational', 'detail 0'],
          ['error', 'processing', 'unit 1 failed: disk full'],
          ['warning', 'informational', 'detail 1'],
        ],
      );
    } finally {
      await client.close();
    }
  });

  test('refuses to start in a folder that is not empty, or to resume where there is no export', async (t) => {
    const server = await startFaultServer(t, { files: FILES });
    const dir = tempDir(t);
    writeFileSync(join(dir, 'stray.ndjson'), '');
    const client = new BulkDataClient(server.baseUrl, { waits: FAST_WAITS });
    try {
      await assert.rejects(client.export(SYSTEM, { outDir: dir }), { code: 'FHIRHOSE_ERR_CLIENT_STATE' });
      await assert.rejects(client.resume({ outDir: dir }), { code: 'FHIRHOSE_ERR_CLIENT_STATE' });
    } finally {
      await client.close();
    }
    assert.equal(server.seen.length, 0);
  });

  test('cleanup sends DELETE for the job after a verified download', async (t) => {
    const server = await startFaultServer(t, { files: FILES });
    const { summary } = await run(t, server, {}, SYSTEM, true);
    assert.equal(summary.jobDeleted, true);
    const last = server.seen.at(-1);
    assert.equal(last?.method, 'DELETE');
    assert.equal(last?.url, '/fhir/status/job-1');
  });
});

function deletedBundle(ref: string): string {
  return `${JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: ref } }] })}\n`;
}

function outcomeLine(): string {
  return JSON.stringify({
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'warning', code: 'informational' }],
  });
}
