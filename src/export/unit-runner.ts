import type { ElementsSpec, FhirResource, ResourcePredicate } from '../fhir/index.js';
import { compileTypeFilters, operationOutcome, parseElements, projectElements } from '../fhir/index.js';
import type { BlockOptions, JobRecord, ResourceStore, ScanOptions, StoredResource, UnitRecord } from '../store/index.js';
import { BlockWriter } from './block-writer.js';
import type { FileStorage } from '../storage/index.js';
import { NdjsonSeries } from '../storage/index.js';
import type { ExportRequest } from './types.js';
import type { FileKind, UnitFile, UnitResult, UnitSpec } from './unit-spec.js';

/** What a unit needs from its surroundings. */
export interface UnitContext {
  store: ResourceStore;
  storage: FileStorage;
  /** Bytes after which an output file is closed and a new one begun. */
  fileMaxBytes: number;
  /** Called after each batch with rows read; resolves false when the unit must stop (cancel, lost lease). */
  progress: (rows: number) => Promise<boolean>;
}

/** Thrown when a unit stops early because its job was cancelled or its lease lost. */
export class UnitStoppedError extends Error {
  override name = 'UnitStoppedError';
}

const SUPPORTING_REF =
  /"reference":"(?:[^"]*\/)?(Practitioner|PractitionerRole|Organization|Location|Medication|Device)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^"]*)?"/g;
const DELETED_PER_BUNDLE = 100;
const REF_FLUSH = 5000;

/** The parts of a request compiled once per job and reused by its units. */
export interface CompiledRequest {
  request: ExportRequest;
  filters: Map<string, ResourcePredicate>;
  elements: ElementsSpec | undefined;
  patients: string[] | 'all' | undefined;
}

/** Compile the filters of a job's request. */
export async function compileRequest(store: ResourceStore, job: JobRecord): Promise<CompiledRequest> {
  const request = JSON.parse(job.request) as ExportRequest;
  const filters = compileTypeFilters(request.typeFilters, { now: job.transactionTime });
  const elements = request.elements.length > 0 ? parseElements(request.elements) : undefined;
  let patients: CompiledRequest['patients'];
  if (request.level === 'group' || request.patients) patients = await store.jobs.jobPatients(job.id);
  else if (request.level === 'patient') patients = 'all';
  return { request, filters, elements, patients };
}

/** Run one unit to completion and describe the files it wrote. */
export async function runUnit(
  ctx: UnitContext,
  job: JobRecord,
  compiled: CompiledRequest,
  unit: UnitRecord,
): Promise<UnitResult> {
  const spec = JSON.parse(unit.spec) as UnitSpec;
  // A unit that ran before (a lost lease, a crash) starts again from nothing.
  await ctx.storage.removePrefix(job.id, `${unit.seq}.`);
  switch (spec.kind) {
    case 'resources':
      return runResources(ctx, job, compiled, unit, spec);
    case 'blocks':
      return runBlocks(ctx, job, compiled, unit, spec.patients);
    case 'supporting':
      return runSupporting(ctx, job, compiled, unit, spec.type);
    case 'deleted':
      return runDeleted(ctx, job, compiled, unit, spec.type);
    case 'warnings':
      return runWarnings(ctx, job, compiled, unit);
  }
}

function series(
  ctx: UnitContext,
  job: JobRecord,
  unit: UnitRecord,
  kind: FileKind,
  type: string,
): NdjsonSeries {
  const tag = kind === 'output' ? type : `${kind}-${type}`;
  return new NdjsonSeries({
    storage: ctx.storage,
    jobId: job.id,
    maxBytes: ctx.fileMaxBytes,
    nameFor: (n) => `${unit.seq}.${tag}.${n}.ndjson`,
  });
}

async function finish(out: NdjsonSeries, kind: FileKind, type: string): Promise<UnitFile[]> {
  return (await out.close()).map((f) => ({ kind, type, name: f.name, count: f.count, bytes: f.bytes }));
}

/** Turn stored rows into output lines, parsing only when a filter or projection needs it. */
function toLines(
  batch: StoredResource[],
  filter: ResourcePredicate | undefined,
  elements: ElementsSpec | undefined,
): string[] {
  if (!filter && !elements) return batch.map((r) => r.json);
  const lines: string[] = [];
  for (const row of batch) {
    const resource = JSON.parse(row.json) as FhirResource;
    if (filter && !filter(resource)) continue;
    const projected = elements ? projectElements(resource, elements) : undefined;
    lines.push(projected ? JSON.stringify(projected) : row.json);
  }
  return lines;
}

async function pump(
  ctx: UnitContext,
  scan: AsyncIterable<StoredResource[]>,
  out: NdjsonSeries,
  compiled: CompiledRequest,
  type: string,
  onLines?: (lines: string[]) => Promise<void>,
): Promise<void> {
  const filter = compiled.filters.get(type);
  try {
    for await (const batch of scan) {
      const lines = toLines(batch, filter, compiled.elements);
      await out.writeLines(lines);
      if (onLines) await onLines(lines);
      if (!(await ctx.progress(batch.length))) throw new UnitStoppedError('unit stopped');
    }
  } catch (err) {
    await out.abort();
    throw err;
  }
}

async function runResources(
  ctx: UnitContext,
  job: JobRecord,
  compiled: CompiledRequest,
  unit: UnitRecord,
  spec: UnitSpec & { kind: 'resources' },
): Promise<UnitResult> {
  const { request } = compiled;
  const options: ScanOptions = { type: spec.type, asOf: job.transactionTime };
  if (request.since !== undefined) options.since = request.since;
  if (request.until !== undefined) options.until = request.until;
  if (spec.after) options.after = spec.after;
  if (spec.upTo) options.upTo = spec.upTo;
  if (compiled.patients !== undefined) options.patients = compiled.patients;
  const out = series(ctx, job, unit, 'output', spec.type);
  const refs = new Map<string, { type: string; id: string }>();
  // Patient-level output pulls in the Practitioners, Organizations... it refers to (phase 1 units).
  const collect =
    request.level === 'system'
      ? undefined
      : async (lines: string[]): Promise<void> => {
          for (const line of lines) {
            for (const m of line.matchAll(SUPPORTING_REF))
              refs.set(`${m[1]}/${m[2]}`, { type: m[1]!, id: m[2]! });
          }
          if (refs.size >= REF_FLUSH) {
            await ctx.store.jobs.addRefs(job.id, [...refs.values()]);
            refs.clear();
          }
        };
  await pump(ctx, ctx.store.scan(options), out, compiled, spec.type, collect);
  await ctx.store.jobs.addRefs(job.id, [...refs.values()]);
  return { files: await finish(out, 'output', spec.type) };
}

async function runBlocks(
  ctx: UnitContext,
  job: JobRecord,
  compiled: CompiledRequest,
  unit: UnitRecord,
  patients: string[],
): Promise<UnitResult> {
  const { request } = compiled;
  const out = new BlockWriter(ctx.storage, job.id, `${unit.seq}.blocks`, ctx.fileMaxBytes);
  const options: BlockOptions = { patients, asOf: job.transactionTime };
  if (request.since !== undefined) options.since = request.since;
  if (request.until !== undefined) options.until = request.until;
  if (request.types) options.types = request.types;
  try {
    for await (const block of ctx.store.patientBlocks(options)) {
      // The block's own Patient comes right after the header.
      const rows = [...block.resources].sort(
        (a, b) => Number(b.type === 'Patient' && b.id === block.patientId) - Number(a.type === 'Patient' && a.id === block.patientId),
      );
      const lines: string[] = [];
      for (const row of rows) lines.push(...toLines([row], compiled.filters.get(row.type), compiled.elements));
      if (lines.length > 0) await out.writeBlock(`Patient/${block.patientId}`, lines);
      if (!(await ctx.progress(1))) throw new UnitStoppedError('unit stopped');
    }
  } catch (err) {
    await out.abort();
    throw err;
  }
  return { files: await out.finish() };
}

async function runSupporting(
  ctx: UnitContext,
  job: JobRecord,
  compiled: CompiledRequest,
  unit: UnitRecord,
  type: string,
): Promise<UnitResult> {
  const out = series(ctx, job, unit, 'output', type);
  let after = '';
  for (;;) {
    const ids = await ctx.store.jobs.refIds(job.id, type, after, 1000);
    if (ids.length === 0) break;
    after = ids[ids.length - 1]!;
    // Supporting resources are context: _since does not hide the Practitioner of a new Observation.
    await pump(ctx, ctx.store.scan({ type, asOf: job.transactionTime, ids }), out, compiled, type);
  }
  return { files: await finish(out, 'output', type) };
}

async function runDeleted(
  ctx: UnitContext,
  job: JobRecord,
  compiled: CompiledRequest,
  unit: UnitRecord,
  type: string,
): Promise<UnitResult> {
  const { request } = compiled;
  const out = series(ctx, job, unit, 'deleted', type);
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

async function runWarnings(
  ctx: UnitContext,
  job: JobRecord,
  compiled: CompiledRequest,
  unit: UnitRecord,
): Promise<UnitResult> {
  const out = series(ctx, job, unit, 'error', 'OperationOutcome');
  const lines = compiled.request.warnings.map((w) =>
    JSON.stringify(operationOutcome('warning', 'not-supported', w.message, w.parameter)),
  );
  await out.writeLines(lines);
  return { files: await finish(out, 'error', 'OperationOutcome') };
}

/** Write the error file of a unit that failed for good. */
export async function writeUnitFailure(
  ctx: UnitContext,
  job: JobRecord,
  unit: UnitRecord,
  message: string,
): Promise<UnitResult> {
  await ctx.storage.removePrefix(job.id, `${unit.seq}.`);
  const out = series(ctx, job, unit, 'error', 'OperationOutcome');
  await out.writeLines([JSON.stringify(operationOutcome('error', 'exception', message))]);
  return { files: await finish(out, 'error', 'OperationOutcome') };
}
