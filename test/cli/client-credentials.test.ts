import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientCredentials, DEFAULT_CLIENT_SCOPE, readKeyFile } from '../../src/cli/client-credentials.js';
import { ConfigError } from '../../src/cli/config-error.js';
import { tempDir } from '../helpers/temp.js';

describe('client credentials of export and sync', () => {
  test('with nothing given: no credentials, and the scope `clients add` grants by default', () => {
    assert.deepEqual(clientCredentials({}, {}), { scope: DEFAULT_CLIENT_SCOPE });
    assert.equal(DEFAULT_CLIENT_SCOPE, 'system/*.rs');
  });

  test('a flag wins over the environment, which wins over the config file', (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'creds.json');
    writeFileSync(
      file,
      JSON.stringify({
        clientId: 'file-id',
        key: 'keys/k.jwk',
        scope: 'system/Patient.rs',
        tokenUrl: 'https://f/t',
      }),
    );
    assert.deepEqual(clientCredentials({ config: file }, {}), {
      clientId: 'file-id',
      keyPath: join(dir, 'keys', 'k.jwk'),
      tokenUrl: 'https://f/t',
      scope: 'system/Patient.rs',
    });
    const env = {
      FHIRHOSE_CLIENT_ID: 'env-id',
      FHIRHOSE_CLIENT_KEY: '/e.jwk',
      FHIRHOSE_SCOPE: 'system/Observation.rs',
    };
    assert.deepEqual(clientCredentials({ config: file }, env), {
      clientId: 'env-id',
      keyPath: '/e.jwk',
      tokenUrl: 'https://f/t',
      scope: 'system/Observation.rs',
    });
    assert.deepEqual(
      clientCredentials({ config: file, clientId: 'flag-id', key: '/f.jwk', scope: 's' }, env),
      {
        clientId: 'flag-id',
        keyPath: '/f.jwk',
        tokenUrl: 'https://f/t',
        scope: 's',
      },
    );
  });

  test('an id without a key (or the reverse) and bad config files are usage errors that say what to add', (t) => {
    const dir = tempDir(t);
    const isConfig = (re: RegExp) => (err: unknown) => err instanceof ConfigError && re.test(err.message);
    assert.throws(
      () => clientCredentials({ clientId: 'a' }, {}),
      isConfig(/add --key FILE \(or FHIRHOSE_CLIENT_KEY\)/),
    );
    assert.throws(() => clientCredentials({}, { FHIRHOSE_CLIENT_KEY: '/k' }), isConfig(/add --client-id/));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ not json');
    assert.throws(() => clientCredentials({ config: bad }, {}), isConfig(/--config .*bad\.json/));
    writeFileSync(bad, JSON.stringify({ clientID: 'typo' }));
    assert.throws(() => clientCredentials({ config: bad }, {}), isConfig(/unknown field 'clientID'/));
    writeFileSync(bad, JSON.stringify({ scope: 3 }));
    assert.throws(() => clientCredentials({ config: bad }, {}), isConfig(/'scope' must be a string/));
    assert.throws(() => clientCredentials({ config: join(dir, 'none.json') }, {}), isConfig(/none\.json/));
    assert.throws(
      () => readKeyFile(join(dir, 'missing.jwk')),
      isConfig(/private key .*missing\.jwk.*keys generate/),
    );
  });
});
