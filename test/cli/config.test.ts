import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadServeConfig } from '../../src/cli/config.js';
import { DEFAULT_KICKOFF_LIMITS, KICKOFF_LIMIT_SETTINGS } from '../../src/export/index.js';
import type { KickoffLimits } from '../../src/export/index.js';

const PG = 'postgres://fhir:s3cret@db.example.test:5432/fhir';

describe('loadServeConfig: database and workers', () => {
  test('puts exports beside a SQLite file when no folder is given', () => {
    const config = loadServeConfig({}, { db: 'data/x.db' });
    assert.equal(config.db, 'data/x.db');
    assert.equal(config.exportDir, 'data/x.db.exports');
  });

  test('fills in PGUSER as the user of a PostgreSQL URL that names none, as libpq does', () => {
    const env = { PGUSER: 'reporter', FHIRHOSE_EXPORT_DIR: '/x' };
    assert.equal(
      loadServeConfig(env, { db: 'postgres://db.example.test/fhir' }).db,
      'postgres://reporter@db.example.test/fhir',
    );
    assert.equal(loadServeConfig(env, { db: PG }).db, PG);
    assert.equal(loadServeConfig(env, { db: 'data/x.db' }).db, 'data/x.db');
  });

  test('treats an empty FHIRHOSE_DB as unset', () => {
    assert.equal(loadServeConfig({ FHIRHOSE_DB: '' }, {}).db, 'fhirhose.db');
  });

  test('requires an export folder with a PostgreSQL URL, naming the setting but not the password', () => {
    assert.throws(
      () => loadServeConfig({}, { db: PG }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /FHIRHOSE_EXPORT_DIR \(--export-dir\) or FHIRHOSE_STORAGE \(--storage\) is required/.test(
          err.message,
        ) &&
        !err.message.includes('s3cret'),
    );
    assert.equal(loadServeConfig({ FHIRHOSE_DB: PG, FHIRHOSE_EXPORT_DIR: '/x' }, {}).exportDir, '/x');
    assert.equal(loadServeConfig({}, { db: PG, exportDir: '/y' }).db, PG);
    // With S3 storage no folder is used, so none is asked for.
    assert.equal(loadServeConfig({}, { db: PG, storage: 's3://exports/fhir' }).files.storage.kind, 's3');
  });

  test('rejects a PostgreSQL URL that does not parse without echoing it', () => {
    assert.throws(
      () => loadServeConfig({}, { db: 'postgres://u:s3cret@[bad/x', exportDir: '/x' }),
      (err: unknown) => err instanceof ConfigError && !err.message.includes('s3cret'),
    );
  });

  test('--no-workers runs no export threads, whatever FHIRHOSE_EXPORT_WORKERS says', () => {
    assert.equal(loadServeConfig({ FHIRHOSE_EXPORT_WORKERS: '3' }, { workers: false }).export.workers, 0);
    assert.equal(loadServeConfig({ FHIRHOSE_EXPORT_WORKERS: '3' }, {}).export.workers, 3);
  });
});

describe('loadServeConfig: kick-off limits', () => {
  test('defaults to DEFAULT_KICKOFF_LIMITS', () => {
    assert.deepEqual(loadServeConfig({}, {}).kickoffLimits, DEFAULT_KICKOFF_LIMITS);
  });

  test('reads every limit from the variable KICKOFF_LIMIT_SETTINGS names', () => {
    const env = Object.fromEntries(
      Object.values(KICKOFF_LIMIT_SETTINGS).map((name, i) => [name, String(2000 + i)]),
    );
    const limits = loadServeConfig(env, {}).kickoffLimits;
    for (const [i, key] of (Object.keys(KICKOFF_LIMIT_SETTINGS) as (keyof KickoffLimits)[]).entries()) {
      assert.equal(limits[key], 2000 + i, key);
    }
    assert.ok(Object.isFrozen(limits));
  });

  test('treats an empty variable as unset', () => {
    assert.equal(loadServeConfig({ FHIRHOSE_MAX_TYPES: '' }, {}).kickoffLimits.maxTypes, 200);
  });

  test('rejects a value that is not an integer in range, naming the variable', () => {
    for (const [name, raw] of [
      ['FHIRHOSE_MAX_TYPE_FILTERS', '0'],
      ['FHIRHOSE_MAX_FILTER_OR_VALUES', 'many'],
      ['FHIRHOSE_MAX_FILTER_CHARS', '1.5'],
      ['FHIRHOSE_MAX_TYPES', '-1'],
      ['FHIRHOSE_MAX_PATIENTS', '99999999999'],
      ['FHIRHOSE_MAX_KICKOFF_BODY_BYTES', '100'],
    ]) {
      assert.throws(() => loadServeConfig({ [name!]: raw! }, {}), {
        name: 'ConfigError',
        message: new RegExp(
          `^${name} must be an integer from \\d+ to \\d+, got '${raw!.replace('.', '\\.')}'$`,
        ),
      });
    }
  });
});

describe('loadServeConfig: dashboard', () => {
  test('reads FHIRHOSE_DASHBOARD_PASSWORD, and treats an empty one as unset', () => {
    assert.equal(
      loadServeConfig({ FHIRHOSE_DASHBOARD_PASSWORD: 'twelve chars' }, {}).dashboardPassword,
      'twelve chars',
    );
    assert.equal(loadServeConfig({ FHIRHOSE_DASHBOARD_PASSWORD: '' }, {}).dashboardPassword, undefined);
    assert.equal(loadServeConfig({}, {}).dashboardPassword, undefined);
  });

  test('refuses a dashboard password shorter than 12 characters, without printing it', () => {
    assert.throws(
      () => loadServeConfig({ FHIRHOSE_DASHBOARD_PASSWORD: 'hunter2' }, {}),
      (err: unknown) =>
        err instanceof ConfigError &&
        /FHIRHOSE_DASHBOARD_PASSWORD must be at least 12 characters/.test(err.message) &&
        !err.message.includes('hunter2'),
    );
  });
});
