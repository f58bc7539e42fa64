import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ADMIN_SCOPE } from '../../src/auth/index.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { getToken, jwksOf, makeKey, postToken, signAssertion, tokenForm } from '../helpers/auth.js';
import { kickoff, runExport, startTestServer, waitForExport } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const PASSWORD = 'correct horse battery';
const CANCEL_HEADERS = { 'x-fhirhose-dashboard': '1' };

interface Overview {
  operator: string;
  health: { database: string; storage: string; workerThreads: number; workersSeen: number };
  jobs: {
    id: string;
    clientId: string | null;
    state: string;
    level: string;
    parameters: { types: string[] | null };
    progress: { percent: number; resources: number; bytes: number };
    units: { kind: string; type: string | null; status: string }[];
    files: { name: string; type: string; count: number }[];
  }[];
  clients: {
    clientId: string | null;
    name: string | null;
    scope: string | null;
    registeredAt: number | null;
    active: number;
    finished: number;
    lastKickoffAt: number | null;
  }[];
  workers: { id: string }[];
}

async function seed(server: TestServer): Promise<void> {
  await server.runtime.store.ingest([
    makePatient('p1', { name: [{ family: 'Zebulonsdottir' }] }),
    makePatient('p2'),
    makeObservation('o1', 'p1'),
  ]);
}

async function overview(server: TestServer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.baseUrl}/dashboard/api/overview`, { headers });
}

const jobIdOf = (statusUrl: string): string => statusUrl.split('/').pop() as string;

const basic = (password: string): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`anyone:${password}`).toString('base64')}`,
});

describe('dashboard on a loopback server without authorization (open)', () => {
  test('serves the page, links it from the landing page, and shows a finished export without content', async (t) => {
    const server = await startTestServer(t);
    await seed(server);
    const page = await fetch(`${server.baseUrl}/dashboard`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await page.text(), /dashboard\/dashboard\.js/);
    const js = await fetch(`${server.baseUrl}/dashboard/dashboard.js`);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    await js.arrayBuffer();
    const landing = await fetch(`${server.baseUrl}/`, { headers: { accept: 'text/html' } });
    assert.match(await landing.text(), /href="[^"]*\/dashboard"/);

    await runExport(`${server.baseUrl}/$export?_type=Patient,Observation`);
    const res = await overview(server);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const text = await res.text();
    const view = JSON.parse(text) as Overview;
    assert.equal(view.operator, 'local');
    assert.equal(view.health.database, 'SQLite');
    assert.equal(view.health.workerThreads, 1);
    assert.equal(view.jobs.length, 1);
    const job = view.jobs[0]!;
    assert.equal(job.state, 'completed');
    assert.equal(job.clientId, null);
    assert.equal(job.level, 'system');
    assert.deepEqual(job.parameters.types, ['Patient', 'Observation']);
    assert.equal(job.progress.percent, 100);
    assert.equal(job.progress.resources, 3);
    assert.ok(job.progress.bytes > 0);
    assert.deepEqual(job.files.map((f) => [f.type, f.count]).sort(), [
      ['Observation', 1],
      ['Patient', 2],
    ]);
    assert.deepEqual(view.clients, [
      {
        clientId: null,
        name: null,
        scope: null,
        registeredAt: null,
        active: 0,
        finished: 1,
        lastKickoffAt: view.clients[0]?.lastKickoffAt,
      },
    ]);
    // Metadata only: no resource content reaches the dashboard.
    assert.ok(!text.includes('Zebulonsdottir'));
    assert.ok(!text.includes('"resourceType"'));
  });

  test('refuses a Host that is not loopback, as a DNS-rebinding page would send', async (t) => {
    const server = await startTestServer(t);
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${server.baseUrl}/dashboard/api/overview`,
        { headers: { host: 'evil.example:80' } },
        (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 403);
  });

  test('cancels a queued job through the service, as the client DELETE would; not twice, nor a finished one', async (t) => {
    const server = await startTestServer(t, { export: { workers: 0 } });
    await seed(server);
    const statusUrl = await kickoff(`${server.baseUrl}/$export?_type=Patient`);
    const jobId = statusUrl.split('/').pop() as string;
    const queued = (await (await overview(server)).json()) as Overview;
    assert.equal(queued.jobs[0]?.state, 'queued');
    const cancelUrl = `${server.baseUrl}/dashboard/api/jobs/${jobId}/cancel`;
    // Without the page's header (a cross-site form post) nothing happens.
    const forged = await fetch(cancelUrl, { method: 'POST' });
    assert.equal(forged.status, 403);
    await forged.arrayBuffer();
    const res = await fetch(cancelUrl, { method: 'POST', headers: CANCEL_HEADERS });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { cancelled: jobId });
    const after = (await (await overview(server)).json()) as Overview;
    assert.equal(after.jobs[0]?.state, 'cancelled');
    const poll = await fetch(statusUrl);
    assert.equal(poll.status, 404);
    await poll.arrayBuffer();
    const again = await fetch(cancelUrl, { method: 'POST', headers: CANCEL_HEADERS });
    assert.equal(again.status, 404);
    await again.arrayBuffer();
  });

  test('logs a cancel from the dashboard as the client DELETE is logged, naming the operator', async (t) => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const server = await startTestServer(t, { export: { workers: 0 }, log });
    await seed(server);
    const byDashboard = jobIdOf(await kickoff(`${server.baseUrl}/$export?_type=Patient`));
    const byClientUrl = await kickoff(`${server.baseUrl}/$export?_type=Patient`);
    const cancel = await fetch(`${server.baseUrl}/dashboard/api/jobs/${byDashboard}/cancel`, {
      method: 'POST',
      headers: CANCEL_HEADERS,
    });
    assert.equal(cancel.status, 200);
    await cancel.arrayBuffer();
    const deleted = await fetch(byClientUrl, { method: 'DELETE' });
    assert.equal(deleted.status, 202);
    await deleted.arrayBuffer();
    const cancelled = lines.filter((l) => l.msg === 'export cancelled');
    assert.deepEqual(
      cancelled.map((l) => [l.jobId, l.clientId, l.operator]),
      [
        [byDashboard, null, 'dashboard: local'],
        [jobIdOf(byClientUrl), null, undefined],
      ],
    );
  });

  test('answers 409 to a cancel of a completed job and leaves it downloadable', async (t) => {
    const server = await startTestServer(t);
    await seed(server);
    const manifest = await runExport(`${server.baseUrl}/$export?_type=Patient`);
    const view = (await (await overview(server)).json()) as Overview;
    const res = await fetch(`${server.baseUrl}/dashboard/api/jobs/${view.jobs[0]?.id}/cancel`, {
      method: 'POST',
      headers: CANCEL_HEADERS,
    });
    assert.equal(res.status, 409);
    await res.arrayBuffer();
    const file = await fetch(manifest.output[0]!.url);
    assert.equal(file.status, 200);
    await file.arrayBuffer();
  });
});

describe('dashboard on a server others can reach', () => {
  test('without a password and without authorization it does not exist', async (t) => {
    const server = await startTestServer(t, { host: '0.0.0.0' });
    for (const path of ['/dashboard', '/dashboard/dashboard.js', '/dashboard/api/overview']) {
      const res = await fetch(`${server.baseUrl}${path}`);
      assert.equal(res.status, 404, path);
      assert.ok(!(await res.text()).includes('<html'), path);
    }
    const cancel = await fetch(`${server.baseUrl}/dashboard/api/jobs/x/cancel`, {
      method: 'POST',
      headers: CANCEL_HEADERS,
    });
    assert.equal(cancel.status, 404);
    await cancel.arrayBuffer();
    const landing = await fetch(`${server.baseUrl}/`, { headers: { accept: 'text/html' } });
    assert.ok(!(await landing.text()).includes('/dashboard'));
  });

  test('with FHIRHOSE_DASHBOARD_PASSWORD the API needs that password', async (t) => {
    const server = await startTestServer(t, {
      host: '0.0.0.0',
      env: { FHIRHOSE_DASHBOARD_PASSWORD: PASSWORD },
    });
    await seed(server);
    await runExport(`${server.baseUrl}/$export?_type=Patient`);
    const page = await fetch(`${server.baseUrl}/dashboard`);
    assert.equal(page.status, 200);
    await page.arrayBuffer();
    const none = await overview(server);
    assert.equal(none.status, 401);
    const noneText = await none.text();
    assert.ok(!noneText.includes('"jobs"'));
    const wrong = await overview(server, basic('not the password'));
    assert.equal(wrong.status, 401);
    await wrong.arrayBuffer();
    const right = await overview(server, basic(PASSWORD));
    assert.equal(right.status, 200);
    const view = (await right.json()) as Overview;
    assert.equal(view.operator, 'password');
    assert.equal(view.jobs.length, 1);
  });
});

describe('dashboard on a server with authorization', () => {
  test('opens to a token with the admin scope only, and lists the registered clients', async (t) => {
    const server = await startTestServer(t, { auth: true });
    await seed(server);
    const auth = server.runtime.auth!;
    const tokenUrl = `${server.baseUrl}/auth/token`;
    const key = await makeKey();
    const reader = await auth.registry.register({
      name: 'nightly reader',
      scope: 'system/*.rs',
      jwks: jwksOf(key),
    });
    const adminKey = await makeKey();
    const admin = await auth.registry.register({
      name: 'ops console',
      scope: `system/*.rs ${ADMIN_SCOPE}`,
      jwks: jwksOf(adminKey),
    });
    const readerToken = await getToken(tokenUrl, { id: reader.id, key });
    const asReader = { authorization: `Bearer ${readerToken}` };
    const statusUrl = await kickoff(`${server.baseUrl}/$export?_type=Patient`, { headers: asReader });
    assert.equal((await waitForExport(statusUrl, asReader)).status, 200);

    const none = await overview(server);
    assert.equal(none.status, 401);
    assert.ok(!(await none.text()).includes('"jobs"'));
    const notAdmin = await overview(server, { authorization: `Bearer ${readerToken}` });
    assert.equal(notAdmin.status, 403);
    await notAdmin.arrayBuffer();
    // A client registered without the scope cannot obtain it.
    const asked = await postToken(
      tokenUrl,
      tokenForm(await signAssertion(key, { iss: reader.id, aud: tokenUrl }), ADMIN_SCOPE),
    );
    assert.equal(asked.status, 400);

    const adminToken = await getToken(tokenUrl, { id: admin.id, key: adminKey }, ADMIN_SCOPE);
    const res = await overview(server, { authorization: `Bearer ${adminToken}` });
    assert.equal(res.status, 200);
    const view = (await res.json()) as Overview;
    assert.equal(view.operator, `client ${admin.id}`);
    assert.equal(view.jobs[0]?.clientId, reader.id);
    const byName = Object.fromEntries(view.clients.map((c) => [c.name, c]));
    assert.equal(byName['nightly reader']?.finished, 1);
    assert.equal(byName['ops console']?.finished, 0);
    // The admin scope alone reads no resources.
    const search = await fetch(`${server.baseUrl}/Patient`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    assert.equal(search.status, 403);
    await search.arrayBuffer();
  });
});
