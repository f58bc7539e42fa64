import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { makePatient } from '../helpers/builders.js';
import { jwksOf, makeKey, postToken, registerClient, signAssertion, tokenForm } from '../helpers/auth.js';
import { kickoff, startTestServer, waitForExport } from '../helpers/server.js';
import type { TestManifest, TestServer } from '../helpers/server.js';
import { backends } from '../helpers/stores.js';

const postgres = backends().find((b) => b.name === 'PostgreSQL')!;

// Behind a load balancer every process has the same public base URL, which is the issuer and audience
// of the access tokens; the test reaches each process at its own loopback port instead.
const PUBLIC_BASE = 'http://fhirhose.example.test';

/** Where one server really listens. */
function origin(srv: TestServer): string {
  return `http://127.0.0.1:${(srv.runtime.app.server.address() as AddressInfo).port}`;
}

/** A public URL of the deployment, sent to one server. */
function via(srv: TestServer, publicUrl: string): string {
  assert.ok(publicUrl.startsWith(PUBLIC_BASE), publicUrl);
  return origin(srv) + publicUrl.slice(PUBLIC_BASE.length);
}

test(
  'two servers on one PostgreSQL schema share clients, signing keys and export jobs',
  { skip: postgres.skip },
  async (t) => {
    const database = await postgres.create();
    let a: TestServer;
    let b: TestServer;
    try {
      const options = { db: database.db, auth: true, env: { FHIRHOSE_BASE_URL: PUBLIC_BASE } };
      a = await startTestServer(t, options);
      b = await startTestServer(t, options);
    } finally {
      // Registered after both servers' hooks, which run first, so the schema outlives its users.
      t.after(() => database.drop());
    }
    assert.equal(a.baseUrl, PUBLIC_BASE);

    const key = await makeKey('ES384');
    const clientId = await registerClient(a.runtime, { jwks: jwksOf(key) });
    await a.runtime.store.ingest([makePatient('p1'), makePatient('p2')]);

    // The assertion's audience is the public token URL, whichever process receives it.
    const tokenUrl = `${PUBLIC_BASE}/auth/token`;
    const assertion = await signAssertion(key, { iss: clientId, aud: tokenUrl });
    const answer = await postToken(via(a, tokenUrl), tokenForm(assertion));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const headers = { authorization: `Bearer ${String(answer.body.access_token)}` };

    const status = await kickoff(via(b, `${PUBLIC_BASE}/$export?_type=Patient`), { headers });
    assert.ok(status.startsWith(`${PUBLIC_BASE}/$export-status/`), status);

    const polled = await fetch(via(b, status), { headers });
    await polled.arrayBuffer();
    assert.ok([200, 202].includes(polled.status), `B answered the status poll with ${polled.status}`);

    const unauthenticated = await fetch(via(a, status));
    await unauthenticated.arrayBuffer();
    assert.equal(unauthenticated.status, 401, 'A still asks for a token');

    const done = await waitForExport(via(a, status), headers);
    assert.equal(done.status, 200);
    const manifest = (await done.json()) as TestManifest;
    assert.equal(manifest.requiresAccessToken, true);
    assert.deepEqual(manifest.error, []);
    assert.deepEqual(
      manifest.output.map((o) => [o.type, o.count]),
      [['Patient', 2]],
    );
  },
);
