import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  compileRequest,
  runUnit,
  UnitStoppedError,
  UnitYieldedError,
  writeUnitFailure,
} from '../../src/export/unit-runner.js';
import type { UnitContext } from '../../src/export/unit-runner.js';
import {
  decodeUnit,
  decodeUnitSpec,
  encodeExportRequest,
  encodeUnitCheckpoint,
  encodeUnitSpec,
} from '../../src/export/job-codec.js';
import type { ExportRequest } from '../../src/export/types.js';
import type { UnitCheckpoint, UnitResult, UnitSpec } from '../../src/export/unit-spec.js';
import type { JobRecord, NewUnit, UnitRecord } from '../../src/store/index.js';
import { makePatient } from '../helpers/builders.js';
import { SYSTEM_REQUEST, engine } from '../helpers/engine.js';
import type { Engine } from '../helpers/engine.js';

type T = Parameters<typeof engine>[0];

/** What a unit asked of its context while it ran. */
interface Calls {
  plans: NewUnit[][];
  checkpoints: UnitCheckpoint[];
  rows: number;
}

/**
 * A job of `request` whose unit 0 has `spec`, and a context that records the unit's calls; `answers`
 * sets what the context replies (progress false: the job stopped; yieldNow true: another client waits).
 */
async function setUp(
  t: T,
  request: ExportRequest,
  spec: UnitSpec,
  answers: { progress?: boolean; savePlan?: boolean; yieldNow?: boolean } = {},
) {
  const e = engine(t);
  await e.store.ingest([makePatient('p1'), makePatient('p2'), makePatient('p3')]);
  const created = await e.store.jobs.createJob(
    {
      id: 'job',
      clientId: null,
      request: encodeExportRequest(request),
      transactionTime: await e.store.tick(),
      createdAt: e.clock.now(),
      ttlMs: e.config.fileTtlMs,
      maxUnfinished: 1,
    },
    [{ phase: 1, spec: encodeUnitSpec(spec), estimate: 3 }],
  );
  assert.ok(created);
  const job = (await e.store.jobs.getJob('job'))!;
  const [unit] = await e.store.jobs.listUnits('job');
  const calls: Calls = { plans: [], checkpoints: [], rows: 0 };
  const ctx: UnitContext = {
    store: e.store,
    storage: e.storage,
    fileMaxBytes: e.config.fileMaxBytes,
    rowsPerUnit: e.config.rowsPerUnit,
    progress: async (n) => {
      calls.rows += n;
      return answers.progress ?? true;
    },
    savePlan: async (units) => {
      calls.plans.push(units);
      return answers.savePlan ?? true;
    },
    yieldNow: async () => answers.yieldNow ?? false,
    saveCheckpoint: async (checkpoint) => {
      calls.checkpoints.push(checkpoint);
      return true;
    },
  };
  return { e, job, unit: unit!, ctx, calls };
}

/** Run a unit as a worker does: the request compiled from the job, the unit's spec and checkpoint decoded. */
async function run(ctx: UnitContext, job: JobRecord, unit: UnitRecord): Promise<UnitResult> {
  return runUnit({ ctx, job, compiled: await compileRequest(ctx.store, job), unit, ...decodeUnit(unit) });
}

const files = (e: Engine) => readdirSync(join(e.root, 'job')).sort();
const lines = (e: Engine, name: string) =>
  readFileSync(join(e.root, 'job', name), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('runUnit', () => {
  test('a plan unit saves the units it planned one phase after itself, and writes no file', async (t) => {
    const { ctx, job, unit, calls } = await setUp(
      t,
      { ...SYSTEM_REQUEST, types: ['Patient'] },
      { kind: 'plan' },
    );
    assert.deepEqual(await run(ctx, job, unit), { files: [] });
    assert.equal(calls.plans.length, 1);
    assert.deepEqual(
      calls.plans[0]!.map((u) => [u.phase, decodeUnitSpec(u.spec).kind, u.estimate]),
      [[1, 'resources', 3]],
    );
  });

  test('a plan unit whose lease was lost while saving stops', async (t) => {
    const { ctx, job, unit } = await setUp(t, SYSTEM_REQUEST, { kind: 'plan' }, { savePlan: false });
    await assert.rejects(run(ctx, job, unit), UnitStoppedError);
  });

  test('a resources unit writes its type, after removing what an earlier run of it left', async (t) => {
    const { e, ctx, job, unit, calls } = await setUp(t, SYSTEM_REQUEST, {
      kind: 'resources',
      type: 'Patient',
    });
    mkdirSync(join(e.root, 'job'), { recursive: true });
    writeFileSync(join(e.root, 'job', `${unit.seq}.Patient.7.ndjson`), '{"stale":true}\n');
    writeFileSync(join(e.root, 'job', `${unit.seq + 1}.Patient.1.ndjson`), '{"other unit":true}\n');
    const result = await run(ctx, job, unit);
    assert.deepEqual(
      result.files.map((f) => [f.kind, f.type, f.name, f.count]),
      [['output', 'Patient', `${unit.seq}.Patient.1.ndjson`, 3]],
    );
    assert.deepEqual(files(e), [`${unit.seq + 1}.Patient.1.ndjson`, `${unit.seq}.Patient.1.ndjson`].sort());
    assert.deepEqual(
      lines(e, result.files[0]!.name)
        .map((r) => r.id)
        .sort(),
      ['p1', 'p2', 'p3'],
    );
    assert.equal(calls.rows, 3);
  });

  test('a resources unit whose job stopped throws UnitStoppedError and leaves no file', async (t) => {
    const { e, ctx, job, unit } = await setUp(
      t,
      SYSTEM_REQUEST,
      { kind: 'resources', type: 'Patient' },
      { progress: false },
    );
    await assert.rejects(run(ctx, job, unit), UnitStoppedError);
    assert.deepEqual(files(e), []);
  });

  test('a parsed resources unit checkpoints when another client waits, and resumes after its last row', async (t) => {
    const projected: ExportRequest = { ...SYSTEM_REQUEST, elements: ['name'] };
    const spec: UnitSpec = { kind: 'resources', type: 'Patient' };
    const { e, ctx, job, unit, calls } = await setUp(t, projected, spec, { yieldNow: true });
    await assert.rejects(run(ctx, job, unit), UnitYieldedError);
    assert.equal(calls.checkpoints.length, 1);
    const checkpoint = calls.checkpoints[0]!;
    assert.equal(checkpoint.segment, 1);
    assert.ok(checkpoint.after, 'the key of the last row written');
    assert.equal(
      checkpoint.files.reduce((n, f) => n + f.count, 0),
      calls.rows,
    );
    // The next run starts after the checkpoint: nothing is written twice, the committed files are kept.
    const resumed = await run(ctx, job, { ...unit, checkpoint: encodeUnitCheckpoint(checkpoint) }).catch(
      (err: unknown) => {
        assert.ok(err instanceof UnitYieldedError);
        return { files: calls.checkpoints.at(-1)!.files };
      },
    );
    assert.equal(
      resumed.files.reduce((n, f) => n + f.count, 0),
      3,
    );
    const written = resumed.files.flatMap((f) => lines(e, f.name).map((r) => r.id));
    assert.deepEqual(written.sort(), ['p1', 'p2', 'p3']);
  });

  test('a deleted unit writes DELETE entries since _since in transaction Bundles of at most 100', async (t) => {
    const e0 = Date.now();
    const {
      e,
      ctx,
      job: _job,
      unit,
    } = await setUp(
      t,
      { ...SYSTEM_REQUEST, since: e0 - 1 },
      {
        kind: 'deleted',
        type: 'Patient',
      },
    );
    const ids = Array.from({ length: 101 }, (_, i) => `d${i}`);
    await e.store.ingest(ids.map((id) => makePatient(id)));
    for (const id of ids) await e.store.delete('Patient', id);
    // The job's snapshot comes after the deletions, as a kick-off's would.
    const job = { ..._job, transactionTime: await e.store.tick() };
    const result = await run(ctx, job, unit);
    assert.deepEqual(
      result.files.map((f) => [f.kind, f.type, f.count]),
      [['deleted', 'Bundle', 2]],
    );
    const bundles = lines(e, result.files[0]!.name) as {
      type: string;
      entry: { request: { method: string; url: string } }[];
    }[];
    assert.deepEqual(
      bundles.map((b) => [b.type, b.entry.length]),
      [
        ['transaction', 100],
        ['transaction', 1],
      ],
    );
    const urls = bundles.flatMap((b) => b.entry.map((x) => `${x.request.method} ${x.request.url}`));
    assert.deepEqual(urls.sort(), ids.map((id) => `DELETE Patient/${id}`).sort());
  });

  test('a warnings unit writes one OperationOutcome per warning of lenient handling', async (t) => {
    const warned: ExportRequest = {
      ...SYSTEM_REQUEST,
      warnings: [
        { parameter: '_type', message: 'Foo is not a resource type' },
        { parameter: 'patient', message: 'p9 does not exist', issueCode: 'not-found' },
      ],
    };
    const { e, ctx, job, unit } = await setUp(t, warned, { kind: 'warnings' });
    const result = await run(ctx, job, unit);
    assert.deepEqual(
      result.files.map((f) => [f.kind, f.type, f.count]),
      [['error', 'OperationOutcome', 2]],
    );
    const issues = lines(e, result.files[0]!.name).map(
      (o) => (o.issue as { severity: string; code: string; diagnostics: string }[])[0]!,
    );
    assert.deepEqual(
      issues.map((i) => [i.severity, i.code, i.diagnostics]),
      [
        ['warning', 'not-supported', 'Foo is not a resource type'],
        ['warning', 'not-found', 'p9 does not exist'],
      ],
    );
  });

  test('a supporting unit writes the resources of its type that the output referred to', async (t) => {
    const {
      e,
      ctx,
      job: _job,
      unit,
    } = await setUp(t, SYSTEM_REQUEST, { kind: 'supporting', type: 'Patient' });
    await e.store.jobs.addRefs('job', [
      { type: 'Patient', id: 'p2' },
      { type: 'Patient', id: 'gone' },
    ]);
    const job = { ..._job, transactionTime: await e.store.tick() };
    const result = await run(ctx, job, unit);
    assert.deepEqual(
      result.files.flatMap((f) => lines(e, f.name).map((r) => r.id)),
      ['p2'],
    );
  });
});

describe('writeUnitFailure', () => {
  test("replaces a unit's files by one error OperationOutcome with the message", async (t) => {
    const { e, ctx, job, unit } = await setUp(t, SYSTEM_REQUEST, { kind: 'resources', type: 'Patient' });
    await run(ctx, job, unit);
    const result = await writeUnitFailure({ ctx, job, unit }, 'part of the export failed after 3 attempts');
    assert.deepEqual(
      result.files.map((f) => [f.kind, f.type, f.count]),
      [['error', 'OperationOutcome', 1]],
    );
    assert.deepEqual(files(e), [result.files[0]!.name]);
    const [outcome] = lines(e, result.files[0]!.name);
    assert.deepEqual(outcome?.issue, [
      { severity: 'error', code: 'processing', diagnostics: 'part of the export failed after 3 attempts' },
    ]);
  });
});
