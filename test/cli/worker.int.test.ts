import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fhirhoseForTest, finish, kickoffSystem, poll, sleep, waitUp } from '../helpers/processes.js';
import { freePort } from '../helpers/server.js';
import { smallSqliteDb } from '../helpers/stores.js';
import { tempDir } from '../helpers/temp.js';

test('a server without worker threads hands its exports to a separate `fhirhose worker` process', async (t) => {
  const dir = tempDir(t);
  const db = await smallSqliteDb(dir);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const shared = ['--db', db, '--export-dir', join(dir, 'exports')];
  fhirhoseForTest(t, ['serve', ...shared, '--port', String(port), '--workers', '0']);
  await waitUp(base);
  const status = await kickoffSystem(base);
  await sleep(1500);
  assert.equal((await poll(status)).status, 202, 'nothing runs the job without a worker');

  fhirhoseForTest(t, ['worker', ...shared, '--threads', '1']);
  const manifest = await finish(status);
  assert.deepEqual(manifest.output.map((o) => [o.type, o.count]).sort(), [
    ['Observation', 1],
    ['Patient', 2],
  ]);
});
