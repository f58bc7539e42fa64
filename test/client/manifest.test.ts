import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileIdentity, parseManifest } from '../../src/client/index.js';

describe('parseManifest', () => {
  test('ignores unknown fields and extension, and defaults missing sections to empty', () => {
    const page = parseManifest(
      JSON.stringify({
        transactionTime: '2024-01-01T00:00:00Z',
        requiresAccessToken: false,
        output: [{ type: 'Patient', url: 'http://f/1.ndjson', count: 2, extension: { x: 1 } }],
        extension: { 'http://e': true },
        somethingNew: [1],
      }),
      'http://s/status',
    );
    assert.deepEqual(page, {
      transactionTime: '2024-01-01T00:00:00Z',
      requiresAccessToken: false,
      output: [{ type: 'Patient', url: 'http://f/1.ndjson', count: 2 }],
      deleted: [],
      error: [],
    });
  });

  test('resolves relative URLs, reads the v4 outcome array as error, and follows link next', () => {
    const page = parseManifest(
      JSON.stringify({
        output: [{ type: 'Patient', url: 'files/1.ndjson' }],
        outcome: [{ url: '/files/err.ndjson' }],
        link: [{ relation: 'next', url: 'page/2' }],
      }),
      'http://s/status/',
    );
    assert.equal(page.requiresAccessToken, true);
    assert.equal(page.output[0]?.url, 'http://s/status/files/1.ndjson');
    assert.equal(page.error[0]?.url, 'http://s/files/err.ndjson');
    assert.equal(page.next, 'http://s/status/page/2');
  });

  test('rejects a body without an output array', () => {
    assert.throws(() => parseManifest('{"status":"running"}', 'http://s'), {
      code: 'FHIRHOSE_ERR_CLIENT_EXPORT_FAILED',
    });
  });
});

describe('fileIdentity', () => {
  test('is the same for two signatures of one pre-signed URL and keeps other query parameters', () => {
    const a = 'http://s3:9000/b/j/1.ndjson?X-Amz-Date=20250101T000000Z&X-Amz-Signature=aa&part=2';
    const b = 'http://s3:9000/b/j/1.ndjson?X-Amz-Date=20250101T000100Z&X-Amz-Signature=bb&part=2';
    assert.equal(fileIdentity(a), fileIdentity(b));
    assert.equal(fileIdentity(a), 'http://s3:9000/b/j/1.ndjson?part=2');
    assert.notEqual(fileIdentity('http://f/x?file=1'), fileIdentity('http://f/x?file=2'));
  });
});
