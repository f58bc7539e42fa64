import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { makePatient } from '../helpers/builders.js';
import { BASE, serverOn } from './setup.js';
import { backends } from '../helpers/stores.js';

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    const startServer = serverOn(backend);
    describe('server over real HTTP', () => {
      test('creates and reads a resource on a loopback port, echoing X-Request-Id', async (t) => {
        const { app } = await startServer(t);
        const origin = await app.listen({ host: '127.0.0.1', port: 0 });

        const created = await request(`${origin}/Patient`, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json', 'x-request-id': 'int-1' },
          body: JSON.stringify(makePatient('ignored')),
        });
        assert.equal(created.statusCode, 201);
        assert.equal(created.headers['x-request-id'], 'int-1');
        const location = String(created.headers.location);
        assert.ok(location.startsWith(`${BASE}/Patient/`), location);
        const { id } = (await created.body.json()) as { id: string };

        const read = await request(`${origin}/Patient/${id}`);
        assert.equal(read.statusCode, 200);
        assert.equal(read.headers['content-type'], 'application/fhir+json; charset=utf-8');
        assert.equal(read.headers.etag, 'W/"1"');
        assert.equal(((await read.body.json()) as { id: string }).id, id);
      });

      test('answers a bad body with an OperationOutcome and keeps serving', async (t) => {
        const { app } = await startServer(t);
        const origin = await app.listen({ host: '127.0.0.1', port: 0 });
        const bad = await request(`${origin}/Patient`, {
          method: 'POST',
          headers: { 'content-type': 'text/csv' },
          body: 'a,b',
        });
        assert.equal(bad.statusCode, 415);
        assert.equal(((await bad.body.json()) as { resourceType: string }).resourceType, 'OperationOutcome');
        const after = await request(`${origin}/metadata`);
        assert.equal(after.statusCode, 200);
        await after.body.dump();
      });
    });
  });
}
