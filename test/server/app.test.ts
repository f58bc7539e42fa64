import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { ForbiddenError, StoreError } from '../../src/fhir/index.js';
import { buildServer } from '../../src/server/index.js';
import type { RoutePlugin } from '../../src/server/index.js';
import { BASE, FHIR_HEADERS, assertOutcome, fhirJson, serverOn } from './setup.js';
import type { BundleJson } from './setup.js';
import { backends } from '../helpers/stores.js';

/** A pino logger writing parsed lines into an array. */
function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    const startServer = serverOn(backend);
    describe('buildServer', () => {
      test('echoes a valid X-Request-Id', async (t) => {
        const { app } = await startServer(t);
        const res = await app.inject({ url: '/metadata', headers: { 'x-request-id': 'abc-123' } });
        assert.equal(res.headers['x-request-id'], 'abc-123');
      });

      test('echoes X-Request-Id on error responses too', async (t) => {
        const { app } = await startServer(t);
        const res = await app.inject({ url: '/Patient/nope', headers: { 'x-request-id': 'trace.7' } });
        assert.equal(res.statusCode, 404);
        assert.equal(res.headers['x-request-id'], 'trace.7');
      });

      test('replaces a missing or unsafe X-Request-Id with a generated one', async (t) => {
        const { app } = await startServer(t);
        const a = await app.inject({ url: '/metadata' });
        const b = await app.inject({ url: '/metadata', headers: { 'x-request-id': 'bad id\twith spaces' } });
        assert.match(String(a.headers['x-request-id']), /^[0-9a-f-]{36}$/);
        assert.match(String(b.headers['x-request-id']), /^[0-9a-f-]{36}$/);
      });

      test('answers malformed JSON with a 400 OperationOutcome', async (t) => {
        const { app } = await startServer(t);
        const res = await app.inject({
          method: 'POST',
          url: '/Patient',
          headers: FHIR_HEADERS,
          payload: '{"resourceType":',
        });
        assertOutcome(res, 400, 'invalid');
      });

      test('answers an empty JSON body with a 400 OperationOutcome', async (t) => {
        const { app } = await startServer(t);
        const res = await app.inject({ method: 'POST', url: '/Patient', headers: FHIR_HEADERS, payload: '' });
        assertOutcome(res, 400, 'invalid');
      });

      test('reads an empty JSON body on DELETE as no body', async (t) => {
        const { app } = await startServer(t);
        for (const type of ['application/fhir+json', 'application/json']) {
          const res = await app.inject({
            method: 'DELETE',
            url: '/Patient/p1',
            headers: { 'content-type': type },
            payload: '',
          });
          assert.equal(res.statusCode, 200, res.body);
        }
      });

      test('reads application/json and FHIR JSON with parameters', async (t) => {
        const { app } = await startServer(t);
        for (const type of ['application/json', 'application/fhir+json; fhirVersion=4.0; charset=utf-8']) {
          const res = await app.inject({
            method: 'POST',
            url: '/Patient',
            headers: { 'content-type': type },
            payload: JSON.stringify({ resourceType: 'Patient' }),
          });
          assert.equal(res.statusCode, 201, type);
        }
      });

      test('answers other body media types with 415', async (t) => {
        const { app } = await startServer(t);
        for (const type of ['text/plain', 'application/fhir+xml']) {
          const res = await app.inject({
            method: 'POST',
            url: '/Patient',
            headers: { 'content-type': type },
            payload: 'x',
          });
          assertOutcome(res, 415, 'not-supported');
        }
      });

      test('answers a body over the limit with a 413 OperationOutcome', async (t) => {
        const { app } = await startServer(t, { bodyLimitBytes: 100 });
        const payload = JSON.stringify({ resourceType: 'Patient', text: 'x'.repeat(200) });
        const res = await app.inject({ method: 'POST', url: '/Patient', headers: FHIR_HEADERS, payload });
        assertOutcome(res, 413, 'too-long');
      });

      test('answers an unknown route with a 404 OperationOutcome', async (t) => {
        const { app } = await startServer(t);
        assertOutcome(await app.inject({ url: '/a/b/c/d/e' }), 404, 'not-found');
      });

      test('answers a malformed URL with a 400 OperationOutcome that echoes the request id', async (t) => {
        const { app } = await startServer(t);
        const res = await app.inject({ url: '/Patient/%E0%A4%A', headers: { 'x-request-id': 'bad-url' } });
        assertOutcome(res, 400, 'invalid');
        assert.equal(res.headers['x-request-id'], 'bad-url');
      });

      test('rejects _format other than JSON on any interaction', async (t) => {
        const { app } = await startServer(t);
        const outcome = assertOutcome(
          await app.inject({ url: '/metadata?_format=xml' }),
          400,
          'not-supported',
        );
        assert.deepEqual(outcome.issue[0]?.expression, ['_format']);
        assert.equal(
          (await app.inject({ url: '/metadata?_format=application/fhir%2Bjson' })).statusCode,
          200,
        );
      });

      test('builds links from baseUrl, never from the Host header', async (t) => {
        const { app } = await startServer(t);
        const res = await app.inject({
          url: '/Patient',
          headers: { host: 'evil.example', 'x-forwarded-host': 'evil' },
        });
        const bundle = fhirJson<BundleJson>(res, 200);
        assert.equal(bundle.link[0]?.url, `${BASE}/Patient`);
      });

      test('refuses a baseUrl that is not an absolute http(s) URL', () => {
        const store = {} as never;
        assert.throws(() => buildServer({ store, baseUrl: '/fhir', logger: false }), TypeError);
        assert.throws(() => buildServer({ store, baseUrl: 'ftp://x/fhir', logger: false }), TypeError);
      });

      test('registers extra route plugins with the store and base URL, under the shared error handling', async (t) => {
        const plugin: RoutePlugin = async (app, { baseUrl }) => {
          app.get('/$ping', async () => ({ baseUrl }));
          app.get('/$forbidden', async () => {
            throw new ForbiddenError('scope does not cover Patient');
          });
        };
        const { app } = await startServer(t, { plugins: [plugin] });
        assert.deepEqual(JSON.parse((await app.inject({ url: '/$ping' })).body), { baseUrl: BASE });
        assertOutcome(await app.inject({ url: '/$forbidden' }), 403, 'forbidden');
      });
    });

    describe('server logging', () => {
      test('logs 4xx at info and 5xx at error with details kept out of the response', async (t) => {
        const { logger, lines } = captureLogger();
        const plugin: RoutePlugin = async (app) => {
          app.get('/$boom', async () => {
            throw new StoreError('disk I/O error at /secret/path');
          });
        };
        const { app } = await startServer(t, { logger, plugins: [plugin] });
        const res = await app.inject({ url: '/$boom', headers: { 'x-request-id': 'r-500' } });
        const outcome = assertOutcome(res, 500, 'exception');
        assert.doesNotMatch(res.body, /secret/);
        assert.match(outcome.issue[0]?.diagnostics ?? '', /r-500/);
        await app.inject({ url: '/Patient/missing', headers: { 'x-request-id': 'r-404' } });

        const failed = lines.find((l) => l.msg === 'request failed');
        assert.equal(failed?.level, 50);
        assert.equal(failed?.reqId, 'r-500');
        assert.match(JSON.stringify(failed), /secret\/path/);
        const rejected = lines.find((l) => l.msg === 'request rejected');
        assert.equal(rejected?.level, 30);
        assert.equal(rejected?.reqId, 'r-404');
        assert.equal(rejected?.statusCode, 404);
      });

      test('redacts authorization, client_assertion and access_token', async (t) => {
        const { logger, lines } = captureLogger();
        const plugin: RoutePlugin = async (app) => {
          app.get('/$log', async (request) => {
            request.log.info(
              {
                headers: { authorization: 'Bearer sekrit1' },
                body: { client_assertion: 'sekrit2', access_token: 'sekrit3' },
              },
              'auth attempt',
            );
            return {};
          });
        };
        const { app } = await startServer(t, { logger, plugins: [plugin] });
        await app.inject({ url: '/$log?access_token=sekrit4', headers: { authorization: 'Bearer sekrit5' } });
        const text = lines.map((l) => JSON.stringify(l)).join('\n');
        assert.match(text, /auth attempt/);
        assert.doesNotMatch(text, /sekrit/);
      });
    });
  });
}
