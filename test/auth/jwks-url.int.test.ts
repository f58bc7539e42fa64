import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestServer, suiteScope } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { jwksOf, makeKey, postToken, registerClient, signAssertion, tokenForm } from '../helpers/auth.js';
import type { TestKey } from '../helpers/auth.js';

/** One JWKS document the local key server publishes. */
interface Published {
  body: string;
  status: number;
  cacheControl?: string;
  hits: number;
  accept?: string;
}

describe('clients registered by JWKS URL', () => {
  let srv: TestServer;
  let tokenUrl: string;
  let keyServer: string;
  const published = new Map<string, Published>();
  const clock = { now: Date.now() };
  const suite = suiteScope(after);

  before(async () => {
    const http = createServer((req, res) => {
      const doc = published.get(req.url ?? '');
      if (!doc) return void res.writeHead(404).end();
      doc.hits += 1;
      doc.accept = req.headers.accept;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (doc.cacheControl !== undefined) headers['cache-control'] = doc.cacheControl;
      res.writeHead(doc.status, headers).end(doc.body);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    suite.after(() => new Promise<void>((resolve) => http.close(() => resolve())));
    keyServer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    srv = await startTestServer(suite, { auth: true, now: () => clock.now });
    tokenUrl = `${srv.baseUrl}/auth/token`;
  });

  function publish(path: string, keys: TestKey[], cacheControl?: string): Published {
    const doc: Published = { body: JSON.stringify(jwksOf(...keys)), status: 200, hits: 0 };
    if (cacheControl !== undefined) doc.cacheControl = cacheControl;
    published.set(path, doc);
    return doc;
  }

  function republish(path: string, keys: TestKey[]): void {
    (published.get(path) as Published).body = JSON.stringify(jwksOf(...keys));
  }

  async function tokenStatus(clientId: string, key: TestKey, header: Record<string, unknown> = {}) {
    const a = await signAssertion(key, { iss: clientId, aud: tokenUrl, now: clock.now, header });
    return postToken(tokenUrl, tokenForm(a));
  }

  test('fetches the JWKS with Accept: application/json and issues a token', async () => {
    const key = await makeKey('ES384');
    const doc = publish('/basic', [key], 'max-age=3600');
    const id = await registerClient(srv.runtime, { jwksUrl: `${keyServer}/basic` });
    assert.equal((await tokenStatus(id, key)).status, 200);
    assert.equal((await tokenStatus(id, key)).status, 200);
    assert.equal(doc.hits, 1, 'the cached set is reused within max-age');
    assert.equal(doc.accept, 'application/json');
  });

  test('a client rotates its key and keeps getting tokens', async () => {
    const oldKey = await makeKey('ES384');
    const newKey = await makeKey('RS384');
    const doc = publish('/rotate', [oldKey], 'max-age=3600');
    const id = await registerClient(srv.runtime, { jwksUrl: `${keyServer}/rotate` });
    assert.equal((await tokenStatus(id, oldKey)).status, 200);
    republish('/rotate', [newKey]);
    clock.now += 11_000;
    assert.equal((await tokenStatus(id, newKey)).status, 200, 'an unknown kid fetches the set again');
    assert.equal(doc.hits, 2);
    assert.equal((await tokenStatus(id, oldKey)).status, 401, 'the retired key no longer works');
  });

  test('refetches on an unknown kid at most once per 10 seconds', async () => {
    const key = await makeKey('ES384');
    const stranger = await makeKey('ES384');
    const doc = publish('/rate', [key], 'max-age=3600');
    const id = await registerClient(srv.runtime, { jwksUrl: `${keyServer}/rate` });
    assert.equal((await tokenStatus(id, key)).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await tokenStatus(id, stranger)).status, 401);
    assert.equal(doc.hits, 1, 'no refetch within 10 s of the last fetch');
    clock.now += 10_001;
    assert.equal((await tokenStatus(id, stranger)).status, 401);
    assert.equal(doc.hits, 2);
  });

  test('caches no longer than Cache-Control max-age allows', async () => {
    const key = await makeKey('ES384');
    const doc = publish('/maxage', [key], 'public, max-age=60');
    const id = await registerClient(srv.runtime, { jwksUrl: `${keyServer}/maxage` });
    assert.equal((await tokenStatus(id, key)).status, 200);
    clock.now += 30_000;
    assert.equal((await tokenStatus(id, key)).status, 200);
    assert.equal(doc.hits, 1);
    clock.now += 31_000;
    assert.equal((await tokenStatus(id, key)).status, 200);
    assert.equal(doc.hits, 2);
  });

  test('does not cache a JWKS sent with no-store', async () => {
    const key = await makeKey('ES384');
    const doc = publish('/nostore', [key], 'no-store');
    const id = await registerClient(srv.runtime, { jwksUrl: `${keyServer}/nostore` });
    assert.equal((await tokenStatus(id, key)).status, 200);
    assert.equal((await tokenStatus(id, key)).status, 200);
    assert.equal(doc.hits, 2);
  });

  test('refuses a kid that two keys of the set share with 401 invalid_client', async () => {
    const a = await makeKey('ES384', 'same-kid');
    const b = await makeKey('ES384', 'same-kid');
    publish('/duplicate', [a, b], 'max-age=3600');
    const id = await registerClient(srv.runtime, { jwksUrl: `${keyServer}/duplicate` });
    const answer = await tokenStatus(id, a);
    assert.equal(answer.status, 401);
    assert.equal(answer.body.error, 'invalid_client');
    assert.match(answer.body.error_description as string, /more than one/);
  });

  test('chooses the key by kid and kty when an RSA and an EC key share a kid', async () => {
    const ec = await makeKey('ES384', 'twin');
    const rsa = await makeKey('RS384', 'twin');
    publish('/twins', [ec, rsa], 'max-age=3600');
    const id = await registerClient(srv.runtime, { jwksUrl: `${keyServer}/twins` });
    assert.equal((await tokenStatus(id, ec)).status, 200);
    assert.equal((await tokenStatus(id, rsa)).status, 200);
  });

  test('accepts jku equal to the registered URL and refuses any other', async () => {
    const key = await makeKey('ES384');
    publish('/jku', [key], 'max-age=3600');
    publish('/elsewhere', [key], 'max-age=3600');
    const id = await registerClient(srv.runtime, { jwksUrl: `${keyServer}/jku` });
    assert.equal((await tokenStatus(id, key, { jku: `${keyServer}/jku` })).status, 200);
    const other = await tokenStatus(id, key, { jku: `${keyServer}/elsewhere` });
    assert.equal(other.status, 401);
    assert.equal(other.body.error, 'invalid_client');
  });

  test('refuses with 401 invalid_client when the JWKS URL fails', async () => {
    const key = await makeKey('ES384');
    const doc = publish('/broken', [key]);
    doc.status = 500;
    const id = await registerClient(srv.runtime, { jwksUrl: `${keyServer}/broken` });
    const answer = await tokenStatus(id, key);
    assert.equal(answer.status, 401);
    assert.equal(answer.body.error, 'invalid_client');
  });

  test('refuses to register a plain-http JWKS URL off loopback', async () => {
    await assert.rejects(registerClient(srv.runtime, { jwksUrl: 'http://keys.example.org/jwks.json' }), {
      code: 'FHIRHOSE_ERR_INVALID_REQUEST',
    });
  });
});
