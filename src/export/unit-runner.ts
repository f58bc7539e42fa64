import { operationOutcome } from '../fhir/index.js';
import type { BlockOptions, ResourceStore, ScanOptions } from '../store/index.js';
import { BlockWriter } from './block-writer.js';
import { runMemberRange, runMembers } from './members-unit.js';
import { RefCollector } from './ref-collector.js';
import { planUnits } from './planner.js';
import { runProvenance } from './provenance.js';
import { planViewUnits } from './view-planner.js';
import type { UnitRun } from './unit-context.js';
import {
  finish,
  pump,
  segmentPrefix,
  series,
  toLines,
  UnitStoppedError,
  UnitYieldedError,
} from './unit-context.js';
import type { UnitResult } from './unit-spec.js';

export { compileRequest, UnitStoppedError, UnitYieldedError } from './unit-context.js';
export type { CompiledRequest, UnitContext, UnitRun } from './unit-context.js';

const DELETED_PER_BUNDLE = 100;
const REF_FLUSH = 5000;

/** Run one unit to completion and describe the files it wrote. */
export async function runUnit(run: UnitRun): Promise<UnitResult> {
  const { ctx, job, unit, spec, checkpoint } = run;
  // A unit that ran before (a lost lease, a crash) starts again from nothing, or from its checkpoint:
  // what it wrote after that is removed, what it committed before is kept.
  await ctx.storage.removePrefix(job.id, segmentPrefix(unit.seq, checkpoint?.segment ?? 0));
  switch (spec.kind) {
    case 'plan':
      return runPlan(run);
    case 'resources':
      return runResources({ ...run, spec });
    case 'members':
      return runMembers({ ...run, spec });
    case 'blocks':
      return runBlocks({ ...run, spec });
    case 'provenance':
      return runProvenance({ ...run, spec });
    case 'supporting':
      return runSupporting({ ...run, spec });
    case 'memberRange':
      return runMemberRange({ ...run, spec });
    case 'foundProvenance':
      return runFoundProvenance(run);
    case 'deleted':
      return runDeleted({ ...run, spec });
    case 'warnings':
      return runWarnings(run);
    case 'view':
      // Loaded on first use: the view runner and the Parquet writer would otherwise sit in every
      // export thread's heap (13 MiB of peak RSS in a 1% Group bench run) for Bulk Data jobs too.
      return (await import('./view-unit.js')).runViewUnit({ ...run, spec });
  }
}

async function runPlan(run: UnitRun): Promise<UnitResult> {
  const { ctx, job, compiled } = run;
  const patients = Array.isArray(compiled.patients) ? compiled.patients : undefined;
  const options = {
    rowsPerUnit: ctx.rowsPerUnit,
    transactionTime: job.transactionTime,
    patients,
    ...(ctx.readPath ? { readPath: ctx.readPath } : {}),
  };
  const plan = compiled.request.view ? planViewUnits : planUnits;
  const units = await plan(ctx.store, compiled.request, options);
  // The planned units run after this one: their phases start at 1.
  const saved = await ctx.savePlan(units.map((u) => ({ ...u, phase: u.phase + 1 })));
  if (!saved) throw new UnitStoppedError('lease lost while planning');
  return { files: [] };
}

async function runResources(run: UnitRun<'resources'>): Promise<UnitResult> {
  const { ctx, job, compiled, checkpoint, spec } = run;
  const { request } = compiled;
  const options: ScanOptions = { type: spec.type, asOf: job.transactionTime };
  if (request.since !== undefined) options.since = request.since;
  if (request.until !== undefined) options.until = request.until;
  // A checkpoint lies inside the unit's range: the rest of the range starts after it.
  const after = checkpoint?.after ?? spec.after;
  if (after) options.after = after;
  if (spec.upTo) options.upTo = spec.upTo;
  if (compiled.patients !== undefined) options.patients = compiled.patients;
  const segment = checkpoint?.segment ?? 0;
  const out = series(run, 'output', spec.type, segment);
  const refs = new RefCollector();
  // Patient-level output pulls in the Practitioners, Organizations... it refers to (supporting units).
  const collect =
    request.level === 'system'
      ? {}
      : {
          refs,
          afterRefs: async (): Promise<void> => {
            if (refs.size >= REF_FLUSH) await ctx.store.jobs.addRefs(job.id, refs.take());
          },
        };
  const pausedAt = await pump(run, options, out, { ...collect, pause: ctx.yieldNow });
  // Before a checkpoint too: the references of the rows written so far are not read again.
  await ctx.store.jobs.addRefs(job.id, refs.take());
  const files = [...(checkpoint?.files ?? []), ...(await finish(out, 'output', spec.type))];
  if (!pausedAt) return { files };
  if (!(await ctx.saveCheckpoint({ segment: segment + 1, after: pausedAt, files }))) {
    throw new UnitStoppedError('lease lost at a checkpoint');
  }
  throw new UnitYieldedError('checkpointed to let another client run');
}

async function runBlocks(run: UnitRun<'blocks'>): Promise<UnitResult> {
  const { ctx, job, compiled, unit, spec } = run;
  const { request } = compiled;
  const { patients } = spec;
  const out = new BlockWriter(ctx.storage, job.id, `${unit.seq}.blocks`, ctx.fileMaxBytes);
  const options: BlockOptions = { patients, asOf: job.transactionTime };
  if (request.since !== undefined) options.since = request.since;
  if (request.until !== undefined) options.until = request.until;
  options.types = spec.types;
  try {
    for await (const block of ctx.store.patientBlocks(options)) {
      // The block's own Patient comes right after the header.
      const rows = [...block.resources].sort(
        (a, b) =>
          Number(b.type === 'Patient' && b.id === block.patientId) -
          Number(a.type === 'Patient' && a.id === block.patientId),
      );
      const lines: string[] = [];
      for (const row of rows)
        lines.push(
          ...toLines([row], {
            filter: compiled.filters.get(row.type),
            elements: compiled.elements,
            baseUrl: ctx.baseUrl,
          }),
        );
      if (lines.length > 0) await out.writeBlock(`Patient/${block.patientId}`, lines);
      if (!(await ctx.progress(1))) throw new UnitStoppedError('unit stopped');
    }
  } catch (err) {
    await out.abort();
    throw err;
  }
  return { files: await out.finish() };
}

async function runSupporting(run: UnitRun<'supporting'>): Promise<UnitResult> {
  // Supporting resources are context: _since does not hide the Practitioner of a new Observation.
  return writeRefs(run, run.spec.type, {});
}

/**
 * The Provenance the member ranges recorded as references, as they were at the job's time: unlike
 * supporting resources they are exported resources, so `_since` and `_until` bound them too.
 */
async function runFoundProvenance(run: UnitRun): Promise<UnitResult> {
  const { since, until } = run.compiled.request;
  return writeRefs(run, 'Provenance', {
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
  });
}

/** The job's references of one type, as they were at the job's time, within `bounds`. */
async function writeRefs(
  run: Pick<UnitRun, 'ctx' | 'job' | 'unit' | 'compiled'>,
  type: string,
  bounds: Pick<ScanOptions, 'since' | 'until'>,
): Promise<UnitResult> {
  const { ctx, job } = run;
  const out = series(run, 'output', type);
  let after = '';
  for (;;) {
    const ids = await ctx.store.jobs.refIds(job.id, type, after, 1000);
    if (ids.length === 0) break;
    after = ids[ids.length - 1]!;
    await pump(run, { type, asOf: job.transactionTime, ids, ...bounds }, out);
  }
  return { files: await finish(out, 'output', type) };
}

async function runDeleted(run: UnitRun<'deleted'>): Promise<UnitResult> {
  const { ctx, job, compiled, spec } = run;
  const { type } = spec;
  const { request } = compiled;
  const out = series(run, 'deleted', type);
  const options = { type, since: request.since ?? 0, asOf: job.transactionTime } as Parameters<
    ResourceStore['deletedSince']
  >[0];
  if (request.until !== undefined) options.until = request.until;
  if (compiled.patients !== undefined) options.patients = compiled.patients;
  try {
    for await (const batch of ctx.store.deletedSince(options)) {
      const lines: string[] = [];
      for (let i = 0; i < batch.length; i += DELETED_PER_BUNDLE) {
        const entry = batch
          .slice(i, i + DELETED_PER_BUNDLE)
          .map((t) => ({ request: { method: 'DELETE', url: `${t.type}/${t.id}` } }));
        lines.push(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }));
      }
      await out.writeLines(lines);
      if (!(await ctx.progress(batch.length))) throw new UnitStoppedError('unit stopped');
    }
  } catch (err) {
    await out.abort();
    throw err;
  }
  return { files: await finish(out, 'deleted', 'Bundle') };
}

async function runWarnings(run: UnitRun): Promise<UnitResult> {
  const { compiled } = run;
  const out = series(run, 'error', 'OperationOutcome');
  const lines = compiled.request.warnings.map((w) =>
    JSON.stringify(operationOutcome('warning', w.issueCode ?? 'not-supported', w.message, w.parameter)),
  );
  await out.writeLines(lines);
  return { files: await finish(out, 'error', 'OperationOutcome') };
}

/** Write the error file of a unit that failed for good. */
export async function writeUnitFailure(
  run: Pick<UnitRun, 'ctx' | 'job' | 'unit'>,
  message: string,
): Promise<UnitResult> {
  const { ctx, job, unit } = run;
  await ctx.storage.removePrefix(job.id, `${unit.seq}.`);
  const out = series(run, 'error', 'OperationOutcome');
  await out.writeLines([JSON.stringify(operationOutcome('error', 'processing', message))]);
  return { files: await finish(out, 'error', 'OperationOutcome') };
}
