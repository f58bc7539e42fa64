import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadServeConfig } from '../../src/cli/config.js';
import { describeStorage } from '../../src/cli/storage-config.js';

const S3_ENV = {
  FHIRHOSE_S3_ENDPOINT: 'http://127.0.0.1:9000',
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'test-id',
  AWS_SECRET_ACCESS_KEY: 'test-secret',
};

describe('loadServeConfig: export file storage', () => {
  test('keeps files in the local export folder, downloaded through the server, by default', () => {
    const config = loadServeConfig({}, { db: 'x.db' });
    assert.deepEqual(config.files, {
      storage: { kind: 'local', root: 'x.db.exports' },
      downloads: 'server',
      presignedUrlSeconds: 300,
    });
  });

  test('reads s3://bucket/prefix with endpoint, region and credentials from the environment', () => {
    const config = loadServeConfig(
      { ...S3_ENV, FHIRHOSE_DOWNLOAD_MODE: 'presigned', FHIRHOSE_PRESIGNED_URL_SECONDS: '120' },
      { storage: 's3://exports-bucket//team/a/' },
    );
    assert.deepEqual(config.files, {
      storage: {
        kind: 's3',
        bucket: 'exports-bucket',
        prefix: 'team/a/',
        region: 'eu-west-1',
        endpoint: 'http://127.0.0.1:9000',
        forcePathStyle: true,
        credentials: { accessKeyId: 'test-id', secretAccessKey: 'test-secret' },
      },
      downloads: 'presigned',
      presignedUrlSeconds: 120,
    });
    assert.equal(describeStorage(config.files.storage), 's3://exports-bucket/team/a/');
  });

  test('uses virtual-host addressing and the SDK credential chain for AWS itself', () => {
    const { storage } = loadServeConfig({ FHIRHOSE_STORAGE: 's3://my-bucket' }, {}).files;
    assert.deepEqual(storage, {
      kind: 's3',
      bucket: 'my-bucket',
      prefix: '',
      region: 'us-east-1',
      forcePathStyle: false,
    });
  });

  test('names the setting of an invalid value', () => {
    const fails = (env: Record<string, string>, flags: Record<string, string>, re: RegExp): void => {
      assert.throws(() => loadServeConfig(env, flags), { name: 'ConfigError', message: re });
    };
    fails({}, { storage: '/var/exports' }, /FHIRHOSE_STORAGE/);
    fails({}, { storage: 's3://Bad_Bucket/x' }, /bucket name/);
    fails({}, { storage: 's3://bucket/a/../b' }, /unsafe key prefix/);
    fails({}, { downloadMode: 'presigned' }, /needs S3 storage/);
    fails({ FHIRHOSE_DOWNLOAD_MODE: 'direct' }, {}, /FHIRHOSE_DOWNLOAD_MODE/);
    fails({ FHIRHOSE_PRESIGNED_URL_SECONDS: '0' }, {}, /FHIRHOSE_PRESIGNED_URL_SECONDS/);
    fails({ AWS_ACCESS_KEY_ID: 'x' }, { storage: 's3://bucket' }, /AWS_SECRET_ACCESS_KEY/);
    fails({ FHIRHOSE_S3_ENDPOINT: 'localhost:9000' }, { storage: 's3://bucket' }, /FHIRHOSE_S3_ENDPOINT/);
    fails({ FHIRHOSE_S3_PATH_STYLE: 'sometimes' }, { storage: 's3://bucket' }, /FHIRHOSE_S3_PATH_STYLE/);
  });
});
