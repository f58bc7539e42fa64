import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fhirhoseForTest, finish, kickoffSystem, waitUp } from '../helpers/processes.js';
import { startS3 } from '../helpers/s3.js';
import { freePort } from '../helpers/server.js';
import { smallSqliteDb } from '../helpers/stores.js';
import { tempDir } from '../helpers/temp.js';

test('a `fhirhose worker` process writes into the S3 storage its server lists by pre-signed URL', async (t) => {
  const s3 = await startS3(t);
  const dir = tempDir(t);
  const db = await smallSqliteDb(dir);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const storage = `s3://${s3.bucket}/shared`;
  const serve = ['serve', '--db', db, '--port', String(port), '--workers', '0', '--storage', storage];
  fhirhoseForTest(t, [...serve, '--download-mode', 'presigned'], s3.env);
  fhirhoseForTest(t, ['worker', '--db', db, '--storage', storage, '--threads', '1'], s3.env);
  await waitUp(base);
  const status = await kickoffSystem(base);
  const manifest = await finish(status);
  assert.deepEqual(manifest.output.map((o) => [o.type, o.count]).sort(), [
    ['Observation', 1],
    ['Patient', 2],
  ]);
  const jobId = status.slice(status.lastIndexOf('/') + 1);
  assert.equal((await s3.keys(`shared/${jobId}/`)).length, 2);
  for (const o of manifest.output) {
    assert.ok(o.url.startsWith(`${s3.endpoint}/${s3.bucket}/shared/${jobId}/`));
    const text = await (await fetch(o.url)).text();
    assert.equal(text.split('\n').filter((l) => l !== '').length, o.count);
  }
});
