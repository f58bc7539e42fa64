import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { S3Storage } from '../../src/storage/s3-storage.js';
import { startS3 } from '../helpers/s3.js';
import type { TestS3 } from '../helpers/s3.js';
import { suiteScope } from '../helpers/server.js';
import { slurp, storageContract } from './storage-contract.js';

describe('S3Storage against s3rver', () => {
  let s3: TestS3;
  const suite = suiteScope(after);
  before(async () => {
    s3 = await startS3(suite);
  });

  /** A storage under a fresh key prefix, so tests share the server but not their objects. */
  function open(t: { after: (fn: () => Promise<void>) => void }, partSizeBytes?: number): S3Storage {
    const storage = new S3Storage({
      ...s3.config(`t-${randomUUID()}/`),
      ...(partSizeBytes ? { partSizeBytes } : {}),
    });
    t.after(() => storage.close());
    return storage;
  }

  storageContract(async (t) => open(t));

  test('keys are <prefix><jobId>/<name> and describe() names the bucket, not a credential', async (t) => {
    const storage = open(t);
    const prefix = storage.describe().replace(`s3://${s3.bucket}/`, '');
    const writer = await storage.createWriter('job1', '1.Patient.1.ndjson');
    await writer.write('{}\n');
    await writer.commit();
    assert.deepEqual(await s3.keys(prefix), [`${prefix}job1/1.Patient.1.ndjson`]);
    assert.doesNotMatch(storage.describe(), /S3RVER/);
  });

  test('a multipart upload becomes visible only on commit, and is read back whole', async (t) => {
    const storage = open(t, 5 * 1024 * 1024);
    const prefix = storage.describe().replace(`s3://${s3.bucket}/`, '');
    const writer = await storage.createWriter('job1', 'big.ndjson');
    const line = Buffer.alloc(1024, 'y');
    line[1023] = 10;
    // 11 MiB: two full parts are uploaded while writing, the rest at commit.
    for (let i = 0; i < 11 * 1024; i++) await writer.write(line);
    assert.deepEqual(await s3.keys(prefix), [], 'nothing listed before commit');
    await writer.commit();
    const completes = s3.requests.filter(
      (r) => r.method === 'POST' && r.path.endsWith('/big.ndjson') && r.query.startsWith('?uploadId='),
    );
    assert.equal(completes.length, 1, 'one CompleteMultipartUpload');
    assert.equal((await storage.stat('job1', 'big.ndjson'))?.bytes, 11 * 1024 * 1024);
    const tail = await slurp(
      storage.read('job1', 'big.ndjson', { start: 11 * 1024 * 1024 - 2, end: 11 * 1024 * 1024 - 1 }),
    );
    assert.equal(tail.toString(), 'y\n');
  });

  test('aborting a multipart upload deletes its parts and lists nothing', async (t) => {
    const storage = open(t, 5 * 1024 * 1024);
    const prefix = storage.describe().replace(`s3://${s3.bucket}/`, '');
    const writer = await storage.createWriter('job1', 'dropped.ndjson');
    const chunk = Buffer.alloc(1024 * 1024, 'z');
    for (let i = 0; i < 7; i++) await writer.write(chunk);
    await writer.abort();
    const aborted = s3.requests.filter((r) => r.method === 'DELETE' && r.path.endsWith('/dropped.ndjson'));
    assert.equal(aborted.length, 1, 'AbortMultipartUpload sent');
    assert.deepEqual(await s3.keys(prefix), []);
    await assert.rejects(writer.write('more'), { code: 'FHIRHOSE_ERR_STORAGE' });
  });

  test('removeJob deletes more objects than one list page holds', async (t) => {
    const storage = open(t);
    const prefix = storage.describe().replace(`s3://${s3.bucket}/`, '');
    for (let i = 0; i < 25; i++) {
      const w = await storage.createWriter('job1', `${i}.Patient.1.ndjson`);
      await w.write('{}\n');
      await w.commit();
    }
    assert.equal((await s3.keys(prefix)).length, 25);
    await storage.removeJob('job1');
    assert.deepEqual(await s3.keys(prefix), []);
  });

  test('a pre-signed URL fetches the file with no Authorization header', async (t) => {
    const storage = open(t);
    const w = await storage.createWriter('job1', 'a.ndjson');
    await w.write('{"id":"a"}\n');
    await w.commit();
    const url = await storage.signedUrl('job1', 'a.ndjson', { expiresInSeconds: 60 });
    assert.match(url, /X-Amz-Expires=60/);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/fhir+ndjson');
    assert.equal(await res.text(), '{"id":"a"}\n');
    const seen = s3.requests.filter((r) => r.presigned);
    assert.ok(seen.length > 0);
    assert.ok(seen.every((r) => r.authorization === undefined));
  });
});
