import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isPostgresUrl, redactDb } from '../../src/store/index.js';

describe('redactDb', () => {
  test('hides the password of a PostgreSQL URL, in the user part and as a parameter', () => {
    assert.equal(redactDb('postgres://fhir:s3cret@db:5432/x'), 'postgres://fhir:***@db:5432/x');
    const shown = redactDb('postgresql://db/x?user=fhir&password=s3cret&sslmode=require');
    assert.ok(!shown.includes('s3cret'), shown);
    assert.match(shown, /sslmode=require/);
  });

  test('leaves a URL without a password and a SQLite path as they are', () => {
    assert.equal(redactDb('postgres://127.0.0.1:5432/test'), 'postgres://127.0.0.1:5432/test');
    assert.equal(redactDb('data/fhirhose.db'), 'data/fhirhose.db');
  });

  test('shows only the scheme of a URL that does not parse', () => {
    assert.equal(redactDb('postgres://u:s3cret@[bad/x'), 'postgres://(invalid URL)');
    assert.ok(isPostgresUrl('POSTGRESQL://h/x'));
  });
});
