import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { workLoop } from '../../src/export/work-loop.js';
import { LocalDirStorage } from '../../src/storage/index.js';
import type { FileWriter } from '../../src/storage/index.js';
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
const PATIENTS: NewUnit = {
  phase: 1,
  spec: JSON.stringify({ kind: 'resources', type: 'Patient' }),
  estimate: 3,
};

/** The engine's folder storage, calling `hook` when a unit opens its first file: a moment inside a unit. */
class HookedStorage extends LocalDirStorage {
  constructor(
    root: string,
    private readonly hook: () => Promise<void>,
  ) {
    super(root);
  }

  override async createWriter(jobId: string, name: string): Promise<FileWriter> {
    await this.hook();
    return super.createWriter(jobId, name);
  }
}

/** Run one loop over `storage` until it finds no work; `controller` may be aborted from inside a unit. */
async function drainWith(
  e: Engine,
  storage: LocalDirStorage,
  controller = new AbortController(),
): Promise<void> {
  await workLoop({
    store: e.store,
    storage,
    config: e.config,
    log: e.log,
    signal: controller.signal,
    waitForWork: async () => controller.abort(),
    now: e.clock.now,
  });
}

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

  test('a unit stops at its first heartbeat after its job was cancelled, and records nothing', async (t) => {
    const e = engine(t, { heartbeatMs: 2_000 });
    await e.store.ingest([makePatient('p1'), makePatient('p2'), makePatient('p3')]);
    await createJob(e, 'job-5', [PATIENTS]);
    const storage = new HookedStorage(e.root, async () => {
      await e.store.jobs.setJobStatus('job-5', 'cancelled', e.clock.now());
      // The next progress report is a heartbeat: the lease's last one is a heartbeat interval ago.
      e.clock.advance(2_000);
    });
    await drainWith(e, storage);
    const [unit] = await e.store.jobs.listUnits('job-5');
    assert.equal(unit?.status, 'leased');
    assert.equal(unit?.result, null);
    assert.deepEqual(readdirSync(join(e.root, 'job-5')), []);
  });

  test('between heartbeats a unit does not look at its job: with the clock still, it runs to its end', async (t) => {
    const e = engine(t, { heartbeatMs: 2_000 });
    await e.store.ingest([makePatient('p1')]);
    await createJob(e, 'job-6', [PATIENTS]);
    let cancelled = false;
    const storage = new HookedStorage(e.root, async () => {
      if (cancelled) return;
      cancelled = true;
      await e.store.jobs.setJobStatus('job-6', 'cancelled', e.clock.now());
    });
    await drainWith(e, storage);
    const [unit] = await e.store.jobs.listUnits('job-6');
    // No heartbeat fell due, so it never learnt of the cancel; the job stays cancelled (the reaper's).
    assert.equal(unit?.status, 'done');
    assert.equal((await e.store.jobs.getJob('job-6'))?.status, 'cancelled');
    assert.deepEqual(readdirSync(join(e.root, 'job-6')), [`${unit!.seq}.Patient.1.ndjson`]);
  });

  test('gives back the lease of a unit that shutdown stopped, so another worker runs it', async (t) => {
    const e = engine(t);
    await e.store.ingest([makePatient('p1')]);
    await createJob(e, 'job-7', [PATIENTS]);
    const controller = new AbortController();
    await drainWith(e, new HookedStorage(e.root, async () => controller.abort()), controller);
    const [unit] = await e.store.jobs.listUnits('job-7');
    assert.equal(unit?.status, 'pending');
    assert.equal(unit?.leaseOwner, null);
    assert.deepEqual(readdirSync(join(e.root, 'job-7')), []);
  });
});
