// Loaded batches committed together on SQLite (`ingestPrepared` with `keepOpen`, `commitPrepared`):
// nothing of an open transaction is seen, kept after a failure, or kept after a crash.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadPaths, openSqliteStore } from '../../src/store/index.js';
import type { LoadReport } from '../../src/store/index.js';
import type { SqliteStore } from '../../src/store/index.js';
import { BatchBuilder } from '../../src/store/prepared-batch.js';
import type { PreparedBatch } from '../../src/store/prepared-batch.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { tempDir } from '../helpers/temp.js';
import { ndjson } from './loader-helpers.js';

const STORE_INDEX = new URL('../../src/store/index.js', import.meta.url).href;

function batchOf(ids: string[]): PreparedBatch {
  const builder = new BatchBuilder();
  for (const id of ids) builder.add({ ...makeObservation(id, `p-${id}`), id });
  return builder.build({ sortByKey: true });
}

/** Observations and compartment rows in the file, read by a connection of its own. */
function counts(path: string): { resources: number; compartment: number; integrity: string } {
  const db = new Database(path, { readonly: true });
  try {
    const one = (sql: string): unknown => Object.values(db.prepare(sql).get() as object)[0];
    return {
      resources: one("SELECT count(*) FROM resource WHERE type = 'Observation'") as number,
      compartment: one('SELECT count(*) FROM compartment') as number,
      integrity: one('PRAGMA integrity_check') as string,
    };
  } finally {
    db.close();
  }
}

function openTemp(t: { after: (fn: () => Promise<void> | void) => void }): {
  store: SqliteStore;
  path: string;
} {
  const path = join(tempDir(t), 'store.db');
  const store = openSqliteStore(path);
  t.after(() => store.close());
  return { store, path };
}

describe('SqliteStore batches held open by the loader', () => {
  test('batches left open are seen by another connection only once committed', async (t) => {
    const { store, path } = openTemp(t);
    await store.ingestPrepared(batchOf(['o1', 'o2']), { keepOpen: true });
    await store.ingestPrepared(batchOf(['o3']), { keepOpen: true });
    assert.equal(counts(path).resources, 0);
    await store.commitPrepared();
    assert.deepEqual(counts(path), { resources: 3, compartment: 3, integrity: 'ok' });
  });

  test('a batch without keepOpen commits the batches held before it', async (t) => {
    const { store, path } = openTemp(t);
    await store.ingestPrepared(batchOf(['o1']), { keepOpen: true });
    await store.ingestPrepared(batchOf(['o2']));
    assert.equal(counts(path).resources, 2);
  });

  test('a REST write commits the held batches first instead of joining them', async (t) => {
    const { store, path } = openTemp(t);
    await store.ingestPrepared(batchOf(['o1']), { keepOpen: true });
    await store.update(makePatient('p1'));
    assert.equal(counts(path).resources, 1);
  });

  test('a failed batch rolls back the batches held with it, and the store writes on', async (t) => {
    const { store, path } = openTemp(t);
    store.db.exec(
      "CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.resource WHEN NEW.id = 'bad' " +
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    );
    await store.ingestPrepared(batchOf(['o1', 'o2']), { keepOpen: true });
    await assert.rejects(store.ingestPrepared(batchOf(['o3', 'bad']), { keepOpen: true }), {
      code: 'FHIRHOSE_ERR_STORE',
    });
    await store.commitPrepared();
    assert.deepEqual(counts(path), { resources: 0, compartment: 0, integrity: 'ok' });
    await store.ingestPrepared(batchOf(['o4']));
    assert.equal(counts(path).resources, 1);
    assert.equal((await store.read('Observation', 'o1')).status, 'missing');
  });

  test('a load whose batch fails counts only what was committed before the held batches', async (t) => {
    const { store, path } = openTemp(t);
    // Row o25 is refused: its batch and the batches held with it roll back; what came before stays.
    store.db.exec(
      "CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.resource WHEN NEW.id = 'o25' " +
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    );
    const dir = tempDir(t);
    writeFileSync(
      join(dir, 'Observation.ndjson'),
      ndjson(Array.from({ length: 40 }, (_, i) => makeObservation(`o${String(i).padStart(2, '0')}`, 'p1'))),
    );
    // The report object itself, as the loader last left it (not a copy taken at a progress call).
    let last: LoadReport | undefined;
    await assert.rejects(
      loadPaths(store, [dir], {
        batchSize: 5,
        transactionBytes: 2_000,
        workers: 1,
        onProgress: (r) => (last = r),
      }),
      { code: 'FHIRHOSE_ERR_STORE' },
    );
    const loaded = counts(path).resources;
    assert.ok(loaded > 0 && loaded < 25, `some transactions committed before the failure: ${loaded}`);
    assert.equal(last?.created, loaded, 'the report counts the committed rows, no more');
  });

  test('close rolls back batches no one committed', async (t) => {
    const path = join(tempDir(t), 'store.db');
    const store = openSqliteStore(path);
    await store.ingestPrepared(batchOf(['o1']), { keepOpen: true });
    await store.close();
    assert.deepEqual(counts(path), { resources: 0, compartment: 0, integrity: 'ok' });
  });

  test('a loader killed in the middle of a transaction leaves exactly the transactions it committed', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'store.db');
    // Equal-length ids: every batch of 10 has the same bytes, so a transaction is 3 batches.
    const ids = Array.from({ length: 300 }, (_, i) => `o${1000 + i}`);
    writeFileSync(join(dir, 'Observation.ndjson'), ndjson(ids.map((id) => makeObservation(id, `p-${id}`))));
    const transactionBytes = Math.floor(2.5 * batchOf(ids.slice(0, 10)).json.byteLength);
    const script = join(dir, 'load.mjs');
    // Killed at its 10th batch: 9 committed in 3 transactions, the 10th written in an open one.
    writeFileSync(
      script,
      `import { writeSync } from 'node:fs';
       import { loadPaths, openStore } from ${JSON.stringify(STORE_INDEX)};
       const store = await openStore(${JSON.stringify(db)});
       let batches = 0;
       await loadPaths(store, [${JSON.stringify(join(dir, 'Observation.ndjson'))}], {
         batchSize: 10, workers: 1, transactionBytes: ${transactionBytes},
         onProgress: (report) => {
           if (++batches < 10) return;
           writeSync(1, String(report.created));
           process.kill(process.pid, 'SIGKILL');
         },
       });`,
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
    assert.equal(signal, 'SIGKILL', 'the loader was killed before it finished');
    assert.equal(Number(out), 90, 'committed when killed, as the loader counted');
    assert.deepEqual(counts(db), { resources: 90, compartment: 90, integrity: 'ok' });
  });
});
