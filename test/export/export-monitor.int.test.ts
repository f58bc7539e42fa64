import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ExportMonitor } from '../../src/export/index.js';
import { encodeExportRequest } from '../../src/export/job-codec.js';
import type { JobStore, NewJob } from '../../src/store/index.js';
import { SYSTEM_REQUEST } from '../helpers/engine.js';
import { backends } from '../helpers/stores.js';

const T0 = 1_700_000_000_000;

const job = (id: string, clientId: string, createdAt: number): NewJob => ({
  id,
  clientId,
  request: encodeExportRequest(SYSTEM_REQUEST),
  transactionTime: T0,
  createdAt,
  ttlMs: 3_600_000,
});

const plan = [{ phase: 0, spec: '{"kind":"plan"}', estimate: 1 }];

/** The real job store, counting the reads the monitor makes. */
function counted(jobs: JobStore): { jobs: JobStore; reads: () => number } {
  let reads = 0;
  const wrapped = Object.create(jobs) as JobStore;
  wrapped.recentJobs = async (limit) => {
    reads += 1;
    return jobs.recentJobs(limit);
  };
  return { jobs: wrapped, reads: () => reads };
}

for (const backend of backends()) {
  describe(`ExportMonitor on ${backend.name}`, { skip: backend.skip }, () => {
    test('reads the store once per refresh interval, however many viewers ask at once', async (t) => {
      const database = await backend.create();
      const store = await backend.open(database.db);
      t.after(async () => {
        await store.close();
        await database.drop();
      });
      await store.jobs.createJob(job('a', 'c1', T0), plan);
      await store.jobs.createJob(job('b', 'c2', T0 + 1), []);
      let now = T0 + 10;
      const spy = counted(store.jobs);
      const monitor = new ExportMonitor({
        jobs: spy.jobs,
        refreshMs: 1000,
        now: () => now,
        clients: async () => [{ id: 'c3', name: 'idle', scope: 'system/*.rs', createdAt: T0 - 5 }],
      });
      const views = await Promise.all(Array.from({ length: 20 }, () => monitor.snapshot()));
      assert.equal(spy.reads(), 1);
      assert.ok(views.every((v) => v === views[0]));
      const view = views[0]!;
      assert.deepEqual(
        view.jobs.map((j) => [j.id, j.state]),
        [
          ['a', 'queued'],
          ['b', 'completed'],
        ],
      );
      assert.deepEqual(
        view.clients.map((c) => [c.clientId, c.name, c.active, c.finished]),
        [
          ['c2', null, 0, 1],
          ['c1', null, 1, 0],
          ['c3', 'idle', 0, 0],
        ],
      );
      now += 999;
      await monitor.snapshot();
      assert.equal(spy.reads(), 1);
      now += 1;
      await monitor.snapshot();
      assert.equal(spy.reads(), 2);
      monitor.invalidate();
      await monitor.snapshot();
      assert.equal(spy.reads(), 3);
    });

    test('keeps the newest jobs within its limit and says the view is cut', async (t) => {
      const database = await backend.create();
      const store = await backend.open(database.db);
      t.after(async () => {
        await store.close();
        await database.drop();
      });
      for (let i = 0; i < 5; i++) await store.jobs.createJob(job(`j${i}`, 'c1', T0 + i), []);
      const monitor = new ExportMonitor({ jobs: store.jobs, jobLimit: 3, now: () => T0 + 10 });
      const view = await monitor.snapshot();
      assert.deepEqual(
        view.jobs.map((j) => j.id),
        ['j4', 'j3', 'j2'],
      );
      assert.equal(view.truncated, true);
    });
  });
}
