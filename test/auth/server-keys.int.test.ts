import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { LocalAccessTokens, ServerKeys } from '../../src/auth/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { tempDir } from '../helpers/temp.js';

const ISSUER = 'https://fhir.example.test';

function setup(t: { after: (fn: () => void) => void }) {
  const store = openSqliteStore(join(tempDir(t), 'auth.db'));
  t.after(() => void store.close());
  const clock = { now: Date.UTC(2026, 0, 1) };
  const make = () => {
    const keys = new ServerKeys(store.auth, { now: () => clock.now, maxTokenLifetimeMs: 360_000 });
    const tokens = new LocalAccessTokens({
      keys,
      issuer: ISSUER,
      lifetimeSeconds: 300,
      now: () => clock.now,
      isClientActive: async () => true,
    });
    return { keys, tokens };
  };
  return { store, clock, make };
}

describe('server signing keys', () => {
  test('creates a key on first use and keeps it in the store across restarts', async (t) => {
    const { store, make } = setup(t);
    const first = make();
    const { accessToken } = await first.tokens.issue('client-1', 'system/*.rs');
    assert.equal((await store.auth.listSigningKeys()).length, 1);
    const restarted = make();
    const grant = await restarted.tokens.verify(accessToken);
    assert.equal(grant.clientId, 'client-1');
    assert.equal(grant.scopes.toString(), 'system/*.rs');
  });

  test('after rotation, new tokens use the new key and old tokens live until they expire', async (t) => {
    const { clock, make } = setup(t);
    const { keys, tokens } = make();
    const old = (await tokens.issue('client-1', 'system/*.rs')).accessToken;
    const oldKid = (await keys.signingKey()).kid;
    const newKid = await keys.rotate();
    assert.notEqual(newKid, oldKid);
    assert.equal((await keys.signingKey()).kid, newKid);
    assert.equal((await tokens.verify(old)).clientId, 'client-1');
    clock.now += 299_000;
    assert.equal((await tokens.verify(old)).clientId, 'client-1');
    clock.now += 2_000;
    await assert.rejects(tokens.verify(old), { code: 'FHIRHOSE_ERR_AUTHENTICATION', issueCode: 'expired' });
  });

  test('a retired key stops verifying once no token it signed can be valid', async (t) => {
    const { clock, make } = setup(t);
    const { keys } = make();
    const { kid } = await keys.signingKey();
    await keys.rotate();
    assert.ok(await keys.verificationKey(kid));
    clock.now += 360_000 + 60_000 + 1;
    assert.equal(await keys.verificationKey(kid), undefined);
  });

  test('refuses a token signed by another server', async (t) => {
    const a = setup(t).make();
    const b = setup(t).make();
    const { accessToken } = await a.tokens.issue('client-1', 'system/*.rs');
    await assert.rejects(b.tokens.verify(accessToken), { code: 'FHIRHOSE_ERR_AUTHENTICATION' });
  });
});

describe('jti replay cache', () => {
  test('remembers a jti until it expires, per client', async (t) => {
    const { store } = setup(t);
    assert.equal(await store.auth.useJti('c1', 'j', 2_000, 1_000), true);
    assert.equal(await store.auth.useJti('c1', 'j', 2_000, 1_500), false);
    assert.equal(await store.auth.useJti('c2', 'j', 2_000, 1_500), true);
    assert.equal(await store.auth.useJti('c1', 'j', 4_000, 2_001), true, 'purged after expiry');
  });
});
