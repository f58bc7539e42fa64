import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/index.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { startS3 } from '../helpers/s3.js';
import { freePort } from '../helpers/server.js';
import { tempDir } from '../helpers/temp.js';

const BIN = new URL('../../../bin/fhirhose.js', import.meta.url).pathname;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function get(url: string): Promise<Response | undefined> {
  try {
    return await fetch(url, { headers: { prefer: 'respond-async' } });
  } catch {
    return undefined;
  }
}

test('a `fhirhose worker` process writes into the S3 storage its server lists by pre-signed URL', async (t) => {
  const s3 = await startS3(t);
  const dir = tempDir(t);
  const db = join(dir, 'shared.db');
  const store = openSqliteStore(db);
  await store.ingest([makePatient('p1'), makePatient('p2'), makeObservation('o1', 'p1')]);
  await store.close();
  const run = (args: string[]): void => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...s3.env, FHIRHOSE_AUTH: 'off', FHIRHOSE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    t.after(() => void child.kill('SIGKILL'));
  };
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const storage = `s3://${s3.bucket}/shared`;
  run([
    'serve',
    '--db',
    db,
    '--port',
    String(port),
    '--workers',
    '0',
    '--storage',
    storage,
    '--download-mode',
    'presigned',
  ]);
  run(['worker', '--db', db, '--storage', storage, '--threads', '1']);

  let kick: Response | undefined;
  for (let i = 0; i < 100 && kick?.status !== 202; i++) {
    await sleep(100);
    kick = await get(`${base}/$export`);
  }
  assert.equal(kick?.status, 202);
  const status = kick.headers.get('content-location')!;
  let done: Response | undefined;
  for (let i = 0; i < 100 && done?.status !== 200; i++) {
    await sleep(300);
    done = await get(status);
  }
  assert.equal(done?.status, 200);
  const manifest = (await done.json()) as { output: { type: string; url: string; count: number }[] };
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
