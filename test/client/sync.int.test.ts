import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { syncMirror } from '../../src/cli/commands/sync.js';
import { openSqliteStore } from '../../src/store/index.js';
import type { ResourceStore } from '../../src/store/index.js';
import { makeGroup, makeObservation, makePatient } from '../helpers/builders.js';
import { startTestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/temp.js';
import { FAST_WAITS } from './helpers.js';

/** Every current resource as `Type/id` -> JSON without meta. */
async function contents(store: ResourceStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const type of await store.types()) {
    let cursor: string | undefined;
    do {
      const page = await store.search({ type, count: 500, ...(cursor ? { cursor } : {}) });
      for (const r of page.resources) {
        const { meta: _meta, ...rest } = JSON.parse(r.json) as Record<string, unknown>;
        out.set(`${type}/${r.id}`, JSON.stringify(rest));
      }
      cursor = page.next;
    } while (cursor);
  }
  return out;
}

async function mirrorContents(dbPath: string): Promise<Map<string, string>> {
  const store = openSqliteStore(dbPath);
  try {
    return await contents(store);
  } finally {
    await store.close();
  }
}

describe('fhirhose sync', () => {
  test('a second sync applies creates, updates and deletes so the mirror equals the source', async (t) => {
    const srv = await startTestServer(t);
    const source = srv.runtime.store;
    await source.ingest([
      ...['p1', 'p2', 'p3'].map((p) => makePatient(p)),
      ...['p1', 'p2', 'p3'].map((p) => makeObservation(`${p}-o`, p)),
      makeGroup('g1', ['Patient/p1', 'Patient/p2']),
    ]);
    const dbPath = join(tempDir(t), 'mirror.db');
    const sync = () =>
      syncMirror({ baseUrl: srv.baseUrl, dbPath, client: { waits: { ...FAST_WAITS, maxWaitMs: 300 } } });

    const first = await sync();
    assert.equal(first.since, undefined);
    assert.equal(first.created, 7);
    assert.deepEqual(await mirrorContents(dbPath), await contents(source));
    assert.equal(existsSync(`${dbPath}.sync-work`), false);

    await source.ingest([makePatient('p4'), makeObservation('p4-o', 'p4')]);
    await source.update(makePatient('p1', { gender: 'female', birthDate: '1970-01-01' }));
    await source.update(makeGroup('g1', ['Patient/p1', 'Patient/p4']));
    await source.delete('Patient', 'p2');
    await source.delete('Observation', 'p2-o');

    const second = await sync();
    assert.equal(second.since, first.transactionTime);
    assert.deepEqual([second.created, second.updated, second.deleted], [2, 2, 2]);
    const mirror = await mirrorContents(dbPath);
    assert.deepEqual(mirror, await contents(source));
    assert.equal(mirror.has('Patient/p2'), false);
    assert.match(mirror.get('Patient/p1') ?? '', /"gender":"female"/);

    const third = await sync();
    assert.deepEqual([third.created, third.updated, third.deleted], [0, 0, 0]);
    assert.ok((third.transactionTime ?? '') >= second.transactionTime);
  });

  test('refuses a mirror of another server', async (t) => {
    const srv = await startTestServer(t);
    const dbPath = join(tempDir(t), 'mirror.db');
    await syncMirror({ baseUrl: srv.baseUrl, dbPath, client: { waits: FAST_WAITS } });
    await assert.rejects(
      syncMirror({ baseUrl: 'http://127.0.0.1:9/fhir', dbPath, client: { waits: FAST_WAITS } }),
      /mirrors http:\/\/127\.0\.0\.1:\d+/,
    );
  });
});
