import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makePatient } from '../helpers/builders.js';
import { kickoff, startTestServer } from '../helpers/server.js';
import type { TestManifest, TestServer, TestServerOptions } from '../helpers/server.js';
import { getToken, jwksOf, makeKey, registerClient } from '../helpers/auth.js';
import { backends } from '../helpers/stores.js';

// `Prefer: wait=N` on the status URL (RFC 7240 section 4.3): a poll of a running job is held until the
// job ends, is cancelled, N seconds pass, or the server stops. Servers here start without worker
// threads, so a job stays running until a test starts one.

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Bounded wait until the server holds `n` status polls. */
async function untilHeld(srv: TestServer, n: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (srv.runtime.service.heldPolls === n) return;
    await sleep(10);
  }
  throw new Error(`the server never held ${n} status polls (holds ${srv.runtime.service.heldPolls})`);
}

const held = (statusUrl: string, seconds: number, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(statusUrl, { headers: { prefer: `wait=${seconds}`, ...headers } });

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    describe('held status polls (Prefer: wait)', () => {
      async function idleServer(
        t: { after: (fn: () => Promise<void> | void) => void },
        options: TestServerOptions = {},
      ): Promise<TestServer> {
        const srv = await startTestServer(t, { backend, ...options, export: { workers: 0 } });
        await srv.runtime.store.ingest([makePatient('p1'), makePatient('p2'), makePatient('p3')]);
        return srv;
      }

      test('answers a held poll with the manifest once the job completes', async (t) => {
        const srv = await idleServer(t);
        const status = await kickoff(`${srv.baseUrl}/$export?_type=Patient`);
        const poll = held(status, 10);
        await untilHeld(srv, 1);
        srv.runtime.pool.start(1);
        const res = await poll;
        assert.equal(res.status, 200);
        const manifest = (await res.json()) as TestManifest;
        assert.deepEqual(
          manifest.output.map((o) => [o.type, o.count]),
          [['Patient', 3]],
        );
        assert.equal(srv.runtime.service.heldPolls, 0);
      });

      test('answers 202 with Retry-After when the wait passes before the job ends', async (t) => {
        const srv = await idleServer(t);
        const status = await kickoff(`${srv.baseUrl}/$export?_type=Patient`);
        const poll = held(status, 1);
        await untilHeld(srv, 1);
        const res = await poll;
        assert.equal(res.status, 202);
        assert.equal(res.headers.get('retry-after'), '1');
        assert.match(res.headers.get('x-progress') ?? '', /queued/);
        await res.arrayBuffer();
        assert.equal(srv.runtime.service.heldPolls, 0);
      });

      test('answers at once beyond the cap of held polls', async (t) => {
        const srv = await idleServer(t, { maxHeldPolls: 1 });
        const first = await kickoff(`${srv.baseUrl}/$export?_type=Patient`);
        const second = await kickoff(`${srv.baseUrl}/$export?_type=Patient`);
        const poll = held(first, 10);
        await untilHeld(srv, 1);
        const refused = await held(second, 10);
        assert.equal(refused.status, 202);
        await refused.arrayBuffer();
        assert.equal(srv.runtime.service.heldPolls, 1, 'the first poll is still held');
        await (await fetch(first, { method: 'DELETE' })).arrayBuffer();
        assert.equal((await poll).status, 404);
      });

      test('answers a held poll 404 when the job is deleted meanwhile', async (t) => {
        const srv = await idleServer(t);
        const status = await kickoff(`${srv.baseUrl}/$export?_type=Patient`);
        const poll = held(status, 10);
        await untilHeld(srv, 1);
        const del = await fetch(status, { method: 'DELETE' });
        assert.equal(del.status, 202);
        await del.arrayBuffer();
        const res = await poll;
        assert.equal(res.status, 404);
        const outcome = (await res.json()) as { issue: { code: string }[] };
        assert.equal(outcome.issue[0]?.code, 'not-found');
      });

      test('answers a held poll at once when the server stops', async (t) => {
        const srv = await idleServer(t);
        const status = await kickoff(`${srv.baseUrl}/$export?_type=Patient`);
        const poll = held(status, 10);
        await untilHeld(srv, 1);
        const [res] = await Promise.all([poll, srv.runtime.close()]);
        assert.equal(res.status, 202);
        await res.arrayBuffer();
      });

      test("answers 404 to a held poll of another client's job", async (t) => {
        const srv = await idleServer(t, { auth: true });
        const key = await makeKey('ES384');
        const tokenUrl = `${srv.baseUrl}/auth/token`;
        const mine = await registerClient(srv.runtime, { jwks: jwksOf(key) }, 'system/*.rs');
        const other = await registerClient(srv.runtime, { jwks: jwksOf(key) }, 'system/*.rs');
        const bearer = async (id: string): Promise<Record<string, string>> => ({
          authorization: `Bearer ${await getToken(tokenUrl, { id, key }, 'system/*.rs')}`,
        });
        const status = await kickoff(`${srv.baseUrl}/$export?_type=Patient`, { headers: await bearer(mine) });
        const theirs = await held(status, 10, await bearer(other));
        assert.equal(theirs.status, 404);
        await theirs.arrayBuffer();
        const unauthenticated = await held(status, 10);
        assert.equal(unauthenticated.status, 401);
        await unauthenticated.arrayBuffer();
        assert.equal(srv.runtime.service.heldPolls, 0);
      });
    });
  });
}
