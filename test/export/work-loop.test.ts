import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeUnitResult, decodeUnitSpec, encodeUnitSpec } from '../../src/export/job-codec.js';
import { isViewUnit, workLoop } from '../../src/export/work-loop.js';
import { LocalDirStorage } from '../../src/storage/index.js';
import type { FileWriter } from '../../src/storage/index.js';
import type { UnitCheckpoint, UnitResult } from '../../src/export/unit-spec.js';
import type { NewUnit, StoredResource } from '../../src/store/index.js';
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

const PLAN: NewUnit = { phase: 0, spec: encodeUnitSpec({ kind: 'plan' }), estimate: 1 };
const PATIENTS: NewUnit = {
  phase: 1,
  spec: encodeUnitSpec({ kind: 'resources', type: 'Patient' }),
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

/** Folder storage that opens no file but a failed unit's error file: every run of a unit fails. */
class RefusingStorage extends LocalDirStorage {
  override async createWriter(jobId: string, name: string): Promise<FileWriter> {
    if (!name.includes('.error-OperationOutcome.')) throw new Error(`cannot open ${name}`);
    return super.createWriter(jobId, name);
  }
}

/**
 * Run one loop over `storage` until it finds no work; `controller` may be aborted from inside a unit.
 * @returns how many units it reported done
 */
async function drainWith(
  e: Engine,
  storage: LocalDirStorage,
  controller = new AbortController(),
): Promise<number> {
  let done = 0;
  await workLoop({
    store: e.store,
    storage,
    config: e.config,
    log: e.log,
    signal: controller.signal,
    waitForWork: async () => controller.abort(),
    onUnitDone: () => done++,
    now: e.clock.now,
  });
  return done;
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
    await e.store.ingest([makePatient('p1')]);
    await createJob(e, 'job-2', [PATIENTS]);
    const done = await drainWith(e, new RefusingStorage(e.root));

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

  test('hands a leased unit off unrun; the loop given it runs it under that lease, one attempt in all', async (t) => {
    const e = engine(t, { rowsPerUnit: 10 });
    await e.store.ingest([makePatient('p1'), makePatient('p2')]);
    await createJob(e, 'job-1', [PLAN]);
    const deps = {
      store: e.store,
      storage: e.storage,
      config: e.config,
      log: e.log,
      signal: new AbortController().signal,
      waitForWork: async () => assert.fail('a loop that ends when idle never waits'),
      now: e.clock.now,
    };
    // The plan runs where it was leased; the first Patient unit is handed off.
    const end = await workLoop({ ...deps, handOff: (u) => decodeUnitSpec(u.spec).kind === 'resources' });
    assert.equal(end.reason, 'hand-off');
    if (end.reason !== 'hand-off') return;
    const held = (await e.store.jobs.listUnits('job-1')).find((u) => u.seq === end.unit.seq);
    assert.equal(held?.status, 'leased');
    assert.equal(held?.leaseOwner, end.owner);
    assert.equal(held?.attempts, 1);

    let done = 0;
    const second = await workLoop({
      ...deps,
      handedOver: { unit: end.unit, owner: end.owner },
      endWhenIdleMs: 0,
      onUnitDone: () => done++,
    });
    assert.equal(second.reason, 'idle');
    const units = await e.store.jobs.listUnits('job-1');
    assert.equal(done, units.length - 1);
    assert.ok(units.every((u) => u.status === 'done' && u.attempts === 1));
    assert.equal((await e.store.jobs.getJob('job-1'))?.status, 'completed');
  });

  test('a loop that ends when idle waits out its grace first, and a unit that comes meanwhile restarts it', async (t) => {
    const e = engine(t);
    await e.store.ingest([makePatient('p1')]);
    const waited: number[] = [];
    let added = false;
    const end = await workLoop({
      store: e.store,
      storage: e.storage,
      config: { ...e.config, idlePollMs: 400 },
      log: e.log,
      signal: new AbortController().signal,
      now: e.clock.now,
      endWhenIdleMs: 1_000,
      waitForWork: async (ms) => {
        waited.push(ms);
        e.clock.advance(ms);
        // A job arrives during the first idle spell: the loop runs it, then idles anew.
        if (!added) {
          added = true;
          await createJob(e, 'job-grace', [PLAN]);
        }
      },
    });
    assert.equal(end.reason, 'idle');
    assert.equal((await e.store.jobs.getJob('job-grace'))?.status, 'completed');
    // 400 ms once before the job; after it, 400 + 400 + 200 = the whole 1 s grace again.
    assert.deepEqual(waited, [400, 400, 400, 200]);
  });

  test('tells view units from others, and a spec that does not decode from a view unit', () => {
    const unit = (spec: string) => ({ spec }) as Parameters<typeof isViewUnit>[0];
    assert.equal(isViewUnit(unit(encodeUnitSpec({ kind: 'view', view: 0, type: 'Patient' }))), true);
    assert.equal(isViewUnit(unit(encodeUnitSpec({ kind: 'resources', type: 'Patient' }))), false);
    assert.equal(isViewUnit(unit('{not json')), false);
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

  test('a unit whose stored spec does not decode fails its job at once, and the loop goes on', async (t) => {
    const e = engine(t, { maxAttempts: 3 });
    await e.store.ingest([makePatient('p1')]);
    await createJob(e, 'job-8', [PATIENTS]);
    await createJob(e, 'job-9', [PATIENTS]);
    // Truncated JSON, as a torn write or a hand edit would leave it.
    e.store.db.prepare("UPDATE export_unit SET spec = '{\"kind\":\"resou' WHERE job_id = 'job-8'").run();
    assert.equal(await drain(e), 2);

    const job = await e.store.jobs.getJob('job-8');
    assert.equal(job?.status, 'failed');
    // It expires like a completed job, so the reaper removes it.
    assert.equal(job?.expiresAt, e.clock.now() + e.config.fileTtlMs);
    assert.equal(
      job?.error,
      "the export's stored state is corrupt (unit 0: the stored unit spec is not JSON); start a new export",
    );
    const [unit] = await e.store.jobs.listUnits('job-8');
    // No retry: a second attempt would read the same bytes.
    assert.equal(unit?.status, 'failed');
    assert.equal(unit?.attempts, 1);
    assert.deepEqual(decodeUnitResult(unit!.result!), { files: [] });
    assert.equal((await e.store.jobs.getJob('job-9'))?.status, 'completed');
  });

  test('a unit whose spec has the wrong shape, or whose job request is no object, fails its job', async (t) => {
    const e = engine(t);
    await e.store.ingest([makePatient('p1')]);
    await createJob(e, 'job-10', [
      { phase: 1, spec: JSON.stringify({ kind: 'blocks', types: ['Patient'] }), estimate: 1 },
    ]);
    await createJob(e, 'job-11', [PATIENTS]);
    e.store.db.prepare("UPDATE export_job SET request = 'null' WHERE id = 'job-11'").run();
    await drain(e);

    const shape = await e.store.jobs.getJob('job-10');
    assert.equal(shape?.status, 'failed');
    assert.match(shape?.error ?? '', /unit 0: the stored unit spec does not decode: patients is not a list/);
    const request = await e.store.jobs.getJob('job-11');
    assert.equal(request?.status, 'failed');
    assert.match(request?.error ?? '', /the stored request is not a JSON object/);
  });

  test('resumes a unit stored by the previous release (no schema version) from its checkpoint', async (t) => {
    const e = engine(t);
    await e.store.ingest([makePatient('p1'), makePatient('p2'), makePatient('p3')]);
    // The shapes the previous release wrote: plain JSON.stringify, no "v".
    await createJob(e, 'job-12', [
      { phase: 1, spec: JSON.stringify({ kind: 'resources', type: 'Patient' }), estimate: 3 },
    ]);
    const job = (await e.store.jobs.getJob('job-12'))!;
    assert.ok(!job.request.includes('"v"'));
    const rows: StoredResource[] = [];
    for await (const batch of e.store.scan({ type: 'Patient', asOf: job.transactionTime }))
      rows.push(...batch);
    const first = rows[0]!;
    // That release ran the unit up to its first row, committed that file and yielded, then stopped.
    const unit = (await e.store.jobs.leaseUnit('old-release', e.clock.now(), e.config.leaseMs))!;
    const name = `${unit.seq}.Patient.1.ndjson`;
    const writer = await e.storage.createWriter('job-12', name);
    await writer.write(Buffer.from(`${first.json}\n`));
    await writer.commit();
    const checkpoint: UnitCheckpoint = {
      segment: 1,
      after: { lastUpdated: first.lastUpdated, id: first.id },
      files: [{ kind: 'output', type: 'Patient', name, count: 1, bytes: first.json.length + 1 }],
    };
    assert.ok(
      await e.store.jobs.yieldUnit(unit, 'old-release', { spec: JSON.stringify(checkpoint), progress: 1 }),
    );

    assert.equal(await drain(e), 1);
    assert.equal((await e.store.jobs.getJob('job-12'))?.status, 'completed');
    const [done] = await e.store.jobs.listUnits('job-12');
    const { files } = decodeUnitResult(done!.result!);
    assert.equal(files[0]?.name, name, 'the file committed before the upgrade is kept');
    const ids = files.flatMap((f) =>
      readFileSync(join(e.root, 'job-12', f.name), 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id),
    );
    assert.deepEqual(ids.sort(), ['p1', 'p2', 'p3']);
    assert.match(done!.result!, /^\{"v":1,/);
  });
});
