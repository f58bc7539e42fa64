import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { ClientRegistry, JwksCache, OAuthError, verifyClientAssertion } from '../../src/auth/index.js';
import type { AssertionDeps } from '../../src/auth/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import type { SqliteStore } from '../../src/store/index.js';
import { jwksOf, makeKey, signAssertion } from '../helpers/auth.js';
import type { AssertionOptions, TestKey } from '../helpers/auth.js';
import { tempDir } from '../helpers/temp.js';

const TOKEN_URL = 'https://fhir.example.org/r4/auth/token';
// Months before the real clock, so an assertion valid here has long expired by the real one.
const NOW = Date.UTC(2026, 0, 15, 9, 30, 0);

/** Rejects with `invalid_client` and a description matching `text`. */
const refused = (text: RegExp) => (err: unknown) =>
  err instanceof OAuthError && err.error === 'invalid_client' && text.test(err.message);

describe('verifyClientAssertion (real SQLite store, frozen clock)', () => {
  let store: SqliteStore;
  let deps: AssertionDeps;
  let key: TestKey;
  let other: TestKey;
  let clientId: string;

  before(async () => {
    store = openSqliteStore(join(tempDir({ after }), 'auth.db'));
    const now = (): number => NOW;
    const registry = new ClientRegistry(store.auth, now);
    deps = {
      registry,
      jwks: new JwksCache({ now }),
      replay: store.auth,
      tokenUrl: TOKEN_URL,
      now,
      skewSeconds: 60,
    };
    key = await makeKey('ES384');
    other = await makeKey('ES384', key.kid);
    clientId = (await registry.register({ name: 't', scope: 'system/*.rs', jwks: jwksOf(key) })).id;
  });
  after(async () => store.close());

  const sign = (o: Partial<AssertionOptions> = {}, k: TestKey = key): Promise<string> =>
    signAssertion(k, { iss: clientId, aud: TOKEN_URL, now: NOW, ...o });

  test('accepts a well-formed assertion by the frozen clock and returns the client', async () => {
    const client = await verifyClientAssertion(await sign(), deps);
    assert.equal(client.id, clientId);
  });

  test('accepts an assertion that expired within the allowed skew, not beyond it', async () => {
    await verifyClientAssertion(await sign({ now: NOW - 330_000 }), deps);
    await assert.rejects(verifyClientAssertion(await sign({ now: NOW - 400_000 }), deps), refused(/expired/));
  });

  test('refuses exp more than 5 minutes (plus skew) ahead', async () => {
    await verifyClientAssertion(await sign({ expIn: 360 }), deps);
    await assert.rejects(verifyClientAssertion(await sign({ expIn: 361 }), deps), refused(/5 minutes/));
  });

  test('refuses a replayed jti', async () => {
    const jti = 'same-jti-twice';
    await verifyClientAssertion(await sign({ jti }), deps);
    await assert.rejects(verifyClientAssertion(await sign({ jti }), deps), refused(/already been used/));
  });

  test('refuses a wrong audience, issuer, subject or signing key', async () => {
    await assert.rejects(verifyClientAssertion(await sign({ aud: 'https://x/token' }), deps), refused(/aud/));
    await assert.rejects(
      verifyClientAssertion(await sign({ iss: 'nobody' }), deps),
      refused(/not a registered/),
    );
    await assert.rejects(
      verifyClientAssertion(await sign({ sub: 'someone' }), deps),
      refused(/sub must equal/),
    );
    await assert.rejects(verifyClientAssertion(await sign({}, other), deps), refused(/signature/));
  });

  test('refuses a bad header: no kid, an unknown kid, a wrong typ, a jku not registered', async () => {
    await assert.rejects(verifyClientAssertion(await sign({ header: { kid: '' } }), deps), refused(/no kid/));
    await assert.rejects(
      verifyClientAssertion(await sign({ header: { kid: 'k2' } }), deps),
      refused(/no ES384 key/),
    );
    await assert.rejects(
      verifyClientAssertion(await sign({ header: { typ: 'at+jwt' } }), deps),
      refused(/typ/),
    );
    await assert.rejects(
      verifyClientAssertion(await sign({ header: { jku: 'https://x/jwks' } }), deps),
      refused(/jku/),
    );
  });

  test('refuses other algorithms and text that is not a JWS', async () => {
    const hs = await new SignJWT({
      iss: clientId,
      sub: clientId,
      aud: TOKEN_URL,
      exp: NOW / 1000 + 60,
      jti: 'h',
    })
      .setProtectedHeader({ alg: 'HS256', kid: key.kid })
      .sign(new TextEncoder().encode('a shared secret of enough length!'));
    await assert.rejects(verifyClientAssertion(hs, deps), refused(/alg 'HS256'/));
    await assert.rejects(verifyClientAssertion('not-a-jwt', deps), refused(/not a signed JWT/));
  });

  test('refuses a missing jti', async () => {
    await assert.rejects(verifyClientAssertion(await sign({ omit: ['jti'] }), deps), refused(/jti/));
  });
});
