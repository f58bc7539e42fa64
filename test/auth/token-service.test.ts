import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DEFAULT_AUTH_CONFIG, OAuthError, ScopeSet, createAuth, grantScopes } from '../../src/auth/index.js';
import type { Auth } from '../../src/auth/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import type { SqliteStore } from '../../src/store/index.js';
import { jwksOf, makeKey, signAssertion, tokenForm } from '../helpers/auth.js';
import type { TestKey } from '../helpers/auth.js';
import { tempDir } from '../helpers/temp.js';

const BASE = 'https://fhir.example.org/r4';
const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);

const oauth = (error: string) => (err: unknown) => err instanceof OAuthError && err.error === error;

describe('grantScopes', () => {
  const registered = ScopeSet.parse('system/Patient.rs system/Observation.r');

  test('narrows each requested scope to the registered ones, in the syntax asked', () => {
    assert.equal(grantScopes('system/*.rs', registered), 'system/Patient.rs system/Observation.r');
    assert.equal(grantScopes('system/Patient.read', registered), 'system/Patient.read');
  });

  test('ignores non-system scopes but refuses when nothing remains, or nothing was asked', () => {
    assert.equal(grantScopes('launch system/Patient.rs', registered), 'system/Patient.rs');
    assert.throws(() => grantScopes('system/Condition.rs', registered), oauth('invalid_scope'));
    assert.throws(() => grantScopes('   ', registered), oauth('invalid_scope'));
  });
});

describe('TokenService.exchange (real SQLite store, frozen clock)', () => {
  let store: SqliteStore;
  let auth: Auth;
  let key: TestKey;
  let clientId: string;

  before(async () => {
    const dir = tempDir({ after });
    store = openSqliteStore(join(dir, 'auth.db'));
    auth = createAuth(DEFAULT_AUTH_CONFIG, { store: store.auth, baseUrl: BASE, now: () => NOW });
    key = await makeKey();
    clientId = (await auth.registry.register({ name: 't', scope: 'system/*.rs', jwks: jwksOf(key) })).id;
  });
  after(async () => store.close());

  const form = (o: Record<string, string>): URLSearchParams => new URLSearchParams(o);
  const assertion = (now = NOW): Promise<string> =>
    signAssertion(key, { iss: clientId, aud: auth.tokenUrl, now });

  test('issues a bearer token with the granted scope and the configured lifetime', async () => {
    const res = await auth.tokens!.exchange(form(tokenForm(await assertion(), 'system/Patient.rs')));
    assert.equal(res.token_type, 'bearer');
    assert.equal(res.scope, 'system/Patient.rs');
    assert.equal(res.expires_in, DEFAULT_AUTH_CONFIG.tokenLifetimeSeconds);
    const grant = await auth.verifier.verify(res.access_token);
    assert.equal(grant.clientId, clientId);
  });

  test('refuses a form that is missing, repeats a parameter, or has the wrong grant type', async () => {
    const tokens = auth.tokens!;
    await assert.rejects(tokens.exchange(undefined), oauth('invalid_request'));
    const good = tokenForm(await assertion());
    const repeated = form(good);
    repeated.append('scope', 'system/*.rs');
    await assert.rejects(tokens.exchange(repeated), oauth('invalid_request'));
    await assert.rejects(
      tokens.exchange(form({ ...good, grant_type: 'password' })),
      oauth('unsupported_grant_type'),
    );
    await assert.rejects(
      tokens.exchange(form({ ...good, client_assertion_type: 'x' })),
      oauth('invalid_request'),
    );
    await assert.rejects(
      tokens.exchange(form({ ...good, client_id: 'someone-else' })),
      oauth('invalid_client'),
    );
  });

  test('refuses an assertion that expired by the frozen clock', async () => {
    const old = await assertion(NOW - 3600_000);
    await assert.rejects(auth.tokens!.exchange(form(tokenForm(old))), oauth('invalid_client'));
  });
});
