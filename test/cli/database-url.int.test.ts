import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const BIN = new URL('../../../bin/fhirhose.js', import.meta.url).pathname;
// Port 1 refuses connections at once, so these runs end without a database.
const URL_WITH_PASSWORD = 'postgres://fhir:s3cret@127.0.0.1:1/fhir';

function fhirhose(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, FHIRHOSE_DB: '', FHIRHOSE_EXPORT_DIR: '', FHIRHOSE_AUTH: 'off' },
    timeout: 30_000,
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('fhirhose commands on a PostgreSQL URL', () => {
  test('serve and worker refuse a PostgreSQL URL without --export-dir, with a usage error', () => {
    for (const command of ['serve', 'worker']) {
      const r = fhirhose([command, '--db', URL_WITH_PASSWORD]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(
        r.stderr,
        /FHIRHOSE_EXPORT_DIR \(--export-dir\) or FHIRHOSE_STORAGE \(--storage\) is required/,
      );
      assert.ok(!`${r.stderr}${r.stdout}`.includes('s3cret'), r.stderr);
    }
  });

  test('an unreachable database is a clear error that never shows the password', () => {
    for (const args of [
      ['serve', '--export-dir', 'unused', '--port', '0'],
      ['worker', '--export-dir', 'unused'],
      ['clients', 'list'],
      ['load', 'nothing-here'],
    ]) {
      const r = fhirhose([...args, '--db', URL_WITH_PASSWORD]);
      assert.notEqual(r.status, 0, args.join(' '));
      assert.ok(!`${r.stderr}${r.stdout}`.includes('s3cret'), r.stderr);
    }
  });

  test('serve --demo keeps to SQLite', () => {
    const r = fhirhose(['serve', '--demo', '--db', URL_WITH_PASSWORD]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--demo serves a SQLite file/);
  });
});
