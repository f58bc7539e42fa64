import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { openSqliteStore } from '../../src/store/index.js';
import { tempDir } from '../helpers/temp.js';

/** Run the CLI and return what it printed with console.log. */
async function run(t: TestContext, argv: string[]) {
  const lines: string[] = [];
  const log = t.mock.method(console, 'log', (...args: unknown[]) => void lines.push(args.join(' ')));
  const err = t.mock.method(console, 'error', () => undefined);
  try {
    const code = await main(['node', 'fhirhose', ...argv]);
    return { code, lines };
  } finally {
    log.mock.restore();
    err.mock.restore();
  }
}

describe('fhirhose keys and clients', () => {
  test('keys generate writes a private JWK (0600) and a public JWKS without private members', async (t) => {
    const dir = join(tempDir(t), 'keys');
    const { code } = await run(t, ['keys', 'generate', '--alg', 'RS384', '--out', dir]);
    assert.equal(code, 0);
    const priv = JSON.parse(readFileSync(join(dir, 'private.jwk.json'), 'utf8')) as Record<string, unknown>;
    const jwks = JSON.parse(readFileSync(join(dir, 'jwks.json'), 'utf8')) as {
      keys: Record<string, unknown>[];
    };
    assert.equal(priv.alg, 'RS384');
    assert.equal(typeof priv.d, 'string');
    assert.equal(jwks.keys[0]?.kid, priv.kid);
    assert.equal(jwks.keys[0]?.d, undefined);
    assert.equal(statSync(join(dir, 'private.jwk.json')).mode & 0o777, 0o600);
    await assert.rejects(main(['node', 'fhirhose', 'keys', 'generate', '--out', dir]), /exists/);
  });

  test('clients add, list and remove manage the registry in the database', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'store.db');
    await run(t, ['keys', 'generate', '--out', join(dir, 'k')]);
    const added = await run(t, [
      'clients',
      'add',
      '--name',
      'Inferno',
      '--jwks-file',
      join(dir, 'k', 'jwks.json'),
      '--scope',
      'system/*.rs',
      '--db',
      db,
    ]);
    const id = added.lines[0] ?? '';
    assert.match(id, /^[0-9a-f-]{36}$/);
    const byUrl = await run(t, [
      'clients',
      'add',
      '--name',
      'By URL',
      '--jwks-url',
      'https://client.example/jwks.json',
      '--db',
      db,
    ]);
    const listed = await run(t, ['clients', 'list', '--db', db]);
    assert.equal(listed.lines.length, 2);
    assert.match(listed.lines[0] ?? '', /Inferno {2}\[system\/\*\.rs\] {2}inline JWKS \(1 key\)/);
    assert.match(listed.lines[1] ?? '', /https:\/\/client\.example\/jwks\.json/);
    await run(t, ['clients', 'remove', id, '--db', db]);
    const store = openSqliteStore(db);
    try {
      assert.deepEqual(
        (await store.auth.listClients()).map((c) => c.id),
        [byUrl.lines[0]],
      );
    } finally {
      await store.close();
    }
  });

  test('clients add --admin adds the operator scope to the given scopes', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'store.db');
    const added = await run(t, [
      'clients',
      'add',
      '--name',
      'ops',
      '--jwks-url',
      'https://ops.example/jwks.json',
      '--admin',
      '--db',
      db,
    ]);
    assert.equal(added.code, 0);
    const listed = await run(t, ['clients', 'list', '--db', db, '--json']);
    const client = JSON.parse(listed.lines[0] ?? '{}') as { scope: string };
    assert.equal(client.scope, 'system/*.rs system/fhirhose.admin');
  });

  test('clients add refuses a private JWKS and a bad scope', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'store.db');
    await run(t, ['keys', 'generate', '--out', join(dir, 'k')]);
    const args = ['clients', 'add', '--name', 'x', '--db', db];
    const leaked = join(dir, 'leaked.json');
    const priv = JSON.parse(readFileSync(join(dir, 'k', 'private.jwk.json'), 'utf8')) as unknown;
    writeFileSync(leaked, JSON.stringify({ keys: [priv] }));
    await assert.rejects(main(['node', 'fhirhose', ...args, '--jwks-file', leaked]), /private key material/);
    await assert.rejects(
      main([
        'node',
        'fhirhose',
        ...args,
        '--jwks-file',
        join(dir, 'k', 'jwks.json'),
        '--scope',
        'patient/*.read',
      ]),
      { code: 'FHIRHOSE_ERR_INVALID_REQUEST' },
    );
  });
});
