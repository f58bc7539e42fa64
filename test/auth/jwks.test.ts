import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseKey, parsePublicJwks } from '../../src/auth/index.js';
import type { Jwks } from '../../src/auth/index.js';

const ec = (kid: string, extra: Record<string, unknown> = {}) => ({
  kty: 'EC',
  crv: 'P-384',
  x: 'x',
  y: 'y',
  kid,
  ...extra,
});
const rsa = (kid: string, extra: Record<string, unknown> = {}) => ({
  kty: 'RSA',
  n: 'n',
  e: 'AQAB',
  kid,
  ...extra,
});

describe('chooseKey', () => {
  const set: Jwks = { keys: [ec('a'), rsa('a'), ec('b', { key_ops: ['verify'] }), ec('c', { use: 'enc' })] };

  test('chooses by kid and the key type the alg needs', () => {
    assert.deepEqual(chooseKey(set, 'ES384', 'a'), { key: ec('a') });
    assert.deepEqual(chooseKey(set, 'RS384', 'a'), { key: rsa('a') });
  });

  test('tolerates key_ops verify and refuses encryption keys', () => {
    assert.ok('key' in chooseKey(set, 'ES384', 'b'));
    assert.deepEqual(chooseKey(set, 'ES384', 'c'), { problem: 'unknown' });
  });

  test('reports an unknown kid and an ambiguous one', () => {
    assert.deepEqual(chooseKey(set, 'ES384', 'z'), { problem: 'unknown' });
    assert.deepEqual(chooseKey({ keys: [ec('d'), ec('d')] }, 'ES384', 'd'), { problem: 'ambiguous' });
  });

  test('refuses an EC key on the wrong curve and a key marked for another alg', () => {
    assert.deepEqual(chooseKey({ keys: [ec('e', { crv: 'P-256' })] }, 'ES384', 'e'), { problem: 'unknown' });
    assert.deepEqual(chooseKey({ keys: [rsa('f', { alg: 'RS256' })] }, 'RS384', 'f'), { problem: 'unknown' });
  });

  test('never chooses a key for none or HMAC', () => {
    assert.deepEqual(chooseKey(set, 'none', 'a'), { problem: 'unknown' });
    assert.deepEqual(chooseKey({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'a' }] }, 'HS256', 'a'), {
      problem: 'unknown',
    });
  });
});

describe('parsePublicJwks', () => {
  test('accepts public keys with kty and kid', () => {
    assert.equal(parsePublicJwks({ keys: [ec('a'), rsa('a')] }).keys.length, 2);
  });

  test('refuses private key material, missing kids and duplicates', () => {
    const code = { code: 'FHIRHOSE_ERR_INVALID_REQUEST' };
    assert.throws(() => parsePublicJwks({ keys: [ec('a', { d: 'secret' })] }), code);
    assert.throws(() => parsePublicJwks({ keys: [{ kty: 'EC' }] }), code);
    assert.throws(() => parsePublicJwks({ keys: [ec('a'), ec('a')] }), code);
    assert.throws(() => parsePublicJwks({ keys: [] }), code);
    assert.throws(() => parsePublicJwks([ec('a')]), code);
  });
});
