import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { startTestServer, suiteScope } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { jwksOf, makeKey, postToken, registerClient, signAssertion, tokenForm } from '../helpers/auth.js';
import type { AssertionOptions, TestKey } from '../helpers/auth.js';
import { backends } from '../helpers/stores.js';

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    describe('POST /auth/token (SMART Backend Services)', () => {
      let srv: TestServer;
      let tokenUrl: string;
      let es: TestKey;
      let rs: TestKey;
      let clientId: string;
      let patientOnly: string;
      const suite = suiteScope(after);

      before(async () => {
        srv = await startTestServer(suite, { backend, auth: true });
        tokenUrl = `${srv.baseUrl}/auth/token`;
        es = await makeKey('ES384');
        rs = await makeKey('RS384');
        clientId = await registerClient(srv.runtime, { jwks: jwksOf(es, rs) });
        patientOnly = await registerClient(srv.runtime, { jwks: jwksOf(es) }, 'system/Patient.rs');
      });

      const assertion = (o: Partial<AssertionOptions> = {}, key = es): Promise<string> =>
        signAssertion(key, { iss: clientId, aud: tokenUrl, ...o });

      async function refused(form: Record<string, string>, status: number, error: string): Promise<string> {
        const answer = await postToken(tokenUrl, form);
        assert.equal(answer.status, status, JSON.stringify(answer.body));
        assert.equal(answer.body.error, error);
        assert.equal(typeof answer.body.error_description, 'string');
        assert.equal(answer.headers.get('cache-control'), 'no-store');
        assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
        return answer.body.error_description as string;
      }

      test('issues a bearer token for an ES384 assertion, with no-store headers', async () => {
        const answer = await postToken(tokenUrl, tokenForm(await assertion()));
        assert.equal(answer.status, 200);
        assert.equal(answer.body.token_type, 'bearer');
        assert.equal(answer.body.expires_in, 300);
        assert.equal(answer.body.scope, 'system/*.rs');
        assert.equal(typeof answer.body.access_token, 'string');
        assert.equal(answer.body.refresh_token, undefined);
        assert.equal(answer.headers.get('cache-control'), 'no-store');
        assert.equal(answer.headers.get('pragma'), 'no-cache');
      });

      test('issues a token for an RS384 assertion', async () => {
        const answer = await postToken(tokenUrl, tokenForm(await assertion({}, rs)));
        assert.equal(answer.status, 200);
      });

      test('grants a v1 scope in v1 syntax', async () => {
        const answer = await postToken(tokenUrl, tokenForm(await assertion(), 'system/*.read'));
        assert.equal(answer.status, 200);
        assert.equal(answer.body.scope, 'system/*.read');
      });

      test('narrows a wildcard request to the pre-authorized types', async () => {
        const a = await signAssertion(es, { iss: patientOnly, aud: tokenUrl });
        const answer = await postToken(tokenUrl, tokenForm(a, 'system/*.read'));
        assert.equal(answer.status, 200);
        assert.equal(answer.body.scope, 'system/Patient.read');
      });

      test('refuses a scope the client was not granted with invalid_scope', async () => {
        const a = await signAssertion(es, { iss: patientOnly, aud: tokenUrl });
        await refused(tokenForm(a, 'system/Observation.rs'), 400, 'invalid_scope');
      });

      test('refuses a malformed system scope with invalid_scope', async () => {
        await refused(tokenForm(await assertion(), 'system/*.dus'), 400, 'invalid_scope');
      });

      test('refuses a granular scope it cannot enforce with invalid_scope', async () => {
        await refused(
          tokenForm(await assertion(), 'system/Observation.rs?category=laboratory'),
          400,
          'invalid_scope',
        );
      });

      test('refuses a wrong grant_type with 400 unsupported_grant_type', async () => {
        const form = { ...tokenForm(await assertion()), grant_type: 'not_a_grant_type' };
        await refused(form, 400, 'unsupported_grant_type');
      });

      test('refuses a wrong client_assertion_type with 400 invalid_request', async () => {
        const form = { ...tokenForm(await assertion()), client_assertion_type: 'not_an_assertion_type' };
        await refused(form, 400, 'invalid_request');
      });

      test('refuses a request without client_assertion with 400 invalid_request', async () => {
        const { client_assertion: _omitted, ...form } = tokenForm('x');
        await refused(form, 400, 'invalid_request');
      });

      test('refuses a JSON body with 400 invalid_request', async () => {
        const res = await fetch(tokenUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(tokenForm(await assertion())),
        });
        assert.equal(res.status, 400);
        assert.equal(((await res.json()) as { error: string }).error, 'invalid_request');
      });

      test('refuses a bad signature with 401 invalid_client', async () => {
        const other = await makeKey('ES384', es.kid);
        const text = await refused(tokenForm(await assertion({}, other)), 401, 'invalid_client');
        assert.match(text, /signature/);
      });

      test('refuses an unknown kid with 401 invalid_client', async () => {
        await refused(tokenForm(await assertion({ header: { kid: 'no-such-kid' } })), 401, 'invalid_client');
      });

      test('refuses alg none with 401 invalid_client', async () => {
        const header = { alg: 'none', typ: 'JWT', kid: es.kid };
        const nowS = Math.floor(Date.now() / 1000);
        const claims = { iss: clientId, sub: clientId, aud: tokenUrl, exp: nowS + 300, jti: 'none-1' };
        const text = await refused(tokenForm(`${b64url(header)}.${b64url(claims)}.`), 401, 'invalid_client');
        assert.match(text, /alg 'none'/);
      });

      test('refuses an HS256 assertion with 401 invalid_client', async () => {
        const nowS = Math.floor(Date.now() / 1000);
        const jwt = await new SignJWT({
          iss: clientId,
          sub: clientId,
          aud: tokenUrl,
          exp: nowS + 300,
          jti: 'hs-1',
        })
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: es.kid })
          .sign(new TextEncoder().encode('a shared secret the server never agreed to'));
        const text = await refused(tokenForm(jwt), 401, 'invalid_client');
        assert.match(text, /alg 'HS256'/);
      });

      test('refuses an expired assertion with 401 invalid_client', async () => {
        const text = await refused(tokenForm(await assertion({ expIn: -120 })), 401, 'invalid_client');
        assert.match(text, /expired/);
      });

      test('accepts an exp just past within the clock skew', async () => {
        const answer = await postToken(tokenUrl, tokenForm(await assertion({ expIn: -10 })));
        assert.equal(answer.status, 200);
      });

      test('refuses an exp more than 5 minutes ahead with 401 invalid_client', async () => {
        const text = await refused(tokenForm(await assertion({ expIn: 600 })), 401, 'invalid_client');
        assert.match(text, /5 minutes/);
      });

      test('refuses an assertion without exp with 401 invalid_client', async () => {
        await refused(tokenForm(await assertion({ omit: ['exp'] })), 401, 'invalid_client');
      });

      test('refuses an assertion without jti with 401 invalid_client', async () => {
        await refused(tokenForm(await assertion({ omit: ['jti'] })), 401, 'invalid_client');
      });

      test('refuses an aud other than the token URL with 401 invalid_client', async () => {
        const text = await refused(tokenForm(await assertion({ aud: srv.baseUrl })), 401, 'invalid_client');
        assert.match(text, /aud/);
      });

      test('refuses iss different from sub with 401 invalid_client', async () => {
        await refused(tokenForm(await assertion({ sub: patientOnly })), 401, 'invalid_client');
      });

      test('refuses an unknown client with 401 invalid_client', async () => {
        await refused(tokenForm(await assertion({ iss: 'not_a_valid_iss' })), 401, 'invalid_client');
      });

      test('refuses a replayed jti with 401 invalid_client', async () => {
        const a = await assertion();
        assert.equal((await postToken(tokenUrl, tokenForm(a))).status, 200);
        const text = await refused(tokenForm(a), 401, 'invalid_client');
        assert.match(text, /jti has already been used/);
      });

      test('keeps jti values apart per client', async () => {
        const jti = 'shared-jti-value';
        assert.equal((await postToken(tokenUrl, tokenForm(await assertion({ jti })))).status, 200);
        const a = await signAssertion(es, { iss: patientOnly, aud: tokenUrl, jti });
        assert.equal((await postToken(tokenUrl, tokenForm(a, 'system/Patient.rs'))).status, 200);
      });

      test('refuses a jku when the client registered no JWKS URL, with 401 invalid_client', async () => {
        const a = await assertion({ header: { jku: 'https://attacker.example/jwks.json' } });
        const text = await refused(tokenForm(a), 401, 'invalid_client');
        assert.match(text, /jku/);
      });

      test('refuses a client_id form parameter that differs from iss', async () => {
        const form = { ...tokenForm(await assertion()), client_id: patientOnly };
        await refused(form, 401, 'invalid_client');
      });

      test('refuses a repeated parameter with invalid_request', async () => {
        const body = new URLSearchParams(tokenForm(await assertion()));
        body.append('scope', 'system/*.read');
        const res = await fetch(tokenUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: body.toString(),
        });
        assert.equal(res.status, 400);
        assert.equal(((await res.json()) as { error: string }).error, 'invalid_request');
      });

      test('answers GET with 405', async () => {
        const res = await fetch(tokenUrl);
        assert.equal(res.status, 405);
        await res.arrayBuffer();
      });
    });
  });
}
