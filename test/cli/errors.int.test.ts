import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serverUrl } from '../../src/cli/server-url.js';
import { ConfigError } from '../../src/cli/config-error.js';
import { tempDir } from '../helpers/temp.js';

const BIN = new URL('../../../bin/fhirhose.js', import.meta.url).pathname;

function cli(args: string[], cwd?: string): { code: number | null; stderr: string } {
  const res = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', ...(cwd ? { cwd } : {}) });
  return { code: res.status, stderr: res.stderr };
}

describe('messages that name the problem and the fix', () => {
  test('a base URL without a scheme is a usage error that suggests the URL meant', () => {
    assert.equal(serverUrl('https://fhir.example/r4'), 'https://fhir.example/r4');
    assert.equal(serverUrl('http://127.0.0.1:8080'), 'http://127.0.0.1:8080');
    assert.throws(
      () => serverUrl('fhir.example/r4'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /did you mean https:\/\/fhir\.example\/r4\?/);
        return true;
      },
    );
    assert.throws(() => serverUrl('ftp://fhir.example'), /absolute http:\/\/ or https:\/\/ URL$/);
  });

  test('fhirhose export with a bare host exits 2 with that message', (t) => {
    const dir = tempDir(t);
    const res = cli(['export', 'fhir.example', '--out', join(dir, 'out')]);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /'fhir\.example' is not a FHIR base URL.*https:\/\/fhir\.example/);
    assert.doesNotMatch(res.stderr, /Invalid URL/);
  });

  test('fhirhose load of a missing file exits 2, names it, and creates no database', (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'l.db');
    const res = cli(['load', join(dir, 'nope.ndjson'), '--db', db]);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /nope\.ndjson: no such file or folder; give NDJSON/);
    assert.doesNotMatch(res.stderr, /ENOENT/);
    assert.equal(existsSync(db), false);
  });

  test('a --db file that is not a database is named, with the fix', (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'these are not the tables you are looking for\n'.repeat(200));
    const res = cli(['load', dir, '--db', file]);
    assert.equal(res.code, 1, res.stderr);
    assert.match(
      res.stderr,
      /notes\.txt is not a fhirhose database \(SQLite: file is not a database\); give --db/,
    );
  });
});
