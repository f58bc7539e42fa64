import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { loadServeConfig } from '../../src/cli/config.js';
import { tempDir } from '../helpers/temp.js';

describe('loadServeConfig: authorization and TLS', () => {
  test('turns authorization on by default with 300-second tokens', () => {
    const config = loadServeConfig({}, {});
    assert.equal(config.auth.enabled, true);
    assert.equal(config.auth.tokenLifetimeSeconds, 300);
    assert.equal(config.auth.external, undefined);
    assert.equal(config.tls, undefined);
    assert.match(config.baseUrl, /^http:\/\//);
  });

  test('turns it off with --no-auth or FHIRHOSE_AUTH=off', () => {
    assert.equal(loadServeConfig({}, { auth: false }).auth.enabled, false);
    assert.equal(loadServeConfig({ FHIRHOSE_AUTH: 'off' }, {}).auth.enabled, false);
    assert.equal(loadServeConfig({ FHIRHOSE_AUTH: 'off' }, { auth: true }).auth.enabled, true);
  });

  test('names the variable of an invalid value', () => {
    assert.throws(() => loadServeConfig({ FHIRHOSE_AUTH: 'maybe' }, {}), /FHIRHOSE_AUTH/);
    assert.throws(
      () => loadServeConfig({ FHIRHOSE_TOKEN_LIFETIME_SECONDS: '0' }, {}),
      /FHIRHOSE_TOKEN_LIFETIME_SECONDS/,
    );
  });

  test('reads a configurable token lifetime', () => {
    assert.equal(
      loadServeConfig({ FHIRHOSE_TOKEN_LIFETIME_SECONDS: '900' }, {}).auth.tokenLifetimeSeconds,
      900,
    );
  });

  test('needs both TLS files, and then defaults to an https base URL', (t) => {
    const dir = tempDir(t);
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    writeFileSync(cert, '');
    writeFileSync(key, '');
    assert.throws(() => loadServeConfig({}, { tlsCert: cert }), /FHIRHOSE_TLS_KEY/);
    assert.throws(() => loadServeConfig({}, { tlsCert: cert, tlsKey: join(dir, 'none.pem') }), /no file/);
    const config = loadServeConfig({}, { tlsCert: cert, tlsKey: key, port: 8443 });
    assert.deepEqual(config.tls, { certPath: cert, keyPath: key });
    assert.equal(config.baseUrl, 'https://127.0.0.1:8443');
  });

  test('an external issuer needs its JWKS and token URLs', () => {
    assert.throws(() => loadServeConfig({ FHIRHOSE_AUTH_ISSUER: 'https://idp.example' }, {}), /JWKS_URL/);
    const config = loadServeConfig(
      {
        FHIRHOSE_AUTH_ISSUER: 'https://idp.example',
        FHIRHOSE_AUTH_ISSUER_JWKS_URL: 'https://idp.example/jwks',
        FHIRHOSE_AUTH_ISSUER_TOKEN_URL: 'https://idp.example/token',
      },
      {},
    );
    assert.deepEqual(config.auth.external, {
      issuer: 'https://idp.example',
      jwksUrl: 'https://idp.example/jwks',
      tokenUrl: 'https://idp.example/token',
    });
  });
});
