import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { makePatient } from '../helpers/builders.js';
import { startTestServer, suiteScope } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const ISSUER = 'https://idp.example.test';
const AUDIENCE = 'https://fhir.example.test/r4';

describe('trusting an external authorization server', () => {
  let srv: TestServer;
  let sign: (claims: Record<string, unknown>, header?: Record<string, unknown>) => Promise<string>;
  const suite = suiteScope(after);

  before(async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'RS256' }] });
    const http = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(jwks),
    );
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    suite.after(() => new Promise<void>((resolve) => http.close(() => resolve())));
    const jwksUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/jwks`;
    srv = await startTestServer(suite, {
      auth: { external: { issuer: ISSUER, jwksUrl, tokenUrl: `${ISSUER}/token`, audience: AUDIENCE } },
    });
    await srv.runtime.store.ingest([makePatient('p1')]);
    sign = (claims, header = {}) => {
      const nowS = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: ISSUER, aud: AUDIENCE, exp: nowS + 300, client_id: 'ext-client', ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: 'idp-1', ...header })
        .sign(privateKey);
    };
  });

  const read = async (token: string): Promise<number> => {
    const res = await fetch(`${srv.baseUrl}/Patient/p1`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    return res.status;
  };

  test('advertises the issuer token endpoint in discovery', async () => {
    const res = await fetch(`${srv.baseUrl}/.well-known/smart-configuration`);
    assert.equal(((await res.json()) as { token_endpoint: string }).token_endpoint, `${ISSUER}/token`);
  });

  test('accepts its tokens and applies their scopes', async () => {
    assert.equal(await read(await sign({ scope: 'system/Patient.rs' })), 200);
    assert.equal(await read(await sign({ scp: ['system/*.read'] })), 200);
    assert.equal(await read(await sign({ scope: 'system/Observation.rs' })), 403);
  });

  test('refuses a wrong issuer or audience, an expired token and an unknown key', async () => {
    assert.equal(await read(await sign({ scope: 'system/*.rs', iss: 'https://evil.example' })), 401);
    assert.equal(await read(await sign({ scope: 'system/*.rs', aud: 'https://other.example' })), 401);
    assert.equal(
      await read(await sign({ scope: 'system/*.rs', exp: Math.floor(Date.now() / 1000) - 120 })),
      401,
    );
    assert.equal(await read(await sign({ scope: 'system/*.rs' }, { kid: 'unknown' })), 401);
  });

  test('does not serve its own token endpoint', async () => {
    const res = await fetch(`${srv.baseUrl}/auth/token`, { method: 'POST' });
    assert.notEqual(res.status, 200);
    await res.arrayBuffer();
  });
});
