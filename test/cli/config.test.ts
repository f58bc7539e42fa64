import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadServeConfig } from '../../src/cli/config.js';

const PG = 'postgres://fhir:s3cret@db.example.test:5432/fhir';

describe('loadServeConfig: database and workers', () => {
  test('puts exports beside a SQLite file when no folder is given', () => {
    const config = loadServeConfig({}, { db: 'data/x.db' });
    assert.equal(config.db, 'data/x.db');
    assert.equal(config.exportDir, 'data/x.db.exports');
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
