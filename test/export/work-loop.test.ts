import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { workLoop } from '../../src/export/work-loop.js';
import type { UnitResult } from '../../src/export/unit-spec.js';
import type { NewUnit } from '../../src/store/index.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { SYSTEM_REQUEST, drain, engine } from '../helpers/engine.js';
import type { Engine } from '../helpers/engine.js';

/** Store a running job of the system request with these units, created now on the engine's clock. */
async function createJob(e: Engine, id: string, units: NewUnit[]): Promise<void> {
  const created = await e.store.jobs.createJob(
    {
      id,
      clientId: 'c1',
      request: JSON.stringify(SYSTEM_REQUEST),
      transactionTime: await e.store.tick(),
      createdAt: e.clock.now(),
      ttlMs: e.config.fileTtlMs,
      maxUnfinished: 10,
    },
    units,
  );
  assert.ok(created);
}

const PLAN: NewUnit = { phase: 0, spec: JSON.stringify({ kind: 'plan' }), estimate: 1 };

describe('workLoop', () => {
  test('runs every unit of a job, planned ones included, and completes it at the time of its clock', async (t) => {
    const e = engine(t, { rowsPerUnit: 2 });
    await e.store.ingest([
      makePatient('p1'),
      makePatient('p2'),
      makePatient('p3'),
      makeObservation('o1', 'p1'),
    ]);
    await createJob(e, 'job-1', [PLAN]);
    const done = await drain(e);

    const units = await e.store.jobs.listUnits('job-1');
    // The plan, then Patient cut in two ranges of at most two rows, and Observation.
    assert.equal(units.length, 4);
    assert.equal(done, units.length);
    assert.ok(units.every((u) => u.status === 'done' && u.attempts === 1));
    const job = await e.store.jobs.getJob('job-1');
    assert.equal(job?.status, 'completed');
    assert.equal(job?.completedAt, e.clock.now());
    assert.equal(job?.expiresAt, e.clock.now() + e.config.fileTtlMs);
    const counts = units
      .flatMap((u) => (JSON.parse(u.result!) as UnitResult).files)
      .reduce((m, f) => m.set(f.type, (m.get(f.type) ?? 0) + f.count), new Map<string, number>());
    assert.deepEqual(Object.fromEntries(counts), { Patient: 3, Observation: 1 });
  });

  test('retries a unit that throws until maxAttempts, then reports it in an error file and completes the job', async (t) => {
    const e = engine(t, { maxAttempts: 3 });
    // A blocks unit without its patients throws in the store on every attempt.
    const broken = { kind: 'blocks', types: ['Patient'] };
    await createJob(e, 'job-2', [{ phase: 1, spec: JSON.stringify(broken), estimate: 1 }]);
    const done = await drain(e);

    assert.equal(done, 3, 'two failed attempts given back, and the last one recorded');
    const [unit] = await e.store.jobs.listUnits('job-2');
    assert.equal(unit?.status, 'failed');
    assert.equal(unit?.attempts, 3);
    const { files } = JSON.parse(unit!.result!) as UnitResult;
    assert.deepEqual(
      files.map((f) => [f.kind, f.type, f.count]),
      [['error', 'OperationOutcome', 1]],
    );
    const outcome = JSON.parse(readFileSync(join(e.root, 'job-2', files[0]!.name), 'utf8'));
    assert.equal(outcome.issue[0].severity, 'error');
    assert.equal(outcome.issue[0].diagnostics, 'part of the export failed after 3 attempts');
    assert.equal((await e.store.jobs.getJob('job-2'))?.status, 'completed');
  });

  test('leases nothing once its signal has aborted', async (t) => {
    const e = engine(t);
    await createJob(e, 'job-3', [PLAN]);
    const controller = new AbortController();
    controller.abort();
    let waits = 0;
    await workLoop({
      store: e.store,
      storage: e.storage,
      config: e.config,
      log: e.log,
      signal: controller.signal,
      waitForWork: async () => void waits++,
      now: e.clock.now,
    });
    const [unit] = await e.store.jobs.listUnits('job-3');
    assert.equal(unit?.status, 'pending');
    assert.equal(unit?.attempts, 0);
    assert.equal(waits, 0);
  });

  test('waits for work with the idle poll interval when no unit can be leased', async (t) => {
    const e = engine(t, { idlePollMs: 1234 });
    const controller = new AbortController();
    const waited: number[] = [];
    await workLoop({
      store: e.store,
      storage: e.storage,
      config: e.config,
      log: e.log,
      signal: controller.signal,
      waitForWork: async (ms) => {
        waited.push(ms);
        if (waited.length === 2) controller.abort();
      },
      now: e.clock.now,
    });
    assert.deepEqual(waited, [1234, 1234]);
  });

  test('leaves the units of a cancelled job alone', async (t) => {
    const e = engine(t);
    await e.store.ingest([makePatient('p1')]);
    await createJob(e, 'job-4', [PLAN]);
    await e.store.jobs.setJobStatus('job-4', 'cancelled', e.clock.now());
    assert.equal(await drain(e), 0);
    const [unit] = await e.store.jobs.listUnits('job-4');
    assert.equal(unit?.status, 'pending');
  });
});
