import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/index.js';
import { freePort } from '../helpers/server.js';
import {
  exportedKeys,
  finish,
  killHard,
  kickoffSystem,
  poll,
  populate,
  sleep,
  startFhirhose,
  waitUp,
} from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

// The issue asks for at least 1M resources; FHIRHOSE_CRASH_RESOURCES makes a quicker local run possible.
const RESOURCES = Number(process.env.FHIRHOSE_CRASH_RESOURCES ?? 1_000_000);

test(
  'a server killed with SIGKILL mid-export resumes and yields exactly the undisturbed output',
  { timeout: 15 * 60_000 },
  async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'crash.db');
    const store = openSqliteStore(db);
    const total = await populate(store, RESOURCES, 11);
    await store.close();
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const args = ['serve', '--db', db, '--port', String(port), '--export-dir', join(dir, 'exports')];
    let server = startFhirhose(args);
    t.after(() => void server.kill('SIGKILL'));
    await waitUp(baseUrl);

    const status = await kickoffSystem(baseUrl);
    let killedAt = '';
    for (let i = 0; i < 400 && !killedAt; i++) {
      await sleep(600);
      const r = await poll(status);
      assert.notEqual(r.status, 200, 'export finished before the crash could be injected');
      const percent = Number.parseInt(r.progress, 10);
      if (r.status === 202 && percent >= 10) killedAt = r.progress;
    }
    await killHard(server);
    assert.ok(killedAt, 'never saw the export in progress');

    server = startFhirhose(args);
    await waitUp(baseUrl);
    const resumed = await exportedKeys(await finish(status));
    const undisturbed = await exportedKeys(await finish(await kickoffSystem(baseUrl)));
    assert.equal(resumed.size, total, `killed at ${killedAt}`);
    assert.equal(undisturbed.size, total);
    for (const key of undisturbed) assert.ok(resumed.has(key), `${key} missing after the crash`);
    // Stopped here, not only by the after hook: the temp folder's hook runs first, and a live server
    // (whose export threads come and go) may create files in the folder while it is removed.
    await killHard(server);
  },
);
