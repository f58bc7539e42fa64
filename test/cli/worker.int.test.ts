import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/index.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { freePort } from '../helpers/server.js';
import { tempDir } from '../helpers/temp.js';

const BIN = new URL('../../../bin/fhirhose.js', import.meta.url).pathname;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function run(args: string[], t: { after: (fn: () => void) => void }): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, FHIRHOSE_AUTH: 'off', FHIRHOSE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  t.after(() => void child.kill('SIGKILL'));
  return child;
}

async function get(url: string): Promise<Response | undefined> {
  try {
    return await fetch(url, { headers: { prefer: 'respond-async' } });
  } catch {
    return undefined;
  }
}

test('a server without worker threads hands its exports to a separate `fhirhose worker` process', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'shared.db');
  const store = openSqliteStore(db);
  await store.ingest([makePatient('p1'), makePatient('p2'), makeObservation('o1', 'p1')]);
  await store.close();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const shared = ['--db', db, '--export-dir', join(dir, 'exports')];
  run(['serve', ...shared, '--port', String(port), '--workers', '0'], t);
  let kick: Response | undefined;
  for (let i = 0; i < 100 && kick?.status !== 202; i++) {
    await sleep(100);
    kick = await get(`${base}/$export`);
  }
  assert.equal(kick?.status, 202);
  const status = kick.headers.get('content-location')!;
  await sleep(1500);
  assert.equal((await get(status))?.status, 202, 'nothing runs the job without a worker');

  run(['worker', ...shared, '--threads', '1'], t);
  let done: Response | undefined;
  for (let i = 0; i < 100; i++) {
    await sleep(600);
    done = await get(status);
    if (done?.status === 200) break;
  }
  assert.equal(done?.status, 200);
  const manifest = (await done.json()) as { output: { type: string; count: number }[] };
  assert.deepEqual(manifest.output.map((o) => [o.type, o.count]).sort(), [
    ['Observation', 1],
    ['Patient', 2],
  ]);
});
