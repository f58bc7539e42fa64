import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadServeConfig } from '../../src/cli/config.js';
import { WorkerPool } from '../../src/export/worker-pool.js';
import { backends } from '../helpers/stores.js';
import { tempDir } from '../helpers/temp.js';

// A thread that never posts ready would hang ready(); the timeouts make that a failure.
const log = pino({ level: 'silent' });

/** A pool of `workers` threads on `db`, stopped when the test ends. */
function pool(
  t: Parameters<typeof tempDir>[0] & { after: (fn: () => Promise<void>) => void },
  db: string,
  workers: number,
): WorkerPool {
  const dir = tempDir(t);
  const config = loadServeConfig({}, { db, port: 0, exportDir: join(dir, 'exports') });
  const p = new WorkerPool({ db, storage: config.files.storage, config: { ...config.export, workers }, log });
  t.after(() => p.stop());
  return p;
}

for (const backend of backends()) {
  test(
    `${backend.name}: ready() resolves once every thread has opened its store`,
    { skip: backend.skip, timeout: 60_000 },
    async (t) => {
      const database = await backend.create();
      t.after(() => database.drop());
      // The threads open an existing store, as the server's do after its own connection migrated it.
      await (await backend.open(database.db)).close();
      const p = pool(t, database.db, 2);
      p.start();
      assert.equal(p.readyThreads, 0);
      await p.ready();
      assert.equal(p.readyThreads, 2);
      assert.equal(p.threads, 2);
    },
  );
}

test('a thread that cannot open its database does not hold up ready()', { timeout: 60_000 }, async (t) => {
  // A SQLite path under a missing folder: the thread's openStore throws and the thread exits.
  const db = join(tempDir(t), 'missing', 'store.db');
  const p = pool(t, db, 1);
  p.start();
  await p.ready();
  assert.equal(p.readyThreads, 0);
});
