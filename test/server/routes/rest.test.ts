import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FhirResource } from '../../../src/fhir/index.js';
import { makePatient } from '../../helpers/builders.js';
import { BASE, FHIR_HEADERS, assertOutcome, fhirJson, serverOn } from '../setup.js';
import type { OutcomeJson, TestServer } from '../setup.js';
import { backends } from '../../helpers/stores.js';

function put(server: TestServer, resource: FhirResource, headers: Record<string, string> = {}) {
  return server.app.inject({
    method: 'PUT',
    url: `/${resource.resourceType}/${String(resource.id)}`,
    headers: { ...FHIR_HEADERS, ...headers },
    payload: JSON.stringify(resource),
  });
}

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    const startServer = serverOn(backend);
    describe('create', () => {
      test('answers 201 with Location, ETag and the stored resource, ignoring any id in the body', async (t) => {
        const server = await startServer(t);
        const res = await server.app.inject({
          method: 'POST',
          url: '/Patient',
          headers: FHIR_HEADERS,
          payload: JSON.stringify(makePatient('client-chosen')),
        });
        const body = fhirJson<FhirResource>(res, 201);
        assert.notEqual(body.id, 'client-chosen');
        assert.equal(res.headers.location, `${BASE}/Patient/${String(body.id)}/_history/1`);
        assert.equal(res.headers.etag, 'W/"1"');
        assert.equal(res.headers['last-modified'], new Date(server.clock.now).toUTCString());
        assert.equal(body.meta?.versionId, '1');
      });

      test('answers a resourceType that does not match the URL with 400', async (t) => {
        const { app } = await startServer(t);
        const res = await app.inject({
          method: 'POST',
          url: '/Observation',
          headers: FHIR_HEADERS,
          payload: makePatient('x'),
        });
        const outcome = assertOutcome(res, 400, 'invalid');
        assert.deepEqual(outcome.issue[0]?.expression, ['resourceType']);
      });

      test('answers a body that is not a resource with 400', async (t) => {
        const { app } = await startServer(t);
        for (const payload of ['[1,2]', '{"name":"x"}', '"Patient"']) {
          const res = await app.inject({ method: 'POST', url: '/Patient', headers: FHIR_HEADERS, payload });
          assertOutcome(res, 400, 'invalid');
        }
      });

      test('answers a resource that breaks the JSON rules with 422', async (t) => {
        const { app } = await startServer(t);
        const res = await app.inject({
          method: 'POST',
          url: '/Patient',
          headers: FHIR_HEADERS,
          payload: '{"resourceType":"Patient","gender":null}',
        });
        const outcome = assertOutcome(res, 422, 'processing');
        assert.deepEqual(outcome.issue[0]?.expression, ['Patient.gender']);
      });

      test('answers a form body with 415', async (t) => {
        const { app } = await startServer(t);
        const res = await app.inject({
          method: 'POST',
          url: '/Patient',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: 'resourceType=Patient',
        });
        assertOutcome(res, 415, 'not-supported');
      });

      test('answers an unknown resource type with 404', async (t) => {
        const { app } = await startServer(t);
        const res = await app.inject({
          method: 'POST',
          url: '/Pateint',
          headers: FHIR_HEADERS,
          payload: '{}',
        });
        assertOutcome(res, 404, 'not-found');
      });

      test('returns an OperationOutcome or nothing when Prefer asks for it', async (t) => {
        const { app } = await startServer(t);
        const payload = JSON.stringify({ resourceType: 'Patient' });
        const minimal = await app.inject({
          method: 'POST',
          url: '/Patient',
          headers: { ...FHIR_HEADERS, prefer: 'return=minimal' },
          payload,
        });
        assert.equal(minimal.statusCode, 201);
        assert.equal(minimal.body, '');
        assert.match(String(minimal.headers.location), /\/Patient\/[^/]+\/_history\/1$/);
        const oo = await app.inject({
          method: 'POST',
          url: '/Patient',
          headers: { ...FHIR_HEADERS, prefer: 'return=OperationOutcome' },
          payload,
        });
        assert.equal(fhirJson<OutcomeJson>(oo, 201).issue[0]?.severity, 'information');
      });
    });

    describe('read and vread', () => {
      test('returns the current version with ETag and Last-Modified', async (t) => {
        const server = await startServer(t);
        await put(server, makePatient('p1'));
        server.clock.now += 60_000;
        await put(server, makePatient('p1', { gender: 'female' }));
        const res = await server.app.inject({ url: '/Patient/p1' });
        const body = fhirJson<FhirResource>(res, 200);
        assert.equal(body.gender, 'female');
        assert.equal(res.headers.etag, 'W/"2"');
        assert.equal(res.headers['last-modified'], new Date(server.clock.now).toUTCString());
      });

      test('answers HEAD with the headers of a read', async (t) => {
        const server = await startServer(t);
        await put(server, makePatient('p1'));
        const res = await server.app.inject({ method: 'HEAD', url: '/Patient/p1' });
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers.etag, 'W/"1"');
      });

      test('returns an older version by versionId', async (t) => {
        const server = await startServer(t);
        await put(server, makePatient('p1'));
        await put(server, makePatient('p1', { gender: 'male' }));
        const res = await server.app.inject({ url: '/Patient/p1/_history/1' });
        const body = fhirJson<FhirResource>(res, 200);
        assert.equal(body.gender, undefined);
        assert.equal(res.headers.etag, 'W/"1"');
      });

      test('answers a missing resource, version or invalid id with 404', async (t) => {
        const server = await startServer(t);
        await put(server, makePatient('p1'));
        for (const url of [
          '/Patient/nope',
          '/Patient/p1/_history/9',
          '/Patient/p1/_history/x',
          '/Patient/bad$id',
        ]) {
          assertOutcome(await server.app.inject({ url }), 404, 'not-found');
        }
      });

      test('answers an unknown resource type with 404', async (t) => {
        const { app } = await startServer(t);
        const outcome = assertOutcome(await app.inject({ url: '/Unicorn/1' }), 404, 'not-found');
        assert.match(outcome.issue[0]?.diagnostics ?? '', /Unicorn/);
      });

      test('answers a deleted resource with 410', async (t) => {
        const server = await startServer(t);
        await put(server, makePatient('p1'));
        await server.app.inject({ method: 'DELETE', url: '/Patient/p1' });
        assertOutcome(await server.app.inject({ url: '/Patient/p1' }), 410, 'deleted');
      });
    });

    describe('update', () => {
      test('creates with 201 and Location, then updates with 200', async (t) => {
        const server = await startServer(t);
        const first = await put(server, makePatient('p1'));
        assert.equal(first.statusCode, 201);
        assert.equal(first.headers.location, `${BASE}/Patient/p1/_history/1`);
        const second = await put(server, makePatient('p1', { active: true }));
        const body = fhirJson<FhirResource>(second, 200);
        assert.equal(body.active, true);
        assert.equal(second.headers.etag, 'W/"2"');
        assert.equal(second.headers.location, undefined);
      });

      test('answers an id that is missing or differs from the URL with 400', async (t) => {
        const server = await startServer(t);
        const noId = await server.app.inject({
          method: 'PUT',
          url: '/Patient/p1',
          headers: FHIR_HEADERS,
          payload: JSON.stringify({ resourceType: 'Patient' }),
        });
        assertOutcome(noId, 400, 'invalid');
        const other = await server.app.inject({
          method: 'PUT',
          url: '/Patient/p1',
          headers: FHIR_HEADERS,
          payload: JSON.stringify(makePatient('p2')),
        });
        assertOutcome(other, 400, 'invalid');
      });

      test('applies a matching If-Match and answers a stale one with 412', async (t) => {
        const server = await startServer(t);
        await put(server, makePatient('p1'));
        const ok = await put(server, makePatient('p1', { active: true }), { 'if-match': 'W/"1"' });
        assert.equal(ok.statusCode, 200);
        const stale = await put(server, makePatient('p1', { active: false }), { 'if-match': 'W/"1"' });
        const outcome = assertOutcome(stale, 412, 'conflict');
        assert.deepEqual(outcome.issue[0]?.expression, ['If-Match']);
        assert.equal(JSON.parse((await server.app.inject({ url: '/Patient/p1' })).body).active, true);
      });

      test('answers a malformed If-Match with 400', async (t) => {
        const server = await startServer(t);
        await put(server, makePatient('p1'));
        assertOutcome(await put(server, makePatient('p1'), { 'if-match': '*' }), 400, 'invalid');
      });

      test('recreates a deleted resource with 201', async (t) => {
        const server = await startServer(t);
        await put(server, makePatient('p1'));
        await server.app.inject({ method: 'DELETE', url: '/Patient/p1' });
        const res = await put(server, makePatient('p1'));
        assert.equal(res.statusCode, 201);
        assert.equal(res.headers.etag, 'W/"3"');
      });
    });

    describe('delete', () => {
      test('answers 200 with an informational OperationOutcome', async (t) => {
        const server = await startServer(t);
        await put(server, makePatient('p1'));
        const res = await server.app.inject({ method: 'DELETE', url: '/Patient/p1' });
        const outcome = fhirJson<OutcomeJson>(res, 200);
        assert.equal(outcome.issue[0]?.severity, 'information');
      });

      test('answers 200 for a resource that does not exist', async (t) => {
        const { app } = await startServer(t);
        const res = await app.inject({ method: 'DELETE', url: '/Patient/ghost' });
        assert.equal(fhirJson<OutcomeJson>(res, 200).resourceType, 'OperationOutcome');
      });
    });

    describe('unsupported methods', () => {
      test('answers them with 405 and an Allow header', async (t) => {
        const { app } = await startServer(t);
        const cases = [
          { method: 'PATCH', url: '/Patient/p1', allow: 'GET, PUT, DELETE, HEAD' },
          { method: 'POST', url: '/Patient/p1', allow: 'GET, PUT, DELETE, HEAD' },
          { method: 'DELETE', url: '/Patient', allow: 'GET, POST, HEAD' },
          { method: 'PUT', url: '/Patient/p1/_history/1', allow: 'GET, HEAD' },
          { method: 'GET', url: '/Patient/_search', allow: 'POST' },
        ] as const;
        for (const { method, url, allow } of cases) {
          const res = await app.inject({ method, url });
          assertOutcome(res, 405, 'not-supported');
          assert.equal(res.headers.allow, allow, `${method} ${url}`);
        }
      });
    });
  });
}
